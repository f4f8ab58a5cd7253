//! `harness.toml`: the sweep definition of every table.
//!
//! The file is read once, checked against the schema below (unknown keys are errors), and
//! optionally overlaid with a profile (`[profiles.NAME]`, a table with the same shape as the
//! file, deep-merged over it). Every error names the file, the key and, where the TOML
//! parser knows it, the line.

use hogwild_datasets::DatasetSpec;
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
    #[error("{path}: {key}{}: {why}", if value.is_empty() { String::new() } else { format!(" = {value}") })]
    Invalid {
        /// The file.
        path: PathBuf,
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
    /// Node classification accuracy in percent over all nodes of the dataset.
    Accuracy,
}

impl Metric {
    /// Whether larger values are better.
    pub fn higher_is_better(self) -> bool {
        match self {
            Metric::Accuracy => true,
        }
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
    /// Models, in row order (names from `[models]`).
    pub models: Vec<String>,
    /// Delta degrees of freedom of the reported standard deviation (0 = population, as numpy).
    pub std_ddof: u8,
    /// The columns.
    pub columns: Vec<ColumnConfig>,
}

/// The whole sweep definition.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
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
            message: e.to_string().trim_end().to_string(),
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
                message: format!("profile {profile}: {}", e.message()),
            })?
        };
        config.validate(path)?;
        Ok(config)
    }

    fn validate(&self, path: &Path) -> Result<(), ConfigError> {
        let invalid = |key: String, value: String, why: String| {
            Err(ConfigError::Invalid {
                path: path.into(),
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
                if let Err(e) = self.models.build(m, 1, 2, &mut rng) {
                    return invalid(format!("models.{m}"), String::new(), e.to_string());
                }
            }
            for (c, col) in t.columns.iter().enumerate() {
                if let Err(e) = col.async_.apply(&self.async_).validate() {
                    return invalid(
                        format!("tables.{name}.columns[{c}].async"),
                        String::new(),
                        e.to_string(),
                    );
                }
                if let Err(e) = col.dataset.build() {
                    return invalid(
                        format!("tables.{name}.columns[{c}].dataset"),
                        String::new(),
                        e.to_string(),
                    );
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

    /// The tables named `names` (all, in name order, when empty).
    pub fn select(&self, names: &[String]) -> Result<Vec<(String, TableConfig)>, String> {
        if names.is_empty() {
            return Ok(self
                .tables
                .iter()
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
