//! Sweeps across machines through the command line: `plan`, `run --shard`, `merge`.

use hogwild_harness::report::DETERMINISTIC_FILES;
use hogwild_harness::Shard;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const TABLES: [&str; 2] = ["chains", "counting"];

fn harness_toml() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../harness.toml")
}

/// `hogwild <sub> --profile quick --table chains --table counting --config harness.toml`.
fn hogwild(sub: &str, config: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_hogwild"));
    c.args([sub, "--profile", "quick", "--config"]).arg(config);
    for t in TABLES {
        c.args(["--table", t]);
    }
    c
}

fn ok(mut c: Command) -> Output {
    let o = c.output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    o
}

fn failure(mut c: Command) -> String {
    let o = c.output().unwrap();
    assert_eq!(o.status.code(), Some(1), "should fail");
    String::from_utf8(o.stderr).unwrap()
}

fn shard(dir: &Path, k: usize, config: &Path) -> Command {
    let mut c = hogwild("run", config);
    c.arg("--shard")
        .arg(format!("{k}/3"))
        .arg("--out")
        .arg(dir)
        .args(["-j", "1"]);
    c
}

fn merge(out: &Path, dirs: &[&Path]) -> Command {
    let mut c = hogwild("merge", &harness_toml());
    c.arg("--out").arg(out).args(dirs);
    c
}

fn record_files(dir: &Path) -> Vec<PathBuf> {
    let mut v = vec![];
    for t in TABLES {
        if let Ok(d) = std::fs::read_dir(dir.join(t).join("records")) {
            v.extend(d.map(|e| e.unwrap().path()));
        }
    }
    v.sort();
    v
}

#[test]
fn three_shards_merge_into_the_unsharded_tables() {
    let root = tempfile::tempdir().unwrap();
    let dir = |name: &str| root.path().join(name);

    // The plan: one line per run, and its hash.
    let o = ok(hogwild("plan", &harness_toml()));
    let listing = String::from_utf8(o.stdout).unwrap();
    let lines: Vec<&str> = listing.lines().collect();
    assert!(lines[0].starts_with("id\ttable\tcolumn\tmodel\tseed\tfold"));
    let runs = lines.len() - 2;
    let hash_line = lines.last().unwrap();
    assert!(
        hash_line.starts_with("plan ") && hash_line.ends_with(&format!("({runs} runs)")),
        "{hash_line}"
    );
    let plan_hash = hash_line.split(' ').nth(1).unwrap();

    let mut whole = hogwild("reproduce", &harness_toml());
    whole.arg("--out").arg(dir("whole")).args(["-j", "2"]);
    ok(whole);

    let mut recorded = 0;
    for k in 0..3 {
        ok(shard(&dir(&format!("s{k}")), k, &harness_toml()));
        let manifest = std::fs::read_to_string(dir(&format!("s{k}")).join("plan.toml")).unwrap();
        assert!(manifest.contains(plan_hash), "{manifest}");
        recorded += record_files(&dir(&format!("s{k}"))).len();
        assert!(
            !dir(&format!("s{k}")).join("chains/table.md").exists(),
            "shards write records only"
        );
    }
    assert_eq!(recorded, runs, "every run in exactly one shard");
    let mut no_out = hogwild("run", &harness_toml());
    no_out.args(["--shard", "0/3"]);
    assert!(failure(no_out).contains("run needs --out DIR"));

    let (s0, s1, s2) = (dir("s0"), dir("s1"), dir("s2"));
    ok(merge(&dir("merged"), &[&s0, &s1, &s2]));
    for t in TABLES {
        for &f in DETERMINISTIC_FILES.iter().chain(&["folds.csv"]) {
            let (a, b) = (dir("whole").join(t).join(f), dir("merged").join(t).join(f));
            if f == "folds.csv" && !a.exists() {
                continue;
            }
            assert_eq!(
                std::fs::read(a).unwrap(),
                std::fs::read(b).unwrap(),
                "{t}/{f}"
            );
        }
    }
    assert_eq!(record_files(&dir("merged")).len(), runs);

    // A missing shard.
    let err = failure(merge(&dir("m2"), &[&s0, &s2]));
    assert!(
        err.contains("runs are in none of the shard directories") && err.contains("shard"),
        "{err}"
    );
    assert!(!dir("m2").exists(), "a refused merge writes nothing");

    // A shard of another plan (a changed setting changes every affected run id).
    let other = root.path().join("other.toml");
    let text = std::fs::read_to_string(harness_toml()).unwrap().replacen(
        "[profiles.quick.tables.chains]\nseeds = [0, 1]\norderings = 2",
        "[profiles.quick.tables.chains]\nseeds = [0, 1]\norderings = 3",
        1,
    );
    assert!(text.contains("orderings = 3"));
    std::fs::write(&other, text).unwrap();
    ok(shard(&dir("o2"), 2, &other));
    let o2 = dir("o2");
    let err = failure(merge(&dir("m3"), &[&s0, &s1, &o2]));
    assert!(
        err.contains("o2/plan.toml") && err.contains("was run for plan"),
        "{err}"
    );

    // The same run recorded twice with different numbers (checksum made valid again).
    let dup = dir("dup");
    let victim = record_files(&s1)[0].clone();
    let relative = victim.strip_prefix(&s1).unwrap();
    std::fs::create_dir_all(dup.join(relative).parent().unwrap()).unwrap();
    std::fs::copy(s1.join("plan.toml"), dup.join("plan.toml")).unwrap();
    let text = std::fs::read_to_string(&victim).unwrap();
    let body = &text[..text.rfind("# sha256 ").unwrap()];
    let body = body.replacen("value = ", "value = 1", 1);
    let sum: String = Sha256::digest(body.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    std::fs::write(dup.join(relative), format!("{body}# sha256 {sum}\n")).unwrap();
    let err = failure(merge(&dir("m4"), &[&s0, &s1, &s2, &dup]));
    assert!(
        err.contains("recorded twice with different results"),
        "{err}"
    );
    // An identical duplicate is fine.
    let same = dir("same");
    std::fs::create_dir_all(same.join(relative).parent().unwrap()).unwrap();
    std::fs::copy(s1.join("plan.toml"), same.join("plan.toml")).unwrap();
    std::fs::copy(&victim, same.join(relative)).unwrap();
    ok(merge(&dir("m5"), &[&s0, &s1, &s2, &same]));
}

/// A process environment holding `vars` only.
fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
    move |name| {
        vars.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    }
}

