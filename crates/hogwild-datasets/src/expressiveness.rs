//! The synthetic benchmarks beyond 1-WL of AMP's Table 2 (Faber & Wattenhofer, arXiv
//! 2205.12245; recipes from the authors' code, which takes them from Papp et al.'s DropGNN):
//! Limits1, Limits2, Triangles, LCC, MAX, MEAN, 4-cycles and Skip-Cycles, plus the code's
//! Rook-vs-Shrikhande pair (not in the paper).
//!
//! Every benchmark has a [`Recipe`]: what a run of the table needs besides the graphs
//! (hidden size, message budget, classes, node- or graph-level task and its pooling, the
//! accuracy a 1-WL-bounded model has on it). [`Benchmark::generate`] builds one split of one
//! seed's data:
//!
//! - The deterministic benchmarks (Limits1, Limits2, MAX, MEAN, Skip-Cycles, Rook-vs-
//!   Shrikhande) give the same graphs for every seed and both splits (code: their "test set"
//!   is the training set).
//! - The random ones (Triangles, LCC, 4-cycles) draw each `(seed, split)` from its own named
//!   stream, so the test set is fresh per seed and drawn apart from the training set (code),
//!   and a `(benchmark, seed, split)` always gives the same graphs (ours).
//!
//! **Targets.** Every sample's targets are [`Targets::Classes`] with one class per node. For
//! node-level benchmarks that is the node's label. For graph-level ones every node carries
//! its graph's class (as in [`crate::tu`]), [`graph_class`] reads it back, and
//! [`Recipe::level`] says the prediction is one per graph, pooled as [`Pool`] says (ours:
//! one representation for both levels, so the harness batches them alike).

use crate::{localisation::is_connected, stream, Dataset, Task};
use hogwild_graph::{Graph, Sample, Targets};
use ndarray::Array2;

mod random;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod wl;

/// Which set of a seed's data to build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Split {
    /// The training set.
    Train,
    /// The test set (for random benchmarks drawn from its own stream).
    Test,
}

impl Split {
    /// The name used in identities and stream labels.
    pub fn name(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Test => "test",
        }
    }
}

/// How the per-node states of a graph-level benchmark become one graph representation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Pool {
    /// Sum over nodes.
    Sum,
    /// Element-wise maximum over nodes (MAX: forced on every model, aggregation included).
    Max,
    /// Mean over nodes (MEAN: forced on every model, aggregation included).
    Mean,
}

/// Whether a benchmark predicts one class per node or one per graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Level {
    /// A class per node; accuracy over all nodes of the set.
    Node,
    /// A class per graph from the pooled node states; accuracy over all graphs of the set.
    Graph {
        /// The pooling (and, for the baselines, the neighbourhood aggregation).
        pool: Pool,
    },
}

/// What a Table 2 run needs to know about a benchmark besides its graphs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Recipe {
    /// The name in the paper's table.
    pub name: &'static str,
    /// Node- or graph-level (code).
    pub level: Level,
    /// Number of classes (code).
    pub classes: usize,
    /// Hidden (state) size of AMP and the baselines (paper).
    pub hidden: usize,
    /// AMP message size (code: 3 everywhere).
    pub message_size: usize,
    /// AMP messages per run, as a multiple of the run's graph's node count (paper: 5n; the
    /// code's absolute budgets are 5n of each dataset's graphs); see [`Recipe::budget`].
    pub budget_per_node: usize,
    /// Width of the node features (code).
    pub feature_dim: usize,
    /// The node count the code gives DropGNN for its drop probability 2 / (1 + n) (code).
    pub nominal_nodes: usize,
    /// Layer counts to try for the baselines, the better result kept (paper: 4; 4 and 9 for
    /// Skip-Cycles).
    pub baseline_layers: &'static [usize],
    /// Whether the graphs are random (fresh per seed and split) or fixed (code).
    pub random: bool,
    /// The test accuracy every model bounded by 1-WL (with this benchmark's aggregation and
    /// pooling) has exactly, because the classes are 1-WL-indistinguishable (note's closed
    /// form; checked by the tests); `None` where there is no such closed form.
    pub one_wl_accuracy: Option<f64>,
}

impl Recipe {
    /// AMP's message budget of one run on a graph of `nodes` nodes.
    pub fn budget(&self, nodes: usize) -> usize {
        self.budget_per_node * nodes
    }
}

