//! The energy GNN (Hogwild paper §5): embeddings minimise a convex energy
//!
//! `E(H) = Σ_i u(m_i, h_i; x_i) + (β/2)‖h_i‖²`,  `m_i = Σ_{j→i} A_ij m(h_j, h_i; x_j, x_i, e_ij)`,
//!
//! where `m` is a PICNN convex in `(h_j, h_i)` and `u` a PICNN convex in `h_i` and convex,
//! non-decreasing in `m_i` (see [`picnn`]); `A_ij ≥ 0`, so `E` is convex and `β`-strongly
//! convex. Forward: minimise `E` (warm-started Newton). Backward: implicit differentiation —
//! solve `∇²E w = ∂L/∂H*` (assembled factor or conjugate gradients) on exact Hessian-vector
//! products ([`Hessian`]: hand-written tangent passes over a linearisation computed once per
//! point, tested against forward-mode duals) and take `∂L/∂θ = −∂²E/∂θ∂H · w`, the mixed
//! term from duals over the hand-written parameter gradient. Readout: linear.
//!
//! That is the edge-wise variant; [`variants`] has the node-wise and attention ones, which
//! change only which inputs the message network reads and how messages are weighted.
//! The asynchronous simulator runs the paper's gradient rule (`gradient_rule`) or, with `async_rule`,
//! one of the [`block_rules`] on each node's own Hessian block.

pub mod block_rules;
mod config;
mod gradient_rule;
mod passes;
use gradient_rule::EnergyRule;
pub use passes::Hessian;
pub mod hessian;
pub mod picnn;
mod row_pass;
pub mod rows;
pub mod variants;

pub use block_rules::AsyncRule;
pub use config::{AsyncCurvature, AsyncStep, EnergyConfig, ForwardSolver, LinearSolver};

use crate::linalg::{add_row, col_sums, dot_all, mm, mm_nt, mm_tn, Scalar};
use crate::loss::task_loss;
use crate::model::{Execution, LocalRule, Model, ModelError, SolverStats, Staleness, WarmStarts};
use crate::params::{ParamId, Params};
use crate::registry::{Dims, ModelSpec};
use hessian::HessianPattern;
use hogwild_graph::out_edges::OutEdges;
use hogwild_graph::par::PARALLEL_MIN_ROWS;
use hogwild_graph::{Batch, Graph};
use ndarray::{Array2, ArrayView2};
use num_dual::Dual64;
use picnn::{Picnn, PicnnContext, PicnnShape};
use rand_chacha::ChaCha8Rng;
use variants::{Attention, Weights, Wiring};

/// An energy GNN with a linear readout.
#[derive(Debug, Clone)]
pub struct EnergyGnn {
    /// The registered name of its variant.
    name: &'static str,
    cfg: EnergyConfig,
    wiring: Wiring,
    params: Params,
    message: Picnn,
    update: Picnn,
    /// The attention vector (a column over `[x_j ‖ x_i ‖ e_ij]`) of attention variants.
    attention: Option<ParamId>,
    w_out: ParamId,
    b_out: ParamId,
    /// The last minimiser of a batch without sample ids (a starting point for the next).
    warm: Option<Array2<f64>>,
    /// The last minimiser of each training graph, by sample id (warm starts across epochs).
    warm_by_id: WarmStarts,
    stats: SolverStats,
    /// The distance bound `‖∇E‖₂ / β` at every iteration of the last forward solve.
    trace: Vec<f64>,
}

/// Feature contexts of both PICNNs for one batch and the current parameters, and the
/// Hessian's pattern when the linear solver assembles it.
pub struct EnergyContext<'a> {
    graph: &'a Graph,
    /// Each edge's message weight (`A_ij` or `α_ij`), in edge order.
    weights: Vec<f64>,
    /// The attention scores, for the parameter gradient of attention variants.
    attention: Option<Attention>,
    message: PicnnContext,
    update: PicnnContext,
    pattern: Option<HessianPattern>,
    /// The graph's out-edges, on graphs large enough for the passes to split
    /// ([`passes`]): the scatter of input gradients then runs as a gather by rows.
    out_edges: Option<OutEdges>,
}

