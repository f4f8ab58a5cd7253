//! Run records through the command line: a sweep killed with SIGKILL resumes without
//! recomputing a finished run and ends with the outputs of an uninterrupted sweep; `--force`
//! recomputes; a damaged record is reported and recomputed, never used.

use hogwild_harness::report::DETERMINISTIC_FILES;
use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const TABLES: [&str; 4] = ["chains", "asynchrony", "counting", "localisation"];

fn harness_toml() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../harness.toml")
}

/// `hogwild reproduce --profile quick` (every table) into `out`, with `extra` arguments.
fn command(out: &Path, extra: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_hogwild"));
    c.args(["reproduce", "--profile", "quick", "--config"])
        .arg(harness_toml())
        .arg("--out")
        .arg(out)
        .args(extra);
    c
}

fn run(out: &Path, extra: &[&str]) -> Output {
    let o = command(out, extra).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    o
}

/// Every record file under `out`, with its inode (a rewrite renames a new file over it).
fn records(out: &Path) -> BTreeMap<PathBuf, u64> {
    let mut found = BTreeMap::new();
    for t in TABLES {
        let Ok(dir) = std::fs::read_dir(out.join(t).join("records")) else {
            continue;
        };
        for e in dir {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "toml") {
                found.insert(p.clone(), std::fs::metadata(&p).unwrap().ino());
            }
        }
    }
    found
}

/// The deterministic outputs of every table are byte-identical in `a` and `b`.
fn assert_same_outputs(a: &Path, b: &Path) {
    for t in TABLES {
        for &f in DETERMINISTIC_FILES.iter().chain(&["folds.csv"]) {
            let (x, y) = (a.join(t).join(f), b.join(t).join(f));
            if !x.exists() && f == "folds.csv" {
                continue;
            }
            assert_eq!(
                std::fs::read(&x).unwrap(),
                std::fs::read(&y).unwrap(),
                "{t}/{f} differs"
            );
        }
    }
}

#[test]
fn a_killed_sweep_resumes_without_recomputing_and_ends_identical() {
    let reference = tempfile::tempdir().unwrap();
    run(reference.path(), &["-j", "2"]);
    let total = records(reference.path()).len();
    assert!(total > 20, "the quick profile has {total} runs");

    // Kill a one-thread sweep (SIGKILL: no chance to clean up) once a few runs are recorded.
    let dir = tempfile::tempdir().unwrap();
    let mut child = command(dir.path(), &["-j", "1"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while records(dir.path()).len() < 3 {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "no records appeared"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let before = records(dir.path());
    assert!(
        before.len() >= 3 && before.len() < total,
        "killed mid-way: {} of {total} runs recorded",
        before.len()
    );
    assert!(
        !dir.path().join("chains/table.md").exists(),
        "tables are written at the end"
    );

    // Started again, it reuses every finished run and rewrites none of their records.
    let o = run(dir.path(), &["-j", "2"]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains(&format!(
            "{} of {total} runs already recorded",
            before.len()
        )),
        "{stderr}"
    );
    let after = records(dir.path());
    assert_eq!(after.len(), total);
    for (path, inode) in &before {
        assert_eq!(after[path], *inode, "{} was rewritten", path.display());
    }
    assert_same_outputs(reference.path(), dir.path());
    let record = std::fs::read_to_string(dir.path().join("chains/record.toml")).unwrap();
    assert!(record.contains("runs_from_records = "), "{record}");

    // A finished sweep started again computes nothing; --force recomputes every run.
    let o = run(dir.path(), &["-j", "2"]);
    assert!(String::from_utf8_lossy(&o.stderr)
        .contains(&format!("{total} of {total} runs already recorded")));
    assert!(!String::from_utf8_lossy(&o.stderr).contains("[hogwild] done"));
    let o = run(dir.path(), &["-j", "2", "--force"]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(!stderr.contains("already recorded"), "{stderr}");
    let forced = records(dir.path());
    assert!(
        forced.iter().all(|(p, ino)| after[p] != *ino),
        "all rewritten"
    );
    assert_same_outputs(reference.path(), dir.path());
}

#[test]
fn damaged_records_are_reported_and_recomputed() {
    let dir = tempfile::tempdir().unwrap();
    run(dir.path(), &["-j", "2", "--table", "chains"]);
    let reference = tempfile::tempdir().unwrap();
    for f in ["runs.csv", "table.csv", "table.md"] {
        std::fs::create_dir_all(reference.path().join("chains")).unwrap();
        std::fs::copy(
            dir.path().join("chains").join(f),
            reference.path().join("chains").join(f),
        )
        .unwrap();
    }
    let all = records(dir.path());
    let mut paths = all.keys();
    let (truncated, altered) = (paths.next().unwrap(), paths.next().unwrap());
    let text = std::fs::read_to_string(truncated).unwrap();
    std::fs::write(truncated, &text[..text.len() * 2 / 3]).unwrap();
    let text = std::fs::read_to_string(altered).unwrap();
    std::fs::write(altered, text.replacen("value = ", "value = 1", 1)).unwrap();

    let o = run(dir.path(), &["-j", "2", "--table", "chains"]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    for (p, why) in [(truncated, "truncated"), (altered, "altered")] {
        let line = stderr
            .lines()
            .find(|l| l.contains(&*p.to_string_lossy()))
            .unwrap_or_else(|| panic!("{} not reported: {stderr}", p.display()));
        assert!(
            line.contains("warning") && line.contains(why) && line.contains("recomputed"),
            "{line}"
        );
    }
    assert!(stderr.contains(&format!("{} of {} runs", all.len() - 2, all.len())));
    for f in ["runs.csv", "table.csv", "table.md"] {
        assert_eq!(
            std::fs::read(dir.path().join("chains").join(f)).unwrap(),
            std::fs::read(reference.path().join("chains").join(f)).unwrap(),
            "{f}"
        );
    }
    // Both records are whole again.
    let o = run(dir.path(), &["-j", "2", "--table", "chains"]);
    assert!(!String::from_utf8_lossy(&o.stderr).contains("warning"));
}
