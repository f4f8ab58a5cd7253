//! `harness.toml`: the sweep definition of every table.
//!
//! The file is read once, checked against the schema ([`schema`]; unknown keys are errors),
//! optionally overlaid with a profile (`[profiles.NAME]`, a table with the same shape as the
//! file, deep-merged over it: [`profiles`]), and every setting is range-checked, with sizes
//! checked against the memory budget before anything is allocated ([`checks`]). Every error
//! names the file, the key and, where the key is written there, its line ([`locate`]).

mod checks;
pub mod claims;
pub mod grid;
mod locate;
mod profiles;
pub mod schema;

pub use checks::Datasets;
pub use grid::Grid;
pub use schema::{ColumnConfig, Metric, TableConfig, DEGRADATION_ROW};

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
    #[error("{path}{}: {setting}{}", line.map_or(String::new(), |n| format!(", line {n}")), origin.as_ref().map_or(String::new(), |o| format!(" (set by {o})")))]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The line of the key in the file, where it is written there.
        line: Option<usize>,
        /// What sets the key when not the file's own tables: `[profiles.NAME]` or
        /// `--set KEY=VALUE`.
        origin: Option<String>,
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
    /// `[models]` as written: a section per model the tables use.
    #[serde(rename = "models", default)]
    pub models_written: toml::Table,
    /// `[models]`, each section read and checked by its model's settings type.
    #[serde(skip)]
    pub models: ModelsConfig,
    /// Tables by name, in name order (none is an error of its own, not of the schema).
    #[serde(default)]
    pub tables: BTreeMap<String, TableConfig>,
    /// Fully distributed training experiments (`[distributed.NAME]`), written to
    /// `results/NAME/` beside the tables.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub distributed: BTreeMap<String, crate::distributed::DistributedTable>,
    /// AMP's tables (`[amp.NAME]`), written to `results/NAME/` beside the tables.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub amp: BTreeMap<String, crate::amp::AmpTable>,
    /// The papers' qualitative claims, checked on the written tables (`results/claims.md`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub claims: Vec<claims::Claim>,
    /// Profiles: overlays deep-merged over the file.
    #[serde(default, skip_serializing)]
    pub profiles: BTreeMap<String, toml::Table>,
    /// What sizes are checked against (the machine's memory unless given).
    #[serde(skip, default = "MemoryBudget::machine")]
    pub budget: MemoryBudget,
    /// `[models]` with each table's `model_settings` applied, by table (filled at load).
    #[serde(skip)]
    table_models: BTreeMap<String, ModelsConfig>,
    /// `[models]` with a table's and then one of its columns' `model_settings` applied, by
    /// table and column index, for the columns that have their own (filled at load).
    #[serde(skip)]
    column_models: BTreeMap<(String, usize), ModelsConfig>,
    /// The file, to name it and locate the keys of later errors.
    #[serde(skip)]
    path: PathBuf,
    /// The file's text.
    #[serde(skip)]
    text: String,
    /// The profile applied, whose overrides are located before the file's own keys.
    #[serde(skip)]
    profile: String,
    /// The `--set` overrides applied.
    #[serde(skip)]
    overrides: Overrides,
    /// The tables written `like` another, to name an inherited setting where it is written.
    #[serde(skip)]
    likes: BTreeMap<String, profiles::Like>,
}

/// Settings given on the command line (`--set KEY=VALUE`), applied over the file and its
/// profile: `KEY` is dotted (`async.staleness_bound`, `tables.chains.seeds`), `VALUE` a TOML
/// value (`5`, `[0, 1]`, `"max"`), or else taken as a string (`max`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Overrides(Vec<(Key, toml::Value, String)>);

impl Overrides {
    /// The overrides `given` (`KEY=VALUE` each).
    ///
    /// ```
    /// use hogwild_harness::config::Overrides;
    /// let o = Overrides::parse(&["async.staleness_bound=5".into(), "async.delay=max".into()])
    ///     .unwrap();
    /// assert_eq!(o.given(), ["--set async.staleness_bound=5", "--set async.delay=max"]);
    /// assert!(Overrides::parse(&["no-equals-sign".into()]).is_err());
    /// ```
    pub fn parse(given: &[String]) -> Result<Overrides, String> {
        given
            .iter()
            .map(|g| {
                let (key, value) = g.split_once('=').ok_or_else(|| {
                    format!("--set {g}: expected KEY=VALUE, e.g. async.staleness_bound=5")
                })?;
                let key = Key::from(key.trim());
                if key.is_empty() {
                    return Err(format!("--set {g}: the key is empty"));
                }
                let value = value.trim();
                let parsed = toml::from_str::<toml::Table>(&format!("v = {value}"))
                    .ok()
                    .and_then(|mut t| t.remove("v"))
                    .unwrap_or_else(|| toml::Value::String(value.to_string()));
                Ok((key, parsed, format!("--set {g}")))
            })
            .collect::<Result<_, _>>()
            .map(Overrides)
    }

