//! The optimisers: centralized SGD and Adam on one shared copy, and the distributed ones on
//! one copy per node, all of the paper's eq. (17) form
//!
//! `θ^i(t+1) = Σ_{j ∈ N⁺(i)} W_ij θ^j(t) − α f_i(g_i)`,
//!
//! with the mixing `W` a setting: the reference code's lazy Laplacian step `I − βL` (its
//! D-SGD and D-Adam) or Metropolis–Hastings weights (its D-AMSGrad, and eq. (17)). Mixing
//! reads the copies of the mini-batch's start, so its messages can ride on the mini-batch's
//! rounds ([`crate::schedule::Scheme::Pipelined`]).

use crate::minibatch::Consensus;
use crate::topology::{laplacian_mixing, metropolis_hastings};
use hogwild_graph::Graph;
use hogwild_settings::{at_least, positive, InvalidSetting, Key};
use ndarray::{Array2, ArrayView2, Zip};
use serde::{Deserialize, Serialize};

/// Adam's and AMSGrad's first-moment decay.
pub const BETA1: f64 = 0.9;
/// Adam's and AMSGrad's second-moment decay.
pub const BETA2: f64 = 0.999;
/// Adam's ε, added to `√v̂` after bias correction (PyTorch's form); AMSGrad's floor on `ũ`.
pub const EPSILON: f64 = 1e-8;
/// The reference code's consensus step size β for the Laplacian mixing rule.
pub const DEFAULT_LAPLACIAN_BETA: f64 = 1e-3;

/// Which optimiser.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OptimiserKind {
    /// Centralized SGD on one shared copy.
    Sgd,
    /// Centralized Adam (bias-corrected) on one shared copy.
    Adam,
    /// `θ ← Wθ − α g` per node.
    DSgd,
    /// Local, unmixed Adam moments per node: `θ ← Wθ − α m̂ / (√v̂ + ε)`.
    DAdam,
    /// Decentralized AMSGrad: `θ ← Wθ − α m / √max(ũ, ε)` with a mixed `ũ` tracking `v̂`,
    /// no bias correction, `v̂ = ũ = ε` at the start.
    DAmsgrad,
    /// Per-node Adam (bias-corrected, as [`OptimiserKind::Adam`]) on every copy, copies not
    /// mixed: the consensus is on the *gradients* before the step (the UWMMSE and
    /// scheduling code's "gradient consensus plus local Adam"), so only an experiment that
    /// mixes gradients may use it.
    LocalAdam,
}

impl OptimiserKind {
    /// The name in settings (`d-sgd`, `local-adam`, …).
    pub fn name(self) -> &'static str {
        match self {
            OptimiserKind::Sgd => "sgd",
            OptimiserKind::Adam => "adam",
            OptimiserKind::DSgd => "d-sgd",
            OptimiserKind::DAdam => "d-adam",
            OptimiserKind::DAmsgrad => "d-amsgrad",
            OptimiserKind::LocalAdam => "local-adam",
        }
    }

    /// Whether every node keeps its own copy.
    pub fn is_distributed(self) -> bool {
        matches!(
            self,
            OptimiserKind::DSgd
                | OptimiserKind::DAdam
                | OptimiserKind::DAmsgrad
                | OptimiserKind::LocalAdam
        )
    }

    /// Whether the optimiser mixes the copies (eq. (17)); [`OptimiserKind::LocalAdam`] is
    /// distributed but mixes gradients instead.
    pub fn mixes_copies(self) -> bool {
        self.code_mixing().is_some()
    }

    /// The mixing rule the reference code uses for this optimiser (`None`: no copies to
    /// mix, or gradients mixed instead).
    pub fn code_mixing(self) -> Option<MixingRule> {
        match self {
            OptimiserKind::Sgd | OptimiserKind::Adam | OptimiserKind::LocalAdam => None,
            OptimiserKind::DSgd | OptimiserKind::DAdam => Some(MixingRule::Laplacian),
            OptimiserKind::DAmsgrad => Some(MixingRule::MetropolisHastings),
        }
    }
}

/// How copies are mixed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MixingRule {
    /// `W = I − β L` on the unweighted graph (the reference code's D-SGD and D-Adam).
    Laplacian,
    /// Metropolis–Hastings weights (eq. (16)), as in eq. (17).
    MetropolisHastings,
}

/// One optimiser of an experiment (`[[optimisers]]`).
///
/// ```
/// let spec: hogwild_distributed::optim::OptimiserSpec =
///     toml::from_str("name = 'D-SGD (MH)'\nkind = 'd-sgd'\nlr = 1e-3\nmixing = 'metropolis-hastings'").unwrap();
/// spec.check().unwrap();
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptimiserSpec {
    /// The curve's name in results.
    pub name: String,
    /// Which optimiser.
    pub kind: OptimiserKind,
    /// Step size α.
    pub lr: f64,
    /// Mixing rule (distributed only); absent: the reference code's rule for `kind`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mixing: Option<MixingRule>,
    /// β of the Laplacian rule (only with it); absent: the reference code's 1e-3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub beta: Option<f64>,
    /// Consensus rounds `K` per update (distributed only; the reference code's 1); for
    /// [`OptimiserKind::LocalAdam`], gradient-mixing rounds per sample.
    #[serde(default = "one")]
    pub consensus_rounds: usize,
}

