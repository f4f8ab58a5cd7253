//! The shape of a table in `harness.toml`: its columns, metric and sweep settings.

use hogwild_datasets::{DatasetSpec, Task};
use hogwild_settings::{at_least, InvalidSetting};
use hogwild_sim::AsyncOverrides;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Which way a metric improves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Metric {
    /// Node classification accuracy in percent over all evaluated nodes.
    Accuracy,
    /// Node classification error in percent over all evaluated nodes: `100 − accuracy`, as
    /// the ICLR version of the paper prints its classification cells.
    Error,
    /// Graph classification accuracy in percent over the evaluated graphs, each graph's
    /// class being the arg-max of its nodes' mean output (every node predicts its graph's
    /// class; the mean is what a consensus over the nodes would agree on).
    GraphAccuracy,
    /// Regression: `100 · ‖ŷ − y‖₂ / ‖y‖₂` over all evaluated nodes.
    RelativeRmse,
    /// Localisation: relative RMSE of the pairwise distances within each evaluated graph.
    DistanceRelativeRmse,
}

impl Metric {
    /// Whether larger values are better.
    pub fn higher_is_better(self) -> bool {
        match self {
            Metric::Accuracy | Metric::GraphAccuracy => true,
            Metric::Error | Metric::RelativeRmse | Metric::DistanceRelativeRmse => false,
        }
    }

    /// Whether the metric applies to `task`.
    pub fn fits(self, task: Task) -> bool {
        matches!(
            (self, task),
            (
                Metric::Accuracy | Metric::Error | Metric::GraphAccuracy,
                Task::Classification { .. }
            ) | (Metric::RelativeRmse, Task::Regression { .. })
                | (Metric::DistanceRelativeRmse, Task::Localisation { .. })
        )
    }
}

/// The suffix of a table's degradation rows (`gcn-degradation`; [`TableConfig::degradation`]).
pub const DEGRADATION_ROW: &str = "degradation";

/// One column of a table: a dataset, and the paper's values for it.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnConfig {
    /// Column heading.
    pub label: String,
    /// The dataset.
    pub dataset: DatasetSpec,
    /// The paper's `[mean, std]` per row key (`gcn-sync`, `energy-async`, and in a table
    /// with `degradation`, `gcn-degradation`, …), or `[mean]` where the paper's std is not
    /// known (then only a mean that rounds to the paper's is within).
    #[serde(default)]
    pub paper: BTreeMap<String, Vec<f64>>,
    /// Published results of methods not run here, by the name shown (with its source:
    /// `"GCN (Xu et al. 2019)"`), each `[mean, std]` or `[mean]` where the source prints no
    /// std; shown under the table, never compared (other data splits, other code).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub reference: BTreeMap<String, Vec<f64>>,
    /// This column's metric, when it is not the table's (a table of tasks of different
    /// kinds: classification error beside relative RMSE).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<Metric>,
    /// Changes to `[async]` for this column (`async = { staleness_bound = 5 }`), so a
    /// table can sweep the asynchrony model. Not serialised when empty.
    #[serde(
        default,
        rename = "async",
        skip_serializing_if = "AsyncOverrides::is_empty"
    )]
    pub async_: AsyncOverrides,
    /// Models that see no node features in this column (zero-width), as the paper's energy
    /// GNN on COUNT.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub featureless: Vec<String>,
    /// Changes to `[models]` (over the table's `model_settings`) for this column's runs only,
    /// with the same shape: a table of tasks, each trained with its own recipe. Written as
    /// `[[tables.T.columns]]` sections, each with `[tables.T.columns.model_settings.energy]`
    /// under it. Not serialised when empty.
    #[serde(default, skip_serializing_if = "toml::Table::is_empty")]
    pub model_settings: toml::Table,
}

