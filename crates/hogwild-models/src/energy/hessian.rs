//! The energy's Hessian, assembled from a few Hessian-vector products, and its Cholesky factor.
//!
//! `∇²E` couples two nodes only when they are within (undirected) distance 2: a message
//! `m(h_j, h_i)` couples the ends of an edge, and the update `u(m_i, h_i)` couples every
//! in-neighbour of `i` with `i` and with each other. Two columns (node, dimension) whose
//! nodes are more than 4 apart therefore never share a non-zero row, so one product
//! `∇²E · V`, with `V` the indicator of every node of one colour in one dimension, recovers
//! all their columns at once (Curtis, Powell & Reid's compression). A greedy colouring with
//! that separation needs 5 colours on a chain, so a chain's Hessian costs `5k` products
//! however long the chain, where conjugate gradients on the ill-conditioned chain energy
//! (small β) need hundreds.
//!
//! The factor is an envelope (skyline) Cholesky in reverse Cuthill–McKee node order: its
//! fill stays inside each row's envelope, which on a chain is a band of 3 nodes. The loops
//! are sequential with a fixed summation order, so the factor has the same bits on every
//! machine (a library kernel would pick its SIMD path per CPU; see [`crate::linalg`]).

use hogwild_graph::Graph;
use ndarray::{Array2, ArrayView2};

/// Which columns of the Hessian one product recovers, and the envelope of its factor, for
/// one graph and embedding width `k`.
#[derive(Debug, Clone)]
pub struct HessianPattern {
    k: usize,
    /// Nodes within undirected distance 2 of each node, itself included, ascending.
    ball: Vec<Vec<usize>>,
    /// Colour of each node: nodes of one colour are more than 4 apart.
    colour: Vec<usize>,
    /// Nodes of each colour.
    by_colour: Vec<Vec<usize>>,
    /// Position of each node in the elimination order.
    pos: Vec<usize>,
    /// First column of each row of the envelope (unknown `pos·k + c`).
    first: Vec<usize>,
    /// Start of each row in the packed factor; one more entry than rows.
    offset: Vec<usize>,
}

/// The Cholesky factor `L` (`∇²E = L Lᵀ`) of an assembled Hessian.
#[derive(Debug, Clone)]
pub struct Cholesky<'p> {
    pattern: &'p HessianPattern,
    /// Row `r` of `L`, columns `first[r]..=r`, packed at `offset[r]..offset[r + 1]`.
    l: Vec<f64>,
}

impl HessianPattern {
    /// The pattern of `graph` (edge directions ignored) for embeddings of width `k`.
    pub fn new(graph: &Graph, k: usize) -> HessianPattern {
        let n = graph.n_nodes();
        let mut adj: Vec<Vec<usize>> = vec![Vec::new(); n];
        for i in 0..n {
            for (j, _) in graph.neighbours(i) {
                if j != i {
                    adj[i].push(j);
                    adj[j].push(i);
                }
            }
        }
        for a in &mut adj {
            a.sort_unstable();
            a.dedup();
        }
        let ball: Vec<Vec<usize>> = (0..n)
            .map(|i| {
                let mut b = vec![i];
                for &j in &adj[i] {
                    b.push(j);
                    b.extend_from_slice(&adj[j]);
                }
                b.sort_unstable();
                b.dedup();
                b
            })
            .collect();
        // Greedy colouring in node order: a node takes the smallest colour unused within
        // distance 4 (the union of the balls of its ball).
        let mut colour = vec![usize::MAX; n];
        let mut seen = Vec::new();
        for i in 0..n {
            seen.clear();
            for &j in &ball[i] {
                for &m in &ball[j] {
                    if colour[m] != usize::MAX {
                        seen.push(colour[m]);
                    }
                }
            }
            seen.sort_unstable();
            seen.dedup();
            colour[i] = seen
                .iter()
                .enumerate()
                .find(|&(c, &s)| c != s)
                .map_or(seen.len(), |(c, _)| c);
        }
        let n_colours = colour.iter().max().map_or(0, |c| c + 1);
        let mut by_colour = vec![Vec::new(); n_colours];
        for (i, &c) in colour.iter().enumerate() {
            by_colour[c].push(i);
        }
        let order = reverse_cuthill_mckee(&adj);
        let mut pos = vec![0; n];
        for (p, &i) in order.iter().enumerate() {
            pos[i] = p;
        }
        let mut first = vec![0; n * k];
        let mut offset = Vec::with_capacity(n * k + 1);
        offset.push(0);
        for &i in &order {
            let lo = ball[i].iter().map(|&j| pos[j]).min().expect("holds i") * k;
            for c in 0..k {
                let row = pos[i] * k + c;
                first[row] = lo;
                offset.push(offset[row] + row - lo + 1);
            }
        }
        HessianPattern {
            k,
            ball,
            colour,
            by_colour,
            pos,
            first,
            offset,
        }
    }

