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

/// A chain of `n` nodes for benchmarks at scale: two node features, the first node's first
/// set (Table 1's layout), class-0 targets.
pub fn chain_sample(n: usize) -> Sample {
    let mut features = Array2::zeros((n, 2));
    if n > 0 {
        features[[0, 0]] = 1.0;
    }
    Sample {
        graph: Graph::path(n),
        features,
        targets: Targets::Classes(vec![0; n]),
    }
}

/// A random geometric graph for benchmarks at scale: `n` points uniform in the unit square,
/// an edge (both ways, the distance as its edge feature) between points closer than
/// `r = √(mean_degree / (π n))`, so the expected degree is about `mean_degree` whatever `n`;
/// node features uniform in `[-1, 1)^f`; class-0 targets. Neighbours are found through a
/// grid of cells of side `r`, so building it takes time linear in `n`. Not necessarily
/// connected. Deterministic in `seed` (ChaCha8).
pub fn geometric_sample(n: usize, mean_degree: f64, f: usize, seed: u64) -> Sample {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let pos: Vec<(f64, f64)> = (0..n)
        .map(|_| (rng.random::<f64>(), rng.random::<f64>()))
        .collect();
    let r = (mean_degree / (std::f64::consts::PI * n as f64))
        .sqrt()
        .min(1.0);
    let side = ((1.0 / r).floor() as usize).max(1);
    let cell = |x: f64| ((x * side as f64) as usize).min(side - 1);
    let mut cells: Vec<Vec<usize>> = vec![vec![]; side * side];
    for (i, &(x, y)) in pos.iter().enumerate() {
        cells[cell(x) * side + cell(y)].push(i);
    }
    let (mut edges, mut feats) = (vec![], vec![]);
    for (a, &(x, y)) in pos.iter().enumerate() {
        let (cx, cy) = (cell(x), cell(y));
        for nx in cx.saturating_sub(1)..=(cx + 1).min(side - 1) {
            for ny in cy.saturating_sub(1)..=(cy + 1).min(side - 1) {
                for &b in &cells[nx * side + ny] {
                    let d = ((x - pos[b].0).powi(2) + (y - pos[b].1).powi(2)).sqrt();
                    if b != a && d < r {
                        edges.push((a, b, 1.0));
                        feats.push(d);
                    }
                }
            }
        }
    }
    let m = edges.len();
    let edge_features = Array2::from_shape_vec((m, 1), feats).expect("one per edge");
    Sample {
        graph: Graph::from_weighted_edges(n, &edges, Some(edge_features)).expect("valid edges"),
        features: Array2::from_shape_fn((n, f), |_| rng.random_range(-1.0..1.0)),
        targets: Targets::Classes(vec![0; n]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geometric_graphs_have_exactly_the_close_pairs_and_the_asked_degree() {
        let s = geometric_sample(400, 6.0, 2, 1);
        assert_eq!(s, geometric_sample(400, 6.0, 2, 1));
        assert!(s.graph.is_symmetric());
        // Brute force over all pairs: the same edges.
        let r = (6.0 / (std::f64::consts::PI * 400.0)).sqrt();
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let pos: Vec<(f64, f64)> = (0..400)
            .map(|_| (rng.random::<f64>(), rng.random::<f64>()))
            .collect();
        let mut close = 0;
        for a in 0..400 {
            for b in 0..400 {
                let d = ((pos[a].0 - pos[b].0).powi(2) + (pos[a].1 - pos[b].1).powi(2)).sqrt();
                if a != b && d < r {
                    close += 1;
                    assert!(s.graph.find_edge(a, b).is_some(), "{a}-{b} missing");
                }
            }
        }
        assert_eq!(s.graph.n_edges(), close);
        let degree = close as f64 / 400.0;
        assert!((4.0..7.0).contains(&degree), "mean degree {degree}");
    }

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
