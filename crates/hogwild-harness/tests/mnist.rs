//! MNIST terrain through the command line: `data fetch MNIST --from DIR` takes the four
//! gzipped IDX files, checks them and prints their hashes; the optional `iclr-mnist` table
//! runs end to end on a small fixture, the same bytes with one thread or two; files other
//! than the pinned ones, or a split with fewer images than asked for, stop the sweep before
//! any run, naming the key and the line.

use hogwild_datasets::mnist::{idx_files, Split, SIDE};
use hogwild_harness::report::DETERMINISTIC_FILES;
use std::path::Path;
use std::process::{Command, Output};

const HARNESS: &str = include_str!("../../../harness.toml");
const DATA_DIR_LINE: &str = r#"data_dir = "datasets/data""#;

/// `count` synthetic digits: image `k` is a bright 10 × 10 square placed by its class
/// `k % 3`, so a model can tell the classes apart.
fn digits(count: usize) -> (Vec<Vec<u8>>, Vec<u8>) {
    let images = (0..count)
        .map(|k| {
            let mut img = vec![0u8; SIDE * SIDE];
            let corner = 2 + 7 * (k % 3);
            for r in corner..corner + 10 {
                for c in corner..corner + 10 {
                    img[r * SIDE + c] = 200 + (k % 50) as u8;
                }
            }
            img
        })
        .collect();
    (images, (0..count).map(|k| (k % 3) as u8).collect())
}

/// A directory holding the four MNIST files of the fixture (`from/`), and a
/// `harness.toml` (the committed one, data in `data/`) with a `toy` profile whose
/// `iclr-mnist` table reads `images` of the 12 training images.
fn workspace(pin: Option<&str>, images: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let from = dir.path().join("from");
    std::fs::create_dir_all(&from).unwrap();
    for (split, count) in [(Split::Train, 12), (Split::Test, 6)] {
        let (images, labels) = digits(count);
        for (name, bytes) in split.files().iter().zip(idx_files(&images, &labels)) {
            std::fs::write(from.join(name), bytes).unwrap();
        }
    }
    assert!(HARNESS.contains(DATA_DIR_LINE));
    let pin = pin.map_or(String::new(), |p| format!(", sha256 = \"{p}\""));
    let config = HARNESS.replacen(DATA_DIR_LINE, r#"data_dir = "data""#, 1)
        + &format!(
            r#"
[profiles.toy.tables.iclr-mnist]
seeds = [0]
folds = 2
orderings = 2
model_settings = {{ gcn = {{ train = {{ epochs = 5 }} }}, gat = {{ train = {{ epochs = 5 }} }}, ignn = {{ train = {{ epochs = 3 }} }}, gsdgnn = {{ train = {{ epochs = 3 }} }}, energy = {{ train = {{ epochs = 1 }} }} }}
columns = [
  {{ label = "TOY", dataset = {{ kind = "mnist-terrain", graphs = {images}, nodes = 8, radius = 14.0{pin} }} }},
]
"#
        );
    std::fs::write(dir.path().join("harness.toml"), config).unwrap();
    dir
}

fn hogwild(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hogwild"))
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap()
}

fn reproduce(dir: &Path, out: &str, jobs: &str) -> Output {
    hogwild(
        dir,
        &[
            "reproduce",
            "--profile",
            "toy",
            "--table",
            "iclr-mnist",
            "-j",
            jobs,
            "--out",
            out,
        ],
    )
}

/// The train split's SHA-256, as `data fetch MNIST` prints it.
fn fetch(dir: &Path) -> String {
    let fetched = hogwild(dir, &["data", "fetch", "MNIST", "--from", "from"]);
    let text = String::from_utf8_lossy(&fetched.stdout).into_owned();
    assert!(
        fetched.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&fetched.stderr)
    );
    for split in [Split::Train, Split::Test] {
        for name in split.files() {
            assert!(dir.join("data/MNIST").join(name).is_file(), "{name}");
        }
    }
    let train = text.split("train sha256 ").nth(1).unwrap();
    train[..64].to_string()
}

#[test]
fn the_mnist_table_runs_end_to_end_from_fetched_files_deterministically() {
    let dir = workspace(None, 12);
    let sha256 = fetch(dir.path());
    let one = reproduce(dir.path(), "one", "1");
    assert!(
        one.status.success(),
        "{}",
        String::from_utf8_lossy(&one.stderr)
    );
    let two = reproduce(dir.path(), "two", "2");
    assert!(two.status.success());
    let table = std::fs::read_to_string(dir.path().join("one/iclr-mnist/table.md")).unwrap();
    assert!(table.contains("| model | TOY |"), "{table}");
    for row in [
        "GCN (sync)",
        "GAT (async)",
        "IGNN (async)",
        "GSDGNN (async)",
    ] {
        assert!(table.contains(&format!("| {row} |")), "{row}: {table}");
    }
    let runs = std::fs::read_to_string(dir.path().join("one/iclr-mnist/runs.csv")).unwrap();
    let header: Vec<&str> = runs.lines().next().unwrap().split(',').collect();
    // The dataset's identity is the one quoted field (it holds commas).
    let row = runs.lines().nth(1).unwrap();
    let (before, rest) = row.split_once('"').unwrap();
    let (_, after) = rest.split_once('"').unwrap();
    // `before` ends at the field's comma (an empty field in its place), `after` starts at
    // the next one.
    let first: Vec<&str> = before.split(',').chain(after.split(',').skip(1)).collect();
    let cell = |name: &str| first[header.iter().position(|h| *h == name).unwrap()];
    assert_eq!(
        (cell("graphs"), cell("nodes"), cell("radius")),
        ("12", "8", "14.0")
    );
    assert!(runs.contains(&format!("radius=14,seed=0,sha256={sha256})")));
    for file in DETERMINISTIC_FILES.iter().chain(&["folds.csv"]) {
        let a = std::fs::read(dir.path().join("one/iclr-mnist").join(file)).unwrap();
        let b = std::fs::read(dir.path().join("two/iclr-mnist").join(file)).unwrap();
        assert!(a == b, "iclr-mnist/{file} differs between -j 1 and -j 2");
    }
    let checked = hogwild(
        dir.path(),
        &["data", "check", "--profile", "toy", "--table", "iclr-mnist"],
    );
    let text = String::from_utf8_lossy(&checked.stdout);
    assert!(
        text.contains(&format!(
            "ok   MNIST (tables.iclr-mnist.columns[0]): sha256 {sha256}, not pinned"
        )),
        "{text}"
    );
}

