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
//! The asynchronous simulator runs the paper's gradient rule (below) or, with `async_rule`,
//! one of the [`block_rules`] on each node's own Hessian block.

pub mod block_rules;
pub mod hessian;
pub mod picnn;
pub mod rows;
pub mod variants;

pub use block_rules::AsyncRule;

use crate::linalg::{add_row, col_sums, dot_all, lift, mm, mm_nt, mm_tn, Scalar};
use crate::loss::task_loss;
use crate::model::{
    Execution, LocalRule, Model, ModelError, ProblemSize, SolverStats, Staleness, WarmStarts,
};
use crate::params::{ParamId, Params, TrainConfig};
use crate::registry::{Dims, ModelSpec, ScalingVariant};
use hessian::HessianPattern;
use hogwild_graph::{Batch, Graph};
use hogwild_settings::{at_least, open_unit, positive, Bytes, InvalidSetting};
use ndarray::{Array2, ArrayView2};
use num_dual::Dual64;
use picnn::{Picnn, PicnnContext, PicnnLinearisation, PicnnShape, PicnnTape};
use rand_chacha::ChaCha8Rng;
use rows::{RowNet, RowTape};
use serde::{Deserialize, Serialize};
use std::sync::Mutex;
use variants::{Attention, Weights, Wiring};

/// How the forward minimisation is solved during training and synchronous evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ForwardSolver {
    /// Gradient descent with the fixed step `step` (the paper's method).
    Gd,
    /// Newton's method with a backtracking line search, each step solved by the
    /// `linear_solver`: the same minimiser, in far fewer gradient evaluations.
    Newton,
}

/// How the linear systems `∇²E x = b` of Newton steps and of the adjoint are solved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LinearSolver {
    /// Assemble `∇²E` from a few Hessian-vector products (graph colouring) and factor it
    /// ([`hessian`]): exact, and its cost does not grow with the condition number. Suits
    /// sparse graphs such as chains.
    Cholesky,
    /// Conjugate gradients on Hessian-vector products to `cg_tol` (Newton steps: to a
    /// forcing term min(`newton_forcing_max`, √‖∇E‖)). Suits well-conditioned energies on
    /// dense graphs, where the colouring needs nearly one colour per node.
    Cg,
}

/// How the asynchronous gradient rule's step accounts for stale reads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AsyncStep {
    /// `async_step_scale / λ_max` whatever the delays: the paper's fixed step.
    #[default]
    Fixed,
    /// `async_step_scale · min(1, 2 sin(π / (4D + 2))) / λ_max` when a read misses at most
    /// `D` of a neighbour's updates ([`Staleness`]): `2 sin(π / (4D + 2)) / λ_max` is the
    /// stability limit of gradient descent whose every read is `D` steps old (Levin & May
    /// 1976). Never above the fixed step: the same at `D ≤ 1` (at `D = 0` the limit is
    /// `2 / λ_max`, where gradient descent no longer converges), shrinking like `π / (2D)`
    /// of it for large `D`.
    DelayAware,
}

impl AsyncStep {
    fn is_fixed(&self) -> bool {
        *self == AsyncStep::Fixed
    }

    /// The factor on `async_step_scale / λ_max` for reads up to `staleness` old.
    ///
    /// ```
    /// use hogwild_models::energy::AsyncStep;
    /// use hogwild_models::Staleness;
    /// let at = |missed_updates| AsyncStep::DelayAware.factor(Staleness { missed_updates });
    /// assert!(at(0) == 1.0 && (at(1) - 1.0).abs() < 1e-12);
    /// assert!(at(100) < 0.016 && AsyncStep::Fixed.factor(Staleness { missed_updates: 100 }) == 1.0);
    /// ```
    pub fn factor(&self, staleness: Staleness) -> f64 {
        match self {
            AsyncStep::Fixed => 1.0,
            AsyncStep::DelayAware => {
                let d = staleness.missed_updates as f64;
                (2.0 * (std::f64::consts::PI / (4.0 * d + 2.0)).sin()).min(1.0)
            }
        }
    }
}