    /// These, and the data directory `dir` (relative to the working directory), as `how`
    /// gave it (`--data-dir DIR`, `HOGWILD_DATA_DIR=DIR`).
    pub fn with_data_dir(mut self, dir: &std::path::Path, how: String) -> Overrides {
        let absolute = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
        self.0.push((
            Key::from("data_dir"),
            toml::Value::String(absolute.to_string_lossy().into_owned()),
            how,
        ));
        self
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// As given on the command line (`--set KEY=VALUE`, `--data-dir DIR`).
    pub fn given(&self) -> Vec<&str> {
        self.0.iter().map(|(_, _, g)| g.as_str()).collect()
    }

    /// The override that sets one of `keys` (or a table holding it), as given.
    fn origin(&self, keys: &[Key]) -> Option<&str> {
        self.0.iter().rev().find_map(|(k, _, given)| {
            keys.iter()
                .any(|key| key.parts().starts_with(k.parts()))
                .then_some(given.as_str())
        })
    }
}

fn default_data_dir() -> PathBuf {
    PathBuf::from("datasets/data")
}

impl Config {
    /// Reads `path` and applies `profile` ([`DEFAULT_PROFILE`] for none); sizes are checked
    /// against the machine's memory.
    pub fn load(path: &Path, profile: &str) -> Result<Config, ConfigError> {
        Self::load_with(path, profile, &Overrides::default())
    }

