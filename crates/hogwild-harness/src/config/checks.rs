//! Every setting's range, checked at load, and the memory a sweep needs, estimated and
//! checked against the budget before anything large is allocated.
//!
//! What is refused: a config without tables; table names that are not identifiers (they
//! become directory names and LaTeX macro names); titles and labels that cannot be written
//! into Markdown and LaTeX (`crate::text`); empty or repeated seeds, models and labels;
//! zero orderings; every model's, the simulator's and every dataset's own range checks
//! (non-finite tolerances, NaN or negative learning rates, zero epochs, ...); paper values
//! that are not numbers; and sizes whose estimated memory exceeds the budget: a dataset
//! (from its settings, before it is generated), a run (dataset, model and simulator, from
//! the built dataset), and the plan itself (every run's key and results).

use super::{Config, ConfigError, TableConfig};
use crate::text::check_text;
use hogwild_datasets::{Dataset, DatasetError, DatasetSize};
use hogwild_models::{registry, ModelsConfig, ProblemSize};
use hogwild_settings::{at_least, Bytes, InvalidSetting, Key};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// What one planned run holds in memory besides its results: its key (the resolved
/// settings as TOML), id and label.
const PLANNED_RUN_BYTES: u64 = 4096;
/// What one evaluation of a run holds.
const EVALUATION_BYTES: u64 = 64;
/// Names that a table cannot have: other outputs live there.
const RESERVED_NAMES: [&str; 1] = ["scaling"];

/// Every selected column's dataset, built once per sweep and shared by its runs, so that
/// every run of a column computes on the bytes whose hash is in its identity.
#[derive(Debug, Clone, Default)]
pub struct Datasets {
    by_column: BTreeMap<(String, usize), Arc<Dataset>>,
    /// The largest memory of one run on them besides the datasets (model and simulator).
    largest_run: Bytes,
}

impl Datasets {
    /// The dataset of column `column` of table `table` (one of the tables built).
    pub fn get(&self, table: &str, column: usize) -> &Arc<Dataset> {
        &self.by_column[&(table.to_string(), column)]
    }

    /// What they hold in memory.
    pub fn memory(&self) -> Bytes {
        self.by_column
            .values()
            .map(|d| DatasetSize::of(d).memory())
            .sum()
    }

    /// The estimated memory of `threads` runs at once on these datasets: the datasets, and
    /// `threads` times the largest run's model and simulator.
    pub fn memory_of_runs(&self, threads: usize) -> Bytes {
        self.memory().plus(self.largest_run.times(threads as u64))
    }
}

fn key(parts: &str) -> Key {
    Key::from(parts)
}

fn table_key(name: &str) -> Key {
    Key::new().name("tables").name(name)
}

