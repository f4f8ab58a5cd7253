//! GSDGNN: a GNN as graph signal denoising (Ma et al., "A unified view on graph neural
//! networks as graph signal denoising", CIKM 2021). The embeddings minimise
//!
//! `E(H) = ½ ‖H − G‖²_F + (c/2) tr(Hᵀ L H)`,  `G = g_θ(X)`,
//!
//! with `L = D − A` the Laplacian of the (undirected, weighted) graph, self-loops ignored,
//! and `g_θ` a two-layer perceptron of the node features, `G = ReLU(X W₁ + b₁) W₂ + b₂`;
//! the output is a linear readout of `H*`. Our parameterisation (the paper's family leaves
//! `g` and `c` open): the smoothing weight `c ≥ 0` is a setting, not learned.
//!
//! `E` is quadratic with Hessian `I + cL ⪰ I`: the minimiser solves `(I + cL) H* = G`,
//! solved exactly by conjugate gradients, and the gradient through it is exact too:
//! `∂ℓ/∂G = (I + cL)⁻¹ ∂ℓ/∂H*`, one more solve of the same symmetric system.
//!
//! Stopping: a solve (and the asynchronous observer) stops when a bound on the distance to
//! the solution is below `tol`, not the residual. Writing `I + cL = D′(I − T)` with
//! `D′ = diag(1 + c d_i)` and `‖T‖∞ = γ = max_i c d_i / (1 + c d_i) < 1`, a residual `r`
//! leaves `max |X − X*| ≤ max_i ‖r_i‖∞ / (1 + c d_i) / (1 − γ)`.
//!
//! Asynchronously every node minimises `E` over its own embedding given its neighbours'
//! (block coordinate descent): `h_i ← (g_i + c Σ_j w_ij h_j) / (1 + c d_i)`. This map is a
//! contraction in the max norm (its factor is `max_i c d_i / (1 + c d_i) < 1`), so it
//! converges to `H*` under any bounded delays, indeed under total asynchrony (Bertsekas &
//! Tsitsiklis, *Parallel and Distributed Computation*, 1989, §6.2), with no step size to
//! choose.

use crate::linalg::{add_row, col_sums, mm, mm_nt, mm_tn};
use crate::loss::task_loss;
use crate::model::{
    states_matrix, Execution, LocalRule, Model, ModelError, ProblemSize, SolverStats, Staleness,
};
use crate::params::{ParamId, Params, TrainConfig};
use crate::registry::{Dims, ModelSpec};
use hogwild_graph::par::{max_over_rows, nan_max};
use hogwild_graph::{Batch, Graph};
use hogwild_settings::{at_least, non_negative, positive, Bytes, InvalidSetting};
use ndarray::{Array2, ArrayView2};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// GSDGNN settings (`[models.gsdgnn]`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GsdgnnConfig {
    /// Embedding width k.
    pub hidden: usize,
    /// Hidden width of the feature perceptron g.
    pub mlp_hidden: usize,
    /// The smoothing weight c ≥ 0 of `tr(Hᵀ L H)`.
    pub smoothing: f64,
    /// Solves stop when their bound on `max |H − H*|` is below this (module docs).
    pub tol: f64,
    /// Iteration cap of the conjugate-gradient solves.
    pub max_iter: usize,
    /// Optimiser settings.
    pub train: TrainConfig,
}

impl ModelSpec for GsdgnnConfig {
    const NAME: &'static str = "gsdgnn";
    const DISPLAY: &'static str = "GSDGNN";
    const COST: f64 = 5.0;

    fn check(&self) -> Result<(), InvalidSetting> {
        at_least("hidden", self.hidden as u64, 1)?;
        at_least("mlp_hidden", self.mlp_hidden as u64, 1)?;
        non_negative("smoothing", self.smoothing)?;
        positive("tol", self.tol)?;
        at_least("max_iter", self.max_iter as u64, 1)?;
        self.train.check().map_err(|e| e.under("train"))
    }

    fn train(&self) -> &TrainConfig {
        &self.train
    }

