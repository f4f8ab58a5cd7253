//! Experiment 1: supervised node regression. A teacher filter on a fixed Barabási–Albert
//! graph labels random node features (plus noise of variance `noise_std²`, the MSE floor);
//! a student of the same architecture is trained centralized (SGD, Adam) and distributed
//! (D-SGD, D-Adam, D-AMSGrad), and each run logs test MSE and message rounds per epoch.
//!
//! ```
//! use hogwild_distributed::regression::{run_regression, RegressionConfig};
//! let mut cfg = RegressionConfig::paper();
//! cfg.nodes = 12;
//! cfg.train_samples = 8;
//! cfg.test_samples = 2;
//! cfg.batch_size = 4;
//! cfg.epochs = 2;
//! let curves = run_regression(&cfg).unwrap();
//! assert_eq!(curves.runs.len(), 5);
//! assert_eq!(curves.runs[2].test_mse.len(), 2);
//! ```

mod data;

pub use data::{student_parameters, RegressionData, Sample, FEATURES};

use crate::minibatch::{run_minibatch, Filter};
use crate::network::{Ledger, Network};
use crate::optim::{Optimiser, OptimiserKind, OptimiserSpec};
use crate::schedule::Scheme;
use crate::stream;
use hogwild_settings::{at_least, non_negative, InvalidSetting};
use ndarray::{ArrayView2, Axis};
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

/// The experiment's settings (`[distributed.fdt-regression.regression]`); [`RegressionConfig::paper`] is
/// the reference code's setting with the reference code's bugs fixed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegressionConfig {
    /// Nodes `N` of the Barabási–Albert graph.
    pub nodes: usize,
    /// Edges each new node attaches with (`m`).
    pub attachment: usize,
    /// The graph's seed (one fixed graph for every run).
    pub graph_seed: u64,
    /// Hidden width of teacher and student.
    pub hidden: usize,
    /// Preset training samples.
    pub train_samples: usize,
    /// Test samples.
    pub test_samples: usize,
    /// Samples per mini-batch `B` (the last mini-batch of an epoch may be smaller).
    pub batch_size: usize,
    /// Passes over the training samples.
    pub epochs: usize,
    /// Standard deviation of the label noise (the MSE floor is its square).
    pub noise_std: f64,
    /// Seed of the teacher, the samples, the student's start and the shuffles.
    pub seed: u64,
    /// Draw a fresh training set every epoch (truly online) instead of reshuffling a
    /// preset one.
    #[serde(default)]
    pub resample_every_epoch: bool,
    /// Reproduce the reference code's test features (one-hot classes drawn from 0…9 with
    /// depth 5, so about half the test rows have an all-zero one-hot block).
    #[serde(default)]
    pub mimic_test_one_hot_bug: bool,
    /// How the distributed optimisers' exchanges are laid out in rounds.
    pub scheme: Scheme,
    /// The curves to run.
    pub optimisers: Vec<OptimiserSpec>,
}

impl Default for RegressionConfig {
    fn default() -> Self {
        RegressionConfig::paper()
    }
}

impl RegressionConfig {
    /// The reference code's setting: N = 100, m = 2, 1000 training and 20 test samples,
    /// B = 100, 1000 epochs, noise 0.1, α = β = 1e-3, the five optimisers, pipelined.
    pub fn paper() -> RegressionConfig {
        let lr = 1e-3;
        RegressionConfig {
            nodes: 100,
            attachment: 2,
            graph_seed: 3,
            hidden: 10,
            train_samples: 1000,
            test_samples: 20,
            batch_size: 100,
            epochs: 1000,
            noise_std: 0.1,
            seed: 42,
            resample_every_epoch: false,
            mimic_test_one_hot_bug: false,
            scheme: Scheme::Pipelined,
            optimisers: vec![
                OptimiserSpec::new("SGD", OptimiserKind::Sgd, lr),
                OptimiserSpec::new("Adam", OptimiserKind::Adam, lr),
                OptimiserSpec::new("D-SGD", OptimiserKind::DSgd, lr),
                OptimiserSpec::new("D-Adam", OptimiserKind::DAdam, lr),
                OptimiserSpec::new("D-AMSGrad", OptimiserKind::DAmsgrad, lr),
            ],
        }
    }

    /// A small version of [`RegressionConfig::paper`] that still learns, for quick runs and
    /// tests: N = 30, 200 training samples, B = 20, 60 epochs.
    pub fn quick() -> RegressionConfig {
        RegressionConfig {
            nodes: 30,
            train_samples: 200,
            batch_size: 20,
            epochs: 60,
            ..RegressionConfig::paper()
        }
    }

