//! Fully distributed online training (`[distributed.NAME]` in `harness.toml`): the node
//! regression experiment of Olshevskyi et al. through `hogwild_distributed`, swept over
//! seeds, with the communication ledger counted per scheme, written to `results/NAME/`.
//!
//! These are not GNN tables (no models, sync or async modes): each run trains one
//! optimiser's copies with one seed and gives per-epoch curves. Runs are independent and
//! made in parallel; each is sequential, so the files do not depend on the thread count.

use crate::report::frame::{Frame, Values};
use anyhow::Context;
use hogwild_distributed::regression::{
    measure_ledger, train_optimiser, OptimiserCurve, RegressionConfig, RegressionData, SchemeLedger,
};
use hogwild_settings::{InvalidSetting, Key};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// `[distributed.NAME]`: the node-regression experiment over seeds.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RegressionTable {
    /// Title of `table.md`.
    pub title: String,
    /// Left out of a plain `hogwild reproduce` (run it with `--table NAME`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub optional: bool,
    /// Seeds: each sets the experiment's `seed` (teacher, samples, student, shuffles); the
    /// graph (`graph_seed`) is the same for all.
    pub seeds: Vec<u64>,
    /// Delta degrees of freedom of the standard deviation over seeds.
    pub std_ddof: u8,
    /// Epochs (1-based, ascending) whose test MSE the table reports.
    pub epochs: Vec<usize>,
    /// The authors' test MSE per optimiser name at each of `epochs` (read off their result
    /// files), shown beside ours.
    #[serde(default)]
    pub paper: BTreeMap<String, Vec<f64>>,
    /// The experiment's settings (`hogwild_distributed::regression::RegressionConfig`).
    pub settings: RegressionConfig,
}

impl RegressionTable {
    /// Checks the settings; keys are relative to `[distributed.NAME]`.
    pub fn check(&self) -> Result<(), InvalidSetting> {
        self.settings.check().map_err(|e| e.under("settings"))?;
        if self.seeds.is_empty() {
            return Err(InvalidSetting::new("seeds", "[]", "name at least one seed"));
        }
        if self.epochs.is_empty() {
            return Err(InvalidSetting::new(
                "epochs",
                "[]",
                "name at least one epoch",
            ));
        }
        for (i, &e) in self.epochs.iter().enumerate() {
            let ascending = i == 0 || e > self.epochs[i - 1];
            if e == 0 || e > self.settings.epochs || !ascending {
                return Err(InvalidSetting::new(
                    Key::new().name("epochs").index(i),
                    e,
                    format!(
                        "epochs must ascend within 1..={} (settings.epochs)",
                        self.settings.epochs
                    ),
                ));
            }
        }
        for (name, values) in &self.paper {
            if values.len() != self.epochs.len() {
                return Err(InvalidSetting::new(
                    Key::new().name("paper").name(name.as_str()),
                    format!("[{} values]", values.len()),
                    format!(
                        "needs one value per entry of epochs ({})",
                        self.epochs.len()
                    ),
                ));
            }
            if !self.settings.optimisers.iter().any(|o| &o.name == name) {
                return Err(InvalidSetting::new(
                    Key::new().name("paper").name(name.as_str()),
                    format!("{name:?}"),
                    format!(
                        "no such optimiser; settings.optimisers: {}",
                        self.optimiser_names().join(", ")
                    ),
                ));
            }
        }
        Ok(())
    }

    fn optimiser_names(&self) -> Vec<String> {
        self.settings
            .optimisers
            .iter()
            .map(|o| o.name.clone())
            .collect()
    }
}

/// What one experiment produced: every (seed, optimiser) run in (seed, optimiser) order,
/// and the ledger of one mini-batch per scheme.
pub struct RegressionResults {
    /// `(seed, curve)`.
    pub runs: Vec<(u64, OptimiserCurve)>,
    /// One counted mini-batch under each scheme (the first seed's data; the counts do not
    /// depend on the data).
    pub ledger: Vec<SchemeLedger>,
    /// Wall seconds of each run, in `runs` order (not in the deterministic files).
    pub seconds: Vec<f64>,
}