    fn memory(&self, size: &ProblemSize) -> Bytes {
        let (k, m) = (self.hidden as u64, self.mlp_hidden as u64);
        let params = size
            .in_dim
            .saturating_add(1)
            .saturating_mul(m)
            .saturating_add(m.saturating_add(1).saturating_mul(k))
            .saturating_add(k.saturating_add(1).saturating_mul(size.out_dim));
        // G, H, the solver's four vectors, the adjoint, and the perceptron's tape.
        let states = Bytes::f64s(size.nodes.saturating_mul(k)).times(8);
        let tape = Bytes::f64s(size.nodes.saturating_mul(m)).times(3);
        Bytes::f64s(params)
            .plus(self.train.optimiser_memory(params))
            .plus(states)
            .plus(tape)
    }

    fn state_width(&self, _in_dim: u64, _max_degree: u64) -> u64 {
        self.hidden as u64
    }

    fn build(&self, dims: Dims, rng: &mut ChaCha8Rng) -> Result<Box<dyn Model>, ModelError> {
        Ok(Box::new(Gsdgnn::new(self, dims.in_dim, dims.out_dim, rng)?))
    }
}

/// A GSDGNN with a linear readout.
#[derive(Debug, Clone)]
pub struct Gsdgnn {
    cfg: GsdgnnConfig,
    params: Params,
    w1: ParamId,
    b1: ParamId,
    w2: ParamId,
    b2: ParamId,
    w_out: ParamId,
    b_out: ParamId,
    stats: SolverStats,
    /// The distance bound at every iteration of the last forward solve.
    trace: Vec<f64>,
}

/// The perceptron's values on a batch: its pre-activation, hidden layer and output `G`.
struct Tape {
    pre: Array2<f64>,
    hidden: Array2<f64>,
    g: Array2<f64>,
}

/// Every node's weighted degree, self-loops left out (they do not enter the Laplacian).
fn degrees(graph: &Graph) -> Vec<f64> {
    (0..graph.n_nodes())
        .map(|i| {
            graph
                .neighbours(i)
                .filter(|&(j, _)| j != i)
                .map(|(_, w)| w)
                .sum()
        })
        .collect()
}

/// The bound on `max |X − X*|` of a residual of `(I + cL) X = B` (module docs).
struct DistanceBound {
    /// `1 / (1 + c d_i)`.
    scale: Vec<f64>,
    /// `1 / (1 − γ)`; infinite if `γ ≥ 1` or some `1 + c d_i ≤ 0` (negative edge weights:
    /// then nothing short of a zero residual is certified).
    gain: f64,
}

impl DistanceBound {
    fn new(graph: &Graph, c: f64) -> DistanceBound {
        let scale: Vec<f64> = degrees(graph).iter().map(|d| 1.0 / (1.0 + c * d)).collect();
        let gamma = (0..graph.n_nodes())
            .map(|i| {
                let spread: f64 = graph
                    .neighbours(i)
                    .filter(|&(j, _)| j != i)
                    .map(|(_, w)| w.abs())
                    .sum();
                c * spread * scale[i]
            })
            .fold(0.0, f64::max);
        let gain = if gamma < 1.0 && scale.iter().all(|&s| s > 0.0) {
            1.0 / (1.0 - gamma)
        } else {
            f64::INFINITY
        };
        DistanceBound { scale, gain }
    }

    fn of(&self, residual: ArrayView2<'_, f64>) -> f64 {
        let worst = max_over_rows(residual.nrows(), |i| {
            self.scale[i] * residual.row(i).iter().map(|x| x.abs()).fold(0.0, nan_max)
        });
        if worst.is_nan() {
            // A NaN residual is nowhere near the fixed point.
            f64::INFINITY
        } else if worst == 0.0 {
            0.0
        } else {
            self.gain * worst
        }
    }
}

/// `(I + cL) H`: row i is `h_i + c Σ_j w_ij (h_i − h_j)`.
fn apply(graph: &Graph, c: f64, h: &Array2<f64>) -> Array2<f64> {
    let mut out = h.as_standard_layout().into_owned();
    let width = h.ncols();
    let slice = out.as_slice_mut().expect("standard layout");
    // Row i is computed from h alone, so its rows may be filled in parallel.
    hogwild_graph::par::fill_rows(slice, width, |first, chunk| {
        for (r, row) in chunk.chunks_exact_mut(width).enumerate() {
            let i = first + r;
            let own = h.row(i);
            for (j, w) in graph.neighbours(i).filter(|&(j, _)| j != i) {
                let other = h.row(j);
                for (o, (a, b)) in row.iter_mut().zip(own.iter().zip(other.iter())) {
                    *o += c * w * (a - b);
                }
            }
        }
    });
    out
}

