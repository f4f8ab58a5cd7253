//! Node-local asynchronous rules that use each node's own Hessian block (`async_rule`):
//! block-Jacobi (local Newton) and nonlinear block Gauss–Seidel.
//!
//! Node `i`'s part of the energy is `e_i(h_i; h_{N(i)}) + Σ_{j: i→j} e_j(…, h_i, …)` with
//! `e_i = u(m_i, h_i; x_i) + (β/2)‖h_i‖²`. What node `i` knows, and how:
//!
//! - its own term `e_i` exactly, as a function of `h_i` and of its views of its
//!   in-neighbours: value, gradient `∂e_i/∂h_i` and block `∂²e_i/∂h_i²` (forward-mode dual
//!   numbers through the networks' passes, one direction per dimension);
//! - a neighbour's term `e_j` only through what `j` sends: the gradient
//!   `g_ji = ∂e_j/∂h_i` (the paper's message), its curvature `C_ji = ∂²e_j/∂h_i²` (`k × k`),
//!   and the `ĥ_i` at which `j` computed both (its view of `i`, echoed back). `e_j` also
//!   reads `j`'s other neighbours, two hops from `i`, so `e_j` as a function of `h_i` is not
//!   local; its second-order model around `ĥ_i` is:
//!   `q_ji(h) = g_jiᵀ(h − ĥ_i) + ½ (h − ĥ_i)ᵀ C_ji (h − ĥ_i)`.
//!
//! Node `i` works on `φ_i(h) = e_i(h; views) + Σ_j q_ji(h)`. When views and messages are
//! current, `∇φ_i(h_i) = ∇_{h_i} E` and `∇²φ_i(h_i) = ∇²_{h_i h_i} E`, the exact diagonal
//! block; with stale messages the echo corrects them, to second order, for the moves of
//! `h_i` itself that `j` has not seen.
//!
//! - [`AsyncRule::BlockNewton`] (block-Jacobi, local Newton): one Newton step on `φ_i`,
//!   `h_i ← h_i − ω (∇²φ_i)⁻¹ ∇φ_i`.
//! - [`AsyncRule::BlockMinimise`] (nonlinear block Gauss–Seidel): `h_i ← h_i + ω (h⁺ − h_i)`,
//!   `h⁺ = argmin φ_i` by Newton steps with backtracking (the neighbours held, their terms
//!   by their models).
//!
//! Then node `i` sends each in-neighbour `j` the message `(g_ij, C_ij, ĥ_j)` at its new `h_i`.
//! At a fixed point of either rule with current views `∇_{h_i} E = 0` at every node: the
//! minimiser of `E`, the gradient rule's fixed point. `ω` is `async_damping` times
//! `async_step`'s delay factor.
//!
//! Curvature is the costly part (dual-number passes, one per dimension); values and
//! gradients come from the `f64` row passes the gradient rule runs. With
//! `async_hessian_every = R` a node recomputes its own block and the curvature blocks it
//! sends on every `R`-th update and reuses the last ones in between (its gradients, and so
//! the rules' fixed point, stay exact; the step becomes a scaled gradient step with a
//! symmetric positive definite scaling of the same range).
//!
//! A node's state: `[h_i | its own block (k × k) | per in-edge r: g (k), C (k × k,
//! row-major), ĥ (k)]`.

use super::row_pass::RowPass;
use super::{AsyncCurvature, EnergyConfig, EnergyContext, EnergyGnn};
use crate::linalg::Scalar;
use crate::model::{Execution, LocalRule};
use hogwild_graph::Graph;
use hogwild_settings::InvalidSetting;
use ndarray::Array2;
use serde::{Deserialize, Serialize};

/// The node-local rule the asynchronous simulator runs for the energy GNN.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AsyncRule {
    /// The paper's §5.3 gradient step (its step: `async_step_scale`, `async_step`,
    /// `async_curvature`).
    #[default]
    Gradient,
    /// Block-Jacobi: one Newton step on the node's own block, damped by `async_damping`.
    BlockNewton,
    /// Nonlinear block Gauss–Seidel: minimise over the node's own block, neighbours held.
    BlockMinimise,
}

