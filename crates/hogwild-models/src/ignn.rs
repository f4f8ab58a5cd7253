//! IGNN (Gu et al. 2020): one implicit layer `H = ReLU(Â H Wᵀ + Â X Ωᵀ)` (rows = nodes; the
//! reference writes `X = φ(W X Â + Ω U Â)` with columns = nodes), solved by Picard iteration.
//!
//! Well-posedness: before every solve `W` is projected so each row has ℓ1 norm at most
//! `κ / ρ(|Â|)` (the reference code's projection), which makes the map a contraction in a
//! weighted max-norm and the node-local iteration convergent under partial asynchrony.
//!
//! Stopping: "converged" bounds the distance to the fixed point, not the last step. With
//! `v` the Perron vector of `|Â|` ([`Graph::gcn_perron_vector`], largest entry 1) the map
//! contracts by `q = ‖W‖_∞ · max_i (|Â| v)_i / v_i` (≈ κ) in `‖X‖_v = max |X_ic| / v_i`,
//! so a Picard iterate is within `q / (1 − q) · ‖ΔH‖_v` of `H*` and any state within
//! `‖f(H) − H‖_v / (1 − q)` (the asynchronous observer's residual); `‖·‖_∞ ≤ ‖·‖_v`. The
//! forward solve stops when that bound is below `tol`. The adjoint map contracts by the same
//! `q` in the dual norm `Σ v_i |G_ic|`; it stops when its error bound there is below `tol`
//! relative to the adjoint's size. A change of at most `tol` in every entry is what the
//! harness calls converged; a Picard step moves information one hop, so on a long chain
//! "the last step was below tol" alone stops before the far end has heard of the signal.
//! Backward: the adjoint fixed point `G = D ∘ (∂L/∂H + Âᵀ G W)`, `D = 1[Z* > 0]`, then
//! `∂L/∂W = Gᵀ (Â H*)` (correct for any `Â`; the reference uses `G Â Xᵀ`, right only for
//! symmetric `Â`) and `∂L/∂Ω = (Âᵀ G)ᵀ X`.
//! Head (reference chains head, without dropout): optional per-node L2 normalisation, then
//! a linear readout without bias.

use crate::linalg::{add_row, col_sums, mm, mm_nt, mm_tn};
use crate::loss::task_loss;
use crate::model::{
    states_matrix, Execution, LocalRule, Model, ModelError, ProblemSize, SolverStats, Staleness,
};
use crate::params::{ParamId, Params, TrainConfig};
use crate::registry::{Dims, ModelSpec};
use hogwild_graph::par::{max_over_rows, nan_max};
use hogwild_graph::{Batch, Graph};
use hogwild_settings::{at_least, open_unit, positive, Bytes, InvalidSetting};
use ndarray::{Array2, ArrayView2};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// IGNN settings (`[models.ignn]`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct IgnnConfig {
    /// Embedding width.
    pub hidden: usize,
    /// Contraction factor κ in `‖W‖_∞ ≤ κ / ρ(|Â|)`; must lie in (0, 1).
    pub kappa: f64,
    /// The forward solve stops when its bound on `max |H − H*|` is below this (the
    /// adjoint: its relative error bound); see the module docs.
    pub tol: f64,
    /// Iteration cap of the forward and adjoint solves.
    pub max_iter: usize,
    /// L2-normalise each node's embedding before the readout.
    pub normalise: bool,
    /// Give the linear readout a bias (the reference's one-layer heads have none).
    pub readout_bias: bool,
    /// Optimiser settings.
    pub train: TrainConfig,
}

impl ModelSpec for IgnnConfig {
    const NAME: &'static str = "ignn";
    const DISPLAY: &'static str = "IGNN";
    const COST: f64 = 10.0;

    /// Checks the settings; keys are relative to `[models.ignn]`.
    fn check(&self) -> Result<(), InvalidSetting> {
        at_least("hidden", self.hidden as u64, 1)?;
        open_unit("kappa", self.kappa, "the map must be a contraction")?;
        positive("tol", self.tol)?;
        at_least("max_iter", self.max_iter as u64, 1)?;
        self.train.check().map_err(|e| e.under("train"))
    }