/// A name of letters, digits, `_` and `-`, starting with a letter, at most 64 long.
fn identifier(name: &str) -> bool {
    name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// The first repeated item of `items`, if any.
pub(super) fn repeated<T: Ord + Clone>(items: &[T]) -> Option<T> {
    let mut seen = BTreeSet::new();
    items.iter().find(|x| !seen.insert((*x).clone())).cloned()
}

/// The model setting with the largest count (a width, a number of layers), blamed when a
/// model's memory exceeds the budget.
fn largest_count(models: &ModelsConfig, model: &str) -> String {
    let value = toml::Value::try_from(models).expect("model settings serialise");
    let count = |v: &toml::Value| match v {
        toml::Value::Integer(i) => *i,
        toml::Value::Array(a) => a
            .iter()
            .filter_map(toml::Value::as_integer)
            .max()
            .unwrap_or(0),
        _ => 0,
    };
    value
        .get(model)
        .and_then(toml::Value::as_table)
        .and_then(|settings| settings.iter().max_by_key(|(_, v)| count(v)))
        .map_or_else(String::new, |(k, _)| k.clone())
}

impl Config {
    /// Checks every setting and every generated dataset's size; see the module doc.
    pub(super) fn check(&self) -> Result<(), ConfigError> {
        let fail = |e: InvalidSetting| self.invalid(e, &[]);
        if self.tables.is_empty() {
            return Err(fail(InvalidSetting::new(
                "tables",
                "",
                "no tables: a sweep needs at least one [tables.NAME]",
            )));
        }
        self.async_.check().map_err(|e| fail(e.under("async")))?;
        for (name, t) in &self.distributed {
            let at = self.check_experiment("distributed", name, &t.title)?;
            t.check().map_err(|e| fail(e.under(at)))?;
        }
        for (name, t) in &self.amp {
            let at = self.check_experiment("amp", name, &t.title)?;
            t.check().map_err(|e| fail(e.under(at)))?;
            self.check_amp_baselines(name, t)?;
        }
        let mut plan_bytes = Bytes(0);
        for (name, t) in &self.tables {
            self.check_table(name, t)?;
            let runs = (t.columns.len() as u64)
                .saturating_mul(t.models.len() as u64)
                .saturating_mul(t.seeds.len() as u64)
                .saturating_mul(t.folds.unwrap_or(1) as u64);
            let orderings = t
                .models
                .iter()
                .map(|m| t.orderings_of(m))
                .max()
                .unwrap_or(0);
            let per_run =
                Bytes(PLANNED_RUN_BYTES).plus(Bytes::items(orderings as u64 + 1, EVALUATION_BYTES));
            plan_bytes = plan_bytes.plus(per_run.times(runs));
            let (blamed, value) = if per_run.get() > 2 * PLANNED_RUN_BYTES {
                ("orderings", orderings.to_string())
            } else {
                ("seeds", format!("[{} seeds]", t.seeds.len()))
            };
            self.budget
                .check(
                    blamed,
                    value,
                    plan_bytes,
                    "the plan (every run's settings and results)",
                )
                .map_err(|e| fail(e.under(table_key(name))))?;
        }
        self.check_claims()
    }

    /// The name and title of experiment `name` of `section` (`distributed`, `amp`): its
    /// name names its output directory, which no table or other experiment may share.
    /// Returns its key.
    fn check_experiment(&self, section: &str, name: &str, title: &str) -> Result<Key, ConfigError> {
        let fail = |e: InvalidSetting| self.invalid(e, &[]);
        let at = Key::new().name(section).name(name);
        self.check_name(&at, name)?;
        check_text(at.clone().name("title"), title).map_err(fail)?;
        let clash = if self.tables.contains_key(name) {
            Some("tables")
        } else if section != "distributed" && self.distributed.contains_key(name) {
            Some("distributed")
        } else {
            None
        };
        if let Some(other) = clash {
            return Err(fail(InvalidSetting::new(
                at,
                name,
                format!("a [{other}] entry has this name: both would write results/NAME/"),
            )));
        }
        Ok(at)
    }

    /// A table's (or distributed experiment's) name names its output directory.
    fn check_name(&self, here: &Key, name: &str) -> Result<(), ConfigError> {
        if identifier(name) && !RESERVED_NAMES.contains(&name) {
            return Ok(());
        }
        Err(self.invalid(
            InvalidSetting::new(
                here.clone(),
                "",
                if RESERVED_NAMES.contains(&name) {
                    format!("{name:?} is reserved for another output under --out")
                } else {
                    format!(
                        "table names are identifiers (a letter, then letters, digits, '_' or '-'; at most 64): {name:?} is not; it names the table's output directory and LaTeX macros"
                    )
                },
            ),
            &[],
        ))
    }

    fn check_table(&self, name: &str, t: &TableConfig) -> Result<(), ConfigError> {
        let here = table_key(name);
        let fail = |e: InvalidSetting| self.invalid(e.under(&here), &[]);
        self.check_name(&here, name)?;
        check_text(key("title"), &t.title).map_err(fail)?;
        if t.seeds.is_empty() {
            return Err(fail(InvalidSetting::new(
                "seeds",
                "[]",
                "at least one seed is needed",
            )));
        }
        if let Some(s) = repeated(&t.seeds) {
            return Err(fail(InvalidSetting::new(
                "seeds",
                s,
                "is listed twice (its runs would be counted twice)",
            )));
        }
        at_least("orderings", t.orderings as u64, 1)
            .map_err(|e| InvalidSetting {
                why: "every model needs at least one asynchronous ordering".into(),
                ..e
            })
            .map_err(fail)?;
        if t.models.is_empty() {
            return Err(fail(InvalidSetting::new(
                "models",
                "[]",
                "at least one model is needed",
            )));
        }
        if let Some(m) = repeated(&t.models) {
            return Err(fail(InvalidSetting::new(
                "models",
                format!("{m:?}"),
                "is listed twice",
            )));
        }
        let unknown = |k: &str, m: &str| {
            fail(InvalidSetting::new(
                k,
                format!("{m:?}"),
                format!("unknown model; known: {}", registry::names()),
            ))
        };
        let models = self.models_for(name);
        for m in &t.models {
            if registry::kind(m).is_none() {
                return Err(unknown("models", m));
            }
            if models.get(m).is_none() {
                return Err(fail(InvalidSetting::new(
                    "models",
                    format!("{m:?}"),
                    format!("no [models.{m}] section sets its settings"),
                )));
            }
            models.check(m).map_err(|e| {
                let own = Key::new().name("model_settings").name(m.as_str());
                let base = Key::new().name("models").name(m.as_str()).join(&e.key);
                self.invalid(e.under(own).under(&here), &[base])
            })?;
            for c in (0..t.columns.len()).filter(|&c| !t.columns[c].model_settings.is_empty()) {
                self.models_for_column(name, c).check(m).map_err(|e| {
                    let settings = |k: Key| k.name("model_settings").name(m.as_str()).join(&e.key);
                    let own = settings(here.clone().name("columns").index(c));
                    let also = [
                        settings(here.clone()),
                        Key::new().name("models").name(m.as_str()).join(&e.key),
                    ];
                    self.invalid(InvalidSetting { key: own, ..e }, &also)
                })?;
            }
        }
        for (c, column) in t.columns.iter().enumerate() {
            if let Some(m) = column.model_settings.keys().find(|m| !t.models.contains(m)) {
                return Err(fail(InvalidSetting::new(
                    Key::from("columns").index(c).name("model_settings"),
                    format!("{m:?}"),
                    format!("not one of this table's models ({})", t.models.join(", ")),
                )));
            }
        }
        for (m, &n) in &t.model_orderings {
            if registry::kind(m).is_none() {
                return Err(unknown("model_orderings", m));
            }
            if !t.models.contains(m) {
                return Err(fail(InvalidSetting::new(
                    "model_orderings",
                    format!("{m:?}"),
                    format!("not one of this table's models ({})", t.models.join(", ")),
                )));
            }
            if n == 0 {
                return Err(fail(InvalidSetting::new(
                    "model_orderings",
                    format!("{m} = {n}"),
                    "every model needs at least one ordering",
                )));
            }
        }
        if t.std_ddof > 1 {
            return Err(fail(InvalidSetting::new(
                "std_ddof",
                t.std_ddof,
                "must be 0 (population) or 1 (sample)",
            )));
        }
        if t.std_ddof == 1 && t.seeds.len() < 2 {
            // Sync rows have one value per seed: a sample std needs two.
            return Err(fail(InvalidSetting::new(
                "std_ddof",
                1,
                "a sample std needs at least two seeds",
            )));
        }
        t.check_held_out().map_err(fail)?;
        if let Some(k) = t.folds.filter(|&k| k < 2) {
            return Err(fail(InvalidSetting::new(
                "folds",
                k,
                "cross-validation needs at least 2 folds (omit the key to train and evaluate on every graph)",
            )));
        }
        if t.columns.is_empty() {
            return Err(fail(InvalidSetting::new(
                "columns",
                "[]",
                "at least one column is needed",
            )));
        }
        let labels: Vec<&str> = t.columns.iter().map(|c| c.label.as_str()).collect();
        if let Some(l) = repeated(&labels) {
            let c = labels.iter().rposition(|x| *x == l).expect("repeated");
            return Err(fail(InvalidSetting::new(
                format!("columns[{c}].label"),
                format!("{l:?}"),
                "another column has this label (labels name the cells)",
            )));
        }
        for (c, col) in t.columns.iter().enumerate() {
            let at = Key::from("columns").index(c);
            let fail_col = |e: InvalidSetting| fail(e.under(&at));
            check_text(key("label"), &col.label).map_err(fail_col)?;
            for m in &col.featureless {
                if !t.models.contains(m) {
                    return Err(fail_col(InvalidSetting::new(
                        "featureless",
                        format!("{m:?}"),
                        format!("not one of this table's models ({})", t.models.join(", ")),
                    )));
                }
            }
            col.async_.apply(&self.async_).check().map_err(|e| {
                let base = Key::from("async").join(&e.key);
                self.invalid(e.under(Key::from("async")).under(&at).under(&here), &[base])
            })?;
            for (row, value) in &col.paper {
                let suffixes = t.row_suffixes();
                let known = registry::KINDS.iter().any(|k| {
                    suffixes
                        .iter()
                        .any(|suffix| row == &format!("{}-{suffix}", k.name))
                });
                let why = if !known {
                    format!(
                        "a paper row is MODEL-{} with MODEL one of {}",
                        suffixes.join(" or MODEL-"),
                        registry::names()
                    )
                } else if !matches!(value.as_slice(), [m] if m.is_finite())
                    && !matches!(value.as_slice(), [m, s] if m.is_finite() && s.is_finite() && *s >= 0.0)
                {
                    "the paper's value is [mean, std] or [mean] (std unknown): finite numbers, std at least 0".into()
                } else {
                    continue;
                };
                let k = Key::from("paper").name(row.as_str());
                return Err(fail_col(InvalidSetting::new(k, format!("{value:?}"), why)));
            }
            for (row, cell) in &col.reference {
                let fine =
                    matches!(cell.len(), 1 | 2) && cell.iter().all(|v| v.is_finite() && *v >= 0.0);
                if !fine {
                    return Err(fail_col(InvalidSetting::new(
                        Key::from("reference").name(row.as_str()),
                        format!("{cell:?}"),
                        "a published result is [mean, std] (two non-negative numbers) or [mean] (its source prints no std)",
                    )));
                }
                crate::text::check_text(Key::from("reference").name(row.as_str()), row)
                    .map_err(fail_col)?;
            }
            col.dataset
                .check()
                .map_err(|e| fail_col(e.under("dataset")))?;
            // Datasets read from the data directory are built when their table is selected
            // ([`Config::build_datasets`]): a machine without the files can still run the
            // other tables.
            if !col.dataset.reads_data() {
                let dataset = self.build_column(name, c)?;
                self.check_built(name, c, &dataset)?;
            }
        }
        Ok(())
    }

    /// Builds column `c` of table `name` (checking its size against the budget first).
    fn build_column(&self, name: &str, c: usize) -> Result<Dataset, ConfigError> {
        let col = &self.tables[name].columns[c];
        let at = table_key(name).name("columns").index(c).name("dataset");
        col.dataset
            .build(&self.data_dir, &self.budget)
            .map_err(|e| match e {
                DatasetError::Setting(s) => self.invalid(s.under(&at), &[]),
                DatasetError::MissingDataDir { path: dir } => self.invalid(
                    InvalidSetting::new(
                        "data_dir",
                        format!("{:?}", dir.display().to_string()),
                        format!(
                            "no such directory, and tables.{name}.columns[{c}] reads {:?} from it; get the files (README.md, \"Real datasets\") or set data_dir (default: datasets/data, next to the config file)",
                            col.label
                        ),
                    ),
                    &[],
                ),
                other => self.invalid(InvalidSetting::new(at.clone(), "", other.to_string()), &[]),
            })
    }

    /// Checks a built dataset against its table (metric, folds) and the memory of every
    /// run on it (dataset, model, simulator) against the budget; returns the largest run's
    /// memory besides the dataset.
    fn check_built(&self, name: &str, c: usize, dataset: &Dataset) -> Result<Bytes, ConfigError> {
        let t = &self.tables[name];
        let here = table_key(name);
        let fail = |e: InvalidSetting| self.invalid(e.under(&here), &[]);
        let metric = t.metric_of(c);
        if !metric.fits(dataset.task) {
            let key = match t.columns[c].metric {
                Some(_) => Key::from("columns").index(c).name("metric"),
                None => Key::from("metric"),
            };
            return Err(fail(InvalidSetting::new(
                key,
                format!("{metric:?}"),
                format!(
                    "does not fit column {c}'s dataset {} ({:?}): accuracy, error and graph-accuracy are for classification, relative-rmse for regression, distance-relative-rmse for localisation",
                    dataset.identity, dataset.task
                ),
            )));
        }
        if let Some(k) = t.folds.filter(|&k| k > dataset.samples.len()) {
            return Err(fail(InvalidSetting::new(
                "folds",
                k,
                format!(
                    "column {c}'s dataset {} has only {} graphs",
                    dataset.identity,
                    dataset.samples.len()
                ),
            )));
        }
        let size = DatasetSize::of(dataset);
        let largest = dataset
            .samples
            .iter()
            .max_by_key(|s| s.graph.n_nodes())
            .map_or((0, 0), |s| {
                (s.graph.n_nodes() as u64, s.graph.n_edges() as u64)
            });
        let max_degree = dataset
            .samples
            .iter()
            .flat_map(|s| (0..s.graph.n_nodes()).map(|i| s.graph.degree(i)))
            .max()
            .unwrap_or(0) as u64;
        let col = &t.columns[c];
        let async_cfg = col.async_.apply(&self.async_);
        let models = self.models_for_column(name, c);
        let mut largest_run = Bytes(0);
        for m in &t.models {
            let in_dim = if col.featureless.contains(m) {
                0
            } else {
                size.feature_dim
            };
            let batch = models
                .train_config(m)
                .and_then(|tc| tc.batch_graphs)
                .map_or((size.nodes, size.edges), |b| {
                    let b = (b as u64).min(size.graphs);
                    (largest.0.saturating_mul(b), largest.1.saturating_mul(b))
                });
            let problem = ProblemSize {
                in_dim,
                edge_dim: size.edge_feature_dim,
                out_dim: dataset.task.output_dim() as u64,
                nodes: batch.0,
                edges: batch.1,
            };
            let parts = [
                (size.memory(), "dataset"),
                (models.memory(m, &problem), "model"),
                (
                    async_cfg.memory(largest.0, models.state_width(m, in_dim, max_degree)),
                    "simulator",
                ),
            ];
            let total: Bytes = parts.iter().map(|p| p.0).sum();
            largest_run = largest_run.max(parts[1].0.plus(parts[2].0));
            if total.get() <= self.budget.bytes {
                continue;
            }
            let what = format!(
                "a run of {m} on tables.{name}.columns[{c}] ({:?}: {} graphs, {} nodes; dataset {}, model {}, simulator {})",
                col.label,
                size.graphs,
                size.nodes,
                hogwild_settings::bytes_text(parts[0].0.get()),
                hogwild_settings::bytes_text(parts[1].0.get()),
                hogwild_settings::bytes_text(parts[2].0.get())
            );
            let blamed = parts.iter().max_by_key(|p| p.0).expect("three parts").1;
            let (k, also) = match blamed {
                "model" => {
                    let setting = largest_count(models, m);
                    let settings = |k: Key| {
                        k.name("model_settings")
                            .name(m.as_str())
                            .name(setting.as_str())
                    };
                    let column = here.clone().name("columns").index(c);
                    (
                        settings(column),
                        vec![
                            settings(here.clone()),
                            Key::from("models").name(m.as_str()).name(setting.as_str()),
                        ],
                    )
                }
                "simulator" => (
                    here.clone()
                        .name("columns")
                        .index(c)
                        .name("async")
                        .name("staleness_bound"),
                    vec![key("async.staleness_bound")],
                ),
                _ => (
                    here.clone().name("columns").index(c).name("dataset"),
                    vec![],
                ),
            };
            let e = self
                .budget
                .check("", "", total, &what)
                .expect_err("over budget");
            return Err(self.invalid(InvalidSetting { key: k, ..e }, &also));
        }
        Ok(largest_run)
    }

    /// Builds and checks the dataset of every column of `tables` (reading the data
    /// directory where a column does), so that a missing directory or a malformed file stops
    /// a sweep before any run starts; every run then uses these, never re-reading a file.
    pub fn build_datasets(
        &self,
        tables: &[(String, TableConfig)],
    ) -> Result<Datasets, ConfigError> {
        let mut datasets = Datasets::default();
        for (name, t) in tables {
            for c in 0..t.columns.len() {
                let d = self.build_column(name, c)?;
                let run = self.check_built(name, c, &d)?;
                datasets.largest_run = datasets.largest_run.max(run);
                datasets.by_column.insert((name.clone(), c), Arc::new(d));
            }
        }
        Ok(datasets)
    }
}

impl Config {
    /// Every baseline row of Table 4 `name` has a `[models]` section that builds with each
    /// hidden width of the grid and the table's optimiser.
    fn check_amp_baselines(
        &self,
        name: &str,
        table: &crate::amp::AmpTable,
    ) -> Result<(), ConfigError> {
        let Some(tu) = &table.tu else {
            return Ok(());
        };
        for (i, row) in table.models.iter().enumerate() {
            let Some(model) = row.registry() else {
                continue;
            };
            let at = Key::new().name("amp").name(name).name("models").index(i);
            let models = self.models_for(name);
            if models.get(model).is_none() {
                return Err(self.invalid(
                    InvalidSetting::new(
                        at,
                        format!("{model:?}"),
                        format!("no [models.{model}] section sets it: Table 4's baselines are the registry's models, with their hidden width and training from this table"),
                    ),
                    &[],
                ));
            }
            for d in &tu.datasets {
                for &hidden in &d.hidden {
                    crate::amp::tu::run::baseline_settings(models, *row, hidden, table, tu)
                        .map_err(|e| {
                            let own = Key::new()
                                .name("amp")
                                .name(name)
                                .name("model_settings")
                                .name(model)
                                .join(&e.key);
                            let base = Key::new().name("models").name(model).join(&e.key);
                            self.invalid(InvalidSetting { key: own, ..e }, &[base])
                        })?;
                }
            }
        }
        Ok(())
    }

    /// Reads the TU datasets of AMP table `name` (Table 4, `[amp.NAME.tu]`; none for the
    /// other AMP tables) from the data directory, filtered and featurised, and its baselines'
    /// `[models]` sections (checked with every hidden width of the grid), with errors that
    /// name the file, or the key and its line.
    pub fn load_amp_tu(&self, name: &str) -> Result<crate::amp::tu::data::TuData, ConfigError> {
        let mut data = crate::amp::tu::data::TuData {
            datasets: Vec::new(),
            models: hogwild_models::ModelsConfig::default(),
        };
        let Some((table, tu)) = self
            .amp
            .get(name)
            .and_then(|t| t.tu.as_ref().map(|tu| (t, tu)))
        else {
            return Ok(data);
        };
        // Checked at load (`check_amp_baselines`).
        let baselines: Vec<String> = table
            .models
            .iter()
            .filter_map(|row| row.registry().map(String::from))
            .collect();
        data.models = self.models_for(name).only(&baselines);
        for (i, d) in tu.datasets.iter().enumerate() {
            let at = Key::new()
                .name("amp")
                .name(name)
                .name("tu")
                .name("datasets")
                .index(i);
            let graphs = crate::amp::tu::data::load(&self.data_dir, d, &self.budget).map_err(
                |e| match e {
                    DatasetError::Setting(s) => self.invalid(s.under(&at), &[]),
                    DatasetError::MissingDataDir { path: dir } => self.invalid(
                        InvalidSetting::new(
                            "data_dir",
                            format!("{:?}", dir.display().to_string()),
                            format!(
                                "no such directory, and amp.{name}.tu.datasets[{i}] reads {:?} from it; get the files (README.md, \"Real datasets\") or set data_dir (default: datasets/data, next to the config file)",
                                d.name
                            ),
                        ),
                        &[],
                    ),
                    other => self.invalid(
                        InvalidSetting::new(
                            at.clone().name("name"),
                            format!("{:?}", d.name),
                            other.to_string(),
                        ),
                        &[],
                    ),
                },
            )?;
            if graphs.graphs.len() < tu.folds {
                return Err(self.invalid(
                    InvalidSetting::new(
                        Key::new().name("amp").name(name).name("tu").name("folds"),
                        tu.folds,
                        format!(
                            "{} keeps only {} graphs after its filters",
                            d.label,
                            graphs.graphs.len()
                        ),
                    ),
                    &[],
                ));
            }
            data.datasets.push(graphs);
        }
        Ok(data)
    }
}
