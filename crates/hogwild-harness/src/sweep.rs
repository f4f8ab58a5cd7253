//! The runs of a table and their execution.
//!
//! A *run* trains one model on one column's dataset with one parameter seed (and, under
//! cross-validation, one held-out fold), evaluates it synchronously, and evaluates it
//! asynchronously under every ordering (on the evaluated graphs, one at a time). Runs are independent
//! and executed in parallel (one per thread); everything inside a run is sequential, so the
//! results do not depend on the thread count. Every random choice draws from a named stream
//! ([`stream`]), so adding or reordering runs never changes another run's randomness.

use crate::config::{Config, Datasets, Metric, TableConfig};
use crate::curve::Curve;
use crate::faults::FaultTotals;
use crate::progress::{Progress, Verbosity};
use crate::records::{Lookup, RunKey, RunStore};
use hogwild_datasets::Dataset;
use hogwild_graph::{Batch, Sample, Targets};
use hogwild_models::{loss, train, SolverStats};
use ndarray::{concatenate, Array2, Axis};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

/// The RNG algorithm, as recorded next to the results.
pub const RNG_ALGORITHM: &str =
    "ChaCha8Rng (rand_chacha 0.10), seeded with SHA-256 of the stream label";

/// The random stream named `label` (ChaCha8 seeded with SHA-256 of the label).
pub fn stream(label: &str) -> ChaCha8Rng {
    ChaCha8Rng::from_seed(Sha256::digest(label.as_bytes()).into())
}

/// One (table, column, model, seed, fold).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSpec {
    /// Table name.
    pub table: String,
    /// Column index.
    pub column: usize,
    /// Model name.
    pub model: String,
    /// Parameter seed.
    pub seed: u64,
    /// The held-out fold under cross-validation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fold: Option<usize>,
}

impl RunSpec {
    /// The run's label, the root of its random streams.
    pub fn label(&self) -> String {
        let fold = self.fold.map_or(String::new(), |f| format!("/fold{f}"));
        format!(
            "{}/col{}/{}/seed{}{fold}",
            self.table, self.column, self.model, self.seed
        )
    }
}

/// The fold of every graph of a dataset under `k`-fold cross-validation: a permutation of
/// the graphs from the stream `folds/<identity>/k<k>` cut into `k` contiguous parts whose
/// sizes differ by at most one. The same for every model and seed (paired comparisons).
pub fn folds(identity: &str, graphs: usize, k: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..graphs).collect();
    order.shuffle(&mut stream(&format!("folds/{identity}/k{k}")));
    let mut fold = vec![0; graphs];
    for (position, &g) in order.iter().enumerate() {
        fold[g] = position * k / graphs;
    }
    fold
}

/// The fold of every graph under stratified `k`-fold cross-validation (the GIN protocol):
/// a permutation of the graphs from the stream `folds/<identity>/k<k>/stratified`, stably
/// sorted by class and dealt out to the folds in turn, so each fold holds each class's
/// graphs up to one and the fold sizes differ by at most one.
pub fn stratified_folds(identity: &str, classes: &[usize], k: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..classes.len()).collect();
    order.shuffle(&mut stream(&format!("folds/{identity}/k{k}/stratified")));
    order.sort_by_key(|&g| classes[g]);
    let mut fold = vec![0; classes.len()];
    for (position, &g) in order.iter().enumerate() {
        fold[g] = position % k;
    }
    fold
}

/// Evaluation mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Batched synchronous inference.
    Sync,
    /// Simulated asynchronous inference.
    Async,
}

impl Mode {
    /// `sync` or `async`.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Sync => "sync",
            Mode::Async => "async",
        }
    }
}

