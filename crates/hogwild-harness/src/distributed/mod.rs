//! Fully distributed online training (`[distributed.NAME]` in `harness.toml`): the
//! experiments of Olshevskyi et al. through `hogwild_distributed`, swept over seeds and
//! written to `results/NAME/`. Which experiment a table runs is the name of its settings
//! table: `[distributed.NAME.regression]` (experiment 1, node regression: [`regression`]),
//! `[distributed.NAME.power]` (experiment 2, power allocation: [`power`]),
//! `[distributed.NAME.scheduling]` (experiment 3, link scheduling: [`scheduling`]) or
//! `[distributed.NAME.ledger]` (the paper's Table I, rounds per mini-batch counted per
//! scheme: [`ledger`]; nothing trained, so no seeds or epochs).
//!
//! These are not GNN tables (no models, sync or async modes): each run trains one
//! optimiser's copies with one seed and gives per-epoch curves (link scheduling: one point
//! per mini-batch of graphs); the table shows the mean ± std over seeds at chosen epochs,
//! the authors' single run beside it. Runs are independent
//! and made in parallel; each is sequential, so the files do not depend on the thread count.

mod figure;
pub mod ledger;
pub mod power;
pub mod regression;
pub mod scheduling;

use crate::report::frame::{Frame, Values};
use hogwild_distributed::ledger::LedgerConfig;
use hogwild_distributed::power::PowerConfig;
use hogwild_distributed::regression::RegressionConfig;
use hogwild_distributed::scheduling::SchedulingConfig;
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
    /// Seeds: each replaces the experiment's `seed` (data, start, shuffles); none for the
    /// ledger.
    #[serde(default)]
    pub seeds: Vec<u64>,
    /// Delta degrees of freedom of the standard deviation over seeds (required but for
    /// the ledger).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub std_ddof: Option<u8>,
    /// Epochs (1-based, ascending) whose test metric the table reports; for link
    /// scheduling, evaluations (one before each update on a mini-batch of graphs); none
    /// for the ledger.
    #[serde(default)]
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
    /// Experiment 3's settings (`hogwild_distributed::scheduling::SchedulingConfig`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduling: Option<SchedulingConfig>,
    /// The ledger's settings (`hogwild_distributed::ledger::LedgerConfig`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ledger: Option<LedgerConfig>,
}

/// The experiment a [`DistributedTable`] runs, with its settings.
#[derive(Debug, Clone, Copy)]
pub enum Experiment<'a> {
    /// Node regression (experiment 1).
    Regression(&'a RegressionConfig),
    /// Power allocation (experiment 2).
    Power(&'a PowerConfig),
    /// Link scheduling (experiment 3).
    Scheduling(&'a SchedulingConfig),
    /// The communication ledger (Table I).
    Ledger(&'a LedgerConfig),
}

impl DistributedTable {
    /// The experiment and its settings, or the error a table with none or several has.
    pub fn experiment(&self) -> Result<Experiment<'_>, InvalidSetting> {
        let given: Vec<(&str, Experiment<'_>)> = [
            self.regression
                .as_ref()
                .map(|r| ("regression", Experiment::Regression(r))),
            self.power.as_ref().map(|p| ("power", Experiment::Power(p))),
            self.scheduling
                .as_ref()
                .map(|s| ("scheduling", Experiment::Scheduling(s))),
            self.ledger
                .as_ref()
                .map(|l| ("ledger", Experiment::Ledger(l))),
        ]
        .into_iter()
        .flatten()
        .collect();
        match given[..] {
            [(_, experiment)] => Ok(experiment),
            [] => Err(InvalidSetting::new(
                "regression",
                "",
                "missing: give one experiment's settings, [.regression] (node regression), [.power] (power allocation), [.scheduling] (link scheduling) or [.ledger] (rounds per mini-batch)",
            )),
            [_, (second, _), ..] => Err(InvalidSetting::new(
                second,
                "",
                "give one experiment's settings ([.regression], [.power], [.scheduling] or [.ledger]), not several",
            )),
        }
    }

    /// The experiment's name in records (`distributed-regression`, …).
    fn experiment_name(&self) -> &'static str {
        match self.experiment() {
            Ok(Experiment::Power(_)) => "distributed-power",
            Ok(Experiment::Scheduling(_)) => "distributed-scheduling",
            Ok(Experiment::Ledger(_)) => "distributed-ledger",
            _ => "distributed-regression",
        }
    }

    /// What an entry of `epochs` counts: `epoch`, or `mini-batch` (link scheduling).
    fn unit(&self) -> &'static str {
        match self.experiment() {
            Ok(Experiment::Scheduling(_)) => "mini-batch",
            _ => "epoch",
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
            Ok(Experiment::Scheduling(s)) => names(&s.optimisers),
            Ok(Experiment::Ledger(_)) | Err(_) => vec![],
        }
    }

    /// The delta degrees of freedom of the std over seeds (0 where not given: the ledger,
    /// whose check refuses it).
    pub fn ddof(&self) -> u8 {
        self.std_ddof.unwrap_or(0)
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
            Experiment::Scheduling(s) => {
                s.check().map_err(|e| e.under("scheduling"))?;
                s.updates()
            }
            Experiment::Ledger(l) => {
                l.check().map_err(|e| e.under("ledger"))?;
                return self.check_nothing_trained();
            }
        };
        if self.std_ddof.is_none() {
            return Err(InvalidSetting::new(
                "std_ddof",
                "",
                "missing: the delta degrees of freedom of the std over seeds (0 or 1)",
            ));
        }
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
                    format!(
                        "epochs must ascend within 1..={total_epochs} (the settings' {}s)",
                        self.unit()
                    ),
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

    /// The ledger trains nothing: keys about seeds, epochs and the authors' curves are
    /// errors, not silently ignored.
    fn check_nothing_trained(&self) -> Result<(), InvalidSetting> {
        let given = [
            ("seeds", !self.seeds.is_empty()),
            ("std_ddof", self.std_ddof.is_some()),
            ("epochs", !self.epochs.is_empty()),
            ("paper", !self.paper.is_empty()),
            ("paper_references", !self.paper_references.is_empty()),
        ];
        match given.iter().find(|(_, set)| *set) {
            Some((key, _)) => Err(InvalidSetting::new(
                *key,
                "",
                "the ledger counts rounds and trains nothing: it has no seeds, std_ddof, epochs or paper curves (the paper's formulas are built in)",
            )),
            None => Ok(()),
        }
    }
}

