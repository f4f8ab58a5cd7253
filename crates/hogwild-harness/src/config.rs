//! `harness.toml`: the sweep definition of every table.
//!
//! The file is read once, checked against the schema below (unknown keys are errors), and
//! optionally overlaid with a profile (`[profiles.NAME]`, a table with the same shape as the
//! file, deep-merged over it). Every error names the file, the key and, where the TOML
//! parser knows it, the line.

use hogwild_datasets::{DatasetSpec, Task};
use hogwild_models::ModelsConfig;
use hogwild_sim::{AsyncConfig, AsyncOverrides};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The profile that means "the file as written".
pub const DEFAULT_PROFILE: &str = "full";

/// Errors in `harness.toml`.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The TOML does not parse or does not fit the schema.
    #[error("{path}: {message}")]
    Schema {
        /// The file.
        path: PathBuf,
        /// The parser's message (with line and key).
        message: String,
    },
    /// A value is impossible.
    #[error("{path}{}: {key}{}: {why}", line.map_or(String::new(), |n| format!(", line {n}")), if value.is_empty() { String::new() } else { format!(" = {value}") })]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The line of the key in the file, where it can be found there (not for settings
        /// that come from a profile).
        line: Option<usize>,
        /// Dotted key.
        key: String,
        /// The value given.
        value: String,
        /// Why it is impossible.
        why: String,
    },
}

/// Which way a metric improves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Metric {
    /// Node classification accuracy in percent over all evaluated nodes.
    Accuracy,
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
            Metric::RelativeRmse | Metric::DistanceRelativeRmse => false,
        }
    }

    /// Whether the metric applies to `task`.
    pub fn fits(self, task: Task) -> bool {
        matches!(
            (self, task),
            (
                Metric::Accuracy | Metric::GraphAccuracy,
                Task::Classification { .. }
            ) | (Metric::RelativeRmse, Task::Regression { .. })
                | (Metric::DistanceRelativeRmse, Task::Localisation { .. })
        )
    }
}

/// One column of a table: a dataset, and the paper's values for it.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnConfig {
    /// Column heading.
    pub label: String,
    /// The dataset.
    pub dataset: DatasetSpec,
    /// The paper's `[mean, std]` per row key (`gcn-sync`, `energy-async`, …).
    #[serde(default)]
    pub paper: BTreeMap<String, [f64; 2]>,
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
    /// Run only when named (`--table NAME`), not by a plain `hogwild reproduce`: for tables
    /// that read downloaded data, which a fresh machine does not have.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub optional: bool,
    /// k of k-fold cross-validation over each column's graphs: every (model, seed) is trained
    /// k times, on all folds but one, and evaluated on the held-out fold. Absent: train and
    /// evaluate on every graph (Table 1's protocol).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folds: Option<usize>,
    /// Changes to `[models]` for this table's runs only, with the same shape
    /// (`[tables.T.model_settings.energy.train] epochs = 300`).
    #[serde(default, skip_serializing_if = "toml::Table::is_empty")]
    pub model_settings: toml::Table,
    /// The columns.
    pub columns: Vec<ColumnConfig>,
}

impl TableConfig {
    /// Asynchronous orderings per trained `model`.
    pub fn orderings_of(&self, model: &str) -> usize {
        self.model_orderings
            .get(model)
            .copied()
            .unwrap_or(self.orderings)
    }
}

