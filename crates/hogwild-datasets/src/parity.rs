//! Parity of the shortest-path distance (AMP's Table 3 and Figures 5–6; Faber & Wattenhofer,
//! arXiv 2205.12245; recipe from the authors' code): every node predicts whether its BFS
//! distance from one origin node is even.
//!
//! A graph of `n` nodes (code) is a uniformly random labelled spanning tree (Aldous–Broder on
//! the complete graph: a walk over uniformly drawn nodes adds the edge to each node it
//! enters for the first time) plus ⌊n/5⌋ extra edges, each between a uniformly drawn pair
//! of distinct, not yet adjacent nodes (paper: "a spanning tree to which we add n/5 extra
//! edges"). The origin is uniform. Label 1 when the distance is even, 0 when odd (code).
//!
//! The baselines see the origin in the features (code: `zeros(n, 5)` with the origin's row
//! all ones; [`ParityGraph::sample`]); AMP sees all-zero features and gets the initial
//! message `[1, 0, 0]` at the origin only ([`ParityGraph::amp_features`],
//! [`ParityGraph::initial_messages`]). Each graph keeps its distances (for the figures'
//! per-distance accuracies) and the origin's eccentricity (the code's "diameter", the
//! baselines' oracle depth).
//!
//! Every `(graphs, nodes, seed, split)` set is drawn from its own named stream (ours), so a
//! test set of one size is independent of the training set and of the other sizes, as the
//! code's sets drawn after training are.
//!
//! [`multi_source_parity_graphs`] is the several-tasks-at-once variant of Figure 6.

use crate::expressiveness::Split;
use crate::{stream, Dataset, Task};
use hogwild_graph::{Graph, Sample, Targets};
use ndarray::Array2;
use rand::seq::SliceRandom;
use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use std::collections::{HashSet, VecDeque};

#[cfg(test)]
mod tests;

/// Width of the baselines' node features (code).
pub const BASELINE_FEATURES: usize = 5;
/// Nodes of a training graph (paper and code).
pub const TRAIN_NODES: usize = 10;
/// Training graphs in the code.
pub const TRAIN_GRAPHS_CODE: usize = 100;
/// Training graphs in the paper ("25 randomly created graphs").
pub const TRAIN_GRAPHS_PAPER: usize = 25;
/// Test graphs per size (code).
pub const TEST_GRAPHS_PER_SIZE: usize = 10;
/// Test sizes of the paper's Table 3 (the code stops at 1000; the paper's text also lists 15).
pub const TEST_SIZES: [usize; 8] = [10, 25, 50, 100, 250, 500, 1000, 2500];
/// Sources of the paper's several-tasks variant (Figure 6: three; the code has two).
pub const PAPER_SOURCES: usize = 3;

/// One shortest-path-parity graph.
#[derive(Debug, Clone, PartialEq)]
pub struct ParityGraph {
    /// The graph, the baselines' features (`zeros(n, 5)`, the origin's row ones) and the
    /// labels ([`Targets::Classes`]: 1 = even distance, 0 = odd).
    pub sample: Sample,
    /// The origin.
    pub origin: usize,
    /// Every node's BFS distance from the origin.
    pub distances: Vec<usize>,
    /// The origin's eccentricity: the largest distance (code: "diameter").
    pub eccentricity: usize,
}

impl ParityGraph {
    /// AMP's node features: all zeros, width [`BASELINE_FEATURES`] (code).
    pub fn amp_features(&self) -> Array2<f64> {
        Array2::zeros((self.sample.graph.n_nodes(), BASELINE_FEATURES))
    }

    /// AMP's initial messages, one row per node: `[1, 0, …]` at the origin, zeros elsewhere
    /// (only the origin starts a run; code).
    pub fn initial_messages(&self, message_size: usize) -> Array2<f64> {
        let mut m = Array2::zeros((self.sample.graph.n_nodes(), message_size));
        m[[self.origin, 0]] = 1.0;
        m
    }
}

/// The identity (and stream label) of a set of parity graphs.
pub fn identity(graphs: usize, nodes: usize, seed: u64, split: Split) -> String {
    format!(
        "amp-parity(graphs={graphs},nodes={nodes},seed={seed},split={})",
        split.name()
    )
}

/// `graphs` parity graphs of `nodes` nodes each (`nodes` ≥ 1).
pub fn parity_graphs(graphs: usize, nodes: usize, seed: u64, split: Split) -> Vec<ParityGraph> {
    assert!(nodes >= 1, "a parity graph needs an origin");
    let mut rng = stream(&identity(graphs, nodes, seed, split));
    (0..graphs)
        .map(|_| {
            let pairs = spanning_tree_with_extra_edges(nodes, &mut rng);
            let graph = Graph::undirected(nodes, &pairs).expect("distinct valid pairs");
            let origin = rng.random_range(0..nodes);
            let distances = bfs_distances(&graph, origin);
            let mut features = Array2::zeros((nodes, BASELINE_FEATURES));
            features.row_mut(origin).fill(1.0);
            ParityGraph {
                eccentricity: distances.iter().copied().max().unwrap_or(0),
                sample: Sample {
                    graph,
                    features,
                    targets: Targets::Classes(distances.iter().map(|d| 1 - d % 2).collect()),
                },
                origin,
                distances,
            }
        })
        .collect()
}

