//! The runs of an AMP table: each trains one model with one seed on that seed's fresh data
//! (full batch, one Adam step per epoch) and counts its correct test predictions.
//!
//! Streams (`crate::sweep::stream`, ChaCha8 seeded by the label's SHA-256), per run
//! `amp/TABLE/COLUMN/MODEL/seed=S/…`: `params` (initialisation), `runs` (the seeds of AMP's
//! runs during training, drawn in order), `test-runs` (during testing), `shuffle` (GIN's
//! trainer; unused in full batch). Table 3's baselines with the oracle depth
//! (`gin-oracle`, `gcn-oracle`, `gat-oracle`; `hogwild_models::oracle_depth`) draw only
//! `params`, train full batch like AMP and predict without randomness. Data come from the generators' own named streams, one
//! per `(benchmark, seed, split)`, so every model of a seed sees the same graphs.

use super::config::{benchmark, AmpRow, AmpTable, Experiment, Expressiveness, Extrapolation};
use crate::sweep::stream;
use anyhow::Context;
use hogwild_amp::{accuracy, AmpConfig, AmpModel, Budget, Example, Pooling, RunSettings, Task};
use hogwild_datasets::expressiveness::{graph_class, Level, Pool, Split};
use hogwild_datasets::parity::{parity_graphs, ParityGraph};
use hogwild_datasets::Dataset;
use hogwild_graph::{Batch, Graph, Sample, Targets};
use hogwild_models::gin::{Aggregation, Gin, GinConfig};
use hogwild_models::loss::argmax_rows;
use hogwild_models::oracle_depth::{LayerKind, OracleDepthGnn, OracleExample};
use hogwild_models::params::Adam;
use hogwild_models::{LrSchedule, Model, Params, TrainConfig};
use ndarray::Array2;
use rayon::prelude::*;

/// What one run gave.
#[derive(Debug, Clone, PartialEq)]
pub struct RunOutcome {
    /// The model.
    pub model: AmpRow,
    /// The seed.
    pub seed: u64,
    /// The column trained on (Table 2); `None` when one training serves every column
    /// (Table 3).
    pub trained_on: Option<usize>,
    /// Per column tested: `(column, correct, predictions)`.
    pub tests: Vec<(usize, u64, u64)>,
    /// Correct training predictions and their number, after the last step.
    pub train: (u64, u64),
    /// `(epoch, loss)`: the full-batch loss before that epoch's step, at the first epoch,
    /// every `loss_every` and the last.
    pub losses: Vec<(usize, f64)>,
    /// Table 3: `(column, distance from the origin, correct, nodes)` over the test graphs.
    pub distances: Vec<(usize, usize, u64, u64)>,
    /// Wall seconds (not in the deterministic files).
    pub seconds: f64,
}

/// One run to make: `(column, model, seed)`; column `None` for Table 3.
type Job = (Option<usize>, AmpRow, u64);

/// Every run of `table` (named `name`), in (column, model, seed) order, made in parallel.
pub fn run(name: &str, table: &AmpTable) -> anyhow::Result<Vec<RunOutcome>> {
    let jobs: Vec<Job> = match table.experiment() {
        Experiment::Expressiveness(e) => (0..e.datasets.len())
            .flat_map(|c| {
                table
                    .models
                    .iter()
                    .flat_map(move |&m| table.seeds.iter().map(move |&s| (Some(c), m, s)))
            })
            .collect(),
        Experiment::Extrapolation(_) => table
            .models
            .iter()
            .flat_map(|&m| table.seeds.iter().map(move |&s| (None, m, s)))
            .collect(),
        Experiment::Tu(_) => anyhow::bail!("Table 4 runs through `amp::tu`"),
    };
    jobs.par_iter()
        .map(|&job| {
            let start = std::time::Instant::now();
            let label = job_label(name, table, job);
            let mut out = match table.experiment() {
                Experiment::Expressiveness(e) => expressiveness_run(table, e, job, &label),
                Experiment::Extrapolation(x) => extrapolation_run(table, x, job, &label),
                Experiment::Tu(_) => anyhow::bail!("Table 4 runs through `amp::tu`"),
            }
            .with_context(|| label.clone())?;
            out.seconds = start.elapsed().as_secs_f64();
            Ok(out)
        })
        .collect()
}

