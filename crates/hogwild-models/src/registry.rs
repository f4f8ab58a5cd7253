//! The model registry: a model is one module whose settings type implements [`ModelSpec`],
//! and one line in [`KINDS`]. Everything else (the harness's checks, costs, display names
//! and memory estimates, the simulator's scaling workload) asks the registry, so no model
//! name is written anywhere else.
//!
//! `[models]` in `harness.toml` holds a section only for the models the tables use, each
//! checked against its own settings type (unknown keys are errors), so one model's settings
//! cannot be given to another.

use crate::model::{Model, ModelError, ProblemSize};
use crate::params::TrainConfig;
use hogwild_settings::{Bytes, InvalidSetting, Key};
use rand_chacha::ChaCha8Rng;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::fmt::Debug;

/// The shape of the data a model is built for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dims {
    /// Node feature width.
    pub in_dim: usize,
    /// Edge feature width (read by models that use edge features).
    pub edge_dim: usize,
    /// Output width.
    pub out_dim: usize,
}

/// A variant of a model that the scaling workload measures besides the model as
/// configured: a label suffix, changes to its settings, and whether it runs on chains only.
#[derive(Debug, Clone, PartialEq)]
pub struct ScalingVariant {
    /// Appended to the model's name (`-h16`); empty for the model itself.
    pub suffix: &'static str,
    /// Settings changed for the measurement, as they would be written in `[models.NAME]`.
    pub changes: toml::Table,
    /// Measured on chains only.
    pub chains_only: bool,
}

/// A model's settings type (`[models.NAME]`), which knows everything the harness and the
/// simulator need of the model.
pub trait ModelSpec:
    Serialize + DeserializeOwned + Clone + PartialEq + Debug + Send + Sync + 'static
{
    /// The model's name in `harness.toml` (`[models.NAME]`, a table's `models`).
    const NAME: &'static str;
    /// Its name in tables and figures.
    const DISPLAY: &'static str;
    /// The relative cost of one training epoch (times nodes^1.5): only orders and balances
    /// runs, never changes a result.
    const COST: f64;
    /// A model whose section this one's settings default to: keys `[models.NAME]` leaves
    /// out are read from `[models.INHERITS]` when the config has it (the energy-GNN
    /// variants take the energy GNN's settings). `None`: the section is complete.
    const INHERITS: Option<&'static str> = None;
    /// Checks the settings; keys relative to `[models.NAME]`.
    fn check(&self) -> Result<(), InvalidSetting>;
    /// The training settings.
    fn train(&self) -> &TrainConfig;
    /// The largest allocations of training on (or evaluating) a batch of `size`.
    fn memory(&self, size: &ProblemSize) -> Bytes;
    /// The longest node state in the simulator, for `in_dim` features and nodes of at most
    /// `max_degree` neighbours.
    fn state_width(&self, in_dim: u64, max_degree: u64) -> u64;
    /// The model with seeded initial parameters.
    fn build(&self, dims: Dims, rng: &mut ChaCha8Rng) -> Result<Box<dyn Model>, ModelError>;
    /// What the scaling workload measures (default: the model as configured).
    fn scaling_variants() -> Vec<ScalingVariant> {
        vec![ScalingVariant {
            suffix: "",
            changes: toml::Table::new(),
            chains_only: false,
        }]
    }
}

/// One model's settings behind a pointer: [`ModelSpec`] without its static parts. It
/// serialises as its settings type does (field order kept), so a config serialises, and
/// hashes, as it did when every model was a field of one struct.
pub trait Settings: Debug + Send + Sync + erased_serde::Serialize {
    /// The model's kind.
    fn kind(&self) -> &'static Kind;
    /// See [`ModelSpec::check`].
    fn check(&self) -> Result<(), InvalidSetting>;
    /// See [`ModelSpec::train`].
    fn train(&self) -> &TrainConfig;
    /// See [`ModelSpec::memory`].
    fn memory(&self, size: &ProblemSize) -> Bytes;
    /// See [`ModelSpec::state_width`].
    fn state_width(&self, in_dim: u64, max_degree: u64) -> u64;
    /// See [`ModelSpec::build`].
    fn build(&self, dims: Dims, rng: &mut ChaCha8Rng) -> Result<Box<dyn Model>, ModelError>;
    /// As written in `[models.NAME]`.
    fn to_toml(&self) -> toml::Table;
    /// A copy.
    fn clone_box(&self) -> Box<dyn Settings>;
}

