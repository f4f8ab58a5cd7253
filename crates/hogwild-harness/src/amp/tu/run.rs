//! The runs of AMP's Table 4: one job per (dataset, row, grid point, seed, fold) trains
//! AMP-RNN, or a baseline (the registry's GCN, GAT or GIN), full batch on the fold's
//! training graphs (one Adam step per epoch, the learning rate halved every `halve_every`
//! epochs) and, after every step, counts its correct predictions on the validation and test
//! graphs: the per-epoch curves both of the table's statistics are computed from
//! (`super::stats`). A baseline predicts every node's class and a graph by its nodes' mean
//! logits (`hogwild_models::loss::graph_accuracy_percent`), as in the harness's other
//! graph-classification tables; its `hidden` is the grid's and its training the table's.
//!
//! Streams (`crate::sweep::stream`): `amp/TABLE/DATASET/POINT/seed=S/params` draws the
//! initial parameters, the same for every fold (code: one `torch.manual_seed(0)` per fold's
//! process); `…/fold=F/runs` and `…/fold=F/eval-runs` seed AMP's runs (unused with constant
//! delays), `…/fold=F/shuffle` a baseline's training (unused full batch). Folds:
//! `crate::sweep::stratified_folds` of the dataset's identity.
//!
//! Every finished job is recorded (`crate::experiment::JobStore`), so an interrupted table
//! resumes where it stopped.

use super::config::{AmpAxes, GridPoint, TuSettings};
use super::data::{TuData, TuGraphs};
use crate::amp::{AmpRow, AmpTable};
use crate::experiment::JobStore;
use crate::sweep::{stratified_folds, stream};
use hogwild_amp::{
    AmpConfig, AmpModel, Budget, Example, Halting, Pooling, RunSettings, Task, Update,
};
use hogwild_graph::{Batch, Sample, Targets};
use hogwild_models::loss::argmax_rows;
use hogwild_models::registry::{kind, Settings};
use hogwild_models::{Dims, LrSchedule, ModelsConfig, TrainConfig};
use hogwild_settings::InvalidSetting;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// One job: a grid point (of a row) of one dataset, trained with one seed on one fold's
/// split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TuJob {
    /// The dataset (its index in the settings).
    pub dataset: usize,
    /// The grid point, with its row.
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
    /// Messages processed per training epoch's forward pass (AMP-RNN; 0 for a baseline).
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
    /// A baseline's resolved registry settings.
    baseline: Option<toml::Table>,
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

