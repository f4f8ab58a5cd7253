//! The TU reader on arbitrary files: every input gives an error or a valid dataset, never a
//! panic, and never an allocation beyond the memory budget.

use hogwild_datasets::{tu, Task};
use hogwild_graph::Targets;
use hogwild_settings::MemoryBudget;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};

/// One line of a data file: numbers in and around the valid ranges, pairs, garbage.
fn line() -> impl Strategy<Value = String> {
    prop_oneof![
        (-2i64..12).prop_map(|n| n.to_string()),
        ((-1i64..14), (-1i64..14)).prop_map(|(a, b)| format!("{a}, {b}")),
        Just(String::new()),
        Just("x".to_string()),
        Just("99999999999999999999".to_string()),
        Just("1, 2, 3".to_string()),
        Just(" 3 ,4 ".to_string()),
        any::<u8>().prop_map(|b| String::from_utf8_lossy(&[b]).into_owned()),
    ]
}

/// A file's text, or no file.
fn file() -> impl Strategy<Value = Option<String>> {
    prop::option::of(prop::collection::vec(line(), 0..16).prop_map(|v| v.join("\n")))
}

const NAMES: [&str; 5] = [
    "A",
    "graph_indicator",
    "graph_labels",
    "node_labels",
    "edge_labels",
];

/// A valid dataset of two graphs (a triangle and an edge), every file present.
fn toy() -> Vec<Vec<String>> {
    let text = [
        "1, 2\n2, 1\n2, 3\n3, 2\n1, 3\n3, 1\n4, 5\n5, 4",
        "1\n1\n1\n2\n2",
        "-1\n1",
        "0\n3\n0\n3\n3",
        "1\n1\n0\n0\n1\n1\n2\n2",
    ];
    text.iter()
        .map(|t| t.lines().map(str::to_string).collect())
        .collect()
}

/// One edit of one line of one file: replace it, delete it, or repeat it.
fn edit() -> impl Strategy<Value = (usize, usize, u8, String)> {
    (0..NAMES.len(), 0..10usize, 0..3u8, line())
}

fn load(files: &[Option<String>]) -> Result<hogwild_datasets::Dataset, String> {
    let data = tempfile::tempdir().unwrap();
    let root = tu::dir(data.path(), "P");
    std::fs::create_dir_all(&root).unwrap();
    for (name, text) in NAMES.iter().zip(files) {
        if let Some(text) = text {
            std::fs::write(root.join(format!("P_{name}.txt")), text).unwrap();
        }
    }
    tu::load_within(data.path(), "P", None, &MemoryBudget::of(1 << 20)).map_err(|e| e.to_string())
}

/// What a loaded dataset must be.
fn assert_valid(d: &hogwild_datasets::Dataset) {
    let Task::Classification { classes } = d.task else {
        panic!("TU datasets are classification")
    };
    assert!(classes >= 2);
    assert!(!d.samples.is_empty());
    for s in &d.samples {
        let n = s.graph.n_nodes();
        assert!(n >= 1);
        assert!(s.graph.is_symmetric());
        assert_eq!(s.features.nrows(), n);
        assert_eq!(s.features.ncols(), d.feature_dim());
        let Targets::Classes(c) = &s.targets else {
            panic!("class targets")
        };
        assert_eq!(c.len(), n);
        assert!(c.iter().all(|&k| k < classes));
    }
}

fn config() -> Config {
    Config {
        cases: 256,
        rng_seed: RngSeed::Fixed(23),
        failure_persistence: None,
        ..Config::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_files_give_an_error_or_a_valid_dataset(
        a in file(), indicator in file(), labels in file(), nodes in file(), edges in file()
    ) {
        if let Ok(d) = load(&[a, indicator, labels, nodes, edges]) {
            assert_valid(&d);
        }
    }

    #[test]
    fn edited_valid_files_give_an_error_or_a_valid_dataset(
        edits in prop::collection::vec(edit(), 1..4),
        drop_optional in any::<bool>(),
    ) {
        let mut files = toy();
        for (f, at, kind, text) in edits {
            let lines = &mut files[f];
            let at = at % (lines.len() + 1);
            match kind {
                0 if at < lines.len() => lines[at] = text,
                1 if at < lines.len() => {
                    lines.remove(at);
                }
                _ => lines.insert(at, text),
            }
        }
        let mut texts: Vec<Option<String>> = files.iter().map(|l| Some(l.join("\n"))).collect();
        if drop_optional {
            texts[4] = None;
        }
        if let Ok(d) = load(&texts) {
            assert_valid(&d);
        }
    }
}

#[test]
fn the_unedited_toy_is_valid() {
    let texts: Vec<Option<String>> = toy().iter().map(|l| Some(l.join("\n"))).collect();
    assert_valid(&load(&texts).unwrap());
}
