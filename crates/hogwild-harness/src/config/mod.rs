//! `harness.toml`: the sweep definition of every table.
//!
//! The file is read once, checked against the schema ([`schema`]; unknown keys are errors),
//! optionally overlaid with a profile (`[profiles.NAME]`, a table with the same shape as the
//! file, deep-merged over it: [`profiles`]), and every setting is range-checked, with sizes
//! checked against the memory budget before anything is allocated ([`checks`]). Every error
//! names the file, the key and, where the key is written there, its line ([`locate`]).

mod checks;
mod locate;
mod profiles;
pub mod schema;

pub use checks::Datasets;
pub use schema::{ColumnConfig, Metric, TableConfig};

use hogwild_models::ModelsConfig;
use hogwild_settings::{InvalidSetting, Key, MemoryBudget};
use hogwild_sim::AsyncConfig;
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
    /// The TOML does not parse or does not fit the schema (the parser's message has the
    /// line and the key).
    #[error("{path}: {message}")]
    Schema {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// A setting is impossible, or missing from an overlay.
    #[error("{path}{}: {setting}{}", line.map_or(String::new(), |n| format!(", line {n}")), profile.as_ref().map_or(String::new(), |p| format!(" (set by [profiles.{p}])")))]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The line of the key in the file, where it is written there.
        line: Option<usize>,
        /// The profile that sets the key, when the line is in it.
        profile: Option<String>,
        /// The key (in full, from the top of the file), its value and why.
        setting: Box<InvalidSetting>,
    },
}

/// The whole sweep definition.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Where datasets that are read rather than generated live (`DATA_DIR/TU/MUTAG/...`;
    /// default `datasets/data`), relative to the config file's directory. Not part of any
    /// run's identity: a dataset read from files is identified by their contents.
    #[serde(default = "default_data_dir", skip_serializing)]
    pub data_dir: PathBuf,
    /// Asynchronous simulator settings.
    #[serde(rename = "async")]
    pub async_: AsyncConfig,
    /// Model settings.
    pub models: ModelsConfig,
    /// Tables by name, in name order (none is an error of its own, not of the schema).
    #[serde(default)]
    pub tables: BTreeMap<String, TableConfig>,
    /// Profiles: overlays deep-merged over the file.
    #[serde(default, skip_serializing)]
    pub profiles: BTreeMap<String, toml::Table>,
    /// What sizes are checked against (the machine's memory unless given).
    #[serde(skip, default = "MemoryBudget::machine")]
    pub budget: MemoryBudget,
    /// `[models]` with each table's `model_settings` applied, by table (filled at load).
    #[serde(skip)]
    table_models: BTreeMap<String, ModelsConfig>,
    /// The file, to name it and locate the keys of later errors.
    #[serde(skip)]
    path: PathBuf,
    /// The file's text.
    #[serde(skip)]
    text: String,
    /// The profile applied, whose overrides are located before the file's own keys.
    #[serde(skip)]
    profile: String,
}

fn default_data_dir() -> PathBuf {
    PathBuf::from("datasets/data")
}