/// The whole sweep definition.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Where datasets that are read rather than generated live (`DATA_DIR/TU/MUTAG/...`;
    /// default `datasets/data`),
    /// relative to the config file's directory. Not part of any run's identity: a dataset
    /// read from files is identified by their contents.
    #[serde(default = "default_data_dir", skip_serializing)]
    pub data_dir: PathBuf,
    /// Asynchronous simulator settings.
    #[serde(rename = "async")]
    pub async_: AsyncConfig,
    /// Model settings.
    pub models: ModelsConfig,
    /// Tables by name, in name order.
    pub tables: BTreeMap<String, TableConfig>,
    /// Profiles: overlays deep-merged over the file.
    #[serde(default, skip_serializing)]
    pub profiles: BTreeMap<String, toml::Table>,
    /// `[models]` with each table's `model_settings` applied, by table (filled at load).
    #[serde(skip)]
    table_models: BTreeMap<String, ModelsConfig>,
    /// The line of `data_dir` in the file, if it is set there.
    #[serde(skip)]
    data_dir_line: Option<usize>,
    /// The file's text, to locate the keys of later errors.
    #[serde(skip)]
    text: String,
    /// The profile applied, whose overrides are located before the file's own keys.
    #[serde(skip)]
    profile: String,
}

fn default_data_dir() -> PathBuf {
    PathBuf::from("datasets/data")
}

