//! Graph-classification benchmarks in the TU format (Morris et al., "TUDataset", 2020):
//! MUTAG, PROTEINS, PTC_MR, NCI1, IMDB-BINARY, IMDB-MULTI, read from the data directory.
//!
//! A dataset `NAME` lives in `DATA_DIR/TU/NAME/` (or PyTorch Geometric's
//! `DATA_DIR/NAME/raw/`: [`dir`]) as the text files of the TUDataset zip:
//! `NAME_A.txt` (one directed edge `row, col` per line, 1-based node ids global across
//! graphs), `NAME_graph_indicator.txt` (the graph of each node), `NAME_graph_labels.txt`
//! (one label per graph) and optionally `NAME_node_labels.txt` and `NAME_edge_labels.txt`
//! (same order as `NAME_A.txt`).
//!
//! What the models see (ours, as PyTorch Geometric's `TUDataset` with its defaults):
//! - node features: one-hot node labels; without node labels, one-hot degrees (PyG's
//!   `OneHotDegree`, as usual for IMDB); continuous node attributes are not used;
//! - edge features: one-hot edge labels when the dataset has them (read only by models that
//!   use edge features: the energy GNN);
//! - targets: the graph's class (labels sorted, numbered from 0) on every node, so every
//!   node predicts its graph's class, as COUNT and SUM ask every node for a graph quantity;
//! - edges listed twice (IMDB) are kept once; self-loops and one-way edges are errors.
//!
//! The identity, `tu(name=NAME,sha256=HEX)`, holds the SHA-256 of the bytes that were
//! parsed (each file is read once): for each file read, in the order above, its name, its
//! length (8 bytes, little-endian) and its bytes. A record made from other files is never
//! reused, wherever the data directory is; a config can pin the hash
//! (`{ kind = "tu", name = "MUTAG", sha256 = "..." }`), and other files are then refused.
//!
//! Only regular files are read (a FIFO or a device would block or never end), each at most
//! [`MAX_FILE_BYTES`], and the dense feature matrices are checked against the memory
//! budget before they are allocated.

use crate::{Dataset, DatasetError, Task};
use hogwild_graph::{Graph, Sample, Targets};
use hogwild_settings::{Bytes, InvalidSetting, MemoryBudget};
use ndarray::Array2;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Where `name`'s files are under `data_dir`: the first of `DATA_DIR/TU/NAME/` (the
/// TUDataset zip unpacked under `TU/`), `DATA_DIR/TU/NAME/raw/` and `DATA_DIR/NAME/raw/`
/// (PyTorch Geometric's `TUDataset(root=DATA_DIR, name=NAME)` cache) that holds
/// `NAME_A.txt`; `DATA_DIR/TU/NAME/` when none does (errors name it).
pub fn dir(data_dir: &Path, name: &str) -> PathBuf {
    let ours = data_dir.join("TU").join(name);
    [
        ours.clone(),
        ours.join("raw"),
        data_dir.join(name).join("raw"),
    ]
    .into_iter()
    .find(|d| d.join(format!("{name}_A.txt")).symlink_metadata().is_ok())
    .unwrap_or(ours)
}

/// The largest data file read (the largest TU benchmark files are a few hundred MiB).
pub const MAX_FILE_BYTES: u64 = 1 << 30;

/// One parsed text file: its path and its non-empty lines with their 1-based numbers.
struct File {
    path: PathBuf,
    lines: Vec<(usize, String)>,
}

