//! AMP: asynchronous message passing (Faber & Wattenhofer, "Asynchronous Neural Networks for
//! Learning in Graphs", arXiv 2205.12245), built on one event engine.
//!
//! - [`engine`]: the event queue and the [`engine::Process`] trait every node program
//!   implements; [`delays`]: constant or random delays and per-run budgets.
//! - [`sgin`]: the paper's Theorem 4.1 rule (an α-synchronizer that simulates a synchronous
//!   GNN) as a node program.
//!
//! Semantics follow `notes/amp-experiments.md` §1; each module says which choices are the
//! paper's, the reference code's, or ours.

pub mod delays;
pub mod engine;
pub mod sgin;

pub use delays::{Budget, DelayDistribution, Delays};
pub use engine::{Delivery, Engine, Event, Outcome, Process, Reaction, RunStats};
