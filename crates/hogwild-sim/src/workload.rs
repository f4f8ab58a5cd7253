//! The scaling workload, one definition for the simulator benchmark
//! (`benches/simulator.rs`) and the harness's scaling report (`hogwild scaling`): every
//! model the settings hold, untrained, on chains and on random geometric graphs (mean
//! degree 6) of a given size, each in the variants its [`ModelSpec`] declares (the energy
//! GNN on conjugate gradients, at hidden size 16 on chains, and with the block-minimise
//! rule); an implicit model's sweep
//! is timed over a fixed number of rounds with the observer switched off
//! ([`crate::Unobserved`]).
//!
//! [`ModelSpec`]: hogwild_models::ModelSpec

use crate::AsyncConfig;
use hogwild_graph::Sample;
use hogwild_models::{Dims, Model, ModelError, ModelsConfig};
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

/// One model of the workload.
#[derive(Debug, Clone)]
pub struct Variant {
    /// Its label in reports (`energy-h16`: the energy GNN at hidden size 16).
    pub label: String,
    /// Its settings (the configured ones with the variant's changes).
    pub models: ModelsConfig,
    /// Its name in `models`.
    pub model: &'static str,
}

impl Variant {
    /// The untrained model (seed 0) for `sample`'s edge features, 2 node features and 2
    /// outputs.
    pub fn build(&self, sample: &Sample) -> Result<Box<dyn Model>, ModelError> {
        let dims = Dims {
            in_dim: 2,
            edge_dim: sample.graph.edge_feature_dim(),
            out_dim: 2,
        };
        self.models
            .build(self.model, dims, &mut ChaCha8Rng::seed_from_u64(0))
    }
}

/// The models measured on a graph of kind `graph`: every model `base` sets, in each of its
/// scaling variants.
pub fn variants(graph: &str, base: &ModelsConfig) -> Result<Vec<Variant>, ModelError> {
    let mut out = vec![];
    for name in base.names() {
        let kind = hogwild_models::registry::kind(name).expect("set models are registered");
        for v in kind.scaling_variants() {
            if v.chains_only && graph != "chain" {
                continue;
            }
            let mut table = base.to_table();
            if let Some(toml::Value::Table(section)) = table.get_mut(name) {
                for (k, value) in &v.changes {
                    section.insert(k.clone(), value.clone());
                }
            }
            out.push(Variant {
                label: format!("{name}{}", v.suffix),
                models: ModelsConfig::from_table(&table)?,
                model: name,
            });
        }
    }
    Ok(out)
}

/// Rounds per measurement on `nodes` nodes: about 10⁶ node updates.
pub fn rounds(nodes: usize) -> usize {
    (1_000_000 / nodes.max(1)).max(1)
}

/// `base` for a measurement of exactly `rounds` rounds: a tolerance never reached, and the
/// observer looking only after the last round (with [`crate::Unobserved`], not at all).
pub fn sweep_config(base: &AsyncConfig, rounds: usize) -> AsyncConfig {
    AsyncConfig {
        tol: 1e-300,
        max_rounds: rounds,
        residual_every: rounds,
        ..base.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_energy_gnn_is_measured_with_conjugate_gradients() {
        // Cholesky's fill-in on the geometric graphs makes a 10⁵-node set-up take tens of
        // minutes: every variant of every energy GNN the committed settings hold uses CG.
        let doc: toml::Table = toml::from_str(include_str!("../../../harness.toml")).unwrap();
        let base = ModelsConfig::from_table(doc["models"].as_table().unwrap()).unwrap();
        let mut measured = vec![];
        for graph in GRAPHS {
            for v in variants(graph, &base).unwrap() {
                let table = v.models.to_table();
                if let Some(solver) = table[v.model].get("linear_solver") {
                    assert_eq!(solver.as_str(), Some("cg"), "{graph}/{}", v.label);
                    measured.push(format!("{graph}/{}", v.label));
                }
            }
        }
        for label in [
            "geometric/energy",
            "geometric/energy-node",
            "chain/energy-attention",
        ] {
            assert!(measured.iter().any(|m| m == label), "{label}: {measured:?}");
        }
    }
}
