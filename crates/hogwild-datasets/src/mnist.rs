//! MNIST terrain (the ICLR version's collective-perception task; its recipe is not
//! published, so this one is ours, docs/PROTOCOL.md "MNIST terrain"): a swarm of agents
//! scattered over one handwritten digit, each sensing only the ink around itself, must
//! agree on which digit it stands on.
//!
//! - **Images**: `graphs` of the 60 000 training images, drawn without replacement by the
//!   dataset's seeded stream and kept in file order; one graph per image, its class the
//!   digit on every agent ([`Task::Classification`], 10 classes). (The test file is fetched
//!   and checked with the others; the tables cross-validate on training images.)
//! - **Agents**: `nodes` points uniform in the 28 × 28 image (pixel units, `x` the column,
//!   `y` the row), an edge both ways between agents closer than `radius` pixels; a draw
//!   whose graph is disconnected is discarded and drawn again (a part cut off from the rest
//!   could not know the digit).
//! - **Node features** ([`FEATURES`] = 9 + 2 + 16): the intensities (0..=1) of the 3 × 3
//!   pixels around the agent's pixel (row by row, 0 outside the image); its position
//!   `x / 28`, `y / 28`; and its *region reading*: the image is cut into [`REGIONS`] ×
//!   [`REGIONS`] equal squares (7 × 7 pixels each), and the agent's patch mean sits in the
//!   slot of the square it stands in (0 in the others), so that the graph's mean of these
//!   slots is a coarse picture of the digit, which a model must gather from every agent.
//! - **Edge features** (2): the sender's offset from the receiver, `(x_j − x_i, y_j − y_i) /
//!   radius`, what a robot measures of a neighbour (bearing and range).
//!
//! The four files are MNIST's original gzipped IDX files (LeCun et al.) in
//! `DATA_DIR/MNIST/` or torchvision's `DATA_DIR/MNIST/raw/`: [`dir`]. The identity,
//! `mnist-terrain(graphs=..,nodes=..,radius=..,seed=..,sha256=HEX)`, holds the
//! SHA-256 of the bytes read (for the images file, then the labels file: its name, its
//! length as 8 little-endian bytes, its bytes), as a TU dataset's does; a config can pin it.
//! The agents' positions come from the stream of the identity without the hash, so the same
//! settings place the same agents on any copy of the files.

use crate::localisation::is_connected;
use crate::{stream, Dataset, DatasetError, DatasetSize, Task};
use hogwild_graph::{Graph, Sample, Targets};
use hogwild_settings::{at_least, InvalidSetting, MemoryBudget};
use ndarray::Array2;
use rand::RngExt;
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::{Path, PathBuf};

/// Side of an MNIST image in pixels.
pub const SIDE: usize = 28;

/// Digit classes.
pub const CLASSES: usize = 10;

/// Draws of agent positions per graph asked for before a radius that leaves the swarm
/// disconnected is refused.
const DRAWS_PER_GRAPH: usize = 1000;

/// Which of MNIST's two files pairs the images come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    /// `train-*`: 60 000 images.
    Train,
    /// `t10k-*`: 10 000 images.
    Test,
}

impl Split {
    /// The gzipped IDX files of the split: images, labels.
    pub fn files(self) -> [&'static str; 2] {
        match self {
            Split::Train => ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"],
            Split::Test => ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"],
        }
    }
}

/// Where the files are: `DATA_DIR/MNIST/` or, when that has no images file and it has
/// one, `DATA_DIR/MNIST/raw/` (torchvision's `MNIST(root=DATA_DIR)` cache).
pub fn dir(data_dir: &Path, split: Split) -> PathBuf {
    let ours = data_dir.join("MNIST");
    let raw = ours.join("raw");
    let images = split.files()[0];
    if ours.join(images).symlink_metadata().is_err() && raw.join(images).symlink_metadata().is_ok()
    {
        raw
    } else {
        ours
    }
}

/// An MNIST terrain dataset's settings, as written in `harness.toml`
/// (`{ kind = "mnist-terrain", graphs = 300, nodes = 40, radius = 8.0 }`).
#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Terrain {
    /// Number of graphs: training images drawn by the seed.
    pub graphs: usize,
    /// Agents (nodes) per image.
    pub nodes: usize,
    /// Agents closer than this many pixels communicate.
    pub radius: f64,
    /// Dataset seed (images and agents' positions).
    #[serde(default)]
    pub seed: u64,
    /// The SHA-256 the files must have (module docs); absent: any files are read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