/// A documented column of a distributed experiment's CSV file: name, type, meaning.
pub(crate) type ColumnDoc = (&'static str, &'static str, &'static str);

/// `table.csv` of every distributed experiment.
const CELL_COLUMNS: &[ColumnDoc] = &[
    ("row", "string", "optimiser name, or (power) a reference line: `full-power`, `untrained`, `truncated-wmmse`, `full-wmmse`"),
    ("column_label", "string", "`epoch E` (the test metric after epoch E), `mini-batch K` (link scheduling: before the K-th update), or `reference`"),
    ("mean", "float64", "mean over seeds"),
    ("std", "float64", "standard deviation over seeds, with the table's `std_ddof`"),
    ("n", "uint64", "seeds"),
    ("paper_mean", "float64", "the authors' single run (null: no value)"),
];

/// The section of `results/schema.md` on the distributed experiments' files.
pub fn schema_section() -> String {
    let mut s = String::from(
        "## distributed experiments\n\n`[distributed.NAME]` tables write `table.md`, `table.csv`, `curves.csv`, `curves.svg` and `record.toml`, and power allocation `wmmse.csv`; the ledger writes `table.md`, `table.csv`, `ledger.csv` and `record.toml`. The files are byte-identical across machines and thread counts; wall times are in `record.toml` only.\n",
    );
    for (file, columns) in [
        ("table.csv", CELL_COLUMNS),
        ("curves.csv (node regression)", regression::CURVE_COLUMNS),
        ("curves.csv (power allocation)", power::CURVE_COLUMNS),
        ("wmmse.csv (power allocation)", power::WMMSE_COLUMNS),
        ("curves.csv (link scheduling)", scheduling::CURVE_COLUMNS),
        ("ledger.csv (ledger)", ledger::LEDGER_COLUMNS),
    ] {
        s.push_str(&format!(
            "\n### {file}\n\n| column | type | meaning |\n|---|---|---|\n"
        ));
        for (name, kind, doc) in columns {
            s.push_str(&format!("| `{name}` | {kind} | {doc} |\n"));
        }
    }
    s
}

/// Whether `frame` has exactly the documented `columns`, in order, with their types.
#[cfg(test)]
fn documented(frame: &Frame, columns: &[ColumnDoc]) -> bool {
    frame.columns.len() == columns.len()
        && frame
            .columns
            .iter()
            .zip(columns)
            .all(|((name, values), (doc_name, kind, _))| {
                name == doc_name && values.type_name() == *kind
            })
}

/// One experiment's runs over its seeds.
pub(crate) struct Sweep<C, D, R> {
    /// Each seed's settings, in `seeds` order.
    pub configs: Vec<C>,
    /// Each seed's data.
    pub data: Vec<D>,
    /// Every (seed, optimiser) run in (seed, optimiser) order: `(seed, run)`.
    pub runs: Vec<(u64, R)>,
    /// Wall seconds of each run, in `runs` order (not in the deterministic files).
    pub seconds: Vec<f64>,
}

/// Makes every seed's settings (`with_seed`) and data (`generate`), then trains every
/// optimiser (`train` with its index) on every seed. Runs are independent and made in
/// parallel; each is sequential, so nothing depends on the thread count.
pub(crate) fn sweep<C: Sync + Send, D: Sync + Send, R: Send>(
    seeds: &[u64],
    optimisers: usize,
    with_seed: impl Fn(u64) -> C,
    generate: impl Fn(&C) -> D + Sync + Send,
    train: impl Fn(&C, &D, usize) -> R + Sync + Send,
) -> Sweep<C, D, R> {
    use rayon::prelude::*;
    let configs: Vec<C> = seeds.iter().map(|&seed| with_seed(seed)).collect();
    let data: Vec<D> = configs.par_iter().map(generate).collect();
    let jobs: Vec<(usize, usize)> = (0..configs.len())
        .flat_map(|s| (0..optimisers).map(move |o| (s, o)))
        .collect();
    let done: Vec<(u64, R, f64)> = jobs
        .par_iter()
        .map(|&(s, o)| {
            let start = std::time::Instant::now();
            let run = train(&configs[s], &data[s], o);
            (seeds[s], run, start.elapsed().as_secs_f64())
        })
        .collect();
    Sweep {
        configs,
        data,
        seconds: done.iter().map(|d| d.2).collect(),
        runs: done.into_iter().map(|(s, r, _)| (s, r)).collect(),
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
    let unit = table.unit();
    let mut md = format!("### {}\n\n| optimiser |", table.title);
    for e in &table.epochs {
        md.push_str(&format!(" {unit} {e} |"));
    }
    md.push_str(&format!(" rounds per {unit} |\n|---|"));
    md.push_str(&"---|".repeat(table.epochs.len() + 1));
    md.push('\n');
    let (mut row, mut column, mut mean, mut std, mut n, mut paper) =
        (vec![], vec![], vec![], vec![], vec![], vec![]);
    for name in table.optimiser_names() {
        md.push_str(&format!("| {name} |"));
        for (k, &e) in table.epochs.iter().enumerate() {
            let curves = runs.iter().map(|(n, c, _)| (*n, *c));
            let (m, s, count) = cell(curves, &name, e, table.ddof());
            let authors = table.paper.get(&name).map(|p| p[k]);
            md.push_str(&format!(" {m:.decimals$} ± {s:.decimals$}"));
            if let Some(p) = authors {
                md.push_str(&format!(" ({p:.decimals$})"));
            }
            md.push_str(" |");
            row.push(Some(name.clone()));
            column.push(Some(format!("{unit} {e}")));
            mean.push(Some(m));
            std.push(Some(s));
            n.push(Some(count as u64));
            paper.push(authors);
        }
        // Cumulative rounds; the first point may come before any training (scheduling).
        let per_unit = runs
            .iter()
            .find(|(n, _, _)| *n == name)
            .map_or(0, |(_, _, rounds)| match rounds {
                [first, second, ..] => second - first,
                [only] => *only,
                [] => 0,
            });
        md.push_str(&format!(" {per_unit} |\n"));
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
    how: crate::experiment::Invocation<'_>,
    dir: &Path,
) -> anyhow::Result<()> {
    let start = std::time::Instant::now();
    let experiment = table
        .experiment()
        .map_err(|e| anyhow::anyhow!("distributed.{name}: {e}"))?;
    let written = crate::experiment::pool(how.threads)?.install(|| match experiment {
        Experiment::Regression(settings) => regression::write(table, settings),
        Experiment::Power(settings) => power::write(table, settings),
        Experiment::Scheduling(settings) => scheduling::write(table, settings),
        Experiment::Ledger(settings) => ledger::write(table, settings),
    })?;
    let record = crate::experiment::ExperimentRecord::new(
        (name, table.experiment_name()),
        table,
        how,
        start.elapsed().as_secs_f64(),
        written.run_seconds,
    );
    let mut files = written.files;
    files.push(("record.toml", toml::to_string(&record)?.into_bytes()));
    crate::experiment::write_files(dir, files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cell_columns_are_documented() {
        let table = DistributedTable {
            title: "t".into(),
            optional: false,
            seeds: vec![0],
            std_ddof: Some(0),
            epochs: vec![1],
            paper: BTreeMap::new(),
            paper_references: BTreeMap::new(),
            regression: Some(RegressionConfig::paper()),
            power: None,
            scheduling: None,
            ledger: None,
        };
        let (_, cells) = cells_table(&table, &[], 4);
        assert!(documented(&cells, CELL_COLUMNS));
        assert!(schema_section().contains("| `paper_mean` | float64 |"));
    }
}
