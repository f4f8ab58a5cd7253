//! The runs of AMP's Table 4: one job per (dataset, grid point, seed, fold) trains AMP-RNN
//! full batch on the fold's training graphs (one Adam step per epoch, the learning rate
//! halved every `halve_every` epochs) and, after every step, counts its correct predictions
//! on the validation and test graphs: the per-epoch curves both of the table's statistics
//! are computed from (`super::stats`).
//!
//! Streams (`crate::sweep::stream`): `amp/TABLE/DATASET/POINT/seed=S/params` draws the
//! initial parameters, the same for every fold (code: one `torch.manual_seed(0)` per fold's
//! process); `…/fold=F/runs` and `…/fold=F/eval-runs` seed AMP's runs (unused with constant
//! delays). Folds: `crate::sweep::stratified_folds` of the dataset's identity.
//!
//! Every finished job is recorded (`crate::experiment::JobStore`), so an interrupted table
//! resumes where it stopped.

use super::config::{GridPoint, TuSettings};
use super::data::TuGraphs;
use crate::amp::AmpTable;
use crate::experiment::JobStore;
use crate::sweep::{stratified_folds, stream};
use hogwild_amp::{
    AmpConfig, AmpModel, Budget, Example, Halting, Pooling, RunSettings, Task, Update,
};
use hogwild_models::params::Adam;
use hogwild_models::{LrSchedule, TrainConfig};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// One job: a grid point of one dataset, trained with one seed on one fold's split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TuJob {
    /// The dataset (its index in the settings).
    pub dataset: usize,
    /// The grid point.
    pub point: GridPoint,
    /// The parameter seed.
    pub seed: u64,
    /// The test fold.
    pub fold: usize,
}

/// What one job gave: per-epoch curves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TuOutcome {
    /// The full-batch training NLL before each epoch's step.
    pub losses: Vec<f64>,
    /// Correct validation predictions after each epoch's step (empty without validation).
    pub val_correct: Vec<u32>,
    /// Mean validation NLL after each epoch's step (empty without validation).
    pub val_nll: Vec<f64>,
    /// Correct test predictions after each epoch's step.
    pub test_correct: Vec<u32>,
    /// Graphs trained on, validated on and tested on.
    pub graphs: [u32; 3],
    /// Messages processed per training epoch's forward pass.
    pub messages_per_epoch: u64,
    /// Wall seconds of the job when it was computed (not in the deterministic files).
    pub seconds: f64,
}

/// Everything a job's numbers depend on besides the code; its hash is the job's id.
#[derive(Serialize)]
struct JobKey<'a> {
    format: u32,
    label: &'a str,
    dataset: &'a str,
    epochs: usize,
    lr: f64,
    halve_every: usize,
    folds: usize,
    inner_validation: bool,
    delays: crate::amp::DelayModel,
    job: &'a TuJob,
}

impl TuOutcome {
    /// Whether two outcomes hold the same numbers (wall times aside).
    pub fn same_numbers(&self, other: &TuOutcome) -> bool {
        let strip = |o: &TuOutcome| TuOutcome {
            seconds: 0.0,
            ..o.clone()
        };
        strip(self) == strip(other)
    }
}

/// Every job of the table, in (dataset, grid point, seed, fold) order.
pub fn jobs(table: &AmpTable, tu: &TuSettings) -> Vec<TuJob> {
    let mut jobs = Vec::new();
    for d in 0..tu.datasets.len() {
        for point in tu.grid(d) {
            for &seed in &table.seeds {
                for fold in 0..tu.folds {
                    jobs.push(TuJob {
                        dataset: d,
                        point,
                        seed,
                        fold,
                    });
                }
            }
        }
    }
    jobs
}

/// `amp/TABLE/DATASET/POINT/seed=S`, the prefix of a job's streams (without its fold).
fn prefix(name: &str, tu: &TuSettings, job: &TuJob) -> String {
    format!(
        "amp/{name}/{}/{}/seed={}",
        tu.datasets[job.dataset].label,
        job.point.name(),
        job.seed
    )
}

