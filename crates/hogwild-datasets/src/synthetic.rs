//! Random graphs for tests and benchmarks.

use hogwild_graph::{Graph, Sample, Targets};
use ndarray::Array2;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A connected random undirected graph on `n` nodes: the path `0 - 1 - … - (n−1)` plus each
/// other pair with probability `p`; node features uniform in `[-1, 1)^f`; uniform random
/// class targets; with `distances`, each edge carries the distance between random points in
/// the unit square as a one-column edge feature. Deterministic in `seed` (ChaCha8).
pub fn random_sample(
    n: usize,
    p: f64,
    f: usize,
    classes: usize,
    distances: bool,
    seed: u64,
) -> Sample {
    let mut r = ChaCha8Rng::seed_from_u64(seed);
    let pos: Vec<(f64, f64)> = (0..n)
        .map(|_| (r.random::<f64>(), r.random::<f64>()))
        .collect();
    let mut edges = vec![];
    let mut feats = vec![];
    for a in 0..n {
        for b in a + 1..n {
            if b == a + 1 || r.random::<f64>() < p {
                let d = ((pos[a].0 - pos[b].0).powi(2) + (pos[a].1 - pos[b].1).powi(2)).sqrt();
                edges.extend([(a, b, 1.0), (b, a, 1.0)]);
                feats.extend([d, d]);
            }
        }
    }
    let n_edges = edges.len();
    let edge_features =
        distances.then(|| Array2::from_shape_vec((n_edges, 1), feats).expect("one per edge"));
    let graph = Graph::from_weighted_edges(n, &edges, edge_features).expect("valid edges");
    let features = Array2::from_shape_fn((n, f), |_| r.random_range(-1.0..1.0));
    let targets = Targets::Classes((0..n).map(|_| r.random_range(0..classes)).collect());
    Sample {
        graph,
        features,
        targets,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_samples_are_seeded_connected_and_symmetric() {
        let a = random_sample(12, 0.3, 2, 3, true, 5);
        assert_eq!(a, random_sample(12, 0.3, 2, 3, true, 5));
        assert_ne!(a, random_sample(12, 0.3, 2, 3, true, 6));
        assert!(a.graph.is_symmetric());
        assert!(a.graph.n_edges() >= 22);
        assert_eq!(a.graph.edge_feature_dim(), 1);
        assert!((0..11).all(|i| a.graph.find_edge(i + 1, i).is_some()));
    }
}
