//! Column grids: a table's columns generated from lists of values, so a sweep over a
//! setting is a few lines of `harness.toml` instead of one column written out per value.
//!
//! ```toml
//! [tables.asynchrony.grid]
//! column = { dataset = { kind = "chains", length = 20, classes = 2 } }  # what every column shares
//! vary = ["async.staleness_bound", "async.delay"]   # the keys that vary, outermost first
//! products = [                                      # each: every combination of its lists
//!   { "async.staleness_bound" = [1, 5] },
//!   { "async.staleness_bound" = [20, 100], "async.delay" = ["uniform", "max"] },
//! ]
//! label = "B = {async.staleness_bound}{async.delay}"
//! spell = { "async.delay" = { uniform = "", max = ", max delay" } }
//! ```
//!
//! gives the columns `B = 1`, `B = 5`, `B = 20`, `B = 20, max delay`, `B = 100`,
//! `B = 100, max delay`, in that order (the last key of `vary` changes fastest), after any
//! columns written out. A `{key}` in the label is the column's value of that key, as `spell`
//! writes it (as in the file otherwise), or nothing when the column does not set it. The
//! generated columns are exactly the columns written out by hand would be: same labels,
//! settings, config hash and run ids.

use super::profiles;
use super::schema::ColumnConfig;
use hogwild_settings::{InvalidSetting, Key, Part};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A table's column grid (`[tables.NAME.grid]`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Grid {
    /// What every generated column has (a column without `label`).
    pub column: toml::Table,
    /// The keys that vary (dotted, relative to a column), outermost first.
    pub vary: Vec<String>,
    /// Products of value lists: each gives every combination of its keys' values.
    pub products: Vec<BTreeMap<String, Vec<toml::Value>>>,
    /// The label template: `{key}` is the column's value of a varied key.
    pub label: String,
    /// How a value is written in the label, by key and value (default: as in the file).
    #[serde(default)]
    pub spell: BTreeMap<String, BTreeMap<String, String>>,
}

