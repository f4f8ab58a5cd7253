//! Fully distributed online training (`[distributed.NAME]` in `harness.toml`): the
//! experiments of Olshevskyi et al. through `hogwild_distributed`, swept over seeds and
//! written to `results/NAME/`. Which experiment a table runs is the name of its settings
//! table: `[distributed.NAME.regression]` (experiment 1, node regression: [`regression`]) or
//! `[distributed.NAME.power]` (experiment 2, power allocation: [`power`]).
//!
//! These are not GNN tables (no models, sync or async modes): each run trains one
//! optimiser's copies with one seed and gives per-epoch curves; the table shows the mean ±
//! std over seeds at chosen epochs, the authors' single run beside it. Runs are independent
//! and made in parallel; each is sequential, so the files do not depend on the thread count.

mod figure;
pub mod power;
pub mod regression;

use crate::report::frame::{Frame, Values};
use hogwild_distributed::power::PowerConfig;
use hogwild_distributed::regression::RegressionConfig;
use hogwild_settings::{InvalidSetting, Key};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// `[distributed.NAME]`: one experiment over seeds.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DistributedTable {
    /// Title of `table.md`.
    pub title: String,
    /// Left out of a plain `hogwild reproduce` (run it with `--table NAME`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub optional: bool,
    /// Seeds: each replaces the experiment's `seed` (data, start, shuffles).
    pub seeds: Vec<u64>,
    /// Delta degrees of freedom of the standard deviation over seeds.
    pub std_ddof: u8,
    /// Epochs (1-based, ascending) whose test metric the table reports.
    pub epochs: Vec<usize>,
    /// The authors' value per optimiser name at each of `epochs` (read off their result
    /// files), shown beside ours.
    #[serde(default)]
    pub paper: BTreeMap<String, Vec<f64>>,
    /// Power allocation only: the authors' reference lines (`untrained`, `truncated-wmmse`,
    /// `full-wmmse`), shown beside ours.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub paper_references: BTreeMap<String, f64>,
    /// Experiment 1's settings (`hogwild_distributed::regression::RegressionConfig`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regression: Option<RegressionConfig>,
    /// Experiment 2's settings (`hogwild_distributed::power::PowerConfig`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub power: Option<PowerConfig>,
}

