//! `[amp.NAME]`: the settings of one AMP table and their checks.

use super::tu::config::TuSettings;
use hogwild_amp::{DelayDistribution, Delays, Halting, Update};
use hogwild_datasets::expressiveness::Benchmark;
use hogwild_models::oracle_depth::LayerKind;
use hogwild_settings::{at_least, InvalidSetting, Key};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `[amp.NAME]`: one of AMP's tables, with exactly one of `expressiveness` (Table 2),
/// `extrapolation` (Table 3) or `tu` (Table 4).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AmpTable {
    /// Title of `table.md`.
    pub title: String,
    /// Left out of a plain `hogwild reproduce` (run it with `--table NAME`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub optional: bool,
    /// Seeds: each draws fresh data and fresh parameters (paper and code: 0–9).
    pub seeds: Vec<u64>,
    /// Delta degrees of freedom of the standard deviation over seeds.
    pub std_ddof: u8,
    /// Training epochs: one full-batch Adam step each (paper: 1000).
    pub epochs: usize,
    /// Adam's learning rate (paper: 0.01).
    pub lr: f64,
    /// The models, one row each, in this order.
    pub models: Vec<AmpRow>,
    /// AMP's message delays (paper: constant).
    #[serde(default)]
    pub delays: DelayModel,
    /// AMP's message width (code: 3); Tables 2 and 3 only (Table 4's is a grid axis).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<usize>,
    /// The training loss goes to `curves.csv` every this many epochs (and at the first and
    /// last); Tables 2 and 3 only (Table 4's curves hold every epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss_every: Option<usize>,
    /// Table 2: the benchmarks beyond 1-WL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expressiveness: Option<Expressiveness>,
    /// Table 3: shortest-path parity, trained small and tested large.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extrapolation: Option<Extrapolation>,
    /// Table 4: TU graph classification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tu: Option<TuSettings>,
    /// The paper's `[mean, std]` (accuracy in %) per row of ours, one entry per column;
    /// `[]` where the paper has no value.
    #[serde(default)]
    pub paper: BTreeMap<String, Vec<Vec<f64>>>,
    /// Rows we do not run, shown with the paper's values only (its other methods), in the
    /// same shape as `paper`, under their display names.
    #[serde(default)]
    pub reference: BTreeMap<String, Vec<Vec<f64>>>,
    /// Table 4 only: settings over `[models]` for its baselines, as a GNN table's
    /// (`[amp.NAME.model_settings.gcn] layers = 4`).
    #[serde(default, skip_serializing_if = "toml::Table::is_empty")]
    pub model_settings: toml::Table,
}

/// `[amp.NAME.expressiveness]`: Table 2's settings; every benchmark's hidden size, budget
/// (5n), features and classes are its recipe's (`hogwild_datasets::expressiveness`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Expressiveness {
    /// The benchmarks, one column each, by the paper's names (`Limits1`, `4-cycles`, …).
    pub datasets: Vec<String>,
    /// GIN's layers (paper: 4).
    pub gin_layers: usize,
}

/// `[amp.NAME.extrapolation]`: Table 3's settings.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Extrapolation {
    /// Training graphs per seed (paper: 25; code: 100).
    pub train_graphs: usize,
    /// Nodes of a training graph (paper and code: 10).
    pub train_nodes: usize,
    /// Test graph sizes, one column each (paper: 10 … 2500).
    pub test_sizes: Vec<usize>,
    /// Test graphs per size and seed (code: 10).
    pub test_graphs: usize,
    /// AMP's state width (paper: 30).
    pub hidden: usize,
    /// Messages per run as a multiple of the node count (code: 10).
    pub budget_per_node: usize,
}

/// A row of an AMP table: an AMP variant or a baseline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AmpRow {
    /// AMP-RNN.
    AmpRnn,
    /// AMP-GRU.
    AmpGru,
    /// AMP-LSTM.
    AmpLstm,
    /// AMP-ACT (RNN cell, additive halting).
    AmpAct,
    /// AMP-Iter (RNN cell, multiplicative halting).
    AmpIter,
    /// GIN: Table 2's with the benchmark's aggregation and `gin_layers`; Table 4's the
    /// registry's, as `[models.gin]` sets it.
    Gin,
    /// The registry's GCN, as `[models.gcn]` sets it (Table 4 only).
    Gcn,
    /// The registry's GAT, as `[models.gat]` sets it (Table 4 only).
    Gat,
    /// GIN (max aggregation, one linear map) with the oracle depth (Table 3 only).
    GinOracle,
    /// GCN with the oracle depth (Table 3 only).
    GcnOracle,
    /// GAT with the oracle depth (Table 3 only).
    GatOracle,
}