/// Which curvature the asynchronous step divides by.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AsyncCurvature {
    /// One step for every node: `λ_max(∇²E)`, the paper's.
    #[default]
    Global,
    /// A step per node and dimension `r`: `R_r = Σ_c |∇²E_rc|`, the absolute sum of `r`'s
    /// row of the Hessian. With `D = diag(R)`, the scaled Hessian `D^{-1/2} ∇²E D^{-1/2}`
    /// has its eigenvalues in (0, 1] (Gershgorin), so in the variables `D^{1/2} H` the rule
    /// is the global one with `λ_max = 1`, and `async_step`'s delay factor applies as it
    /// is. A row's sum involves only the terms of the node and its neighbours (within two
    /// hops), so a node could measure it from what it receives; a direction only `β` holds
    /// (which the global step crosses at `β / λ_max` per update) gets a step near `1 / β`.
    Local,
}

impl AsyncCurvature {
    fn is_global(&self) -> bool {
        *self == AsyncCurvature::Global
    }
}

/// Energy GNN settings (`[models.energy]`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EnergyConfig {
    /// Embedding width k.
    pub hidden: usize,
    /// Layer widths of the message PICNN `m`; the last is the message width.
    pub message_widths: Vec<usize>,
    /// Layer widths of the update PICNN `u`; the last must be 1.
    pub update_widths: Vec<usize>,
    /// Hidden-layer activation of both PICNNs.
    pub activation: picnn::Activation,
    /// Strong-convexity weight β > 0.
    pub beta: f64,
    /// Forward solver.
    pub solver: ForwardSolver,
    /// Step of the `gd` solver.
    pub step: f64,
    /// The forward solve stops when `‖∇E‖₂ / β` is below this: `E` is β-strongly convex, so
    /// that bounds `‖H − H*‖₂ ≥ max |H − H*|` (the asynchronous observer measures the same).
    pub tol: f64,
    /// Iteration cap of the forward solve (Newton steps for `newton`).
    pub max_iter: usize,
    /// Linear solver of Newton steps and of the adjoint.
    pub linear_solver: LinearSolver,
    /// Conjugate gradients (`linear_solver = "cg"`) stop when `‖r‖₂ ≤ cg_tol · ‖b‖₂`.
    pub cg_tol: f64,
    /// Iteration cap of conjugate gradients (adjoint solve and each Newton step).
    pub cg_max_iter: usize,
    /// With `linear_solver = "cg"`, a Newton step's conjugate gradients stop at a relative
    /// residual of min(this, √‖∇E‖₂) (Eisenstat & Walker's forcing term, capped); in (0, 1).
    pub newton_forcing_max: f64,
    /// The gradient rule's asynchronous step = this / λ_max(∇²E), the larger of λ_max at
    /// H = 0 and at H* (times the delay factor of `async_step`).
    pub async_step_scale: f64,
    /// Whether the asynchronous step (the block rules: their damping) shrinks with the
    /// staleness of reads (default: fixed).
    #[serde(default, skip_serializing_if = "AsyncStep::is_fixed")]
    pub async_step: AsyncStep,
    /// The curvature the asynchronous step divides by, for all nodes or per node
    /// (default: global).
    #[serde(default, skip_serializing_if = "AsyncCurvature::is_global")]
    pub async_curvature: AsyncCurvature,
    /// The node-local asynchronous rule (default: the paper's gradient step; the others
    /// are in [`block_rules`]).
    #[serde(default, skip_serializing_if = "AsyncRule::is_gradient")]
    pub async_rule: AsyncRule,
    /// The damping ω ∈ (0, 1] of the block rules: a node moves `ω` of the way to its
    /// block's Newton point or minimiser (times `async_step`'s delay factor); unused by
    /// the gradient rule.
    #[serde(
        default = "block_rules::undamped",
        skip_serializing_if = "block_rules::is_undamped"
    )]
    pub async_damping: f64,
    /// Optimiser settings.
    pub train: TrainConfig,
}

impl ModelSpec for EnergyConfig {
    const NAME: &'static str = "energy";
    const DISPLAY: &'static str = "Energy GNN";
    const COST: f64 = 50.0;