fn merge(base: &mut toml::Table, overlay: &toml::Table) {
    for (k, v) in overlay {
        match (base.get_mut(k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            _ => {
                base.insert(k.clone(), v.clone());
            }
        }
    }
}

impl Config {
    /// Reads `path` and applies `profile` ([`DEFAULT_PROFILE`] for none).
    pub fn load(path: &Path, profile: &str) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.into(),
            source,
        })?;
        Self::parse(&text, path, profile)
    }

    /// Parses `text` (read from `path`) and applies `profile`.
    pub fn parse(text: &str, path: &Path, profile: &str) -> Result<Config, ConfigError> {
        let schema = |e: toml::de::Error| ConfigError::Schema {
            path: path.into(),
            message: with_suggestion(e.to_string().trim_end()),
        };
        let base: Config = toml::from_str(text).map_err(schema)?;
        let config = if profile == DEFAULT_PROFILE {
            base
        } else {
            let overlay = base
                .profiles
                .get(profile)
                .ok_or_else(|| ConfigError::Invalid {
                    path: path.into(),
                    line: None,
                    key: "--profile".into(),
                    value: profile.into(),
                    why: format!(
                        "no [profiles.{profile}] table; profiles: {DEFAULT_PROFILE}, {}",
                        base.profiles.keys().cloned().collect::<Vec<_>>().join(", ")
                    ),
                })?;
            let mut doc: toml::Table = toml::from_str(text).map_err(schema)?;
            merge(&mut doc, overlay);
            doc.remove("profiles");
            let merged = toml::to_string(&doc).expect("a table serialises");
            toml::from_str::<Config>(&merged).map_err(|e| ConfigError::Schema {
                path: path.into(),
                message: with_suggestion(&format!("profile {profile}: {}", e.message())),
            })?
        };
        let mut config = config;
        config.profile = profile.to_string();
        config.data_dir_line = line_of(text, profile, "data_dir", "", "");
        if config.data_dir.is_relative() {
            let base = path.parent().unwrap_or(Path::new(""));
            config.data_dir = base.join(&config.data_dir);
        }
        config.text = text.to_string();
        config
            .resolve_models(path)
            .and_then(|()| config.validate(path))
            .map_err(|e| config.locate(e))?;
        Ok(config)
    }

    /// `e` with the line of its key in the file, when it has none yet and the key is there.
    fn locate(&self, e: ConfigError) -> ConfigError {
        match e {
            ConfigError::Invalid {
                path,
                line: None,
                key,
                value,
                why,
            } => ConfigError::Invalid {
                line: line_of(&self.text, &self.profile, &key, &value, &why),
                path,
                key,
                value,
                why,
            },
            other => other,
        }
    }

    /// The model settings table `table` runs with: `[models]` with its `model_settings`.
    pub fn models_for(&self, table: &str) -> &ModelsConfig {
        self.table_models.get(table).unwrap_or(&self.models)
    }

    fn resolve_models(&mut self, path: &Path) -> Result<(), ConfigError> {
        for (name, t) in &self.tables {
            if t.model_settings.is_empty() {
                continue;
            }
            let mut doc: toml::Table =
                toml::Table::try_from(&self.models).expect("model settings serialise");
            merge(&mut doc, &t.model_settings);
            let models = doc
                .try_into::<ModelsConfig>()
                .map_err(|e| ConfigError::Invalid {
                    path: path.into(),
                    line: None,
                    key: format!("tables.{name}.model_settings"),
                    value: String::new(),
                    why: e.message().trim_end().to_string(),
                })?;
            self.table_models.insert(name.clone(), models);
        }
        Ok(())
    }

    fn validate(&self, path: &Path) -> Result<(), ConfigError> {
        let invalid = |key: String, value: String, why: String| {
            Err(ConfigError::Invalid {
                path: path.into(),
                line: None,
                key,
                value,
                why,
            })
        };
        if let Err(e) = self.async_.validate() {
            return invalid("async".into(), String::new(), e.to_string());
        }
        for (name, t) in &self.tables {
            let key = |k: &str| format!("tables.{name}.{k}");
            if t.seeds.is_empty() {
                return invalid(
                    key("seeds"),
                    "[]".into(),
                    "at least one seed is needed".into(),
                );
            }
            if t.columns.is_empty() {
                return invalid(
                    key("columns"),
                    "[]".into(),
                    "at least one column is needed".into(),
                );
            }
            if t.std_ddof > 1 {
                return invalid(
                    key("std_ddof"),
                    t.std_ddof.to_string(),
                    "must be 0 (population) or 1 (sample)".into(),
                );
            }
            if t.std_ddof == 1 && t.seeds.len() < 2 {
                // Sync rows have one value per seed: a sample std needs two.
                return invalid(
                    key("std_ddof"),
                    "1".into(),
                    "a sample std needs at least two seeds".into(),
                );
            }
            for m in &t.models {
                if !ModelsConfig::NAMES.contains(&m.as_str()) {
                    return invalid(
                        key("models"),
                        format!("{m:?}"),
                        format!("unknown model; known: {}", ModelsConfig::NAMES.join(", ")),
                    );
                }
                // Building a throw-away instance checks the model's own settings now, before
                // any run starts.
                let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(0);
                if let Err(e) = self.models_for(name).build(m, 1, 0, 2, &mut rng) {
                    let key = if t.model_settings.is_empty() {
                        format!("models.{m}")
                    } else {
                        format!("models.{m} (with tables.{name}.model_settings)")
                    };
                    return invalid(key, String::new(), e.to_string());
                }
            }
            for (m, &n) in &t.model_orderings {
                if !ModelsConfig::NAMES.contains(&m.as_str()) {
                    return invalid(
                        key("model_orderings"),
                        format!("{m:?}"),
                        format!("unknown model; known: {}", ModelsConfig::NAMES.join(", ")),
                    );
                }
                if n == 0 {
                    return invalid(
                        key("model_orderings"),
                        format!("{m} = {n}"),
                        "every model needs at least one ordering".into(),
                    );
                }
            }
            if t.folds.is_some_and(|k| k < 2) {
                return invalid(
                    key("folds"),
                    t.folds.unwrap_or(0).to_string(),
                    "cross-validation needs at least 2 folds (omit the key to train and evaluate on every graph)".into(),
                );
            }
            for (c, col) in t.columns.iter().enumerate() {
                for m in &col.featureless {
                    if !t.models.contains(m) {
                        return invalid(
                            format!("tables.{name}.columns[{c}].featureless"),
                            format!("{m:?}"),
                            format!("not one of this table's models ({})", t.models.join(", ")),
                        );
                    }
                }
                if let Err(e) = col.async_.apply(&self.async_).validate() {
                    return invalid(
                        format!("tables.{name}.columns[{c}].async"),
                        String::new(),
                        e.to_string(),
                    );
                }
                // Datasets read from the data directory are checked when their table is
                // selected ([`Config::check_data`]): a machine without the files can still
                // run the other tables.
                if !col.dataset.reads_data() {
                    self.check_dataset(path, name, c)?;
                }
                for row in col.paper.keys() {
                    let known = ModelsConfig::NAMES
                        .iter()
                        .any(|m| row == &format!("{m}-sync") || row == &format!("{m}-async"));
                    if !known {
                        return invalid(
                            format!("tables.{name}.columns[{c}].paper"),
                            row.clone(),
                            format!(
                                "a paper row is MODEL-sync or MODEL-async with MODEL one of {}",
                                ModelsConfig::NAMES.join(", ")
                            ),
                        );
                    }
                }
            }
        }
        Ok(())
    }

    /// Builds column `c` of table `name` and checks it against the table (metric, folds).
    fn check_dataset(&self, path: &Path, name: &str, c: usize) -> Result<(), ConfigError> {
        let t = &self.tables[name];
        let col = &t.columns[c];
        let invalid = |line: Option<usize>, key: String, value: String, why: String| {
            Err(ConfigError::Invalid {
                path: path.into(),
                line,
                key,
                value,
                why,
            })
        };
        let key = |k: &str| format!("tables.{name}.{k}");
        let dataset = match col.dataset.build(&self.data_dir) {
            Ok(d) => d,
            Err(hogwild_datasets::DatasetError::MissingDataDir { path: dir }) => {
                return invalid(
                    self.data_dir_line,
                    "data_dir".into(),
                    format!("{:?}", dir.display().to_string()),
                    format!(
                        "no such directory, and tables.{name}.columns[{c}] reads {:?} from it; get the files (README.md, \"Real datasets\") or set data_dir{}",
                        col.label,
                        if self.data_dir_line.is_none() { " (default: datasets/data, next to the config file)" } else { "" }
                    ),
                )
            }
            Err(e) => {
                return invalid(
                    None,
                    format!("tables.{name}.columns[{c}].dataset"),
                    String::new(),
                    e.to_string(),
                )
            }
        };
        if !t.metric.fits(dataset.task) {
            return invalid(
                None,
                key("metric"),
                format!("{:?}", t.metric),
                format!(
                    "does not fit column {c}'s dataset {} ({:?}): accuracy and graph-accuracy are for classification, relative-rmse for regression, distance-relative-rmse for localisation",
                    dataset.identity, dataset.task
                ),
            );
        }
        if let Some(k) = t.folds {
            if k > dataset.samples.len() {
                return invalid(
                    None,
                    key("folds"),
                    k.to_string(),
                    format!(
                        "column {c}'s dataset {} has only {} graphs",
                        dataset.identity,
                        dataset.samples.len()
                    ),
                );
            }
        }
        Ok(())
    }

    /// Reads the data-directory datasets of `tables` and checks them as [`Config::load`]
    /// checks generated ones, so a missing directory or a malformed file stops a sweep before
    /// any run starts.
    pub fn check_data(
        &self,
        path: &Path,
        tables: &[(String, TableConfig)],
    ) -> Result<(), ConfigError> {
        for (name, t) in tables {
            for (c, col) in t.columns.iter().enumerate() {
                if col.dataset.reads_data() {
                    self.check_dataset(path, name, c)
                        .map_err(|e| self.locate(e))?;
                }
            }
        }
        Ok(())
    }

    /// The tables named `names`; when empty, every table but the optional ones, in name order.
    pub fn select(&self, names: &[String]) -> Result<Vec<(String, TableConfig)>, String> {
        if names.is_empty() {
            return Ok(self
                .tables
                .iter()
                .filter(|(_, v)| !v.optional)
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect());
        }
        names
            .iter()
            .map(|n| {
                self.tables
                    .get(n)
                    .map(|t| (n.clone(), t.clone()))
                    .ok_or_else(|| {
                        format!(
                            "no table {n:?}; tables: {}",
                            self.tables.keys().cloned().collect::<Vec<_>>().join(", ")
                        )
                    })
            })
            .collect()
    }
}