impl AmpRow {
    /// The name in `harness.toml` and the files (`amp-rnn`).
    pub fn key(self) -> &'static str {
        match self {
            AmpRow::AmpRnn => "amp-rnn",
            AmpRow::AmpGru => "amp-gru",
            AmpRow::AmpLstm => "amp-lstm",
            AmpRow::AmpAct => "amp-act",
            AmpRow::AmpIter => "amp-iter",
            AmpRow::Gin => "gin",
            AmpRow::Gcn => "gcn",
            AmpRow::Gat => "gat",
            AmpRow::GinOracle => "gin-oracle",
            AmpRow::GcnOracle => "gcn-oracle",
            AmpRow::GatOracle => "gat-oracle",
        }
    }

    /// The paper's name (`AMP-RNN`).
    pub fn display(self) -> &'static str {
        match self {
            AmpRow::AmpRnn => "AMP-RNN",
            AmpRow::AmpGru => "AMP-GRU",
            AmpRow::AmpLstm => "AMP-LSTM",
            AmpRow::AmpAct => "AMP-ACT",
            AmpRow::AmpIter => "AMP-Iter",
            AmpRow::Gin => "GIN",
            AmpRow::Gcn => "GCN",
            AmpRow::Gat => "GAT",
            AmpRow::GinOracle => "GIN, oracle depth",
            AmpRow::GcnOracle => "GCN, oracle depth",
            AmpRow::GatOracle => "GAT, oracle depth",
        }
    }

    /// The update cell and halting rule of an AMP row; `None` for a baseline.
    pub fn amp(self) -> Option<(Update, Halting)> {
        match self {
            AmpRow::AmpRnn => Some((Update::Rnn, Halting::None)),
            AmpRow::AmpGru => Some((Update::Gru, Halting::None)),
            AmpRow::AmpLstm => Some((Update::Lstm, Halting::None)),
            AmpRow::AmpAct => Some((Update::Rnn, Halting::Act)),
            AmpRow::AmpIter => Some((Update::Rnn, Halting::Iter)),
            AmpRow::Gin
            | AmpRow::Gcn
            | AmpRow::Gat
            | AmpRow::GinOracle
            | AmpRow::GcnOracle
            | AmpRow::GatOracle => None,
        }
    }

    /// The shared layer of a Table 3 baseline with the oracle depth; `None` otherwise.
    pub fn oracle(self) -> Option<LayerKind> {
        match self {
            AmpRow::GinOracle => Some(LayerKind::Gin),
            AmpRow::GcnOracle => Some(LayerKind::Gcn),
            AmpRow::GatOracle => Some(LayerKind::Gat),
            _ => None,
        }
    }

    /// The registry model a Table 4 baseline runs (`gcn`, `gat`, `gin`); `None` otherwise.
    pub fn registry(self) -> Option<&'static str> {
        match self {
            AmpRow::Gin | AmpRow::Gcn | AmpRow::Gat => Some(self.key()),
            _ => None,
        }
    }

    /// The experiments a row runs in (`expressiveness`, `extrapolation`, `tu`), and why it
    /// runs nowhere else.
    fn runs_in(self) -> (&'static [&'static str], &'static str) {
        match self {
            AmpRow::AmpRnn => (&["expressiveness", "extrapolation", "tu"], ""),
            _ if self.amp().is_some() => (
                &["expressiveness", "extrapolation"],
                "Table 4 runs AMP-RNN (paper) and the registry's GCN, GAT and GIN (ours): models = [\"amp-rnn\", \"gcn\", \"gat\", \"gin\"]",
            ),
            AmpRow::Gin => (
                &["expressiveness", "tu"],
                "is Table 2's and Table 4's GIN (a fixed number of layers); Table 3's GIN, GCN and GAT with the oracle depth are `gin-oracle`, `gcn-oracle` and `gat-oracle`",
            ),
            AmpRow::Gcn | AmpRow::Gat => (
                &["tu"],
                "is a Table 4 baseline (the registry's model, as [models.NAME] sets it); Table 3's GCN and GAT with the oracle depth are `gcn-oracle` and `gat-oracle`",
            ),
            _ => (
                &["extrapolation"],
                "is Table 3's baseline (oracle depth: one shared layer applied the origin's eccentricity times), for [amp.NAME.extrapolation] only",
            ),
        }
    }

    const ALL: [AmpRow; 11] = [
        AmpRow::AmpRnn,
        AmpRow::AmpGru,
        AmpRow::AmpLstm,
        AmpRow::AmpAct,
        AmpRow::AmpIter,
        AmpRow::Gin,
        AmpRow::Gcn,
        AmpRow::Gat,
        AmpRow::GinOracle,
        AmpRow::GcnOracle,
        AmpRow::GatOracle,
    ];
}