impl AsyncRule {
    pub(super) fn is_gradient(&self) -> bool {
        *self == AsyncRule::Gradient
    }

    /// Numbers a node holds per neighbour: the gradient message, and for the block rules
    /// also the curvature block and the echoed embedding.
    ///
    /// ```
    /// use hogwild_models::energy::AsyncRule;
    /// assert_eq!(AsyncRule::Gradient.message_len(4), 4);
    /// assert_eq!(AsyncRule::BlockNewton.message_len(4), 24);
    /// ```
    pub fn message_len(&self, k: usize) -> usize {
        match self {
            AsyncRule::Gradient => k,
            AsyncRule::BlockNewton | AsyncRule::BlockMinimise => k * (k + 2),
        }
    }

    /// Numbers a node holds for itself besides its embedding: the block rules keep their
    /// own Hessian block (reused while `async_hessian_every` says so).
    ///
    /// ```
    /// use hogwild_models::energy::AsyncRule;
    /// assert_eq!(AsyncRule::Gradient.own_len(4), 0);
    /// assert_eq!(AsyncRule::BlockMinimise.own_len(4), 16);
    /// ```
    pub fn own_len(&self, k: usize) -> usize {
        match self {
            AsyncRule::Gradient => 0,
            AsyncRule::BlockNewton | AsyncRule::BlockMinimise => k * k,
        }
    }
}

/// `async_damping`'s default: no damping.
pub(super) fn undamped() -> f64 {
    1.0
}

pub(super) fn is_undamped(damping: &f64) -> bool {
    *damping == 1.0
}

/// `async_hessian_every`'s default: curvature recomputed on every update.
pub(super) fn every_update() -> usize {
    1
}

pub(super) fn is_every_update(every: &usize) -> bool {
    *every == 1
}

/// Checks the block rules' settings; keys are relative to `[models.energy]`.
pub(super) fn check(cfg: &EnergyConfig) -> Result<(), InvalidSetting> {
    if !(cfg.async_damping > 0.0 && cfg.async_damping <= 1.0) {
        return Err(InvalidSetting::new(
            "async_damping",
            cfg.async_damping,
            "must be in (0, 1]",
        ));
    }
    if cfg.async_hessian_every == 0 {
        return Err(InvalidSetting::new(
            "async_hessian_every",
            0,
            "must be at least 1 (1: every update)",
        ));
    }
    if cfg.async_rule == AsyncRule::Gradient && cfg.async_hessian_every != 1 {
        return Err(InvalidSetting::new(
            "async_hessian_every",
            cfg.async_hessian_every,
            "applies to the block rules only: the gradient rule uses no curvature per update",
        ));
    }
    if cfg.async_rule != AsyncRule::Gradient && cfg.async_curvature != AsyncCurvature::Global {
        return Err(InvalidSetting::new(
            "async_curvature",
            "local",
            "applies to async_rule = \"gradient\" only: the block rules scale by each node's own Hessian block",
        ));
    }
    Ok(())
}

/// Newton steps of [`AsyncRule::BlockMinimise`] per update, at most; on the `k`-dimensional
/// block from a nearby start a few reach rounding.
const MINIMISE_MAX_STEPS: usize = 10;

/// [`AsyncRule::BlockMinimise`] stops once the block's gradient is this share of its
/// gradient at the start: the neighbours move on anyway, and with reused curvature the
/// steps converge only linearly.
const MINIMISE_REL_TOL: f64 = 1e-3;

/// Node `i`'s own term `e_i` at `h_i = own` and in-neighbour views `nb` (`deg × k`,
/// row-major), with its gradients `∂e_i/∂h_i` and `∂e_i/∂h_j` (one row per in-edge).
struct LocalTerms<T> {
    value: T,
    d_self: Vec<T>,
    d_nb: Vec<T>,
}