/// The baselines' view of [`parity_graphs`] as a two-class [`Dataset`].
pub fn parity_dataset(graphs: usize, nodes: usize, seed: u64, split: Split) -> Dataset {
    Dataset {
        identity: identity(graphs, nodes, seed, split),
        task: Task::Classification { classes: 2 },
        samples: parity_graphs(graphs, nodes, seed, split)
            .into_iter()
            .map(|g| g.sample)
            .collect(),
    }
}

/// A parity graph with several origins and one parity task per origin (Figure 6's
/// several shortest-path tasks at once on one graph).
#[derive(Debug, Clone, PartialEq)]
pub struct MultiParityGraph {
    /// The graph; features `zeros(n, s)` with `x[origins[i], i] = 1` (code, with width `s`
    /// rather than the code's fixed 6: ours); targets [`Targets::Values`] `n × s`, column `i`
    /// 1 where the distance from origin `i` is even, else 0.
    pub sample: Sample,
    /// The `s` distinct origins, uniform (code).
    pub origins: Vec<usize>,
    /// Distances from each origin (`distances[i][v]`).
    pub distances: Vec<Vec<usize>>,
    /// Each origin's eccentricity.
    pub eccentricities: Vec<usize>,
}

impl MultiParityGraph {
    /// AMP's node features: all zeros, as wide as the baselines' (code).
    pub fn amp_features(&self) -> Array2<f64> {
        Array2::zeros(self.sample.features.dim())
    }

    /// AMP's initial messages: row `origins[i]` has a 1 in column `i` (code); needs
    /// `message_size` ≥ the number of origins.
    pub fn initial_messages(&self, message_size: usize) -> Array2<f64> {
        assert!(
            message_size >= self.origins.len(),
            "one message slot per origin"
        );
        let mut m = Array2::zeros((self.sample.graph.n_nodes(), message_size));
        for (i, &o) in self.origins.iter().enumerate() {
            m[[o, i]] = 1.0;
        }
        m
    }
}

/// `graphs` graphs of `nodes` nodes, each with `sources` ≤ `nodes` distinct origins and a
/// parity task per origin (same graph recipe as [`parity_graphs`]).
pub fn multi_source_parity_graphs(
    graphs: usize,
    nodes: usize,
    sources: usize,
    seed: u64,
    split: Split,
) -> Vec<MultiParityGraph> {
    assert!(
        (1..=nodes).contains(&sources),
        "1 ≤ sources ≤ nodes: {sources} sources on {nodes} nodes"
    );
    let label = format!(
        "amp-multi-parity(graphs={graphs},nodes={nodes},sources={sources},seed={seed},split={})",
        split.name()
    );
    let mut rng = stream(&label);
    (0..graphs)
        .map(|_| {
            let pairs = spanning_tree_with_extra_edges(nodes, &mut rng);
            let graph = Graph::undirected(nodes, &pairs).expect("distinct valid pairs");
            let mut order: Vec<usize> = (0..nodes).collect();
            order.shuffle(&mut rng);
            let origins = order[..sources].to_vec();
            let distances: Vec<Vec<usize>> =
                origins.iter().map(|&o| bfs_distances(&graph, o)).collect();
            let mut features = Array2::zeros((nodes, sources));
            let targets =
                Array2::from_shape_fn((nodes, sources), |(v, i)| (1 - distances[i][v] % 2) as f64);
            for (i, &o) in origins.iter().enumerate() {
                features[[o, i]] = 1.0;
            }
            MultiParityGraph {
                eccentricities: distances
                    .iter()
                    .map(|d| d.iter().copied().max().unwrap_or(0))
                    .collect(),
                sample: Sample {
                    graph,
                    features,
                    targets: Targets::Values(targets),
                },
                origins,
                distances,
            }
        })
        .collect()
}

/// A uniformly random labelled tree on `n` nodes by Aldous–Broder on the complete graph
/// (code: each step draws any node, the current one included, which leaves the walk's
/// first entrances, and so the tree, uniform), then ⌊n/5⌋ extra edges between uniformly
/// drawn distinct non-adjacent pairs. Pairs are `(a, b)` with `a < b`, tree edges first.
pub(crate) fn spanning_tree_with_extra_edges(
    n: usize,
    rng: &mut ChaCha8Rng,
) -> Vec<(usize, usize)> {
    let ordered = |a: usize, b: usize| (a.min(b), a.max(b));
    let mut visited = vec![false; n];
    let mut pairs = Vec::with_capacity(n + n / 5);
    let mut current = rng.random_range(0..n);
    visited[current] = true;
    let mut remaining = n - 1;
    while remaining > 0 {
        let next = rng.random_range(0..n);
        if !visited[next] {
            visited[next] = true;
            remaining -= 1;
            pairs.push(ordered(current, next));
        }
        current = next;
    }
    let mut present: HashSet<(usize, usize)> = pairs.iter().copied().collect();
    for _ in 0..n / 5 {
        loop {
            let a = rng.random_range(0..n);
            let b = rng.random_range(0..n - 1);
            let pair = ordered(a, if b >= a { b + 1 } else { b });
            if present.insert(pair) {
                pairs.push(pair);
                break;
            }
        }
    }
    pairs
}

/// BFS distances from `origin` (the graph is connected).
fn bfs_distances(graph: &Graph, origin: usize) -> Vec<usize> {
    let mut distances = vec![usize::MAX; graph.n_nodes()];
    distances[origin] = 0;
    let mut queue = VecDeque::from([origin]);
    while let Some(v) = queue.pop_front() {
        for (u, _) in graph.neighbours(v) {
            if distances[u] == usize::MAX {
                distances[u] = distances[v] + 1;
                queue.push_back(u);
            }
        }
    }
    distances
}