    /// Checks the settings; keys are relative to `[models.energy]`.
    fn check(&self) -> Result<(), InvalidSetting> {
        at_least("hidden", self.hidden as u64, 1)?;
        for (key, widths) in [
            ("message_widths", &self.message_widths),
            ("update_widths", &self.update_widths),
        ] {
            if widths.is_empty() || widths.contains(&0) {
                return Err(InvalidSetting::new(
                    key,
                    format!("{widths:?}"),
                    "needs at least one layer, every width at least 1",
                ));
            }
        }
        if self.update_widths.last() != Some(&1) {
            return Err(InvalidSetting::new(
                "update_widths",
                format!("{:?}", self.update_widths),
                "the last width must be 1 (a scalar energy)",
            ));
        }
        positive("beta", self.beta).map_err(|e| InvalidSetting {
            why: format!("{} (strong convexity)", e.why),
            ..e
        })?;
        for (key, value) in [
            ("tol", self.tol),
            ("cg_tol", self.cg_tol),
            ("step", self.step),
            ("async_step_scale", self.async_step_scale),
        ] {
            positive(key, value)?;
        }
        at_least("max_iter", self.max_iter as u64, 1)?;
        at_least("cg_max_iter", self.cg_max_iter as u64, 1)?;
        block_rules::check(self)?;
        open_unit(
            "newton_forcing_max",
            self.newton_forcing_max,
            "a relative residual of 1 is met by a zero step",
        )?;
        self.train.check().map_err(|e| e.under("train"))
    }

    /// The largest allocations of training on (or evaluating) a batch of `size`: the
    /// parameters with Adam's state, the message network's per-edge and the update
    /// network's per-node terms with their tapes, and the assembled Hessian's envelope (at
    /// least that of a chain: five nodes' blocks per node).
    fn memory(&self, size: &ProblemSize) -> Bytes {
        let k = self.hidden as u64;
        let widths = |w: &[usize]| w.iter().map(|&x| x as u64).fold(0u64, u64::saturating_add);
        let (m, u) = (widths(&self.message_widths), widths(&self.update_widths));
        let x_m = size.in_dim.saturating_mul(2).saturating_add(size.edge_dim);
        let params = m
            .saturating_mul(
                m.saturating_add(k.saturating_mul(6))
                    .saturating_add(x_m.saturating_mul(3)),
            )
            .saturating_add(
                u.saturating_mul(
                    u.saturating_add(k.saturating_mul(3))
                        .saturating_add(size.in_dim.saturating_mul(3)),
                ),
            )
            .saturating_add(k.saturating_mul(size.out_dim));
        let per_edge = Bytes::f64s(m.saturating_mul(4).saturating_add(k.saturating_mul(4)));
        let per_node = Bytes::f64s(u.saturating_mul(4).saturating_add(k.saturating_mul(8)));
        let hessian = match self.linear_solver {
            LinearSolver::Cholesky => {
                Bytes::f64s(size.nodes.saturating_mul(k).saturating_mul(k)).times(5)
            }
            LinearSolver::Cg => Bytes::f64s(size.nodes.saturating_mul(k)).times(4),
        };
        Bytes::f64s(params)
            .plus(self.train.optimiser_memory(params))
            .plus(per_edge.times(size.edges))
            .plus(per_node.times(size.nodes))
            .plus(hessian)
    }

    /// The longest state of a node in the simulator: its embedding and one message per
    /// neighbour (a gradient; with the block rules also a curvature block and an echo).
    fn state_width(&self, _in_dim: u64, max_degree: u64) -> u64 {
        let k = self.hidden as u64;
        let per_neighbour = self.async_rule.message_len(self.hidden) as u64;
        k.saturating_add(per_neighbour.saturating_mul(max_degree))
    }

    fn train(&self) -> &TrainConfig {
        &self.train
    }

    fn build(&self, dims: Dims, rng: &mut ChaCha8Rng) -> Result<Box<dyn Model>, ModelError> {
        Ok(Box::new(EnergyGnn::variant(
            self,
            Self::NAME,
            Wiring::EDGE,
            dims,
            rng,
        )?))
    }