    /// Reads `path`, applies `profile`, then `overrides` (`--set`).
    pub fn load_with(
        path: &Path,
        profile: &str,
        overrides: &Overrides,
    ) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.into(),
            source,
        })?;
        Self::parse_with(&text, path, profile, overrides, MemoryBudget::machine())
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
        Self::parse_with(text, path, profile, &Overrides::default(), budget)
    }

    /// Parses `text` (read from `path`), applies `profile` and then `overrides`, expands the
    /// tables' grids, and checks everything, sizes against `budget`.
    pub fn parse_with(
        text: &str,
        path: &Path,
        profile: &str,
        overrides: &Overrides,
        budget: MemoryBudget,
    ) -> Result<Config, ConfigError> {
        let schema = |e: toml::de::Error| ConfigError::Schema {
            path: path.into(),
            message: locate::with_suggestion(e.to_string().trim_end()),
        };
        // Where a table is `like` another, the file is read as the tables it resolves to,
        // the errors located by key; otherwise the file alone must fit the schema (so its
        // errors carry the parser's line).
        let written: toml::Table = toml::from_str(text).map_err(schema)?;
        let located = |(key, value, why): (Key, String, String)| {
            let (key, at) = locate::locate(text, DEFAULT_PROFILE, &[key]);
            ConfigError::Invalid {
                path: path.into(),
                line: at.map(|a| a.line),
                origin: None,
                setting: Box::new(InvalidSetting::new(key, value, why)),
            }
        };
        let likes = profiles::likes(&written);
        let base: Config = if !likes.is_empty() {
            let mut doc = written.clone();
            profiles::resolve_likes(&mut doc).map_err(located)?;
            profiles::deserialize(doc).map_err(|e| located((e.key, String::new(), e.message)))?
        } else {
            toml::from_str(text).map_err(schema)?
        };
        let mut config = base.clone();
        config.path = path.to_path_buf();
        config.text = text.to_string();
        config.profile = profile.to_string();
        config.overrides = overrides.clone();
        config.likes = likes;
        if profile != DEFAULT_PROFILE || !overrides.is_empty() {
            let mut doc: toml::Table = toml::from_str(text).map_err(schema)?;
            if profile != DEFAULT_PROFILE {
                let overlay = base.profiles.get(profile).ok_or_else(|| {
                    let known: Vec<&str> = std::iter::once(DEFAULT_PROFILE)
                        .chain(base.profiles.keys().map(String::as_str))
                        .collect();
                    ConfigError::Invalid {
                        path: path.into(),
                        line: None,
                        origin: None,
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
                profiles::merge(&mut doc, overlay);
            }
            doc.remove("profiles");
            for (key, value, given) in &overrides.0 {
                grid::set(&mut doc, key, value.clone()).map_err(|why| ConfigError::Invalid {
                    path: path.into(),
                    line: None,
                    origin: Some(given.clone()),
                    setting: Box::new(InvalidSetting::new(key.clone(), "", why)),
                })?;
            }
            profiles::resolve_likes(&mut doc).map_err(|(key, value, why)| {
                config.invalid(InvalidSetting::new(key, value, why), &[])
            })?;
            let merged = profiles::deserialize::<Config>(doc)
                .map_err(|e| config.invalid(InvalidSetting::new(e.key, "", e.message), &[]))?;
            config = Config {
                path: config.path,
                text: config.text,
                profile: config.profile,
                overrides: config.overrides,
                likes: config.likes,
                ..merged
            };
        }
        config.budget = budget;
        if config.data_dir.is_relative() {
            let base = path.parent().unwrap_or(Path::new(""));
            config.data_dir = base.join(&config.data_dir);
        }
        config.expand_grids()?;
        config.resolve_models()?;
        config.check()?;
        Ok(config)
    }

    /// Appends every table's grid columns to its written-out columns.
    fn expand_grids(&mut self) -> Result<(), ConfigError> {
        let mut expanded = vec![];
        for (name, t) in &self.tables {
            if let Some(g) = &t.grid {
                let at = Key::new().name("tables").name(name.as_str()).name("grid");
                let columns = g.columns().map_err(|e| self.invalid(e.under(at), &[]))?;
                expanded.push((name.clone(), columns));
            }
        }
        for (name, columns) in expanded {
            let t = self.tables.get_mut(&name).expect("a table of this config");
            t.columns.extend(columns);
        }
        Ok(())
    }

    /// The error for `setting`, located in the file: at the first of `also` (other keys
    /// where the same setting may be written, such as `models.X.k` for a table's
    /// `model_settings.X.k`) that is written there, or at `setting.key`; a setting given by
    /// `--set` is named as such.
    fn invalid(&self, setting: InvalidSetting, also: &[Key]) -> ConfigError {
        // A misspelt key or variant gets the nearest name, whoever read it.
        let setting = InvalidSetting {
            why: locate::with_suggestion(&setting.why),
            ..setting
        };
        // A setting a table inherits (`like`) is named where it is written.
        let written_at = |key: &Key| {
            self.likes
                .iter()
                .fold(key.clone(), |k, (name, like)| like.written_at(name, &k))
        };
        let setting = InvalidSetting {
            key: written_at(&setting.key),
            ..setting
        };
        let mut candidates = vec![setting.key.clone()];
        candidates.extend(also.iter().map(written_at));
        if let Some(given) = self.overrides.origin(&candidates) {
            return ConfigError::Invalid {
                path: self.path.clone(),
                line: None,
                origin: Some(given.to_string()),
                setting: Box::new(setting),
            };
        }
        let (key, at) = locate::locate(&self.text, &self.profile, &candidates);
        ConfigError::Invalid {
            path: self.path.clone(),
            line: at.as_ref().map(|a| a.line),
            origin: at
                .filter(|a| a.in_profile)
                .map(|_| format!("[profiles.{}]", self.profile)),
            setting: Box::new(InvalidSetting { key, ..setting }),
        }
    }

    /// The `--set` overrides applied.
    pub fn overrides(&self) -> &Overrides {
        &self.overrides
    }

    /// The model settings table `table` (a GNN table or AMP's Table 4) runs with:
    /// `[models]` with its `model_settings`.
    pub fn models_for(&self, table: &str) -> &ModelsConfig {
        self.table_models.get(table).unwrap_or(&self.models)
    }

    /// The model settings column `column` of GNN table `table` runs with: `[models]` with
    /// the table's `model_settings`, then the column's.
    pub fn models_for_column(&self, table: &str, column: usize) -> &ModelsConfig {
        self.column_models
            .get(&(table.to_string(), column))
            .unwrap_or_else(|| self.models_for(table))
    }

    /// Reads `[models]` with the registry, and every table's `[models]` with its
    /// `model_settings` applied.
    fn resolve_models(&mut self) -> Result<(), ConfigError> {
        self.models = ModelsConfig::from_table(&self.models_written)
            .map_err(|e| self.invalid(e.under("models"), &[]))?;
        // GNN tables and AMP's Table 4 (an AMP table's name is no GNN table's).
        let given: Vec<(&str, &String, &toml::Table)> = self
            .tables
            .iter()
            .map(|(name, t)| ("tables", name, &t.model_settings))
            .chain(
                self.amp
                    .iter()
                    .map(|(name, t)| ("amp", name, &t.model_settings)),
            )
            .filter(|(_, _, settings)| !settings.is_empty())
            .collect();
        let mut resolved = Vec::with_capacity(given.len());
        for (section, name, settings) in given {
            let at = Key::new()
                .name(section)
                .name(name.as_str())
                .name("model_settings");
            resolved.push((name.clone(), self.models_with(&[(at, settings)])?));
        }
        self.table_models.extend(resolved);
        // Columns with their own settings, over their table's.
        let mut resolved = vec![];
        for (name, t) in &self.tables {
            let table = Key::new().name("tables").name(name.as_str());
            for (c, column) in t.columns.iter().enumerate() {
                if column.model_settings.is_empty() {
                    continue;
                }
                let models = self.models_with(&[
                    (table.clone().name("model_settings"), &t.model_settings),
                    (
                        table
                            .clone()
                            .name("columns")
                            .index(c)
                            .name("model_settings"),
                        &column.model_settings,
                    ),
                ])?;
                resolved.push(((name.clone(), c), models));
            }
        }
        self.column_models.extend(resolved);
        Ok(())
    }

    /// `[models]` with `overlays` merged over it in order, each `(key, settings)` the
    /// `model_settings` written at `key`: an error is named at the last overlay's key, or
    /// where an earlier overlay or `[models]` writes the setting.
    fn models_with(&self, overlays: &[(Key, &toml::Table)]) -> Result<ModelsConfig, ConfigError> {
        let mut doc = self.models_written.clone();
        for (_, settings) in overlays {
            profiles::merge(&mut doc, settings);
        }
        ModelsConfig::from_table(&doc).map_err(|e| {
            let mut keys: Vec<Key> = overlays
                .iter()
                .rev()
                .map(|(at, _)| at.clone().join(&e.key))
                .collect();
            keys.push(Key::from("models").join(&e.key));
            let own = keys.remove(0);
            self.invalid(InvalidSetting { key: own, ..e }, &keys)
        })
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
            if self.distributed.contains_key(n) || self.amp.contains_key(n) {
                continue;
            }
            if selected.iter().any(|(s, _)| s == n) {
                return Err(format!(
                    "--table {n} is given twice (its runs would be counted twice)"
                ));
            }
            let t = self.tables.get(n).ok_or_else(|| {
                format!(
                    "no table {n:?}; tables: {}",
                    self.tables
                        .keys()
                        .chain(self.distributed.keys())
                        .chain(self.amp.keys())
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })?;
            selected.push((n.clone(), t.clone()));
        }
        Ok(selected)
    }

    /// The distributed experiments among `names` (each once); when `names` is empty, every
    /// one but the optional ones, in name order. Names that are no experiment are
    /// [`Config::select`]'s to judge.
    pub fn select_distributed(
        &self,
        names: &[String],
    ) -> Vec<(String, crate::distributed::DistributedTable)> {
        select_experiments(&self.distributed, names, |t| t.optional)
    }

    /// The AMP tables among `names`, as [`Config::select_distributed`].
    pub fn select_amp(&self, names: &[String]) -> Vec<(String, crate::amp::AmpTable)> {
        select_experiments(&self.amp, names, |t| t.optional)
    }
}

/// The experiments of one section among `names` (each once); when `names` is empty, every
/// one but the `optional` ones, in name order.
fn select_experiments<T: Clone>(
    section: &BTreeMap<String, T>,
    names: &[String],
    optional: impl Fn(&T) -> bool,
) -> Vec<(String, T)> {
    section
        .iter()
        .filter(|(n, t)| {
            if names.is_empty() {
                !optional(t)
            } else {
                names.contains(n)
            }
        })
        .map(|(n, t)| (n.clone(), t.clone()))
        .collect()
}