impl Terrain {
    /// Checks the settings (keys relative to the dataset's table).
    pub fn check(&self) -> Result<(), InvalidSetting> {
        at_least("graphs", self.graphs as u64, 2)?;
        at_least("nodes", self.nodes as u64, 2)?;
        let diagonal = SIDE as f64 * 2f64.sqrt();
        if !(self.radius > 0.0 && self.radius <= diagonal) {
            return Err(InvalidSetting::new(
                "radius",
                self.radius,
                format!("must lie in (0, {diagonal:.2}], in pixels of the 28 x 28 image"),
            ));
        }
        crate::check_pin(&self.sha256)
    }

    /// An upper bound on the dataset's size (every agent may see every other).
    pub fn size(&self) -> DatasetSize {
        let nodes = (self.graphs as u64).saturating_mul(self.nodes as u64);
        DatasetSize {
            graphs: self.graphs as u64,
            nodes,
            edges: nodes.saturating_mul((self.nodes as u64).saturating_sub(1)),
            feature_dim: FEATURES as u64,
            edge_feature_dim: 2,
            target_dim: CLASSES as u64,
        }
    }

    /// The key of the setting that most decides the size.
    pub fn size_key(&self) -> (&'static str, u64) {
        if self.graphs >= self.nodes {
            ("graphs", self.graphs as u64)
        } else {
            ("nodes", self.nodes as u64)
        }
    }

    /// Builds the dataset from the files in `data_dir` (module docs), refusing files whose
    /// SHA-256 is not the pinned one and a dataset that would not fit in `budget`.
    pub fn build(&self, data_dir: &Path, budget: &MemoryBudget) -> Result<Dataset, DatasetError> {
        self.check()?;
        let (key, value) = self.size_key();
        budget.check(key, value, self.size().memory(), "the dataset")?;
        let Terrain {
            graphs,
            nodes,
            radius,
            seed,
            ..
        } = *self;
        let digits = load(data_dir, Split::Train, self.sha256.as_deref())?;
        let count = digits.labels.len();
        if graphs > count {
            return Err(InvalidSetting::new(
                "graphs",
                graphs,
                format!("MNIST's training file has {count} images"),
            )
            .into());
        }
        let settings = format!("graphs={graphs},nodes={nodes},radius={radius},seed={seed}");
        let mut rng = stream(&format!("mnist-terrain({settings})"));
        let mut chosen = rand::seq::index::sample(&mut rng, count, graphs).into_vec();
        chosen.sort_unstable();
        let mut samples = Vec::with_capacity(graphs);
        let mut draws = 0usize;
        for &k in &chosen {
            let image = &digits.pixels[k * SIDE * SIDE..(k + 1) * SIDE * SIDE];
            let label = usize::from(digits.labels[k]);
            loop {
                draws += 1;
                if draws > DRAWS_PER_GRAPH.saturating_mul(graphs) {
                    return Err(InvalidSetting::new(
                        "radius",
                        radius,
                        format!(
                            "only {} of {} swarms of {nodes} agents were connected; a larger radius connects more",
                            samples.len(),
                            draws - 1
                        ),
                    )
                    .into());
                }
                let side = SIDE as f64;
                let pos: Vec<(f64, f64)> = (0..nodes)
                    .map(|_| (side * rng.random::<f64>(), side * rng.random::<f64>()))
                    .collect();
                if let Some(s) = swarm(image, label, &pos, radius) {
                    samples.push(s);
                    break;
                }
            }
        }
        Ok(Dataset {
            identity: format!("mnist-terrain({settings},sha256={})", digits.sha256),
            task: Task::Classification { classes: CLASSES },
            samples,
        })
    }
}

/// One gzipped IDX file, decompressed: its dimensions and its bytes after the header.
struct Idx {
    path: PathBuf,
    dims: Vec<usize>,
    data: Vec<u8>,
}