    /// Measured with conjugate gradients (the assembled Hessian's envelope grows faster than
    /// linearly on 2-D graphs), and at hidden size 16 on chains.
    fn scaling_variants() -> Vec<ScalingVariant> {
        let cg: toml::Table = toml::from_str("linear_solver = \"cg\"").expect("valid TOML");
        let mut wide = cg.clone();
        wide.insert("hidden".into(), 16.into());
        vec![
            ScalingVariant {
                suffix: "",
                changes: cg,
                chains_only: false,
            },
            ScalingVariant {
                suffix: "-h16",
                changes: wide,
                chains_only: true,
            },
        ]
    }
}

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

    /// [`EnergyGnn::energy_grads`], keeping both networks' forward tapes (what a Hessian at
    /// the same point needs: [`EnergyGnn::hessian_at`]).
    fn evaluate<T: Scalar>(
        &self,
        ctx: &EnergyContext<'_>,
        h: ArrayView2<'_, T>,
        theta: bool,
    ) -> Point<T> {
        let g = ctx.graph;
        let (n, k) = (g.n_nodes(), self.cfg.hidden);
        let n_edges = g.n_edges();
        let y = self.wiring.inputs(g, h);
        let empty = Array2::from_elem((n_edges, 0), T::zero());
        let mtape = self
            .message
            .forward(&self.params, &ctx.message, 0..n_edges, empty, y.view());
        let m = aggregate(g, &ctx.weights, &mtape.out);
        let utape = self.update.forward(&self.params, &ctx.update, 0..n, m, h);
        let mut energy = T::zero();
        for v in utape.out.iter() {
            energy += *v;
        }
        for v in h.iter() {
            energy += *v * *v * (0.5 * self.cfg.beta);
        }
        let mut grads = theta.then(|| {
            self.params
                .zeros_like()
                .into_iter()
                .map(|a| lift(a.view()))
                .collect::<Vec<_>>()
        });
        let ones = Array2::from_elem((n, 1), T::one());
        let (dm, mut dh) = self.update.backward(
            &self.params,
            &ctx.update,
            &utape,
            ones,
            grads.as_deref_mut(),
        );
        if let (Some(attention), Some(a), Some(grads)) =
            (&ctx.attention, self.attention, grads.as_mut())
        {
            attention.add_grad(g, &ctx.weights, &dm, &mtape.out, &mut grads[a]);
        }
        let (_, dy) = self.message.backward(
            &self.params,
            &ctx.message,
            &mtape,
            spread(g, &ctx.weights, &dm),
            grads.as_deref_mut(),
        );
        self.wiring.add_input_grads(g, &dy, &mut dh);
        debug_assert_eq!(dh.ncols(), k);
        dh.zip_mut_with(&h, |d, &v| *d += v * self.cfg.beta);
        Point {
            energy,
            grad: dh,
            theta: grads,
            message: mtape,
            update: utape,
        }
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

    /// [`EnergyGnn::hessian`] at an evaluated point (its forward tapes, not recomputed).
    fn hessian_at<'s>(&'s self, ctx: &'s EnergyContext<'_>, point: &Point<f64>) -> Hessian<'s> {
        let g = ctx.graph;
        let n = g.n_nodes();
        let (update, dm) = self.update.linearise(
            &self.params,
            &ctx.update,
            &point.update,
            Array2::ones((n, 1)),
        );
        let (message, _) = self.message.linearise(
            &self.params,
            &ctx.message,
            &point.message,
            spread(g, &ctx.weights, &dm),
        );
        Hessian {
            model: self,
            graph: g,
            weights: &ctx.weights,
            message_ctx: &ctx.message,
            update_ctx: &ctx.update,
            message,
            update,
        }
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

/// `m_i = Σ_{j→i} w_e msg_e`: the aggregated messages, `weights` one per edge.
fn aggregate<T: Scalar>(g: &Graph, weights: &[f64], msg: &Array2<T>) -> Array2<T> {
    let d_m = msg.ncols();
    let mut m = Array2::from_elem((g.n_nodes(), d_m), T::zero());
    for i in 0..g.n_nodes() {
        for e in g.in_edges(i) {
            let a = weights[e];
            for c in 0..d_m {
                m[[i, c]] += msg[[e, c]] * a;
            }
        }
    }
    m
}