impl Gsdgnn {
    /// A seeded GSDGNN for `in_dim` features and `out_dim` outputs.
    pub fn new(
        cfg: &GsdgnnConfig,
        in_dim: usize,
        out_dim: usize,
        rng: &mut ChaCha8Rng,
    ) -> Result<Gsdgnn, ModelError> {
        cfg.check()?;
        let (k, m) = (cfg.hidden, cfg.mlp_hidden);
        let mut params = Params::default();
        let w1 = params.glorot("W1", in_dim, m, rng);
        let b1 = params.bias("b1", m);
        let w2 = params.glorot("W2", m, k, rng);
        let b2 = params.bias("b2", k);
        let w_out = params.glorot("W_out", k, out_dim, rng);
        let b_out = params.bias("b_out", out_dim);
        Ok(Gsdgnn {
            cfg: cfg.clone(),
            params,
            w1,
            b1,
            w2,
            b2,
            w_out,
            b_out,
            stats: SolverStats::default(),
            trace: Vec::new(),
        })
    }

    fn undirected(batch: &Batch) -> Result<(), ModelError> {
        if batch.graph.is_symmetric() {
            Ok(())
        } else {
            Err(ModelError::BadInput {
                model: "gsdgnn",
                why: "the graph is directed: tr(Hᵀ L H) and the node-local rule need every edge both ways".into(),
            })
        }
    }

    /// `G = ReLU(X W₁ + b₁) W₂ + b₂`, with its tape.
    fn perceptron(&self, x: &Array2<f64>) -> Tape {
        let mut pre = mm(x.view(), self.params.get(self.w1).view());
        add_row(&mut pre, self.params.get(self.b1).view());
        let hidden = pre.mapv(|v| v.max(0.0));
        let mut g = mm(hidden.view(), self.params.get(self.w2).view());
        add_row(&mut g, self.params.get(self.b2).view());
        Tape { pre, hidden, g }
    }

    /// Solves `(I + cL) X = B` by conjugate gradients from zero until the bound on
    /// `max |X − X*|` is below `tol`, writing the bound at every iteration (and at the
    /// start) to `trace`.
    /// Returns the solution, its iterations and whether it reached the tolerance.
    fn solve(
        &self,
        graph: &Graph,
        b: &Array2<f64>,
        trace: &mut Vec<f64>,
    ) -> (Array2<f64>, usize, bool) {
        let (c, tol) = (self.cfg.smoothing, self.cfg.tol);
        let dot = |a: &Array2<f64>, b: &Array2<f64>| -> f64 {
            a.iter().zip(b.iter()).map(|(x, y)| x * y).sum()
        };
        trace.clear();
        let bound = DistanceBound::new(graph, c);
        let mut x = Array2::zeros(b.raw_dim());
        let mut r = b.clone();
        let mut p = r.clone();
        let mut rr = dot(&r, &r);
        for it in 0..self.cfg.max_iter {
            let size = bound.of(r.view());
            trace.push(size);
            if size < tol {
                return (x, it, true);
            }
            let ap = apply(graph, c, &p);
            let alpha = rr / dot(&p, &ap);
            x.scaled_add(alpha, &p);
            r.scaled_add(-alpha, &ap);
            let rr_new = dot(&r, &r);
            p = &r + &(&p * (rr_new / rr));
            rr = rr_new;
        }
        let size = bound.of(r.view());
        trace.push(size);
        (x, self.cfg.max_iter, size < tol)
    }

    /// The perceptron's tape and the minimiser H* on `batch` (counted, its trace kept).
    fn forward(&mut self, batch: &Batch) -> Result<(Tape, Array2<f64>), ModelError> {
        Self::undirected(batch)?;
        let tape = self.perceptron(&batch.features);
        let mut trace = std::mem::take(&mut self.trace);
        let (h, iters, ok) = self.solve(&batch.graph, &tape.g, &mut trace);
        self.trace = trace;
        self.stats.record_forward(iters, ok);
        Ok((tape, h))
    }