/// The bytes of the regular file at `path`, at most [`MAX_FILE_BYTES`] of them. The checks
/// are made on the opened file, so a file swapped for a FIFO after a check is still refused.
pub(crate) fn read_regular(path: &Path) -> Result<Vec<u8>, DatasetError> {
    use std::io::Read;
    let unreadable = |why: String| DatasetError::Unreadable {
        path: path.to_path_buf(),
        why,
    };
    let mut file = open_no_block(path).map_err(|e| unreadable(e.to_string()))?;
    let meta = file.metadata().map_err(|e| unreadable(e.to_string()))?;
    if !meta.is_file() {
        return Err(unreadable(format!(
            "not a regular file (a {}); data files must be regular files",
            kind_of(&meta.file_type())
        )));
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(DatasetError::TooLarge {
            path: path.to_path_buf(),
            why: format!(
                "{} bytes, more than the {} a data file may have",
                meta.len(),
                hogwild_settings::bytes_text(MAX_FILE_BYTES)
            ),
        });
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    (&mut file)
        .take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| unreadable(e.to_string()))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(DatasetError::TooLarge {
            path: path.to_path_buf(),
            why: format!(
                "grew past {} while being read",
                hogwild_settings::bytes_text(MAX_FILE_BYTES)
            ),
        });
    }
    Ok(bytes)
}

/// Opens `path` for reading without blocking on a FIFO that has no writer (the check that
/// it is a regular file comes after opening).
fn open_no_block(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    options.open(path)
}

fn kind_of(t: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "FIFO";
        }
        if t.is_char_device() || t.is_block_device() {
            return "device";
        }
        if t.is_socket() {
            return "socket";
        }
    }
    if t.is_dir() {
        "directory"
    } else {
        "special file"
    }
}

impl File {
    fn read(path: PathBuf, hash: &mut Sha256) -> Result<File, DatasetError> {
        let bytes = crate::read_hashed(&path, hash)?;
        let text = String::from_utf8(bytes).map_err(|_| DatasetError::Malformed {
            path: path.clone(),
            line: 0,
            why: "not UTF-8 text".into(),
        })?;
        let lines = text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(i, l)| (i + 1, l.trim().to_string()))
            .collect();
        Ok(File { path, lines })
    }

    fn malformed(&self, line: usize, why: impl Into<String>) -> DatasetError {
        DatasetError::Malformed {
            path: self.path.clone(),
            line,
            why: why.into(),
        }
    }

    /// Every line as one integer.
    fn integers(&self) -> Result<Vec<i64>, DatasetError> {
        self.lines
            .iter()
            .map(|(n, l)| {
                l.parse::<i64>()
                    .map_err(|_| self.malformed(*n, format!("expected an integer, found {l:?}")))
            })
            .collect()
    }

    /// One integer label per line, `expected` of them (`{n} {what} labels for {expected}
    /// {of}` otherwise), as [`codes`].
    fn label_codes(
        &self,
        expected: usize,
        what: &str,
        of: &str,
    ) -> Result<(Vec<i64>, Vec<usize>), DatasetError> {
        let labels = self.integers()?;
        if labels.len() != expected {
            return Err(self.malformed(
                self.lines.last().map_or(0, |l| l.0),
                format!("{} {what} labels for {expected} {of}", labels.len()),
            ));
        }
        Ok(codes(&labels))
    }

    /// Every line as `a, b` (1-based node ids).
    fn pairs(&self) -> Result<Vec<(usize, usize, usize)>, DatasetError> {
        self.lines
            .iter()
            .map(|(n, l)| {
                let mut parts = l.split(',').map(str::trim);
                match (
                    parts.next().and_then(|a| a.parse::<usize>().ok()),
                    parts.next().and_then(|b| b.parse::<usize>().ok()),
                    parts.next(),
                ) {
                    (Some(a), Some(b), None) if a >= 1 && b >= 1 => Ok((*n, a, b)),
                    _ => Err(self.malformed(
                        *n,
                        format!("expected `row, col` with 1-based node ids, found {l:?}"),
                    )),
                }
            })
            .collect()
    }
}

/// The distinct values of `values`, sorted, and each value's index among them.
fn codes(values: &[i64]) -> (Vec<i64>, Vec<usize>) {
    let distinct: Vec<i64> = values
        .iter()
        .copied()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let index: BTreeMap<i64, usize> = distinct.iter().enumerate().map(|(i, &v)| (v, i)).collect();
    (distinct, values.iter().map(|v| index[v]).collect())
}