#[test]
fn other_files_than_the_pinned_ones_stop_the_sweep_before_any_run() {
    let dir = workspace(Some(&"ab".repeat(32)), 12);
    let sha256 = fetch(dir.path());
    let out = reproduce(dir.path(), "out", "1");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    let config = std::fs::read_to_string(dir.path().join("harness.toml")).unwrap();
    let line = config
        .lines()
        .position(|l| l.contains(&"ab".repeat(32)))
        .unwrap()
        + 1;
    for needle in [
        format!("harness.toml, line {line}: tables.iclr-mnist.columns[0].dataset.sha256"),
        sha256,
        "hogwild data fetch MNIST".to_string(),
    ] {
        assert!(err.contains(&needle), "error lacks {needle:?}: {err}");
    }
    assert!(!dir.path().join("out/iclr-mnist/records").exists());
    // Asking for more images than the split holds is named the same way.
    let dir = workspace(None, 13);
    fetch(dir.path());
    let out = reproduce(dir.path(), "out", "1");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(
            "tables.iclr-mnist.columns[0].dataset.graphs = 13: MNIST's training file has 12 images"
        ),
        "{err}"
    );
}

#[test]
fn fetch_refuses_files_that_are_not_mnist_and_keeps_the_old_copy() {
    let dir = workspace(None, 12);
    fetch(dir.path());
    let before = std::fs::read(dir.path().join("data/MNIST/train-labels-idx1-ubyte.gz")).unwrap();
    std::fs::write(
        dir.path().join("from/train-labels-idx1-ubyte.gz"),
        b"not gzip",
    )
    .unwrap();
    let fetched = hogwild(dir.path(), &["data", "fetch", "MNIST", "--from", "from"]);
    let err = String::from_utf8_lossy(&fetched.stderr);
    assert!(!fetched.status.success());
    assert!(
        err.contains("the fetched files do not read as MNIST")
            && err.contains("train-labels-idx1-ubyte.gz, line 0: not a gzipped IDX file"),
        "{err}"
    );
    let after = std::fs::read(dir.path().join("data/MNIST/train-labels-idx1-ubyte.gz")).unwrap();
    assert_eq!(before, after);
}

#[test]
fn fetch_downloads_the_four_files_from_the_mirror() {
    use std::io::{Read, Write};
    let dir = workspace(None, 12);
    // An HTTP server standing in for the mirror: serves the fixture's files by name.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let from = dir.path().join("from");
    let server = std::thread::spawn(move || {
        let mut asked = vec![];
        for _ in 0..4 {
            let (mut stream, _) = listener.accept().unwrap();
            let mut request = [0u8; 4096];
            let n = stream.read(&mut request).unwrap();
            let request = String::from_utf8_lossy(&request[..n]).into_owned();
            let path = request.split(' ').nth(1).unwrap().to_string();
            let body = std::fs::read(from.join(path.rsplit('/').next().unwrap())).unwrap();
            write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            )
            .unwrap();
            stream.write_all(&body).unwrap();
            asked.push(path);
        }
        asked
    });
    let fetched = Command::new(env!("CARGO_BIN_EXE_hogwild"))
        .current_dir(dir.path())
        .env("HOGWILD_MNIST_URL", format!("http://{address}/mnist/"))
        .args(["data", "fetch", "MNIST"])
        .output()
        .unwrap();
    assert!(
        fetched.status.success(),
        "{}",
        String::from_utf8_lossy(&fetched.stderr)
    );
    let mut asked = server.join().unwrap();
    asked.sort();
    assert_eq!(
        asked,
        [
            "/mnist/t10k-images-idx3-ubyte.gz",
            "/mnist/t10k-labels-idx1-ubyte.gz",
            "/mnist/train-images-idx3-ubyte.gz",
            "/mnist/train-labels-idx1-ubyte.gz"
        ]
    );
    assert!(dir
        .path()
        .join("data/MNIST/t10k-labels-idx1-ubyte.gz")
        .is_file());
}

#[test]
fn a_fetch_is_refused_while_another_process_holds_the_data_directory() {
    let dir = workspace(None, 12);
    let held = hogwild_harness::outdir::lock(&dir.path().join("data"), "data_dir").unwrap();
    let fetched = hogwild(dir.path(), &["data", "fetch", "MNIST", "--from", "from"]);
    let err = String::from_utf8_lossy(&fetched.stderr);
    assert!(!fetched.status.success());
    assert!(
        err.contains("is in use by hogwild process") && err.contains("choose another data_dir"),
        "{err}"
    );
    assert!(!dir.path().join("data/MNIST").exists());
    drop(held);
    fetch(dir.path());
}