fn local_terms<T: Scalar>(
    model: &EnergyGnn,
    ctx: &EnergyContext<'_>,
    i: usize,
    own: &[T],
    nb: &[T],
) -> LocalTerms<T> {
    let k = model.cfg.hidden;
    let beta = model.cfg.beta;
    let edges = ctx.graph.in_edges(i);
    let deg = edges.len();
    let w = model.wiring.ends() * k;
    let mut y = vec![T::zero(); deg * w];
    for (r, row) in y.chunks_exact_mut(w).enumerate() {
        model
            .wiring
            .edge_inputs(&nb[r * k..(r + 1) * k], &own[..k], row);
    }
    let y = Array2::from_shape_vec((deg, w), y).expect("in-edges × width");
    let params = &model.params;
    let mtape = model.message.forward(
        params,
        &ctx.message,
        edges.clone(),
        Array2::from_elem((deg, 0), T::zero()),
        y.view(),
    );
    let d_m = mtape.out.ncols();
    let mut agg = Array2::from_elem((1, d_m), T::zero());
    for (r, e) in edges.clone().enumerate() {
        for c in 0..d_m {
            agg[[0, c]] += mtape.out[[r, c]] * ctx.weights[e];
        }
    }
    let h = Array2::from_shape_fn((1, k), |(_, c)| own[c]);
    let utape = model
        .update
        .forward(params, &ctx.update, i..i + 1, agg, h.view());
    let mut value = utape.out[[0, 0]];
    for v in own {
        value += *v * *v * (0.5 * beta);
    }
    let ones = Array2::from_elem((1, 1), T::one());
    let (dm, dh) = model
        .update
        .backward(params, &ctx.update, &utape, ones, None);
    let d_msg = Array2::from_shape_fn((deg, d_m), |(r, c)| {
        dm[[0, c]] * ctx.weights[edges.start + r]
    });
    let (_, dy) = model
        .message
        .backward(params, &ctx.message, &mtape, d_msg, None);
    let mut d_self: Vec<T> = (0..k).map(|c| dh[[0, c]] + own[c] * beta).collect();
    let mut d_nb = Vec::with_capacity(deg * k);
    let dy = dy.as_standard_layout();
    for row in dy.as_slice().expect("standard layout").chunks_exact(w) {
        let (d_j, d_i) = model.wiring.edge_input_grads(row, k);
        d_nb.extend_from_slice(d_j);
        if let Some(d_i) = d_i {
            for (d, &v) in d_self.iter_mut().zip(d_i) {
                *d += v;
            }
        }
    }
    LocalTerms {
        value,
        d_self,
        d_nb,
    }
}

/// `(a + aᵀ) / 2` of a `k × k` row-major matrix, in place (dual-number columns agree with
/// the rows to rounding).
fn symmetrise(a: &mut [f64], k: usize) {
    for r in 0..k {
        for c in r + 1..k {
            let mean = 0.5 * (a[r * k + c] + a[c * k + r]);
            a[r * k + c] = mean;
            a[c * k + r] = mean;
        }
    }
}

/// `a⁻¹ b` for a symmetric positive definite `k × k` row-major `a` (Cholesky). The blocks
/// solved here are at least `β I`; a pivot lost to rounding is held at the smallest
/// positive double rather than failing.
pub(super) fn solve_spd(a: &[f64], b: &[f64], k: usize) -> Vec<f64> {
    let mut l = vec![0.0; k * k];
    for r in 0..k {
        for c in 0..=r {
            let mut s = a[r * k + c];
            for p in 0..c {
                s -= l[r * k + p] * l[c * k + p];
            }
            l[r * k + c] = if r == c {
                s.max(f64::MIN_POSITIVE).sqrt()
            } else {
                s / l[c * k + c]
            };
        }
    }
    let mut x = b.to_vec();
    for r in 0..k {
        for p in 0..r {
            x[r] -= l[r * k + p] * x[p];
        }
        x[r] /= l[r * k + r];
    }
    for r in (0..k).rev() {
        for p in r + 1..k {
            x[r] -= l[p * k + r] * x[p];
        }
        x[r] /= l[r * k + r];
    }
    x
}

/// Directions of `h` per dual-number pass of the curvature.
const LANES: usize = 4;

/// A dual number carrying [`LANES`] directional derivatives.
type Lanes = num_dual::DualSVec64<LANES>;

