//! Datasets read from the data directory (TU format), through the command line: the optional
//! `tu` table runs end to end on a small fixture with graph accuracy, deterministically; a
//! plain `reproduce` skips it; a missing data directory, a missing dataset or a malformed
//! file stop the sweep before any run, naming the file, the key and the line.

use hogwild_harness::config::{Config, DEFAULT_PROFILE};
use hogwild_harness::records::{Lookup, RunStore};
use hogwild_harness::report::DETERMINISTIC_FILES;
use hogwild_harness::{Plan, ReproduceOptions};
use std::path::Path;
use std::process::{Command, Output};

mod common;
use common::toy_files;

const HARNESS: &str = include_str!("../../../harness.toml");
const DATA_DIR_LINE: &str = r#"data_dir = "datasets/data""#;

/// A temporary directory holding `harness.toml` (the committed one, with `data_dir` set to
/// `data_dir` and a `toy` profile whose `tu` table reads TOY) and `data/TU/TOY/`.
fn workspace(data_dir: &str, edit: impl Fn(&str, String) -> String) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("data/TU/TOY");
    std::fs::create_dir_all(&root).unwrap();
    for (suffix, text) in toy_files() {
        let text = edit(suffix, text);
        std::fs::write(root.join(format!("TOY_{suffix}.txt")), text).unwrap();
    }
    assert!(HARNESS.contains(DATA_DIR_LINE));
    let config = HARNESS.replacen(DATA_DIR_LINE, &format!("data_dir = {data_dir:?}"), 1)
        + r#"
[profiles.toy.tables.tu]
seeds = [0]
folds = 2
orderings = 2
model_settings = { gcn = { train = { epochs = 20 } }, gat = { train = { epochs = 20 } }, ignn = { train = { epochs = 10 } }, gsdgnn = { train = { epochs = 10 } }, energy = { train = { epochs = 3 } } }
columns = [
  { label = "TOY", dataset = { kind = "tu", name = "TOY" } },
]
"#;
    std::fs::write(dir.path().join("harness.toml"), &config).unwrap();
    dir
}

fn reproduce(dir: &Path, out: &str, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hogwild"))
        .args(["reproduce", "--profile", "toy", "--config"])
        .arg(dir.join("harness.toml"))
        .arg("--out")
        .arg(dir.join(out))
        .args(extra)
        .output()
        .unwrap()
}

#[test]
fn the_tu_table_runs_end_to_end_with_graph_accuracy_deterministically() {
    let dir = workspace("data", |_, t| t);
    let one = reproduce(dir.path(), "one", &["--table", "tu", "-j", "1"]);
    assert!(
        one.status.success(),
        "{}",
        String::from_utf8_lossy(&one.stderr)
    );
    let two = reproduce(dir.path(), "two", &["--table", "tu", "-j", "2"]);
    assert!(
        two.status.success(),
        "{}",
        String::from_utf8_lossy(&two.stderr)
    );
    let table = std::fs::read_to_string(dir.path().join("one/tu/table.md")).unwrap();
    assert!(table.contains("graph accuracy (%)"), "{table}");
    assert!(table.contains("| model | TOY |"), "{table}");
    for row in ["GCN (async)", "IGNN (async)", "Energy GNN (async)"] {
        let line = table.lines().find(|l| l.starts_with(&format!("| {row} |")));
        let cell = line.unwrap_or_else(|| panic!("no {row} row: {table}"));
        let mean: f64 = cell
            .split('|')
            .nth(2)
            .unwrap()
            .split('±')
            .next()
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert!((0.0..=100.0).contains(&mean), "{cell}");
    }
    // The runs read the fixture's identity (its contents' hash), and both thread counts
    // write the same bytes.
    let folds = std::fs::read_to_string(dir.path().join("one/tu/folds.csv")).unwrap();
    assert!(folds.contains("tu(name=TOY,sha256="), "{folds}");
    for file in DETERMINISTIC_FILES.iter().chain(&["folds.csv"]) {
        let a = std::fs::read(dir.path().join("one/tu").join(file)).unwrap();
        let b = std::fs::read(dir.path().join("two/tu").join(file)).unwrap();
        assert!(a == b, "tu/{file} differs between -j 1 and -j 2");
    }
}