/// The line of dotted `key` (`tables.t.columns[1].async`) in `text`: under
/// `[profiles.<profile>]` when the profile sets it at least as deeply as the file's own
/// tables do, else in the file's own tables (see [`line_in`]).
fn line_of(text: &str, profile: &str, key: &str, value: &str, why: &str) -> Option<usize> {
    let own = line_in(text, key, value, why);
    if profile != DEFAULT_PROFILE {
        let overlay = line_in(text, &format!("profiles.{profile}.{key}"), value, why);
        if let Some((line, depth)) = overlay {
            if depth > 2 && depth - 2 >= own.map_or(0, |(_, d)| d) {
                return Some(line);
            }
        }
    }
    own.map(|(line, _)| line)
}

/// The line of dotted `key` in `text`, or of its deepest part that is there (when `value` or
/// `why` reads `name = ...`, of `name` under `key` if there), and how many parts were found.
fn line_in(text: &str, key: &str, value: &str, why: &str) -> Option<(usize, usize)> {
    let doc = toml::de::DeTable::parse(text).ok()?;
    let root = toml::Spanned::new(doc.span(), toml::de::DeValue::Table(doc.into_inner()));
    let mut parts: Vec<String> = vec![];
    for dotted in key.split('.') {
        let (name, index) = match dotted.split_once('[') {
            Some((n, i)) => (n, i.strip_suffix(']')),
            None => (dotted, None),
        };
        parts.push(name.to_string());
        if let Some(i) = index {
            parts.push(format!("[{i}]"));
        }
    }
    // The setting itself, when the value or the reason names it (`kappa = 1.5 is ...`).
    let setting = [value, why].into_iter().find_map(|t| {
        let (before, _) = t.split_once(" = ")?;
        let word = before.rsplit([' ', '.', ':']).next()?;
        (!word.is_empty()).then(|| word.to_string())
    });
    parts.extend(setting);
    let mut at = &root;
    let mut depth = 0;
    for part in &parts {
        let next = match part.strip_prefix('[').and_then(|p| p.strip_suffix(']')) {
            Some(i) => i.parse::<usize>().ok().and_then(|i| at.get_ref().get(i)),
            None => at.get_ref().get(part.as_str()),
        };
        match next {
            Some(v) => {
                at = v;
                depth += 1;
            }
            None => break,
        }
    }
    (depth > 0).then(|| (text[..at.span().start].matches('\n').count() + 1, depth))
}