impl EnergyGnn {
    /// A seeded energy GNN (edge-wise messages, `[models.energy]`) for `in_dim` node
    /// features, `edge_dim` edge features and `out_dim` outputs.
    pub fn new(
        cfg: &EnergyConfig,
        in_dim: usize,
        edge_dim: usize,
        out_dim: usize,
        rng: &mut ChaCha8Rng,
    ) -> Result<EnergyGnn, ModelError> {
        let dims = Dims {
            in_dim,
            edge_dim,
            out_dim,
        };
        EnergyGnn::variant(cfg, EnergyConfig::NAME, Wiring::EDGE, dims, rng)
    }

    /// A seeded energy GNN of variant `wiring`, registered as `name` ([`variants`]).
    pub fn variant(
        cfg: &EnergyConfig,
        name: &'static str,
        wiring: Wiring,
        dims: Dims,
        rng: &mut ChaCha8Rng,
    ) -> Result<EnergyGnn, ModelError> {
        cfg.check()?;
        let Dims {
            in_dim,
            edge_dim,
            out_dim,
        } = dims;
        let k = cfg.hidden;
        let mut params = Params::default();
        let message = Picnn::new(
            "m",
            PicnnShape {
                z_in: 0,
                y_dim: wiring.ends() * k,
                x_dim: wiring.feature_width(in_dim, edge_dim),
                widths: cfg.message_widths.clone(),
                activation: cfg.activation,
            },
            &mut params,
            rng,
        );
        let d_m = *cfg.message_widths.last().expect("checked");
        let update = Picnn::new(
            "u",
            PicnnShape {
                z_in: d_m,
                y_dim: k,
                x_dim: in_dim,
                widths: cfg.update_widths.clone(),
                activation: cfg.activation,
            },
            &mut params,
            rng,
        );
        let attention = (wiring.weights == Weights::Attention).then(|| {
            let width = variants::edge_feature_width(in_dim, edge_dim);
            params.glorot("a_att", width, 1, rng)
        });
        let w_out = params.glorot("W_out", k, out_dim, rng);
        let b_out = params.bias("b_out", out_dim);
        Ok(EnergyGnn {
            name,
            cfg: cfg.clone(),
            wiring,
            params,
            message,
            update,
            attention,
            w_out,
            b_out,
            warm: None,
            warm_by_id: WarmStarts::default(),
            stats: SolverStats::default(),
            trace: Vec::new(),
        })
    }

