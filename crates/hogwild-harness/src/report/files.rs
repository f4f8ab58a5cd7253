//! The tidy frames and the files of `results/<table>/`.

use super::TableReport;
use crate::config::{Datasets, TableConfig};
use crate::sweep::{PlannedRun, RunResult, RNG_ALGORITHM};
use polars::prelude::*;
use serde::Serialize;
use std::path::Path;

impl TableReport {
    /// The tidy table: one row per cell.
    pub fn cells_frame(&self) -> PolarsResult<DataFrame> {
        let (mut row, mut column, mut mean, mut std, mut n, mut pm, mut ps, mut verdict) = (
            vec![],
            vec![],
            vec![],
            vec![],
            vec![],
            vec![],
            vec![],
            vec![],
        );
        for ((key, _), cells) in self.rows.iter().zip(&self.cells) {
            for (col, cell) in self.config.columns.iter().zip(cells) {
                row.push(key.clone());
                column.push(col.label.clone());
                mean.push(cell.mean);
                std.push(cell.std);
                n.push(cell.n as u32);
                pm.push(cell.paper.map(|p| p.mean));
                ps.push(cell.paper.and_then(|p| p.std));
                verdict.push(cell.verdict().map(|v| v.as_str().to_string()));
            }
        }
        df!("row" => row, "column_label" => column, "mean" => mean, "std" => std, "n" => n, "paper_mean" => pm, "paper_std" => ps, "verdict" => verdict)
    }
}

/// The cross-validation folds of every column of table `name` (one row per graph, on the
/// datasets its runs used), if the table has folds.
pub fn folds_frame(
    name: &str,
    config: &TableConfig,
    datasets: &Datasets,
) -> anyhow::Result<Option<DataFrame>> {
    let Some(k) = config.folds else {
        return Ok(None);
    };
    let (mut column, mut dataset, mut graph, mut fold) = (vec![], vec![], vec![], vec![]);
    for (c, col) in config.columns.iter().enumerate() {
        let d = datasets.get(name, c);
        for (g, f) in crate::sweep::folds(&d.identity, d.samples.len(), k)
            .into_iter()
            .enumerate()
        {
            column.push(col.label.clone());
            dataset.push(d.identity.clone());
            graph.push(g as u64);
            fold.push(f as u64);
        }
    }
    Ok(Some(
        df!("column_label" => column, "dataset" => dataset, "graph" => graph, "fold" => fold)?,
    ))
}

/// How the results were made; the only output that differs between identical runs.
#[derive(Debug, Clone, Serialize)]
pub struct Record {
    /// Table name.
    pub table: String,
    /// Profile.
    pub profile: String,
    /// SHA-256 of the resolved config of this table (async, models, table).
    pub config_sha256: String,
    /// The commit the binary was built from (`git rev-parse HEAD` at build time), or
    /// `unknown`.
    pub code_version: String,
    /// Whether the code (crates, Cargo.toml, Cargo.lock) differed from that commit at build
    /// time; the config is identified by `config_sha256`.
    pub code_dirty: bool,
    /// The compiler.
    pub rustc: String,
    /// Worker threads.
    pub threads: usize,
    /// Wall time of the whole `hogwild` invocation, seconds.
    pub wall_seconds: f64,
    /// Sum of this table's run times, seconds (for runs taken from their records, the time
    /// they took when computed).
    pub run_seconds: f64,
    /// This table's runs taken from run records (`<table>/records/`) instead of computed.
    pub runs_from_records: usize,
    /// RNG algorithm and stream derivation.
    pub rng: String,
    /// The command line.
    pub command: String,
    /// The settings given with `--set` (also in `config_sha256` and the run ids, through
    /// the settings they change).
    pub overrides: Vec<String>,
    /// Per-run wall time, seconds, by run label.
    pub run_seconds_by_label: std::collections::BTreeMap<String, f64>,
}

impl Record {
    /// A record with the environment filled in.
    pub fn new(
        table: &str,
        profile: &str,
        config_sha256: String,
        threads: usize,
        results: &[&RunResult],
    ) -> Record {
        Record {
            table: table.into(),
            profile: profile.into(),
            config_sha256,
            code_version: env!("HOGWILD_GIT_COMMIT").into(),
            code_dirty: env!("HOGWILD_GIT_DIRTY") == "true",
            rustc: env!("HOGWILD_RUSTC_VERSION").into(),
            threads,
            wall_seconds: 0.0,
            run_seconds: results.iter().map(|r| r.seconds).sum(),
            runs_from_records: 0,
            rng: RNG_ALGORITHM.into(),
            command: std::env::args().collect::<Vec<_>>().join(" "),
            overrides: vec![],
            run_seconds_by_label: results
                .iter()
                .map(|r| (r.spec.label(), (r.seconds * 1000.0).round() / 1000.0))
                .collect(),
        }
    }
}

fn csv_bytes(df: &mut DataFrame) -> anyhow::Result<Vec<u8>> {
    let mut bytes = vec![];
    CsvWriter::new(&mut bytes).finish(df)?;
    Ok(bytes)
}