impl<T: ModelSpec> Settings for T {
    fn kind(&self) -> &'static Kind {
        kind(T::NAME).expect("every ModelSpec is registered in KINDS")
    }
    fn check(&self) -> Result<(), InvalidSetting> {
        ModelSpec::check(self)
    }
    fn train(&self) -> &TrainConfig {
        ModelSpec::train(self)
    }
    fn memory(&self, size: &ProblemSize) -> Bytes {
        ModelSpec::memory(self, size)
    }
    fn state_width(&self, in_dim: u64, max_degree: u64) -> u64 {
        ModelSpec::state_width(self, in_dim, max_degree)
    }
    fn build(&self, dims: Dims, rng: &mut ChaCha8Rng) -> Result<Box<dyn Model>, ModelError> {
        ModelSpec::build(self, dims, rng)
    }
    fn to_toml(&self) -> toml::Table {
        toml::Table::try_from(self).expect("model settings serialise as a table")
    }
    fn clone_box(&self) -> Box<dyn Settings> {
        Box::new(self.clone())
    }
}

erased_serde::serialize_trait_object!(Settings);

impl Clone for Box<dyn Settings> {
    fn clone(&self) -> Self {
        self.clone_box()
    }
}

impl PartialEq for Box<dyn Settings> {
    fn eq(&self, other: &Self) -> bool {
        self.kind().name == other.kind().name && self.to_toml() == other.to_toml()
    }
}

/// A registered model: its names, cost, and how its settings are read.
pub struct Kind {
    /// See [`ModelSpec::NAME`].
    pub name: &'static str,
    /// See [`ModelSpec::DISPLAY`].
    pub display: &'static str,
    /// See [`ModelSpec::COST`].
    pub cost: f64,
    /// See [`ModelSpec::INHERITS`].
    pub inherits: Option<&'static str>,
    parse: fn(toml::Table) -> Result<Box<dyn Settings>, InvalidSetting>,
    variants: fn() -> Vec<ScalingVariant>,
}

impl Debug for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

fn parse<T: ModelSpec>(table: toml::Table) -> Result<Box<dyn Settings>, InvalidSetting> {
    serde_path_to_error::deserialize::<_, T>(toml::Value::Table(table))
        .map(|t| Box::new(t) as Box<dyn Settings>)
        .map_err(|e| {
            let mut key = Key::new();
            for segment in e.path().iter() {
                key = match segment {
                    serde_path_to_error::Segment::Seq { index } => key.index(*index),
                    serde_path_to_error::Segment::Map { key: name } => key.name(name.as_str()),
                    _ => key,
                };
            }
            InvalidSetting::new(key, "", e.inner().message().trim_end())
        })
}

impl Kind {
    /// The kind of settings type `T`.
    pub const fn of<T: ModelSpec>() -> Kind {
        Kind {
            name: T::NAME,
            display: T::DISPLAY,
            cost: T::COST,
            inherits: T::INHERITS,
            parse: parse::<T>,
            variants: T::scaling_variants,
        }
    }

    /// Settings of this model from `[models.NAME]`.
    pub fn parse(&self, table: toml::Table) -> Result<Box<dyn Settings>, InvalidSetting> {
        (self.parse)(table)
    }

    /// What the scaling workload measures of this model.
    pub fn scaling_variants(&self) -> Vec<ScalingVariant> {
        (self.variants)()
    }
}

/// Every model, in the order tables list them by default. Registering a model is one line.
pub static KINDS: &[Kind] = &[
    Kind::of::<crate::gcn::GcnConfig>(),
    Kind::of::<crate::gat::GatConfig>(),
    Kind::of::<crate::ignn::IgnnConfig>(),
    Kind::of::<crate::energy::EnergyConfig>(),
    Kind::of::<crate::energy::variants::NodeWiseEnergy>(),
    Kind::of::<crate::energy::variants::AttentionEnergy>(),
    Kind::of::<crate::gsdgnn::GsdgnnConfig>(),
    Kind::of::<crate::gin::GinConfig>(),
];

/// The registered model called `name`.
pub fn kind(name: &str) -> Option<&'static Kind> {
    KINDS.iter().find(|k| k.name == name)
}

/// The registered models' names, for messages.
pub fn names() -> String {
    KINDS.iter().map(|k| k.name).collect::<Vec<_>>().join(", ")
}

/// The display name of model `name` (the name itself when it is not registered).
pub fn display_name(name: &str) -> &str {
    kind(name).map_or(name, |k| k.display)
}

