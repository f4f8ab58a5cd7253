//! Where a key is written in `harness.toml`: its line, found by walking the key's parts
//! through the parsed document (never by reading an error message), under the applied
//! profile first.

use super::DEFAULT_PROFILE;
use hogwild_settings::{Key, Part};
use toml::de::{DeTable, DeValue};
use toml::Spanned;

/// Where a setting was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// 1-based line.
    pub line: usize,
    /// Whether it is written under `[profiles.<profile>]` (the profile sets it).
    pub in_profile: bool,
}

/// How far `key` goes into the document: the number of its parts found, and the line of the
/// deepest one.
fn walk(root: &Spanned<DeValue<'_>>, text: &str, key: &Key) -> (usize, usize) {
    let mut at = root;
    let mut depth = 0;
    for part in key.parts() {
        let next = match part {
            Part::Index(i) => match at.get_ref() {
                DeValue::Array(items) => items.get(*i),
                _ => None,
            },
            Part::Name(name) => match at.get_ref() {
                DeValue::Table(table) => table.get(name.as_str()),
                _ => None,
            },
        };
        match next {
            Some(v) => {
                at = v;
                depth += 1;
            }
            None => break,
        }
    }
    let line = text[..at.span().start.min(text.len())]
        .matches('\n')
        .count()
        + 1;
    (depth, line)
}

/// The first of `candidates` that is written in full in `text`, and where: under
/// `[profiles.<profile>]` when the profile sets it, else in the file's own tables. When none
/// is written in full (a missing key, or a setting that comes from a default), the first
/// candidate and the line of its deepest written part, if any.
pub fn locate(text: &str, profile: &str, candidates: &[Key]) -> (Key, Option<Location>) {
    let first = candidates.first().cloned().unwrap_or_default();
    let Ok(doc) = DeTable::parse(text) else {
        return (first, None);
    };
    let root = Spanned::new(doc.span(), DeValue::Table(doc.into_inner()));
    let overlay = (profile != DEFAULT_PROFILE).then(|| Key::new().name("profiles").name(profile));
    // (depth beyond any profile prefix, line, in profile) of the best partial match.
    let mut best: Option<(usize, usize, bool)> = None;
    for key in candidates {
        if let Some(prefix) = &overlay {
            let (depth, line) = walk(&root, text, &prefix.clone().join(key));
            if depth == key.parts().len() + 2 {
                return (
                    key.clone(),
                    Some(Location {
                        line,
                        in_profile: true,
                    }),
                );
            }
            if depth > 2 && best.is_none_or(|b| depth - 2 >= b.0) {
                best = Some((depth - 2, line, true));
            }
        }
        let (depth, line) = walk(&root, text, key);
        if depth == key.parts().len() && depth > 0 {
            return (
                key.clone(),
                Some(Location {
                    line,
                    in_profile: false,
                }),
            );
        }
        if depth > 0 && best.is_none_or(|b| depth > b.0) {
            best = Some((depth, line, false));
        }
    }
    (
        first,
        best.map(|(_, line, in_profile)| Location { line, in_profile }),
    )
}

/// `message` with a "did you mean" line when it is serde's "unknown field `x`, expected ..."
/// (or "unknown variant") and one expected name is close to `x`.
pub fn with_suggestion(message: &str) -> String {
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
    use super::*;

    const TEXT: &str = "[async]\ntol = 1e-8\n\n[[tables.t.columns]]\nlabel = \"a\"\n\n[[tables.t.columns]]\nlabel = \"b\"\nasync = { tol = 0.0 }\n\n[profiles.quick.async]\ntol = 2.0\n";

    fn at(candidates: &[&str], profile: &str) -> (String, Option<(usize, bool)>) {
        let keys: Vec<Key> = candidates.iter().map(|&k| Key::from(k)).collect();
        let (key, loc) = locate(TEXT, profile, &keys);
        (key.to_string(), loc.map(|l| (l.line, l.in_profile)))
    }

    #[test]
    fn keys_are_found_by_their_parts() {
        assert_eq!(
            at(&["async.tol"], "full"),
            ("async.tol".into(), Some((2, false)))
        );
        assert_eq!(
            at(&["tables.t.columns[1].async.tol"], "full"),
            ("tables.t.columns[1].async.tol".into(), Some((9, false)))
        );
        // The first candidate written in full wins.
        assert_eq!(
            at(&["tables.t.columns[0].async.tol", "async.tol"], "full"),
            ("async.tol".into(), Some((2, false)))
        );
        // None in full: the first candidate, at its deepest written part.
        assert_eq!(
            at(&["tables.t.columns[0].async.tol"], "full"),
            ("tables.t.columns[0].async.tol".into(), Some((4, false)))
        );
        assert_eq!(at(&["nothing.here"], "full"), ("nothing.here".into(), None));
    }

    #[test]
    fn a_profile_that_sets_a_key_is_where_it_is() {
        assert_eq!(
            at(&["async.tol"], "quick"),
            ("async.tol".into(), Some((12, true)))
        );
        assert_eq!(
            at(&["async.tol"], "full"),
            ("async.tol".into(), Some((2, false)))
        );
    }

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