/// `w_e ∂/∂m_i` for every edge `e = j → i`: the adjoint of [`aggregate`].
fn spread<T: Scalar>(g: &Graph, weights: &[f64], dm: &Array2<T>) -> Array2<T> {
    let d_m = dm.ncols();
    let mut dmsg = Array2::from_elem((g.n_edges(), d_m), T::zero());
    for i in 0..g.n_nodes() {
        for e in g.in_edges(i) {
            let a = weights[e];
            for c in 0..d_m {
                dmsg[[e, c]] = dm[[i, c]] * a;
            }
        }
    }
    dmsg
}

/// The energy evaluated at one `H`: value, gradients, and both networks' forward tapes.
struct Point<T> {
    energy: T,
    grad: Array2<T>,
    theta: Option<Vec<Array2<T>>>,
    message: PicnnTape<T>,
    update: PicnnTape<T>,
}

/// `∇²E(H)` at a fixed `H` ([`EnergyGnn::hessian`]).
pub struct Hessian<'s> {
    model: &'s EnergyGnn,
    graph: &'s Graph,
    weights: &'s [f64],
    message_ctx: &'s PicnnContext,
    update_ctx: &'s PicnnContext,
    message: PicnnLinearisation,
    update: PicnnLinearisation,
}

impl Hessian<'_> {
    /// `∇²E(H) · V`: the tangent of the gradient pass along `V`, exact (no differencing).
    pub fn apply(&self, v: ArrayView2<'_, f64>) -> Array2<f64> {
        let (model, g) = (self.model, self.graph);
        let params = &model.params;
        let n_edges = g.n_edges();
        // An affine update network (one layer, as in every table) has no curvature and
        // passes a zero tangent back to the messages: its tangents are skipped, and so is
        // the message network's output tangent, which only it reads.
        let affine_update = model.update.is_affine();
        let mt = model.message.tangent_forward(
            params,
            self.message_ctx,
            &self.message,
            Array2::zeros((n_edges, 0)),
            model.wiring.inputs(g, v).view(),
            !affine_update,
        );
        let (mut hv, d_msg) = if affine_update {
            (Array2::zeros(v.raw_dim()), None)
        } else {
            let ut = model.update.tangent_forward(
                params,
                self.update_ctx,
                &self.update,
                aggregate(g, self.weights, mt.out.as_ref().expect("asked for")),
                v,
                false,
            );
            // The update network's output gradient is the constant 1: its tangent is zero.
            let (dm, hv) =
                model
                    .update
                    .tangent_backward(params, self.update_ctx, &self.update, &ut, None);
            (hv, Some(spread(g, self.weights, &dm)))
        };
        let (_, dy) =
            model
                .message
                .tangent_backward(params, self.message_ctx, &self.message, &mt, d_msg);
        model.wiring.add_input_grads(g, &dy, &mut hv);
        hv.zip_mut_with(&v, |d, &x| *d += x * model.cfg.beta);
        hv
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
        let k = self.cfg.hidden;
        let d_m = *self
            .cfg
            .message_widths
            .last()
            .expect("checked at construction");
        let max_degree = (0..g.n_nodes()).map(|i| g.degree(i)).max().unwrap_or(0);
        let (message, update) = (
            self.message.row_net(&self.params),
            self.update.row_net(&self.params),
        );
        let scratch = Mutex::new(Scratch {
            message: message.tape(max_degree),
            update: update.tape(1),
            y: vec![0.0; max_degree * self.wiring.ends() * k],
            agg: vec![0.0; d_m],
            dy: vec![0.0; max_degree * self.wiring.ends() * k],
            d_msg: vec![0.0; max_degree * d_m],
        });
        Ok(Box::new(EnergyRule {
            model: self,
            message,
            update,
            ctx,
            reverse,
            step,
            scratch,
        }))
    }
}