    /// The feature contexts for `batch` under the current parameters.
    pub fn context<'a>(&self, batch: &'a Batch) -> Result<EnergyContext<'a>, ModelError> {
        let g = &batch.graph;
        let x = &batch.features;
        let (p, p_e) = (x.ncols(), g.edge_feature_dim());
        let want = self.message.shape().x_dim;
        if self.wiring.feature_width(p, p_e) != want || self.update.shape().x_dim != p {
            return Err(ModelError::BadInput {
                model: self.name,
                why: format!(
                    "built for {} node features ({want} message features), batch gives {p} node and {p_e} edge features",
                    self.update.shape().x_dim
                ),
            });
        }
        let xm = self.wiring.features(g, x.view());
        let (weights, attention) = match self.attention {
            None => ((0..g.n_edges()).map(|e| g.edge(e).1).collect(), None),
            Some(a) => {
                let (attention, alpha) = Attention::new(g, x.view(), self.params.get(a));
                (alpha, Some(attention))
            }
        };
        Ok(EnergyContext {
            graph: g,
            weights,
            attention,
            message: self.message.context(&self.params, xm),
            update: self.update.context(&self.params, x.clone()),
            pattern: (self.cfg.linear_solver == LinearSolver::Cholesky)
                .then(|| HessianPattern::new(g, self.cfg.hidden)),
            out_edges: (g.n_nodes() >= PARALLEL_MIN_ROWS).then(|| OutEdges::new(g)),
        })
    }

    /// Energy `E(H)`, its gradient `∂E/∂H`, and (if `theta`) its gradient with respect to
    /// every parameter (aligned with [`Model::params`]; readout entries stay zero).
    pub fn energy_grads<T: Scalar>(
        &self,
        ctx: &EnergyContext<'_>,
        h: ArrayView2<'_, T>,
        theta: bool,
    ) -> (T, Array2<T>, Option<Vec<Array2<T>>>) {
        let point = self.evaluate(ctx, h, theta);
        (point.energy, point.grad, point.theta)
    }

    /// The energy alone.
    pub fn energy(&self, ctx: &EnergyContext<'_>, h: ArrayView2<'_, f64>) -> f64 {
        // The backward pass is cheap next to the code it would duplicate.
        self.energy_grads(ctx, h, false).0
    }

    /// The Hessian `∇²E(H)` as an operator: the second-order quantities of the forward and
    /// backward passes at `H`, computed once, so each product is a linear pass in `f64`.
    pub fn hessian<'s>(
        &'s self,
        ctx: &'s EnergyContext<'_>,
        h: ArrayView2<'_, f64>,
    ) -> Hessian<'s> {
        self.hessian_at(ctx, &self.evaluate(ctx, h, false))
    }

    /// `∂/∂θ ⟨∇_H E(H), W⟩`: the mixed second derivative applied to `W`.
    pub fn mixed(
        &self,
        ctx: &EnergyContext<'_>,
        h: ArrayView2<'_, f64>,
        w: ArrayView2<'_, f64>,
    ) -> Vec<Array2<f64>> {
        let hd = Array2::from_shape_fn(h.raw_dim(), |idx| Dual64::new(h[idx], w[idx]));
        let grads = self
            .energy_grads(ctx, hd.view(), true)
            .2
            .expect("asked for θ");
        grads.into_iter().map(|g| g.mapv(|d| d.eps)).collect()
    }

    /// Minimises `E` from `h0`; returns the minimiser, the iterations and whether
    /// the distance bound `‖∇E‖₂ / β < tol` was reached, and writes every iteration's bound
    /// to `trace` (cleared first).
    pub fn minimise(
        &self,
        ctx: &EnergyContext<'_>,
        h0: Array2<f64>,
        trace: &mut Vec<f64>,
    ) -> (Array2<f64>, usize, bool) {
        let tol = self.cfg.tol;
        trace.clear();
        match self.cfg.solver {
            ForwardSolver::Gd => {
                let mut h = h0;
                for it in 0..self.cfg.max_iter {
                    let (_, g, _) = self.energy_grads(ctx, h.view(), false);
                    let distance = self.distance_bound(g.view());
                    trace.push(distance);
                    if distance < tol {
                        return (h, it, true);
                    }
                    h.scaled_add(-self.cfg.step, &g);
                }
                (h, self.cfg.max_iter, false)
            }
            ForwardSolver::Newton => {
                let mut h = h0;
                let mut point = self.evaluate(ctx, h.view(), false);
                for it in 0..self.cfg.max_iter {
                    let g = &point.grad;
                    let gnorm = dot_all(g.view(), g.view()).sqrt();
                    let distance = gnorm / self.cfg.beta;
                    trace.push(distance);
                    if distance < tol {
                        return (h, it, true);
                    }
                    let hess = self.hessian_at(ctx, &point);
                    let d = match &ctx.pattern {
                        Some(pattern) => match pattern.factor(|v| hess.apply(v)) {
                            Ok(chol) => chol.solve((-g).view()),
                            Err(_) => return (h, it, false),
                        },
                        // Inexact Newton: ∇²E d = −∇E to a relative accuracy that tightens
                        // as the gradient shrinks (Eisenstat & Walker's forcing term √‖g‖),
                        // at most `newton_forcing_max`.
                        None => {
                            let forcing = gnorm.sqrt().min(self.cfg.newton_forcing_max);
                            self.cg(&hess, &(-g), forcing).0
                        }
                    };
                    let slope = dot_all(g.view(), d.view());
                    let e = point.energy;
                    let mut t = 1.0;
                    loop {
                        let hn = &h + &(&d * t);
                        let trial = self.evaluate(ctx, hn.view(), false);
                        // Armijo on E, or a smaller gradient: near the minimiser E no
                        // longer resolves progress in floating point, the gradient does.
                        let gn = &trial.grad;
                        let gn_norm = dot_all(gn.view(), gn.view()).sqrt();
                        if trial.energy <= e + 1e-4 * t * slope || gn_norm < gnorm || t < 1e-10 {
                            (h, point) = (hn, trial);
                            break;
                        }
                        t *= 0.5;
                    }
                }
                (h, self.cfg.max_iter, false)
            }
        }
    }

    /// `‖∇E‖₂ / β` for the gradient `grad` at H: a bound on `‖H − H*‖₂` (`∇²E ⪰ βI`).
    pub fn distance_bound(&self, grad: ArrayView2<'_, f64>) -> f64 {
        dot_all(grad, grad).sqrt() / self.cfg.beta
    }

    /// Solves `∇²E(H) w = b` with the linear solver (conjugate gradients to `cg_tol`, or the
    /// assembled factor); returns `(w, Hessian-vector products, converged)`.
    pub fn adjoint(
        &self,
        ctx: &EnergyContext<'_>,
        h: ArrayView2<'_, f64>,
        b: &Array2<f64>,
    ) -> (Array2<f64>, usize, bool) {
        let hess = self.hessian(ctx, h);
        match &ctx.pattern {
            Some(pattern) => match pattern.factor(|v| hess.apply(v)) {
                Ok(chol) => (chol.solve(b.view()), pattern.products(), true),
                Err(_) => (Array2::zeros(b.raw_dim()), pattern.products(), false),
            },
            None => self.cg(&hess, b, self.cfg.cg_tol),
        }
    }

    /// Conjugate gradients from zero for `∇²E(H) w = b`, stopping at `‖r‖₂ ≤ rel · ‖b‖₂`.
    fn cg(&self, hess: &Hessian<'_>, b: &Array2<f64>, rel: f64) -> (Array2<f64>, usize, bool) {
        let bnorm = dot_all(b.view(), b.view()).sqrt();
        let mut w = Array2::zeros(b.raw_dim());
        if bnorm == 0.0 {
            return (w, 0, true);
        }
        let mut r = b.clone();
        let mut p = r.clone();
        let mut rr = dot_all(r.view(), r.view());
        for it in 0..self.cfg.cg_max_iter {
            if rr.sqrt() <= rel * bnorm {
                return (w, it, true);
            }
            let hp = hess.apply(p.view());
            let alpha = rr / dot_all(p.view(), hp.view());
            w.scaled_add(alpha, &p);
            r.scaled_add(-alpha, &hp);
            let rr_new = dot_all(r.view(), r.view());
            p = &r + &(&p * (rr_new / rr));
            rr = rr_new;
        }
        let ok = rr.sqrt() <= rel * bnorm;
        (w, self.cfg.cg_max_iter, ok)
    }

    /// Minimises the batch's energy from the best start at hand: each graph's own last
    /// minimiser when the batch names its samples (training), else the last batch's
    /// minimiser when the shapes match, else zero. `E` is strongly convex: the start changes
    /// only the cost, not the minimiser (to `tol`).
    fn solve_batch(&mut self, ctx: &EnergyContext<'_>, batch: &Batch) -> Array2<f64> {
        let (n, k) = (batch.n_nodes(), self.cfg.hidden);
        let start = self
            .warm_by_id
            .start(batch, k)
            .unwrap_or_else(|| match &self.warm {
                Some(w) if w.dim() == (n, k) => w.clone(),
                _ => Array2::zeros((n, k)),
            });
        let mut trace = std::mem::take(&mut self.trace);
        let (h, iters, ok) = self.minimise(ctx, start, &mut trace);
        self.trace = trace;
        self.stats.record_forward(iters, ok);
        if batch.ids.is_some() {
            self.warm_by_id.store(batch, &h);
        } else {
            self.warm = Some(h.clone());
        }
        h
    }

    fn readout(&self, h: ArrayView2<'_, f64>) -> Array2<f64> {
        let mut out = mm(h, self.params.get(self.w_out).view());
        add_row(&mut out, self.params.get(self.b_out).view());
        out
    }

    /// Largest eigenvalue of `∇²E(H)` by power iteration from a fixed start vector.
    pub fn hessian_norm(&self, ctx: &EnergyContext<'_>, h: ArrayView2<'_, f64>) -> f64 {
        let mut v = Array2::from_shape_fn(h.raw_dim(), |(i, c)| {
            1.0 + ((i * 7 + c * 13) % 11) as f64 / 11.0
        });
        let hess = self.hessian(ctx, h);
        let mut lambda = 0.0;
        for _ in 0..50 {
            let norm = dot_all(v.view(), v.view()).sqrt();
            v /= norm;
            let hv = hess.apply(v.view());
            lambda = dot_all(v.view(), hv.view());
            v = hv;
        }
        lambda
    }
}

