//! The networked system's graph and the weighted operators that live on its edges: the
//! Barabási–Albert generator of the regression experiment, the Erdős–Rényi generator of the
//! link-scheduling experiment's conflict graphs, the shift operator of the graph filter
//! (normalised Laplacian, in networkx's and in the scheduling code's convention), and the
//! two consensus mixing matrices (Metropolis–Hastings and the reference code's lazy
//! Laplacian step).
//!
//! Every operator is a [`Graph`] whose edges are the communication graph's edges plus a
//! self-loop per node: a node's own term is local work, the others arrive as messages.

use hogwild_graph::Graph;
use rand::RngExt;
use rand_chacha::ChaCha8Rng;

/// A Barabási–Albert graph: a star on nodes `0..=m` (centre 0), then every further node
/// attaches to `m` distinct existing nodes drawn with probability proportional to degree
/// (networkx's `barabasi_albert_graph` recipe, drawn from our stream).
///
/// ```
/// use rand::SeedableRng;
/// let g = hogwild_distributed::topology::barabasi_albert(
///     100, 2, &mut rand_chacha::ChaCha8Rng::seed_from_u64(3));
/// assert_eq!(g.n_edges(), 2 * (2 + 2 * 97)); // both directions of every undirected edge
/// ```
pub fn barabasi_albert(n: usize, m: usize, rng: &mut ChaCha8Rng) -> Graph {
    assert!(
        m >= 1 && n > m,
        "barabasi_albert needs 1 <= m < n (m = {m}, n = {n})"
    );
    let mut pairs: Vec<(usize, usize)> = (1..=m).map(|v| (0, v)).collect();
    // Every node repeated once per incident edge: uniform draws from it are degree-biased.
    let mut repeated: Vec<usize> = pairs.iter().flat_map(|&(a, b)| [a, b]).collect();
    for v in (m + 1)..n {
        let mut targets: Vec<usize> = Vec::with_capacity(m);
        while targets.len() < m {
            let t = repeated[rng.random_range(0..repeated.len())];
            if !targets.contains(&t) {
                targets.push(t);
            }
        }
        for &t in &targets {
            pairs.push((t, v));
            repeated.push(t);
            repeated.push(v);
        }
    }
    Graph::undirected(n, &pairs).expect("generated edges are valid and distinct")
}

/// An Erdős–Rényi graph `G(n, p)`: every pair of nodes is linked independently with
/// probability `p` (the distribution of networkx's `fast_gnp_random_graph`, which the
/// link-scheduling code uses; drawn here pair by pair in the order `(0, 1), (0, 2), …`).
///
/// ```
/// use rand::SeedableRng;
/// let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
/// let g = hogwild_distributed::topology::erdos_renyi(100, 0.1, &mut rng);
/// assert!(g.is_symmetric());
/// assert!((300..700).contains(&(g.n_edges() / 2))); // 495 expected
/// ```
pub fn erdos_renyi(n: usize, p: f64, rng: &mut ChaCha8Rng) -> Graph {
    assert!(
        (0.0..=1.0).contains(&p),
        "erdos_renyi needs 0 <= p <= 1 (p = {p})"
    );
    let mut pairs = Vec::new();
    for i in 0..n {
        for j in (i + 1)..n {
            if rng.random::<f64>() < p {
                pairs.push((i, j));
            }
        }
    }
    Graph::undirected(n, &pairs).expect("generated pairs are valid and distinct")
}

/// The operator with off-diagonal weight `off(i, j)` on every edge of `comm` and
/// `diag(i, off-diagonal row sum)` on the diagonal.
fn operator(
    comm: &Graph,
    off: impl Fn(usize, usize) -> f64,
    diag: impl Fn(usize, f64) -> f64,
) -> Graph {
    let n = comm.n_nodes();
    let mut edges = Vec::with_capacity(comm.n_edges() + n);
    for i in 0..n {
        let mut row_sum = 0.0;
        for (j, _) in comm.neighbours(i) {
            assert_ne!(i, j, "the communication graph has no self-loops");
            let w = off(i, j);
            row_sum += w;
            edges.push((j, i, w));
        }
        edges.push((i, i, diag(i, row_sum)));
    }
    Graph::from_weighted_edges(n, &edges, None).expect("edges of a valid graph")
}

/// The normalised Laplacian `S = I − D^{-1/2} A D^{-1/2}` of `comm` (the regression
/// experiment's shift operator); an isolated node gets `S_ii = 0`, as networkx does.
pub fn normalised_laplacian(comm: &Graph) -> Graph {
    let inv_sqrt: Vec<f64> = (0..comm.n_nodes())
        .map(|i| match comm.degree(i) {
            0 => 0.0,
            d => 1.0 / (d as f64).sqrt(),
        })
        .collect();
    operator(
        comm,
        |i, j| -inv_sqrt[i] * inv_sqrt[j],
        |i, _| if comm.degree(i) > 0 { 1.0 } else { 0.0 },
    )
}

