//! AMP's Table 4 (`[amp.amp-tu]`) end to end on a small TU fixture: the same files with one
//! and two threads, a restarted run that takes every job from its record (and recomputes a
//! damaged one) with the same files, and a missing dataset refused before any job runs.

use std::path::Path;
use std::process::{Command, Output};

mod common;
use common::toy_files;

const HARNESS: &str = include_str!("../../../harness.toml");
const DATA_DIR_LINE: &str = r#"data_dir = "datasets/data""#;
const FILES: [&str; 4] = ["table.md", "table.csv", "runs.csv", "curves.parquet"];

/// A directory with `harness.toml` (the committed one plus a `toy` profile whose `amp-tu`
/// reads TOY, dataset name `name`) and `data/TU/TOY/`.
fn workspace(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("data/TU/TOY");
    std::fs::create_dir_all(&root).unwrap();
    for (suffix, text) in toy_files() {
        std::fs::write(root.join(format!("TOY_{suffix}.txt")), text).unwrap();
    }
    let config = HARNESS.replacen(DATA_DIR_LINE, r#"data_dir = "data""#, 1)
        + &format!(
            r#"
[profiles.toy.amp.amp-tu]
epochs = 4
paper = {{ amp-rnn = [[90.4, 4.1]] }}
reference = {{}}
tu = {{ folds = 3, halve_every = 2, budgets = [3], message_sizes = ["H/2", "3"], skip_readout = [false, true], datasets = [{{ label = "TOY", name = "{name}", hidden = [4] }}] }}
"#
        );
    std::fs::write(dir.path().join("harness.toml"), config).unwrap();
    dir
}

fn reproduce(dir: &Path, out: &str, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hogwild"))
        .args([
            "reproduce",
            "--profile",
            "toy",
            "--table",
            "amp-tu",
            "--config",
        ])
        .arg(dir.join("harness.toml"))
        .arg("--out")
        .arg(dir.join(out))
        .args(extra)
        .output()
        .unwrap()
}

fn ok(o: &Output) {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

fn files(dir: &Path, out: &str) -> Vec<Vec<u8>> {
    FILES
        .iter()
        .map(|f| std::fs::read(dir.join(out).join("amp-tu").join(f)).unwrap())
        .collect()
}

fn record(dir: &Path, out: &str) -> String {
    std::fs::read_to_string(dir.join(out).join("amp-tu/record.toml")).unwrap()
}

#[test]
fn the_tu_table_is_deterministic_and_resumes_from_its_job_records() {
    let dir = workspace("TOY");
    let d = dir.path();
    ok(&reproduce(d, "one", &["-j", "1"]));
    ok(&reproduce(d, "two", &["-j", "2"]));
    assert_eq!(files(d, "one"), files(d, "two"), "-j 1 and -j 2 differ");
    let table = String::from_utf8(files(d, "one")[0].clone()).unwrap();
    for needle in [
        "| model | TOY |",
        "AMP-RNN (paper's statistic",
        "AMP-RNN (inner validation",
        "h4-b3-m2-skip",
        "h4-b3-m3",
        "GCN, ours (paper's statistic",
        "GIN, ours (inner validation",
        "| TOY | gat-h4 |",
        "| TOY | 8 (8) |",
    ] {
        assert!(table.contains(needle), "{needle}: {table}");
    }
    insta::assert_snapshot!("toy_amp_tu_table", table);
    // AMP-RNN: 2 message sizes x 2 readouts x 3 folds; GCN, GAT, GIN: 3 folds each.
    assert!(record(d, "one").contains("jobs_from_records = 0"));
    ok(&reproduce(d, "one", &["-j", "2"]));
    assert!(
        record(d, "one").contains("jobs_from_records = 21"),
        "{}",
        record(d, "one")
    );
    assert_eq!(files(d, "one"), files(d, "two"), "a resumed table differs");
    // A damaged record is reported and its job recomputed, to the same numbers.
    let records: Vec<_> = std::fs::read_dir(d.join("one/amp-tu/records"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(records.len(), 21);
    let text = std::fs::read_to_string(&records[0]).unwrap();
    std::fs::write(&records[0], &text[..text.len() / 2]).unwrap();
    let again = reproduce(d, "one", &["-j", "1"]);
    ok(&again);
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(err.contains("recomputing"), "{err}");
    assert!(record(d, "one").contains("jobs_from_records = 20"));
    assert_eq!(files(d, "one"), files(d, "two"), "a recomputed job differs");
    // --force recomputes every job.
    ok(&reproduce(d, "one", &["-j", "2", "--force"]));
    assert!(record(d, "one").contains("jobs_from_records = 0"));
    assert_eq!(files(d, "one"), files(d, "two"));
}

#[test]
fn a_missing_dataset_is_refused_before_any_job_runs() {
    let dir = workspace("NOPE");
    let o = reproduce(dir.path(), "out", &[]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    for needle in [
        "harness.toml",
        "amp.amp-tu.tu.datasets[0].name",
        "\"NOPE\"",
        "NOPE_A.txt",
    ] {
        assert!(err.contains(needle), "error lacks {needle:?}: {err}");
    }
    assert!(!dir.path().join("out/amp-tu/records").exists());
}

#[test]
fn the_record_lists_the_overrides_given() {
    let dir = workspace("TOY");
    let d = dir.path();
    ok(&reproduce(
        d,
        "out",
        &["-j", "1", "--set", "amp.amp-tu.epochs=2"],
    ));
    let record = record(d, "out");
    assert!(
        record.contains(r#"overrides = ["--set amp.amp-tu.epochs=2"]"#),
        "{record}"
    );
}

#[test]
fn datasets_the_filters_or_features_cannot_serve_are_refused_before_any_job_runs() {
    let dir = workspace("TOY");
    let toy = |extra: &str| {
        format!(
            r#"amp.amp-tu.tu.datasets=[{{ label = "TOY", name = "TOY", hidden = [4]{extra} }}]"#
        )
    };
    for (set, needles) in [
        (
            toy(", degree_features = 1"),
            &[
                "amp.amp-tu.tu.datasets[0].degree_features",
                "a node has degree",
            ][..],
        ),
        (
            toy(", max_nodes = 1"),
            &[
                "amp.amp-tu.tu.datasets[0].max_nodes",
                "0 graphs of 8 are left",
            ][..],
        ),
        (
            "amp.amp-tu.tu.folds=9".to_string(),
            &["amp.amp-tu.tu.folds", "TOY keeps only 8 graphs"][..],
        ),
    ] {
        let o = reproduce(dir.path(), "out", &["--set", &set]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{set}");
        for needle in needles {
            assert!(err.contains(needle), "{set}: error lacks {needle:?}: {err}");
        }
        assert!(!dir.path().join("out/amp-tu/records").exists(), "{set}");
    }
}

fn hogwild(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hogwild"))
        .args(args)
        .args(["--profile", "toy", "--table", "amp-tu", "--config"])
        .arg(dir.join("harness.toml"))
        .output()
        .unwrap()
}

#[test]
fn shards_of_the_tu_table_merge_into_the_unsharded_files() {
    let dir = workspace("TOY");
    let d = dir.path();
    ok(&reproduce(d, "whole", &["-j", "2"]));
    let out = |name: &str| d.join(name).to_str().unwrap().to_string();
    for k in 0..2 {
        let shard = format!("{k}/2");
        ok(&hogwild(
            d,
            &[
                "run",
                "--shard",
                &shard,
                "-j",
                "1",
                "--out",
                &out(&format!("s{k}")),
            ],
        ));
    }
    // Each shard recorded some of the 21 jobs and no table.
    let count = |k: usize| {
        std::fs::read_dir(d.join(format!("s{k}/amp-tu/records")))
            .unwrap()
            .count()
    };
    assert_eq!(count(0) + count(1), 21);
    assert!(count(0) > 0 && count(1) > 0);
    assert!(!d.join("s0/amp-tu/table.md").exists());
    // One shard alone is refused, naming what is missing, and writes nothing.
    let refused = hogwild(d, &["merge", "--out", &out("lone"), &out("s0")]);
    assert!(!refused.status.success());
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(
        err.contains("jobs of amp-tu are in none of the shard directories"),
        "{err}"
    );
    assert!(!d.join("lone/amp-tu").exists());
    ok(&hogwild(
        d,
        &["merge", "--out", &out("merged"), &out("s0"), &out("s1")],
    ));
    assert_eq!(
        files(d, "merged"),
        files(d, "whole"),
        "merged shards differ"
    );
    assert!(record(d, "merged").contains("jobs_from_records = 21"));
}
