//! The quick profile end to end: the table snapshot, the GCN closed form, determinism across
//! runs and thread counts, and the command line.

use hogwild_harness::report::DETERMINISTIC_FILES;
use hogwild_harness::{reproduce, ReproduceOptions};
use polars::prelude::SerReader;
use std::path::{Path, PathBuf};
use std::process::Command;

fn harness_toml() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../harness.toml")
}

fn quick(out: &Path, threads: usize) -> Vec<hogwild_harness::report::TableReport> {
    let opts = ReproduceOptions {
        config: harness_toml(),
        profile: "quick".into(),
        tables: vec![],
        out: out.into(),
        threads,
        force: false,
    };
    reproduce(&opts).unwrap()
}

#[test]
fn quick_table_snapshot_and_gcn_closed_form() {
    let dir = tempfile::tempdir().unwrap();
    let reports = quick(dir.path(), 2);
    let chains = reports.iter().find(|r| r.name == "chains").unwrap();
    // The GCN (sync) row is a closed form: (3 + (l − 3) / 2) / l, exactly, with std 0.
    let l = 10.0;
    let cell = &chains.cells[0][0];
    assert_eq!(cell.mean, 100.0 * (3.0 + (l - 3.0) / 2.0) / l);
    assert_eq!(cell.std, 0.0);
    insta::assert_snapshot!(
        "quick_chains_table",
        std::fs::read_to_string(dir.path().join("chains/table.md")).unwrap()
    );
    // LaTeX exports: a booktabs tabular and one macro per cell.
    insta::assert_snapshot!(
        "quick_chains_latex",
        std::fs::read_to_string(dir.path().join("chains/table.tex")).unwrap()
    );
    let macros = std::fs::read_to_string(dir.path().join("chains/macros.tex")).unwrap();
    assert!(macros.contains("\\newcommand{\\hwChainsGcnSyncA}{65.0 \\pm 0.0}"));
    assert_eq!(
        macros.matches("\\newcommand").count(),
        3 * chains.rows.len() * chains.config.columns.len()
    );
    // Column overrides of [async]: B = 1 reads the latest neighbour states, B = 20 with
    // maximal delays reads none of them beyond the initial ones.
    insta::assert_snapshot!(
        "quick_asynchrony_table",
        std::fs::read_to_string(dir.path().join("asynchrony/table.md")).unwrap()
    );
    // Tables 2 and 3: regression and localisation under cross-validation.
    for table in ["counting", "localisation"] {
        insta::assert_snapshot!(
            format!("quick_{table}_table"),
            std::fs::read_to_string(dir.path().join(table).join("table.md")).unwrap()
        );
        // Every graph is in one fold, and the folds are recorded.
        let folds = std::fs::read_to_string(dir.path().join(table).join("folds.csv")).unwrap();
        insta::assert_snapshot!(format!("quick_{table}_folds"), folds);
        let runs = std::fs::read_to_string(dir.path().join(table).join("runs.csv")).unwrap();
        assert!(runs.starts_with("table,column,model,seed,fold,mode,"));
    }
    // The raw runs as Parquet too: the same frame as runs.csv.
    let parquet = std::fs::File::open(dir.path().join("chains/runs.parquet")).unwrap();
    let runs_pq = polars::prelude::ParquetReader::new(parquet)
        .finish()
        .unwrap();
    let csv_path = dir.path().join("chains/runs.csv");
    let runs_csv = polars::prelude::CsvReadOptions::default()
        .try_into_reader_with_file_path(Some(csv_path))
        .unwrap()
        .finish()
        .unwrap();
    assert_eq!(runs_pq.shape(), runs_csv.shape());
    assert_eq!(runs_pq.get_column_names(), runs_csv.get_column_names());
    let chain_runs = std::fs::read_to_string(dir.path().join("chains/runs.csv")).unwrap();
    assert!(
        chain_runs.starts_with("table,column,model,seed,mode,"),
        "no fold column without folds"
    );
    // Implicit models: every asynchronous run reaches the synchronous fixed point.
    for table in reports
        .iter()
        .filter(|r| ["counting", "localisation"].contains(&r.name.as_str()))
    {
        for gap in table.gaps.iter().filter(|g| g.model != "gcn") {
            assert!(gap.all_converged, "{}: {gap:?}", table.name);
            assert!(gap.max_abs < 0.1, "{}: {gap:?}", table.name);
        }
    }
}