/// AMP's message delays.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DelayModel {
    /// Every message takes the same time (FIFO; paper, every table).
    #[default]
    Constant,
    /// The reference code's `max(1e-10, N(0.5, 0.5²))`.
    Code,
    /// The paper's example, uniform in `[0, 1)`.
    Paper,
}

impl DelayModel {
    /// The engine's setting.
    pub fn delays(self) -> Delays {
        match self {
            DelayModel::Constant => Delays::Constant,
            DelayModel::Code => Delays::Random(DelayDistribution::CODE),
            DelayModel::Paper => Delays::Random(DelayDistribution::PAPER),
        }
    }
}

/// Which of AMP's tables, with its settings.
#[derive(Debug, Clone, Copy)]
pub enum Experiment<'a> {
    /// Table 2.
    Expressiveness(&'a Expressiveness),
    /// Table 3.
    Extrapolation(&'a Extrapolation),
    /// Table 4.
    Tu(&'a TuSettings),
}

impl Experiment<'_> {
    /// The `experiment` of `record.toml`.
    pub fn kind(self) -> &'static str {
        match self {
            Experiment::Expressiveness(_) => "amp-expressiveness",
            Experiment::Extrapolation(_) => "amp-extrapolation",
            Experiment::Tu(_) => "amp-tu",
        }
    }
}

/// The benchmark called `name` in the paper's Table 2.
pub fn benchmark(name: &str) -> Option<Benchmark> {
    Benchmark::TABLE2
        .into_iter()
        .find(|b| b.recipe().name == name)
}

fn repeated<T: PartialEq>(items: &[T]) -> Option<usize> {
    (1..items.len()).find(|&i| items[..i].contains(&items[i]))
}