/// How `value` reads in a label: a string without quotes, a number as TOML writes it.
fn plain(value: &toml::Value) -> String {
    match value {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Sets dotted `key` (names only) of `table` to `value`, creating tables on the way. The
/// error says why, without the key (callers name it).
pub fn set(table: &mut toml::Table, key: &Key, value: toml::Value) -> Result<(), String> {
    let whole = "an array's elements cannot be set one by one: set the whole array";
    let parts = key.parts();
    let Some((last, path)) = parts.split_last() else {
        return Err("an empty key".into());
    };
    let mut at = table;
    for part in path {
        let Part::Name(name) = part else {
            return Err(whole.into());
        };
        let entry = at
            .entry(name.clone())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        at = match entry {
            toml::Value::Table(t) => t,
            toml::Value::Array(_) => {
                return Err(format!(
                    "`{name}` is an array, whose elements cannot be set one by one: set the whole array"
                ))
            }
            other => {
                return Err(format!(
                    "`{name}` holds a value ({}), not a table of settings",
                    other.type_str()
                ))
            }
        };
    }
    match last {
        Part::Name(name) => {
            at.insert(name.clone(), value);
            Ok(())
        }
        Part::Index(_) => Err(whole.into()),
    }
}

impl Grid {
    /// The generated columns, in order. Errors name the key under the grid (`products[1]`,
    /// `label`) relative to it.
    pub fn columns(&self) -> Result<Vec<ColumnConfig>, InvalidSetting> {
        let mut columns = vec![];
        for (p, product) in self.products.iter().enumerate() {
            let here = Key::from("products").index(p);
            for key in product.keys() {
                if !self.vary.contains(key) {
                    return Err(InvalidSetting::new(
                        here.clone().name(key.as_str()),
                        "",
                        format!("not one of `vary` ({})", self.vary.join(", ")),
                    ));
                }
            }
            // The combinations, the last varied key fastest.
            let axes: Vec<(&String, &Vec<toml::Value>)> = self
                .vary
                .iter()
                .filter_map(|k| product.get(k).map(|v| (k, v)))
                .collect();
            if let Some((k, _)) = axes.iter().find(|(_, v)| v.is_empty()) {
                return Err(InvalidSetting::new(
                    here.name(k.as_str()),
                    "[]",
                    "a varied key needs at least one value",
                ));
            }
            let count: usize = axes.iter().map(|(_, v)| v.len()).product();
            for n in 0..count {
                let mut column = self.column.clone();
                let mut label = self.label.clone();
                let mut rest = n;
                let mut chosen = vec![];
                for (k, values) in axes.iter().rev() {
                    chosen.push((*k, &values[rest % values.len()]));
                    rest /= values.len();
                }
                for (k, value) in chosen.iter().rev() {
                    set(&mut column, &Key::from(k.as_str()), (*value).clone())
                        .map_err(|why| InvalidSetting::new(here.clone(), "", why))?;
                }
                for k in &self.vary {
                    let spelt = match chosen.iter().find(|(c, _)| *c == k) {
                        Some((_, v)) => self
                            .spell
                            .get(k)
                            .and_then(|s| s.get(&plain(v)))
                            .cloned()
                            .unwrap_or_else(|| plain(v)),
                        None => String::new(),
                    };
                    label = label.replace(&format!("{{{k}}}"), &spelt);
                }
                if let Some(open) = label.find('{') {
                    return Err(InvalidSetting::new(
                        "label",
                        format!("{:?}", self.label),
                        format!(
                            "{:?} is not a placeholder of a varied key ({})",
                            &label[open..],
                            self.vary.join(", ")
                        ),
                    ));
                }
                column.insert("label".into(), toml::Value::String(label));
                let parsed = profiles::deserialize::<ColumnConfig>(column).map_err(|e| {
                    InvalidSetting::new(Key::from("column").join(&e.key), "", e.message)
                })?;
                columns.push(parsed);
            }
        }
        Ok(columns)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(text: &str) -> Grid {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn products_vary_the_last_key_fastest_and_spell_labels() {
        let g = grid(
            r#"
            column = { dataset = { kind = "chains", length = 20, classes = 2 } }
            vary = ["async.staleness_bound", "async.delay"]
            products = [
              { "async.staleness_bound" = [1, 5] },
              { "async.staleness_bound" = [20, 100], "async.delay" = ["uniform", "max"] },
            ]
            label = "B = {async.staleness_bound}{async.delay}"
            spell = { "async.delay" = { uniform = "", max = ", max delay" } }
            "#,
        );
        let columns = g.columns().unwrap();
        let labels: Vec<&str> = columns.iter().map(|c| c.label.as_str()).collect();
        assert_eq!(
            labels,
            [
                "B = 1",
                "B = 5",
                "B = 20",
                "B = 20, max delay",
                "B = 100",
                "B = 100, max delay"
            ]
        );
        assert_eq!(columns[3].async_.staleness_bound, Some(20));
        assert_eq!(columns[3].async_.delay, Some(hogwild_sim::Delay::Max));
        assert_eq!(columns[2].async_.delay, Some(hogwild_sim::Delay::Uniform));
        assert_eq!(columns[0].async_.delay, None);
    }

    #[test]
    fn mistakes_are_named_by_their_key() {
        let bad = |text: &str| grid(text).columns().unwrap_err().to_string();
        let base = r#"column = { dataset = { kind = "chains", length = 20, classes = 2 } }
            vary = ["dataset.length"]
            label = "l = {dataset.length}""#;
        assert!(bad(&format!(
            "{base}\nproducts = [{{ \"dataset.lenght\" = [1] }}]"
        ))
        .starts_with("products[0].\"dataset.lenght\": not one of `vary`"));
        assert!(bad(&format!(
            "{base}\nproducts = [{{ \"dataset.length\" = [] }}]"
        ))
        .contains("at least one value"));
        let e = bad(&format!(
            "{}\nproducts = [{{ \"dataset.length\" = [\"ten\"] }}]",
            base
        ));
        assert!(e.starts_with("column.dataset"), "{e}");
        let typo = base.replace("{dataset.length}", "{dataset.len}");
        assert!(bad(&format!(
            "{typo}\nproducts = [{{ \"dataset.length\" = [3] }}]"
        ))
        .contains("\"{dataset.len}\" is not a placeholder"));
    }

    /// The asynchrony sweep written out column by column.
    const WRITTEN_OUT: &str = r#"columns = [
  { label = "B = 1", async = { staleness_bound = 1 }, dataset = { kind = "chains", length = 20, classes = 2 }, paper = { gcn-sync = [57.5, 0.0], gcn-async = [56.9, 1.7], ignn-async = [100.0, 0.0] } },
  { label = "B = 5", async = { staleness_bound = 5 }, dataset = { kind = "chains", length = 20, classes = 2 }, paper = { gcn-sync = [57.5, 0.0], gcn-async = [56.9, 1.7], ignn-async = [100.0, 0.0] } },
  { label = "B = 20", async = { staleness_bound = 20 }, dataset = { kind = "chains", length = 20, classes = 2 }, paper = { gcn-sync = [57.5, 0.0], gcn-async = [56.9, 1.7], ignn-async = [100.0, 0.0] } },
  { label = "B = 20, max delay", async = { staleness_bound = 20, delay = "max" }, dataset = { kind = "chains", length = 20, classes = 2 }, paper = { gcn-sync = [57.5, 0.0], gcn-async = [56.9, 1.7], ignn-async = [100.0, 0.0] } },
  { label = "B = 100", async = { staleness_bound = 100 }, dataset = { kind = "chains", length = 20, classes = 2 }, paper = { gcn-sync = [57.5, 0.0], gcn-async = [56.9, 1.7], ignn-async = [100.0, 0.0] } },
  { label = "B = 100, max delay", async = { staleness_bound = 100, delay = "max" }, dataset = { kind = "chains", length = 20, classes = 2 }, paper = { gcn-sync = [57.5, 0.0], gcn-async = [56.9, 1.7], ignn-async = [100.0, 0.0] } },
  { label = "l = 100, B = 20", async = { staleness_bound = 20 }, dataset = { kind = "chains", length = 100, classes = 2 }, paper = { gcn-sync = [51.5, 0.0], gcn-async = [50.9, 0.1], ignn-async = [93.3, 1.1] } },
  { label = "l = 100, B = 1 round", async = { staleness_bound = 1, staleness_unit = "rounds" }, dataset = { kind = "chains", length = 100, classes = 2 }, paper = { gcn-sync = [51.5, 0.0], gcn-async = [50.9, 0.1], ignn-async = [93.3, 1.1] } },
]
"#;

    #[test]
    fn the_committed_asynchrony_grid_gives_the_columns_written_out() {
        let config = crate::config::Config::parse(
            include_str!("../../../../harness.toml"),
            std::path::Path::new("harness.toml"),
            crate::config::DEFAULT_PROFILE,
        )
        .unwrap();
        let generated = &config.tables["asynchrony"].columns;
        let written: toml::Table = toml::from_str(WRITTEN_OUT).unwrap();
        let written: Vec<ColumnConfig> = written["columns"].clone().try_into().unwrap();
        assert_eq!(generated.len(), written.len());
        for (g, w) in generated.iter().zip(&written) {
            assert_eq!(g.label, w.label);
            assert_eq!(g.dataset, w.dataset);
            assert_eq!(g.paper, w.paper);
            assert_eq!(g.featureless, w.featureless);
            // The same asynchrony model (a written `delay = "uniform"` is the default).
            assert_eq!(
                g.async_.apply(&config.async_),
                w.async_.apply(&config.async_),
                "{}",
                g.label
            );
        }
    }

    #[test]
    fn setting_inside_an_array_or_a_value_says_what_it_is() {
        let mut doc: toml::Table = toml::from_str("a = { b = [1, 2], c = 3 }").unwrap();
        let key = Key::from;
        assert_eq!(
            set(&mut doc, &key("a.b[0].x"), toml::Value::Integer(1)).unwrap_err(),
            "`b` is an array, whose elements cannot be set one by one: set the whole array"
        );
        assert_eq!(
            set(&mut doc, &key("a.c.x"), toml::Value::Integer(1)).unwrap_err(),
            "`c` holds a value (integer), not a table of settings"
        );
        set(&mut doc, &key("a.d.e"), toml::Value::Integer(4)).unwrap();
        assert_eq!(doc["a"]["d"]["e"].as_integer(), Some(4));
    }
}