/// Runs every seed and optimiser of `table` (independent runs, in parallel).
pub fn run(table: &RegressionTable) -> RegressionResults {
    let configs: Vec<RegressionConfig> = table
        .seeds
        .iter()
        .map(|&seed| RegressionConfig {
            seed,
            ..table.settings.clone()
        })
        .collect();
    let data: Vec<RegressionData> = configs.par_iter().map(RegressionData::generate).collect();
    let jobs: Vec<(usize, usize)> = (0..configs.len())
        .flat_map(|s| (0..table.settings.optimisers.len()).map(move |o| (s, o)))
        .collect();
    let done: Vec<(u64, OptimiserCurve, f64)> = jobs
        .par_iter()
        .map(|&(s, o)| {
            let start = std::time::Instant::now();
            let curve = train_optimiser(&configs[s], &data[s], &configs[s].optimisers[o]);
            (configs[s].seed, curve, start.elapsed().as_secs_f64())
        })
        .collect();
    let ledger = measure_ledger(&configs[0], &data[0], 1);
    let seconds = done.iter().map(|d| d.2).collect();
    RegressionResults {
        runs: done.into_iter().map(|(s, c, _)| (s, c)).collect(),
        ledger,
        seconds,
    }
}

/// `curves.csv`: one row per (seed, optimiser, epoch).
fn curves_frame(results: &RegressionResults) -> Frame {
    let (mut seed, mut name, mut kind, mut scheme, mut epoch) =
        (vec![], vec![], vec![], vec![], vec![]);
    let (mut rounds, mut test, mut train, mut spread) = (vec![], vec![], vec![], vec![]);
    for (s, c) in &results.runs {
        for e in 0..c.test_mse.len() {
            seed.push(Some(*s));
            name.push(Some(c.name.clone()));
            kind.push(Some(serde_name(&c.kind)));
            scheme.push(Some(serde_name(&c.scheme)));
            epoch.push(Some(e as u64 + 1));
            rounds.push(Some(c.rounds[e]));
            test.push(Some(c.test_mse[e]));
            train.push(Some(c.train_mse[e]));
            spread.push(Some(c.copy_spread[e]));
        }
    }
    let mut f = Frame::default();
    f.push("seed", Values::UInt(seed));
    f.push("optimiser", Values::Text(name));
    f.push("kind", Values::Text(kind));
    f.push("scheme", Values::Text(scheme));
    f.push("epoch", Values::UInt(epoch));
    f.push("rounds", Values::UInt(rounds));
    f.push("test_mse", Values::Float(test));
    f.push("train_mse", Values::Float(train));
    f.push("copy_spread", Values::Float(spread));
    f
}