/// Reads the gzipped IDX file `path` of unsigned bytes with `rank` dimensions (1: labels,
/// 3: images), adding it to `hash`.
fn read_idx(path: PathBuf, rank: usize, hash: &mut Sha256) -> Result<Idx, DatasetError> {
    let compressed = crate::read_hashed(&path, hash)?;
    let malformed = |why: String| DatasetError::Malformed {
        path: path.clone(),
        line: 0,
        why,
    };
    let mut gz = flate2::read::GzDecoder::new(compressed.as_slice());
    let mut word = |what: &str| {
        let mut bytes = [0u8; 4];
        gz.read_exact(&mut bytes)
            .map(|()| u32::from_be_bytes(bytes))
            .map_err(|e| malformed(format!("not a gzipped IDX file: no {what} ({e})")))
    };
    let magic = word("magic number")?;
    let expected = 0x0800 + rank as u32;
    if magic != expected {
        return Err(malformed(format!(
            "IDX magic number {magic}, expected {expected} (unsigned bytes, {rank} dimension{})",
            if rank == 1 { "" } else { "s" }
        )));
    }
    let dims = (0..rank)
        .map(|_| word("dimensions").map(|d| d as usize))
        .collect::<Result<Vec<usize>, _>>()?;
    let len = dims
        .iter()
        .try_fold(1u64, |acc, &d| acc.checked_mul(d as u64))
        .filter(|&l| l <= crate::tu::MAX_FILE_BYTES)
        .ok_or_else(|| malformed(format!("dimensions {dims:?} are too large")))?;
    let mut data = Vec::with_capacity(len as usize);
    (&mut gz)
        .take(len + 1)
        .read_to_end(&mut data)
        .map_err(|e| malformed(format!("cannot decompress ({e})")))?;
    if data.len() as u64 != len {
        return Err(malformed(format!(
            "{} bytes after the header, its dimensions {dims:?} say {len}",
            data.len()
        )));
    }
    Ok(Idx { path, dims, data })
}

/// One split of MNIST as read from its files.
#[derive(Debug, Clone)]
pub struct Digits {
    /// Images, 28 × 28 bytes each, one after the other.
    pub pixels: Vec<u8>,
    /// The digit of each image.
    pub labels: Vec<u8>,
    /// SHA-256 of the bytes read (module docs).
    pub sha256: String,
}

/// Reads and checks the files of `split` from [`dir`], refusing files whose SHA-256 is not
/// `pin`, when given.
pub fn load(data_dir: &Path, split: Split, pin: Option<&str>) -> Result<Digits, DatasetError> {
    if !data_dir.is_dir() {
        return Err(DatasetError::MissingDataDir {
            path: data_dir.into(),
        });
    }
    let root = dir(data_dir, split);
    let [images_file, labels_file] = split.files();
    let mut hash = Sha256::new();
    let pixels = read_idx(root.join(images_file), 3, &mut hash)?;
    let labels = read_idx(root.join(labels_file), 1, &mut hash)?;
    let digest = crate::pinned_digest(hash, pin, &root, "hogwild data fetch MNIST")?;
    if pixels.dims[1..] != [SIDE, SIDE] {
        return Err(DatasetError::Malformed {
            path: pixels.path,
            line: 0,
            why: format!("images of {:?} pixels, expected 28 x 28", &pixels.dims[1..]),
        });
    }
    let count = pixels.dims[0];
    if labels.dims[0] != count {
        return Err(DatasetError::Malformed {
            path: labels.path,
            line: 0,
            why: format!("{} labels for {count} images", labels.dims[0]),
        });
    }
    if let Some(at) = labels.data.iter().position(|&l| usize::from(l) >= CLASSES) {
        return Err(DatasetError::Malformed {
            path: labels.path,
            line: 0,
            why: format!("label {} of image {at} is not a digit", labels.data[at]),
        });
    }
    Ok(Digits {
        pixels: pixels.data,
        labels: labels.data,
        sha256: digest,
    })
}

/// Pixels an agent senses: the 3 × 3 patch around its own.
pub const PATCH: usize = 9;

/// Regions per side of the image for the region reading (module docs).
pub const REGIONS: usize = 4;

/// Node features: the patch, the position and the region reading.
pub const FEATURES: usize = PATCH + 2 + REGIONS * REGIONS;