/// The benchmarks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Benchmark {
    /// Two 4-cycles (label 0) against one 8-cycle (label 1), colour features k mod 4.
    Limits1,
    /// Two chorded 4-cycles (label 0) against two 4-cycles joined by two edges (label 1).
    Limits2,
    /// Random 3-regular graph of 60 nodes; label: the node is in a triangle.
    Triangles,
    /// Six connected random 3-regular graphs of 10 nodes; label: edges among the neighbours.
    Lcc,
    /// Stars with 1 … 20 leaves; class: leaves − 1; max aggregation and pooling.
    Max,
    /// Stars with k = 1 … 10 leaves of colour 1 and k of colour 2; class k − 1; mean.
    Mean,
    /// 2-regular graphs of 16 nodes with or without a 4-cycle, 25 of each.
    FourCycles,
    /// 41-cycles with chords i ↔ i ± s for ten skips s; class: the index of s.
    SkipCycles,
    /// The 4 × 4 rook's graph (class 0) against the Shrikhande graph (class 1); in the code
    /// only, not in the paper.
    RookShrikhande,
}

/// The skips of Skip-Cycles, in class order (code).
pub const SKIPS: [usize; 10] = [2, 3, 4, 5, 6, 9, 11, 12, 13, 16];
/// Nodes of a Skip-Cycles graph (code).
pub const SKIP_CYCLE_NODES: usize = 41;
/// Largest star of MAX (code: 20 classes).
pub const MAX_LEAVES: usize = 20;
/// Largest k of MEAN (code: 10 classes, stars of 2k leaves).
pub const MEAN_LEAVES_PER_COLOUR: usize = 10;
/// Feature width of MAX and MEAN (code: the hidden size).
const STAR_FEATURES: usize = 32;

const FOUR: &[usize] = &[4];
const FOUR_OR_NINE: &[usize] = &[4, 9];

/// What the benchmarks share (code: message size 3, budget 5n, 4 baseline layers).
const SHARED: Recipe = Recipe {
    name: "",
    level: Level::Node,
    classes: 2,
    hidden: 16,
    message_size: 3,
    budget_per_node: 5,
    feature_dim: 1,
    nominal_nodes: 0,
    baseline_layers: FOUR,
    random: false,
    one_wl_accuracy: None,
};

const SUM: Level = Level::Graph { pool: Pool::Sum };

static LIMITS1: Recipe = Recipe {
    name: "Limits1",
    feature_dim: 4,
    nominal_nodes: 8,
    one_wl_accuracy: Some(0.5),
    ..SHARED
};
static LIMITS2: Recipe = Recipe {
    name: "Limits2",
    ..LIMITS1
};
static TRIANGLES: Recipe = Recipe {
    name: "Triangles",
    nominal_nodes: 60,
    random: true,
    ..SHARED
};
static LCC: Recipe = Recipe {
    name: "LCC",
    classes: 3,
    nominal_nodes: 10,
    random: true,
    ..SHARED
};
static MAX: Recipe = Recipe {
    name: "MAX",
    level: Level::Graph { pool: Pool::Max },
    classes: MAX_LEAVES,
    hidden: 32,
    feature_dim: STAR_FEATURES,
    nominal_nodes: 21,
    one_wl_accuracy: Some(1.0 / MAX_LEAVES as f64),
    ..SHARED
};
static MEAN: Recipe = Recipe {
    name: "MEAN",
    level: Level::Graph { pool: Pool::Mean },
    classes: MEAN_LEAVES_PER_COLOUR,
    hidden: 32,
    feature_dim: STAR_FEATURES,
    nominal_nodes: 21,
    ..SHARED
};
static FOUR_CYCLES: Recipe = Recipe {
    name: "4-cycles",
    level: SUM,
    nominal_nodes: 16,
    random: true,
    one_wl_accuracy: Some(0.5),
    ..SHARED
};
static SKIP_CYCLES: Recipe = Recipe {
    name: "Skip-Cycles",
    level: SUM,
    classes: SKIPS.len(),
    hidden: 32,
    nominal_nodes: SKIP_CYCLE_NODES,
    baseline_layers: FOUR_OR_NINE,
    one_wl_accuracy: Some(1.0 / SKIPS.len() as f64),
    ..SHARED
};
static ROOK_SHRIKHANDE: Recipe = Recipe {
    name: "Rook-Shrikhande",
    level: SUM,
    hidden: 32,
    feature_dim: 4,
    nominal_nodes: 16,
    one_wl_accuracy: Some(0.5),
    ..SHARED
};