/// One evaluation of a trained model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// Mode.
    pub mode: Mode,
    /// Ordering index (asynchronous only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ordering: Option<usize>,
    /// Metric value.
    pub value: f64,
    /// Whether every graph's asynchronous run reached the tolerance (true for sync).
    pub converged: bool,
    /// Largest number of rounds over the graphs (0 for sync).
    pub rounds: usize,
    /// Largest final residual over the graphs (0 for sync).
    pub residual: f64,
    /// Asynchronous: neighbour reads over the graphs' simulations (0 for sync).
    #[serde(default)]
    pub reads: u64,
    /// Asynchronous: reads of a version older than the neighbour's latest (0 for sync).
    #[serde(default)]
    pub stale_reads: u64,
    /// Asynchronous evaluations of implicit models: the observer's residual at each check
    /// of the graph that took the most rounds (empty otherwise).
    #[serde(default, skip_serializing_if = "Curve::is_empty")]
    pub trace: Curve,
    /// Asynchronous evaluations under `async.faults`: what the faults did (none otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub faults: Option<FaultTotals>,
}

/// Everything one run produced.
#[derive(Debug, Clone, PartialEq)]
pub struct RunResult {
    /// What ran.
    pub spec: RunSpec,
    /// Training loss at the last epoch.
    pub final_loss: f64,
    /// Solver counters (training and synchronous evaluation).
    pub stats: SolverStats,
    /// Whether the model is implicit (a fixed point, run until the residual is small)
    /// rather than explicit (a fixed number of layers).
    pub implicit: bool,
    /// The training loss at every epoch.
    pub train_losses: Curve,
    /// An implicit model's synchronous evaluation: its forward solver's residual at every
    /// iteration (empty for explicit models).
    pub sync_trace: Curve,
    /// Sync evaluation first, then each ordering.
    pub evaluations: Vec<Evaluation>,
    /// Wall time in seconds (not part of the deterministic outputs).
    pub seconds: f64,
    /// Of which training (the rest: evaluation, mostly asynchronous simulation).
    pub train_seconds: f64,
}

/// The runs of `table`, in (column, model, seed, fold) order.
pub fn plan(name: &str, table: &TableConfig) -> Vec<RunSpec> {
    let folds = table.held_out_folds();
    let mut runs = vec![];
    for column in 0..table.columns.len() {
        for model in &table.models {
            for &seed in &table.seeds {
                for &fold in &folds {
                    runs.push(RunSpec {
                        table: name.into(),
                        column,
                        model: model.clone(),
                        seed,
                        fold,
                    });
                }
            }
        }
    }
    runs
}

/// The metric of `out` on `batch`.
fn metric(metric: Metric, out: &Array2<f64>, batch: &Batch) -> f64 {
    match (metric, &batch.targets) {
        (Metric::Accuracy, Targets::Classes(c)) => loss::accuracy_percent(out, c),
        (Metric::Error, Targets::Classes(c)) => 100.0 - loss::accuracy_percent(out, c),
        (Metric::GraphAccuracy, Targets::Classes(c)) => {
            loss::graph_accuracy_percent(out, c, &batch.sample_ranges())
        }
        (Metric::RelativeRmse, Targets::Values(v)) => loss::relative_rmse_percent(out, v),
        (Metric::DistanceRelativeRmse, Targets::Positions(p)) => {
            loss::distance_relative_rmse_percent(out, p, &batch.sample_ranges())
        }
        (m, _) => panic!("metric {m:?} does not fit the targets (checked at load)"),
    }
}

/// Regression targets are standardised for training (each output column to mean 0 and
/// standard deviation 1 over the training nodes) and predictions mapped back before any
/// metric; class and position targets are left as they are.
struct TargetScale {
    /// Per output column `(mean, std)`; empty when targets are not values.
    columns: Vec<(f64, f64)>,
}

impl TargetScale {
    /// The scale of `samples`' value targets.
    fn fit(samples: &[&Sample]) -> TargetScale {
        let values: Vec<_> = samples
            .iter()
            .filter_map(|s| match &s.targets {
                Targets::Values(v) => Some(v.view()),
                _ => None,
            })
            .collect();
        if values.is_empty() {
            return TargetScale { columns: vec![] };
        }
        let all = concatenate(Axis(0), &values).expect("equal widths");
        let n = all.nrows() as f64;
        let columns = all
            .axis_iter(Axis(1))
            .map(|c| {
                let mean = c.sum() / n;
                let std = (c.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n).sqrt();
                (mean, if std > 0.0 { std } else { 1.0 })
            })
            .collect();
        TargetScale { columns }
    }

