//! AMP: asynchronous message passing (Faber & Wattenhofer, "Asynchronous Neural Networks for
//! Learning in Graphs", arXiv 2205.12245), built on one event engine.
//!
//! - [`engine`]: the event queue and the [`Process`] trait every node program implements;
//!   [`delays`]: constant or random delays and per-run budgets. The same engine runs the
//!   Hogwild paper's implicit models (`hogwild_sim::events`: every node starts, links carry
//!   one message at a time, through [`Engine::run_posted`] and [`Reaction::Direct`]).
//! - [`model`]: AMP-RNN, -GRU, -LSTM, -ACT and -Iter ([`AmpConfig`], [`AmpModel`]);
//!   `cells` and `tape`: one message step forward and backward, and reverse mode over a run's
//!   recorded messages; [`readout`]: runs per task, pooling, the NLL loss and its gradient
//!   (`scratch`: the gradient buffers it reuses).
//! - [`sgin`]: the paper's Theorem 4.1 rule (an α-synchronizer that simulates a synchronous
//!   GNN) as a node program.
//!
//! Training uses `hogwild_models`' [`Adam`] (β = 0.9/0.999, ε = 1e-8; see [`adam`]).
//! Parameters are drawn from the `ChaCha8Rng` the caller passes (a named stream such as
//! `hogwild_harness::sweep::stream(label)`); random delays draw one seed per run, in order,
//! from the stream passed to [`AmpModel::loss_and_grad`] or [`AmpModel::log_probs`].
//! Semantics follow `notes/amp-experiments.md` §1; each module says which choices are the
//! paper's, the reference code's, or ours.
//!
//! One Adam step of AMP-RNN on a node task (the note's Limits1 settings):
//!
//! ```
//! use hogwild_amp::*;
//! use hogwild_graph::Graph;
//! use ndarray::Array2;
//! use rand::SeedableRng;
//! use rand_chacha::ChaCha8Rng;
//!
//! let graph = Graph::path(4);
//! let features = Array2::ones((4, 1));
//! let labels = [0, 1, 1, 0];
//! let example = Example { graph: &graph, features: &features, task: Task::Node, labels: &labels };
//! let settings = RunSettings { delays: Delays::Constant, budget: Budget::PerNode(5) };
//! let config = AmpConfig {
//!     features: 1, hidden: 16, message: 3, classes: 2,
//!     update: Update::Rnn, halting: Halting::None, initial_message: vec![1.0; 3],
//!     skip_readout: false,
//! };
//! let mut model = AmpModel::new(config, &mut ChaCha8Rng::seed_from_u64(0));
//! let mut optimiser = adam(&model.params, 0.01, 1);
//! let mut runs = ChaCha8Rng::seed_from_u64(1);
//! let (loss, grads) = model.loss_and_grad(&[example], &settings, &mut runs);
//! optimiser.step(&mut model.params, grads);
//! assert!(loss > 0.0);
//! let log_probs = model.log_probs(&example, &settings, &mut runs);
//! assert_eq!(log_probs.dim(), (4, 2));
//! ```

mod cells;
pub mod delays;
pub mod engine;
pub mod model;
mod queue;
pub mod readout;
mod scratch;
pub mod sgin;
mod tape;

pub use delays::{Budget, DelayDistribution, Delays};
pub use engine::{Delivery, Engine, Event, Outcome, Outgoing, Process, Reaction, RunStats};
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
