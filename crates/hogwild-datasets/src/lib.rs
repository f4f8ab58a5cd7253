//! Datasets for the hogwild experiments.
//!
//! A [`Dataset`] is a named list of [`Sample`]s with a [`Task`]. Generators are
//! deterministic functions of their parameters (and of a named seed where they are random),
//! so a dataset is identified by its name and parameters ([`Dataset::identity`]).
//! Adding a dataset means adding a module with a generator and a [`DatasetSpec`] variant.
//!
//! The AMP generators ([`expressiveness`]: Table 2's benchmarks beyond 1-WL, each with its
//! [`expressiveness::Recipe`]; [`parity`]: Table 3's shortest-path parity graphs) are built
//! per seed and split by their own functions and have no [`DatasetSpec`] variant yet.

use hogwild_graph::Sample;
use hogwild_settings::{Bytes, InvalidSetting, MemoryBudget};

pub mod chains;
pub mod counting;
pub mod expressiveness;
pub mod localisation;
pub mod mnist;
pub mod parity;
pub mod synthetic;
pub mod tu;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// The random stream of a generated dataset: ChaCha8 seeded with SHA-256 of its identity
/// (which names the generator, its parameters and its seed).
pub(crate) fn stream(identity: &str) -> ChaCha8Rng {
    ChaCha8Rng::from_seed(Sha256::digest(format!("dataset/{identity}").as_bytes()).into())
}

/// What the model predicts for every node.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Task {
    /// Node classification into `classes` classes; metric: accuracy.
    Classification {
        /// Number of classes.
        classes: usize,
    },
    /// Node regression of `dim` real outputs; metric: relative RMSE.
    Regression {
        /// Output width.
        dim: usize,
    },
    /// Relative localisation: a position in `dim` dimensions per node, judged only by the
    /// distances within each graph; metric: relative RMSE of the pairwise distances.
    Localisation {
        /// Dimension of the positions.
        dim: usize,
    },
}

impl Task {
    /// Width of the model output for this task.
    pub fn output_dim(&self) -> usize {
        match *self {
            Task::Classification { classes } => classes,
            Task::Regression { dim } | Task::Localisation { dim } => dim,
        }
    }
}

/// A generated or loaded dataset.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// Stable identity: generator name and parameters, e.g. `chains(l=10,classes=2)`.
    pub identity: String,
    /// The task.
    pub task: Task,
    /// The graphs.
    pub samples: Vec<Sample>,
}

impl Dataset {
    /// Width of the node features.
    pub fn feature_dim(&self) -> usize {
        self.samples.first().map_or(0, |s| s.features.ncols())
    }

    /// Total number of nodes.
    pub fn n_nodes(&self) -> usize {
        self.samples.iter().map(|s| s.graph.n_nodes()).sum()
    }
}

/// Errors for impossible dataset parameters and unreadable or malformed data files.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum DatasetError {
    /// The data directory does not exist.
    #[error("data directory {} does not exist (see README.md, \"Real datasets\", for where to get the files)", path.display())]
    MissingDataDir {
        /// The directory.
        path: PathBuf,
    },
    /// A data file cannot be read.
    #[error("cannot read {}: {why}", path.display())]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// Why.
        why: String,
    },
    /// A data file does not have the expected format.
    #[error("{}, line {line}: {why}", path.display())]
    Malformed {
        /// The file.
        path: PathBuf,
        /// 1-based line (0: the whole file).
        line: usize,
        /// What is wrong.
        why: String,
    },
    /// A setting is out of its valid range, or the dataset it asks for cannot fit in
    /// memory; the key is relative to the dataset's table (`length`).
    #[error(transparent)]
    Setting(#[from] InvalidSetting),
    /// A data file would make the dataset larger than the memory budget.
    #[error("{}: {why}", path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// What it would allocate.
        why: String,
    },
}

/// A dataset's size: known from a generator's settings before it is built (an upper bound),
/// or measured ([`DatasetSize::of`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DatasetSize {
    /// Graphs.
    pub graphs: u64,
    /// Nodes, over every graph.
    pub nodes: u64,
    /// Directed edges, over every graph.
    pub edges: u64,
    /// Node feature width.
    pub feature_dim: u64,
    /// Edge feature width.
    pub edge_feature_dim: u64,
    /// Target numbers per node.
    pub target_dim: u64,
}

impl DatasetSize {
    /// The size of `dataset`.
    pub fn of(dataset: &Dataset) -> DatasetSize {
        let first = dataset.samples.first();
        DatasetSize {
            graphs: dataset.samples.len() as u64,
            nodes: dataset.n_nodes() as u64,
            edges: dataset
                .samples
                .iter()
                .map(|s| s.graph.n_edges() as u64)
                .sum(),
            feature_dim: dataset.feature_dim() as u64,
            edge_feature_dim: first.map_or(0, |s| s.graph.edge_feature_dim() as u64),
            target_dim: dataset.task.output_dim() as u64,
        }
    }

