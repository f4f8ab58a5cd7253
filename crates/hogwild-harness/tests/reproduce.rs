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
    quick_tables(out, threads, &[])
}

/// The quick profile's `tables` (empty: the default ones) into `out`.
fn quick_tables(
    out: &Path,
    threads: usize,
    tables: &[&str],
) -> Vec<hogwild_harness::report::TableReport> {
    let opts = ReproduceOptions {
        config: harness_toml(),
        profile: "quick".into(),
        tables: tables.iter().map(|t| t.to_string()).collect(),
        out: out.into(),
        threads,
        force: false,
        verbosity: Default::default(),
        overrides: Default::default(),
    };
    reproduce(&opts).unwrap()
}

/// `hogwild reproduce --profile quick --table chains` into `out`, with `extra`; succeeds.
fn quick_chains(out: &Path, extra: &[&str]) -> std::process::Output {
    let out = Command::new(env!("CARGO_BIN_EXE_hogwild"))
        .args([
            "reproduce",
            "--profile",
            "quick",
            "--table",
            "chains",
            "--config",
        ])
        .arg(harness_toml())
        .arg("--out")
        .arg(out)
        .args(extra)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
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
    assert!(macros.contains("\\providecommand{\\hwChainsGcnSyncLOneZero}{65.0 \\pm 0.0}"));
    assert_eq!(
        macros.matches("\\providecommand").count(),
        3 * chains.rows.len() * chains.config.columns.len()
    );
    // One figure's bytes (the others are drawn by the same code), and every table has all.
    insta::assert_snapshot!(
        "quick_chains_cells_svg",
        std::fs::read_to_string(dir.path().join("chains/cells.svg")).unwrap()
    );
    // The schema of runs.* and curves.*, documented.
    insta::assert_snapshot!(
        "schema",
        std::fs::read_to_string(dir.path().join("schema.md")).unwrap()
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
        assert!(runs.starts_with("run_id,table_name,column_label,column_index,dataset,"));
        assert!(!dir.path().join(table).join("faults.csv").exists());
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
    // Every table has the same columns, so all load as one dataset.
    let header = |t: &str| {
        let runs = std::fs::read_to_string(dir.path().join(t).join("runs.csv")).unwrap();
        runs.lines().next().unwrap().to_string()
    };
    for t in ["asynchrony", "counting", "localisation"] {
        assert_eq!(header(t), header("chains"), "{t}");
    }
    // Curves: every run's training loss; implicit models' residuals, async per ordering.
    let curves = std::fs::File::open(dir.path().join("counting/curves.parquet")).unwrap();
    let curves = polars::prelude::ParquetReader::new(curves)
        .finish()
        .unwrap();
    let kinds = curves.column("curve").unwrap().unique_stable().unwrap();
    assert_eq!(kinds.len(), 3, "{kinds:?}");
    for t in ["asynchrony", "chains", "counting", "localisation"] {
        for f in DETERMINISTIC_FILES {
            assert!(dir.path().join(t).join(f).is_file(), "{t}/{f}");
        }
    }
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
fn seven_models_implicit_ones_keep_their_answer_asynchronously_explicit_ones_do_not() {
    let dir = tempfile::tempdir().unwrap();
    let reports = quick_tables(dir.path(), 2, &["iclr-chains"]);
    let table = &reports[0];
    assert_eq!(table.gaps.len(), 7);
    for gap in &table.gaps {
        if ["gcn", "gat"].contains(&gap.model.as_str()) {
            assert!(gap.max_abs > 0.0, "{gap:?}");
        } else {
            assert!(gap.all_converged && gap.max_abs < 0.1, "{gap:?}");
        }
    }
    insta::assert_snapshot!(
        "quick_iclr_chains_table",
        std::fs::read_to_string(dir.path().join("iclr-chains/table.md")).unwrap()
    );
}

#[test]
fn a_faults_table_reports_what_the_faults_did() {
    let dir = tempfile::tempdir().unwrap();
    let reports = quick_tables(dir.path(), 2, &["faults"]);
    let table = &reports[0];
    let cell = |key: &str, label: &str| {
        let r = table.rows.iter().position(|(k, _)| k == key).unwrap();
        let c = table
            .config
            .columns
            .iter()
            .position(|c| c.label == label)
            .unwrap();
        table.cells[r][c].mean
    };
    // After a transient corruption the implicit models return to their synchronous answer;
    // GCN, which performs its two updates, keeps the damage.
    let corrupt = "corrupt 50 % (uniform, round 2)";
    for model in ["ignn", "energy"] {
        let (sync, async_) = (
            cell(&format!("{model}-sync"), corrupt),
            cell(&format!("{model}-async"), corrupt),
        );
        assert!((sync - async_).abs() < 0.1, "{model}: {sync} -> {async_}");
    }
    assert!(cell("gcn-async", corrupt) > cell("gcn-sync", corrupt) + 10.0);
    // One row per asynchronous evaluation under faults: 3 columns x 3 models x 2 folds.
    let csv = std::fs::read_to_string(dir.path().join("faults/faults.csv")).unwrap();
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let want: Vec<&str> = hogwild_harness::report::faults::fault_columns()
        .iter()
        .map(|c| c.name)
        .collect();
    assert_eq!(header, want);
    assert_eq!(csv.lines().count(), 1 + 18);
    assert!(!csv.contains(",no faults,"));
    let md = std::fs::read_to_string(dir.path().join("faults/table.md")).unwrap();
    insta::assert_snapshot!("quick_faults_table", md);
}

#[test]
fn distributed_training_runs_through_the_harness_with_its_rounds_counted() {
    let (one, two) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let reports = quick_tables(one.path(), 1, &["fdt-regression"]);
    assert!(reports.is_empty(), "no GNN table was asked for");
    quick_tables(two.path(), 2, &["fdt-regression"]);
    let read = |dir: &Path, file: &str| {
        std::fs::read_to_string(dir.join("fdt-regression").join(file)).unwrap()
    };
    for file in ["table.md", "table.csv", "curves.csv", "curves.svg"] {
        assert_eq!(read(one.path(), file), read(two.path(), file), "{file}");
    }
    // The quick profile's 10 mini-batches of B = 20 per epoch, L = 2 layers: centralized
    // LB rounds each, the pipelined distributed optimisers LB + L - 1.
    let md = read(one.path(), "table.md");
    assert!(md.contains("| 400 |\n| Adam |"), "{md}");
    assert!(md.contains("| 410 |\n| D-Adam |"), "{md}");
    // One row per optimiser and epoch.
    assert_eq!(read(one.path(), "curves.csv").lines().count(), 1 + 5 * 60);
    insta::assert_snapshot!("quick_fdt_regression_table", read(one.path(), "table.md"));
}

#[test]
fn the_ledger_counts_every_scheme_at_every_batch_and_consensus_size() {
    let dir = tempfile::tempdir().unwrap();
    quick_tables(dir.path(), 2, &["fdt-ledger"]);
    let read = |file: &str| std::fs::read_to_string(dir.path().join("fdt-ledger").join(file));
    assert!(read("curves.csv").is_err(), "nothing is trained");
    let record = read("record.toml").unwrap();
    assert!(
        record.contains("experiment = \"distributed-ledger\""),
        "{record}"
    );
    // B = 100, L = 2, K = 1 as counted: inference LB, naive B (2L - 1 + K), piggybacked
    // LB + L - 1 + K, pipelined LB + L - 1; and with K = 2.
    let ledger = read("ledger.csv").unwrap();
    for row in [
        "100,1,2,centralized-inference,200,",
        "100,1,2,naive,400,",
        "100,1,2,naive-piggybacked,202,",
        "100,1,2,pipelined,201,",
        "100,2,2,naive,500,",
        "100,2,2,naive-piggybacked,203,",
        "100,2,2,pipelined,201,",
    ] {
        assert!(ledger.contains(row), "{row}: {ledger}");
    }
    // 2 batch sizes x 2 consensus sizes x 4 schemes
    assert_eq!(ledger.lines().count(), 1 + 16);
    insta::assert_snapshot!("quick_fdt_ledger_table", read("table.md").unwrap());
}

#[test]
fn power_allocation_runs_through_the_harness_with_its_references() {
    let (one, two) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    quick_tables(one.path(), 1, &["fdt-power"]);
    quick_tables(two.path(), 2, &["fdt-power"]);
    let read =
        |dir: &Path, file: &str| std::fs::read_to_string(dir.join("fdt-power").join(file)).unwrap();
    for file in [
        "table.md",
        "table.csv",
        "curves.csv",
        "wmmse.csv",
        "curves.svg",
    ] {
        assert_eq!(read(one.path(), file), read(two.path(), file), "{file}");
    }
    // 2 seeds x 2 optimisers x 3 epochs; 2 seeds x 21 WMMSE points (0..=20 iterations).
    assert_eq!(
        read(one.path(), "curves.csv").lines().count(),
        1 + 2 * 2 * 3
    );
    assert_eq!(read(one.path(), "wmmse.csv").lines().count(), 1 + 2 * 21);
    let record = read(one.path(), "record.toml");
    assert!(
        record.contains("experiment = \"distributed-power\""),
        "{record}"
    );
    // Counted rounds per mini-batch of B = 4 samples through L = 4 layers: centralized
    // 2L + 2 forward rounds per sample; distributed as many backward and one consensus round.
    let md = read(one.path(), "table.md");
    assert!(md.contains("| UWMMSE (Adam) | 40 |"), "{md}");
    assert!(md.contains("| D-UWMMSE (local Adam) | 84 |"), "{md}");
    insta::assert_snapshot!("quick_fdt_power_table", md);
}

#[test]
fn link_scheduling_runs_through_the_harness_seed_by_seed() {
    let (one, two) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    quick_tables(one.path(), 1, &["fdt-scheduling"]);
    quick_tables(two.path(), 2, &["fdt-scheduling"]);
    let read = |dir: &Path, file: &str| {
        std::fs::read_to_string(dir.join("fdt-scheduling").join(file)).unwrap()
    };
    for file in ["table.md", "table.csv", "curves.csv", "curves.svg"] {
        assert_eq!(read(one.path(), file), read(two.path(), file), "{file}");
    }
    // 2 seeds x 2 optimisers x 10 evaluations (100 graphs x 2 epochs / 20 per update).
    assert_eq!(
        read(one.path(), "curves.csv").lines().count(),
        1 + 2 * 2 * 10
    );
    let md = read(one.path(), "table.md");
    assert!(md.contains("| above greedy |"), "{md}");
    assert!(read(one.path(), "record.toml").contains("distributed-scheduling"));
    insta::assert_snapshot!("quick_fdt_scheduling_table", md);
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
    let out = quick_chains(dir.path(), &["-j", "1"]);
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
    // Off a terminal: one line per finished run, in a fixed format, and a summary line.
    // With one thread the order is the plan's cost order; times are masked.
    let masked: Vec<String> = stderr
        .lines()
        .map(|l| match l.split_once(" · ") {
            Some(_) if l.starts_with('[') => {
                let parts: Vec<&str> = l.split(" · ").collect();
                let time = parts
                    .iter()
                    .position(|p| p.ends_with(" s"))
                    .expect("a time");
                assert!(
                    parts[time].trim_end_matches(" s").parse::<f64>().is_ok(),
                    "{l}"
                );
                let eta = parts.get(time + 1).map_or("", |e| {
                    if e.starts_with("ETA ") {
                        " · ETA …"
                    } else {
                        "?"
                    }
                });
                format!("{} · … s{eta}", parts[..time].join(" · "))
            }
            _ if l.starts_with("[hogwild] ") && l.contains(" in ") => {
                l[..l.find(" in ").unwrap()].to_string() + " in …"
            }
            _ => l.to_string(),
        })
        .collect();
    insta::assert_snapshot!("progress_lines_off_a_terminal", masked.join("\n"));
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
    // --fail-on-miss: no cell of this table misses, so it passes.
    let out = Command::new(exe)
        .args(["compare", "--fail-on-miss", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success());
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
    // --version names the code.
    let out = Command::new(exe).arg("--version").output().unwrap();
    let version = String::from_utf8(out.stdout).unwrap();
    assert!(
        version.contains("(commit ") && version.contains("rustc"),
        "{version}"
    );
    // Shell completions.
    let out = Command::new(exe)
        .args(["completions", "bash"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("_hogwild()"));
    // --quiet: nothing on stderr but errors.
    let quiet = tempfile::tempdir().unwrap();
    let out = quick_chains(quiet.path(), &["--quiet"]);
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}

#[test]
fn settings_can_be_changed_on_the_command_line() {
    let exe = env!("CARGO_BIN_EXE_hogwild");
    let plan = |extra: &[&str]| {
        let out = Command::new(exe)
            .args([
                "plan",
                "--profile",
                "quick",
                "--table",
                "chains",
                "--config",
            ])
            .arg(harness_toml())
            .args(extra)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    };
    let (_, all, _) = plan(&[]);
    let (code, one_seed, _) = plan(&["--set", "tables.chains.seeds=[0]"]);
    assert_eq!(code, Some(0));
    assert!(
        all.contains("(6 runs)") && one_seed.contains("(3 runs)"),
        "{one_seed}"
    );
    // A changed setting changes the ids of the runs it affects.
    let (_, other_bound, _) = plan(&["--set", "async.staleness_bound=5"]);
    let ids = |listing: &str| -> Vec<String> {
        listing
            .lines()
            .skip(1)
            .filter_map(|l| l.split('\t').next().map(str::to_string))
            .collect()
    };
    assert!(ids(&all).iter().all(|id| !ids(&other_bound).contains(id)));
    // Bad values are named as given.
    let (code, _, err) = plan(&["--set", "async.staleness_bound=0"]);
    assert_eq!(code, Some(1));
    assert!(
        err.contains("async.staleness_bound = 0")
            && err.contains("(set by --set async.staleness_bound=0)"),
        "{err}"
    );
    let (code, _, err) = plan(&["--set", "nonsense"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("expected KEY=VALUE"), "{err}");
    // The record says what was changed.
    let dir = tempfile::tempdir().unwrap();
    quick_chains(dir.path(), &["--set", "tables.chains.seeds=[0]"]);
    let record = std::fs::read_to_string(dir.path().join("chains/record.toml")).unwrap();
    assert!(
        record.contains("overrides = [\"--set tables.chains.seeds=[0]\"]"),
        "{record}"
    );
}

#[test]
fn amp_tables_run_through_the_harness_byte_identical_across_thread_counts() {
    let (one, two) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let names = ["amp-expressiveness", "amp-extrapolation"];
    let reports = quick_tables(one.path(), 1, &names);
    assert!(reports.is_empty(), "no GNN table was asked for");
    quick_tables(two.path(), 2, &names);
    let read = |dir: &Path, table: &str, file: &str| {
        std::fs::read_to_string(dir.join(table).join(file)).unwrap()
    };
    for (table, file) in names
        .iter()
        .flat_map(|t| ["table.md", "table.csv", "runs.csv", "curves.csv"].map(|f| (*t, f)))
        .chain([("amp-extrapolation", "distances.csv")])
    {
        assert_eq!(
            read(one.path(), table, file),
            read(two.path(), table, file),
            "{table}/{file} differs between -j 1 and -j 2"
        );
    }
    let record = read(two.path(), "amp-expressiveness", "record.toml");
    assert!(
        record.contains("experiment = \"amp-expressiveness\""),
        "{record}"
    );
    assert!(record.contains("threads = 2"), "{record}");
    // GIN is bounded by 1-WL: exactly chance on Limits1 (1/2) and MAX (1/20) in every run.
    let cells = read(one.path(), "amp-expressiveness", "table.csv");
    for row in ["gin,Limits1,50.0,0.0,2,", "gin,MAX,5.0,0.0,2,"] {
        assert!(cells.contains(row), "{row}: {cells}");
    }
    // One runs.csv row per (column, model, seed) of Table 2; per (model, seed, size) of 3.
    assert_eq!(
        read(one.path(), "amp-expressiveness", "runs.csv")
            .lines()
            .count(),
        1 + 3 * 2 * 2
    );
    // Table 3's quick profile runs two AMP rows and the three oracle-depth baselines.
    assert_eq!(
        read(one.path(), "amp-extrapolation", "runs.csv")
            .lines()
            .count(),
        1 + 5 * 2 * 2
    );
    let distances = read(one.path(), "amp-extrapolation", "distances.csv");
    for row in ["gin-oracle", "gcn-oracle", "gat-oracle"] {
        assert!(
            distances
                .lines()
                .any(|l| l.starts_with(&format!("{row},1,n = 50,"))),
            "{row}: {distances}"
        );
    }
    insta::assert_snapshot!(
        "quick_amp_expressiveness_table",
        read(one.path(), "amp-expressiveness", "table.md")
    );
    insta::assert_snapshot!(
        "quick_amp_extrapolation_table",
        read(one.path(), "amp-extrapolation", "table.md")
    );
}
