//! GNN models for hogwild.
//!
//! Every model implements [`Model`]: synchronous batched execution for training and
//! evaluation, hand-written backward passes, and a node-local [`LocalRule`] that the
//! asynchronous simulator runs. Adding a model means adding a module that implements the
//! trait, a config struct, and one field and match arm in [`ModelsConfig`].

pub mod elementary;
pub mod energy;
pub mod gcn;
pub mod ignn;
pub mod linalg;
pub mod loss;
pub mod model;
pub mod params;

pub use model::{train, Execution, LocalRule, Model, ModelError, SolverStats, TrainLog};
pub use params::{LrSchedule, Params, TrainConfig};

use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// Settings of every model (`[models]` in `harness.toml`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ModelsConfig {
    /// GCN.
    pub gcn: gcn::GcnConfig,
    /// IGNN.
    pub ignn: ignn::IgnnConfig,
    /// Energy GNN.
    pub energy: energy::EnergyConfig,
}

impl ModelsConfig {
    /// The model names this config knows, in table order.
    pub const NAMES: [&'static str; 3] = ["gcn", "ignn", "energy"];

    /// Builds model `name` for `in_dim` node features, `edge_dim` edge features and
    /// `out_dim` outputs, with seeded initial parameters. Only the energy GNN reads edge
    /// features (through its neighbour-specific messages); GCN and IGNN ignore them, as in
    /// the paper.
    pub fn build(
        &self,
        name: &str,
        in_dim: usize,
        edge_dim: usize,
        out_dim: usize,
        rng: &mut ChaCha8Rng,
    ) -> Result<Box<dyn Model>, ModelError> {
        if let Some(t) = self.train_config(name) {
            if t.batch_graphs == Some(0) {
                return Err(ModelError::InvalidSetting {
                    model: "train",
                    setting: "batch_graphs",
                    value: "0".into(),
                    why: "a step needs at least one graph (omit the key for full batches)",
                });
            }
        }
        Ok(match name {
            "gcn" => Box::new(gcn::Gcn::new(&self.gcn, in_dim, out_dim, rng)?),
            "ignn" => Box::new(ignn::Ignn::new(&self.ignn, in_dim, out_dim, rng)?),
            "energy" => Box::new(energy::EnergyGnn::new(
                &self.energy,
                in_dim,
                edge_dim,
                out_dim,
                rng,
            )?),
            other => {
                return Err(ModelError::BadInput {
                    model: "registry",
                    why: format!("unknown model {other:?}; known: {:?}", Self::NAMES),
                })
            }
        })
    }

    /// The training settings of model `name`.
    pub fn train_config(&self, name: &str) -> Option<&TrainConfig> {
        match name {
            "gcn" => Some(&self.gcn.train),
            "ignn" => Some(&self.ignn.train),
            "energy" => Some(&self.energy.train),
            _ => None,
        }
    }
}