    /// `sample` with standardised value targets.
    fn apply(&self, sample: &Sample) -> Sample {
        let mut s = sample.clone();
        if let Targets::Values(v) = &mut s.targets {
            for (mut c, &(mean, std)) in v.axis_iter_mut(Axis(1)).zip(&self.columns) {
                c.mapv_inplace(|x| (x - mean) / std);
            }
        }
        s
    }

    /// Maps standardised outputs back to target units.
    fn undo(&self, mut out: Array2<f64>) -> Array2<f64> {
        for (mut c, &(mean, std)) in out.axis_iter_mut(Axis(1)).zip(&self.columns) {
            c.mapv_inplace(|x| x * std + mean);
        }
        out
    }
}

/// A run's training and evaluated graphs: all of them (no cross-validation), or every fold
/// but the held-out `fold` and that fold's graphs, the first `test_graphs` of them if the
/// table limits them (the rest of the fold is not trained on either).
fn split<'a>(
    table: &TableConfig,
    fold: Option<usize>,
    dataset: &'a Dataset,
) -> (Vec<&'a Sample>, Vec<&'a Sample>) {
    match (table.folds, fold) {
        (Some(k), Some(f)) => {
            let fold_of = folds(&dataset.identity, dataset.samples.len(), k);
            let (test, train): (Vec<_>, Vec<_>) = dataset
                .samples
                .iter()
                .enumerate()
                .partition(|(g, _)| fold_of[*g] == f);
            let strip = |v: Vec<(usize, _)>| v.into_iter().map(|(_, s)| s).collect::<Vec<_>>();
            let mut test = strip(test);
            test.truncate(table.test_graphs.unwrap_or(usize::MAX));
            (strip(train), test)
        }
        _ => (
            dataset.samples.iter().collect(),
            dataset.samples.iter().collect(),
        ),
    }
}

