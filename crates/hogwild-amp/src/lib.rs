//! AMP: asynchronous message passing (Faber & Wattenhofer, "Asynchronous Neural Networks for
//! Learning in Graphs", arXiv 2205.12245), built on one event engine.
//!
//! - [`engine`]: the event queue and the [`Process`] trait every node program implements;
//!   [`delays`]: constant or random delays and per-run budgets.
//! - [`model`]: AMP-RNN, -GRU, -LSTM, -ACT and -Iter ([`AmpConfig`], [`AmpModel`]);
//!   `cells` and `tape`: one message step forward and backward, and reverse mode over a run's
//!   recorded messages; [`readout`]: runs per task, pooling, the NLL loss and its gradient.
//! - [`sgin`]: the paper's Theorem 4.1 rule (an α-synchronizer that simulates a synchronous
//!   GNN) as a node program.
//!
//! Training uses `hogwild_models`' [`Adam`] (β = 0.9/0.999, ε = 1e-8; see [`adam`]).
//! Semantics follow `notes/amp-experiments.md` §1; each module says which choices are the
//! paper's, the reference code's, or ours.

mod cells;
pub mod delays;
pub mod engine;
pub mod model;
pub mod readout;
pub mod sgin;
mod tape;

pub use delays::{Budget, DelayDistribution, Delays};
pub use engine::{Delivery, Engine, Event, Outcome, Process, Reaction, RunStats};
pub use hogwild_models::params::Adam;
pub use model::{AmpConfig, AmpModel, Halting, Update};
pub use readout::{accuracy, log_softmax, Example, Pooling, RunSettings, Task};

/// Adam with learning rate `lr` and PyTorch's defaults otherwise (no weight decay, no
/// clipping, constant rate), for `steps` optimiser steps.
pub fn adam(params: &hogwild_models::Params, lr: f64, steps: usize) -> Adam {
    let config = hogwild_models::TrainConfig {
        epochs: steps,
        batch_graphs: None,
        lr,
        weight_decay: 0.0,
        grad_clip: 0.0,
        lr_schedule: hogwild_models::LrSchedule::Constant,
    };
    Adam::new(params, &config, steps)
}