    /// The largest allocations of training on (or evaluating) a batch of `size`.
    fn memory(&self, size: &ProblemSize) -> Bytes {
        let h = self.hidden as u64;
        let params = h
            .saturating_mul(h)
            .saturating_add(h.saturating_mul(size.in_dim))
            .saturating_add(h.saturating_mul(size.out_dim));
        // Forward and adjoint iterates, Omega X and the backward temporaries.
        let states = Bytes::f64s(size.nodes.saturating_mul(h)).times(8);
        Bytes::f64s(params)
            .plus(self.train.optimiser_memory(params))
            .plus(states)
    }

    /// The longest state of a node in the simulator (its embedding).
    fn state_width(&self, _in_dim: u64, _max_degree: u64) -> u64 {
        self.hidden as u64
    }

    fn train(&self) -> &TrainConfig {
        &self.train
    }

    fn build(&self, dims: Dims, rng: &mut ChaCha8Rng) -> Result<Box<dyn Model>, ModelError> {
        Ok(Box::new(Ignn::new(self, dims.in_dim, dims.out_dim, rng)?))
    }
}

/// An IGNN with a linear readout.
#[derive(Debug, Clone)]
pub struct Ignn {
    cfg: IgnnConfig,
    params: Params,
    w: ParamId,
    omega: ParamId,
    w_out: ParamId,
    b_out: Option<ParamId>,
    stats: SolverStats,
    /// The distance bound of every iteration of the last forward solve.
    trace: Vec<f64>,
}

/// Projects each row of `w` onto the ℓ1 ball of radius `radius` (Duchi et al. 2008).
pub fn project_rows_l1(w: &mut Array2<f64>, radius: f64) {
    for mut row in w.rows_mut() {
        let l1: f64 = row.iter().map(|x| x.abs()).sum();
        if l1 <= radius {
            continue;
        }
        let mut u: Vec<f64> = row.iter().map(|x| x.abs()).collect();
        u.sort_by(|a, b| b.total_cmp(a));
        let (mut cum, mut theta) = (0.0, 0.0);
        for (j, &uj) in u.iter().enumerate() {
            cum += uj;
            let t = (cum - radius) / (j + 1) as f64;
            if uj - t > 0.0 {
                theta = t;
            }
        }
        row.mapv_inplace(|x| x.signum() * (x.abs() - theta).max(0.0));
    }
}

/// The contraction certificate of the IGNN map (and of its adjoint): the weights `v` of
/// the norm it contracts in, and its factor `q` (module docs).
struct Contraction {
    weights: Vec<f64>,
    factor: f64,
}

impl Contraction {
    /// The certificate for `H ↦ ReLU(Â H Wᵀ + B)`, `Â` the GCN matrix of `graph`.
    fn new(graph: &Graph, a: &Graph, w: ArrayView2<'_, f64>) -> Contraction {
        let weights = graph.gcn_perron_vector();
        let w_norm = w
            .rows()
            .into_iter()
            .map(|r| r.iter().map(|x| x.abs()).sum::<f64>())
            .fold(0.0, f64::max);
        let factor = w_norm * a.expansion_factor(&weights);
        Contraction { weights, factor }
    }

    /// `max_ic |a_ic − b_ic| / v_i`: the norm of `a − b`, without forming it; infinite
    /// if an entry is NaN (a state with a NaN is nowhere near the fixed point).
    fn norm(&self, a: ArrayView2<'_, f64>, b: ArrayView2<'_, f64>) -> f64 {
        let largest = max_over_rows(a.nrows(), |i| {
            let row = a
                .row(i)
                .into_iter()
                .zip(b.row(i))
                .map(|(x, y)| (x - y).abs());
            row.fold(0.0, nan_max) / self.weights[i]
        });
        if largest.is_nan() {
            f64::INFINITY
        } else {
            largest
        }
    }