fn one() -> usize {
    1
}

impl OptimiserSpec {
    /// An optimiser with the reference code's mixing and one consensus round.
    pub fn new(name: &str, kind: OptimiserKind, lr: f64) -> OptimiserSpec {
        OptimiserSpec {
            name: name.to_string(),
            kind,
            lr,
            mixing: None,
            beta: None,
            consensus_rounds: 1,
        }
    }

    /// The mixing rule in force (`None` for centralized optimisers).
    pub fn mixing_rule(&self) -> Option<MixingRule> {
        self.kind
            .code_mixing()
            .map(|code| self.mixing.unwrap_or(code))
    }

    /// Checks the settings; keys are relative to the optimiser's table.
    pub fn check(&self) -> Result<(), InvalidSetting> {
        positive("lr", self.lr)?;
        if self.name.is_empty() {
            return Err(InvalidSetting::new("name", "\"\"", "must name the curve"));
        }
        if !self.kind.is_distributed() {
            if let Some(m) = self.mixing {
                return Err(InvalidSetting::new(
                    "mixing",
                    format!("{m:?}"),
                    "only distributed optimisers mix copies",
                ));
            }
            if self.consensus_rounds != 1 {
                return Err(InvalidSetting::new(
                    "consensus_rounds",
                    self.consensus_rounds,
                    "only distributed optimisers have consensus rounds",
                ));
            }
        }
        if self.kind == OptimiserKind::LocalAdam {
            if let Some(m) = self.mixing {
                return Err(InvalidSetting::new(
                    "mixing",
                    format!("{m:?}"),
                    "local-adam mixes gradients with Metropolis–Hastings weights, not copies",
                ));
            }
        }
        at_least("consensus_rounds", self.consensus_rounds as u64, 1)?;
        match (self.mixing_rule(), self.beta) {
            (Some(MixingRule::Laplacian), Some(b)) => positive("beta", b),
            (_, None) => Ok(()),
            (_, Some(b)) => Err(InvalidSetting::new(
                "beta",
                b,
                "β belongs to the Laplacian mixing rule only",
            )),
        }
    }

    /// The mixing matrix on `comm` (`None` for centralized optimisers).
    pub fn mixing_matrix(&self, comm: &Graph) -> Option<Graph> {
        self.mixing_rule().map(|rule| match rule {
            MixingRule::Laplacian => {
                laplacian_mixing(comm, self.beta.unwrap_or(DEFAULT_LAPLACIAN_BETA))
            }
            MixingRule::MetropolisHastings => metropolis_hastings(comm),
        })
    }
}

/// An optimiser's state for copies of `rows × len` (one row per node, or one shared row).
#[derive(Debug, Clone)]
pub struct Optimiser {
    spec: OptimiserSpec,
    mixing: Option<Graph>,
    t: i32,
    m: Array2<f64>,
    v: Array2<f64>,
    /// AMSGrad's running maximum of `v`.
    v_max: Array2<f64>,
    /// AMSGrad's mixed tracker of `v_max`.
    u: Array2<f64>,
}

impl Optimiser {
    /// Fresh state for `spec` on the communication graph `comm`.
    pub fn new(spec: &OptimiserSpec, comm: &Graph, len: usize) -> Optimiser {
        let rows = if spec.kind.is_distributed() {
            comm.n_nodes()
        } else {
            1
        };
        let amsgrad = spec.kind == OptimiserKind::DAmsgrad;
        let state = |on: bool, fill: f64| {
            if on {
                Array2::from_elem((rows, len), fill)
            } else {
                Array2::zeros((0, 0))
            }
        };
        let moments = matches!(
            spec.kind,
            OptimiserKind::Adam
                | OptimiserKind::DAdam
                | OptimiserKind::DAmsgrad
                | OptimiserKind::LocalAdam
        );
        Optimiser {
            spec: spec.clone(),
            mixing: spec.mixing_matrix(comm),
            t: 0,
            m: state(moments, 0.0),
            v: state(moments, 0.0),
            v_max: state(amsgrad, EPSILON),
            u: state(amsgrad, EPSILON),
        }
    }

    /// Rows of the copies this optimiser updates.
    pub fn rows(&self, n_nodes: usize) -> usize {
        if self.spec.kind.is_distributed() {
            n_nodes
        } else {
            1
        }
    }

