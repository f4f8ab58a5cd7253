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

pub use model::{
    train, Execution, LocalRule, Model, ModelError, ProblemSize, SolverStats, TrainLog,
};
pub use params::{LrSchedule, Params, TrainConfig};

use hogwild_settings::{Bytes, InvalidSetting};
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
        self.check(name)
            .map_err(|e| ModelError::Setting(e.under(name)))?;
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

    /// Checks the settings of model `name` (keys relative to its section: `train.lr`).
    pub fn check(&self, name: &str) -> Result<(), InvalidSetting> {
        match name {
            "gcn" => self.gcn.check(),
            "ignn" => self.ignn.check(),
            "energy" => self.energy.check(),
            other => Err(InvalidSetting::new(
                "",
                format!("{other:?}"),
                format!("unknown model; known: {}", Self::NAMES.join(", ")),
            )),
        }
    }

    /// The largest allocations of model `name` training on (or evaluating) a batch of
    /// `size` (zero for an unknown name).
    pub fn memory(&self, name: &str, size: &ProblemSize) -> Bytes {
        match name {
            "gcn" => self.gcn.memory(size),
            "ignn" => self.ignn.memory(size),
            "energy" => self.energy.memory(size),
            _ => Bytes(0),
        }
    }

    /// The longest node state of model `name` in the simulator, for `in_dim` features and
    /// nodes of at most `max_degree` neighbours (zero for an unknown name).
    pub fn state_width(&self, name: &str, in_dim: u64, max_degree: u64) -> u64 {
        match name {
            "gcn" => self.gcn.state_width(in_dim, max_degree),
            "ignn" => self.ignn.state_width(in_dim, max_degree),
            "energy" => self.energy.state_width(in_dim, max_degree),
            _ => 0,
        }
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