/// Executes one run on `dataset`, its column's dataset as the plan built it.
pub fn execute(
    config: &Config,
    table: &TableConfig,
    spec: &RunSpec,
    dataset: &Dataset,
) -> anyhow::Result<RunResult> {
    let start = Instant::now();
    let label = spec.label();
    let column = &table.columns[spec.column];
    let models = config.models_for_column(&spec.table, spec.column);
    let async_cfg = column.async_.apply(&config.async_);
    let featureless;
    let dataset = if column.featureless.contains(&spec.model) {
        let mut d = dataset.clone();
        for s in &mut d.samples {
            s.features = Array2::zeros((s.graph.n_nodes(), 0));
        }
        featureless = d;
        &featureless
    } else {
        dataset
    };
    let (train_set, test_set) = split(table, spec.fold, dataset);
    let scale = TargetScale::fit(&train_set);
    let scaled: Vec<Sample> = train_set.iter().map(|s| scale.apply(s)).collect();
    let dims = hogwild_models::Dims {
        in_dim: dataset.feature_dim(),
        edge_dim: dataset.samples[0].graph.edge_feature_dim(),
        out_dim: dataset.task.output_dim(),
    };
    let mut model = models.build(&spec.model, dims, &mut stream(&format!("{label}/init")))?;
    let train_cfg = models.train_config(&spec.model).expect("known model");
    let log = train(
        model.as_mut(),
        &scaled.iter().collect::<Vec<_>>(),
        train_cfg,
        &mut stream(&format!("{label}/batches")),
    )?;
    let train_seconds = start.elapsed().as_secs_f64();
    let test_batch = Batch::new(&test_set);
    let sync_out = scale.undo(model.predict(&test_batch)?);
    let sync_trace = Curve::indexed(model.forward_trace());
    let mut evaluations = vec![Evaluation {
        mode: Mode::Sync,
        ordering: None,
        value: metric(table.metric_of(spec.column), &sync_out, &test_batch),
        converged: true,
        rounds: 0,
        residual: 0.0,
        reads: 0,
        stale_reads: 0,
        trace: Curve::default(),
        faults: None,
    }];
    // Asynchronous inference runs on each graph separately (each is its own system).
    let singles: Vec<Batch> = test_set.iter().map(|s| Batch::single(s)).collect();
    let rules = singles
        .iter()
        .map(|b| model.local_rule(b, async_cfg.staleness(b.n_nodes() as u64)))
        .collect::<Result<Vec<_>, _>>()?;
    for ordering in 0..table.orderings_of(&spec.model) {
        let mut outs = vec![];
        let (mut converged, mut rounds, mut residual) = (true, 0, 0.0f64);
        let (mut reads, mut stale_reads) = (0, 0);
        let mut slowest: Vec<(usize, f64)> = vec![];
        let mut faults = (!async_cfg.faults.is_empty()).then(FaultTotals::default);
        for (s, rule) in rules.iter().enumerate() {
            let mut rng = stream(&format!("{label}/async/ordering{ordering}/graph{s}"));
            let o = hogwild_sim::simulate(rule.as_ref(), &async_cfg, &mut rng)?;
            converged &= o.converged;
            if o.rounds > rounds || s == 0 {
                slowest = o.trace;
            }
            rounds = rounds.max(o.rounds);
            residual = residual.max(o.residual);
            reads += o.reads;
            stale_reads += o.stale_reads;
            if let Some(totals) = faults.as_mut() {
                totals.add(&o.faults);
            }
            outs.push(scale.undo(o.outputs));
        }
        let views: Vec<_> = outs.iter().map(|o| o.view()).collect();
        let out = concatenate(Axis(0), &views)?;
        evaluations.push(Evaluation {
            mode: Mode::Async,
            ordering: Some(ordering),
            value: metric(table.metric_of(spec.column), &out, &test_batch),
            converged,
            rounds,
            residual,
            reads,
            stale_reads,
            trace: Curve::of(slowest.into_iter().map(|(r, v)| (r as u64, v))),
            faults,
        });
    }
    let implicit = rules
        .first()
        .is_some_and(|r| r.execution() == hogwild_models::Execution::Implicit);
    Ok(RunResult {
        spec: spec.clone(),
        final_loss: log.losses.last().copied().unwrap_or(f64::NAN),
        stats: model.stats(),
        implicit,
        train_losses: Curve::indexed(&log.losses),
        sync_trace,
        evaluations,
        seconds: start.elapsed().as_secs_f64(),
        train_seconds,
    })
}

/// A rough relative cost, used only to start expensive runs first: `nodes` is the size of
/// the run's dataset.
fn cost(config: &Config, spec: &RunSpec, nodes: usize) -> f64 {
    let nodes = nodes as f64;
    let models = config.models_for_column(&spec.table, spec.column);
    let per_epoch = hogwild_models::registry::kind(&spec.model).map_or(1.0, |k| k.cost);
    let epochs = models.train_config(&spec.model).map_or(1, |t| t.epochs) as f64;
    nodes * nodes.sqrt() * per_epoch * epochs
}

/// One run of a sweep, ready to execute: what it is, its id and its relative cost.
#[derive(Debug, Clone)]
pub struct PlannedRun {
    /// What runs.
    pub spec: RunSpec,
    /// Everything its numbers depend on.
    pub key: RunKey,
    /// SHA-256 of `key`: the name of its record.
    pub id: String,
    /// A rough relative cost (only used to order and balance work).
    pub cost: f64,
}

/// The runs of `tables` in plan order (table, column, model, seed, fold), with their ids,
/// on `datasets` (built from `tables`).
pub fn plan_all(
    config: &Config,
    tables: &[(String, TableConfig)],
    datasets: &Datasets,
) -> anyhow::Result<Vec<PlannedRun>> {
    let mut planned = vec![];
    for (name, table) in tables {
        for spec in plan(name, table) {
            let dataset = datasets.get(name, spec.column);
            let key = RunKey::new(config, table, &spec, &dataset.identity)?;
            planned.push(PlannedRun {
                id: key.id(),
                cost: cost(config, &spec, dataset.n_nodes()),
                key,
                spec,
            });
        }
    }
    Ok(planned)
}