    /// What the next update mixes (the copies `theta`, and AMSGrad's `ũ`), for the
    /// mini-batch's rounds to carry; `None` for centralized optimisers.
    pub fn consensus<'a>(&'a self, theta: ArrayView2<'a, f64>) -> Option<Consensus<'a>> {
        let weights = self.mixing.as_ref()?;
        let mut payloads = vec![theta];
        if self.spec.kind == OptimiserKind::DAmsgrad {
            payloads.push(self.u.view());
        }
        Some(Consensus {
            weights,
            steps: self.spec.consensus_rounds,
            payloads,
        })
    }

    /// One update of `theta` with gradients `grads` (same shape) and the mixed payloads
    /// of [`Optimiser::consensus`] (empty for centralized optimisers).
    pub fn step(&mut self, theta: &mut Array2<f64>, grads: &Array2<f64>, mixed: Vec<Array2<f64>>) {
        assert_eq!(theta.dim(), grads.dim());
        let lr = self.spec.lr;
        self.t += 1;
        let mut mixed = mixed.into_iter();
        if self.spec.kind.mixes_copies() {
            *theta = mixed
                .next()
                .expect("distributed steps start from the mixed copies");
        }
        match self.spec.kind {
            OptimiserKind::Sgd | OptimiserKind::DSgd => theta.scaled_add(-lr, grads),
            OptimiserKind::Adam | OptimiserKind::DAdam | OptimiserKind::LocalAdam => {
                let (c1, c2) = (1.0 - BETA1.powi(self.t), 1.0 - BETA2.powi(self.t));
                Zip::from(&mut *theta)
                    .and(&mut self.m)
                    .and(&mut self.v)
                    .and(grads)
                    .for_each(|p, m, v, &g| {
                        *m = BETA1 * *m + (1.0 - BETA1) * g;
                        *v = BETA2 * *v + (1.0 - BETA2) * g * g;
                        *p -= lr * (*m / c1) / ((*v / c2).sqrt() + EPSILON);
                    });
            }
            OptimiserKind::DAmsgrad => {
                self.u = mixed.next().expect("AMSGrad mixes ũ with the copies");
                Zip::from(&mut *theta)
                    .and(&mut self.m)
                    .and(&mut self.v)
                    .and(&mut self.v_max)
                    .and(&mut self.u)
                    .and(grads)
                    .for_each(|p, m, v, v_max, u, &g| {
                        *m = BETA1 * *m + (1.0 - BETA1) * g;
                        *v = BETA2 * *v + (1.0 - BETA2) * g * g;
                        let new_max = v_max.max(*v);
                        *p -= lr * *m / u.max(EPSILON).sqrt();
                        *u += new_max - *v_max;
                        *v_max = new_max;
                    });
            }
        }
    }
}

/// Checks an experiment's list of optimisers (key `optimisers`): at least one, each valid,
/// names unique, and no kind the experiment cannot run (`refused` gives the reason, or
/// `None` for a kind it runs).
pub fn check_optimisers(
    optimisers: &[OptimiserSpec],
    refused: impl Fn(OptimiserKind) -> Option<&'static str>,
) -> Result<(), InvalidSetting> {
    if optimisers.is_empty() {
        return Err(InvalidSetting::new(
            "optimisers",
            "[]",
            "name at least one optimiser",
        ));
    }
    for (i, spec) in optimisers.iter().enumerate() {
        let here = Key::new().name("optimisers").index(i);
        spec.check().map_err(|e| e.under(here.clone()))?;
        if let Some(why) = refused(spec.kind) {
            return Err(InvalidSetting::new(
                here.name("kind"),
                spec.kind.name(),
                why,
            ));
        }
        if optimisers[..i].iter().any(|o| o.name == spec.name) {
            return Err(InvalidSetting::new(
                here.name("name"),
                format!("{:?}", spec.name),
                "names must be unique",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn optimiser_lists_are_checked_with_the_key_and_the_settings_spelling() {
        let spec = |name: &str, kind| OptimiserSpec::new(name, kind, 1e-3);
        let no_mixing = |kind: OptimiserKind| kind.mixes_copies().then_some("mixes copies");
        let err = check_optimisers(&[], no_mixing).unwrap_err();
        assert_eq!(err.key.to_string(), "optimisers");
        let err = check_optimisers(
            &[
                spec("A", OptimiserKind::Adam),
                spec("B", OptimiserKind::DSgd),
            ],
            no_mixing,
        )
        .unwrap_err();
        assert_eq!(err.key.to_string(), "optimisers[1].kind");
        assert!(err.to_string().contains("d-sgd"), "{err}");
        let err = check_optimisers(
            &[
                spec("A", OptimiserKind::Adam),
                spec("A", OptimiserKind::Sgd),
            ],
            no_mixing,
        )
        .unwrap_err();
        assert_eq!(err.key.to_string(), "optimisers[1].name");
        let mut bad = spec("A", OptimiserKind::Adam);
        bad.lr = -1.0;
        let err = check_optimisers(&[bad], no_mixing).unwrap_err();
        assert_eq!(err.key.to_string(), "optimisers[0].lr");
        assert!(check_optimisers(&[spec("A", OptimiserKind::LocalAdam)], no_mixing).is_ok());
    }
}