/// A job with its label (the root of its streams) and its id (its record's name).
#[derive(Debug, Clone)]
pub struct Keyed {
    /// The job.
    pub job: TuJob,
    /// `amp/TABLE/DATASET/POINT/seed=S/fold=F`.
    pub label: String,
    /// SHA-256 of the code version and everything the job's numbers depend on.
    pub id: String,
}

/// Every job of the table (named `name`) with its label and id, in job order.
pub fn keyed(name: &str, table: &AmpTable, tu: &TuSettings, data: &[TuGraphs]) -> Vec<Keyed> {
    jobs(table, tu)
        .into_iter()
        .map(|job| {
            let label = format!("{}/fold={}", prefix(name, tu, &job), job.fold);
            let id = JobStore::id(&JobKey {
                format: 1,
                label: &label,
                dataset: &data[job.dataset].identity,
                epochs: table.epochs,
                lr: table.lr,
                halve_every: tu.halve_every,
                folds: tu.folds,
                inner_validation: tu.inner_validation,
                delays: table.delays,
                job: &job,
            });
            Keyed { job, label, id }
        })
        .collect()
}

/// A job's expected cost, for dealing jobs out to shards: training messages per epoch times
/// the cell's size, `(H + M)²` per message.
pub fn cost(data: &[TuGraphs], job: &TuJob) -> f64 {
    let p = job.point;
    let width = (p.hidden + p.message) as f64;
    data[job.dataset].nodes() as f64 * p.budget as f64 * width * width
}

/// Runs every job of `jobs` not already in `store` (in parallel), records each as it ends,
/// and returns all outcomes in the order of `jobs`; counts the jobs computed in `computed`.
/// `progress` hears of each finished job.
#[allow(clippy::too_many_arguments)]
pub fn run(
    name: &str,
    table: &AmpTable,
    tu: &TuSettings,
    data: &[TuGraphs],
    jobs: &[Keyed],
    store: &JobStore,
    computed: &std::sync::atomic::AtomicUsize,
    progress: &(dyn Fn(&str) + Sync),
) -> anyhow::Result<Vec<TuOutcome>> {
    let total = jobs.len();
    let done = std::sync::atomic::AtomicUsize::new(0);
    jobs.par_iter()
        .map(|keyed| {
            let outcome = match store.load(&keyed.id) {
                Some(outcome) => outcome,
                None => {
                    let start = std::time::Instant::now();
                    let mut outcome = train(name, table, tu, &data[keyed.job.dataset], &keyed.job)?;
                    outcome.seconds = start.elapsed().as_secs_f64();
                    store.save(&keyed.id, &outcome)?;
                    computed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    outcome
                }
            };
            let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            progress(&format!(
                "{n}/{total} {} ({:.1} s)",
                keyed.label, outcome.seconds
            ));
            Ok(outcome)
        })
        .collect()
}

/// The split of fold `fold`: (train, validation, test) graph indices.
pub fn split(tu: &TuSettings, data: &TuGraphs, fold: usize) -> [Vec<usize>; 3] {
    let folds = stratified_folds(&data.identity, &data.classes, tu.folds);
    let val_fold = tu.inner_validation.then_some((fold + 1) % tu.folds);
    let mut parts: [Vec<usize>; 3] = Default::default();
    for (g, &f) in folds.iter().enumerate() {
        let part = if f == fold {
            2
        } else if Some(f) == val_fold {
            1
        } else {
            0
        };
        parts[part].push(g);
    }
    parts
}

