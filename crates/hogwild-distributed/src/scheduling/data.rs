//! The conflict graphs: Erdős–Rényi graphs of one size with the reference code's mixes of
//! densities, each with its Chebyshev support and its Metropolis–Hastings weights; the test
//! graphs carry fixed utilities and their greedy schedule's weight.

use super::mwis::{greedy, set_weight};
use super::SchedulingConfig;
use crate::stream;
use crate::topology::{erdos_renyi, metropolis_hastings, scheduling_laplacian};
use hogwild_graph::Graph;
use rand::RngExt;
use serde::{Deserialize, Serialize};

/// `graphs` Erdős–Rényi graphs of edge probability `p` (one entry of a mix).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErShare {
    /// Edge probability.
    pub p: f64,
    /// How many graphs.
    pub graphs: usize,
}

/// The training mix of the reference code: 200 graphs for each of p = 0.02, 0.05, 0.075,
/// 0.1, 0.15 and 20 for each of p = 0.3, 0.4, …, 0.9 (1140 graphs).
pub fn paper_training_mix() -> Vec<ErShare> {
    let sparse = [0.02, 0.05, 0.075, 0.1, 0.15].map(|p| ErShare { p, graphs: 200 });
    let dense = [0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9].map(|p| ErShare { p, graphs: 20 });
    sparse.into_iter().chain(dense).collect()
}

/// The recipe of the reference code's test set: 2 graphs for each of p = 0.02, 0.05, 0.1,
/// 0.15, 0.2 (10 graphs).
pub fn paper_test_mix() -> Vec<ErShare> {
    [0.02, 0.05, 0.1, 0.15, 0.2]
        .map(|p| ErShare { p, graphs: 2 })
        .to_vec()
}

/// A conflict graph and the operators on its links.
#[derive(Debug, Clone)]
pub struct ConflictGraph {
    /// Its edge probability.
    pub p: f64,
    /// The conflicts (undirected, unit weights).
    pub graph: Graph,
    /// The Chebyshev support `T1 = I − D^{-1/2} A D^{-1/2}` (isolated nodes keep 1).
    pub support: Graph,
    /// Metropolis–Hastings weights for the gradient consensus.
    pub mixing: Graph,
}

impl ConflictGraph {
    /// The operators of `graph`.
    pub fn new(p: f64, graph: Graph) -> ConflictGraph {
        ConflictGraph {
            p,
            support: scheduling_laplacian(&graph),
            mixing: metropolis_hastings(&graph),
            graph,
        }
    }

    /// Directed links (one message each per round).
    pub fn links(&self) -> u64 {
        self.graph.n_edges() as u64
    }
}

/// A test graph with its utilities.
#[derive(Debug, Clone)]
pub struct TestGraph {
    /// The graph.
    pub conflict: ConflictGraph,
    /// Utilities, U(0, 1).
    pub weights: Vec<f64>,
    /// Weight of the greedy schedule.
    pub greedy_weight: f64,
}

/// The training graphs (in mix order) and the test graphs.
#[derive(Debug, Clone)]
pub struct SchedulingData {
    /// Training graphs; their utilities are drawn anew every time a graph is used.
    pub train: Vec<ConflictGraph>,
    /// Test graphs with fixed utilities.
    pub test: Vec<TestGraph>,
}

/// The edge probability of every graph of `mix`, in order.
fn expand(mix: &[ErShare]) -> impl Iterator<Item = f64> + '_ {
    mix.iter().flat_map(|s| std::iter::repeat_n(s.p, s.graphs))
}

impl SchedulingData {
    /// Draws every graph from its own stream `fdt-scheduling/{seed}/{train,test}/{k}` (a
    /// test graph's utilities from the same stream, after its links).
    pub fn generate(cfg: &SchedulingConfig) -> SchedulingData {
        let train = expand(&cfg.train_graphs)
            .enumerate()
            .map(|(k, p)| {
                let mut rng = stream(&cfg.label(&format!("train/{k}")));
                ConflictGraph::new(p, erdos_renyi(cfg.nodes, p, &mut rng))
            })
            .collect();
        let test = expand(&cfg.test_graphs)
            .enumerate()
            .map(|(k, p)| {
                let mut rng = stream(&cfg.label(&format!("test/{k}")));
                let conflict = ConflictGraph::new(p, erdos_renyi(cfg.nodes, p, &mut rng));
                let weights: Vec<f64> = (0..cfg.nodes).map(|_| rng.random::<f64>()).collect();
                let greedy_weight = set_weight(&greedy(&conflict.graph, &weights), &weights);
                TestGraph {
                    conflict,
                    weights,
                    greedy_weight,
                }
            })
            .collect();
        SchedulingData { train, test }
    }
}