/// `v` as a [`Lanes`] number, seeded in `lane` (a unit direction) or constant.
fn seeded(v: f64, lane: Option<usize>) -> Lanes {
    let x = Lanes::from_re(v);
    match lane {
        Some(l) => x.derivative(l),
        None => x,
    }
}

/// The directional derivatives of `d`, one per lane.
fn lanes(d: &Lanes) -> [f64; LANES] {
    d.eps
        .0
        .map_or([0.0; LANES], |m| std::array::from_fn(|l| m[l]))
}

/// The block rules' node-local update ([`AsyncRule::BlockNewton`],
/// [`AsyncRule::BlockMinimise`]); see the module documentation.
pub(super) struct BlockRule<'a> {
    model: &'a EnergyGnn,
    ctx: EnergyContext<'a>,
    /// For in-edge `e = j → i`, the position of `i → j` among `j`'s in-edges.
    reverse: Vec<usize>,
    /// `ω`: the share of the way to the block's Newton point or minimiser a node moves.
    damping: f64,
    /// Values and gradients in `f64`.
    pass: RowPass,
    /// A node recomputes its curvature on every this-many-th update (`async_hessian_every`).
    hessian_every: usize,
}

impl<'a> BlockRule<'a> {
    /// The rule of `model.cfg.async_rule` on `ctx`'s graph.
    pub(super) fn new(
        model: &'a EnergyGnn,
        ctx: EnergyContext<'a>,
        reverse: Vec<usize>,
        damping: f64,
    ) -> BlockRule<'a> {
        BlockRule {
            model,
            pass: RowPass::new(model, ctx.graph),
            ctx,
            reverse,
            damping,
            hessian_every: model.cfg.async_hessian_every,
        }
    }

    fn k(&self) -> usize {
        self.model.cfg.hidden
    }

    /// Numbers per neighbour message: `g`, `C`, `ĥ`.
    fn stride(&self) -> usize {
        self.k() * (self.k() + 2)
    }

    /// Where a node's messages start in its state: after `h_i` and its own block.
    fn messages_at(&self) -> usize {
        self.k() * (1 + self.k())
    }

    /// `e_i`'s value, gradient and Hessian block `∂²e_i/∂h_i²` (row-major) at `h_i = own`,
    /// views `nb`: dual passes through the networks, [`LANES`] dimensions of `h_i` each.
    fn own_block(&self, i: usize, own: &[f64], nb: &[f64]) -> (f64, Vec<f64>, Vec<f64>) {
        let k = self.k();
        let nb_d: Vec<Lanes> = nb.iter().map(|&v| Lanes::from_re(v)).collect();
        let (mut value, mut grad, mut hess) = (0.0, vec![0.0; k], vec![0.0; k * k]);
        for first in (0..k).step_by(LANES) {
            let own_d: Vec<Lanes> = (0..k)
                .map(|q| {
                    seeded(
                        own[q],
                        (first..first + LANES).contains(&q).then(|| q - first),
                    )
                })
                .collect();
            let t = local_terms(self.model, &self.ctx, i, &own_d, &nb_d);
            value = t.value.re;
            for (q, d) in t.d_self.iter().enumerate() {
                grad[q] = d.re;
                for (lane, slope) in lanes(d).into_iter().enumerate() {
                    if first + lane < k {
                        hess[q * k + first + lane] = slope;
                    }
                }
            }
        }
        symmetrise(&mut hess, k);
        (value, grad, hess)
    }

    /// Writes node `i`'s message to the source of each of its in-edges `r` into
    /// `out[r · stride ..]`: `g = ∂e_i/∂h_j`, `C = ∂²e_i/∂h_j²` and `ĥ = nb[r]`, at
    /// `h_i = own`. With an affine update network (every table's) the in-edges' terms do
    /// not couple, so one direction per dimension gives every `C` at once; otherwise one
    /// per in-edge and dimension. Directions run [`LANES`] per dual pass.
    fn messages(&self, i: usize, own: &[f64], nb: &[f64], out: &mut [f64]) {
        let (k, stride) = (self.k(), self.stride());
        let deg = nb.len() / k;
        if deg == 0 {
            return;
        }
        let own_d: Vec<Lanes> = own.iter().map(|&v| Lanes::from_re(v)).collect();
        let joint = self.model.update.is_affine();
        let directions: Vec<(Option<usize>, usize)> = if joint {
            (0..k).map(|c| (None, c)).collect()
        } else {
            (0..deg)
                .flat_map(|r| (0..k).map(move |c| (Some(r), c)))
                .collect()
        };
        for chunk in directions.chunks(LANES) {
            let nb_d: Vec<Lanes> = nb
                .iter()
                .enumerate()
                .map(|(x, &v)| {
                    let lane = chunk
                        .iter()
                        .position(|&(edge, c)| x % k == c && edge.is_none_or(|r| x / k == r));
                    seeded(v, lane)
                })
                .collect();
            let t = local_terms(self.model, &self.ctx, i, &own_d, &nb_d);
            for r in 0..deg {
                let msg = &mut out[r * stride..][..stride];
                for q in 0..k {
                    let d = &t.d_nb[r * k + q];
                    msg[q] = d.re;
                    let slopes = lanes(d);
                    for (lane, &(edge, c)) in chunk.iter().enumerate() {
                        if edge.is_none_or(|e| e == r) {
                            msg[k + q * k + c] = slopes[lane];
                        }
                    }
                }
            }
        }
        for r in 0..deg {
            let msg = &mut out[r * stride..][..stride];
            symmetrise(&mut msg[k..k + k * k], k);
            msg[k + k * k..].copy_from_slice(&nb[r * k..(r + 1) * k]);
        }
    }

    /// Node `i`'s messages at its new `h_i = own` into `out`: gradients from the row pass,
    /// echoes from `views`, curvature recomputed (`previous = None`) or carried over from
    /// the messages it sent last (`previous`).
    fn send(
        &self,
        i: usize,
        own: &[f64],
        views: &[&[f64]],
        previous: Option<&[f64]>,
        out: &mut [f64],
    ) {
        let (k, stride) = (self.k(), self.stride());
        match previous {
            None => self.messages(i, own, &flat_views(views, k), out),
            Some(previous) => out.copy_from_slice(previous),
        }
        let (_, _, d_nb) = self.row_grads(i, own, views);
        for ((msg, g), view) in out
            .chunks_exact_mut(stride)
            .zip(d_nb.chunks_exact(k))
            .zip(views)
        {
            msg[..k].copy_from_slice(g);
            msg[k + k * k..].copy_from_slice(&view[..k]);
        }
    }

    /// The neighbours' models `Σ_j q_ji` at `h`: value, gradient and curvature, from the
    /// messages in the views.
    fn neighbour_models(&self, i: usize, views: &[&[f64]], h: &[f64]) -> (f64, Vec<f64>, Vec<f64>) {
        let (k, stride) = (self.k(), self.stride());
        let (mut value, mut grad, mut curv) = (0.0, vec![0.0; k], vec![0.0; k * k]);
        for (view, e) in views.iter().zip(self.ctx.graph.in_edges(i)) {
            let msg = &view[self.messages_at() + stride * self.reverse[e]..][..stride];
            let (g, c, echo) = (&msg[..k], &msg[k..k + k * k], &msg[k + k * k..]);
            let d: Vec<f64> = h.iter().zip(echo).map(|(a, b)| a - b).collect();
            for r in 0..k {
                let cd: f64 = (0..k).map(|q| c[r * k + q] * d[q]).sum();
                grad[r] += g[r] + cd;
                value += d[r] * (g[r] + 0.5 * cd);
                for q in 0..k {
                    curv[r * k + q] += c[r * k + q];
                }
            }
        }
        (value, grad, curv)
    }

    /// `e_i`, `∂e_i/∂h_i` and `∂e_i/∂h_j` (one row per in-edge) at `h_i = h` from the row
    /// pass.
    fn row_grads(&self, i: usize, h: &[f64], views: &[&[f64]]) -> (f64, Vec<f64>, Vec<f64>) {
        let k = self.k();
        let mut d_self = vec![0.0; k];
        let mut d_nb = vec![0.0; k * views.len()];
        let value =
            self.pass
                .local_grads(self.model, &self.ctx, i, h, views, &mut d_self, &mut d_nb);
        (value, d_self, d_nb)
    }

    /// `φ_i` and its gradient at `h` (the row pass and the neighbours' models).
    fn model_value_grad(&self, i: usize, h: &[f64], views: &[&[f64]]) -> (f64, Vec<f64>) {
        let (own, mut grad, _) = self.row_grads(i, h, views);
        let (value, neighbours, _) = self.neighbour_models(i, views, h);
        grad.iter_mut().zip(&neighbours).for_each(|(a, b)| *a += b);
        (own + value, grad)
    }

    /// `φ_i`'s Hessian: `own`, node `i`'s block of `e_i`, plus its neighbours' curvature.
    fn model_hessian(&self, i: usize, h: &[f64], views: &[&[f64]], own: &[f64]) -> Vec<f64> {
        let (_, _, mut hess) = self.neighbour_models(i, views, h);
        hess.iter_mut().zip(own).for_each(|(a, b)| *a += b);
        hess
    }

    /// Node `i`'s own block at `h`: recomputed, or the `cached` one.
    fn own_curvature(
        &self,
        i: usize,
        h: &[f64],
        views: &[&[f64]],
        cached: Option<&[f64]>,
    ) -> Vec<f64> {
        match cached {
            Some(block) => block.to_vec(),
            None => self.own_block(i, h, &flat_views(views, self.k())).2,
        }
    }

    /// `argmin φ_i` from `start`: Newton steps, each halved until it decreases `φ_i`
    /// (Armijo) or the gradient's norm (near the minimiser the decrease of `φ_i` falls below
    /// its rounding, the gradient's does not), until the step is at rounding or
    /// [`MINIMISE_MAX_STEPS`]. Returns the point and the last own block used.
    fn minimise_block(
        &self,
        i: usize,
        start: &[f64],
        views: &[&[f64]],
        cached: Option<&[f64]>,
    ) -> (Vec<f64>, Vec<f64>) {
        let k = self.k();
        let mut h = start.to_vec();
        let mut block = vec![];
        let mut first = None;
        for _ in 0..MINIMISE_MAX_STEPS {
            let (value, g) = self.model_value_grad(i, &h, views);
            let norm = g.iter().map(|v| v * v).sum::<f64>().sqrt();
            let first = *first.get_or_insert(norm);
            if norm <= MINIMISE_REL_TOL * first && !block.is_empty() {
                break;
            }
            block = self.own_curvature(i, &h, views, cached);
            let hess = self.model_hessian(i, &h, views, &block);
            let d = solve_spd(&hess, &g, k);
            let slope: f64 = g.iter().zip(&d).map(|(a, b)| a * b).sum();
            if slope.is_nan() || slope <= 0.0 {
                break;
            }
            let mut t = 1.0;
            let mut trial: Vec<f64> = h.iter().zip(&d).map(|(a, b)| a - b).collect();
            loop {
                let (v, grad) = self.model_value_grad(i, &trial, views);
                let n = grad.iter().map(|v| v * v).sum::<f64>().sqrt();
                if v <= value - 1e-4 * t * slope || n < norm || t < 1e-6 {
                    break;
                }
                t *= 0.5;
                trial = h.iter().zip(&d).map(|(a, b)| a - t * b).collect();
            }
            let scale = h.iter().fold(1.0_f64, |m, v| m.max(v.abs()));
            let moved = d.iter().fold(0.0_f64, |m, v| m.max((t * v).abs()));
            h = trial;
            if moved <= 1e-15 * scale {
                break;
            }
        }
        (h, block)
    }
}