/// The intensities (0..=1) of the 3 × 3 pixels of `image` around the pixel holding
/// `(x, y)`, row by row; 0 outside the image.
pub fn patch(image: &[u8], (x, y): (f64, f64)) -> [f64; PATCH] {
    let (c, r) = (x.floor() as isize, y.floor() as isize);
    let inside = 0..SIDE as isize;
    std::array::from_fn(|k| {
        let (rr, cc) = (r + k as isize / 3 - 1, c + k as isize % 3 - 1);
        if inside.contains(&rr) && inside.contains(&cc) {
            f64::from(image[rr as usize * SIDE + cc as usize]) / 255.0
        } else {
            0.0
        }
    })
}

/// The swarm at `pos` on `image` (class `label`), or `None` when it is disconnected.
pub fn swarm(image: &[u8], label: usize, pos: &[(f64, f64)], radius: f64) -> Option<Sample> {
    let n = pos.len();
    let mut edges = vec![];
    let mut offsets = vec![];
    for i in 0..n {
        for j in 0..n {
            let (dx, dy) = (pos[j].0 - pos[i].0, pos[j].1 - pos[i].1);
            if i != j && dx.hypot(dy) < radius {
                // j sends to i: i sees j at (dx, dy).
                edges.push((j, i, 1.0));
                offsets.extend([dx / radius, dy / radius]);
            }
        }
    }
    let m = edges.len();
    let graph = Graph::from_weighted_edges(
        n,
        &edges,
        Some(Array2::from_shape_vec((m, 2), offsets).expect("two features per edge")),
    )
    .expect("valid edges");
    if !is_connected(&graph) {
        return None;
    }
    let side = SIDE as f64;
    let mut features = Array2::zeros((n, FEATURES));
    for (v, &(x, y)) in pos.iter().enumerate() {
        let mut row = features.row_mut(v);
        let patch = patch(image, (x, y));
        for (k, &p) in patch.iter().enumerate() {
            row[k] = p;
        }
        row[PATCH] = x / side;
        row[PATCH + 1] = y / side;
        let region = |t: f64| ((t / side * REGIONS as f64).floor() as usize).min(REGIONS - 1);
        row[PATCH + 2 + region(y) * REGIONS + region(x)] = patch.iter().sum::<f64>() / PATCH as f64;
    }
    Some(Sample {
        graph,
        features,
        targets: Targets::Classes(vec![label; n]),
    })
}

/// `bytes`, gzipped.
fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(vec![], flate2::Compression::default());
    e.write_all(bytes).expect("in memory");
    e.finish().expect("in memory")
}