impl Benchmark {
    /// The eight benchmarks of Table 2, in the paper's row order.
    pub const TABLE2: [Benchmark; 8] = [
        Benchmark::Limits1,
        Benchmark::Limits2,
        Benchmark::Triangles,
        Benchmark::Lcc,
        Benchmark::Max,
        Benchmark::Mean,
        Benchmark::FourCycles,
        Benchmark::SkipCycles,
    ];

    /// Every benchmark: Table 2's, then the code's Rook-vs-Shrikhande.
    pub const ALL: [Benchmark; 9] = [
        Benchmark::Limits1,
        Benchmark::Limits2,
        Benchmark::Triangles,
        Benchmark::Lcc,
        Benchmark::Max,
        Benchmark::Mean,
        Benchmark::FourCycles,
        Benchmark::SkipCycles,
        Benchmark::RookShrikhande,
    ];

    /// The benchmark's recipe.
    pub fn recipe(self) -> &'static Recipe {
        match self {
            Benchmark::Limits1 => &LIMITS1,
            Benchmark::Limits2 => &LIMITS2,
            Benchmark::Triangles => &TRIANGLES,
            Benchmark::Lcc => &LCC,
            Benchmark::Max => &MAX,
            Benchmark::Mean => &MEAN,
            Benchmark::FourCycles => &FOUR_CYCLES,
            Benchmark::SkipCycles => &SKIP_CYCLES,
            Benchmark::RookShrikhande => &ROOK_SHRIKHANDE,
        }
    }

    /// The dataset identity of `(seed, split)`; deterministic benchmarks have one identity.
    pub fn identity(self, seed: u64, split: Split) -> String {
        let slug = self.recipe().name.to_lowercase();
        if self.recipe().random {
            format!("amp-{slug}(seed={seed},split={})", split.name())
        } else {
            format!("amp-{slug}")
        }
    }

    /// The graphs of `split` for `seed` (see the module docs for what is fresh per seed).
    pub fn generate(self, seed: u64, split: Split) -> Dataset {
        let identity = self.identity(seed, split);
        let samples = match self {
            Benchmark::Limits1 => vec![limits1()],
            Benchmark::Limits2 => vec![limits2()],
            Benchmark::Triangles => vec![random::triangles(&mut stream(&identity))],
            Benchmark::Lcc => random::lcc(&mut stream(&identity)),
            Benchmark::Max => max_stars(),
            Benchmark::Mean => mean_stars(),
            Benchmark::FourCycles => random::four_cycles(&mut stream(&identity)),
            Benchmark::SkipCycles => skip_cycles(),
            Benchmark::RookShrikhande => rook_shrikhande(),
        };
        Dataset {
            identity,
            task: Task::Classification {
                classes: self.recipe().classes,
            },
            samples,
        }
    }
}

/// The class of a graph-level sample: the class all its nodes carry; `None` when the graph
/// is empty or its nodes disagree. Meaningful only where [`Recipe::level`] is
/// [`Level::Graph`] (a node-level sample whose nodes happen to agree also gives `Some`).
pub fn graph_class(sample: &Sample) -> Option<usize> {
    match &sample.targets {
        Targets::Classes(c) => c
            .first()
            .copied()
            .filter(|&first| c.iter().all(|&k| k == first)),
        _ => None,
    }
}

/// A sample from undirected `pairs`, with per-node `labels`.
fn sample(n: usize, pairs: &[(usize, usize)], features: Array2<f64>, labels: Vec<usize>) -> Sample {
    Sample {
        graph: Graph::undirected(n, pairs).expect("generated edges are valid and distinct"),
        features,
        targets: Targets::Classes(labels),
    }
}

/// One-hot features of width `width`, node `v` hot at `colour(v)`.
fn one_hot(n: usize, width: usize, colour: impl Fn(usize) -> usize) -> Array2<f64> {
    Array2::from_shape_fn((n, width), |(v, c)| f64::from(u8::from(colour(v) == c)))
}

/// The edges of the cycle through `nodes` in order.
fn cycle(nodes: &[usize]) -> Vec<(usize, usize)> {
    let next = nodes.iter().cycle().skip(1);
    nodes.iter().copied().zip(next.copied()).collect()
}