    /// `Σ_ic v_i |a_ic − b_ic|` (or of `a` alone): the dual norm, in which the adjoint
    /// contracts.
    fn dual_norm(&self, a: ArrayView2<'_, f64>, b: Option<ArrayView2<'_, f64>>) -> f64 {
        a.rows()
            .into_iter()
            .enumerate()
            .zip(&self.weights)
            .map(|((i, ra), v)| {
                let row: f64 = match &b {
                    Some(b) => ra.iter().zip(b.row(i)).map(|(x, y)| (x - y).abs()).sum(),
                    None => ra.iter().map(|x| x.abs()).sum(),
                };
                v * row
            })
            .sum()
    }

    /// The bound on the distance to the fixed point of a state whose image lies `residual`
    /// away (`residual / (1 − q)`), or, with `after_step`, of an iterate that a step of
    /// that size produced (`q · residual / (1 − q)`). Infinite without a contraction (then
    /// only an exact fixed point is converged).
    fn distance(&self, residual: f64, after_step: bool) -> f64 {
        if residual == 0.0 {
            return 0.0;
        }
        if self.factor >= 1.0 {
            return f64::INFINITY;
        }
        let gain = if after_step { self.factor } else { 1.0 };
        gain * residual / (1.0 - self.factor)
    }
}

/// Picard iteration `x ← f(x)` from `x0` until `error(x_new, x) < tol` or
/// `max_iter` iterations; `f` also returns a by-product of the step (kept from the last
/// one). Every iteration's error bound is written to `trace` (cleared first). Returns
/// `(x, by-product, iterations, converged)`.
fn picard<S>(
    x0: Array2<f64>,
    tol: f64,
    max_iter: usize,
    trace: &mut Vec<f64>,
    error: impl Fn(ArrayView2<'_, f64>, ArrayView2<'_, f64>) -> f64,
    mut f: impl FnMut(&Array2<f64>) -> (Array2<f64>, S),
) -> (Array2<f64>, S, usize, bool) {
    let mut x = x0;
    let mut iters = 0;
    trace.clear();
    loop {
        let (next, extra) = f(&x);
        let bound = error(next.view(), x.view());
        trace.push(bound);
        x = next;
        iters += 1;
        if bound < tol || iters >= max_iter {
            return (x, extra, iters, bound < tol);
        }
    }
}

fn normalise_rows(h: &Array2<f64>) -> (Array2<f64>, Vec<f64>) {
    let norms: Vec<f64> = h
        .rows()
        .into_iter()
        .map(|r| r.dot(&r).sqrt().max(1e-12))
        .collect();
    let mut out = h.clone();
    for (mut r, &n) in out.rows_mut().into_iter().zip(&norms) {
        r.mapv_inplace(|x| x / n);
    }
    (out, norms)
}

impl Ignn {
    /// A seeded IGNN for `in_dim` features and `out_dim` outputs.
    pub fn new(
        cfg: &IgnnConfig,
        in_dim: usize,
        out_dim: usize,
        rng: &mut ChaCha8Rng,
    ) -> Result<Ignn, ModelError> {
        cfg.check()?;
        let mut params = Params::default();
        let w = params.glorot("W", cfg.hidden, cfg.hidden, rng);
        let omega = params.glorot("Omega", cfg.hidden, in_dim, rng);
        let w_out = params.glorot("W_out", cfg.hidden, out_dim, rng);
        let b_out = cfg.readout_bias.then(|| params.bias("b_out", out_dim));
        Ok(Ignn {
            cfg: cfg.clone(),
            params,
            w,
            omega,
            w_out,
            b_out,
            stats: SolverStats::default(),
            trace: Vec::new(),
        })
    }

    fn projected_w(&self, batch: &Batch) -> Array2<f64> {
        let mut w = self.params.get(self.w).clone();
        project_rows_l1(&mut w, self.cfg.kappa / batch.gcn_spectral_radius());
        w
    }

    fn injection(&self, batch: &Batch) -> Array2<f64> {
        let xo = mm_nt(batch.features.view(), self.params.get(self.omega).view());
        batch.gcn_adjacency().spmm(xo.view())
    }