/// Test support: gzipped IDX files of `images` (28 × 28 each) and their `labels`, as
/// [`load`] reads them.
pub fn idx_files(images: &[Vec<u8>], labels: &[u8]) -> [Vec<u8>; 2] {
    let gz = |header: Vec<u32>, body: &[u8]| {
        let mut raw: Vec<u8> = header.iter().flat_map(|w| w.to_be_bytes()).collect();
        raw.extend_from_slice(body);
        gzip(&raw)
    };
    let n = images.len() as u32;
    [
        gz(vec![0x0803, n, SIDE as u32, SIDE as u32], &images.concat()),
        gz(vec![0x0801, labels.len() as u32], labels),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A data directory with `count` synthetic digits: image `k` has one bright 10 × 10
    /// square whose place depends on `k`, label `k % 10`.
    fn fixture(count: usize) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let images: Vec<Vec<u8>> = (0..count)
            .map(|k| {
                let mut img = vec![0u8; SIDE * SIDE];
                let (r0, c0) = (2 + (k * 5) % 16, 2 + (k * 3) % 16);
                for r in r0..r0 + 10 {
                    for c in c0..c0 + 10 {
                        img[r * SIDE + c] = 255;
                    }
                }
                img
            })
            .collect();
        let labels: Vec<u8> = (0..count).map(|k| (k % 10) as u8).collect();
        let mnist = dir.path().join("MNIST");
        std::fs::create_dir_all(&mnist).unwrap();
        let [i, l] = idx_files(&images, &labels);
        let [fi, fl] = Split::Train.files();
        std::fs::write(mnist.join(fi), i).unwrap();
        std::fs::write(mnist.join(fl), l).unwrap();
        dir
    }

    fn settings(graphs: usize, nodes: usize, radius: f64) -> Terrain {
        Terrain {
            graphs,
            nodes,
            radius,
            seed: 0,
            sha256: None,
        }
    }

    fn build(dir: &Path, images: usize, seed: u64, pin: Option<&str>) -> Result<Dataset, String> {
        Terrain {
            seed,
            sha256: pin.map(str::to_string),
            ..settings(images, 12, 12.0)
        }
        .build(dir, &MemoryBudget::machine())
        .map_err(|e| e.to_string())
    }

    #[test]
    fn swarms_are_connected_geometric_graphs_that_sense_their_image() {
        let dir = fixture(30);
        let d = build(dir.path(), 8, 0, None).unwrap();
        assert_eq!(d.samples.len(), 8);
        assert_eq!(d.task, Task::Classification { classes: 10 });
        assert!(d
            .identity
            .starts_with("mnist-terrain(graphs=8,nodes=12,radius=12,seed=0,sha256="));
        for s in &d.samples {
            assert!(is_connected(&s.graph) && s.graph.is_symmetric());
            let Targets::Classes(c) = &s.targets else {
                panic!("classes")
            };
            assert!(c.iter().all(|&l| l == c[0]));
            let side = SIDE as f64;
            let pos = |v: usize| {
                (
                    s.features[(v, PATCH)] * side,
                    s.features[(v, PATCH + 1)] * side,
                )
            };
            for i in 0..12 {
                let row = s.features.row(i);
                assert_eq!(row.len(), PATCH + 2 + 16);
                assert!(row.iter().all(|f| (0.0..=1.0).contains(f)));
                // The region reading: the patch mean, in the slot of the agent's 7 × 7 square.
                let (x, y) = pos(i);
                let slot = PATCH + 2 + 4 * (y / 7.0) as usize + (x / 7.0) as usize;
                let mean = row.iter().take(PATCH).sum::<f64>() / 9.0;
                for k in PATCH + 2..row.len() {
                    assert_eq!(row[k], if k == slot { mean } else { 0.0 });
                }
                for (e, (j, _)) in s.graph.in_edges(i).zip(s.graph.neighbours(i)) {
                    let (dx, dy) = (pos(j).0 - pos(i).0, pos(j).1 - pos(i).1);
                    assert!(dx.hypot(dy) < 12.0);
                    let f = s.graph.edge_features(e);
                    assert!((f[0] - dx / 12.0).abs() < 1e-12 && (f[1] - dy / 12.0).abs() < 1e-12);
                }
                // Every pair closer than the radius is an edge.
                let close = (0..12)
                    .filter(|&j| j != i && (pos(j).0 - pos(i).0).hypot(pos(j).1 - pos(i).1) < 12.0)
                    .count();
                assert_eq!(close, s.graph.neighbours(i).count());
            }
        }
    }

    #[test]
    fn an_agent_senses_the_three_by_three_patch_around_its_pixel() {
        let mut img = vec![0u8; SIDE * SIDE];
        img[0] = 255;
        img[SIDE + 1] = 51;
        img[SIDE * SIDE - 1] = 255;
        // At pixel (row 0, column 0): the row above and the column left are outside.
        assert_eq!(
            patch(&img, (0.5, 0.5)),
            [0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.2]
        );
        // At pixel (row 1, column 1): both marked pixels, top left and centre.
        let at = patch(&img, (1.9, 1.2));
        assert_eq!((at[0], at[4], at.iter().sum::<f64>()), (1.0, 0.2, 1.2));
        assert_eq!(patch(&img, (20.0, 20.0)), [0.0; PATCH]);
        assert_eq!(patch(&img, (27.99, 27.99))[4], 1.0);
    }

    #[test]
    fn a_seed_fixes_the_images_and_the_agents() {
        let dir = fixture(30);
        let a = build(dir.path(), 8, 0, None).unwrap();
        assert_eq!(a.samples, build(dir.path(), 8, 0, None).unwrap().samples);
        let b = build(dir.path(), 8, 1, None).unwrap();
        assert_ne!(a.samples, b.samples);
        // The pinned hash admits these files only.
        let digest = a
            .identity
            .rsplit_once("sha256=")
            .unwrap()
            .1
            .trim_end_matches(')');
        assert!(build(dir.path(), 8, 0, Some(digest)).is_ok());
        let other = build(dir.path(), 8, 0, Some(&"0".repeat(64))).unwrap_err();
        assert!(other.starts_with("sha256 = \"000"), "{other}");
    }

    #[test]
    fn bad_files_and_settings_are_named() {
        let dir = fixture(5);
        let err = build(dir.path(), 6, 0, None).unwrap_err();
        assert_eq!(err, "graphs = 6: MNIST's training file has 5 images");
        let err = settings(2, 50, 0.5)
            .build(dir.path(), &MemoryBudget::machine())
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("radius = 0.5: only 0 of 2000 swarms"),
            "{err}"
        );
        let images = dir.path().join("MNIST").join(Split::Train.files()[0]);
        std::fs::write(&images, b"not gzip").unwrap();
        let err = build(dir.path(), 2, 0, None).unwrap_err();
        assert!(
            err.starts_with(&format!(
                "{}, line 0: not a gzipped IDX file",
                images.display()
            )),
            "{err}"
        );
        let [_, labels] = idx_files(&[], &[]);
        std::fs::write(&images, labels).unwrap();
        let err = build(dir.path(), 2, 0, None).unwrap_err();
        assert!(
            err.contains("IDX magic number 2049, expected 2051"),
            "{err}"
        );
        // A header that promises two images, and one image's bytes.
        let mut raw: Vec<u8> = [0x0803u32, 2, 28, 28]
            .iter()
            .flat_map(|w| w.to_be_bytes())
            .collect();
        raw.extend([0u8; SIDE * SIDE]);
        std::fs::write(&images, gzip(&raw)).unwrap();
        let err = build(dir.path(), 2, 0, None).unwrap_err();
        assert!(
            err.contains("784 bytes after the header, its dimensions [2, 28, 28] say 1568"),
            "{err}"
        );
        assert!(settings(1, 10, 3.0).check().is_err());
        assert!(settings(10, 10, 0.0).check().is_err());
        assert!(settings(10, 10, 40.0).check().is_err());
        assert_eq!(
            settings(10, 1, 3.0).check().unwrap_err().to_string(),
            "nodes = 1: must be at least 2"
        );
        let missing = settings(2, 5, 10.0)
            .build(&dir.path().join("nowhere"), &MemoryBudget::machine())
            .unwrap_err();
        assert!(matches!(missing, DatasetError::MissingDataDir { .. }));
    }

    #[test]
    fn torchvisions_raw_layout_is_read_too() {
        let dir = fixture(4);
        let mnist = dir.path().join("MNIST");
        let raw = mnist.join("raw");
        std::fs::create_dir_all(&raw).unwrap();
        for f in Split::Train.files() {
            std::fs::rename(mnist.join(f), raw.join(f)).unwrap();
        }
        assert_eq!(dir_of(dir.path()), raw);
        assert!(build(dir.path(), 2, 0, None).is_ok());
    }

    fn dir_of(data: &Path) -> PathBuf {
        super::dir(data, Split::Train)
    }

    #[test]
    fn a_small_instance() {
        let dir = fixture(10);
        let d = settings(2, 6, 14.0)
            .build(dir.path(), &MemoryBudget::machine())
            .unwrap();
        let text: Vec<String> = d
            .samples
            .iter()
            .map(|s| {
                let edges: Vec<String> = (0..s.graph.n_nodes())
                    .flat_map(|i| {
                        s.graph
                            .in_edges(i)
                            .zip(s.graph.neighbours(i))
                            .map(move |(e, (j, _))| (i, e, j))
                    })
                    .map(|(i, e, j)| {
                        let f = s.graph.edge_features(e);
                        format!("{j}->{i} ({:.3}, {:.3})", f[0], f[1])
                    })
                    .collect();
                format!(
                    "targets {:?}\nfeatures {:.3}\nedges {}",
                    s.targets,
                    s.features,
                    edges.join(", ")
                )
            })
            .collect();
        insta::assert_snapshot!(text.join("\n\n"));
    }
}