    /// What the dataset holds in memory: dense node features and targets, and per edge its
    /// CSR entries (index, weight, normalised weight) and features.
    pub fn memory(&self) -> Bytes {
        let per_node = self
            .feature_dim
            .saturating_add(self.target_dim)
            .saturating_add(2);
        let per_edge = self.edge_feature_dim.saturating_add(3);
        Bytes::f64s(self.nodes.saturating_mul(per_node))
            .plus(Bytes::f64s(self.edges.saturating_mul(per_edge)))
    }
}

/// A dataset request, as written in `harness.toml` (`{ kind = "chains", length = 10, classes = 2 }`).
/// Random generators take a `seed` (default 0); with it, the dataset is fixed.
#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum DatasetSpec {
    /// The chains dataset of Gu et al. / the Hogwild paper.
    Chains {
        /// Nodes per chain.
        length: usize,
        /// Number of classes (one chain per class).
        classes: usize,
        /// With it, one chain per class of every length from `min_length` to `length`
        /// ([`chains::generate_lengths`]): many graphs, for cross-validation.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min_length: Option<usize>,
    },
    /// COUNT (paper §6.2): chains of sizes `1..=max_nodes`; target = size.
    Count {
        /// Largest graph.
        max_nodes: usize,
        /// Number of chains, sizes `1..=max_nodes` in turn (each size `graphs / max_nodes`
        /// times, the smallest once more for a remainder); absent: one chain per size.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        graphs: Option<usize>,
    },
    /// SUM (paper §6.2): chains with binary features; target = the graph's feature sum.
    Sum {
        /// Number of graphs.
        graphs: usize,
        /// Nodes per chain.
        nodes: usize,
        /// Dataset seed.
        #[serde(default)]
        seed: u64,
    },
    /// LATTICE (paper §6.3): one triangular-lattice patch with permuted one-hot ids.
    Lattice {
        /// Nodes per graph.
        nodes: usize,
        /// Number of graphs.
        graphs: usize,
        /// Dataset seed.
        #[serde(default)]
        seed: u64,
    },
    /// RANDOM (paper §6.3): connected random geometric graphs in the unit square.
    Random {
        /// Nodes per graph.
        nodes: usize,
        /// Number of graphs.
        graphs: usize,
        /// Edge when two points are closer than this.
        radius: f64,
        /// Dataset seed.
        #[serde(default)]
        seed: u64,
    },
    /// A TU graph-classification benchmark read from the data directory
    /// (`DATA_DIR/TU/NAME/`; see [`tu`]): every node predicts its graph's class.
    Tu {
        /// Dataset name, e.g. `MUTAG`.
        name: String,
        /// The SHA-256 the files must have (see [`tu`]); absent: any files are read.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sha256: Option<String>,
    },
    /// MNIST terrain (ICLR version; recipe ours, see [`mnist`]): agents scattered over a
    /// digit read from `DATA_DIR/MNIST/`, each sensing the ink around itself, every agent
    /// predicting the digit.
    MnistTerrain(mnist::Terrain),
}

/// Reads the regular file at `path` (see [`tu`]'s limits) and adds it to a dataset's hash:
/// its name, its length as 8 little-endian bytes, its bytes.
pub(crate) fn read_hashed(path: &Path, hash: &mut Sha256) -> Result<Vec<u8>, DatasetError> {
    let bytes = tu::read_regular(path)?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    hash.update(name.unwrap_or_default().as_bytes());
    hash.update((bytes.len() as u64).to_le_bytes());
    hash.update(&bytes);
    Ok(bytes)
}

/// The hexadecimal digest of the files read from `root`, or the error naming both when the
/// config pins another (`refetch`: the command that gets the original files).
pub(crate) fn pinned_digest(
    hash: Sha256,
    pin: Option<&str>,
    root: &Path,
    refetch: &str,
) -> Result<String, DatasetError> {
    let digest: String = hash.finalize().iter().map(|b| format!("{b:02x}")).collect();
    match pin.filter(|p| *p != digest) {
        Some(pin) => Err(InvalidSetting::new(
            "sha256",
            format!("{pin:?}"),
            format!(
                "the files in {} hash to {digest:?}: other data than the config pins (fetch them again with `{refetch}`, or pin these)",
                root.display()
            ),
        )
        .into()),
        None => Ok(digest),
    }
}

/// Checks a pinned SHA-256's spelling.
pub(crate) fn check_pin(pin: &Option<String>) -> Result<(), InvalidSetting> {
    match pin {
        Some(pin) if pin.len() != 64 || !pin.chars().all(|c| c.is_ascii_hexdigit()) => {
            Err(InvalidSetting::new(
                "sha256",
                format!("{pin:?}"),
                "a SHA-256 is 64 hexadecimal digits (`hogwild data check` prints it)",
            ))
        }
        _ => Ok(()),
    }
}