/// The link-scheduling code's first Chebyshev support, `I − D^{-1/2} A D^{-1/2}` with
/// `D^{-1/2} = 0` at isolated nodes: the same as [`normalised_laplacian`] except that an
/// isolated node keeps `S_ii = 1`.
pub fn scheduling_laplacian(comm: &Graph) -> Graph {
    let inv_sqrt: Vec<f64> = (0..comm.n_nodes())
        .map(|i| match comm.degree(i) {
            0 => 0.0,
            d => 1.0 / (d as f64).sqrt(),
        })
        .collect();
    operator(comm, |i, j| -inv_sqrt[i] * inv_sqrt[j], |_, _| 1.0)
}

/// Metropolis–Hastings consensus weights (the paper's eq. (16)): `W_ij = 1 / max(d_i + 1,
/// d_j + 1)` on edges, `W_ii = 1 − Σ_{j≠i} W_ij`; symmetric and doubly stochastic.
pub fn metropolis_hastings(comm: &Graph) -> Graph {
    operator(
        comm,
        |i, j| 1.0 / ((comm.degree(i).max(comm.degree(j)) + 1) as f64),
        |_, row_sum| 1.0 - row_sum,
    )
}

/// The reference code's consensus for D-SGD and D-Adam, `θ_i + β Σ_{j∈N(i)} (θ_j − θ_i)`,
/// as the mixing matrix `W = I − β L` with `L` the unweighted graph Laplacian.
pub fn laplacian_mixing(comm: &Graph, beta: f64) -> Graph {
    operator(comm, |_, _| beta, |_, row_sum| 1.0 - row_sum)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn dense(g: &Graph) -> Vec<Vec<f64>> {
        let n = g.n_nodes();
        let mut d = vec![vec![0.0; n]; n];
        for (i, row) in d.iter_mut().enumerate() {
            for (j, w) in g.neighbours(i) {
                row[j] += w;
            }
        }
        d
    }

    fn ba() -> Graph {
        barabasi_albert(60, 2, &mut ChaCha8Rng::seed_from_u64(3))
    }

    #[test]
    fn barabasi_albert_is_simple_connected_with_the_recipes_edge_count() {
        let g = ba();
        assert!(g.is_symmetric());
        assert_eq!(g.n_edges(), 2 * (2 + 2 * 57));
        for i in 0..g.n_nodes() {
            assert!(g.degree(i) >= 1);
            assert!(g.neighbours(i).all(|(j, _)| j != i));
        }
        // connected: a breadth-first search from 0 reaches everyone
        let mut seen = vec![false; g.n_nodes()];
        let mut stack = vec![0];
        seen[0] = true;
        while let Some(i) = stack.pop() {
            for (j, _) in g.neighbours(i) {
                if !seen[j] {
                    seen[j] = true;
                    stack.push(j);
                }
            }
        }
        assert!(seen.iter().all(|&s| s));
    }

    #[test]
    fn metropolis_hastings_is_symmetric_and_doubly_stochastic() {
        let w = dense(&metropolis_hastings(&ba()));
        for (i, row) in w.iter().enumerate() {
            assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-14);
            for (j, &x) in row.iter().enumerate() {
                assert_eq!(x, w[j][i]);
                assert!(x >= 0.0);
            }
        }
    }

    #[test]
    fn laplacian_mixing_is_i_minus_beta_l() {
        let g = ba();
        let w = dense(&laplacian_mixing(&g, 0.01));
        for (i, row) in w.iter().enumerate() {
            assert!((row[i] - (1.0 - 0.01 * g.degree(i) as f64)).abs() < 1e-15);
            assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-14);
        }
    }

    #[test]
    fn scheduling_laplacian_keeps_isolated_nodes_diagonal() {
        let g = Graph::undirected(4, &[(0, 1), (1, 2)]).unwrap();
        let (s, n) = (
            dense(&scheduling_laplacian(&g)),
            dense(&normalised_laplacian(&g)),
        );
        assert_eq!((s[3][3], n[3][3]), (1.0, 0.0));
        for i in 0..3 {
            assert_eq!(s[i], n[i]);
        }
    }

    #[test]
    fn erdos_renyi_has_the_expected_density() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let pairs: usize = (0..20)
            .map(|_| erdos_renyi(100, 0.05, &mut rng).n_edges() / 2)
            .sum();
        // 20 · 4950 · 0.05 = 4950 expected, standard deviation about 68
        assert!((4650..5250).contains(&pairs), "{pairs} pairs");
        assert_eq!(erdos_renyi(10, 1.0, &mut rng).n_edges(), 90);
        assert_eq!(erdos_renyi(10, 0.0, &mut rng).n_edges(), 0);
    }

    #[test]
    fn normalised_laplacian_matches_its_definition() {
        let g = ba();
        let s = dense(&normalised_laplacian(&g));
        for (i, row) in s.iter().enumerate() {
            assert_eq!(row[i], 1.0);
            for (j, _) in g.neighbours(i) {
                let expect = -1.0 / ((g.degree(i) * g.degree(j)) as f64).sqrt();
                assert!((row[j] - expect).abs() < 1e-15);
                assert_eq!(row[j], s[j][i]);
            }
        }
    }
}