    /// Hessian-vector products one assembly takes (colours × `k`).
    pub fn products(&self) -> usize {
        self.by_colour.len() * self.k
    }

    /// Stored entries of the factor.
    pub fn envelope_len(&self) -> usize {
        self.offset.last().copied().unwrap_or(0)
    }

    /// Calls `hvp` once per colour and dimension `d` with the indicator of that colour's
    /// nodes in dimension `d`, and `visit(colour, d, product)` with each product.
    fn compressed_products<F, G>(&self, mut hvp: F, mut visit: G)
    where
        F: FnMut(ArrayView2<'_, f64>) -> Array2<f64>,
        G: FnMut(usize, usize, &Array2<f64>),
    {
        let mut v = Array2::zeros((self.ball.len(), self.k));
        for (c, nodes) in self.by_colour.iter().enumerate() {
            for d in 0..self.k {
                for &j in nodes {
                    v[[j, d]] = 1.0;
                }
                let hv = hvp(v.view());
                for &j in nodes {
                    v[[j, d]] = 0.0;
                }
                visit(c, d, &hv);
            }
        }
    }

    /// `Σ_col |∇²E[row, col]|` for every row (node, dimension), as an `n × k` array, from
    /// [`HessianPattern::products`] calls of `hvp` (which must return `∇²E · V`): a product
    /// with the indicator of one colour in one dimension holds, at each row, the one
    /// column of that colour the row can reach, so the rows' absolute values add up to the
    /// absolute row sums.
    pub fn abs_row_sums<F>(&self, hvp: F) -> Array2<f64>
    where
        F: FnMut(ArrayView2<'_, f64>) -> Array2<f64>,
    {
        let mut sums = Array2::zeros((self.ball.len(), self.k));
        self.compressed_products(hvp, |_, _, hv| {
            sums.zip_mut_with(hv, |s: &mut f64, &x| *s += x.abs());
        });
        sums
    }

    /// Assembles the Hessian from [`HessianPattern::products`] calls of `hvp` (which must
    /// return `∇²E · V` for an `n × k` direction `V`) and factors it. `Err(row)` if the
    /// matrix is not numerically positive definite at that row of the elimination order.
    pub fn factor<F>(&self, hvp: F) -> Result<Cholesky<'_>, usize>
    where
        F: FnMut(ArrayView2<'_, f64>) -> Array2<f64>,
    {
        let (n, k) = (self.ball.len(), self.k);
        let mut l = vec![0.0; self.envelope_len()];
        self.compressed_products(hvp, |c, d, hv| {
            for r in 0..n {
                for &j in self.ball[r].iter().filter(|&&j| self.colour[j] == c) {
                    let col = self.pos[j] * k + d;
                    for c2 in 0..k {
                        let row = self.pos[r] * k + c2;
                        if col <= row {
                            l[self.offset[row] + col - self.first[row]] = hv[[r, c2]];
                        }
                    }
                }
            }
        });
        // Left-looking Cholesky, row by row, inside the envelope.
        for i in 0..self.first.len() {
            let fi = self.first[i];
            let (done, rest) = l.split_at_mut(self.offset[i]);
            let row_i = &mut rest[..i - fi + 1];
            for j in fi..i {
                let fj = self.first[j];
                let row_j = &done[self.offset[j]..self.offset[j + 1]];
                let p0 = fi.max(fj);
                let mut s = row_i[j - fi];
                for p in p0..j {
                    s -= row_i[p - fi] * row_j[p - fj];
                }
                row_i[j - fi] = s / row_j[j - fj];
            }
            let mut s = row_i[i - fi];
            for p in fi..i {
                s -= row_i[p - fi] * row_i[p - fi];
            }
            if !(s > 0.0 && s.is_finite()) {
                return Err(i);
            }
            row_i[i - fi] = s.sqrt();
        }
        Ok(Cholesky { pattern: self, l })
    }
}

impl Cholesky<'_> {
    fn row(&self, r: usize) -> &[f64] {
        &self.l[self.pattern.offset[r]..self.pattern.offset[r + 1]]
    }

    /// Solves `∇²E · X = B` for an `n × k` right-hand side.
    pub fn solve(&self, b: ArrayView2<'_, f64>) -> Array2<f64> {
        let p = self.pattern;
        let k = p.k;
        let mut x = vec![0.0; p.first.len()];
        for ((i, c), &v) in b.indexed_iter() {
            x[p.pos[i] * k + c] = v;
        }
        for i in 0..x.len() {
            let (fi, row) = (p.first[i], self.row(i));
            let mut s = x[i];
            for q in fi..i {
                s -= row[q - fi] * x[q];
            }
            x[i] = s / row[i - fi];
        }
        for i in (0..x.len()).rev() {
            let (fi, row) = (p.first[i], self.row(i));
            x[i] /= row[i - fi];
            let xi = x[i];
            for q in fi..i {
                x[q] -= row[q - fi] * xi;
            }
        }
        Array2::from_shape_fn(b.raw_dim(), |(i, c)| x[p.pos[i] * k + c])
    }
}

/// Reverse Cuthill–McKee order: breadth-first from a lowest-degree node of each component,
/// neighbours by increasing degree (ties by index), reversed. Keeps the envelope narrow.
fn reverse_cuthill_mckee(adj: &[Vec<usize>]) -> Vec<usize> {
    let n = adj.len();
    let mut by_degree: Vec<usize> = (0..n).collect();
    by_degree.sort_by_key(|&i| (adj[i].len(), i));
    let mut visited = vec![false; n];
    let mut order = Vec::with_capacity(n);
    let mut next = Vec::new();
    for &start in &by_degree {
        if visited[start] {
            continue;
        }
        visited[start] = true;
        let mut head = order.len();
        order.push(start);
        while head < order.len() {
            let i = order[head];
            head += 1;
            next.clear();
            next.extend(adj[i].iter().copied().filter(|&j| !visited[j]));
            next.sort_by_key(|&j| (adj[j].len(), j));
            for &j in &next {
                visited[j] = true;
                order.push(j);
            }
        }
    }
    order.reverse();
    order
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// A random symmetric positive definite matrix with the energy's sparsity (nodes within
    /// distance 2 coupled), as a dense `nk × nk` array.
    fn spd_with_pattern(g: &Graph, k: usize, seed: u64) -> Array2<f64> {
        let p = HessianPattern::new(g, k);
        let n = g.n_nodes();
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut a = Array2::<f64>::zeros((n * k, n * k));
        for i in 0..n {
            for &j in p.ball[i].iter().filter(|&&j| j <= i) {
                for c in 0..k {
                    for d in 0..k {
                        let v = rng.random_range(-1.0..1.0);
                        a[[i * k + c, j * k + d]] = v;
                        a[[j * k + d, i * k + c]] = v;
                    }
                }
            }
        }
        // Diagonal dominance makes it positive definite.
        for r in 0..n * k {
            let s: f64 = a.row(r).iter().map(|v| v.abs()).sum();
            a[[r, r]] = s + 1.0;
        }
        a
    }

    fn dense_hvp(a: &Array2<f64>, v: ArrayView2<'_, f64>) -> Array2<f64> {
        let (n, k) = v.dim();
        let flat = Array2::from_shape_fn((n * k, 1), |(r, _)| v[[r / k, r % k]]);
        let out = a.dot(&flat);
        Array2::from_shape_fn((n, k), |(i, c)| out[[i * k + c, 0]])
    }

    fn graphs() -> Vec<Graph> {
        let shuffled = Graph::undirected(7, &[(3, 0), (0, 5), (5, 1), (1, 6), (6, 2), (2, 4)]);
        let star_and_cycle = Graph::undirected(
            9,
            &[
                (0, 1),
                (0, 2),
                (0, 3),
                (0, 4),
                (5, 6),
                (6, 7),
                (7, 8),
                (8, 5),
            ],
        );
        let directed =
            Graph::from_weighted_edges(5, &[(0, 1, 1.0), (1, 2, 0.5), (4, 3, 2.0)], None);
        vec![
            Graph::path(30),
            shuffled.unwrap(),
            star_and_cycle.unwrap(),
            directed.unwrap(),
        ]
    }

    #[test]
    fn colours_are_five_apart_and_a_chain_needs_five() {
        for g in graphs() {
            let p = HessianPattern::new(&g, 2);
            for i in 0..g.n_nodes() {
                for &j in &p.ball[i] {
                    for &m in &p.ball[j] {
                        assert!(
                            m == i || p.colour[m] != p.colour[i],
                            "{i} and {m} share a colour"
                        );
                    }
                }
            }
        }
        assert_eq!(HessianPattern::new(&Graph::path(1000), 3).products(), 15);
    }

    #[test]
    fn assembled_factor_solves_the_dense_system() {
        for (s, g) in graphs().into_iter().enumerate() {
            for k in [1, 3] {
                let a = spd_with_pattern(&g, k, s as u64);
                let p = HessianPattern::new(&g, k);
                let mut calls = 0;
                let chol = p
                    .factor(|v| {
                        calls += 1;
                        dense_hvp(&a, v)
                    })
                    .unwrap();
                assert_eq!(calls, p.products());
                let mut rng = ChaCha8Rng::seed_from_u64(9);
                let b = Array2::from_shape_fn((g.n_nodes(), k), |_| rng.random_range(-1.0..1.0));
                let x = chol.solve(b.view());
                let err = (&dense_hvp(&a, x.view()) - &b)
                    .iter()
                    .fold(0.0f64, |m, v| m.max(v.abs()));
                assert!(err < 1e-12, "graph {s}, k = {k}: residual {err}");
            }
        }
    }

    #[test]
    fn absolute_row_sums_match_the_dense_matrix() {
        for (t, g) in graphs().iter().enumerate() {
            let k = 2;
            let a = spd_with_pattern(g, k, t as u64);
            let pattern = HessianPattern::new(g, k);
            let sums = pattern.abs_row_sums(|v| dense_hvp(&a, v));
            for i in 0..g.n_nodes() {
                for c in 0..k {
                    let want: f64 = a.row(i * k + c).iter().map(|x| x.abs()).sum();
                    assert!(
                        (sums[[i, c]] - want).abs() < 1e-12 * want.max(1.0),
                        "{t}: {i},{c}"
                    );
                }
            }
        }
    }

    #[test]
    fn an_indefinite_matrix_is_refused() {
        let g = Graph::path(4);
        let p = HessianPattern::new(&g, 1);
        let mut a = spd_with_pattern(&g, 1, 1);
        a[[2, 2]] = -5.0;
        assert!(p.factor(|v| dense_hvp(&a, v)).is_err());
    }

    #[test]
    fn a_chain_envelope_is_a_band() {
        let p = HessianPattern::new(&Graph::path(100), 4);
        // Each row reaches back at most 2 nodes: at most 2k + k entries per row.
        assert!(p.envelope_len() <= 100 * 4 * 12);
    }
}