/// The paper's §5.3 rule: node `i` holds `h_i` and, for each in-neighbour `j`, the message
/// `g_ij = ∂e_i/∂h_j` computed from its own (possibly stale) view; it steps
/// `h_i ← h_i − α (∂e_i/∂h_i + Σ_j g_ji)`, reading each `g_ji` from its view of `j`
/// (`α` per node and dimension: [`AsyncCurvature`]).
struct EnergyRule<'a> {
    model: &'a EnergyGnn,
    /// The model's two networks, laid out for single-row passes.
    message: RowNet,
    update: RowNet,
    ctx: EnergyContext<'a>,
    reverse: Vec<usize>,
    /// The step of each node and dimension, row-major (`i · k + c`).
    step: Vec<f64>,
    /// Reused buffers: the rule runs on one thread, the lock is never contended.
    scratch: Mutex<Scratch>,
}

/// Buffers of one local evaluation, sized for the largest degree.
struct Scratch {
    /// Tapes of the message network over a node's in-edges and of the update network.
    message: RowTape,
    update: RowTape,
    /// Convex inputs of the messages, one row `(h_j)` or `(h_j, h_i)` per in-edge.
    y: Vec<f64>,
    /// Aggregated message.
    agg: Vec<f64>,
    /// `∂e_i/∂(h_j)` or `∂e_i/∂(h_j, h_i)`, one row per in-edge.
    dy: Vec<f64>,
    /// Gradients of the messages, one row per in-edge.
    d_msg: Vec<f64>,
}

impl EnergyRule<'_> {
    /// Writes `∂e_i/∂h_i` into `d_self` and `∂e_i/∂h_j` of in-edge `r` into
    /// `d_nb[r k..(r + 1) k]`, at `h_i = own`, `h_j = nb[r][..k]`. The message network runs
    /// on all in-edges in one pass ([`RowNet`]); sums run in edge order.
    fn local_grads(
        &self,
        i: usize,
        own: &[f64],
        nb: &[&[f64]],
        d_self: &mut [f64],
        d_nb: &mut [f64],
    ) {
        let m = self.model;
        let k = m.cfg.hidden;
        let g = self.ctx.graph;
        let edges = g.in_edges(i);
        let deg = edges.len();
        let d_m = self.message.out_width();
        let mut guard = self.scratch.lock().expect("never poisoned");
        let sc = &mut *guard;
        let w = m.wiring.ends() * k;
        let y = &mut sc.y[..deg * w];
        for (row, view) in y.chunks_exact_mut(w).zip(nb) {
            m.wiring.edge_inputs(&view[..k], &own[..k], row);
        }
        self.message.forward(
            self.ctx.message.row_inputs(edges.clone()),
            &[],
            y,
            &mut sc.message,
        );
        sc.agg.fill(0.0);
        for (e, out) in edges.clone().zip(sc.message.out().chunks_exact(d_m)) {
            let a = self.ctx.weights[e];
            for (s, &o) in sc.agg.iter_mut().zip(out) {
                *s += a * o;
            }
        }
        self.update.forward(
            self.ctx.update.row_inputs(i..i + 1),
            &sc.agg,
            own,
            &mut sc.update,
        );
        for (d, &h) in d_self.iter_mut().zip(own) {
            *d = m.cfg.beta * h;
        }
        let d_agg = self.update.backward(&mut sc.update, &[1.0], d_self);
        let d_msg = &mut sc.d_msg[..deg * d_m];
        for (e, row) in edges.zip(d_msg.chunks_exact_mut(d_m)) {
            let a = self.ctx.weights[e];
            for (d, &v) in row.iter_mut().zip(d_agg) {
                *d = a * v;
            }
        }
        let dy = &mut sc.dy[..deg * w];
        dy.fill(0.0);
        self.message.backward(&mut sc.message, d_msg, dy);
        for (row, d) in dy.chunks_exact(w).zip(d_nb.chunks_exact_mut(k)) {
            let (d_j, d_i) = m.wiring.edge_input_grads(row, k);
            d.copy_from_slice(d_j);
            if let Some(d_i) = d_i {
                for (d, &v) in d_self.iter_mut().zip(d_i) {
                    *d += v;
                }
            }
        }
    }
}