impl DatasetSpec {
    /// Whether the dataset is read from the data directory (rather than generated).
    pub fn reads_data(&self) -> bool {
        matches!(self, DatasetSpec::Tu { .. } | DatasetSpec::MnistTerrain(_))
    }

    /// Checks the settings (keys relative to the dataset's table: `length`), without
    /// building anything.
    pub fn check(&self) -> Result<(), InvalidSetting> {
        match *self {
            DatasetSpec::Chains {
                length,
                classes,
                min_length,
            } => chains::check(length, classes, min_length),
            DatasetSpec::Count { max_nodes, graphs } => counting::check_count(max_nodes, graphs),
            DatasetSpec::Sum { graphs, nodes, .. } => counting::check_sum(graphs, nodes),
            DatasetSpec::Lattice { nodes, graphs, .. } => localisation::check(nodes, graphs, None),
            DatasetSpec::Random {
                nodes,
                graphs,
                radius,
                ..
            } => localisation::check(nodes, graphs, Some(radius)),
            DatasetSpec::Tu {
                ref name,
                ref sha256,
            } => tu::check_name(name).and_then(|()| check_pin(sha256)),
            DatasetSpec::MnistTerrain(ref terrain) => terrain.check(),
        }
    }

    /// An upper bound on the generated dataset's size, from its settings alone; `None` for
    /// a dataset read from files (whose reader checks its allocations as it reads).
    pub fn size_bound(&self) -> Option<DatasetSize> {
        Some(match *self {
            DatasetSpec::Chains {
                length,
                classes,
                min_length,
            } => chains::size(length, classes, min_length),
            DatasetSpec::Count { max_nodes, graphs } => counting::count_size(max_nodes, graphs),
            DatasetSpec::Sum { graphs, nodes, .. } => counting::sum_size(graphs, nodes),
            DatasetSpec::Lattice { nodes, graphs, .. } => localisation::size(nodes, graphs, None),
            DatasetSpec::Random {
                nodes,
                graphs,
                radius,
                ..
            } => localisation::size(nodes, graphs, Some(radius)),
            DatasetSpec::MnistTerrain(ref terrain) => terrain.size(),
            DatasetSpec::Tu { .. } => return None,
        })
    }

    /// The key of the setting that most decides the dataset's size (blamed when it does
    /// not fit in memory).
    fn size_key(&self) -> (&'static str, u64) {
        let largest = |pairs: &[(&'static str, usize)]| {
            pairs
                .iter()
                .max_by_key(|p| p.1)
                .map(|&(k, v)| (k, v as u64))
                .expect("one pair at least")
        };
        match *self {
            DatasetSpec::Chains {
                length, classes, ..
            } => largest(&[("length", length), ("classes", classes)]),
            DatasetSpec::Count { max_nodes, graphs } => {
                largest(&[("max_nodes", max_nodes), ("graphs", graphs.unwrap_or(0))])
            }
            DatasetSpec::Sum { graphs, nodes, .. }
            | DatasetSpec::Lattice { nodes, graphs, .. }
            | DatasetSpec::Random { nodes, graphs, .. } => {
                largest(&[("nodes", nodes), ("graphs", graphs)])
            }
            DatasetSpec::MnistTerrain(ref terrain) => terrain.size_key(),
            DatasetSpec::Tu { .. } => ("name", 0),
        }
    }

    /// Generates the dataset, or reads it from `data_dir` (see [`DatasetSpec::reads_data`]),
    /// after checking its settings and, before allocating it, that it fits in `budget`.
    pub fn build(&self, data_dir: &Path, budget: &MemoryBudget) -> Result<Dataset, DatasetError> {
        self.check()?;
        if let Some(size) = self.size_bound() {
            let (key, value) = self.size_key();
            budget.check(key, value, size.memory(), "the dataset")?;
        }
        match *self {
            DatasetSpec::Chains {
                length,
                classes,
                min_length,
            } => chains::generate_lengths(min_length.unwrap_or(length), length, classes),
            DatasetSpec::Count { max_nodes, graphs } => counting::count(max_nodes, graphs),
            DatasetSpec::Sum {
                graphs,
                nodes,
                seed,
            } => counting::sum(graphs, nodes, seed),
            DatasetSpec::Lattice {
                nodes,
                graphs,
                seed,
            } => localisation::lattice(nodes, graphs, seed),
            DatasetSpec::Random {
                nodes,
                graphs,
                radius,
                seed,
            } => localisation::random_geometric(nodes, graphs, radius, seed),
            DatasetSpec::Tu {
                ref name,
                ref sha256,
            } => tu::load_within(data_dir, name, sha256.as_deref(), budget),
            DatasetSpec::MnistTerrain(ref terrain) => terrain.build(data_dir, budget),
        }
    }
}
