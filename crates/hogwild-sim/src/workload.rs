//! The scaling workload, one definition for the simulator benchmark
//! (`benches/simulator.rs`) and the harness's scaling report (`hogwild scaling`): every
//! model, untrained, on chains and on random geometric graphs (mean degree 6) of a given
//! size, with the energy GNN also at hidden size 16 on chains; an implicit model's sweep is
//! timed over a fixed number of rounds with the observer switched off
//! ([`crate::Unobserved`]).

use crate::AsyncConfig;
use hogwild_graph::Sample;
use hogwild_models::energy::LinearSolver;
use hogwild_models::{Model, ModelError, ModelsConfig};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// The graph kinds, in report order.
pub const GRAPHS: [&str; 2] = ["chain", "geometric"];

/// A graph of kind `graph` ([`GRAPHS`]) with `nodes` nodes: a path, or a connected random
/// geometric graph of mean degree 6 with 2 node features (seed 0).
pub fn sample(graph: &str, nodes: usize) -> Sample {
    match graph {
        "chain" => hogwild_datasets::synthetic::chain_sample(nodes),
        "geometric" => hogwild_datasets::synthetic::geometric_sample(nodes, 6.0, 2, 0),
        other => panic!("no graph kind {other:?}; kinds: {GRAPHS:?}"),
    }
}

/// The model settings the workload runs: `base` with the energy GNN solving its linear
/// systems by conjugate gradients (the assembled Hessian's envelope grows faster than
/// linearly on 2-D graphs), and a copy with hidden size 16.
pub fn settings(base: &ModelsConfig) -> (ModelsConfig, ModelsConfig) {
    let mut models = base.clone();
    models.energy.linear_solver = LinearSolver::Cg;
    let mut wide = models.clone();
    wide.energy.hidden = 16;
    (models, wide)
}

/// One model of the workload.
pub struct Variant<'a> {
    /// Its label in reports (`energy-h16`: the energy GNN at hidden size 16).
    pub label: String,
    /// Its settings.
    pub models: &'a ModelsConfig,
    /// Its name in `models`.
    pub model: &'static str,
}

impl Variant<'_> {
    /// The untrained model (seed 0) for `sample`'s edge features and 2 node features.
    pub fn build(&self, sample: &Sample) -> Result<Box<dyn Model>, ModelError> {
        self.models.build(
            self.model,
            2,
            sample.graph.edge_feature_dim(),
            2,
            &mut ChaCha8Rng::seed_from_u64(0),
        )
    }
}

/// The models measured on a graph of kind `graph`: every model of `models`, and on chains
/// the energy GNN of `wide` (see [`settings`]).
pub fn variants<'a>(
    graph: &str,
    models: &'a ModelsConfig,
    wide: &'a ModelsConfig,
) -> Vec<Variant<'a>> {
    let mut v: Vec<Variant<'a>> = ModelsConfig::NAMES
        .iter()
        .map(|&m| Variant {
            label: m.to_string(),
            models,
            model: m,
        })
        .collect();
    if graph == "chain" {
        v.push(Variant {
            label: "energy-h16".into(),
            models: wide,
            model: "energy",
        });
    }
    v
}

/// Rounds per measurement on `nodes` nodes: about 10⁶ node updates.
pub fn rounds(nodes: usize) -> usize {
    (1_000_000 / nodes.max(1)).max(1)
}

/// `base` for a measurement of exactly `rounds` rounds: a tolerance never reached, and the
/// observer looking only after the last round (with [`unobserved`], not at all).
pub fn sweep_config(base: &AsyncConfig, rounds: usize) -> AsyncConfig {
    AsyncConfig {
        tol: 1e-300,
        max_rounds: rounds,
        residual_every: rounds,
        ..base.clone()
    }
}