/// `amp/TABLE/COLUMN/MODEL/seed=S`, the prefix of a run's streams.
fn job_label(name: &str, table: &AmpTable, (column, model, seed): Job) -> String {
    let column = column.map_or_else(|| "train".to_string(), |c| table.columns()[c].clone());
    format!("amp/{name}/{column}/{}/seed={seed}", model.key())
}

/// One graph as AMP sees it: its features, task and labels.
struct AmpGraph<'g> {
    graph: &'g Graph,
    features: Array2<f64>,
    task: Task,
    labels: Vec<usize>,
}

impl AmpGraph<'_> {
    fn example(&self) -> Example<'_> {
        Example {
            graph: self.graph,
            features: &self.features,
            task: self.task,
            labels: &self.labels,
        }
    }
}

fn classes(sample: &Sample) -> &[usize] {
    match &sample.targets {
        Targets::Classes(c) => c,
        _ => panic!("AMP's benchmarks have classes"),
    }
}

/// Table 2's graphs as AMP examples: node tasks predict every node from its own run, graph
/// tasks pool every start node's state.
fn benchmark_graphs(data: &Dataset, level: Level) -> Vec<AmpGraph<'_>> {
    data.samples
        .iter()
        .map(|s| {
            let (task, labels) = match level {
                Level::Node => (Task::Node, classes(s).to_vec()),
                Level::Graph { pool } => {
                    let pooling = match pool {
                        Pool::Sum => Pooling::Sum,
                        Pool::Max => Pooling::Max,
                        Pool::Mean => Pooling::Mean,
                    };
                    let class = graph_class(s).expect("a graph task's nodes share its class");
                    (Task::Graph(pooling), vec![class])
                }
            };
            AmpGraph {
                graph: &s.graph,
                features: s.features.clone(),
                task,
                labels,
            }
        })
        .collect()
}

/// Table 3's graphs as AMP examples: one run from the origin, every node predicted.
fn parity_examples(graphs: &[ParityGraph]) -> Vec<AmpGraph<'_>> {
    graphs
        .iter()
        .map(|g| AmpGraph {
            graph: &g.sample.graph,
            features: g.amp_features(),
            task: Task::LongRange { origin: g.origin },
            labels: classes(&g.sample).to_vec(),
        })
        .collect()
}

/// An AMP model of `row`'s cell and halting, trained on `train`; returns it and its losses.
fn train_amp(
    table: &AmpTable,
    config: AmpConfig,
    settings: &RunSettings,
    train: &[AmpGraph],
    label: &str,
) -> anyhow::Result<(AmpModel, Vec<(usize, f64)>)> {
    let mut model = AmpModel::new(config, &mut stream(&format!("{label}/params")));
    let mut runs = stream(&format!("{label}/runs"));
    let batch: Vec<Example> = train.iter().map(AmpGraph::example).collect();
    let mut losses = vec![];
    train_epochs(
        label,
        &mut model,
        |m| &mut m.params,
        &constant_rate(table),
        |m| m.loss_and_grad(&batch, settings, &mut runs),
        |_, epoch, loss| {
            log_loss(table, &mut losses, epoch, loss);
            Ok(())
        },
    )?;
    Ok((model, losses))
}

/// Full-batch training as every AMP table runs it: `optimiser.epochs` Adam steps on
/// `params(model)`, each on the loss and gradients `loss_and_grads` gives at the current
/// parameters; a loss that is not finite stops it with an error naming `label`.
/// `after_step(model, epoch, loss)` hears of each epoch (1-based) once its step is taken.
pub(crate) fn train_epochs<M>(
    label: &str,
    model: &mut M,
    params: impl Fn(&mut M) -> &mut Params,
    optimiser: &TrainConfig,
    mut loss_and_grads: impl FnMut(&M) -> (f64, Vec<Array2<f64>>),
    mut after_step: impl FnMut(&M, usize, f64) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let mut adam = Adam::new(params(model), optimiser, optimiser.epochs);
    for epoch in 1..=optimiser.epochs {
        let (loss, grads) = loss_and_grads(model);
        anyhow::ensure!(
            loss.is_finite(),
            "{label}: the training loss became {loss} at epoch {epoch}"
        );
        adam.step(params(model), grads);
        after_step(model, epoch, loss)?;
    }
    Ok(())
}