    /// Checks the settings; keys are relative to the experiment's table.
    pub fn check(&self) -> Result<(), InvalidSetting> {
        at_least("attachment", self.attachment as u64, 1)?;
        at_least("nodes", self.nodes as u64, self.attachment as u64 + 1).map_err(|e| {
            InvalidSetting {
                why: format!(
                    "{} (a Barabási–Albert graph needs more nodes than `attachment`)",
                    e.why
                ),
                ..e
            }
        })?;
        at_least("hidden", self.hidden as u64, 1)?;
        at_least("train_samples", self.train_samples as u64, 1)?;
        at_least("test_samples", self.test_samples as u64, 1)?;
        at_least("batch_size", self.batch_size as u64, 1)?;
        if self.batch_size > self.train_samples {
            return Err(InvalidSetting::new(
                "batch_size",
                self.batch_size,
                format!("must not exceed train_samples ({})", self.train_samples),
            ));
        }
        at_least("epochs", self.epochs as u64, 1)?;
        non_negative("noise_std", self.noise_std)?;
        if self.scheme == Scheme::CentralizedInference {
            return Err(InvalidSetting::new(
                "scheme",
                self.scheme.name(),
                "distributed training needs a scheme with backward rounds: naive, naive-piggybacked or pipelined",
            ));
        }
        crate::optim::check_optimisers(&self.optimisers, |kind| {
            (kind == OptimiserKind::LocalAdam).then_some(
                "mixes gradients per sample, which only the power and scheduling experiments build; use d-adam here",
            )
        })
    }

    /// The label of one of this configuration's random streams.
    fn label(&self, what: &str) -> String {
        format!("fdt-regression/{}/{what}", self.seed)
    }
}

/// One optimiser's curves; entry `e` of every vector is measured after epoch `e + 1`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OptimiserCurve {
    /// The curve's name.
    pub name: String,
    /// Which optimiser.
    pub kind: OptimiserKind,
    /// The message schedule the rounds were counted under.
    pub scheme: Scheme,
    /// Test MSE of the untrained student.
    pub initial_test_mse: f64,
    /// Test MSE over all test node outputs, each node using its own copy.
    pub test_mse: Vec<f64>,
    /// Mean over the epoch's mini-batches of the MSE before each update.
    pub train_mse: Vec<f64>,
    /// Message rounds since the start.
    pub rounds: Vec<u64>,
    /// Root-mean-square distance of the copies from their mean (0 when centralized).
    pub copy_spread: Vec<f64>,
    /// Everything the run sent.
    pub ledger: Ledger,
}

/// Every optimiser's curves, in the order of `optimisers`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegressionCurves {
    /// One per optimiser.
    pub runs: Vec<OptimiserCurve>,
}

/// Checks `cfg`, generates its data and trains every optimiser.
pub fn run_regression(cfg: &RegressionConfig) -> Result<RegressionCurves, InvalidSetting> {
    cfg.check()?;
    let data = RegressionData::generate(cfg);
    let runs = cfg
        .optimisers
        .iter()
        .map(|spec| train_optimiser(cfg, &data, spec))
        .collect();
    Ok(RegressionCurves { runs })
}