impl AmpTable {
    /// The table's experiment; [`AmpTable::check`] makes sure there is exactly one.
    pub fn experiment(&self) -> Experiment<'_> {
        match (&self.expressiveness, &self.extrapolation, &self.tu) {
            (Some(e), _, _) => Experiment::Expressiveness(e),
            (None, Some(x), _) => Experiment::Extrapolation(x),
            (None, None, Some(t)) => Experiment::Tu(t),
            (None, None, None) => panic!("an AMP table without an experiment (not checked)"),
        }
    }

    /// The message width of Tables 2 and 3 ([`AmpTable::check`] makes sure it is given).
    pub fn message(&self) -> usize {
        self.message
            .expect("checked: Tables 2 and 3 give a message width")
    }

    /// How often Tables 2 and 3 log the training loss (checked like [`AmpTable::message`]).
    pub fn loss_every(&self) -> usize {
        self.loss_every
            .expect("checked: Tables 2 and 3 give loss_every")
    }

    /// Full-batch Adam at the table's rate for its epochs, with `lr_schedule`, no weight
    /// decay or clipping: every AMP table's optimiser.
    pub fn optimiser(
        &self,
        lr_schedule: hogwild_models::LrSchedule,
    ) -> hogwild_models::TrainConfig {
        hogwild_models::TrainConfig {
            epochs: self.epochs,
            batch_graphs: None,
            lr: self.lr,
            weight_decay: 0.0,
            grad_clip: 0.0,
            lr_schedule,
        }
    }

    /// The column labels (benchmark names, or `n = SIZE`).
    pub fn columns(&self) -> Vec<String> {
        match self.experiment() {
            Experiment::Expressiveness(e) => e.datasets.clone(),
            Experiment::Extrapolation(x) => {
                x.test_sizes.iter().map(|n| format!("n = {n}")).collect()
            }
            Experiment::Tu(t) => t.datasets.iter().map(|d| d.label.clone()).collect(),
        }
    }

    /// Checks the settings; keys are relative to `[amp.NAME]`.
    pub fn check(&self) -> Result<(), InvalidSetting> {
        let given = [
            ("expressiveness", self.expressiveness.is_some()),
            ("extrapolation", self.extrapolation.is_some()),
            ("tu", self.tu.is_some()),
        ];
        let experiments: Vec<&str> = given.iter().filter(|g| g.1).map(|g| g.0).collect();
        match experiments.as_slice() {
            [] => {
                return Err(InvalidSetting::new(
                    "expressiveness",
                    "",
                    "an AMP table needs [amp.NAME.expressiveness] (Table 2), [amp.NAME.extrapolation] (Table 3) or [amp.NAME.tu] (Table 4)",
                ))
            }
            [_] => {}
            [_, second, ..] => {
                return Err(InvalidSetting::new(
                    *second,
                    "",
                    format!(
                        "an AMP table is one experiment: give one of {}, not several",
                        experiments.join(", ")
                    ),
                ))
            }
        }
        let table4 = self.tu.is_some();
        for (key, value) in [("message", self.message), ("loss_every", self.loss_every)] {
            match (table4, value) {
                (false, None) => {
                    return Err(InvalidSetting::new(
                        key,
                        "(missing)",
                        "Tables 2 and 3 need it (message: AMP's message width, code 3; loss_every: how often curves.csv logs the loss)",
                    ))
                }
                (false, Some(v)) => at_least(key, v as u64, 1)?,
                (true, Some(v)) => {
                    return Err(InvalidSetting::new(
                        key,
                        v,
                        "is not read by Table 4 ([amp.NAME.tu]): its message widths are tu.message_sizes, and its curves hold every epoch",
                    ))
                }
                (true, None) => {}
            }
        }
        if self.seeds.is_empty() {
            return Err(InvalidSetting::new("seeds", "[]", "name at least one seed"));
        }
        if let Some(i) = repeated(&self.seeds) {
            return Err(InvalidSetting::new(
                Key::new().name("seeds").index(i),
                self.seeds[i],
                "is listed twice (its runs would be counted twice)",
            ));
        }
        at_least("epochs", self.epochs as u64, 1)?;
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return Err(InvalidSetting::new(
                "lr",
                self.lr,
                "must be a positive number",
            ));
        }
        if self.models.is_empty() {
            return Err(InvalidSetting::new(
                "models",
                "[]",
                "name at least one model",
            ));
        }
        if let Some(i) = repeated(&self.models) {
            return Err(InvalidSetting::new(
                Key::new().name("models").index(i),
                self.models[i].key(),
                "is listed twice",
            ));
        }
        let here = match self.experiment() {
            Experiment::Expressiveness(e) => {
                check_expressiveness(e)?;
                "expressiveness"
            }
            Experiment::Extrapolation(x) => {
                check_extrapolation(x)?;
                "extrapolation"
            }
            Experiment::Tu(t) => {
                t.check().map_err(|e| e.under("tu"))?;
                "tu"
            }
        };
        for (i, row) in self.models.iter().enumerate() {
            let (runs_in, why) = row.runs_in();
            if !runs_in.contains(&here) {
                return Err(InvalidSetting::new(
                    Key::new().name("models").index(i),
                    row.key(),
                    why,
                ));
            }
        }
        if let Some(name) = self.model_settings.keys().next().filter(|_| here != "tu") {
            return Err(InvalidSetting::new(
                Key::new().name("model_settings").name(name.as_str()),
                "",
                "only Table 4 ([amp.NAME.tu]) runs registry models; Tables 2 and 3 build theirs from their own settings",
            ));
        }
        for name in self.model_settings.keys() {
            let row = self
                .models
                .iter()
                .find(|m| m.registry() == Some(name.as_str()));
            if row.is_none() {
                return Err(InvalidSetting::new(
                    Key::new().name("model_settings").name(name.as_str()),
                    "",
                    "names no baseline row of this table (models lists the rows)",
                ));
            }
        }
        self.check_cells()
    }

    /// `paper` names our rows and `reference` does not; both give one `[mean, std]` or `[]`
    /// per column.
    fn check_cells(&self) -> Result<(), InvalidSetting> {
        let columns = self.columns().len();
        for (section, rows) in [("paper", &self.paper), ("reference", &self.reference)] {
            for (row, cells) in rows {
                let at = Key::new().name(section).name(row.as_str());
                let ours = AmpRow::ALL.iter().find(|m| m.key() == row);
                if section == "paper" && !ours.is_some_and(|m| self.models.contains(m)) {
                    let names: Vec<&str> = self.models.iter().map(|m| m.key()).collect();
                    return Err(InvalidSetting::new(
                        at,
                        format!("{row:?}"),
                        format!(
                            "no such row; models: {} (rows we do not run go in reference)",
                            names.join(", ")
                        ),
                    ));
                }
                if cells.len() != columns {
                    return Err(InvalidSetting::new(
                        at,
                        format!("[{} cells]", cells.len()),
                        format!("needs one [mean, std] or [] per column ({columns})"),
                    ));
                }
                // A reference row may give a mean alone, where its source prints no std.
                let lengths: &[usize] = if section == "paper" {
                    &[0, 2]
                } else {
                    &[0, 1, 2]
                };
                for (i, cell) in cells.iter().enumerate() {
                    let fine = lengths.contains(&cell.len())
                        && cell.iter().all(|v| v.is_finite() && *v >= 0.0);
                    if !fine {
                        let shapes = if section == "paper" {
                            "a cell is [mean, std] (two non-negative numbers) or []"
                        } else {
                            "a cell is [mean, std] (two non-negative numbers), [mean] (its source prints no std) or []"
                        };
                        return Err(InvalidSetting::new(
                            at.clone().index(i),
                            format!("{cell:?}"),
                            shapes,
                        ));
                    }
                }
            }
        }
        Ok(())
    }
}