/// Tables 2 and 3's optimiser: Adam at the table's constant rate, one step per epoch.
fn constant_rate(table: &AmpTable) -> TrainConfig {
    table.optimiser(LrSchedule::Constant)
}

/// Keeps the loss of the first and last epochs and of every `loss_every`-th.
fn log_loss(table: &AmpTable, losses: &mut Vec<(usize, f64)>, epoch: usize, loss: f64) {
    if epoch == 1 || epoch.is_multiple_of(table.loss_every()) || epoch == table.epochs {
        losses.push((epoch, loss));
    }
}

/// Correct predictions of `model` on each of `graphs` (and, per node, whether it was
/// right), with the seeds of its runs drawn from `rng`.
fn amp_hits(
    model: &AmpModel,
    settings: &RunSettings,
    graphs: &[AmpGraph],
    rng: &mut rand_chacha::ChaCha8Rng,
) -> Vec<Vec<bool>> {
    graphs
        .iter()
        .map(|g| {
            let log_probs = model.log_probs(&g.example(), settings, rng);
            (0..g.labels.len())
                .map(|i| {
                    let row = log_probs.slice(ndarray::s![i..i + 1, ..]).to_owned();
                    accuracy(&row, &g.labels[i..i + 1]) == 1.0
                })
                .collect()
        })
        .collect()
}

fn count(hits: &[Vec<bool>]) -> (u64, u64) {
    let correct = hits.iter().flatten().filter(|&&h| h).count() as u64;
    (correct, hits.iter().map(Vec::len).sum::<usize>() as u64)
}

fn amp_config(
    row: AmpRow,
    features: usize,
    hidden: usize,
    message: usize,
    classes: usize,
    initial: Vec<f64>,
) -> AmpConfig {
    let (update, halting) = row.amp().expect("an AMP row");
    AmpConfig {
        features,
        hidden,
        message,
        classes,
        update,
        halting,
        initial_message: initial,
        skip_readout: false,
    }
}

fn expressiveness_run(
    table: &AmpTable,
    e: &Expressiveness,
    (column, row, seed): Job,
    label: &str,
) -> anyhow::Result<RunOutcome> {
    let c = column.expect("Table 2's runs train on one column");
    let bench = benchmark(&e.datasets[c]).expect("checked");
    let recipe = bench.recipe();
    let (train, test) = (
        bench.generate(seed, Split::Train),
        bench.generate(seed, Split::Test),
    );
    let (train_counts, test_counts, losses) = if row.amp().is_some() {
        let config = amp_config(
            row,
            recipe.feature_dim,
            recipe.hidden,
            table.message(),
            recipe.classes,
            vec![1.0; table.message()],
        );
        let settings = RunSettings {
            delays: table.delays.delays(),
            budget: Budget::PerNode(recipe.budget_per_node),
        };
        let (train_graphs, test_graphs) = (
            benchmark_graphs(&train, recipe.level),
            benchmark_graphs(&test, recipe.level),
        );
        let (model, losses) = train_amp(table, config, &settings, &train_graphs, label)?;
        let mut rng = stream(&format!("{label}/test-runs"));
        let test_hits = amp_hits(&model, &settings, &test_graphs, &mut rng);
        let train_hits = amp_hits(&model, &settings, &train_graphs, &mut rng);
        (count(&train_hits), count(&test_hits), losses)
    } else {
        anyhow::ensure!(
            row == AmpRow::Gin,
            "{} is not a Table 2 row (the config check refuses it)",
            row.key()
        );
        gin_run(table, e, recipe, &train, &test, label)?
    };
    Ok(RunOutcome {
        model: row,
        seed,
        trained_on: Some(c),
        tests: vec![(c, test_counts.0, test_counts.1)],
        train: train_counts,
        losses,
        distances: vec![],
        seconds: 0.0,
    })
}

