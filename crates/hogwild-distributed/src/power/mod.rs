//! Experiment 2: unsupervised power allocation with an unrolled WMMSE network. Pairs of
//! transmitters and receivers share a band; an unrolled WMMSE whose MSE weights are
//! adjusted by small GCNs is trained to maximise the sum-rate, centralized (one shared
//! copy, SGD or Adam) and distributed (a copy per pair, gradients mixed per sample over the
//! pairs' consensus graph, then a local Adam step), and both are measured against WMMSE
//! truncated to as many iterations as the network has layers and WMMSE run to convergence.
//!
//! ```
//! use hogwild_distributed::power::{run_power, PowerConfig};
//! let mut cfg = PowerConfig::quick();
//! cfg.epochs = 1;
//! cfg.train_batches = 1;
//! let curves = run_power(&cfg).unwrap();
//! assert_eq!(curves.runs.len(), 2);
//! assert_eq!(curves.runs[1].test_sum_rate.len(), 1);
//! assert!(curves.full_wmmse >= curves.truncated_wmmse);
//! ```

pub mod channel;
mod train;
pub mod uwmmse;
pub mod wmmse;

pub use channel::MiniBatch;
pub use train::{train_optimiser, PowerRun};

use crate::optim::{OptimiserKind, OptimiserSpec};
use hogwild_settings::{at_least, non_negative, positive, InvalidSetting};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use uwmmse::Uwmmse;

/// The experiment's settings (`[distributed.fdt-power.power]`);
/// [`PowerConfig::paper`] is the reference code's setting on its 100-mini-batch training
/// set, with its bug fixed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PowerConfig {
    /// Transmitter–receiver pairs `N` (the nodes).
    pub pairs: usize,
    /// Every transmitter and receiver is uniform in `[−half_width, half_width]²` metres.
    pub half_width: f64,
    /// Carrier frequency of the path-loss model, GHz.
    pub carrier_ghz: f64,
    /// Log-normal shadowing standard deviation, dB (draws clipped to ±2 std).
    pub shadowing_std_db: f64,
    /// Rayleigh fading on every link.
    pub fading: bool,
    /// Set gains below the reference code's threshold (138.86 dB path loss) to 0.
    pub threshold: bool,
    /// `P_max`, watts.
    pub max_power: f64,
    /// Noise power, dBW.
    pub noise_dbw: f64,
    /// Samples per mini-batch `B` (one placement, fresh shadowing and fading per sample).
    pub batch_size: usize,
    /// Training mini-batches.
    pub train_batches: usize,
    /// Test mini-batches.
    pub test_batches: usize,
    /// Unrolled layers `L` (also the truncated WMMSE's iterations).
    pub layers: usize,
    /// Hidden width of every GCN.
    pub hidden: usize,
    /// Passes over the training mini-batches.
    pub epochs: usize,
    /// Iterations of the full WMMSE reference.
    pub full_wmmse_iterations: usize,
    /// Seed of the data, the start and the shuffles.
    pub seed: u64,
    /// Reproduce the reference code's bug: mini-batches are reshuffled every epoch but their
    /// consensus graphs are not, so from epoch 2 on the gradients of the mini-batch at
    /// position `k` are mixed with the consensus graphs of training mini-batch `k`.
    #[serde(default)]
    pub mimic_consensus_shuffle_bug: bool,
    /// The curves to run: `sgd` or `adam` (centralized), `local-adam` (distributed).
    pub optimisers: Vec<OptimiserSpec>,
}

impl Default for PowerConfig {
    fn default() -> Self {
        PowerConfig::paper()
    }
}