/// One table of the paper.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TableConfig {
    /// Title printed above the table.
    pub title: String,
    /// The metric.
    pub metric: Metric,
    /// Parameter seeds (one trained model per seed and column).
    pub seeds: Vec<u64>,
    /// Random asynchronous orderings per trained model.
    pub orderings: usize,
    /// Fewer (or more) orderings for some models, by name: implicit models reach the same
    /// fixed point under every ordering, so a few show their sync-async gap at a fraction of
    /// the cost (`model_orderings = { energy = 2 }`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub model_orderings: BTreeMap<String, usize>,
    /// Models, in row order (names from `[models]`).
    pub models: Vec<String>,
    /// Delta degrees of freedom of the reported standard deviation (0 = population, as numpy).
    pub std_ddof: u8,
    /// Adds a row per model with the asynchronous degradation in percent (the ICLR
    /// version's statistic): for every asynchronous evaluation, how much worse than the same
    /// trained model's synchronous value, relative to it (`100 (async − sync) / sync`, the
    /// sign flipped for metrics where higher is better), mean ± std over all of them.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub degradation: bool,
    /// Run only when named (`--table NAME`), not by a plain `hogwild reproduce`: for tables
    /// that read downloaded data, which a fresh machine does not have.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub optional: bool,
    /// k of k-fold cross-validation over each column's graphs: every (model, seed) is trained
    /// k times, on all folds but one, and evaluated on the held-out fold. Absent: train and
    /// evaluate on every graph (Table 1's protocol).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folds: Option<usize>,
    /// The held-out folds run, each training one model per (model, seed) on the other folds;
    /// all `folds` when absent. `test_folds = [0]` with `seeds = [0]` trains one model per
    /// model and column (the ICLR version's asynchronous protocol). Needs `folds`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_folds: Option<Vec<usize>>,
    /// Evaluate (synchronously and asynchronously) on at most this many graphs of the
    /// held-out fold, the first in dataset order; all of them when absent. Needs `folds`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_graphs: Option<usize>,
    /// Changes to `[models]` for this table's runs only, with the same shape
    /// (`[tables.T.model_settings.energy.train] epochs = 300`).
    #[serde(default, skip_serializing_if = "toml::Table::is_empty")]
    pub model_settings: toml::Table,
    /// The columns written out (the grid's, if any, come after them).
    #[serde(default)]
    pub columns: Vec<ColumnConfig>,
    /// Columns generated from lists of values ([`super::grid`]); expanded into `columns`
    /// when the config is loaded, and not serialised (the expanded columns are).
    #[serde(default, skip_serializing)]
    pub grid: Option<super::grid::Grid>,
}

impl TableConfig {
    /// The suffixes of this table's row keys (`MODEL-sync`, …): `sync`, `async`, and
    /// [`DEGRADATION_ROW`] when the table reports degradation.
    pub fn row_suffixes(&self) -> &'static [&'static str] {
        if self.degradation {
            &["sync", "async", DEGRADATION_ROW]
        } else {
            &["sync", "async"]
        }
    }

    /// The metric of column `c`: its own, else the table's.
    pub fn metric_of(&self, c: usize) -> Metric {
        self.columns[c].metric.unwrap_or(self.metric)
    }

    /// The held-out folds run: `test_folds`, else every fold; `[None]` without
    /// cross-validation.
    pub fn held_out_folds(&self) -> Vec<Option<usize>> {
        match (self.folds, &self.test_folds) {
            (Some(_), Some(chosen)) => chosen.iter().copied().map(Some).collect(),
            (Some(k), None) => (0..k).map(Some).collect(),
            (None, _) => vec![None],
        }
    }

    /// Checks `test_folds` and `test_graphs` against `folds` (keys relative to the table).
    pub fn check_held_out(&self) -> Result<(), InvalidSetting> {
        if let Some(chosen) = &self.test_folds {
            let Some(k) = self.folds else {
                return Err(InvalidSetting::new(
                    "test_folds",
                    format!("{chosen:?}"),
                    "needs folds (k-fold cross-validation) to choose from",
                ));
            };
            if chosen.is_empty() {
                return Err(InvalidSetting::new(
                    "test_folds",
                    "[]",
                    "at least one held-out fold is needed (absent: all of them)",
                ));
            }
            if let Some(&f) = chosen.iter().find(|&&f| f >= k) {
                return Err(InvalidSetting::new(
                    "test_folds",
                    f,
                    format!(
                        "folds are numbered 0 to {} (folds = {k})",
                        k.saturating_sub(1)
                    ),
                ));
            }
            if let Some(f) = super::checks::repeated(chosen) {
                return Err(InvalidSetting::new(
                    "test_folds",
                    f,
                    "is listed twice (its runs would be counted twice)",
                ));
            }
        }
        if let Some(n) = self.test_graphs {
            if self.folds.is_none() {
                return Err(InvalidSetting::new(
                    "test_graphs",
                    n,
                    "needs folds: without cross-validation every graph is trained on and evaluated",
                ));
            }
            at_least("test_graphs", n as u64, 1)?;
        }
        Ok(())
    }

    /// Asynchronous orderings per trained `model`.
    pub fn orderings_of(&self, model: &str) -> usize {
        self.model_orderings
            .get(model)
            .copied()
            .unwrap_or(self.orderings)
    }
}