#[test]
fn outputs_are_byte_identical_across_runs_and_thread_counts() {
    let (a, b, c) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    quick(a.path(), 1);
    quick(b.path(), 2);
    quick(c.path(), 2);
    for f in DETERMINISTIC_FILES
        .iter()
        .flat_map(|f| ["asynchrony", "chains", "counting", "localisation"].map(|t| (t, f)))
        .chain([("counting", &"folds.csv"), ("localisation", &"folds.csv")])
    {
        let read = |d: &Path| std::fs::read(d.join(f.0).join(f.1)).unwrap();
        assert_eq!(
            read(a.path()),
            read(b.path()),
            "{f:?} differs between -j 1 and -j 2"
        );
        assert_eq!(
            read(b.path()),
            read(c.path()),
            "{f:?} differs between two runs"
        );
    }
    let record = std::fs::read_to_string(a.path().join("chains/record.toml")).unwrap();
    for key in [
        "config_sha256",
        "code_version",
        "threads = 1",
        "wall_seconds",
        "rustc",
        "ChaCha8",
    ] {
        assert!(record.contains(key), "record lacks {key}: {record}");
    }
}

#[test]
fn the_command_line_reproduces_and_reports_errors() {
    let exe = env!("CARGO_BIN_EXE_hogwild");
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(exe)
        .args([
            "reproduce",
            "--profile",
            "quick",
            "--table",
            "chains",
            "-j",
            "2",
            "--config",
        ])
        .arg(harness_toml())
        .arg("--out")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("| GCN (sync) | 65.0 ± 0.0 |"), "{stdout}");
    assert!(!stdout.contains("[hogwild]"), "progress belongs on stderr");
    // The progress bar draws on stderr only when it is a terminal; here it is a pipe, so
    // it is hidden, and it is never in stdout or in a result file.
    let stderr = String::from_utf8_lossy(&out.stderr);
    for (what, text) in [("stdout", &*stdout), ("stderr", &*stderr)] {
        assert!(!text.contains("expected work"), "bar in {what}: {text}");
        assert!(!text.contains('\x1b'), "terminal codes in {what}");
    }
    assert!(stderr.contains("[hogwild] done chains/"), "{stderr}");
    for f in DETERMINISTIC_FILES.iter().chain(&["record.toml"]) {
        if f.ends_with(".parquet") {
            continue; // binary; it holds the runs frame only (checked above)
        }
        let text = std::fs::read_to_string(dir.path().join("chains").join(f)).unwrap();
        assert!(
            !text.contains("expected work") && !text.contains('\x1b'),
            "{f}"
        );
    }
    for f in DETERMINISTIC_FILES.iter().chain(&["record.toml"]) {
        assert!(
            dir.path().join("chains").join(f).is_file(),
            "{f} not written"
        );
    }

    // compare: every cell beside the paper's, read back from table.csv.
    let out = Command::new(exe)
        .args(["compare", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    let compared = String::from_utf8(out.stdout).unwrap();
    assert!(
        compared.contains("| gcn-sync | l = 10 | 65.0 ± 0.0 | 65.0 ± 0.0 | +0.0 | within |"),
        "{compared}"
    );
    assert!(
        compared.contains("chains: 2 not in the paper, 4 within"),
        "{compared}"
    );
    let out = Command::new(exe)
        .args(["compare", "--out"])
        .arg(dir.path().join("none"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));

    let bad = dir.path().join("bad.toml");
    let text = std::fs::read_to_string(harness_toml())
        .unwrap()
        .replace("tol = 1e-8 ", "tol = -1.0 ");
    std::fs::write(&bad, text).unwrap();
    let out = Command::new(exe)
        .args(["reproduce", "--out"])
        .arg(dir.path().join("never"))
        .arg("--config")
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("bad.toml") && stderr.contains("tol = -1"),
        "{stderr}"
    );
    assert!(
        !dir.path().join("never").exists(),
        "nothing may run or be written for a bad config"
    );

    let out = Command::new(exe)
        .args(["reproduce", "--table", "nope", "--config"])
        .arg(harness_toml())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no table \"nope\""));

    // A table named twice would count its runs twice.
    let out = Command::new(exe)
        .args(["plan", "--table", "chains", "--table", "chains", "--config"])
        .arg(harness_toml())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--table chains is given twice"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Usage errors are clap's, with status 2; --help says what each status means.
    let out = Command::new(exe)
        .args(["reproduce", "--no-such-option"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = Command::new(exe).arg("--help").output().unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    assert!(help.contains("Exit status: 0 on success; 1 when"), "{help}");
}