/// Checks a dataset name: a plain file-name part (no separators, not hidden).
pub fn check_name(name: &str) -> Result<(), InvalidSetting> {
    let plain = !name.is_empty()
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if plain {
        Ok(())
    } else {
        Err(InvalidSetting::new(
            "name",
            format!("{name:?}"),
            "a dataset name of letters, digits, '_', '-' and '.', e.g. \"MUTAG\" (its files are DATA_DIR/TU/NAME/NAME_A.txt, ...)",
        ))
    }
}

/// Loads TU dataset `name` from [`dir`], within the machine's memory.
pub fn load(data_dir: &Path, name: &str) -> Result<Dataset, DatasetError> {
    load_within(data_dir, name, None, &MemoryBudget::machine())
}

/// Loads TU dataset `name` from [`dir`], refusing files whose SHA-256 (see the identity)
/// is not `pin`, when given, and files whose dataset would not fit in `budget`.
pub fn load_within(
    data_dir: &Path,
    name: &str,
    pin: Option<&str>,
    budget: &MemoryBudget,
) -> Result<Dataset, DatasetError> {
    check_name(name)?;
    if !data_dir.is_dir() {
        return Err(DatasetError::MissingDataDir {
            path: data_dir.into(),
        });
    }
    let root = dir(data_dir, name);
    let file = |suffix: &str| root.join(format!("{name}_{suffix}.txt"));
    let mut hash = Sha256::new();
    let edges_file = File::read(file("A"), &mut hash)?;
    let indicator_file = File::read(file("graph_indicator"), &mut hash)?;
    let labels_file = File::read(file("graph_labels"), &mut hash)?;
    let optional = |suffix: &str, hash: &mut Sha256| {
        let path = file(suffix);
        // A dangling link or an unreadable entry is read (and reported), not skipped.
        let present = path.symlink_metadata().is_ok();
        present.then(|| File::read(path, hash)).transpose()
    };
    let node_labels_file = optional("node_labels", &mut hash)?;
    let edge_labels_file = optional("edge_labels", &mut hash)?;
    let digest = crate::pinned_digest(hash, pin, &root, &format!("hogwild data fetch {name}"))?;

    // Nodes by graph: graph ids must run 1..=G in order, each graph's nodes contiguous.
    let indicator = indicator_file.integers()?;
    let graph_labels = labels_file.integers()?;
    let n_graphs = graph_labels.len();
    let mut first_node = vec![0usize; n_graphs + 1];
    let mut current = 0usize; // graphs started so far
    for (node, (&g, (line, _))) in indicator.iter().zip(&indicator_file.lines).enumerate() {
        if g < 1 {
            return Err(
                indicator_file.malformed(*line, format!("graph id {g}: graph ids start at 1"))
            );
        }
        if g == current as i64 {
            continue;
        }
        if g != current as i64 + 1 {
            return Err(indicator_file.malformed(
                *line,
                format!("graph id {g} after graph {current}: ids must run 1, 2, ... in node order"),
            ));
        }
        if current == n_graphs {
            return Err(indicator_file.malformed(
                *line,
                format!(
                    "graph {g}, but {} has {n_graphs} labels",
                    labels_file.path.display()
                ),
            ));
        }
        first_node[current] = node;
        current += 1;
    }
    if current != n_graphs {
        return Err(indicator_file.malformed(
            indicator_file.lines.last().map_or(0, |l| l.0),
            format!(
                "nodes of {current} graphs, but {} has {n_graphs} labels",
                labels_file.path.display()
            ),
        ));
    }
    let n_nodes = indicator.len();
    first_node[n_graphs] = n_nodes;
    let graph_of: Vec<usize> = indicator.iter().map(|&g| g as usize - 1).collect();

    let node_codes = node_labels_file
        .as_ref()
        .map(|f| f.label_codes(n_nodes, "node", "nodes"))
        .transpose()?;
    let edge_pairs = edges_file.pairs()?;
    let edges_in = format!("edges in {}", edges_file.path.display());
    let edge_codes = edge_labels_file
        .as_ref()
        .map(|f| f.label_codes(edge_pairs.len(), "edge", &edges_in))
        .transpose()?;

    // Edges per graph, local ids, each directed edge once (first occurrence).
    let mut per_graph: Vec<Vec<(usize, usize, usize)>> = vec![vec![]; n_graphs];
    let mut seen = BTreeSet::new();
    for (e, &(line, a, b)) in edge_pairs.iter().enumerate() {
        let (src, dst) = (a - 1, b - 1);
        if src >= n_nodes || dst >= n_nodes {
            return Err(edges_file.malformed(
                line,
                format!("node {} but there are {n_nodes} nodes", a.max(b)),
            ));
        }
        if src == dst {
            return Err(edges_file.malformed(line, format!("self-loop on node {a}")));
        }
        let g = graph_of[src];
        if graph_of[dst] != g {
            return Err(edges_file.malformed(
                line,
                format!(
                    "edge joins graph {} and graph {}",
                    graph_of[src] + 1,
                    graph_of[dst] + 1
                ),
            ));
        }
        if seen.insert((src, dst)) {
            per_graph[g].push((src - first_node[g], dst - first_node[g], e));
        }
    }
    for &(src, dst) in &seen {
        if !seen.contains(&(dst, src)) {
            let line = edge_pairs
                .iter()
                .find(|&&(_, a, b)| (a - 1, b - 1) == (src, dst))
                .map_or(0, |p| p.0);
            return Err(edges_file.malformed(
                line,
                format!(
                    "edge {}, {} has no reverse edge {}, {}: graphs must be undirected",
                    src + 1,
                    dst + 1,
                    dst + 1,
                    src + 1
                ),
            ));
        }
    }

    // Node features: one-hot labels, or one-hot degrees without labels.
    let (width, node_code): (usize, Vec<usize>) = match node_codes {
        Some((distinct, code)) => (distinct.len(), code),
        None => {
            let mut degree = vec![0usize; n_nodes];
            for &(src, _) in &seen {
                degree[src] += 1;
            }
            let max = degree.iter().copied().max().unwrap_or(0);
            (max + 1, degree)
        }
    };
    // The dense features are the largest allocation; a hostile file (every node its own
    // label, or a star of a million nodes) could ask for terabytes.
    let features_bytes = Bytes::f64s((n_nodes as u64).saturating_mul(width as u64));
    if features_bytes.get() > budget.bytes {
        let blamed = node_labels_file.as_ref().unwrap_or(&edges_file);
        return Err(DatasetError::TooLarge {
            path: blamed.path.clone(),
            why: format!(
                "{n_nodes} nodes with one-hot features {width} wide need {}, more than {}",
                hogwild_settings::bytes_text(features_bytes.get()),
                budget.describe()
            ),
        });
    }
    let (classes, class) = codes(&graph_labels);
    if classes.len() < 2 {
        return Err(labels_file.malformed(
            labels_file.lines.first().map_or(0, |l| l.0),
            "every graph has the same label: classification needs two classes",
        ));
    }
    let mut samples = Vec::with_capacity(n_graphs);
    for g in 0..n_graphs {
        let nodes = first_node[g]..first_node[g + 1];
        let mut features = Array2::zeros((nodes.len(), width));
        for (row, node) in nodes.clone().enumerate() {
            features[[row, node_code[node]]] = 1.0;
        }
        let edges: Vec<(usize, usize, f64)> =
            per_graph[g].iter().map(|&(s, d, _)| (s, d, 1.0)).collect();
        let edge_features = edge_codes.as_ref().map(|(distinct, code)| {
            let mut f = Array2::zeros((edges.len(), distinct.len()));
            for (row, &(_, _, e)) in per_graph[g].iter().enumerate() {
                f[[row, code[e]]] = 1.0;
            }
            f
        });
        let graph = Graph::from_weighted_edges(nodes.len(), &edges, edge_features)
            .expect("edges checked above");
        samples.push(Sample {
            graph,
            features,
            targets: Targets::Classes(vec![class[g]; nodes.len()]),
        });
    }
    Ok(Dataset {
        identity: format!("tu(name={name},sha256={digest})"),
        task: Task::Classification {
            classes: classes.len(),
        },
        samples,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes a TU dataset `name` under a fresh temporary data directory.
    fn write(name: &str, files: &[(&str, &str)]) -> tempfile::TempDir {
        let data = tempfile::tempdir().unwrap();
        let root = dir(data.path(), name);
        std::fs::create_dir_all(&root).unwrap();
        for (suffix, text) in files {
            std::fs::write(root.join(format!("{name}_{suffix}.txt")), text).unwrap();
        }
        data
    }

    /// Two graphs: a triangle (nodes 1-3, label -1) and an edge (nodes 4-5, label 1).
    fn toy() -> Vec<(&'static str, &'static str)> {
        vec![
            ("A", "1, 2\n2, 1\n2, 3\n3, 2\n1, 3\n3, 1\n4, 5\n5, 4\n"),
            ("graph_indicator", "1\n1\n1\n2\n2\n"),
            ("graph_labels", "-1\n1\n"),
            ("node_labels", "0\n3\n0\n3\n3\n"),
            ("edge_labels", "1\n1\n0\n0\n1\n1\n2\n2\n"),
        ]
    }

    #[test]
    fn loads_graphs_features_and_labels() {
        let data = write("TOY", &toy());
        let d = load(data.path(), "TOY").unwrap();
        assert_eq!(d.task, Task::Classification { classes: 2 });
        assert_eq!(d.samples.len(), 2);
        assert!(
            d.identity.starts_with("tu(name=TOY,sha256="),
            "{}",
            d.identity
        );
        let (a, b) = (&d.samples[0], &d.samples[1]);
        assert_eq!(a.graph.n_nodes(), 3);
        assert_eq!(a.graph.n_edges(), 6);
        assert!(a.graph.is_symmetric());
        assert_eq!(b.graph.n_edges(), 2);
        // Node labels {0, 3} -> one-hot of width 2.
        assert_eq!(a.features.row(1).to_vec(), vec![0.0, 1.0]);
        assert_eq!(a.features.row(2).to_vec(), vec![1.0, 0.0]);
        // Graph labels {-1, 1} -> classes 0 and 1, on every node.
        assert_eq!(a.targets, Targets::Classes(vec![0; 3]));
        assert_eq!(b.targets, Targets::Classes(vec![1; 2]));
        // Edge labels {0, 1, 2} -> one-hot of width 3, following each edge.
        assert_eq!(a.graph.edge_feature_dim(), 3);
        let e = a.graph.find_edge(2, 1).unwrap(); // 2 -> 3 in file ids: label 0
        assert_eq!(a.graph.edge_features(e).to_vec(), vec![1.0, 0.0, 0.0]);
        let e = b.graph.find_edge(1, 0).unwrap();
        assert_eq!(b.graph.edge_features(e).to_vec(), vec![0.0, 0.0, 1.0]);
    }

    #[test]
    fn without_node_labels_features_are_one_hot_degrees_and_duplicates_are_dropped() {
        let files = [
            ("A", "1, 2\n2, 1\n1, 2\n2, 1\n2, 3\n3, 2\n4, 5\n5, 4\n"),
            ("graph_indicator", "1\n1\n1\n2\n2\n"),
            ("graph_labels", "0\n1\n"),
        ];
        let data = write("DUP", &files);
        let d = load(data.path(), "DUP").unwrap();
        assert_eq!(d.samples[0].graph.n_edges(), 4);
        assert_eq!(d.feature_dim(), 3); // degrees 0..=2
        assert_eq!(d.samples[0].features.row(1).to_vec(), vec![0.0, 0.0, 1.0]);
        assert_eq!(d.samples[0].graph.edge_feature_dim(), 0);
    }

    #[test]
    fn identity_follows_the_file_contents() {
        let data = write("TOY", &toy());
        let before = load(data.path(), "TOY").unwrap().identity;
        let mut files = toy();
        files[2] = ("graph_labels", "1\n-1\n");
        let changed = write("TOY", &files);
        assert_ne!(load(changed.path(), "TOY").unwrap().identity, before);
        let again = write("TOY", &toy());
        assert_eq!(load(again.path(), "TOY").unwrap().identity, before);
    }

    fn error(name: &str, files: &[(&str, &str)]) -> String {
        let data = write(name, files);
        load(data.path(), name).unwrap_err().to_string()
    }

    #[test]
    fn missing_and_malformed_files_name_the_file_and_line() {
        let missing = Path::new("/nonexistent/hogwild-data");
        let err = load(missing, "TOY").unwrap_err();
        assert!(matches!(err, DatasetError::MissingDataDir { .. }), "{err}");
        assert!(
            err.to_string().contains("/nonexistent/hogwild-data"),
            "{err}"
        );

        let data = write("TOY", &toy()[1..]);
        let err = load(data.path(), "TOY").unwrap_err().to_string();
        assert!(err.contains("TOY_A.txt"), "{err}");

        // One file of the toy replaced: (edge labels kept?, file, its text, what the error
        // must say). Edge-file cases drop the edge labels, whose count would be checked first.
        let cases: [(bool, &str, &str, &[&str]); 12] = [
            (
                false,
                "A",
                "1, 2\n2, 1\n2; 3\n",
                &["TOY_A.txt, line 3", "\"2; 3\""],
            ),
            (
                false,
                "A",
                "1, 2\n2, 1\n3, 4\n4, 3\n",
                &["line 3", "joins graph 1 and graph 2"],
            ),
            (
                false,
                "A",
                "1, 2\n2, 1\n2, 3\n",
                &["line 3", "no reverse edge"],
            ),
            (false, "A", "1, 1\n", &["self-loop"]),
            (
                false,
                "A",
                "1, 2\n2, 1\n5, 6\n6, 5\n",
                &["line 3", "node 6 but there are 5 nodes"],
            ),
            (
                false,
                "graph_indicator",
                "1\n1\n2\n1\n2\n",
                &["TOY_graph_indicator.txt, line 4"],
            ),
            (
                false,
                "graph_indicator",
                "1\n1\n1\n1\n1\n",
                &["nodes of 1 graphs"],
            ),
            (
                false,
                "graph_indicator",
                "1\n1\n2\n2\n3\n",
                &["TOY_graph_indicator.txt, line 5", "graph 3, but"],
            ),
            (
                false,
                "node_labels",
                "0\n1\n",
                &["2 node labels for 5 nodes"],
            ),
            (false, "graph_labels", "1\n1\n", &["two classes"]),
            (
                true,
                "edge_labels",
                "0\nx\n",
                &["TOY_edge_labels.txt, line 2"],
            ),
            (
                true,
                "edge_labels",
                "0\n1\n",
                &[
                    "TOY_edge_labels.txt, line 2",
                    "2 edge labels for 8 edges in",
                ],
            ),
        ];
        for (edge_labels, file, text, needles) in cases {
            let mut files = toy();
            if !edge_labels {
                files.pop();
            }
            let slot = files.iter().position(|(f, _)| *f == file).unwrap();
            files[slot] = (file, text);
            let err = error("TOY", &files);
            for needle in needles {
                assert!(err.contains(needle), "{file} = {text:?}: {err}");
            }
        }

        let data = write("TOY", &toy());
        let root = dir(data.path(), "TOY");
        std::fs::write(root.join("TOY_graph_labels.txt"), [0xff, 0xfe, b'\n']).unwrap();
        let err = load(data.path(), "TOY").unwrap_err().to_string();
        assert!(
            err.contains("TOY_graph_labels.txt") && err.contains("not UTF-8"),
            "{err}"
        );

        let data = write("TOY", &toy());
        let err = load(data.path(), "../TOY").unwrap_err().to_string();
        assert!(err.contains("name"), "{err}");
    }

    #[test]
    fn a_pinned_hash_admits_those_files_only() {
        let data = write("TOY", &toy());
        let identity = load(data.path(), "TOY").unwrap().identity;
        let digest = identity
            .strip_prefix("tu(name=TOY,sha256=")
            .and_then(|s| s.strip_suffix(')'))
            .unwrap()
            .to_string();
        assert_eq!(digest.len(), 64);
        let budget = MemoryBudget::of(1 << 30);
        load_within(data.path(), "TOY", Some(&digest), &budget).unwrap();
        let wrong = "0".repeat(64);
        let err = load_within(data.path(), "TOY", Some(&wrong), &budget)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("sha256 = \"000")
                && err.contains(&digest)
                && err.contains("hogwild data fetch TOY"),
            "{err}"
        );
    }

    #[test]
    fn pytorch_geometrics_raw_layout_is_read_too() {
        let ours = write("TOY", &toy());
        let pyg = tempfile::tempdir().unwrap();
        let raw = pyg.path().join("TOY").join("raw");
        std::fs::create_dir_all(&raw).unwrap();
        for (suffix, text) in toy() {
            std::fs::write(raw.join(format!("TOY_{suffix}.txt")), text).unwrap();
        }
        assert_eq!(dir(pyg.path(), "TOY"), raw);
        let a = load(ours.path(), "TOY").unwrap();
        let b = load(pyg.path(), "TOY").unwrap();
        assert_eq!(a.identity, b.identity, "the same files, wherever they are");
        assert_eq!(a.samples, b.samples);
        // Without any files, errors name the TUDataset layout.
        assert_eq!(dir(Path::new("/nowhere"), "X"), Path::new("/nowhere/TU/X"));
    }

    #[test]
    fn graph_id_zero_is_refused_in_the_indicator_file() {
        let mut files = toy();
        files.pop();
        files[1] = ("graph_indicator", "0\n0\n1\n1\n1\n");
        let err = error("TOY", &files);
        assert!(
            err.contains("TOY_graph_indicator.txt, line 1") && err.contains("start at 1"),
            "{err}"
        );
        files[1] = ("graph_indicator", "1\n1\n1\n-2\n2\n");
        let err = error("TOY", &files);
        assert!(err.contains("TOY_graph_indicator.txt, line 4"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn fifos_and_devices_are_refused_without_reading_them() {
        let data = write("TOY", &toy());
        let root = dir(data.path(), "TOY");
        // A FIFO with no writer would block a plain open for ever.
        let fifo = root.join("TOY_node_labels.txt");
        std::fs::remove_file(&fifo).unwrap();
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let err = load(data.path(), "TOY").unwrap_err().to_string();
        assert!(
            err.contains("TOY_node_labels.txt") && err.contains("not a regular file (a FIFO)"),
            "{err}"
        );
        // /dev/zero never ends.
        std::fs::remove_file(&fifo).unwrap();
        std::os::unix::fs::symlink("/dev/zero", &fifo).unwrap();
        let err = load(data.path(), "TOY").unwrap_err().to_string();
        assert!(err.contains("not a regular file (a device)"), "{err}");
        // A link to a regular file is a regular file.
        std::fs::remove_file(&fifo).unwrap();
        let elsewhere = data.path().join("labels.txt");
        std::fs::write(&elsewhere, "0\n3\n0\n3\n3\n").unwrap();
        std::os::unix::fs::symlink(&elsewhere, &fifo).unwrap();
        assert!(load(data.path(), "TOY").is_ok());
        // A dangling optional file is reported, not silently skipped.
        std::fs::remove_file(&elsewhere).unwrap();
        let err = load(data.path(), "TOY").unwrap_err().to_string();
        assert!(err.contains("TOY_node_labels.txt"), "{err}");
    }

    #[test]
    fn features_that_do_not_fit_the_budget_are_refused_before_allocating() {
        let data = write("TOY", &toy());
        let err = load_within(data.path(), "TOY", None, &MemoryBudget::of(64))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("TOY_node_labels.txt")
                && err.contains(
                    "5 nodes with one-hot features 2 wide need 80 B, more than the budget of 64 B"
                ),
            "{err}"
        );
        assert!(load_within(data.path(), "TOY", None, &MemoryBudget::of(80)).is_ok());
    }
}