impl PowerConfig {
    /// The reference code's setting: 25 pairs in a 1 km square, 0.9 GHz, shadowing 7.2 dB,
    /// fading and thresholding on, 5 W, −136.87 dBW noise, B = 64, 100 training and 100
    /// test mini-batches, 4 layers, hidden 5, Adam with lr 1e-2 for 200 epochs, WMMSE to
    /// 100 iterations, seed 0.
    pub fn paper() -> PowerConfig {
        let lr = 1e-2;
        PowerConfig {
            pairs: 25,
            half_width: 500.0,
            carrier_ghz: 0.9,
            shadowing_std_db: 7.2,
            fading: true,
            threshold: true,
            max_power: 5.0,
            noise_dbw: -136.87,
            batch_size: 64,
            train_batches: 100,
            test_batches: 100,
            layers: 4,
            hidden: 5,
            epochs: 200,
            full_wmmse_iterations: 100,
            seed: 0,
            mimic_consensus_shuffle_bug: false,
            optimisers: vec![
                OptimiserSpec::new("UWMMSE (Adam)", OptimiserKind::Adam, lr),
                OptimiserSpec::new("D-UWMMSE (local Adam)", OptimiserKind::LocalAdam, lr),
            ],
        }
    }

    /// A small version of [`PowerConfig::paper`] for quick runs and tests: B = 8, 100
    /// training and 8 test mini-batches, 30 epochs, and a step of 5e-2 for both optimisers.
    /// The network first converges to about truncated WMMSE and only passes it once Adam's
    /// normalised steps have grown the weights that multiply the tiny channel gains; the
    /// larger step gets there in 3000 steps instead of the paper's 20 000.
    pub fn quick() -> PowerConfig {
        let mut cfg = PowerConfig {
            batch_size: 8,
            train_batches: 100,
            test_batches: 8,
            epochs: 30,
            ..PowerConfig::paper()
        };
        cfg.optimisers.iter_mut().for_each(|o| o.lr = 5e-2);
        cfg
    }

    /// Checks the settings; keys are relative to the experiment's table.
    pub fn check(&self) -> Result<(), InvalidSetting> {
        at_least("pairs", self.pairs as u64, 2)?;
        positive("half_width", self.half_width)?;
        positive("carrier_ghz", self.carrier_ghz)?;
        non_negative("shadowing_std_db", self.shadowing_std_db)?;
        positive("max_power", self.max_power)?;
        if !self.noise_dbw.is_finite() {
            return Err(InvalidSetting::new(
                "noise_dbw",
                self.noise_dbw,
                "must be a finite power in dBW",
            ));
        }
        at_least("batch_size", self.batch_size as u64, 1)?;
        at_least("train_batches", self.train_batches as u64, 1)?;
        at_least("test_batches", self.test_batches as u64, 1)?;
        at_least("layers", self.layers as u64, 1)?;
        at_least("hidden", self.hidden as u64, 1)?;
        at_least("epochs", self.epochs as u64, 1)?;
        at_least(
            "full_wmmse_iterations",
            self.full_wmmse_iterations as u64,
            self.layers as u64,
        )
        .map_err(|e| InvalidSetting {
            why: format!(
                "{} (the full reference runs at least the truncated one's `layers`)",
                e.why
            ),
            ..e
        })?;
        crate::optim::check_optimisers(&self.optimisers, |kind| {
            kind.mixes_copies().then_some(
                "the power experiment mixes gradients, not copies: use sgd, adam or local-adam",
            )
        })
    }

    /// The unrolled network and the system constants.
    pub fn model(&self) -> Uwmmse {
        Uwmmse {
            layers: self.layers,
            hidden: self.hidden,
            max_power: self.max_power,
            noise: channel::noise_power(self.noise_dbw),
        }
    }

    /// The label of one of this configuration's random streams.
    fn label(&self, what: &str) -> String {
        format!("fdt-power/{}/{what}", self.seed)
    }
}

/// Training sets up to this many scalars are kept in memory (256 MiB of gains); larger ones
/// (the paper-size 10 000 mini-batches of 64 × 25 × 25 gains, 3.2 GB) are drawn again from
/// their streams each time they are used, which costs little beside training on them.
const STORED_TRAINING_SCALARS: usize = 1 << 25;

/// The training and test mini-batches.
#[derive(Debug, Clone)]
pub struct PowerData {
    /// Training mini-batches in generation order, when the set is small enough to keep.
    stored: Option<Vec<MiniBatch>>,
    /// How many training mini-batches there are.
    train_batches: usize,
    /// Test mini-batches.
    pub test: Vec<MiniBatch>,
}

