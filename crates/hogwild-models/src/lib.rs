//! GNN models for hogwild.
//!
//! Every model implements [`Model`]: synchronous batched execution for training and
//! evaluation, hand-written backward passes, and a node-local [`LocalRule`] that the
//! asynchronous simulator runs. Adding a model means adding a module with the model and its
//! settings type (implementing [`registry::ModelSpec`]), and one line in
//! [`registry::KINDS`].

pub mod elementary;
pub mod energy;
pub mod gat;
pub mod gcn;
pub mod gin;
pub mod gsdgnn;
pub mod ignn;
pub mod linalg;
pub mod loss;
pub mod model;
pub mod oracle_depth;
pub mod params;
pub mod registry;

pub use model::{
    train, train_observed, Execution, LocalRule, Model, ModelError, ProblemSize, SolverStats,
    Staleness, TrainLog,
};
pub use params::{LrSchedule, Params, TrainConfig};
pub use registry::{Dims, ModelSpec, ModelsConfig};
