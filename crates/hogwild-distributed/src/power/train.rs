//! Training the unrolled WMMSE: centralized on one shared copy, or distributed with a copy
//! per pair and the reference code's gradient consensus.
//!
//! A distributed mini-batch: for every sample `b`, each pair runs the forward and backward
//! passes over the sample's links and obtains the gradient of `−(1/B) Σ_i rate_i` with
//! respect to its own copy; the pairs then mix these gradients `K` times with the sample's
//! Metropolis–Hastings weights (one round each, a message as wide as a copy) and multiply
//! by `N`, turning the neighbourhood average into an estimate of the sum over pairs. The
//! mixed gradients are summed over the mini-batch and every pair takes its own Adam step.

use super::channel::{consensus_weights, interference_links};
use super::uwmmse::{dense_combine, Rounds};
use super::{PowerConfig, PowerData};
use crate::network::Ledger;
use crate::optim::{Optimiser, OptimiserKind, OptimiserSpec};
use crate::regression::copy_spread;
use crate::stream;
use hogwild_graph::Graph;
use ndarray::{Array2, ArrayView2};
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

/// One optimiser's curves; entry `e` of every vector is measured after epoch `e + 1`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PowerRun {
    /// The curve's name.
    pub name: String,
    /// Which optimiser.
    pub kind: OptimiserKind,
    /// Test sum-rate of the untrained network.
    pub initial_sum_rate: f64,
    /// Mean test sum-rate (bps/Hz), each pair using its own copy.
    pub test_sum_rate: Vec<f64>,
    /// Mean over the epoch's training samples of the sum-rate before each update.
    pub train_sum_rate: Vec<f64>,
    /// Message rounds since the start (centralized: the forward rounds only).
    pub rounds: Vec<u64>,
    /// Root-mean-square distance of the copies from their mean (0 when centralized).
    pub copy_spread: Vec<f64>,
    /// Everything the run sent.
    pub ledger: Ledger,
}

/// Mean test sum-rate of `copies` over every sample of `batches`.
pub fn mean_sum_rate(
    cfg: &PowerConfig,
    copies: ArrayView2<'_, f64>,
    batches: &[super::MiniBatch],
) -> f64 {
    let model = cfg.model();
    let mut total = 0.0;
    let mut count = 0;
    for gain in batches.iter().flatten() {
        total += model.sum_rate(copies, gain);
        count += 1;
    }
    total / count as f64
}

/// Trains one optimiser on `data` (from [`PowerData::generate`] with the same `cfg`, which
/// must have passed [`PowerConfig::check`]). Runs of different optimisers are independent
/// and see the same mini-batch order, so a caller may run them in parallel.
pub fn train_optimiser(cfg: &PowerConfig, data: &PowerData, spec: &OptimiserSpec) -> PowerRun {
    let model = cfg.model();
    let n = cfg.pairs;
    let no_links = Graph::undirected(n, &[]).expect("n isolated nodes");
    let mut opt = Optimiser::new(spec, &no_links, model.len());
    let distributed = spec.kind.is_distributed();
    let rows = opt.rows(n);
    let mut theta = model.initial_copies(rows, &mut stream(&cfg.label("start")));
    let mut shuffle = stream(&cfg.label("shuffle"));
    let mut order: Vec<usize> = (0..data.train_batches()).collect();
    let mut ledger = Ledger::default();
    let scale = 1.0 / cfg.batch_size as f64;
    let mut run = PowerRun {
        name: spec.name.clone(),
        kind: spec.kind,
        initial_sum_rate: mean_sum_rate(cfg, theta.view(), &data.test),
        test_sum_rate: Vec::with_capacity(cfg.epochs),
        train_sum_rate: Vec::with_capacity(cfg.epochs),
        rounds: Vec::with_capacity(cfg.epochs),
        copy_spread: Vec::with_capacity(cfg.epochs),
        ledger: Ledger::default(),
    };
    let mut sample_grads = Array2::zeros((rows, model.len()));
    for _ in 0..cfg.epochs {
        order.shuffle(&mut shuffle);
        let mut train_rate = 0.0;
        for (position, &k) in order.iter().enumerate() {
            let batch = data.train_batch(cfg, k);
            // The reference code keeps the consensus graphs in generation order.
            let mixing_batch = if cfg.mimic_consensus_shuffle_bug && distributed {
                data.train_batch(cfg, position)
            } else {
                Cow::Borrowed(batch.as_ref())
            };
            let mut grads = Array2::zeros((rows, model.len()));
            for (b, gain) in batch.iter().enumerate() {
                let links = interference_links(gain);
                let mut counted = Rounds {
                    ledger: Some(&mut ledger),
                    links,
                };
                let trace = model.forward(theta.view(), gain, &mut counted);
                train_rate += trace.sum_rate;
                if !distributed {
                    // The backward pass of a centralized model runs at a server.
                    let mut server = Rounds {
                        ledger: None,
                        links,
                    };
                    model.backward(theta.view(), gain, &trace, scale, &mut grads, &mut server);
                    continue;
                }
                sample_grads.fill(0.0);
                model.backward(
                    theta.view(),
                    gain,
                    &trace,
                    scale,
                    &mut sample_grads,
                    &mut counted,
                );
                let (weights, consensus_links) = consensus_weights(&mixing_batch[b]);
                let mut mixed = Cow::Borrowed(&sample_grads);
                for _ in 0..spec.consensus_rounds {
                    ledger.count_round(consensus_links, model.len() as u64);
                    mixed = Cow::Owned(dense_combine(&weights, &mixed));
                }
                grads.scaled_add(n as f64, &*mixed);
            }
            opt.step(&mut theta, &grads, Vec::new());
        }
        run.train_sum_rate
            .push(train_rate / (data.train_batches() * cfg.batch_size) as f64);
        run.test_sum_rate
            .push(mean_sum_rate(cfg, theta.view(), &data.test));
        run.rounds.push(ledger.rounds);
        run.copy_spread.push(copy_spread(theta.view()));
    }
    run.ledger = ledger;
    run
}
