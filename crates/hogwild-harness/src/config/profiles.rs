//! Overlays: a profile (`[profiles.NAME]`) over the whole file, and a table's
//! `model_settings` over `[models]`, both deep-merged and deserialised with the path of any
//! error, so that a mistake inside an overlay is named by its key and line like any other.

use hogwild_settings::Key;
use serde::de::DeserializeOwned;

/// Tables that an overlay replaces whole rather than merges: maps over a table's models,
/// so that a profile that narrows `models` can narrow them too, and a distributed
/// experiment's `paper` values, aligned with its `epochs`, and `paper_references`, which a
/// profile that changes the settings should be able to drop, and an AMP table's `paper` and
/// `reference` cells, aligned with its columns.
const REPLACED_WHOLE: &[&str] = &["model_orderings", "paper", "paper_references", "reference"];

/// Merges `overlay` into `base`: tables merge key by key (but those named in
/// [`REPLACED_WHOLE`]), anything else replaces.
pub fn merge(base: &mut toml::Table, overlay: &toml::Table) {
    for (k, v) in overlay {
        match (base.get_mut(k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o))
                if !REPLACED_WHOLE.contains(&k.as_str()) =>
            {
                merge(b, o)
            }
            _ => {
                base.insert(k.clone(), v.clone());
            }
        }
    }
}

/// Why a merged document does not fit its schema: the key where deserialisation failed
/// (the table that lacks a field, the key of a wrong value) and the message.
#[derive(Debug, Clone, PartialEq)]
pub struct SchemaError {
    /// The key.
    pub key: Key,
    /// The deserialiser's message, with a "did you mean" where one fits.
    pub message: String,
}

/// `doc` as a `T`, or where and why it does not fit.
pub fn deserialize<T: DeserializeOwned>(doc: toml::Table) -> Result<T, SchemaError> {
    serde_path_to_error::deserialize(toml::Value::Table(doc)).map_err(|e| {
        let mut key = Key::new();
        for segment in e.path().iter() {
            key = match segment {
                serde_path_to_error::Segment::Seq { index } => key.index(*index),
                serde_path_to_error::Segment::Map { key: name } => key.name(name.as_str()),
                serde_path_to_error::Segment::Enum { .. }
                | serde_path_to_error::Segment::Unknown => key,
            };
        }
        SchemaError {
            key,
            message: super::locate::with_suggestion(e.inner().message().trim_end()),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        title: String,
        n: usize,
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Outer {
        tables: std::collections::BTreeMap<String, Inner>,
        list: Vec<Inner>,
    }

    fn error(text: &str) -> (String, String) {
        let doc: toml::Table = toml::from_str(text).unwrap();
        let e = deserialize::<Outer>(doc).unwrap_err();
        (e.key.to_string(), e.message)
    }

    #[test]
    fn errors_carry_the_key_where_they_happen() {
        let (key, message) = error("list = []\n[tables.a]\nn = 1\n");
        assert_eq!(key, "tables.a");
        assert!(message.contains("missing field `title`"), "{message}");
        let (key, message) = error("list = [{ title = \"x\", n = -1 }]\ntables = {}\n");
        assert_eq!(key, "list[0].n");
        assert!(message.contains("-1"), "{message}");
        let (key, message) = error("list = []\n[tables.a]\ntitle = \"t\"\nn = 1\ntitel = 2\n");
        assert_eq!(key, "tables.a.titel");
        assert!(message.contains("did you mean `title`?"), "{message}");
    }

    #[test]
    fn overlays_merge_tables_and_replace_values() {
        let mut base: toml::Table = toml::from_str("a = 1\n[t]\nx = 1\ny = [1, 2]\n").unwrap();
        let overlay: toml::Table = toml::from_str("[t]\ny = [3]\nz = 4\n").unwrap();
        merge(&mut base, &overlay);
        assert_eq!(
            base,
            toml::from_str::<toml::Table>("a = 1\n[t]\nx = 1\ny = [3]\nz = 4\n").unwrap()
        );
        // A table's orderings per model are replaced whole, so they can lose models.
        let mut base: toml::Table =
            toml::from_str("[t]\nmodels = [\"a\", \"b\"]\nmodel_orderings = { a = 1, b = 2 }\n")
                .unwrap();
        let overlay: toml::Table =
            toml::from_str("[t]\nmodels = [\"a\"]\nmodel_orderings = { a = 3 }\n").unwrap();
        merge(&mut base, &overlay);
        assert_eq!(
            base,
            toml::from_str::<toml::Table>("[t]\nmodels = [\"a\"]\nmodel_orderings = { a = 3 }\n")
                .unwrap()
        );
    }
}