/// Trains one optimiser on `data` (from [`RegressionData::generate`] with the same `cfg`,
/// which must have passed [`RegressionConfig::check`]). Runs of different optimisers are
/// independent, so a caller may run them in parallel; every optimiser sees the same
/// mini-batch order.
pub fn train_optimiser(
    cfg: &RegressionConfig,
    data: &RegressionData,
    spec: &OptimiserSpec,
) -> OptimiserCurve {
    let filter = Filter::new(data.arch.clone(), data.shift.clone());
    let len = filter.layout.len;
    let mut net = Network::new(data.comm.clone());
    let mut opt = Optimiser::new(spec, &data.comm, len);
    let rows = opt.rows(cfg.nodes);
    let mut theta = student_parameters(len, rows, &mut stream(&cfg.label("student")));
    let (scheme, grad_scale) = if spec.kind.is_distributed() {
        (cfg.scheme, 1.0)
    } else {
        // The reference code's centralized loss is B × (MSE over the B·N outputs), i.e.
        // the distributed loss Σ_b Σ_k ℓ_k divided by N.
        (Scheme::CentralizedInference, 1.0 / cfg.nodes as f64)
    };
    let mut shuffle = stream(&cfg.label("shuffle"));
    let mut online = stream(&cfg.label("online"));
    let mut train = data.train.clone();
    let mut order: Vec<usize> = (0..train.len()).collect();
    let mut curve = OptimiserCurve {
        name: spec.name.clone(),
        kind: spec.kind,
        scheme,
        initial_test_mse: test_mse(&filter, theta.view(), &data.test),
        test_mse: Vec::with_capacity(cfg.epochs),
        train_mse: Vec::with_capacity(cfg.epochs),
        rounds: Vec::with_capacity(cfg.epochs),
        copy_spread: Vec::with_capacity(cfg.epochs),
        ledger: Ledger::default(),
    };
    for _ in 0..cfg.epochs {
        if cfg.resample_every_epoch {
            train = data.training_samples(cfg, &mut online);
        }
        order.shuffle(&mut shuffle);
        let mut train_mse = 0.0;
        let batches = order.chunks(cfg.batch_size);
        let n_batches = batches.len();
        for batch in batches {
            let x: Vec<ArrayView2<'_, f64>> = batch.iter().map(|&s| train[s].x.view()).collect();
            let y: Vec<ArrayView2<'_, f64>> = batch.iter().map(|&s| train[s].y.view()).collect();
            let outcome = run_minibatch(
                &mut net,
                &filter,
                theta.view(),
                &x,
                &y,
                scheme,
                opt.consensus(theta.view()),
            );
            train_mse += outcome.squared_error / (batch.len() * cfg.nodes) as f64;
            let mut grads = outcome.grads;
            if grad_scale != 1.0 {
                grads *= grad_scale;
            }
            opt.step(&mut theta, &grads, outcome.mixed);
        }
        curve.train_mse.push(train_mse / n_batches as f64);
        curve
            .test_mse
            .push(test_mse(&filter, theta.view(), &data.test));
        curve.rounds.push(net.ledger.rounds);
        curve.copy_spread.push(copy_spread(theta.view()));
    }
    curve.ledger = net.ledger;
    curve
}

/// Mean squared error over every test node output, each node using its row of `copies`.
pub fn test_mse(filter: &Filter, copies: ArrayView2<'_, f64>, test: &[Sample]) -> f64 {
    let mut sum = 0.0;
    let mut count = 0;
    for s in test {
        let out = crate::filter::predict(&filter.arch, &filter.shift, copies, s.x.view());
        sum += (&out - &s.y).iter().map(|r| r * r).sum::<f64>();
        count += out.len();
    }
    sum / count as f64
}

/// Root-mean-square distance of the rows of `copies` from their mean row.
pub fn copy_spread(copies: ArrayView2<'_, f64>) -> f64 {
    let mean = copies.mean_axis(Axis(0)).expect("at least one copy");
    let sq: f64 = copies
        .rows()
        .into_iter()
        .map(|r| (&r - &mean).iter().map(|d| d * d).sum::<f64>())
        .sum();
    (sq / copies.nrows() as f64).sqrt()
}

/// One scheme's count for one mini-batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SchemeLedger {
    /// The scheme.
    pub scheme: Scheme,
    /// What one mini-batch sent under it.
    pub per_minibatch: Ledger,
}

/// The communication ledger (the paper's Table I), measured: one mini-batch of `cfg`'s
/// first `batch_size` training samples through the simulator under every scheme, with
/// D-SGD's consensus (`consensus_rounds` mixing steps of Metropolis–Hastings weights).
pub fn measure_ledger(
    cfg: &RegressionConfig,
    data: &RegressionData,
    consensus_rounds: usize,
) -> Vec<SchemeLedger> {
    let filter = Filter::new(data.arch.clone(), data.shift.clone());
    let mut spec = OptimiserSpec::new("ledger", OptimiserKind::DSgd, 1e-3);
    spec.mixing = Some(crate::optim::MixingRule::MetropolisHastings);
    spec.consensus_rounds = consensus_rounds;
    let opt = Optimiser::new(&spec, &data.comm, filter.layout.len);
    let theta = student_parameters(
        filter.layout.len,
        cfg.nodes,
        &mut stream(&cfg.label("student")),
    );
    let batch = &data.train[..cfg.batch_size.min(data.train.len())];
    let x: Vec<ArrayView2<'_, f64>> = batch.iter().map(|s| s.x.view()).collect();
    let y: Vec<ArrayView2<'_, f64>> = batch.iter().map(|s| s.y.view()).collect();
    Scheme::ALL
        .iter()
        .map(|&scheme| {
            let mut net = Network::new(data.comm.clone());
            let consensus = match scheme {
                Scheme::CentralizedInference => None,
                _ => opt.consensus(theta.view()),
            };
            run_minibatch(&mut net, &filter, theta.view(), &x, &y, scheme, consensus);
            SchemeLedger {
                scheme,
                per_minibatch: net.ledger,
            }
        })
        .collect()
}