/// The files every table writes whose bytes depend only on the config and the code (same
/// across runs, thread counts and machines); `record.toml` and `timings.csv` (wall times)
/// and, under cross-validation, `folds.csv` and, with faults, `faults.csv` (deterministic
/// too) come besides.
pub const DETERMINISTIC_FILES: [&str; 11] = [
    "runs.csv",
    "runs.parquet",
    "curves.parquet",
    "table.csv",
    "table.md",
    "table.tex",
    "macros.tex",
    "cells.svg",
    "sync_vs_async.svg",
    "residuals.svg",
    "training.svg",
];

/// The key-value metadata of a table's Parquet files.
fn parquet_metadata(report: &TableReport, record: &Record) -> Vec<(&'static str, String)> {
    vec![
        ("hogwild.table", report.name.clone()),
        ("hogwild.config_sha256", record.config_sha256.clone()),
        ("hogwild.code_version", record.code_version.clone()),
        (
            "hogwild.aggregation",
            format!(
                "A cell of table.md is the mean ± std (ddof {}) over the runs of its column, model and mode (one value per run: seeds x folds); an asynchronous run's value is first the mean over its orderings. Not the mean of these rows.",
                report.config.std_ddof
            ),
        ),
        (
            "hogwild.schema",
            "results/schema.md in the hogwild repository: every column".into(),
        ),
    ]
}

/// `timings.csv`: every run's wall time (not in `runs.*`, which are byte-identical across
/// machines).
fn timings(runs: &[(&PlannedRun, &RunResult)]) -> super::frame::Frame {
    use super::frame::{Frame, Values};
    let mut f = Frame::default();
    f.push(
        "run_id",
        Values::Text(runs.iter().map(|(p, _)| Some(p.id.clone())).collect()),
    );
    f.push(
        "run",
        Values::Text(runs.iter().map(|(_, r)| Some(r.spec.label())).collect()),
    );
    f.push(
        "seconds",
        Values::Float(runs.iter().map(|(_, r)| Some(r.seconds)).collect()),
    );
    f.push(
        "train_seconds",
        Values::Float(runs.iter().map(|(_, r)| Some(r.train_seconds)).collect()),
    );
    f
}

/// Writes [`DETERMINISTIC_FILES`], `record.toml` and `timings.csv` to `dir`, under
/// cross-validation `folds.csv` (the fold of every graph), and with faults `faults.csv`
/// ([`super::faults`]), for the table of `report`,
/// whose runs are `runs` (plan order). Each file is made in memory and written atomically
/// ([`crate::outdir::write_atomic`]).
pub fn write_table(
    dir: &Path,
    report: &TableReport,
    runs: &[(&PlannedRun, &RunResult)],
    record: &Record,
    datasets: &Datasets,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)
        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
    let metadata = parquet_metadata(report, record);
    let mut files: Vec<(&str, Vec<u8>)> = vec![];
    let rows = super::schema::runs(&report.config, runs);
    files.push(("runs.csv", rows.to_csv()?));
    files.push(("runs.parquet", rows.to_parquet(&metadata)?));
    let curves = super::schema::curves(&report.config, runs);
    files.push(("curves.parquet", curves.to_parquet(&metadata)?));
    files.push(("timings.csv", timings(runs).to_csv()?));
    files.push(("table.csv", csv_bytes(&mut report.cells_frame()?)?));
    let fault_summary = super::faults::summary_markdown(&report.config, runs)
        .map(|s| format!("#### What the faults did\n\n{s}\nPer column with faults and model, over every asynchronous evaluation (runs × orderings); per evaluation: `faults.csv`.\n\n"))
        .unwrap_or_default();
    let md = format!(
        "{}\n#### Against the paper\n\n{}\n#### Synchronous vs asynchronous evaluation\n\n{}\n{fault_summary}Raw per-run values: `runs.csv` (columns: `schema.md`); curves: `curves.parquet`; tidy cells: `table.csv`; how this was made: `record.toml`. Every setting, where it comes from, and why cells miss the paper: `docs/PROTOCOL.md` in the hogwild repository.\n",
        report.table_markdown(),
        report.comparison_markdown(),
        report.gaps_markdown()
    );
    files.push(("table.md", md.into_bytes()));
    files.push(("table.tex", report.table_latex().into_bytes()));
    files.push(("macros.tex", report.latex_macros().into_bytes()));
    files.push(("record.toml", toml::to_string(record)?.into_bytes()));
    let results: Vec<&RunResult> = runs.iter().map(|(_, r)| *r).collect();
    files.push(("cells.svg", super::figures::cells(report)?.into_bytes()));
    files.push((
        "sync_vs_async.svg",
        super::figures::sync_vs_async(report, &results)?.into_bytes(),
    ));
    files.push((
        "residuals.svg",
        super::figures::residuals(report, &results)?.into_bytes(),
    ));
    files.push((
        "training.svg",
        super::figures::training(report, &results)?.into_bytes(),
    ));
    if let Some(faults) = super::faults::faults(&report.config, runs) {
        files.push(("faults.csv", faults.to_csv()?));
    }
    if let Some(mut folds) = folds_frame(&report.name, &report.config, datasets)? {
        files.push(("folds.csv", csv_bytes(&mut folds)?));
    }
    for (name, bytes) in files {
        crate::outdir::write_atomic(&dir.join(name), &bytes)?;
    }
    Ok(())
}