#[test]
fn a_plain_reproduce_skips_optional_tables() {
    let config = Config::parse(HARNESS, Path::new("harness.toml"), DEFAULT_PROFILE).unwrap();
    assert!(config.tables["tu"].optional);
    let default: Vec<String> = config
        .select(&[])
        .unwrap()
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert!(!default.contains(&"tu".to_string()), "{default:?}");
    assert!(default.contains(&"chains".to_string()), "{default:?}");
    let named = config.select(&["tu".into()]).unwrap();
    assert_eq!(named.len(), 1);
    // So a fresh checkout, without any downloaded dataset, plans its tables: the config's
    // data directory is only read for the tables that need it.
    let dir = workspace("nowhere", |_, t| t);
    let plan = Command::new(env!("CARGO_BIN_EXE_hogwild"))
        .args(["plan", "--profile", "toy", "--table", "chains", "--config"])
        .arg(dir.path().join("harness.toml"))
        .output()
        .unwrap();
    assert!(
        plan.status.success(),
        "{}",
        String::from_utf8_lossy(&plan.stderr)
    );
}

/// Runs `--table tu`, expects it to fail before any run with all of `needles` in its error.
fn expect_refused(dir: &Path, needles: &[&str]) {
    let o = reproduce(dir, "out", &["--table", "tu"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "should fail: {err}");
    for n in needles {
        assert!(err.contains(n), "error lacks {n:?}: {err}");
    }
    assert!(
        !dir.join("out/tu/records").exists(),
        "a run started despite the error"
    );
}

#[test]
fn a_missing_data_directory_is_named_with_its_key_and_line() {
    let dir = workspace("nowhere", |_, t| t);
    let line = HARNESS
        .lines()
        .position(|l| l == DATA_DIR_LINE || l.starts_with(DATA_DIR_LINE));
    let line = format!("harness.toml, line {}: ", line.unwrap() + 1);
    expect_refused(
        dir.path(),
        &[
            &line,
            "data_dir",
            "nowhere",
            "no such directory",
            "TOY",
            "Real datasets",
        ],
    );
    // Without a data_dir line, the default (next to the config file) is named as such.
    let config = std::fs::read_to_string(dir.path().join("harness.toml")).unwrap();
    let config: String = config
        .lines()
        .filter(|l| !l.starts_with("data_dir = "))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(dir.path().join("harness.toml"), config).unwrap();
    expect_refused(
        dir.path(),
        &[
            "datasets/data",
            "no such directory",
            "default: datasets/data, next to the config file",
        ],
    );
}

#[test]
fn a_missing_dataset_and_a_malformed_file_are_named() {
    // The data directory is there, the dataset is not.
    let dir = workspace("data", |_, t| t);
    let config = std::fs::read_to_string(dir.path().join("harness.toml")).unwrap();
    let config = config.replacen(r#"name = "TOY""#, r#"name = "TOYS""#, 1);
    std::fs::write(dir.path().join("harness.toml"), &config).unwrap();
    // The line is the profile's column, which the toy profile overrides.
    let line = config
        .lines()
        .position(|l| l.contains(r#"label = "TOY""#))
        .unwrap()
        + 1;
    let line = format!("harness.toml, line {line}: ");
    expect_refused(
        dir.path(),
        &[&line, "tables.tu.columns[0].dataset", "TOYS_A.txt"],
    );
    // A malformed adjacency line: the file and its line.
    let dir = workspace("data", |suffix, t| {
        if suffix == "A" {
            t.replacen("2, 1\n", "2, x\n", 1)
        } else {
            t
        }
    });
    expect_refused(
        dir.path(),
        &["tables.tu.columns[0].dataset", "TOY_A.txt", "line 2"],
    );
    // A graph label missing: the counts disagree.
    let dir = workspace("data", |suffix, t| {
        if suffix == "graph_labels" {
            t.lines().skip(1).map(|l| format!("{l}\n")).collect()
        } else {
            t
        }
    });
    expect_refused(dir.path(), &["TOY_graph_labels.txt"]);
}

/// The results of every run `plan` holds, computed into `out` on one thread.
fn execute(plan: &Plan, out: &Path) -> Vec<hogwild_harness::sweep::RunResult> {
    let store = RunStore::new(out);
    let sweep = hogwild_harness::sweep::execute_all(
        &plan.config,
        &plan.tables,
        &plan.datasets,
        &plan.runs,
        &store,
        &hogwild_harness::sweep::ExecuteOptions {
            threads: 1,
            force: false,
            verbosity: hogwild_harness::progress::Verbosity::Quiet,
        },
    )
    .unwrap();
    sweep.results
}

#[test]
fn runs_compute_on_the_bytes_their_identity_names_even_when_the_files_change() {
    let dir = workspace("data", |_, t| t);
    let opts = |out: &str| ReproduceOptions {
        config: dir.path().join("harness.toml"),
        profile: "toy".into(),
        tables: vec!["tu".into()],
        out: dir.path().join(out),
        threads: 1,
        force: false,
        verbosity: Default::default(),
        overrides: Default::default(),
    };
    let labels = dir.path().join("data/TU/TOY/TOY_graph_labels.txt");
    let original = std::fs::read_to_string(&labels).unwrap();
    // Labels no longer follow the graphs' shapes: the first half one class, the rest the other.
    let n = original.lines().count();
    let swapped: String = (0..n)
        .map(|g| if g < n / 2 { "1\n" } else { "-1\n" })
        .collect();
    assert_ne!(swapped, original);

    // The plan has read the files; then they change, as an edit during a sweep would.
    let plan = Plan::load(&opts("during")).unwrap();
    std::fs::write(&labels, &swapped).unwrap();
    let during = execute(&plan, &dir.path().join("during"));

    // The same runs on files that never changed: the same ids, the same numbers.
    std::fs::write(&labels, &original).unwrap();
    let unchanged = Plan::load(&opts("unchanged")).unwrap();
    assert_eq!(
        plan.runs.iter().map(|r| &r.id).collect::<Vec<_>>(),
        unchanged.runs.iter().map(|r| &r.id).collect::<Vec<_>>()
    );
    let clean = execute(&unchanged, &dir.path().join("unchanged"));
    let values = |rs: &[hogwild_harness::sweep::RunResult]| -> Vec<Vec<u64>> {
        rs.iter()
            .map(|r| r.evaluations.iter().map(|e| e.value.to_bits()).collect())
            .collect()
    };
    assert_eq!(values(&during), values(&clean));

    // The changed files are another dataset: no record of the old one is reused for them.
    std::fs::write(&labels, &swapped).unwrap();
    let changed = Plan::load(&opts("during")).unwrap();
    for (a, b) in plan.runs.iter().zip(&changed.runs) {
        assert_ne!(a.id, b.id, "{}", a.spec.label());
        assert!(matches!(
            RunStore::new(&dir.path().join("during")).load(&b.spec, &b.id),
            Lookup::Missing
        ));
    }
    // And the change matters: runs on the changed files give other numbers, which the
    // runs above would have recorded had they read the files again.
    let other = execute(&changed, &dir.path().join("changed"));
    assert_ne!(values(&other), values(&clean));
}

/// TOY's files as a zip archive, as the TUDataset collection ships a dataset (`TOY/...`).
fn toy_zip() -> Vec<u8> {
    use std::io::Write;
    let mut bytes = std::io::Cursor::new(vec![]);
    {
        let mut zip = zip::ZipWriter::new(&mut bytes);
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (suffix, text) in toy_files() {
            zip.start_file(format!("TOY/TOY_{suffix}.txt"), options)
                .unwrap();
            zip.write_all(text.as_bytes()).unwrap();
        }
        zip.start_file("TOY/README.txt", options).unwrap();
        zip.write_all(b"not read").unwrap();
        zip.start_file("../escape/TOY_A.txt", options).unwrap();
        zip.write_all(b"a path outside the archive").unwrap();
        zip.finish().unwrap();
    }
    bytes.into_inner()
}

fn hogwild(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hogwild"))
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn a_fetched_zip_runs_and_a_wrong_pin_stops_before_any_run() {
    // A fresh checkout: the config, no data.
    let dir = workspace("data", |_, t| t);
    std::fs::remove_dir_all(dir.path().join("data")).unwrap();
    std::fs::write(dir.path().join("TOY.zip"), toy_zip()).unwrap();
    let fetched = hogwild(dir.path(), &["data", "fetch", "TOY", "--from", "TOY.zip"]);
    assert!(
        fetched.status.success(),
        "{}",
        String::from_utf8_lossy(&fetched.stderr)
    );
    let said = String::from_utf8(fetched.stdout).unwrap();
    let sha256 = said.split("sha256 ").nth(1).unwrap()[..64].to_string();
    let root = dir.path().join("data/TU/TOY");
    let mut names: Vec<String> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names.len(), 5, "only TOY's own text files: {names:?}");
    assert!(!dir.path().join("escape").exists());
    let run = reproduce(dir.path(), "first", &["--table", "tu"]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let checked = hogwild(
        dir.path(),
        &["data", "check", "--profile", "toy", "--table", "tu"],
    );
    let text = String::from_utf8(checked.stdout).unwrap();
    assert!(
        text.contains(&format!(
            "ok   TOY (tables.tu.columns[0]): sha256 {sha256}, not pinned"
        )),
        "{text}"
    );

    // Pinned: the right hash runs; another stops before any run, naming key and line.
    let config = std::fs::read_to_string(dir.path().join("harness.toml")).unwrap();
    let pin = |hash: &str| {
        config.replace(
            r#"dataset = { kind = "tu", name = "TOY" }"#,
            &format!(r#"dataset = {{ kind = "tu", name = "TOY", sha256 = "{hash}" }}"#),
        )
    };
    std::fs::write(dir.path().join("harness.toml"), pin(&sha256)).unwrap();
    assert!(reproduce(dir.path(), "out2", &["--table", "tu"])
        .status
        .success());
    std::fs::write(dir.path().join("harness.toml"), pin(&"ab".repeat(32))).unwrap();
    let line = pin("x")
        .lines()
        .position(|l| l.contains("sha256 = \"x\""))
        .unwrap()
        + 1;
    expect_refused(
        dir.path(),
        &[
            &format!("harness.toml, line {line}: tables.tu.columns[0].dataset.sha256"),
            &sha256,
            "hogwild data fetch TOY",
        ],
    );
    let checked = hogwild(
        dir.path(),
        &["data", "check", "--profile", "toy", "--table", "tu"],
    );
    assert_eq!(checked.status.code(), Some(1));
}

#[test]
fn fetch_downloads_the_zip_and_the_data_directory_can_be_given() {
    use std::io::{Read, Write};
    // A one-request HTTP server standing in for the TUDataset collection.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut request = [0u8; 4096];
        let n = stream.read(&mut request).unwrap();
        let request = String::from_utf8_lossy(&request[..n]).into_owned();
        let body = toy_zip();
        write!(
            stream,
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .unwrap();
        stream.write_all(&body).unwrap();
        request
    });
    let dir = workspace("nowhere", |_, t| t);
    let elsewhere = dir.path().join("elsewhere");
    let fetched = Command::new(env!("CARGO_BIN_EXE_hogwild"))
        .current_dir(dir.path())
        .env("HOGWILD_TU_URL", format!("http://{address}/datasets"))
        .args(["data", "fetch", "TOY", "--data-dir", "elsewhere"])
        .output()
        .unwrap();
    assert!(
        fetched.status.success(),
        "{}",
        String::from_utf8_lossy(&fetched.stderr)
    );
    assert!(server.join().unwrap().starts_with("GET /datasets/TOY.zip "));
    assert!(elsewhere.join("TU/TOY/TOY_A.txt").is_file());
    // The config's data_dir ("nowhere") has no data; HOGWILD_DATA_DIR points elsewhere.
    let run = Command::new(env!("CARGO_BIN_EXE_hogwild"))
        .current_dir(dir.path())
        .env("HOGWILD_DATA_DIR", &elsewhere)
        .args([
            "reproduce",
            "--profile",
            "toy",
            "--table",
            "tu",
            "--out",
            "out",
        ])
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    // A missing directory given on the command line is named as given.
    let run = Command::new(env!("CARGO_BIN_EXE_hogwild"))
        .current_dir(dir.path())
        .args([
            "plan",
            "--profile",
            "toy",
            "--table",
            "tu",
            "--data-dir",
            "missing",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(err.contains("(set by --data-dir missing"), "{err}");
}