/// The embeddings `h_j` of `views`, concatenated.
fn flat_views(views: &[&[f64]], k: usize) -> Vec<f64> {
    views.iter().flat_map(|v| v[..k].iter().copied()).collect()
}

impl LocalRule for BlockRule<'_> {
    fn graph(&self) -> &Graph {
        self.ctx.graph
    }
    fn execution(&self) -> Execution {
        Execution::Implicit
    }
    fn state_len(&self, i: usize) -> usize {
        self.messages_at() + self.stride() * self.ctx.graph.degree(i)
    }
    fn init(&self, i: usize, out: &mut [f64]) {
        // Every node starts at h = 0, so its block and messages there are known locally.
        let k = self.k();
        let zero = vec![0.0; k];
        let views = vec![&zero[..]; self.ctx.graph.degree(i)];
        let (h, rest) = out.split_at_mut(k);
        let (block, msgs) = rest.split_at_mut(k * k);
        h.fill(0.0);
        block.copy_from_slice(&self.own_curvature(i, &zero, &views, None));
        self.send(i, &zero, &views, None, msgs);
    }
    fn update(&self, i: usize, count: usize, own: &[f64], views: &[&[f64]], out: &mut [f64]) {
        let (k, at) = (self.k(), self.messages_at());
        let h = &own[..k];
        let refresh = count.is_multiple_of(self.hessian_every);
        let cached = (!refresh).then(|| &own[k..at]);
        let (target, block) = match self.model.cfg.async_rule {
            AsyncRule::BlockNewton => {
                let (_, g) = self.model_value_grad(i, h, views);
                let block = self.own_curvature(i, h, views, cached);
                let d = solve_spd(&self.model_hessian(i, h, views, &block), &g, k);
                (h.iter().zip(&d).map(|(a, b)| a - b).collect(), block)
            }
            AsyncRule::BlockMinimise => self.minimise_block(i, h, views, cached),
            AsyncRule::Gradient => unreachable!("the gradient rule is EnergyRule"),
        };
        let (new, rest) = out.split_at_mut(k);
        let (own_block, msgs) = rest.split_at_mut(k * k);
        for ((o, &a), &b) in new.iter_mut().zip(h).zip(&target) {
            *o = a + self.damping * (b - a);
        }
        own_block.copy_from_slice(&block);
        let previous = (!refresh).then(|| &own[at..]);
        self.send(i, new, views, previous, msgs);
    }
    fn prefetch(&self, i: usize) {
        RowPass::prefetch(&self.ctx, i);
    }
    fn residual(&self, states: &[Vec<f64>]) -> f64 {
        self.residual_with_frozen(states, &[])
    }
    /// As the gradient rule's: a frozen node's last messages stay in its state, and a live
    /// neighbour uses their models `q_ji`, so the live nodes minimise their own terms plus
    /// those quadratics, a β-strongly convex function whose gradient is below.
    fn residual_with_frozen(&self, states: &[Vec<f64>], frozen: &[bool]) -> f64 {
        let (k, stride, at) = (self.k(), self.stride(), self.messages_at());
        let g = self.ctx.graph;
        let h = Array2::from_shape_fn((states.len(), k), |(i, c)| states[i][c]);
        let mut grad = self.model.energy_grads::<f64>(&self.ctx, h.view(), false).1;
        for j in (0..states.len()).filter(|&j| frozen.get(j) == Some(&true)) {
            let nb: Vec<f64> = g
                .in_edges(j)
                .flat_map(|e| states[g.edge(e).0][..k].iter().copied())
                .collect();
            let fresh = local_terms::<f64>(self.model, &self.ctx, j, &states[j][..k], &nb).d_nb;
            for (p, e) in g.in_edges(j).enumerate() {
                let i = g.edge(e).0;
                let msg = &states[j][at + stride * p..][..stride];
                let (sent, c, echo) = (&msg[..k], &msg[k..k + k * k], &msg[k + k * k..]);
                for r in 0..k {
                    let cd: f64 = (0..k)
                        .map(|q| c[r * k + q] * (states[i][q] - echo[q]))
                        .sum();
                    grad[[i, r]] += sent[r] + cd - fresh[p * k + r];
                }
            }
        }
        for (i, _) in frozen.iter().enumerate().filter(|(_, &f)| f) {
            grad.row_mut(i).fill(0.0);
        }
        self.model.distance_bound(grad.view())
    }
    fn readout(&self, states: &[Vec<f64>]) -> Array2<f64> {
        let k = self.k();
        let h = Array2::from_shape_fn((states.len(), k), |(i, c)| states[i][c]);
        self.model.readout(h.view())
    }
}

#[cfg(test)]
#[path = "block_rules_tests.rs"]
mod tests;