impl LocalRule for EnergyRule<'_> {
    fn graph(&self) -> &Graph {
        self.ctx.graph
    }
    fn execution(&self) -> Execution {
        self.model.execution()
    }
    fn state_len(&self, i: usize) -> usize {
        self.model.cfg.hidden * (1 + self.ctx.graph.degree(i))
    }
    fn init(&self, i: usize, out: &mut [f64]) {
        // Every node starts at h = 0, so its messages at the initial state are known locally.
        let k = self.model.cfg.hidden;
        let zero = vec![0.0; k];
        let nb: Vec<&[f64]> = vec![&zero[..]; self.ctx.graph.degree(i)];
        let mut d_self = vec![0.0; k];
        let (h, d_nb) = out.split_at_mut(k);
        h.fill(0.0);
        self.local_grads(i, &zero, &nb, &mut d_self, d_nb);
    }
    fn update(&self, i: usize, _count: usize, own: &[f64], views: &[&[f64]], out: &mut [f64]) {
        let k = self.model.cfg.hidden;
        let (h, d_nb) = out.split_at_mut(k);
        // The new messages go straight to their place; the gradient is built in `h`.
        self.local_grads(i, &own[..k], views, h, d_nb);
        // Each entry of the gradient adds its neighbours' messages in edge order.
        for (view, e) in views.iter().zip(self.ctx.graph.in_edges(i)) {
            let message = &view[k * (1 + self.reverse[e])..][..k];
            for (o, &g) in h.iter_mut().zip(message) {
                *o += g;
            }
        }
        for ((o, &x), &a) in h.iter_mut().zip(own).zip(&self.step[i * k..]) {
            *o = x - a * *o;
        }
    }
    fn prefetch(&self, i: usize) {
        let edges = self.ctx.graph.in_edges(i);
        self.ctx.message.row_inputs(edges.clone()).prefetch();
        self.ctx.update.row_inputs(i..i + 1).prefetch();
        hogwild_graph::prefetch::prefetch(&self.reverse[edges]);
    }
    fn residual(&self, states: &[Vec<f64>]) -> f64 {
        self.residual_with_frozen(states, &[])
    }
    /// What the live nodes descend when some are frozen (crashed): a frozen node sends no
    /// new gradient messages, so a live neighbour keeps adding the last one it sent, a
    /// constant. The live nodes therefore minimise their own energy terms (the frozen
    /// states held) plus those constant linear terms in place of the frozen nodes' terms:
    /// still β-strongly convex, with the gradient below, so the bound holds for that
    /// function. With no node frozen it is `∇E` itself.
    fn residual_with_frozen(&self, states: &[Vec<f64>], frozen: &[bool]) -> f64 {
        let k = self.model.cfg.hidden;
        let g = self.ctx.graph;
        let h = Array2::from_shape_fn((states.len(), k), |(i, c)| states[i][c]);
        let mut grad = self.model.energy_grads::<f64>(&self.ctx, h.view(), false).1;
        for j in (0..states.len()).filter(|&j| frozen.get(j) == Some(&true)) {
            // The frozen node's messages at the current states, replaced by the ones it sent.
            let views: Vec<&[f64]> = g.in_edges(j).map(|e| &states[g.edge(e).0][..]).collect();
            let mut d_self = vec![0.0; k];
            let mut fresh = vec![0.0; k * views.len()];
            self.local_grads(j, &states[j][..k], &views, &mut d_self, &mut fresh);
            for (p, e) in g.in_edges(j).enumerate() {
                let i = g.edge(e).0;
                let sent = &states[j][k * (1 + p)..][..k];
                for ((d, &s), &f) in grad.row_mut(i).iter_mut().zip(sent).zip(&fresh[k * p..]) {
                    *d += s - f;
                }
            }
        }
        for (i, _) in frozen.iter().enumerate().filter(|(_, &f)| f) {
            grad.row_mut(i).fill(0.0);
        }
        self.model.distance_bound(grad.view())
    }
    fn readout(&self, states: &[Vec<f64>]) -> Array2<f64> {
        let k = self.model.cfg.hidden;
        let h = Array2::from_shape_fn((states.len(), k), |(i, c)| states[i][c]);
        self.model.readout(h.view())
    }
}
