//! Graphs with node features and targets, and block-diagonal batches of them.

use crate::Graph;
use ndarray::{concatenate, Array2, Axis};
use std::sync::OnceLock;

/// Per-node prediction targets.
#[derive(Debug, Clone, PartialEq)]
pub enum Targets {
    /// A class index per node.
    Classes(Vec<usize>),
    /// A real vector per node (rows = nodes).
    Values(Array2<f64>),
    /// A position per node (rows = nodes) known only up to rotation, reflection and
    /// translation: losses and metrics use the pairwise distances within each graph.
    Positions(Array2<f64>),
}

impl Targets {
    /// Number of nodes the targets cover.
    pub fn len(&self) -> usize {
        match self {
            Targets::Classes(c) => c.len(),
            Targets::Values(v) | Targets::Positions(v) => v.nrows(),
        }
    }

    /// Whether there are no targets.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn concat(parts: &[&Targets]) -> Targets {
        let kind = |t: &Targets| std::mem::discriminant(t);
        if let Some(first) = parts.first() {
            assert!(
                parts.iter().all(|t| kind(t) == kind(first)),
                "cannot batch targets of different kinds"
            );
        }
        fn rows<'a>(t: &&'a Targets) -> ndarray::ArrayView2<'a, f64> {
            match t {
                Targets::Values(v) | Targets::Positions(v) => v.view(),
                Targets::Classes(_) => unreachable!("kinds checked"),
            }
        }
        match parts.first() {
            Some(Targets::Values(_)) => Targets::Values(
                concatenate(Axis(0), &parts.iter().map(rows).collect::<Vec<_>>())
                    .expect("equal widths"),
            ),
            Some(Targets::Positions(_)) => Targets::Positions(
                concatenate(Axis(0), &parts.iter().map(rows).collect::<Vec<_>>())
                    .expect("equal widths"),
            ),
            _ => Targets::Classes(
                parts
                    .iter()
                    .flat_map(|t| match t {
                        Targets::Classes(c) => c.iter().copied(),
                        _ => unreachable!("kinds checked"),
                    })
                    .collect(),
            ),
        }
    }
}

/// One graph with node features (rows = nodes) and per-node targets.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// The graph (raw adjacency, before any model-specific normalisation).
    pub graph: Graph,
    /// Node features, one row per node.
    pub features: Array2<f64>,
    /// Per-node targets.
    pub targets: Targets,
}

/// Several samples as one block-diagonal graph; caches model-independent derived matrices.
#[derive(Debug)]
pub struct Batch {
    /// The disjoint union of the samples' graphs.
    pub graph: Graph,
    /// Stacked node features.
    pub features: Array2<f64>,
    /// Stacked targets.
    pub targets: Targets,
    /// First node of each sample; sample `s` owns nodes `offsets[s]..offsets[s + 1]`
    /// (the last one ends at `graph.n_nodes()`).
    pub offsets: Vec<usize>,
    /// Stable identities of the samples (their indices in the training set), when the
    /// batch comes from a training loop: lets implicit models warm-start each graph from
    /// its own last solution across epochs ([`Batch::with_ids`]).
    pub ids: Option<Vec<usize>>,
    gcn: OnceLock<Graph>,
    gcn_t: OnceLock<Graph>,
    gcn_rho: OnceLock<f64>,
}

impl Batch {
    /// Batches `samples` into one block-diagonal graph.
    pub fn new(samples: &[&Sample]) -> Batch {
        let graphs: Vec<&Graph> = samples.iter().map(|s| &s.graph).collect();
        let (graph, offsets) = Graph::disjoint_union(&graphs);
        let feats: Vec<_> = samples.iter().map(|s| s.features.view()).collect();
        let features = concatenate(Axis(0), &feats).expect("samples share a feature width");
        let targets = Targets::concat(&samples.iter().map(|s| &s.targets).collect::<Vec<_>>());
        Batch {
            graph,
            features,
            targets,
            offsets,
            ids: None,
            gcn: OnceLock::new(),
            gcn_t: OnceLock::new(),
            gcn_rho: OnceLock::new(),
        }
    }

    /// This batch with the stable identities of its samples, one per sample in order.
    pub fn with_ids(mut self, ids: Vec<usize>) -> Batch {
        assert_eq!(ids.len(), self.offsets.len(), "one id per sample");
        self.ids = Some(ids);
        self
    }

    /// A batch of one sample.
    pub fn single(sample: &Sample) -> Batch {
        Batch::new(&[sample])
    }

    /// Number of nodes.
    pub fn n_nodes(&self) -> usize {
        self.graph.n_nodes()
    }

    /// The node range of every sample, in batch order.
    pub fn sample_ranges(&self) -> Vec<std::ops::Range<usize>> {
        let ends = self.offsets.iter().skip(1).copied().chain([self.n_nodes()]);
        self.offsets.iter().zip(ends).map(|(&a, b)| a..b).collect()
    }

    /// The GCN propagation matrix of the batch (computed once).
    pub fn gcn_adjacency(&self) -> &Graph {
        self.gcn.get_or_init(|| self.graph.gcn_normalised())
    }

    /// The transpose of [`Batch::gcn_adjacency`] (computed once), for backward passes.
    pub fn gcn_adjacency_transpose(&self) -> &Graph {
        self.gcn_t.get_or_init(|| self.gcn_adjacency().transpose())
    }

    /// Spectral radius of `|Â|` for the GCN propagation matrix (computed once).
    pub fn gcn_spectral_radius(&self) -> f64 {
        *self
            .gcn_rho
            .get_or_init(|| self.gcn_adjacency().spectral_radius_abs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn batch_stacks_samples() {
        let s = Sample {
            graph: Graph::path(2),
            features: array![[1.0], [2.0]],
            targets: Targets::Classes(vec![0, 1]),
        };
        let b = Batch::new(&[&s, &s]);
        assert_eq!(b.n_nodes(), 4);
        assert_eq!(b.offsets, vec![0, 2]);
        assert_eq!(b.sample_ranges(), vec![0..2, 2..4]);
        assert_eq!(b.features.column(0).to_vec(), vec![1.0, 2.0, 1.0, 2.0]);
        assert_eq!(b.targets, Targets::Classes(vec![0, 1, 0, 1]));
        assert!((b.gcn_spectral_radius() - 1.0).abs() < 1e-8);
    }
}