impl PowerData {
    /// Draws the test mini-batches, and the training mini-batches when they fit the memory
    /// budget; every mini-batch comes from its own named stream.
    pub fn generate(cfg: &PowerConfig) -> PowerData {
        let scalars = cfg.train_batches * cfg.batch_size * cfg.pairs * cfg.pairs;
        PowerData {
            stored: (scalars <= STORED_TRAINING_SCALARS).then(|| {
                (0..cfg.train_batches)
                    .map(|k| channel::draw_minibatch(cfg, "train", k))
                    .collect()
            }),
            train_batches: cfg.train_batches,
            test: (0..cfg.test_batches)
                .map(|k| channel::draw_minibatch(cfg, "test", k))
                .collect(),
        }
    }

    /// How many training mini-batches there are.
    pub fn train_batches(&self) -> usize {
        self.train_batches
    }

    /// Training mini-batch `k` (in generation order): kept, or drawn again.
    pub fn train_batch(&self, cfg: &PowerConfig, k: usize) -> Cow<'_, MiniBatch> {
        match &self.stored {
            Some(batches) => Cow::Borrowed(&batches[k]),
            None => Cow::Owned(channel::draw_minibatch(cfg, "train", k)),
        }
    }
}

/// Every curve of the experiment; sum-rates are test-set means in bps/Hz.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PowerCurves {
    /// The untrained UWMMSE (identical for every run: all start from the same draw).
    pub untrained_sum_rate: f64,
    /// WMMSE after `layers` iterations (the reading of "WMMSE-Tr").
    pub truncated_wmmse: f64,
    /// WMMSE after `full_wmmse_iterations` iterations.
    pub full_wmmse: f64,
    /// WMMSE after `t` iterations, `t = 0..=full_wmmse_iterations` (0: full power).
    pub wmmse_by_iteration: Vec<f64>,
    /// One per optimiser, in the order of `optimisers`.
    pub runs: Vec<PowerRun>,
}

/// Checks `cfg`, generates its data, computes the WMMSE references and trains every
/// optimiser.
pub fn run_power(cfg: &PowerConfig) -> Result<PowerCurves, InvalidSetting> {
    cfg.check()?;
    let data = PowerData::generate(cfg);
    let model = cfg.model();
    let wmmse_by_iteration = wmmse::mean_wmmse_curve(
        data.test.iter().flatten(),
        model.noise,
        cfg.max_power,
        cfg.full_wmmse_iterations,
    );
    let runs: Vec<PowerRun> = cfg
        .optimisers
        .iter()
        .map(|spec| train_optimiser(cfg, &data, spec))
        .collect();
    Ok(PowerCurves {
        untrained_sum_rate: runs[0].initial_sum_rate,
        truncated_wmmse: wmmse_by_iteration[cfg.layers],
        full_wmmse: wmmse_by_iteration[cfg.full_wmmse_iterations],
        wmmse_by_iteration,
        runs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_training_set_drawn_again_trains_like_a_kept_one() {
        let mut cfg = PowerConfig::quick();
        cfg.batch_size = 4;
        cfg.train_batches = 3;
        cfg.test_batches = 1;
        cfg.epochs = 2;
        cfg.mimic_consensus_shuffle_bug = true;
        let kept = PowerData::generate(&cfg);
        assert!(kept.stored.is_some());
        let drawn = PowerData {
            stored: None,
            ..kept.clone()
        };
        for spec in &cfg.optimisers {
            assert_eq!(
                train_optimiser(&cfg, &kept, spec),
                train_optimiser(&cfg, &drawn, spec)
            );
        }
        let paper_size = PowerConfig {
            train_batches: 10_000,
            test_batches: 1,
            ..PowerConfig::paper()
        };
        let scalars = paper_size.train_batches * paper_size.batch_size * 625;
        assert!(
            scalars > STORED_TRAINING_SCALARS,
            "the paper-size set is drawn on demand"
        );
    }
}