fn check_expressiveness(e: &Expressiveness) -> Result<(), InvalidSetting> {
    let at = |k: Key| Key::new().name("expressiveness").join(&k);
    if e.datasets.is_empty() {
        return Err(InvalidSetting::new(
            at(Key::new().name("datasets")),
            "[]",
            "name at least one benchmark",
        ));
    }
    for (i, name) in e.datasets.iter().enumerate() {
        if benchmark(name).is_none() {
            let known: Vec<&str> = Benchmark::TABLE2.iter().map(|b| b.recipe().name).collect();
            return Err(InvalidSetting::new(
                at(Key::new().name("datasets").index(i)),
                format!("{name:?}"),
                format!("no such benchmark; Table 2's: {}", known.join(", ")),
            ));
        }
    }
    if let Some(i) = repeated(&e.datasets) {
        return Err(InvalidSetting::new(
            at(Key::new().name("datasets").index(i)),
            format!("{:?}", e.datasets[i]),
            "is listed twice",
        ));
    }
    at_least("gin_layers", e.gin_layers as u64, 1).map_err(|x| x.under("expressiveness"))
}

fn check_extrapolation(x: &Extrapolation) -> Result<(), InvalidSetting> {
    let under = |e: InvalidSetting| e.under("extrapolation");
    at_least("train_graphs", x.train_graphs as u64, 1).map_err(under)?;
    at_least("train_nodes", x.train_nodes as u64, 2).map_err(under)?;
    at_least("test_graphs", x.test_graphs as u64, 1).map_err(under)?;
    at_least("hidden", x.hidden as u64, 1).map_err(under)?;
    at_least("budget_per_node", x.budget_per_node as u64, 1).map_err(under)?;
    if x.test_sizes.is_empty() {
        return Err(under(InvalidSetting::new(
            "test_sizes",
            "[]",
            "name at least one test size",
        )));
    }
    for (i, &n) in x.test_sizes.iter().enumerate() {
        if n < 2 || (i > 0 && n <= x.test_sizes[i - 1]) {
            return Err(under(InvalidSetting::new(
                Key::new().name("test_sizes").index(i),
                n,
                "test sizes ascend and are at least 2",
            )));
        }
    }
    Ok(())
}