/// The experiment a [`DistributedTable`] runs, with its settings.
#[derive(Debug, Clone, Copy)]
pub enum Experiment<'a> {
    /// Node regression (experiment 1).
    Regression(&'a RegressionConfig),
    /// Power allocation (experiment 2).
    Power(&'a PowerConfig),
}

impl DistributedTable {
    /// The experiment and its settings, or the error a table with none or both has.
    pub fn experiment(&self) -> Result<Experiment<'_>, InvalidSetting> {
        match (&self.regression, &self.power) {
            (Some(r), None) => Ok(Experiment::Regression(r)),
            (None, Some(p)) => Ok(Experiment::Power(p)),
            (Some(_), Some(_)) => Err(InvalidSetting::new(
                "power",
                "",
                "give one experiment's settings: [.regression] or [.power], not both",
            )),
            (None, None) => Err(InvalidSetting::new(
                "regression",
                "",
                "missing: give one experiment's settings, [.regression] (node regression) or [.power] (power allocation)",
            )),
        }
    }

    /// The experiment's name in records (`distributed-regression`, `distributed-power`).
    fn experiment_name(&self) -> &'static str {
        match self.experiment() {
            Ok(Experiment::Power(_)) => "distributed-power",
            _ => "distributed-regression",
        }
    }

    /// The optimisers' names, in their order.
    pub fn optimiser_names(&self) -> Vec<String> {
        let names = |o: &[hogwild_distributed::optim::OptimiserSpec]| {
            o.iter().map(|o| o.name.clone()).collect::<Vec<_>>()
        };
        match self.experiment() {
            Ok(Experiment::Regression(r)) => names(&r.optimisers),
            Ok(Experiment::Power(p)) => names(&p.optimisers),
            Err(_) => vec![],
        }
    }

    /// Checks the settings; keys are relative to `[distributed.NAME]`.
    pub fn check(&self) -> Result<(), InvalidSetting> {
        let total_epochs = match self.experiment()? {
            Experiment::Regression(r) => {
                r.check().map_err(|e| e.under("regression"))?;
                r.epochs
            }
            Experiment::Power(p) => {
                p.check().map_err(|e| e.under("power"))?;
                p.epochs
            }
        };
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
            if e == 0 || e > total_epochs || !ascending {
                return Err(InvalidSetting::new(
                    Key::new().name("epochs").index(i),
                    e,
                    format!("epochs must ascend within 1..={total_epochs} (the settings' epochs)"),
                ));
            }
        }
        let names = self.optimiser_names();
        for (name, values) in &self.paper {
            let here = Key::new().name("paper").name(name.as_str());
            if values.len() != self.epochs.len() {
                return Err(InvalidSetting::new(
                    here,
                    format!("[{} values]", values.len()),
                    format!(
                        "needs one value per entry of epochs ({})",
                        self.epochs.len()
                    ),
                ));
            }
            if !names.contains(name) {
                return Err(InvalidSetting::new(
                    here,
                    format!("{name:?}"),
                    format!("no such optimiser; optimisers: {}", names.join(", ")),
                ));
            }
        }
        for name in self.paper_references.keys() {
            let here = Key::new().name("paper_references").name(name.as_str());
            if self.power.is_none() {
                return Err(InvalidSetting::new(
                    here,
                    format!("{name:?}"),
                    "only the power experiment has reference lines",
                ));
            }
            if !power::REFERENCES.contains(&name.as_str()) {
                return Err(InvalidSetting::new(
                    here,
                    format!("{name:?}"),
                    format!(
                        "no such reference; references: {}",
                        power::REFERENCES.join(", ")
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// What one experiment wrote besides its record.
pub(crate) struct Written {
    /// `(file name, bytes)`, deterministic.
    pub files: Vec<(&'static str, Vec<u8>)>,
    /// Wall seconds of every run, summed (not in the deterministic files).
    pub run_seconds: f64,
}

/// Mean ± std over seeds of one optimiser's value at `epoch` (1-based) of its runs'
/// curves, and how many runs there were. `runs` are `(optimiser name, per-epoch values)`.
fn cell<'a>(
    runs: impl Iterator<Item = (&'a str, &'a [f64])>,
    name: &str,
    epoch: usize,
    ddof: u8,
) -> (f64, f64, usize) {
    let values: Vec<f64> = runs
        .filter(|(n, _)| *n == name)
        .map(|(_, curve)| curve[epoch - 1])
        .collect();
    let (m, s) = crate::report::mean_std(&values, ddof);
    (m, s, values.len())
}

/// The table of optimisers (rows) by `table.epochs` (columns) every experiment starts
/// with: the Markdown (title, header, rows, each cell `mean ± std (authors')` with
/// `decimals` decimals, and the rounds of each optimiser's first epoch) and the tidy cells
/// (`table.csv`). `runs` are `(optimiser name, per-epoch metric, per-epoch cumulative
/// rounds)`.
fn cells_table<'a>(
    table: &DistributedTable,
    runs: &'a [(&'a str, &'a [f64], &'a [u64])],
    decimals: usize,
) -> (String, Frame) {
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
            let curves = runs.iter().map(|(n, c, _)| (*n, *c));
            let (m, s, count) = cell(curves, &name, e, table.std_ddof);
            let authors = table.paper.get(&name).map(|p| p[k]);
            md.push_str(&format!(" {m:.decimals$} ± {s:.decimals$}"));
            if let Some(p) = authors {
                md.push_str(&format!(" ({p:.decimals$})"));
            }
            md.push_str(" |");
            row.push(Some(name.clone()));
            column.push(Some(format!("epoch {e}")));
            mean.push(Some(m));
            std.push(Some(s));
            n.push(Some(count as u64));
            paper.push(authors);
        }
        let per_epoch = runs
            .iter()
            .find(|(n, _, _)| *n == name)
            .map_or(0, |(_, _, rounds)| rounds[0]);
        md.push_str(&format!(" {per_epoch} |\n"));
    }
    let mut f = Frame::default();
    f.push("row", Values::Text(row));
    f.push("column_label", Values::Text(column));
    f.push("mean", Values::Float(mean));
    f.push("std", Values::Float(std));
    f.push("n", Values::UInt(n));
    f.push("paper_mean", Values::Float(paper));
    (md, f)
}

/// The serde name of one of the experiments' enums (`d-sgd`, `pipelined`, …).
fn serde_name<T: Serialize>(value: &T) -> String {
    toml::Value::try_from(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// SHA-256 (hex) of `table` as TOML.
pub fn config_hash(table: &DistributedTable) -> String {
    crate::experiment::config_hash(table)
}

/// Runs `table` and writes `dir` (the experiment's files and `record.toml`), each file
/// atomically.
pub fn reproduce(
    name: &str,
    table: &DistributedTable,
    profile: &str,
    threads: usize,
    dir: &Path,
) -> anyhow::Result<()> {
    let start = std::time::Instant::now();
    let experiment = table
        .experiment()
        .map_err(|e| anyhow::anyhow!("distributed.{name}: {e}"))?;
    let written = crate::experiment::pool(threads)?.install(|| match experiment {
        Experiment::Regression(settings) => regression::write(table, settings),
        Experiment::Power(settings) => power::write(table, settings),
    })?;
    let record = crate::experiment::ExperimentRecord::new(
        (name, table.experiment_name()),
        table,
        profile,
        threads,
        start.elapsed().as_secs_f64(),
        written.run_seconds,
    );
    let mut files = written.files;
    files.push(("record.toml", toml::to_string(&record)?.into_bytes()));
    crate::experiment::write_files(dir, files)
}
