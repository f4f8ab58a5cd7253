//! Sparse graphs shared by every hogwild crate.
//!
//! A [`Graph`] stores a weighted adjacency in compressed sparse row (CSR) form where row `i`
//! lists the nodes `j` that send messages *to* `i` (its in-neighbours), together with the
//! weight `A[i, j]` and an optional row of edge features. All kernels here visit entries in a
//! fixed order, so results are bit-for-bit reproducible; products over many nodes split
//! their rows across threads ([`par`]), which changes no bit.

use ndarray::{Array2, ArrayView1, ArrayView2};

/// Errors raised while building a graph.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum GraphError {
    /// An edge names a node outside `0..n`.
    #[error("edge ({src} -> {dst}) names a node outside 0..{n}")]
    NodeOutOfRange { src: usize, dst: usize, n: usize },
    /// The edge-feature matrix does not have one row per edge.
    #[error("edge features have {rows} rows but the graph has {edges} edges")]
    EdgeFeatureRows { rows: usize, edges: usize },
    /// The same directed edge was given twice.
    #[error("edge ({src} -> {dst}) is given twice")]
    DuplicateEdge { src: usize, dst: usize },
}

/// A weighted directed graph in CSR form (row `i` = in-neighbours of `i`).
#[derive(Debug, Clone, PartialEq)]
pub struct Graph {
    n: usize,
    indptr: Vec<usize>,
    indices: Vec<usize>,
    weights: Vec<f64>,
    edge_features: Array2<f64>,
}

impl Graph {
    /// Builds a graph from directed edges `(src, dst, weight)`: `src` sends to `dst`.
    /// Edges are sorted by `(dst, src)`; `edge_features` rows follow the *given* edge order.
    pub fn from_weighted_edges(
        n: usize,
        edges: &[(usize, usize, f64)],
        edge_features: Option<Array2<f64>>,
    ) -> Result<Self, GraphError> {
        let feats = edge_features.unwrap_or_else(|| Array2::zeros((edges.len(), 0)));
        if feats.nrows() != edges.len() {
            return Err(GraphError::EdgeFeatureRows {
                rows: feats.nrows(),
                edges: edges.len(),
            });
        }
        for &(src, dst, _) in edges {
            if src >= n || dst >= n {
                return Err(GraphError::NodeOutOfRange { src, dst, n });
            }
        }
        let mut order: Vec<usize> = (0..edges.len()).collect();
        order.sort_by_key(|&e| (edges[e].1, edges[e].0));
        for w in order.windows(2) {
            let (a, b) = (edges[w[0]], edges[w[1]]);
            if a.0 == b.0 && a.1 == b.1 {
                return Err(GraphError::DuplicateEdge { src: a.0, dst: a.1 });
            }
        }
        let mut indptr = vec![0; n + 1];
        for &(_, dst, _) in edges {
            indptr[dst + 1] += 1;
        }
        for i in 0..n {
            indptr[i + 1] += indptr[i];
        }
        let indices = order.iter().map(|&e| edges[e].0).collect();
        let weights = order.iter().map(|&e| edges[e].2).collect();
        let mut edge_features = Array2::zeros((edges.len(), feats.ncols()));
        for (row, &e) in order.iter().enumerate() {
            edge_features.row_mut(row).assign(&feats.row(e));
        }
        Ok(Self {
            n,
            indptr,
            indices,
            weights,
            edge_features,
        })
    }

    /// Builds an undirected, unit-weight graph: each pair `(a, b)` becomes edges both ways.
    pub fn undirected(n: usize, pairs: &[(usize, usize)]) -> Result<Self, GraphError> {
        let edges: Vec<_> = pairs
            .iter()
            .flat_map(|&(a, b)| [(a, b, 1.0), (b, a, 1.0)])
            .collect();
        Self::from_weighted_edges(n, &edges, None)
    }

    /// The undirected path `0 - 1 - ... - (n-1)` with unit weights.
    pub fn path(n: usize) -> Self {
        let pairs: Vec<_> = (1..n).map(|i| (i - 1, i)).collect();
        Self::undirected(n, &pairs).expect("a path's edges are valid")
    }

    /// Number of nodes.
    pub fn n_nodes(&self) -> usize {
        self.n
    }

    /// Number of directed edges (stored entries).
    pub fn n_edges(&self) -> usize {
        self.indices.len()
    }

    /// Width of the edge-feature rows (0 when the graph has none).
    pub fn edge_feature_dim(&self) -> usize {
        self.edge_features.ncols()
    }