fn train(
    name: &str,
    table: &AmpTable,
    tu: &TuSettings,
    data: &TuGraphs,
    job: &TuJob,
) -> anyhow::Result<TuOutcome> {
    let p = job.point;
    let prefix = prefix(name, tu, job);
    let label = format!("{prefix}/fold={}", job.fold);
    let config = AmpConfig {
        features: data.feature_width(),
        hidden: p.hidden,
        message: p.message,
        classes: data.n_classes,
        update: Update::Rnn,
        halting: Halting::None,
        initial_message: vec![1.0; p.message],
        skip_readout: p.skip,
    };
    let mut model = AmpModel::new(config, &mut stream(&format!("{prefix}/params")));
    let settings = RunSettings {
        delays: table.delays.delays(),
        budget: Budget::Absolute(p.budget),
    };
    let [train, val, test] = split(tu, data, job.fold);
    let labels: Vec<[usize; 1]> = data.classes.iter().map(|&c| [c]).collect();
    let example = |g: usize| Example {
        graph: &data.graphs[g],
        features: &data.features[g],
        task: Task::Graph(Pooling::Sum),
        labels: &labels[g],
    };
    let train_examples: Vec<Example> = train.iter().map(|&g| example(g)).collect();
    let optimiser = TrainConfig {
        epochs: table.epochs,
        batch_graphs: None,
        lr: table.lr,
        weight_decay: 0.0,
        grad_clip: 0.0,
        lr_schedule: LrSchedule::Halving {
            every: tu.halve_every,
        },
    };
    let mut adam = Adam::new(&model.params, &optimiser, table.epochs);
    let mut runs = stream(&format!("{label}/runs"));
    let mut eval_runs = stream(&format!("{label}/eval-runs"));
    let mut outcome = TuOutcome {
        losses: Vec::with_capacity(table.epochs),
        val_correct: Vec::new(),
        val_nll: Vec::new(),
        test_correct: Vec::with_capacity(table.epochs),
        graphs: [train.len(), val.len(), test.len()].map(|n| n as u32),
        messages_per_epoch: train
            .iter()
            .map(|&g| messages(&data.graphs[g], p.budget))
            .sum(),
        seconds: 0.0,
    };
    for epoch in 1..=table.epochs {
        let (loss, grads) = model.loss_and_grad(&train_examples, &settings, &mut runs);
        anyhow::ensure!(
            loss.is_finite(),
            "{label}: the training loss is {loss} at epoch {epoch}"
        );
        adam.step(&mut model.params, grads);
        outcome.losses.push(loss);
        if tu.inner_validation {
            let (correct, nll) = evaluate(&model, &settings, &val, &example, &mut eval_runs);
            outcome.val_correct.push(correct);
            outcome.val_nll.push(nll);
        }
        let (correct, _) = evaluate(&model, &settings, &test, &example, &mut eval_runs);
        outcome.test_correct.push(correct);
    }
    Ok(outcome)
}

/// Correct predictions on `graphs` and their mean NLL.
fn evaluate<'a>(
    model: &AmpModel,
    settings: &RunSettings,
    graphs: &[usize],
    example: &impl Fn(usize) -> Example<'a>,
    rng: &mut rand_chacha::ChaCha8Rng,
) -> (u32, f64) {
    let mut correct = 0;
    let mut nll = 0.0;
    for &g in graphs {
        let ex = example(g);
        let log_probs = model.log_probs(&ex, settings, rng);
        correct += u32::from(hogwild_amp::accuracy(&log_probs, ex.labels) == 1.0);
        nll -= log_probs[(0, ex.labels[0])];
    }
    (correct, nll / graphs.len().max(1) as f64)
}

/// Messages AMP-RNN processes in the runs from every node of `graph` with `budget`: the
/// whole budget from a node with a neighbour (every processed message sends at least one
/// copy, so the queue never empties), one from an isolated node.
fn messages(graph: &hogwild_graph::Graph, budget: usize) -> u64 {
    (0..graph.n_nodes())
        .map(|v| {
            if graph.degree(v) == 0 {
                1
            } else {
                budget as u64
            }
        })
        .sum()
}