/// The settings of the models a config sets (`[models]`), in registry order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ModelsConfig {
    settings: Vec<Box<dyn Settings>>,
}

impl ModelsConfig {
    /// The settings of `[models]`, each section checked against its model's settings type;
    /// errors name the key relative to `[models]` (`gcn.train.lr`).
    pub fn from_table(table: &toml::Table) -> Result<ModelsConfig, InvalidSetting> {
        let mut settings = vec![];
        for (name, value) in table {
            let kind = kind(name).ok_or_else(|| {
                InvalidSetting::new(
                    Key::new().name(name.as_str()),
                    "",
                    format!("unknown model `{name}`, expected one of {}", quoted_names()),
                )
            })?;
            let as_section = |name: &str, value: &toml::Value| {
                value.as_table().cloned().ok_or_else(|| {
                    InvalidSetting::new(
                        Key::new().name(name),
                        value,
                        "a model's settings are a table",
                    )
                })
            };
            let mut section = as_section(name, value)?;
            if let Some((base, value)) = kind
                .inherits
                .and_then(|base| table.get(base).map(|value| (base, value)))
            {
                section = overlay(as_section(base, value)?, section);
            }
            settings.push(
                kind.parse(section)
                    .map_err(|e| e.under(Key::new().name(name.as_str())))?,
            );
        }
        settings.sort_by_key(|s| KINDS.iter().position(|k| k.name == s.kind().name));
        Ok(ModelsConfig { settings })
    }

    /// As written in `[models]`, in registry order.
    pub fn to_table(&self) -> toml::Table {
        self.settings
            .iter()
            .map(|s| (s.kind().name.to_string(), toml::Value::Table(s.to_toml())))
            .collect()
    }

    /// The settings of model `name`, if the config sets it.
    pub fn get(&self, name: &str) -> Option<&dyn Settings> {
        self.settings
            .iter()
            .find(|s| s.kind().name == name)
            .map(|s| s.as_ref())
    }

    /// The settings of the models named in `names` only (those set), in registry order.
    pub fn only(&self, names: &[String]) -> ModelsConfig {
        ModelsConfig {
            settings: self
                .settings
                .iter()
                .filter(|s| names.iter().any(|n| n == s.kind().name))
                .cloned()
                .collect(),
        }
    }

    /// The models set, in registry order.
    pub fn names(&self) -> Vec<&'static str> {
        self.settings.iter().map(|s| s.kind().name).collect()
    }

    fn settings_of(&self, name: &str) -> Result<&dyn Settings, InvalidSetting> {
        self.get(name).ok_or_else(|| {
            let why = match kind(name) {
                Some(_) => format!("no [models.{name}] section sets it"),
                None => format!("unknown model; known: {}", names()),
            };
            InvalidSetting::new("", format!("{name:?}"), why)
        })
    }

    /// Builds model `name` for `dims`, with seeded initial parameters.
    pub fn build(
        &self,
        name: &str,
        dims: Dims,
        rng: &mut ChaCha8Rng,
    ) -> Result<Box<dyn Model>, ModelError> {
        let settings = self.settings_of(name)?;
        settings
            .check()
            .map_err(|e| ModelError::Setting(e.under(Key::new().name(name))))?;
        settings.build(dims, rng)
    }

    /// Checks the settings of model `name` (keys relative to its section: `train.lr`).
    pub fn check(&self, name: &str) -> Result<(), InvalidSetting> {
        self.settings_of(name)?.check()
    }

    /// The training settings of model `name`.
    pub fn train_config(&self, name: &str) -> Option<&TrainConfig> {
        self.get(name).map(|s| s.train())
    }

    /// The largest allocations of model `name` on a batch of `size` (zero when not set).
    pub fn memory(&self, name: &str, size: &ProblemSize) -> Bytes {
        self.get(name).map_or(Bytes(0), |s| s.memory(size))
    }

    /// The longest node state of model `name` in the simulator (zero when not set).
    pub fn state_width(&self, name: &str, in_dim: u64, max_degree: u64) -> u64 {
        self.get(name)
            .map_or(0, |s| s.state_width(in_dim, max_degree))
    }
}

/// `base` with every key of `over` set over it, nested tables merged key by key.
fn overlay(mut base: toml::Table, over: toml::Table) -> toml::Table {
    for (key, value) in over {
        let merged = match (base.remove(&key), value) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => {
                toml::Value::Table(overlay(b, o))
            }
            (_, value) => value,
        };
        base.insert(key, merged);
    }
    base
}

