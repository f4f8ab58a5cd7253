//! Overlays: a profile (`[profiles.NAME]`) over the whole file, and a table's
//! `model_settings` over `[models]`, both deep-merged and deserialised with the path of any
//! error, so that a mistake inside an overlay is named by its key and line like any other.

use hogwild_settings::{Key, Part};
use serde::de::DeserializeOwned;
use std::collections::{BTreeMap, BTreeSet};

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

/// Resolves every GNN table written `like` another (`[tables.iclr-async] like =
/// "iclr-sync"`): the table becomes the other one as written (after any profile and
/// override), with its own keys merged over it, so two tables that share their columns and
/// recipes but not their protocol are written once. One level: the other table may not be
/// `like` a third. Errors give the `like` key, its value and why.
pub fn resolve_likes(doc: &mut toml::Table) -> Result<(), (Key, String, String)> {
    let Some(toml::Value::Table(tables)) = doc.get_mut("tables") else {
        return Ok(());
    };
    let written = tables.clone();
    for (name, table) in tables.iter_mut() {
        let toml::Value::Table(own) = table else {
            continue;
        };
        let Some(like) = own.remove("like") else {
            continue;
        };
        let at = Key::new().name("tables").name(name.as_str()).name("like");
        let Some(other) = like.as_str() else {
            return Err((
                at,
                like.to_string(),
                "must be the name of another [tables.NAME]".into(),
            ));
        };
        let why = match written.get(other) {
            _ if other == name => Some("a table cannot be like itself".to_string()),
            Some(toml::Value::Table(t)) if t.contains_key("like") => Some(format!(
                "[tables.{other}] is itself like another table: name that one (one level only)"
            )),
            Some(toml::Value::Table(_)) => None,
            _ => Some(format!(
                "no [tables.{other}]; tables: {}",
                written.keys().cloned().collect::<Vec<_>>().join(", ")
            )),
        };
        if let Some(why) = why {
            return Err((at, format!("{other:?}"), why));
        }
        let Some(toml::Value::Table(base)) = written.get(other) else {
            unreachable!("checked above");
        };
        let mut resolved = base.clone();
        merge(&mut resolved, own);
        *own = resolved;
    }
    Ok(())
}

/// The tables of `doc` written `like` another ([`resolve_likes`]): by name, the other
/// table's name and the keys the table writes itself.
pub fn likes(doc: &toml::Table) -> BTreeMap<String, Like> {
    let Some(tables) = doc.get("tables").and_then(toml::Value::as_table) else {
        return BTreeMap::new();
    };
    tables
        .iter()
        .filter_map(|(name, t)| {
            let t = t.as_table()?;
            // Not a name: kept, so that resolve_likes names the mistake.
            let like = t.get("like")?;
            let like = like
                .as_str()
                .map_or_else(|| like.to_string(), str::to_string);
            let own = t.keys().filter(|k| *k != "like").cloned().collect();
            Some((name.clone(), Like { like, own }))
        })
        .collect()
}

/// A table written `like` another.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Like {
    /// The other table.
    pub like: String,
    /// The keys the table writes itself (the rest is the other table's).
    pub own: BTreeSet<String>,
}

impl Like {
    /// `key` (under `[tables.NAME]`, this table), or the other table's same key where the
    /// setting is inherited from it: where it is written.
    pub fn written_at(&self, name: &str, key: &Key) -> Key {
        match key.parts() {
            [Part::Name(t), Part::Name(n), Part::Name(first), rest @ ..]
                if t == "tables" && n == name && !self.own.contains(first) =>
            {
                let mut k = Key::new()
                    .name("tables")
                    .name(self.like.as_str())
                    .name(first.as_str());
                for part in rest {
                    k = match part {
                        Part::Name(p) => k.name(p.as_str()),
                        Part::Index(i) => k.index(*i),
                    };
                }
                k
            }
            _ => key.clone(),
        }
    }
}