    /// The range of edge ids whose destination is `i`; use with [`Graph::edge`].
    pub fn in_edges(&self, i: usize) -> std::ops::Range<usize> {
        self.indptr[i]..self.indptr[i + 1]
    }

    /// Prefetches ([`prefetch::prefetch`]) where node `i`'s in-edges start and end: the first
    /// step of bringing its edges into cache.
    pub fn prefetch_edge_range(&self, i: usize) {
        prefetch::prefetch(&self.indptr[i..i + 2]);
    }

    /// Prefetches node `i`'s in-edges (sources and weights); reads where they are, so runs
    /// best after [`Graph::prefetch_edge_range`] has brought that in.
    pub fn prefetch_in_edges(&self, i: usize) {
        let edges = self.in_edges(i);
        prefetch::prefetch(&self.indices[edges.clone()]);
        prefetch::prefetch(&self.weights[edges]);
    }

    /// Edge `e` as `(source, weight)`.
    pub fn edge(&self, e: usize) -> (usize, f64) {
        (self.indices[e], self.weights[e])
    }

    /// In-neighbours of `i` with their weights, in storage order.
    pub fn neighbours(&self, i: usize) -> impl Iterator<Item = (usize, f64)> + '_ {
        self.in_edges(i).map(move |e| self.edge(e))
    }

    /// Degree (number of in-neighbours) of `i`.
    pub fn degree(&self, i: usize) -> usize {
        self.indptr[i + 1] - self.indptr[i]
    }

    /// Edge-feature row of edge `e`.
    pub fn edge_features(&self, e: usize) -> ArrayView1<'_, f64> {
        self.edge_features.row(e)
    }

    /// All edge features, one row per stored edge.
    pub fn edge_feature_matrix(&self) -> ArrayView2<'_, f64> {
        self.edge_features.view()
    }

    /// The edge id of `src -> dst`, if present.
    pub fn find_edge(&self, dst: usize, src: usize) -> Option<usize> {
        let range = self.in_edges(dst);
        self.indices[range.clone()]
            .binary_search(&src)
            .ok()
            .map(|k| range.start + k)
    }

    /// Whether `A` equals its transpose (structure and weights).
    pub fn is_symmetric(&self) -> bool {
        (0..self.n).all(|i| {
            self.neighbours(i)
                .all(|(j, w)| self.find_edge(j, i).is_some_and(|e| self.weights[e] == w))
        })
    }

    /// The GCN propagation matrix `D̃^{-1/2} (A + I) D̃^{-1/2}`, `D̃` the row sums of `A + I`
    /// (Kipf & Welling; the IGNN reference code uses the same). Edge features are dropped.
    pub fn gcn_normalised(&self) -> Graph {
        let deg: Vec<f64> = (0..self.n)
            .map(|i| 1.0 + self.neighbours(i).map(|(_, w)| w).sum::<f64>())
            .collect();
        let mut edges = Vec::with_capacity(self.n_edges() + self.n);
        for i in 0..self.n {
            edges.push((i, i, 1.0 / deg[i]));
            for (j, w) in self.neighbours(i) {
                if j != i {
                    edges.push((j, i, w / (deg[i] * deg[j]).sqrt()));
                }
            }
        }
        Graph::from_weighted_edges(self.n, &edges, None).expect("normalised edges are valid")
    }

    /// Positive node weights `v`, largest 1, with `|Â| v = v` for `Â` =
    /// [`Graph::gcn_normalised`] of this graph when its weights are non-negative:
    /// `v_i = √d̃_i` (row sums of `A + I`), normalised. Iterative solvers on `Â` measure
    /// distances in the max-norm weighted by `v`, in which `Â` does not expand.
    ///
    /// ```
    /// use hogwild_graph::Graph;
    /// let g = Graph::path(3);
    /// let v = g.gcn_perron_vector();
    /// assert_eq!(v[1], 1.0);
    /// assert!((g.gcn_normalised().expansion_factor(&v) - 1.0).abs() < 1e-15);
    /// ```
    pub fn gcn_perron_vector(&self) -> Vec<f64> {
        let root_degrees: Vec<f64> = (0..self.n)
            .map(|i| (1.0 + self.neighbours(i).map(|(_, w)| w.abs()).sum::<f64>()).sqrt())
            .collect();
        let largest = root_degrees.iter().copied().fold(1.0, f64::max);
        root_degrees.iter().map(|d| d / largest).collect()
    }

    /// `max_i (|A| v)_i / v_i` for positive `v` (Collatz–Wielandt): the factor by which `|A|`
    /// can expand the max-norm weighted by `v` (`max_i |x_i| / v_i`), an upper bound on the
    /// spectral radius of `|A|`. Infinite if some `v_i` is not positive.
    pub fn expansion_factor(&self, v: &[f64]) -> f64 {
        assert_eq!(v.len(), self.n, "expansion_factor: one weight per node");
        (0..self.n)
            .map(|i| {
                let image: f64 = self.neighbours(i).map(|(j, w)| w.abs() * v[j]).sum();
                if v[i] > 0.0 {
                    image / v[i]
                } else {
                    f64::INFINITY
                }
            })
            .fold(0.0, f64::max)
    }

    /// The transpose `Aᵀ` (edge features follow their edges).
    pub fn transpose(&self) -> Graph {
        let mut edges = Vec::with_capacity(self.n_edges());
        for i in 0..self.n {
            for (j, w) in self.neighbours(i) {
                edges.push((i, j, w));
            }
        }
        Graph::from_weighted_edges(self.n, &edges, Some(self.edge_features.clone()))
            .expect("transposed edges are valid")
    }

    /// Spectral radius of `|A|` by power iteration (deterministic start, fixed iteration cap).
    pub fn spectral_radius_abs(&self) -> f64 {
        if self.n == 0 {
            return 0.0;
        }
        let mut v = vec![1.0 / (self.n as f64).sqrt(); self.n];
        let mut lambda = 0.0;
        for _ in 0..10_000 {
            let mut next = vec![0.0; self.n];
            for (i, out) in next.iter_mut().enumerate() {
                *out = self.neighbours(i).map(|(j, w)| w.abs() * v[j]).sum::<f64>() + 1e-12 * v[i];
            }
            let norm = next.iter().map(|x| x * x).sum::<f64>().sqrt();
            if norm == 0.0 {
                return 0.0;
            }
            next.iter_mut().for_each(|x| *x /= norm);
            let delta = (norm - lambda).abs();
            lambda = norm;
            v = next;
            if delta < 1e-12 * lambda.max(1.0) {
                break;
            }
        }
        lambda
    }

    /// `A · X`, rows of `X` indexed by node.
    pub fn spmm(&self, x: ArrayView2<'_, f64>) -> Array2<f64> {
        assert_eq!(
            x.nrows(),
            self.n,
            "spmm: X has {} rows, graph has {} nodes",
            x.nrows(),
            self.n
        );
        let c = x.ncols();
        let x = x.as_standard_layout();
        let x = x.as_slice().expect("standard layout");
        let mut out = vec![0.0; self.n * c];
        par::fill_rows(&mut out, c, |first, chunk| {
            for (r, row) in chunk.chunks_exact_mut(c).enumerate() {
                for (j, w) in self.neighbours(first + r) {
                    for (o, &v) in row.iter_mut().zip(&x[j * c..(j + 1) * c]) {
                        *o += w * v;
                    }
                }
            }
        });
        Array2::from_shape_vec((self.n, c), out).expect("n × c")
    }

    /// The disjoint union (block-diagonal batch) of `graphs`; returns it with each graph's
    /// first node index.
    pub fn disjoint_union(graphs: &[&Graph]) -> (Graph, Vec<usize>) {
        let q = graphs.first().map_or(0, |g| g.edge_feature_dim());
        let n: usize = graphs.iter().map(|g| g.n).sum();
        let mut offsets = Vec::with_capacity(graphs.len());
        let mut indptr = vec![0];
        let (mut indices, mut weights) = (Vec::new(), Vec::new());
        let mut feats = Vec::new();
        let mut base = 0;
        for g in graphs {
            assert_eq!(
                g.edge_feature_dim(),
                q,
                "disjoint_union: edge feature widths differ"
            );
            offsets.push(base);
            let edge_base = indices.len();
            indptr.extend(g.indptr[1..].iter().map(|p| p + edge_base));
            indices.extend(g.indices.iter().map(|j| j + base));
            weights.extend_from_slice(&g.weights);
            feats.extend(g.edge_features.iter().copied());
            base += g.n;
        }
        let edge_features = Array2::from_shape_vec((indices.len(), q), feats).expect("shape");
        (
            Graph {
                n,
                indptr,
                indices,
                weights,
                edge_features,
            },
            offsets,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn spmm_over_many_nodes_has_the_same_bits_on_any_number_of_threads() {
        // A ring with chords, enough nodes to split across threads, against the plain loop.
        let n = par::PARALLEL_MIN_ROWS + 3 * par::CHUNK_ROWS + 11;
        let edges: Vec<(usize, usize, f64)> = (0..n)
            .flat_map(|i| {
                [
                    (i, (i + 1) % n, 0.5),
                    (i, (i * 7 + 3) % n, 1.0 / (1 + i % 5) as f64),
                ]
            })
            .filter(|&(i, j, _)| i != j)
            .collect();
        let mut seen = std::collections::HashSet::new();
        let edges: Vec<_> = edges
            .into_iter()
            .filter(|&(i, j, _)| seen.insert((i, j)))
            .collect();
        let g = Graph::from_weighted_edges(n, &edges, None).expect("valid");
        let x = Array2::from_shape_fn((n, 3), |(i, c)| ((i * 13 + c * 5) % 17) as f64 / 3.0 - 2.0);
        let on = |threads: usize| par::on_threads(threads, || g.spmm(x.view()));
        let one = on(1);
        for i in 0..n {
            for c in 0..3 {
                let mut acc = 0.0;
                for (j, w) in g.neighbours(i) {
                    acc += w * x[[j, c]];
                }
                assert_eq!(one[[i, c]].to_bits(), acc.to_bits(), "row {i}");
            }
        }
        for threads in [2, 3] {
            let many = on(threads);
            assert!(
                one.iter()
                    .zip(&many)
                    .all(|(a, b)| a.to_bits() == b.to_bits()),
                "{threads} threads"
            );
        }
    }

    #[test]
    fn path_has_symmetric_unit_edges() {
        let g = Graph::path(4);
        assert_eq!(g.n_nodes(), 4);
        assert_eq!(g.n_edges(), 6);
        assert!(g.is_symmetric());
        assert_eq!(
            g.neighbours(1).collect::<Vec<_>>(),
            vec![(0, 1.0), (2, 1.0)]
        );
        assert_eq!(g.degree(0), 1);
    }

    #[test]
    fn gcn_normalisation_matches_closed_form() {
        let a = Graph::path(3).gcn_normalised();
        // degrees of A + I: 2, 3, 2
        let x = Array2::eye(3);
        let dense = a.spmm(x.view());
        let expect = array![
            [0.5, 1.0 / 6f64.sqrt(), 0.0],
            [1.0 / 6f64.sqrt(), 1.0 / 3.0, 1.0 / 6f64.sqrt()],
            [0.0, 1.0 / 6f64.sqrt(), 0.5]
        ];
        for (a, b) in dense.iter().zip(expect.iter()) {
            assert!((a - b).abs() < 1e-15);
        }
        // The largest eigenvalue of a GCN propagation matrix is 1.
        assert!((a.spectral_radius_abs() - 1.0).abs() < 1e-8);
    }

    #[test]
    fn bad_edges_are_rejected() {
        assert_eq!(
            Graph::from_weighted_edges(2, &[(0, 2, 1.0)], None),
            Err(GraphError::NodeOutOfRange {
                src: 0,
                dst: 2,
                n: 2
            })
        );
        assert_eq!(
            Graph::from_weighted_edges(2, &[(0, 1, 1.0), (0, 1, 2.0)], None),
            Err(GraphError::DuplicateEdge { src: 0, dst: 1 })
        );
        assert_eq!(
            Graph::from_weighted_edges(2, &[(0, 1, 1.0)], Some(Array2::zeros((2, 1)))),
            Err(GraphError::EdgeFeatureRows { rows: 2, edges: 1 })
        );
    }

    #[test]
    fn union_is_block_diagonal_and_transpose_reverses() {
        let d = Graph::from_weighted_edges(2, &[(0, 1, 2.0)], Some(array![[7.0]])).unwrap();
        let (u, offsets) = Graph::disjoint_union(&[&d, &d]);
        assert_eq!(offsets, vec![0, 2]);
        assert_eq!(u.neighbours(3).collect::<Vec<_>>(), vec![(2, 2.0)]);
        assert_eq!(u.edge_features(1)[0], 7.0);
        let t = d.transpose();
        assert_eq!(t.neighbours(0).collect::<Vec<_>>(), vec![(1, 2.0)]);
        assert!(!d.is_symmetric());
        assert_eq!(t.find_edge(0, 1), Some(0));
    }
}

pub mod out_edges;
pub mod par;
pub mod prefetch;
mod sample;
pub use sample::{Batch, Sample, Targets};
