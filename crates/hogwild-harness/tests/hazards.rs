//! What a careful user or a hostile setup does to an output directory, through the command
//! line: merging into one of the merged shards, a second process on the same `--out`,
//! links planted where files are written, an unusable `--out`, and file permissions. Each
//! must neither lose nor mislabel a result.

use hogwild_harness::outdir::OutputDir;
use hogwild_harness::report::DETERMINISTIC_FILES;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn harness_toml() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../harness.toml")
}

/// `hogwild <sub> --profile quick --table chains --config harness.toml`, in `cwd`.
fn hogwild(sub: &str, cwd: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_hogwild"));
    c.current_dir(cwd)
        .args([sub, "--profile", "quick", "--table", "chains", "--config"])
        .arg(harness_toml());
    c
}

fn ok(mut c: Command) -> Output {
    let o = c.output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    o
}

fn refused(mut c: Command) -> String {
    let o = c.output().unwrap();
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stderr).unwrap()
}

/// Every record file under `dir/chains/records`, with its bytes.
fn records(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut v: Vec<_> = std::fs::read_dir(dir.join("chains/records"))
        .map(|d| {
            d.map(|e| {
                let p = e.unwrap().path();
                let bytes = std::fs::read(&p).unwrap();
                (p, bytes)
            })
            .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn merging_into_one_of_the_shards_loses_no_record() {
    let root = tempfile::tempdir().unwrap();
    for k in 0..3 {
        let mut c = hogwild("run", root.path());
        c.args(["--shard", &format!("{k}/3"), "-j", "1", "--out"])
            .arg(format!("shards/{k}"));
        ok(c);
    }
    let before = records(&root.path().join("shards/0"));
    assert!(!before.is_empty());
    // The same directory spelt two ways, as output and as input.
    for _ in 0..2 {
        let mut c = hogwild("merge", root.path());
        c.args(["--out", "shards/0", "./shards/0", "shards/1", "shards/2"]);
        ok(c);
    }
    let after = records(&root.path().join("shards/0"));
    for (path, bytes) in &before {
        let now = &after.iter().find(|(p, _)| p == path).expect("kept").1;
        assert!(!bytes.is_empty());
        assert_eq!(now, bytes, "{} changed", path.display());
    }
    // The tables are the ones a merge into a fresh directory makes.
    let mut c = hogwild("merge", root.path());
    c.args(["--out", "fresh", "shards/0", "shards/1", "shards/2"]);
    ok(c);
    for f in DETERMINISTIC_FILES {
        assert_eq!(
            std::fs::read(root.path().join("shards/0/chains").join(f)).unwrap(),
            std::fs::read(root.path().join("fresh/chains").join(f)).unwrap(),
            "{f}"
        );
    }
    assert_eq!(records(&root.path().join("fresh")).len(), after.len());
    // A shard that a running process still writes is not merged.
    let _writer = OutputDir::open(&root.path().join("shards/1"), &[]).unwrap();
    let mut c = hogwild("merge", root.path());
    c.args(["--out", "other", "shards/0", "shards/1", "shards/2"]);
    let err = refused(c);
    assert!(
        err.contains("shards/1 is still being written by hogwild process"),
        "{err}"
    );
    assert!(
        !root.path().join("other").exists(),
        "a refused merge writes nothing"
    );
}

#[test]
fn a_second_process_on_one_output_directory_is_refused_before_running() {
    let root = tempfile::tempdir().unwrap();
    let out = root.path().join("out");
    let holder = OutputDir::open(&out, &[]).unwrap();
    let mut c = hogwild("reproduce", root.path());
    c.arg("--out").arg(&out);
    let err = refused(c);
    assert!(
        err.contains("is in use by hogwild process")
            && err.contains(&std::process::id().to_string())
            && err.contains("choose another --out"),
        "{err}"
    );
    assert!(!err.contains("[hogwild] done"), "no run may start: {err}");
    assert!(records(&out).is_empty());
    drop(holder);
    let mut c = hogwild("reproduce", root.path());
    c.arg("--out").arg(&out);
    ok(c);
    assert!(out.join("chains/table.md").is_file());
}

#[cfg(unix)]
#[test]
fn planted_links_are_never_written_through_and_files_share_permissions() {
    use std::os::unix::fs::{symlink, PermissionsExt};
    let root = tempfile::tempdir().unwrap();
    let out = root.path().join("out");
    let table = out.join("chains");
    std::fs::create_dir_all(&table).unwrap();
    let victims: Vec<PathBuf> = (0..3)
        .map(|i| root.path().join(format!("victim{i}")))
        .collect();
    for v in &victims {
        std::fs::write(v, "precious").unwrap();
    }
    // The temporary name an earlier version used, the final name, and a stale temporary.
    symlink(&victims[0], table.join(".table.md.tmp")).unwrap();
    symlink(&victims[1], table.join("table.md")).unwrap();
    symlink(&victims[2], table.join(".hogwild-tmp-planted")).unwrap();
    let mut c = hogwild("reproduce", root.path());
    c.arg("--out").arg(&out);
    ok(c);
    for v in &victims {
        assert_eq!(
            std::fs::read_to_string(v).unwrap(),
            "precious",
            "{}",
            v.display()
        );
    }
    let md = std::fs::symlink_metadata(table.join("table.md")).unwrap();
    assert!(md.file_type().is_file());
    assert!(
        !table.join(".hogwild-tmp-planted").exists(),
        "stale temporaries are removed"
    );
    // Records and tables get the same permissions.
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let record = &records(&out)[0].0;
    assert_eq!(mode(record), mode(&table.join("table.md")));
    assert_eq!(mode(record), mode(&table.join("runs.parquet")));
}

#[test]
fn an_unusable_output_directory_is_refused_before_any_run() {
    let root = tempfile::tempdir().unwrap();
    let file = root.path().join("results");
    std::fs::write(&file, "not a directory").unwrap();
    let mut c = hogwild("reproduce", root.path());
    c.arg("--out").arg(&file);
    let err = refused(c);
    assert!(
        err.contains("--out") && err.contains("results: not a directory"),
        "{err}"
    );
    assert!(!err.contains("[hogwild] done"), "{err}");
    // A table's directory taken by a file.
    let out = root.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("chains"), "x").unwrap();
    let mut c = hogwild("reproduce", root.path());
    c.arg("--out").arg(&out);
    let err = refused(c);
    assert!(err.contains("out/chains: not a directory"), "{err}");
    assert!(!err.contains("[hogwild] done"), "{err}");
    // Each error names its path once.
    assert_eq!(err.matches("out/chains").count(), 1, "{err}");
}