/// What a sweep computed, and what it took from run records.
#[derive(Debug, Clone, PartialEq)]
pub struct Sweep {
    /// One result per run, in the order given.
    pub results: Vec<RunResult>,
    /// Per run: whether it was taken from its record instead of computed.
    pub from_record: Vec<bool>,
}

/// How a sweep executes.
#[derive(Debug, Clone, Copy)]
pub struct ExecuteOptions {
    /// Runs in parallel.
    pub threads: usize,
    /// Recompute runs that have a record.
    pub force: bool,
    /// What to print on stderr.
    pub verbosity: Verbosity,
}

/// `chains · l = 20 · gcn · seed 1 · fold 3`: a run, for people.
pub fn describe(run: &RunSpec, table: &TableConfig) -> String {
    let fold = run.fold.map_or(String::new(), |f| format!(" · fold {f}"));
    format!(
        "{} · {} · {} · seed {}{fold}",
        run.table, table.columns[run.column].label, run.model, run.seed
    )
}

/// Executes `runs` on `datasets`. Each run with a valid record in `store` is taken from it
/// (unless `options.force`); every computed run's record is written as soon as it ends, so
/// an interrupted sweep loses only the runs in flight.
pub fn execute_all(
    config: &Config,
    tables: &[(String, TableConfig)],
    datasets: &Datasets,
    runs: &[PlannedRun],
    store: &RunStore,
    options: &ExecuteOptions,
) -> anyhow::Result<Sweep> {
    let ExecuteOptions {
        threads,
        force,
        verbosity,
    } = *options;
    let table_of = |spec: &RunSpec| {
        &tables
            .iter()
            .find(|(n, _)| n == &spec.table)
            .expect("planned from these tables")
            .1
    };
    let mut results: Vec<Option<RunResult>> = vec![None; runs.len()];
    if !force {
        for (i, run) in runs.iter().enumerate() {
            match store.load(&run.spec, &run.id) {
                Lookup::Missing => {}
                Lookup::Found(r) => results[i] = Some(*r),
                Lookup::Corrupt(why) => {
                    eprintln!(
                        "[hogwild] warning: run record {} {why}; run {} is recomputed",
                        store.path(&run.spec.table, &run.id).display(),
                        run.spec.label()
                    );
                }
            }
        }
    }
    let from_record: Vec<bool> = results.iter().map(Option::is_some).collect();
    let reused = from_record.iter().filter(|&&f| f).count();
    if reused > 0 && verbosity != Verbosity::Quiet {
        eprintln!(
            "[hogwild] {reused} of {} runs already recorded: reused (--force recomputes them)",
            runs.len()
        );
    }
    if verbosity == Verbosity::Verbose {
        for (run, _) in runs.iter().zip(&from_record).filter(|(_, &f)| f) {
            eprintln!(
                "[hogwild] from its record: {} ({})",
                describe(&run.spec, table_of(&run.spec)),
                run.id
            );
        }
    }
    // Longest first: each worker takes the next run off one shared queue (rayon's work
    // splitting would not keep the order, and the longest runs would end up queued behind
    // each other on one thread).
    let mut order: Vec<usize> = (0..runs.len()).filter(|&i| results[i].is_none()).collect();
    order.sort_by(|&a, &b| runs[b].cost.total_cmp(&runs[a].cost));
    let costs: Vec<f64> = order.iter().map(|&i| runs[i].cost).collect();
    let progress = Progress::new(&costs, verbosity);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()?;
    let next = AtomicUsize::new(0);
    let done = Mutex::new(Vec::with_capacity(order.len()));
    pool.scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|_| {
                while let Some(&i) = order.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let run = &runs[i];
                    let dataset = datasets.get(&run.spec.table, run.spec.column);
                    let r =
                        execute(config, table_of(&run.spec), &run.spec, dataset).and_then(|r| {
                            store.save(&run.key, &run.id, &r, threads)?;
                            progress.finished(
                                &describe(&run.spec, table_of(&run.spec)),
                                run.cost,
                                r.seconds,
                            );
                            Ok(r)
                        });
                    let r = r.map_err(|e| e.context(format!("run {}", run.spec.label())));
                    done.lock()
                        .expect("no worker panics holding it")
                        .push((i, r));
                }
            });
        }
    });
    progress.clear();
    let mut done = done.into_inner().expect("no worker panicked");
    // Plan order, so that the error reported (the first in the plan) does not depend on timing.
    done.sort_by_key(|(i, _)| *i);
    for (i, r) in done {
        results[i] = Some(r?);
    }
    Ok(Sweep {
        results: results
            .into_iter()
            .map(|r| r.expect("every run finished"))
            .collect(),
        from_record,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use hogwild_graph::Graph;
    use ndarray::array;

    #[test]
    fn a_held_out_fold_is_evaluated_on_its_first_test_graphs_and_never_trained_on() {
        let dataset = hogwild_datasets::chains::generate_lengths(2, 9, 2).unwrap();
        let mut table: TableConfig = toml::from_str(
            r#"
title = "t"
metric = "accuracy"
seeds = [0]
orderings = 1
models = ["gcn"]
std_ddof = 0
folds = 4
test_folds = [2]
"#,
        )
        .unwrap();
        let fold_of = folds(&dataset.identity, dataset.samples.len(), 4);
        let in_fold: Vec<usize> = (0..16).filter(|&g| fold_of[g] == 2).collect();
        let index = |s: &Sample| {
            dataset
                .samples
                .iter()
                .position(|t| std::ptr::eq(t, s))
                .unwrap()
        };
        let (train, test) = split(&table, Some(2), &dataset);
        assert_eq!(test.iter().map(|s| index(s)).collect::<Vec<_>>(), in_fold);
        assert_eq!(train.len(), 16 - in_fold.len());
        assert!(train.iter().all(|s| fold_of[index(s)] != 2));
        table.test_graphs = Some(1);
        let (train_limited, test) = split(&table, Some(2), &dataset);
        assert_eq!(
            test.iter().map(|s| index(s)).collect::<Vec<_>>(),
            in_fold[..1]
        );
        assert_eq!(train_limited.len(), train.len());
        assert_eq!(table.held_out_folds(), vec![Some(2)]);
        let (train, test) = split(&table, None, &dataset);
        assert_eq!((train.len(), test.len()), (16, 16));
    }

    #[test]
    fn classification_error_is_the_complement_of_accuracy() {
        let sample = Sample {
            graph: Graph::path(4),
            features: Array2::zeros((4, 1)),
            targets: Targets::Classes(vec![0, 1, 1, 0]),
        };
        let batch = Batch::new(&[&sample]);
        // Right on nodes 0, 1 and 3: 75 % accuracy, 25 % error.
        let out = array![[2.0, 1.0], [0.0, 1.0], [3.0, 1.0], [1.0, 0.5]];
        assert_eq!(metric(Metric::Accuracy, &out, &batch), 75.0);
        assert_eq!(metric(Metric::Error, &out, &batch), 25.0);
    }

    #[test]
    fn stratified_folds_balance_every_class_and_are_seeded_by_the_identity() {
        // 660 / 449 as PROTEINS after the code's filter.
        let classes: Vec<usize> = (0..1109).map(|g| usize::from(g % 5 < 2)).collect();
        let folds = stratified_folds("d", &classes, 10);
        for f in 0..10 {
            let members: Vec<usize> = (0..classes.len()).filter(|&g| folds[g] == f).collect();
            let ones = members.iter().filter(|&&g| classes[g] == 1).count();
            assert!(
                (110..=111).contains(&members.len()),
                "fold {f}: {}",
                members.len()
            );
            let expected = classes.iter().filter(|&&c| c == 1).count() as f64 / 10.0;
            assert!((ones as f64 - expected).abs() <= 1.0, "fold {f}: {ones}");
        }
        assert_eq!(folds, stratified_folds("d", &classes, 10));
        assert_ne!(folds, stratified_folds("e", &classes, 10));
    }
}