/// The serde name of one of the experiment's enums (`d-sgd`, `pipelined`, …).
fn serde_name<T: Serialize>(value: &T) -> String {
    toml::Value::try_from(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// `ledger.csv`: one counted mini-batch per scheme.
fn ledger_frame(results: &RegressionResults) -> Frame {
    let rows = &results.ledger;
    let mut f = Frame::default();
    f.push(
        "scheme",
        Values::Text(rows.iter().map(|r| Some(serde_name(&r.scheme))).collect()),
    );
    let col = |g: fn(&SchemeLedger) -> u64| Values::UInt(rows.iter().map(|r| Some(g(r))).collect());
    f.push("rounds", col(|r| r.per_minibatch.rounds));
    f.push("messages", col(|r| r.per_minibatch.messages));
    f.push("scalars", col(|r| r.per_minibatch.scalars));
    f.push("widest_message", col(|r| r.per_minibatch.widest_message));
    f
}

/// Mean ± std of the test MSE of optimiser `name` at `epoch` (1-based) over seeds.
fn cell(results: &RegressionResults, name: &str, epoch: usize, ddof: u8) -> (f64, f64, usize) {
    let values: Vec<f64> = results
        .runs
        .iter()
        .filter(|(_, c)| c.name == name)
        .map(|(_, c)| c.test_mse[epoch - 1])
        .collect();
    let (m, s) = crate::report::mean_std(&values, ddof);
    (m, s, values.len())
}

/// `table.md` and `table.csv` (row: optimiser; column: `epoch E`).
fn tables(table: &RegressionTable, results: &RegressionResults) -> anyhow::Result<(String, Frame)> {
    let mut md = format!("### {}\n\n| optimiser |", table.title);
    for e in &table.epochs {
        md.push_str(&format!(" epoch {e} |"));
    }
    md.push_str(" rounds per epoch |\n|---|");
    md.push_str(&"---|".repeat(table.epochs.len() + 1));
    md.push('\n');
    let (mut row, mut column, mut mean, mut std, mut n, mut paper) =
        (vec![], vec![], vec![], vec![], vec![], vec![]);
    for name in table.optimiser_names() {
        md.push_str(&format!("| {name} |"));
        for (k, &e) in table.epochs.iter().enumerate() {
            let (m, s, count) = cell(results, &name, e, table.std_ddof);
            let authors = table.paper.get(&name).map(|p| p[k]);
            md.push_str(&format!(" {m:.4} ± {s:.4}"));
            if let Some(p) = authors {
                md.push_str(&format!(" ({p:.4})"));
            }
            md.push_str(" |");
            row.push(Some(name.clone()));
            column.push(Some(format!("epoch {e}")));
            mean.push(Some(m));
            std.push(Some(s));
            n.push(Some(count as u64));
            paper.push(authors);
        }
        let per_epoch = results
            .runs
            .iter()
            .find(|(_, c)| c.name == name)
            .map_or(0, |(_, c)| c.rounds[0]);
        md.push_str(&format!(" {per_epoch} |\n"));
    }
    let s = &table.settings;
    md.push_str(&format!(
        "\nTest MSE, mean ± std (ddof {}) over {} seed(s), the authors' single run in parentheses; noise floor {:.4} (noise_std²). N = {}, B = {}, {} epochs of {} samples, scheme `{}`.\n\n#### Communication per mini-batch (the paper's Table I), counted\n\n| scheme | rounds | messages | scalars | widest message |\n|---|---|---|---|---|\n",
        table.std_ddof,
        table.seeds.len(),
        s.noise_std * s.noise_std,
        s.nodes,
        s.batch_size,
        s.epochs,
        s.train_samples,
        serde_name(&s.scheme),
    ));
    for r in &results.ledger {
        let l = &r.per_minibatch;
        md.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            serde_name(&r.scheme),
            l.rounds,
            l.messages,
            l.scalars,
            l.widest_message
        ));
    }
    md.push_str("\nPer-epoch curves of every seed and optimiser: `curves.csv`; the ledger: `ledger.csv`; tidy cells: `table.csv`; how this was made: `record.toml`. Every choice: `docs/PROTOCOL.md`, \"Fully distributed training\", in the hogwild repository.\n");
    let mut f = Frame::default();
    f.push("row", Values::Text(row));
    f.push("column_label", Values::Text(column));
    f.push("mean", Values::Float(mean));
    f.push("std", Values::Float(std));
    f.push("n", Values::UInt(n));
    f.push("paper_mean", Values::Float(paper));
    Ok((md, f))
}

/// How `results/NAME/` was made.
#[derive(Debug, Serialize)]
struct Record<'a> {
    table: &'a str,
    experiment: &'static str,
    profile: &'a str,
    config_sha256: String,
    code_version: &'static str,
    code_dirty: bool,
    rustc: &'static str,
    threads: usize,
    wall_seconds: f64,
    run_seconds: f64,
    command: String,
}

/// SHA-256 (hex) of `table` as TOML.
pub fn config_hash(table: &RegressionTable) -> String {
    use sha2::{Digest, Sha256};
    let text = toml::to_string(table).expect("the table serialises");
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Runs `table` and writes `dir` (`table.md`, `table.csv`, `curves.csv`, `ledger.csv`,
/// `record.toml`), each file atomically.
pub fn reproduce(
    name: &str,
    table: &RegressionTable,
    profile: &str,
    threads: usize,
    dir: &Path,
) -> anyhow::Result<()> {
    let start = std::time::Instant::now();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .context("cannot start the worker threads")?;
    let results = pool.install(|| run(table));
    let (md, cells) = tables(table, &results)?;
    let record = Record {
        table: name,
        experiment: "distributed-regression",
        profile,
        config_sha256: config_hash(table),
        code_version: env!("HOGWILD_GIT_COMMIT"),
        code_dirty: env!("HOGWILD_GIT_DIRTY") == "true",
        rustc: env!("HOGWILD_RUSTC_VERSION"),
        threads,
        wall_seconds: (start.elapsed().as_secs_f64() * 1000.0).round() / 1000.0,
        run_seconds: (results.seconds.iter().sum::<f64>() * 1000.0).round() / 1000.0,
        command: std::env::args().collect::<Vec<_>>().join(" "),
    };
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let files = [
        ("table.md", md.into_bytes()),
        ("table.csv", cells.to_csv()?),
        ("curves.csv", curves_frame(&results).to_csv()?),
        ("ledger.csv", ledger_frame(&results).to_csv()?),
        ("record.toml", toml::to_string(&record)?.into_bytes()),
    ];
    for (file, bytes) in files {
        crate::outdir::write_atomic(&dir.join(file), &bytes)?;
    }
    Ok(())
}