/// Limits1 (code): 4-cycles 0-1-2-3 and 4-5-6-7 (label 0) and the 8-cycle 8…15 (label 1);
/// features one-hot of the colour k mod 4.
fn limits1() -> Sample {
    let mut pairs = cycle(&[0, 1, 2, 3]);
    pairs.extend(cycle(&[4, 5, 6, 7]));
    pairs.extend(cycle(&(8..16).collect::<Vec<_>>()));
    let labels = (0..16).map(|v| v / 8).collect();
    sample(16, &pairs, one_hot(16, 4, |v| v % 4), labels)
}

/// Limits2 (code): 4-cycles 0-1-2-3 with chord 1-3 and 4-5-6-7 with chord 5-7 (label 0);
/// 4-cycles 8-9-10-11 and 12-13-14-15 joined by 9-15 and 11-13 (label 1); colour k mod 4.
fn limits2() -> Sample {
    let mut pairs = cycle(&[0, 1, 2, 3]);
    pairs.extend(cycle(&[4, 5, 6, 7]));
    pairs.extend([(1, 3), (5, 7)]);
    pairs.extend(cycle(&[8, 9, 10, 11]));
    pairs.extend(cycle(&[12, 13, 14, 15]));
    pairs.extend([(9, 15), (11, 13)]);
    let labels = (0..16).map(|v| v / 8).collect();
    sample(16, &pairs, one_hot(16, 4, |v| v % 4), labels)
}

/// MAX (code): stars with k = 1 … 20 leaves, centre 0 (colour 0), leaves 1 … k (colour 1);
/// class k − 1.
fn max_stars() -> Vec<Sample> {
    (1..=MAX_LEAVES)
        .map(|k| {
            let pairs: Vec<_> = (1..=k).map(|leaf| (0, leaf)).collect();
            let colours = one_hot(k + 1, STAR_FEATURES, |v| usize::from(v > 0));
            sample(k + 1, &pairs, colours, vec![k - 1; k + 1])
        })
        .collect()
}

/// MEAN (code): stars with centre 0 (colour 0), leaves 1 … k (colour 1) and k + 1 … 2k
/// (colour 2), k = 1 … 10; class k − 1.
fn mean_stars() -> Vec<Sample> {
    (1..=MEAN_LEAVES_PER_COLOUR)
        .map(|k| {
            let n = 2 * k + 1;
            let pairs: Vec<_> = (1..n).map(|leaf| (0, leaf)).collect();
            let colour = |v: usize| if v == 0 { 0 } else { 1 + (v - 1) / k };
            sample(n, &pairs, one_hot(n, STAR_FEATURES, colour), vec![k - 1; n])
        })
        .collect()
}

/// Skip-Cycles (code): the 41-cycle plus chords i ↔ i + s (mod 41) for each skip s of
/// [`SKIPS`]; class: the index of s; constant features.
fn skip_cycles() -> Vec<Sample> {
    let n = SKIP_CYCLE_NODES;
    SKIPS
        .iter()
        .enumerate()
        .map(|(class, &skip)| {
            let mut pairs = cycle(&(0..n).collect::<Vec<_>>());
            pairs.extend((0..n).map(|i| (i, (i + skip) % n)));
            sample(n, &pairs, Array2::ones((n, 1)), vec![class; n])
        })
        .collect()
}

/// Rook vs Shrikhande (code): nodes 4r + c of Z4 × Z4. The rook's graph joins nodes in one
/// row or one column (class 0); the Shrikhande graph joins differences ±(0,1), ±(1,0),
/// ±(1,1) (class 1). Both are 6-regular on 16 nodes; zero features of width 4 (code).
fn rook_shrikhande() -> Vec<Sample> {
    let graph = |adjacent: &dyn Fn(usize, usize) -> bool, class: usize| {
        let mut pairs = vec![];
        for a in 0..16 {
            for b in a + 1..16 {
                let (dr, dc) = ((b / 4 + 4 - a / 4) % 4, (b % 4 + 4 - a % 4) % 4);
                if adjacent(dr, dc) {
                    pairs.push((a, b));
                }
            }
        }
        sample(16, &pairs, Array2::zeros((16, 4)), vec![class; 16])
    };
    let rook = |dr: usize, dc: usize| (dr == 0) != (dc == 0);
    let shrikhande = |dr: usize, dc: usize| {
        matches!(
            (dr, dc),
            (0, 1) | (0, 3) | (1, 0) | (3, 0) | (1, 1) | (3, 3)
        )
    };
    vec![graph(&rook, 0), graph(&shrikhande, 1)]
}