/// `message` with a "did you mean" line when it is serde's "unknown field `x`, expected ..."
/// (or "unknown variant") and one expected name is close to `x`.
fn with_suggestion(message: &str) -> String {
    let suggestion = ["unknown field `", "unknown variant `"]
        .iter()
        .find_map(|p| message.find(p).map(|at| at + p.len()))
        .and_then(|start| {
            let (given, rest) = message[start..].split_once('`')?;
            let expected = &rest[rest.find("expected")?..];
            let best = expected
                .split('`')
                .skip(1)
                .step_by(2)
                .map(|name| (strsim::jaro_winkler(given, name), name))
                .max_by(|a, b| a.0.total_cmp(&b.0))?;
            (best.0 > 0.8).then(|| best.1.to_string())
        });
    match suggestion {
        Some(name) => format!("{message}\n(did you mean `{name}`?)"),
        None => message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::with_suggestion;

    #[test]
    fn misspelt_keys_and_variants_get_the_nearest_name() {
        let m = "unknown field `stalenes`, expected one of `schedule`, `staleness_bound`, `delay`";
        assert!(with_suggestion(m).ends_with("(did you mean `staleness_bound`?)"));
        let m = "unknown variant `unifrm`, expected `uniform` or `max`";
        assert!(with_suggestion(m).ends_with("(did you mean `uniform`?)"));
        let m = "unknown field `zzz`, expected `uniform` or `max`";
        assert_eq!(with_suggestion(m), m, "nothing close: no suggestion");
        assert_eq!(with_suggestion("invalid type"), "invalid type");
    }
}