    /// Solves `H = ReLU(Â H Wᵀ + B)` from zero to `max |H − H*| < tol` (certified by
    /// `contraction`); returns `(H*, Z*)`.
    fn solve(
        &mut self,
        a: &Graph,
        contraction: &Contraction,
        w: ArrayView2<'_, f64>,
        b: &Array2<f64>,
    ) -> (Array2<f64>, Array2<f64>) {
        let (tol, max_iter) = (self.cfg.tol, self.cfg.max_iter);
        let mut trace = std::mem::take(&mut self.trace);
        let (h, z, iters, ok) = picard(
            Array2::zeros(b.raw_dim()),
            tol,
            max_iter,
            &mut trace,
            |next, h| contraction.distance(contraction.norm(next, h), true),
            |h| {
                let z = mm_nt(a.spmm(h.view()).view(), w) + b;
                (z.mapv(|v| v.max(0.0)), z)
            },
        );
        self.stats.record_forward(iters, ok);
        self.trace = trace;
        (h, z)
    }

    fn head(&self, h: &Array2<f64>) -> Array2<f64> {
        let hn = if self.cfg.normalise {
            normalise_rows(h).0
        } else {
            h.clone()
        };
        self.readout(&hn)
    }

    /// `hn W_out (+ b_out)`.
    fn readout(&self, hn: &Array2<f64>) -> Array2<f64> {
        let mut out = mm(hn.view(), self.params.get(self.w_out).view());
        if let Some(b) = self.b_out {
            add_row(&mut out, self.params.get(b).view());
        }
        out
    }
}

impl Model for Ignn {
    fn execution(&self) -> Execution {
        Execution::Implicit
    }
    fn name(&self) -> &'static str {
        "ignn"
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

    fn predict(&mut self, batch: &Batch) -> Result<Array2<f64>, ModelError> {
        let w = self.projected_w(batch);
        let b = self.injection(batch);
        let a = batch.gcn_adjacency();
        let contraction = Contraction::new(&batch.graph, a, w.view());
        let (h, _) = self.solve(a, &contraction, w.view(), &b);
        Ok(self.head(&h))
    }

    fn loss_and_grads(&mut self, batch: &Batch) -> Result<(f64, Vec<Array2<f64>>), ModelError> {
        // The reference projects W in place before every solve; the gradient is taken at
        // the projected W.
        let w = self.projected_w(batch);
        *self.params.get_mut(self.w) = w.clone();
        let a = batch.gcn_adjacency();
        let at = batch.gcn_adjacency_transpose();
        let b = self.injection(batch);
        let contraction = Contraction::new(&batch.graph, a, w.view());
        let (h, z) = self.solve(a, &contraction, w.view(), &b);
        let (hn, norms) = if self.cfg.normalise {
            normalise_rows(&h)
        } else {
            (h.clone(), vec![1.0; h.nrows()])
        };
        let out = self.readout(&hn);
        let (loss, d_out) = task_loss(&out, batch);
        let mut grads = self.params.zeros_like();
        grads[self.w_out] = mm_tn(hn.view(), d_out.view());
        if let Some(b) = self.b_out {
            grads[b] = col_sums(d_out.view());
        }
        let mut dh = mm_nt(d_out.view(), self.params.get(self.w_out).view());
        if self.cfg.normalise {
            for ((mut d, y), &n) in dh.rows_mut().into_iter().zip(hn.rows()).zip(&norms) {
                let proj = d.dot(&y);
                d.zip_mut_with(&y, |di, &yi| *di = (*di - yi * proj) / n);
            }
        }
        // Adjoint fixed point G = D ∘ (dH + Âᵀ G W).
        let mask = z.mapv(|v| if v > 0.0 { 1.0 } else { 0.0 });
        let (tol, max_iter) = (self.cfg.tol, self.cfg.max_iter);
        let (g, (), iters, ok) = picard(
            &dh * &mask,
            tol,
            max_iter,
            &mut Vec::new(),
            |next, g| {
                let error = contraction.distance(contraction.dual_norm(next, Some(g)), true);
                if error == 0.0 {
                    0.0
                } else {
                    error / contraction.dual_norm(next, None)
                }
            },
            |g| ((mm(at.spmm(g.view()).view(), w.view()) + &dh) * &mask, ()),
        );
        self.stats.record_backward(iters, ok);
        // Z = (Â H) Wᵀ + B  ⇒  ∂L/∂W = Gᵀ (Â H);  B = Â X Ωᵀ  ⇒  ∂L/∂Ω = (Âᵀ G)ᵀ X.
        grads[self.w] = mm_tn(g.view(), a.spmm(h.view()).view());
        grads[self.omega] = mm_tn(at.spmm(g.view()).view(), batch.features.view());
        Ok((loss, grads))
    }