#[test]
fn shards_come_from_the_scheduler_environment() {
    let shard = |index, count| Shard { index, count };
    // Slurm arrays numbered from 1 or from 0.
    let slurm1 = [
        ("SLURM_ARRAY_TASK_ID", "3"),
        ("SLURM_ARRAY_TASK_MIN", "1"),
        ("SLURM_ARRAY_TASK_COUNT", "3"),
    ];
    assert_eq!(Shard::from_env(None, env(&slurm1)), Ok(shard(2, 3)));
    let slurm0 = [
        ("SLURM_ARRAY_TASK_ID", "0"),
        ("SLURM_ARRAY_TASK_COUNT", "4"),
    ];
    assert_eq!(Shard::from_env(None, env(&slurm0)), Ok(shard(0, 4)));
    let k8s = [("JOB_COMPLETION_INDEX", "4")];
    assert_eq!(Shard::from_env(Some(5), env(&k8s)), Ok(shard(4, 5)));
    assert!(Shard::from_env(None, env(&k8s))
        .unwrap_err()
        .contains("--shards"));
    assert!(Shard::from_env(Some(4), env(&k8s))
        .unwrap_err()
        .contains("not below"));
    assert!(Shard::from_env(None, env(&[]))
        .unwrap_err()
        .contains("--shard K/N"));
    assert_eq!(Shard::parse("1/3"), Ok(shard(1, 3)));
    for bad in ["3/3", "1", "a/3", "1/0"] {
        assert!(
            Shard::parse(bad).unwrap_err().contains("0 <= K < N"),
            "{bad}"
        );
    }
    // Through the command line: a Slurm array task numbered from 1.
    let dir = tempfile::tempdir().unwrap();
    let mut c = hogwild("run", &harness_toml());
    c.arg("--out")
        .arg(dir.path())
        .envs(slurm1)
        .env_remove("JOB_COMPLETION_INDEX");
    let o = ok(c);
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("shard 2/3:"));
}