    /// `H W_out + b_out`.
    fn readout(&self, h: &Array2<f64>) -> Array2<f64> {
        let mut out = mm(h.view(), self.params.get(self.w_out).view());
        add_row(&mut out, self.params.get(self.b_out).view());
        out
    }
}

impl Model for Gsdgnn {
    fn name(&self) -> &'static str {
        GsdgnnConfig::NAME
    }
    fn params(&self) -> &Params {
        &self.params
    }
    fn params_mut(&mut self) -> &mut Params {
        &mut self.params
    }
    fn stats(&self) -> SolverStats {
        self.stats
    }
    fn forward_trace(&self) -> &[f64] {
        &self.trace
    }
    fn execution(&self) -> Execution {
        Execution::Implicit
    }

    fn predict(&mut self, batch: &Batch) -> Result<Array2<f64>, ModelError> {
        let (_, h) = self.forward(batch)?;
        Ok(self.readout(&h))
    }

    fn loss_and_grads(&mut self, batch: &Batch) -> Result<(f64, Vec<Array2<f64>>), ModelError> {
        let (tape, h) = self.forward(batch)?;
        let out = self.readout(&h);
        let (loss, d_out) = task_loss(&out, batch);
        let mut grads = self.params.zeros_like();
        grads[self.w_out] = mm_tn(h.view(), d_out.view());
        grads[self.b_out] = col_sums(d_out.view());
        // ∂ℓ/∂G = (I + cL)⁻¹ ∂ℓ/∂H*: the system is symmetric.
        let dh = mm_nt(d_out.view(), self.params.get(self.w_out).view());
        let (dg, iters, ok) = self.solve(&batch.graph, &dh, &mut Vec::new());
        self.stats.record_backward(iters, ok);
        grads[self.w2] = mm_tn(tape.hidden.view(), dg.view());
        grads[self.b2] = col_sums(dg.view());
        let mut d_pre = mm_nt(dg.view(), self.params.get(self.w2).view());
        d_pre.zip_mut_with(&tape.pre, |d, &p| {
            if p <= 0.0 {
                *d = 0.0;
            }
        });
        grads[self.w1] = mm_tn(batch.features.view(), d_pre.view());
        grads[self.b1] = col_sums(d_pre.view());
        Ok((loss, grads))
    }

    fn local_rule<'a>(
        &'a self,
        batch: &'a Batch,
        _staleness: Staleness,
    ) -> Result<Box<dyn LocalRule + 'a>, ModelError> {
        Self::undirected(batch)?;
        Ok(Box::new(GsdgnnRule {
            model: self,
            graph: &batch.graph,
            bound: DistanceBound::new(&batch.graph, self.cfg.smoothing),
            g: self.perceptron(&batch.features).g,
        }))
    }
}

/// Node-local block minimisation of the energy.
struct GsdgnnRule<'a> {
    model: &'a Gsdgnn,
    graph: &'a Graph,
    /// Also holds each node's `1 / (1 + c d_i)`, the update's scale.
    bound: DistanceBound,
    g: Array2<f64>,
}