    fn local_rule<'a>(
        &'a self,
        batch: &'a Batch,
        _staleness: Staleness,
    ) -> Result<Box<dyn LocalRule + 'a>, ModelError> {
        let (graph, w) = (batch.gcn_adjacency(), self.projected_w(batch));
        Ok(Box::new(IgnnRule {
            ignn: self,
            graph,
            contraction: Contraction::new(&batch.graph, graph, w.view()),
            w,
            b: self.injection(batch),
        }))
    }
}

struct IgnnRule<'a> {
    ignn: &'a Ignn,
    graph: &'a Graph,
    contraction: Contraction,
    w: Array2<f64>,
    b: Array2<f64>,
}

impl LocalRule for IgnnRule<'_> {
    fn graph(&self) -> &Graph {
        self.graph
    }
    fn execution(&self) -> Execution {
        self.ignn.execution()
    }
    fn state_len(&self, _i: usize) -> usize {
        self.ignn.cfg.hidden
    }
    fn init(&self, _i: usize, out: &mut [f64]) {
        out.fill(0.0);
    }
    fn update(&self, i: usize, _count: usize, _own: &[f64], views: &[&[f64]], out: &mut [f64]) {
        let k = self.ignn.cfg.hidden;
        let mut agg = vec![0.0; k];
        for (e, view) in self.graph.in_edges(i).zip(views) {
            let weight = self.graph.edge(e).1;
            agg.iter_mut()
                .zip(view.iter())
                .for_each(|(a, v)| *a += weight * v);
        }
        for (c, o) in out.iter_mut().enumerate() {
            let mut z = 0.0;
            for (p, a) in agg.iter().enumerate() {
                z += a * self.w[[c, p]];
            }
            *o = (z + self.b[[i, c]]).max(0.0);
        }
    }
    fn residual(&self, states: &[Vec<f64>]) -> f64 {
        self.residual_with_frozen(states, &[])
    }
    /// The map restricted to the live nodes contracts by at most the same `q` in the same
    /// weighted norm (its matrix is a principal submatrix of `|Â|`, so `|Â_FF| v_F ≤
    /// (|Â| v)_F`), so the frozen rows are left out of the step and the bound still holds,
    /// for the fixed point with the frozen states held.
    fn residual_with_frozen(&self, states: &[Vec<f64>], frozen: &[bool]) -> f64 {
        let h = states_matrix(states, self.ignn.cfg.hidden);
        let mut next = mm_nt(self.graph.spmm(h.view()).view(), self.w.view());
        next += &self.b;
        next.mapv_inplace(|v| v.max(0.0));
        for (i, _) in frozen.iter().enumerate().filter(|(_, &f)| f) {
            next.row_mut(i).assign(&h.row(i));
        }
        // A bound on max |H − H*| (module docs), not the size of one step.
        let residual = self.contraction.norm(next.view(), h.view());
        self.contraction.distance(residual, false)
    }
    fn readout(&self, states: &[Vec<f64>]) -> Array2<f64> {
        self.ignn.head(&states_matrix(states, self.ignn.cfg.hidden))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn l1_projection_hits_the_radius_and_keeps_short_rows() {
        let mut w = array![[3.0, -1.0, 0.5], [0.1, 0.2, -0.1]];
        project_rows_l1(&mut w, 1.0);
        assert!((w.row(0).iter().map(|x| x.abs()).sum::<f64>() - 1.0).abs() < 1e-12);
        assert_eq!(w.row(0).to_vec(), vec![1.0, 0.0, 0.0]);
        assert_eq!(w.row(1).to_vec(), vec![0.1, 0.2, -0.1]);
    }
}
