//! `[models.energy]`: the energy GNN's settings (solvers, asynchronous step and rule) and
//! what the registry asks of them.

use super::variants::Wiring;
use super::{block_rules, picnn, AsyncRule, EnergyGnn};
use crate::model::{Model, ModelError, ProblemSize, Staleness};
use crate::params::TrainConfig;
use crate::registry::{Dims, ModelSpec, ScalingVariant};
use hogwild_settings::{at_least, open_unit, positive, Bytes, InvalidSetting};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

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
    /// ([`super::hessian`]): exact, and its cost does not grow with the condition number. Suits
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
    /// The block rules recompute a node's curvature (its own Hessian block and the
    /// curvature messages it sends) on every this-many-th update of the node and reuse the
    /// last in between; gradients are always current (default 1: every update). Unused by
    /// the gradient rule.
    #[serde(
        default = "block_rules::every_update",
        skip_serializing_if = "block_rules::is_every_update"
    )]
    pub async_hessian_every: usize,
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
        let own = self.async_rule.own_len(self.hidden) as u64;
        k.saturating_add(own)
            .saturating_add(per_neighbour.saturating_mul(max_degree))
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
    /// linearly on 2-D graphs), at hidden size 16 on chains, and with the block-minimise
    /// rule (curvature recomputed on every update).
    fn scaling_variants() -> Vec<ScalingVariant> {
        let cg: toml::Table = toml::from_str("linear_solver = \"cg\"").expect("valid TOML");
        let mut wide = cg.clone();
        wide.insert("hidden".into(), 16.into());
        let mut minimise = cg.clone();
        minimise.insert("async_rule".into(), "block-minimise".into());
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
            ScalingVariant {
                suffix: "-block-minimise",
                changes: minimise,
                chains_only: false,
            },
        ]
    }
}

/// A small energy GNN's settings for unit tests (hidden 3, message widths 4 and 3, β = 0.3,
/// Newton with Cholesky to 1e-12, the block-Newton rule), with update network `update_widths`.
#[cfg(test)]
pub(super) fn test_config(update_widths: Vec<usize>) -> EnergyConfig {
    EnergyConfig {
        hidden: 3,
        message_widths: vec![4, 3],
        update_widths,
        activation: picnn::Activation::SoftplusSquared,
        beta: 0.3,
        solver: ForwardSolver::Newton,
        linear_solver: LinearSolver::Cholesky,
        step: 0.05,
        tol: 1e-12,
        max_iter: 200,
        cg_tol: 1e-12,
        cg_max_iter: 1000,
        newton_forcing_max: 0.01,
        async_step_scale: 0.5,
        async_step: Default::default(),
        async_curvature: Default::default(),
        async_rule: AsyncRule::BlockNewton,
        async_damping: 1.0,
        async_hessian_every: 1,
        train: TrainConfig {
            batch_graphs: None,
            epochs: 1,
            lr: 0.01,
            weight_decay: 0.0,
            grad_clip: 0.0,
            lr_schedule: Default::default(),
        },
    }
}