impl LocalRule for GsdgnnRule<'_> {
    fn graph(&self) -> &Graph {
        self.graph
    }
    fn execution(&self) -> Execution {
        self.model.execution()
    }
    fn state_len(&self, _i: usize) -> usize {
        self.model.cfg.hidden
    }
    fn init(&self, _i: usize, out: &mut [f64]) {
        out.fill(0.0);
    }
    fn update(&self, i: usize, _count: usize, _own: &[f64], views: &[&[f64]], out: &mut [f64]) {
        let c = self.model.cfg.smoothing;
        for (o, &g) in out.iter_mut().zip(self.g.row(i)) {
            *o = g;
        }
        for (e, view) in self.graph.in_edges(i).zip(views) {
            let (j, w) = self.graph.edge(e);
            if j != i {
                for (o, v) in out.iter_mut().zip(view.iter()) {
                    *o += c * w * v;
                }
            }
        }
        let scale = self.bound.scale[i];
        out.iter_mut().for_each(|o| *o *= scale);
    }
    fn residual(&self, states: &[Vec<f64>]) -> f64 {
        self.residual_with_frozen(states, &[])
    }
    /// The system restricted to the live nodes, the frozen ones' terms moved to its right
    /// side, has the live rows of the residual, and its Jacobi map contracts by at most
    /// the same γ (fewer neighbours in each row's spread): the bound holds with the frozen
    /// rows left out.
    fn residual_with_frozen(&self, states: &[Vec<f64>], frozen: &[bool]) -> f64 {
        let h = states_matrix(states, self.model.cfg.hidden);
        let mut gradient = apply(self.graph, self.model.cfg.smoothing, &h);
        gradient -= &self.g;
        for (i, _) in frozen.iter().enumerate().filter(|(_, &f)| f) {
            gradient.row_mut(i).fill(0.0);
        }
        self.bound.of(gradient.view())
    }
    fn readout(&self, states: &[Vec<f64>]) -> Array2<f64> {
        self.model
            .readout(&states_matrix(states, self.model.cfg.hidden))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linalg::max_abs;
    use hogwild_graph::par::on_threads;
    use rand::SeedableRng;

    fn config() -> GsdgnnConfig {
        GsdgnnConfig {
            hidden: 3,
            mlp_hidden: 4,
            smoothing: 2.0,
            tol: 1e-12,
            max_iter: 500,
            train: TrainConfig {
                epochs: 1,
                batch_graphs: None,
                lr: 0.01,
                weight_decay: 0.0,
                grad_clip: 0.0,
                lr_schedule: Default::default(),
            },
        }
    }

    #[test]
    fn the_map_over_many_nodes_has_the_bits_of_its_rows_on_any_number_of_threads() {
        // Enough nodes to split rows across threads: every row must be the sequential sum.
        let n = hogwild_graph::par::PARALLEL_MIN_ROWS + 1500;
        let graph = Graph::path(n);
        let h = Array2::from_shape_fn((n, 3), |(i, c)| ((i * 7 + c * 3) % 11) as f64 / 4.0);
        let on = |threads: usize| on_threads(threads, || apply(&graph, 2.0, &h));
        let one = on(1);
        for i in [0, 1, 1023, 1024, n / 2, n - 1] {
            for c in 0..3 {
                let mut want = h[[i, c]];
                for (j, w) in graph.neighbours(i).filter(|&(j, _)| j != i) {
                    want += 2.0 * w * (h[[i, c]] - h[[j, c]]);
                }
                assert_eq!(one[[i, c]].to_bits(), want.to_bits(), "row {i}");
            }
        }
        let two = on(2);
        assert!(one
            .iter()
            .zip(&two)
            .all(|(a, b)| a.to_bits() == b.to_bits()));
    }

    #[test]
    fn the_solve_minimises_the_energy() {
        let graph = Graph::path(6);
        let m = Gsdgnn::new(&config(), 2, 2, &mut ChaCha8Rng::seed_from_u64(0)).unwrap();
        let b = Array2::from_shape_fn((6, 3), |(i, c)| (i * 3 + c) as f64 * 0.1 - 0.7);
        let (h, iters, ok) = m.solve(&graph, &b, &mut Vec::new());
        assert!(ok && iters <= 18, "{iters}");
        // The gradient (I + cL) H − B vanishes, and a step off H raises the energy.
        let gradient = apply(&graph, 2.0, &h) - &b;
        assert!(max_abs(gradient.view()) < 1e-12);
        let energy = |h: &Array2<f64>| {
            let lh = apply(&graph, 2.0, h) - h;
            0.5 * (h - &b).iter().map(|v| v * v).sum::<f64>()
                + 0.5 * h.iter().zip(lh.iter()).map(|(a, l)| a * l).sum::<f64>()
        };
        let mut off = h.clone();
        off[[2, 1]] += 1e-3;
        assert!(energy(&off) > energy(&h));
    }

    #[test]
    fn directed_graphs_are_refused() {
        let directed = Graph::from_weighted_edges(2, &[(0, 1, 1.0)], None).unwrap();
        let sample = hogwild_graph::Sample {
            graph: directed,
            features: Array2::zeros((2, 2)),
            targets: hogwild_graph::Targets::Classes(vec![0, 1]),
        };
        let mut m = Gsdgnn::new(&config(), 2, 2, &mut ChaCha8Rng::seed_from_u64(0)).unwrap();
        let err = m.predict(&Batch::single(&sample)).unwrap_err().to_string();
        assert!(err.contains("directed"), "{err}");
    }
}