fn quoted_names() -> String {
    KINDS
        .iter()
        .map(|k| format!("`{}`", k.name))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Serialize for ModelsConfig {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(self.settings.len()))?;
        for settings in &self.settings {
            map.serialize_entry(settings.kind().name, settings.as_ref())?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for ModelsConfig {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let table = toml::Table::deserialize(d)?;
        ModelsConfig::from_table(&table).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_registered_model_has_a_distinct_name() {
        let mut names: Vec<&str> = KINDS.iter().map(|k| k.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), KINDS.len());
        assert_eq!(display_name("ignn"), "IGNN");
        assert_eq!(display_name("nope"), "nope");
    }

    #[test]
    fn sections_are_read_by_their_own_type() {
        let table: toml::Table =
            toml::from_str("[gcn]\nhidden = 4\nlayers = 2\n[gcn.train]\nepochs = 1\nlr = 0.01\n")
                .unwrap();
        let models = ModelsConfig::from_table(&table).unwrap();
        assert_eq!(models.names(), ["gcn"]);
        assert_eq!(models.to_table(), {
            let mut t = table.clone();
            let train = t["gcn"]["train"].as_table().unwrap().clone();
            let mut train = train;
            train.insert("weight_decay".into(), 0.0.into());
            train.insert("grad_clip".into(), 0.0.into());
            t["gcn"]
                .as_table_mut()
                .unwrap()
                .insert("train".into(), train.into());
            t
        });
        // Another model's setting is not this one's.
        let mut wrong = table.clone();
        wrong["gcn"]
            .as_table_mut()
            .unwrap()
            .insert("kappa".into(), 0.9.into());
        let e = ModelsConfig::from_table(&wrong).unwrap_err();
        assert_eq!(e.key.to_string(), "gcn.kappa");
        assert!(e.why.contains("unknown field `kappa`"), "{e}");
        let unknown: toml::Table = toml::from_str("[sage]\nhidden = 2\n").unwrap();
        let e = ModelsConfig::from_table(&unknown).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("sage: unknown model `sage`, expected one of `gcn`"),
            "{e}"
        );
        assert!(models
            .check("ignn")
            .unwrap_err()
            .why
            .contains("no [models.ignn] section"));
    }

    #[test]
    fn a_variant_section_defaults_to_its_base_section() {
        use crate::energy::variants::NodeWiseEnergy;
        let base = "hidden = 4\nmessage_widths = [4, 4]\nupdate_widths = [1]\n\
                    activation = \"softplus-squared\"\nbeta = 0.01\nsolver = \"newton\"\n\
                    linear_solver = \"cholesky\"\nstep = 0.05\ntol = 1e-8\nmax_iter = 200\n\
                    cg_tol = 1e-10\ncg_max_iter = 2000\nnewton_forcing_max = 0.01\n\
                    async_step_scale = 1.0\n";
        let name = NodeWiseEnergy::NAME;
        let text = format!(
            "[energy]\n{base}[energy.train]\nepochs = 3\nlr = 0.01\n\
             [{name}]\nbeta = 0.5\n[{name}.train]\nepochs = 7\n"
        );
        let models = ModelsConfig::from_table(&toml::from_str(&text).unwrap()).unwrap();
        let variant = models.to_table()[name].as_table().unwrap().clone();
        let energy = models.to_table()["energy"].as_table().unwrap().clone();
        for (key, value) in &energy {
            match key.as_str() {
                "beta" => assert_eq!(variant[key].as_float(), Some(0.5)),
                "train" => {
                    assert_eq!(variant[key]["epochs"].as_integer(), Some(7));
                    assert_eq!(variant[key]["lr"].as_float(), Some(0.01));
                }
                _ => assert_eq!(&variant[key], value, "{key}"),
            }
        }
        // Without the base section, the variant's own section must be complete.
        let alone: toml::Table = toml::from_str(&format!("[{name}]\nbeta = 0.5\n")).unwrap();
        let e = ModelsConfig::from_table(&alone).unwrap_err();
        assert!(e.why.contains("missing field"), "{e}");
        // A key of another model is still refused.
        let wrong = text.replace("beta = 0.5", "kappa = 0.5");
        let e = ModelsConfig::from_table(&toml::from_str(&wrong).unwrap()).unwrap_err();
        assert_eq!(e.key.to_string(), format!("{name}.kappa"));
    }
}