impl Model for EnergyGnn {
    fn execution(&self) -> Execution {
        Execution::Implicit
    }
    fn name(&self) -> &'static str {
        self.name
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
    fn project(&mut self) {
        self.message.project(&mut self.params);
        self.update.project(&mut self.params);
    }

    fn predict(&mut self, batch: &Batch) -> Result<Array2<f64>, ModelError> {
        let ctx = self.context(batch)?;
        let h = self.solve_batch(&ctx, batch);
        Ok(self.readout(h.view()))
    }

    fn loss_and_grads(&mut self, batch: &Batch) -> Result<(f64, Vec<Array2<f64>>), ModelError> {
        let ctx = self.context(batch)?;
        let h = self.solve_batch(&ctx, batch);
        let out = self.readout(h.view());
        let (loss, d_out) = task_loss(&out, batch);
        let dh = mm_nt(d_out.view(), self.params.get(self.w_out).view());
        let (w, iters, ok) = self.adjoint(&ctx, h.view(), &dh);
        self.stats.record_backward(iters, ok);
        let mut grads: Vec<Array2<f64>> = self
            .mixed(&ctx, h.view(), w.view())
            .into_iter()
            .map(|g| -g)
            .collect();
        grads[self.w_out] = mm_tn(h.view(), d_out.view());
        grads[self.b_out] = col_sums(d_out.view());
        Ok((loss, grads))
    }

