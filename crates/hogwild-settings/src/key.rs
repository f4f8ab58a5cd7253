//! Dotted keys (`tables.chains.columns[1].async.tol`), kept as parts so that a key can be
//! looked up in a TOML document without parsing any message text.

use std::fmt;

/// One step of a [`Key`]: a table key or an array index.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Part {
    /// A table key (any string: TOML allows quoted keys).
    Name(String),
    /// An index into an array (of tables).
    Index(usize),
}

/// A key path into a settings document.
///
/// ```
/// use hogwild_settings::{Key, Part};
/// let k = Key::from("tables.chains.columns[1].async");
/// assert_eq!(k.parts()[3], Part::Index(1));
/// assert_eq!(k.to_string(), "tables.chains.columns[1].async");
/// // Names that are not bare TOML keys are quoted, so a hostile name cannot pass for a path.
/// assert_eq!(Key::new().name("tables").name("../x").to_string(), "tables.\"../x\"");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key(Vec<Part>);

impl Key {
    /// The empty key (the document itself).
    pub fn new() -> Key {
        Key(vec![])
    }

    /// This key followed by the table key `name` (taken literally: dots are not split).
    pub fn name(mut self, name: impl Into<String>) -> Key {
        self.0.push(Part::Name(name.into()));
        self
    }

    /// This key followed by the array index `i`.
    pub fn index(mut self, i: usize) -> Key {
        self.0.push(Part::Index(i));
        self
    }

    /// This key followed by `other`.
    pub fn join(mut self, other: &Key) -> Key {
        self.0.extend(other.0.iter().cloned());
        self
    }

    /// The parts, outermost first.
    pub fn parts(&self) -> &[Part] {
        &self.0
    }

    /// Whether the key has no parts.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Parses a dotted key written by code (`"train.lr"`, `"columns[2].async"`): names split at
/// dots, `[i]` suffixes become indices. Names with dots must be built with [`Key::name`].
impl From<&str> for Key {
    fn from(dotted: &str) -> Key {
        let mut key = Key::new();
        if dotted.is_empty() {
            return key;
        }
        for segment in dotted.split('.') {
            let (name, mut rest) = match segment.find('[') {
                Some(at) => segment.split_at(at),
                None => (segment, ""),
            };
            if !name.is_empty() {
                key = key.name(name);
            }
            while let Some(inner) = rest.strip_prefix('[') {
                let Some((index, after)) = inner.split_once(']') else {
                    break;
                };
                match index.parse() {
                    Ok(i) => key = key.index(i),
                    Err(_) => key = key.name(index),
                }
                rest = after;
            }
        }
        key
    }
}

impl From<String> for Key {
    fn from(dotted: String) -> Key {
        Key::from(dotted.as_str())
    }
}

impl From<&Key> for Key {
    fn from(key: &Key) -> Key {
        key.clone()
    }
}

fn is_bare(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, part) in self.0.iter().enumerate() {
            match part {
                Part::Index(j) => write!(f, "[{j}]")?,
                Part::Name(name) => {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    if is_bare(name) {
                        f.write_str(name)?;
                    } else {
                        write!(f, "{name:?}")?;
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotted_keys_round_trip() {
        for text in [
            "a",
            "models.gcn.train.lr",
            "tables.t.columns[0].dataset.length",
            "m[1][2].x",
        ] {
            assert_eq!(Key::from(text).to_string(), text);
        }
        assert_eq!(Key::from("").to_string(), "");
        assert!(Key::from("").is_empty());
        let k = Key::from("a.b").join(&Key::from("c[3]"));
        assert_eq!(
            k.parts(),
            &[
                Part::Name("a".into()),
                Part::Name("b".into()),
                Part::Name("c".into()),
                Part::Index(3)
            ]
        );
    }

    #[test]
    fn names_that_are_not_bare_keys_are_quoted() {
        let k = Key::new().name("tables").name("a\nb").name("title");
        assert_eq!(k.to_string(), "tables.\"a\\nb\".title");
    }
}
