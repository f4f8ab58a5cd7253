//! The config loader on arbitrarily edited configs: every edit of the committed
//! `harness.toml` gives an error or a config that loads, never a panic, a hang or an
//! allocation beyond the memory budget.

use hogwild_harness::config::Config;
use hogwild_settings::MemoryBudget;
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, RngSeed};
use std::path::Path;

const HARNESS: &str = include_str!("../../../harness.toml");

/// Values a setting may be edited to: in and around every range, of every type.
const VALUES: [&str; 19] = [
    "0",
    "1",
    "-1",
    "2",
    "3",
    "1000000000",
    "9223372036854775807",
    "nan",
    "inf",
    "-inf",
    "1e308",
    "0.5",
    "1e-9",
    "\"x\"",
    "\"../x\"",
    "[]",
    "[0, 0]",
    "{}",
    "true",
];

/// Edit `kind` at `at`: 0 (and 1) replace what follows the first ` = ` of the `at`-th line
/// that has one, up to a `,`, `#` or `}`, by `VALUES[value]` (a value, or an inline table cut
/// short); 2 deletes line `at`, 3 repeats it.
fn apply(text: &str, edits: &[(usize, u8, usize)]) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    for &(at, kind, value) in edits {
        match kind {
            0 | 1 => {
                let settings: Vec<usize> = (0..lines.len())
                    .filter(|&i| lines[i].contains(" = "))
                    .collect();
                let at = settings[at % settings.len()];
                let line = &lines[at];
                let eq = line.find(" = ").expect("a setting");
                let start = eq + 3;
                let end = line[start..]
                    .find([',', '#', '}'])
                    .map_or(line.len(), |e| start + e);
                lines[at] = format!("{}{} {}", &line[..start], VALUES[value], &line[end..]);
            }
            2 => {
                lines.remove(at % lines.len());
            }
            _ => {
                let at = at % lines.len();
                let line = lines[at].clone();
                lines.insert(at, line);
            }
        }
    }
    lines.join("\n")
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 256,
        rng_seed: RngSeed::Fixed(23),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn edited_configs_load_or_fail_cleanly(
        edits in prop::collection::vec((0..10_000usize, 0..4u8, 0..VALUES.len()), 1..4),
        quick in any::<bool>(),
    ) {
        let text = apply(HARNESS, &edits);
        let profile = if quick { "quick" } else { "full" };
        match Config::parse_within(&text, Path::new("h.toml"), profile, MemoryBudget::of(64 << 20)) {
            Ok(config) => prop_assert!(!config.tables.is_empty()),
            Err(e) => {
                let message = e.to_string();
                prop_assert!(message.starts_with("h.toml"), "{}", message);
            }
        }
    }
}

#[test]
fn edits_change_what_they_say() {
    let text = apply(
        "a = 1 # c\n[t]\nb = { x = 2, y = 3 }\n",
        &[(0, 0, 7), (1, 1, 2)],
    );
    assert_eq!(text, "a = nan # c\n[t]\nb = -1 , y = 3 }");
    assert_eq!(apply("a\nb", &[(0, 2, 0), (0, 3, 0)]), "b\nb");
}