/// GIN on one Table 2 benchmark: the benchmark's aggregation (sum; MAX max, MEAN mean),
/// trained on every node's class (a graph task's nodes carry its class), a graph predicted
/// from its nodes' mean logits (the harness's graph accuracy, `loss::graph_accuracy_percent`).
#[allow(clippy::type_complexity)]
fn gin_run(
    table: &AmpTable,
    e: &Expressiveness,
    recipe: &hogwild_datasets::expressiveness::Recipe,
    train: &Dataset,
    test: &Dataset,
    label: &str,
) -> anyhow::Result<((u64, u64), (u64, u64), Vec<(usize, f64)>)> {
    let aggregation = match recipe.level {
        Level::Graph { pool: Pool::Max } => Aggregation::Max,
        Level::Graph { pool: Pool::Mean } => Aggregation::Mean,
        _ => Aggregation::Sum,
    };
    let config = GinConfig {
        hidden: recipe.hidden,
        layers: e.gin_layers,
        aggregation,
        eps: 0.0,
        train: constant_rate(table),
    };
    let mut model = Gin::new(
        &config,
        recipe.feature_dim,
        recipe.classes,
        &mut stream(&format!("{label}/params")),
    )?;
    let refs: Vec<&Sample> = train.samples.iter().collect();
    let log = hogwild_models::train(
        &mut model,
        &refs,
        &config.train,
        &mut stream(&format!("{label}/shuffle")),
    )?;
    let losses = log
        .losses
        .iter()
        .enumerate()
        .map(|(i, &l)| (i + 1, l))
        .filter(|&(e, _)| e == 1 || e % table.loss_every() == 0 || e == table.epochs)
        .collect();
    let mut hits = |data: &Dataset| -> anyhow::Result<(u64, u64)> {
        let refs: Vec<&Sample> = data.samples.iter().collect();
        let batch = Batch::new(&refs);
        let logits = model.predict(&batch)?;
        let labels: Vec<usize> = refs.iter().flat_map(|s| classes(s).to_vec()).collect();
        Ok(match recipe.level {
            Level::Node => {
                let lp = hogwild_amp::log_softmax(&logits);
                let hits = (0..labels.len())
                    .filter(|&i| {
                        let row = lp.slice(ndarray::s![i..i + 1, ..]).to_owned();
                        accuracy(&row, &labels[i..i + 1]) == 1.0
                    })
                    .count();
                (hits as u64, labels.len() as u64)
            }
            Level::Graph { .. } => {
                let ranges = batch.sample_ranges();
                let percent =
                    hogwild_models::loss::graph_accuracy_percent(&logits, &labels, &ranges);
                (
                    (percent * ranges.len() as f64 / 100.0).round() as u64,
                    ranges.len() as u64,
                )
            }
        })
    };
    Ok((hits(train)?, hits(test)?, losses))
}

/// One parity graph as the oracle-depth baselines see it: the baselines' features (the
/// origin's row ones), the origin's eccentricity as the depth, every node's class.
fn oracle_example(g: &ParityGraph) -> OracleExample<'_> {
    OracleExample {
        graph: &g.sample.graph,
        features: g.sample.features.view(),
        depth: g.eccentricity,
        labels: classes(&g.sample),
    }
}

/// A baseline with the oracle depth and `kind`'s shared layer, trained on `train` (full
/// batch, one Adam step per epoch); returns it and its losses.
fn train_oracle(
    table: &AmpTable,
    kind: LayerKind,
    hidden: usize,
    train: &[ParityGraph],
    label: &str,
) -> anyhow::Result<(OracleDepthGnn, Vec<(usize, f64)>)> {
    let mut model = OracleDepthGnn::new(
        kind,
        hogwild_datasets::parity::BASELINE_FEATURES,
        hidden,
        2,
        &mut stream(&format!("{label}/params")),
    );
    let batch: Vec<OracleExample> = train.iter().map(oracle_example).collect();
    let mut losses = vec![];
    train_epochs(
        label,
        &mut model,
        |m| &mut m.params,
        &constant_rate(table),
        |m| m.loss_and_grads(&batch),
        |_, epoch, loss| {
            log_loss(table, &mut losses, epoch, loss);
            Ok(())
        },
    )?;
    Ok((model, losses))
}

/// Whether `model` classifies each node of each of `graphs` right (the arg-max of the
/// log-probabilities, ties to the first class, as AMP's rows).
fn oracle_hits(model: &OracleDepthGnn, graphs: &[ParityGraph]) -> Vec<Vec<bool>> {
    graphs
        .iter()
        .map(|g| {
            let example = oracle_example(g);
            let log_probs = hogwild_amp::log_softmax(&model.logits(&example));
            argmax_rows(&log_probs)
                .iter()
                .zip(example.labels)
                .map(|(p, y)| p == y)
                .collect()
        })
        .collect()
}