impl Config {
    /// Reads `path` and applies `profile` ([`DEFAULT_PROFILE`] for none); sizes are checked
    /// against the machine's memory.
    pub fn load(path: &Path, profile: &str) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.into(),
            source,
        })?;
        Self::parse(&text, path, profile)
    }

    /// Parses `text` (read from `path`) and applies `profile`.
    pub fn parse(text: &str, path: &Path, profile: &str) -> Result<Config, ConfigError> {
        Self::parse_within(text, path, profile, MemoryBudget::machine())
    }

    /// Parses `text` (read from `path`), applies `profile`, and checks sizes against
    /// `budget`.
    pub fn parse_within(
        text: &str,
        path: &Path,
        profile: &str,
        budget: MemoryBudget,
    ) -> Result<Config, ConfigError> {
        let schema = |e: toml::de::Error| ConfigError::Schema {
            path: path.into(),
            message: locate::with_suggestion(e.to_string().trim_end()),
        };
        // The file alone must fit the schema (so its errors carry the parser's line).
        let base: Config = toml::from_str(text).map_err(schema)?;
        let located = |setting: InvalidSetting| {
            let (key, at) = locate::locate(text, profile, std::slice::from_ref(&setting.key));
            ConfigError::Invalid {
                path: path.into(),
                line: at.as_ref().map(|a| a.line),
                profile: at.filter(|a| a.in_profile).map(|_| profile.to_string()),
                setting: Box::new(InvalidSetting { key, ..setting }),
            }
        };
        let mut config = if profile == DEFAULT_PROFILE {
            base
        } else {
            let overlay = base.profiles.get(profile).ok_or_else(|| {
                let known: Vec<&str> = std::iter::once(DEFAULT_PROFILE)
                    .chain(base.profiles.keys().map(String::as_str))
                    .collect();
                ConfigError::Invalid {
                    path: path.into(),
                    line: None,
                    profile: None,
                    setting: Box::new(InvalidSetting::new(
                        "--profile",
                        profile,
                        format!(
                            "no [profiles.{profile}] table; profiles: {}",
                            known.join(", ")
                        ),
                    )),
                }
            })?;
            let mut doc: toml::Table = toml::from_str(text).map_err(schema)?;
            profiles::merge(&mut doc, overlay);
            doc.remove("profiles");
            profiles::deserialize::<Config>(doc)
                .map_err(|e| located(InvalidSetting::new(e.key, "", e.message)))?
        };
        config.budget = budget;
        config.profile = profile.to_string();
        config.path = path.to_path_buf();
        config.text = text.to_string();
        if config.data_dir.is_relative() {
            let base = path.parent().unwrap_or(Path::new(""));
            config.data_dir = base.join(&config.data_dir);
        }
        config.resolve_models()?;
        config.check()?;
        Ok(config)
    }

    /// The error for `setting`, located in the file: at the first of `also` (other keys
    /// where the same setting may be written, such as `models.X.k` for a table's
    /// `model_settings.X.k`) that is written there, or at `setting.key`.
    fn invalid(&self, setting: InvalidSetting, also: &[Key]) -> ConfigError {
        let mut candidates = vec![setting.key.clone()];
        candidates.extend(also.iter().cloned());
        let (key, at) = locate::locate(&self.text, &self.profile, &candidates);
        ConfigError::Invalid {
            path: self.path.clone(),
            line: at.as_ref().map(|a| a.line),
            profile: at.filter(|a| a.in_profile).map(|_| self.profile.clone()),
            setting: Box::new(InvalidSetting { key, ..setting }),
        }
    }

    /// The model settings table `table` runs with: `[models]` with its `model_settings`.
    pub fn models_for(&self, table: &str) -> &ModelsConfig {
        self.table_models.get(table).unwrap_or(&self.models)
    }

    fn resolve_models(&mut self) -> Result<(), ConfigError> {
        for (name, t) in &self.tables {
            if t.model_settings.is_empty() {
                continue;
            }
            let mut doc: toml::Table =
                toml::Table::try_from(&self.models).expect("model settings serialise");
            profiles::merge(&mut doc, &t.model_settings);
            let models = profiles::deserialize::<ModelsConfig>(doc).map_err(|e| {
                let key = Key::new()
                    .name("tables")
                    .name(name.as_str())
                    .name("model_settings")
                    .join(&e.key);
                self.invalid(InvalidSetting::new(key, "", e.message), &[])
            })?;
            self.table_models.insert(name.clone(), models);
        }
        Ok(())
    }

    /// The tables named `names` (each at most once); when empty, every table but the
    /// optional ones, in name order.
    pub fn select(&self, names: &[String]) -> Result<Vec<(String, TableConfig)>, String> {
        if names.is_empty() {
            return Ok(self
                .tables
                .iter()
                .filter(|(_, v)| !v.optional)
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect());
        }
        let mut selected: Vec<(String, TableConfig)> = vec![];
        for n in names {
            if selected.iter().any(|(s, _)| s == n) {
                return Err(format!(
                    "--table {n} is given twice (its runs would be counted twice)"
                ));
            }
            let t = self.tables.get(n).ok_or_else(|| {
                format!(
                    "no table {n:?}; tables: {}",
                    self.tables.keys().cloned().collect::<Vec<_>>().join(", ")
                )
            })?;
            selected.push((n.clone(), t.clone()));
        }
        Ok(selected)
    }
}