/// Every job of the table, in (dataset, row, grid point, seed, fold) order.
pub fn jobs(table: &AmpTable, tu: &TuSettings) -> Vec<TuJob> {
    let mut jobs = Vec::new();
    for d in 0..tu.datasets.len() {
        for &row in &table.models {
            for point in tu.grid(d, row) {
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
    }
    jobs
}

/// The optimiser of every job: full batch, Adam at the table's rate, halved every
/// `halve_every` epochs, no weight decay or clipping (code).
pub fn optimiser(table: &AmpTable, tu: &TuSettings) -> TrainConfig {
    table.optimiser(LrSchedule::Halving {
        every: tu.halve_every,
    })
}

/// The settings of baseline `row` at width `hidden`: its `[models.NAME]` section with
/// `hidden` and `train` replaced by the grid's and the table's; errors keyed relative to
/// that section.
pub fn baseline_settings(
    models: &ModelsConfig,
    row: AmpRow,
    hidden: usize,
    table: &AmpTable,
    tu: &TuSettings,
) -> Result<Box<dyn Settings>, InvalidSetting> {
    let name = row.registry().expect("a baseline row");
    let given = models.get(name).ok_or_else(|| {
        InvalidSetting::new("", format!("{name:?}"), "no [models] section sets it")
    })?;
    let mut section = given.to_toml();
    if !section.contains_key("hidden") {
        return Err(InvalidSetting::new(
            "hidden",
            "(missing)",
            "a Table 4 baseline needs a `hidden` width (the grid sets it)",
        ));
    }
    section.insert("hidden".into(), toml::Value::Integer(hidden as i64));
    let train = toml::Value::try_from(optimiser(table, tu)).expect("training settings serialise");
    section.insert("train".into(), train);
    let settings = kind(name).expect("a registry model").parse(section)?;
    settings.check()?;
    Ok(settings)
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
pub fn keyed(name: &str, table: &AmpTable, tu: &TuSettings, data: &TuData) -> Vec<Keyed> {
    jobs(table, tu)
        .into_iter()
        .map(|job| {
            let label = format!("{}/fold={}", prefix(name, tu, &job), job.fold);
            let baseline = job.point.amp.is_none().then(|| {
                baseline_settings(&data.models, job.point.row, job.point.hidden, table, tu)
                    .expect("checked at load")
                    .to_toml()
            });
            let id = JobStore::id(&JobKey {
                format: 2,
                label: &label,
                dataset: &data.datasets[job.dataset].identity,
                epochs: table.epochs,
                lr: table.lr,
                halve_every: tu.halve_every,
                folds: tu.folds,
                inner_validation: tu.inner_validation,
                delays: table.delays,
                job: &job,
                baseline,
            });
            Keyed { job, label, id }
        })
        .collect()
}

/// A job's expected cost, for dealing jobs out to shards: AMP-RNN's training messages per
/// epoch times the cell's size, `(H + M)²` per message; a baseline's nodes times `H²`.
pub fn cost(data: &TuData, job: &TuJob) -> f64 {
    let p = job.point;
    let nodes = data.datasets[job.dataset].nodes() as f64;
    match p.amp {
        Some(a) => {
            let width = (p.hidden + a.message) as f64;
            nodes * a.budget as f64 * width * width
        }
        None => nodes * (p.hidden * p.hidden) as f64,
    }
}

/// Runs every job of `jobs` not already in `store` (in parallel), records each as it ends,
/// and returns all outcomes in the order of `jobs`; counts the jobs computed in `computed`.
/// `progress` hears of each finished job.
#[allow(clippy::too_many_arguments)]
pub fn run(
    name: &str,
    table: &AmpTable,
    tu: &TuSettings,
    data: &TuData,
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
                    let mut outcome = train(name, table, tu, data, &keyed.job)?;
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
    data: &TuData,
    job: &TuJob,
) -> anyhow::Result<TuOutcome> {
    let graphs = &data.datasets[job.dataset];
    let label = format!("{}/fold={}", prefix(name, tu, job), job.fold);
    let split = split(tu, graphs, job.fold);
    let mut outcome = TuOutcome {
        losses: Vec::with_capacity(table.epochs),
        val_correct: Vec::new(),
        val_nll: Vec::new(),
        test_correct: Vec::with_capacity(table.epochs),
        graphs: split.clone().map(|part| part.len() as u32),
        messages_per_epoch: 0,
        seconds: 0.0,
    };
    match job.point.amp {
        Some(axes) => train_amp(name, table, tu, graphs, job, axes, split, &mut outcome)?,
        None => {
            let settings =
                baseline_settings(&data.models, job.point.row, job.point.hidden, table, tu)
                    .map_err(|e| anyhow::anyhow!("{label}: {e}"))?;
            train_baseline(
                name,
                tu,
                graphs,
                job,
                settings.as_ref(),
                split,
                &mut outcome,
            )?
        }
    }
    Ok(outcome)
}

#[allow(clippy::too_many_arguments)]
fn train_amp(
    name: &str,
    table: &AmpTable,
    tu: &TuSettings,
    data: &TuGraphs,
    job: &TuJob,
    p: AmpAxes,
    [train, val, test]: [Vec<usize>; 3],
    outcome: &mut TuOutcome,
) -> anyhow::Result<()> {
    let prefix = prefix(name, tu, job);
    let label = format!("{prefix}/fold={}", job.fold);
    let config = AmpConfig {
        features: data.feature_width(),
        hidden: job.point.hidden,
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
    let labels: Vec<[usize; 1]> = data.classes.iter().map(|&c| [c]).collect();
    let example = |g: usize| Example {
        graph: &data.graphs[g],
        features: &data.features[g],
        task: Task::Graph(Pooling::Sum),
        labels: &labels[g],
    };
    let train_examples: Vec<Example> = train.iter().map(|&g| example(g)).collect();
    let mut runs = stream(&format!("{label}/runs"));
    let mut eval_runs = stream(&format!("{label}/eval-runs"));
    outcome.messages_per_epoch = train
        .iter()
        .map(|&g| messages(&data.graphs[g], p.budget))
        .sum();
    crate::amp::run::train_epochs(
        &label,
        &mut model,
        |m| &mut m.params,
        &optimiser(table, tu),
        |m| m.loss_and_grad(&train_examples, &settings, &mut runs),
        |model, _, loss| {
            outcome.losses.push(loss);
            if tu.inner_validation {
                let (correct, nll) = evaluate(model, &settings, &val, &example, &mut eval_runs);
                outcome.val_correct.push(correct);
                outcome.val_nll.push(nll);
            }
            let (correct, _) = evaluate(model, &settings, &test, &example, &mut eval_runs);
            outcome.test_correct.push(correct);
            Ok(())
        },
    )
}

/// Trains a baseline (the registry model `settings` builds), recording its curves.
fn train_baseline(
    name: &str,
    tu: &TuSettings,
    data: &TuGraphs,
    job: &TuJob,
    settings: &dyn Settings,
    [train, val, test]: [Vec<usize>; 3],
    outcome: &mut TuOutcome,
) -> anyhow::Result<()> {
    let prefix = prefix(name, tu, job);
    let label = format!("{prefix}/fold={}", job.fold);
    let samples: Vec<Sample> = (0..data.graphs.len())
        .map(|g| Sample {
            graph: data.graphs[g].clone(),
            features: data.features[g].clone(),
            targets: Targets::Classes(vec![data.classes[g]; data.graphs[g].n_nodes()]),
        })
        .collect();
    let refs = |part: &[usize]| -> Vec<&Sample> { part.iter().map(|&g| &samples[g]).collect() };
    let dims = Dims {
        in_dim: data.feature_width(),
        edge_dim: data.graphs.first().map_or(0, |g| g.edge_feature_dim()),
        out_dim: data.n_classes,
    };
    let mut model = settings.build(dims, &mut stream(&format!("{prefix}/params")))?;
    let (val_refs, test_refs) = (refs(&val), refs(&test));
    let val_batch = (!val.is_empty()).then(|| Batch::new(&val_refs));
    let test_batch = Batch::new(&test_refs);
    let (mut val_correct, mut val_nll, mut test_correct) = (vec![], vec![], vec![]);
    let log = hogwild_models::train_observed(
        model.as_mut(),
        &refs(&train),
        settings.train(),
        &mut stream(&format!("{label}/shuffle")),
        &mut |model, _| {
            if let Some(batch) = &val_batch {
                let (correct, nll) = graph_votes(&model.predict(batch)?, batch);
                val_correct.push(correct);
                val_nll.push(nll);
            }
            test_correct.push(graph_votes(&model.predict(&test_batch)?, &test_batch).0);
            Ok(())
        },
    )
    .map_err(|e| anyhow::anyhow!("{label}: {e}"))?;
    outcome.losses = log.losses;
    outcome.val_correct = val_correct;
    outcome.val_nll = val_nll;
    outcome.test_correct = test_correct;
    Ok(())
}

/// A baseline's graph predictions on `batch`: graphs whose nodes' mean logits put their
/// class first, and the mean over graphs of the NLL of those mean logits' softmax.
fn graph_votes(logits: &ndarray::Array2<f64>, batch: &Batch) -> (u32, f64) {
    let Targets::Classes(classes) = &batch.targets else {
        unreachable!("Table 4's baselines classify")
    };
    let ranges = batch.sample_ranges();
    let (mut correct, mut nll) = (0, 0.0);
    for r in &ranges {
        let mean = logits
            .slice(ndarray::s![r.start..r.end, ..])
            .mean_axis(ndarray::Axis(0))
            .expect("a graph has a node");
        let class = classes[r.start];
        let top = mean.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let log_sum = top + mean.iter().map(|&z| (z - top).exp()).sum::<f64>().ln();
        nll += log_sum - mean[class];
        let predicted = argmax_rows(&mean.insert_axis(ndarray::Axis(0)))[0];
        correct += u32::from(predicted == class);
    }
    (correct, nll / ranges.len().max(1) as f64)
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

#[cfg(test)]
mod tests {
    use super::*;
    use hogwild_graph::Graph;
    use ndarray::array;

    #[test]
    fn a_baseline_votes_by_its_nodes_mean_logits() {
        let sample = |n: usize, class: usize| Sample {
            graph: Graph::path(n),
            features: ndarray::Array2::zeros((n, 1)),
            targets: Targets::Classes(vec![class; n]),
        };
        let (a, b) = (sample(2, 1), sample(1, 0));
        let batch = Batch::new(&[&a, &b]);
        // Graph a (class 1): mean logits [0, 1], right. Graph b (class 0): [2, 2], a tie
        // the first class wins, right.
        let logits = array![[1.0, 0.0], [-1.0, 2.0], [2.0, 2.0]];
        let (correct, nll) = graph_votes(&logits, &batch);
        assert_eq!(correct, 2);
        let expected = ((1.0 + 1f64.exp()).ln() - 1.0 + 2f64.ln()) / 2.0;
        assert!((nll - expected).abs() < 1e-12, "{nll} vs {expected}");
        let wrong = array![[0.0, 1.0], [0.0, 1.0], [0.0, 3.0]];
        assert_eq!(graph_votes(&wrong, &batch).0, 1);
    }
}