/// A trained Table 3 model as a function from parity graphs to per-node hits.
type Predict<'a> = Box<dyn FnMut(&[ParityGraph]) -> Vec<Vec<bool>> + 'a>;

fn extrapolation_run(
    table: &AmpTable,
    x: &Extrapolation,
    (_, row, seed): Job,
    label: &str,
) -> anyhow::Result<RunOutcome> {
    let train_set = parity_graphs(x.train_graphs, x.train_nodes, seed, Split::Train);
    let (mut hits_of, losses): (Predict, _) = if let Some(kind) = row.oracle() {
        let (model, losses) = train_oracle(table, kind, x.hidden, &train_set, label)?;
        (Box::new(move |set| oracle_hits(&model, set)), losses)
    } else {
        let mut initial = vec![0.0; table.message()];
        initial[0] = 1.0;
        let config = amp_config(
            row,
            hogwild_datasets::parity::BASELINE_FEATURES,
            x.hidden,
            table.message(),
            2,
            initial,
        );
        let settings = RunSettings {
            delays: table.delays.delays(),
            budget: Budget::PerNode(x.budget_per_node),
        };
        let train = parity_examples(&train_set);
        let (model, losses) = train_amp(table, config, &settings, &train, label)?;
        let mut rng = stream(&format!("{label}/test-runs"));
        (
            Box::new(move |set| amp_hits(&model, &settings, &parity_examples(set), &mut rng)),
            losses,
        )
    };
    let mut tests = vec![];
    let mut distances = vec![];
    for (c, &n) in x.test_sizes.iter().enumerate() {
        let set = parity_graphs(x.test_graphs, n, seed, Split::Test);
        let hits = hits_of(&set);
        let (correct, total) = count(&hits);
        tests.push((c, correct, total));
        let mut by_distance: Vec<(u64, u64)> = vec![];
        for (g, h) in set.iter().zip(&hits) {
            for (&d, &hit) in g.distances.iter().zip(h) {
                if by_distance.len() <= d {
                    by_distance.resize(d + 1, (0, 0));
                }
                by_distance[d].0 += u64::from(hit);
                by_distance[d].1 += 1;
            }
        }
        distances.extend(
            by_distance
                .into_iter()
                .enumerate()
                .filter(|(_, (_, t))| *t > 0)
                .map(|(d, (k, t))| (c, d, k, t)),
        );
    }
    let train_hits = hits_of(&train_set);
    Ok(RunOutcome {
        model: row,
        seed,
        trained_on: None,
        tests,
        train: count(&train_hits),
        losses,
        distances,
        seconds: 0.0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oracle_examples_take_the_origins_eccentricity_as_their_depth() {
        for g in parity_graphs(5, 30, 7, Split::Test) {
            let example = oracle_example(&g);
            assert_eq!(example.depth, g.eccentricity);
            assert_eq!(example.depth, *g.distances.iter().max().unwrap());
            assert_eq!(example.features, g.sample.features.view());
            assert_eq!(example.labels, classes(&g.sample));
        }
        // With one step less than the eccentricity the farthest node would not hear of the
        // origin; with the oracle depth every node does.
        let g = parity_graphs(1, 40, 8, Split::Test).remove(0);
        let far = g
            .distances
            .iter()
            .position(|&d| d == g.eccentricity)
            .unwrap();
        let mut moved = g.sample.features.clone();
        moved.row_mut(g.origin).fill(2.0);
        let model = OracleDepthGnn::new(LayerKind::Gcn, 5, 6, 2, &mut stream("test/params"));
        let logits = |features: &Array2<f64>, depth: usize| {
            let example = OracleExample {
                features: features.view(),
                depth,
                ..oracle_example(&g)
            };
            model.logits(&example).row(far).to_owned()
        };
        let depth = g.eccentricity;
        assert_ne!(logits(&g.sample.features, depth), logits(&moved, depth));
        assert_eq!(
            logits(&g.sample.features, depth - 1),
            logits(&moved, depth - 1)
        );
    }
}
