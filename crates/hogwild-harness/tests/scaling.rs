//! `hogwild scaling`: the scaling report, at the smallest size.

use std::path::Path;
use std::process::Command;

#[test]
fn scaling_report_measures_every_model_and_collects_table_times() {
    let out = tempfile::tempdir().unwrap();
    // Two tables written by one sweep: its wall time counts once in the total. The optional
    // tu table is listed, not counted in the default reproduction's total.
    for (name, runs) in [("chains", 200.0), ("counting", 40.0), ("tu", 1000.0)] {
        let dir = out.path().join(name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("record.toml"),
            format!(
                "table = \"{name}\"\nwall_seconds = 123.4\nrun_seconds = {runs:?}\nthreads = 2\ncode_version = \"abc\"\n"
            ),
        )
        .unwrap();
    }
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../harness.toml");
    let o = Command::new(env!("CARGO_BIN_EXE_hogwild"))
        .args(["scaling", "--max-nodes", "100", "--config"])
        .arg(&config)
        .arg("--out")
        .arg(out.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let csv = std::fs::read_to_string(out.path().join("scaling/scaling.csv")).unwrap();
    let rows: Vec<Vec<&str>> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    let mut seen: Vec<String> = rows.iter().map(|r| format!("{}/{}", r[0], r[2])).collect();
    seen.sort();
    assert_eq!(
        seen,
        [
            "chain/energy",
            "chain/energy-h16",
            "chain/gcn",
            "chain/ignn",
            "geometric/energy",
            "geometric/gcn",
            "geometric/ignn"
        ]
    );
    for r in &rows {
        assert_eq!(r[1], "100");
        let updates: f64 = r[6].parse().unwrap();
        assert!(updates.is_finite() && updates > 0.0, "{r:?}");
        // Explicit GCN has no solver iteration; implicit models do.
        assert_eq!(r[4].is_empty(), r[2] == "gcn", "{r:?}");
    }
    let md = std::fs::read_to_string(out.path().join("scaling/scaling.md")).unwrap();
    assert!(md.contains("## energy-h16 on chain graphs"), "{md}");
    assert!(md.contains("| chains | 200 | 123 | 2 | abc |"), "{md}");
    assert!(md.contains("| counting | 40 | 123 | 2 | abc |"), "{md}");
    assert!(
        md.contains("| tu (optional) | 1000 | 123 | 2 | abc |"),
        "{md}"
    );
    assert!(
        md.contains("| all but optional tables (`hogwild reproduce`) | 240 | 123 | | |"),
        "{md}"
    );
    // The report also goes to stdout.
    assert_eq!(String::from_utf8(o.stdout).unwrap(), md);
}

#[test]
fn scaling_below_the_first_size_is_refused_before_measuring() {
    let out = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_hogwild"))
        .args(["scaling", "--max-nodes", "99", "--config"])
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../harness.toml"))
        .arg("--out")
        .arg(out.path())
        .output()
        .unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8(o.stderr).unwrap();
    assert!(err.contains("--max-nodes = 99"), "{err}");
    assert!(!out.path().join("scaling").exists());
}