    fn local_rule<'a>(
        &'a self,
        batch: &'a Batch,
        staleness: Staleness,
    ) -> Result<Box<dyn LocalRule + 'a>, ModelError> {
        let g = &batch.graph;
        let mut reverse = vec![0; g.n_edges()];
        for i in 0..g.n_nodes() {
            for e in g.in_edges(i) {
                let j = g.edge(e).0;
                let back = g.find_edge(j, i).ok_or_else(|| ModelError::BadInput {
                    model: self.name,
                    why: format!("asynchronous execution needs symmetric edges: {j} -> {i} has no {i} -> {j}"),
                })?;
                reverse[e] = back - g.in_edges(j).start;
            }
        }
        let ctx = self.context(batch)?;
        if self.cfg.async_rule != AsyncRule::Gradient {
            // The block rules need no observer's curvature: each node measures its own.
            let damping = self.cfg.async_damping * self.cfg.async_step.factor(staleness);
            return Ok(Box::new(block_rules::BlockRule::new(
                self, ctx, reverse, damping,
            )));
        }
        let (h, _, _) = self.minimise(
            &ctx,
            Array2::zeros((batch.n_nodes(), self.cfg.hidden)),
            &mut Vec::new(),
        );
        // Curvature along the way from H = 0 can exceed curvature at H*: take the larger.
        let zero = Array2::zeros(h.raw_dim());
        let scale = self.cfg.async_step_scale * self.cfg.async_step.factor(staleness);
        let step: Vec<f64> = match self.cfg.async_curvature {
            AsyncCurvature::Global => {
                let lambda = self
                    .hessian_norm(&ctx, h.view())
                    .max(self.hessian_norm(&ctx, zero.view()));
                vec![scale / lambda; h.len()]
            }
            AsyncCurvature::Local => {
                let pattern = HessianPattern::new(g, self.cfg.hidden);
                let row_sums = |at: &Array2<f64>| {
                    let hess = self.hessian(&ctx, at.view());
                    pattern.abs_row_sums(|v| hess.apply(v))
                };
                let (star, origin) = (row_sums(&h), row_sums(&zero));
                star.iter()
                    .zip(&origin)
                    .map(|(&a, &b)| scale / a.max(b))
                    .collect()
            }
        };
        Ok(Box::new(EnergyRule {
            model: self,
            pass: row_pass::RowPass::new(self, g),
            ctx,
            reverse,
            step,
        }))
    }
}
