//! `hogwild data`: the datasets read from files rather than generated (TU benchmarks,
//! MNIST), fetched into the data directory and checked against the hashes the config pins.
//!
//! `fetch NAME` downloads `NAME.zip` from the TUDataset collection (or takes a local zip or
//! directory with `--from`), keeps the `NAME_*.txt` files, reads them as the sweep would,
//! and moves them into `DATA_DIR/TU/NAME/` in one rename (a failed fetch leaves the old
//! copy as it was), holding the data directory's lock so that two fetches never interleave;
//! `fetch MNIST` does the same with MNIST's four gzipped IDX files in
//! `DATA_DIR/MNIST/`. `check` reads every TU dataset of the config and prints its SHA-256,
//! failing on a missing dataset, a malformed file or a hash other than the pinned one.

use crate::config::{Config, TableConfig};
use anyhow::{anyhow, Context};
use hogwild_datasets::{mnist, tu, DatasetSpec};
use hogwild_settings::MemoryBudget;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Where `fetch` downloads `NAME.zip` from, unless `HOGWILD_TU_URL` names a mirror.
pub const TU_URL: &str = "https://www.chrsmrrs.com/graphkerneldatasets";

/// Whether `file` (a file name) belongs to dataset `name`.
fn belongs(name: &str, file: &str) -> bool {
    file.strip_prefix(name)
        .and_then(|rest| rest.strip_prefix('_'))
        .is_some_and(|rest| rest.ends_with(".txt") && !rest.contains(['/', '\\']))
}

/// The `NAME_*.txt` files of a zip archive, as (file name, bytes).
fn from_zip(name: &str, bytes: &[u8]) -> anyhow::Result<Vec<(String, Vec<u8>)>> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| anyhow!("not a zip archive: {e}"))?;
    let mut files = vec![];
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i)?;
        // Only the last component counts: a path in the archive never reaches the disk.
        let Some(file) = entry
            .enclosed_name()
            .and_then(|p| p.file_name().map(|f| f.to_string_lossy().into_owned()))
        else {
            continue;
        };
        if entry.is_dir() || !belongs(name, &file) {
            continue;
        }
        let mut data = vec![];
        (&mut entry)
            .take(tu::MAX_FILE_BYTES + 1)
            .read_to_end(&mut data)?;
        anyhow::ensure!(
            data.len() as u64 <= tu::MAX_FILE_BYTES,
            "{file} in the archive is larger than {}",
            hogwild_settings::bytes_text(tu::MAX_FILE_BYTES)
        );
        files.push((file, data));
    }
    Ok(files)
}

/// The `NAME_*.txt` files of a directory (the unpacked zip, or a copy of another data
/// directory's `TU/NAME/` or PyTorch Geometric's `NAME/raw/`).
fn from_dir(name: &str, dir: &Path) -> anyhow::Result<Vec<(String, Vec<u8>)>> {
    let dir = [
        dir.to_path_buf(),
        dir.join(name),
        dir.join(name).join("raw"),
    ]
    .into_iter()
    .find(|d| d.join(format!("{name}_A.txt")).is_file())
    .ok_or_else(|| {
        anyhow!(
            "{}: no {name}_A.txt there, in {name}/ or in {name}/raw/",
            dir.display()
        )
    })?;
    let mut files = vec![];
    let entries =
        std::fs::read_dir(&dir).map_err(|e| anyhow!("cannot read {}: {e}", dir.display()))?;
    for entry in entries {
        let entry = entry?;
        let file = entry.file_name().to_string_lossy().into_owned();
        if belongs(name, &file) && entry.path().is_file() {
            let path = entry.path();
            let bytes =
                std::fs::read(&path).map_err(|e| anyhow!("cannot read {}: {e}", path.display()))?;
            files.push((file, bytes));
        }
    }
    Ok(files)
}

/// `NAME.zip` from `base` (`https://...` or `http://...`).
fn download(name: &str, base: &str) -> anyhow::Result<Vec<u8>> {
    download_file(&format!("{name}.zip"), base)
}

/// File `file` from `base` (`https://...` or `http://...`).
fn download_file(file: &str, base: &str) -> anyhow::Result<Vec<u8>> {
    let url = format!("{}/{file}", base.trim_end_matches('/'));
    let mut response = ureq::get(&url).call().map_err(|e| {
        anyhow!("cannot download {url}: {e} (no network? get the zip by hand and pass --from FILE)")
    })?;
    let bytes = response
        .body_mut()
        .with_config()
        .limit(tu::MAX_FILE_BYTES)
        .read_to_vec()
        .map_err(|e| anyhow!("cannot download {url}: {e}"))?;
    Ok(bytes)
}

/// Fetches dataset `name` into `data_dir/TU/name/` from `from` (a zip or a directory), or
/// from the TUDataset collection; returns the directory and the dataset's SHA-256.
pub fn fetch(
    name: &str,
    from: Option<&Path>,
    data_dir: &Path,
) -> anyhow::Result<(PathBuf, String)> {
    tu::check_name(name).map_err(|e| anyhow!("{name}: {e}"))?;
    let _lock = crate::outdir::lock(data_dir, "data_dir")?;
    let files = match from {
        Some(path) if path.is_dir() => from_dir(name, path)?,
        Some(path) => {
            let bytes =
                std::fs::read(path).map_err(|e| anyhow!("cannot read {}: {e}", path.display()))?;
            from_zip(name, &bytes).with_context(|| path.display().to_string())?
        }
        None => {
            let base = std::env::var("HOGWILD_TU_URL").unwrap_or_else(|_| TU_URL.into());
            from_zip(name, &download(name, &base)?).context("the downloaded archive")?
        }
    };
    anyhow::ensure!(
        files.iter().any(|(f, _)| f == &format!("{name}_A.txt")),
        "no {name}_A.txt in {}: is the dataset's name spelt as the TUDataset collection spells it?",
        from.map_or_else(|| format!("{name}.zip"), |p| p.display().to_string())
    );
    let parent = data_dir.join("TU");
    std::fs::create_dir_all(&parent)
        .map_err(|e| anyhow!("cannot create {}: {e}", parent.display()))?;
    // Unpacked beside the destination, read as the sweep reads them, then renamed into place.
    let staging = tempfile::Builder::new()
        .prefix(&format!(".{name}-"))
        .tempdir_in(&parent)
        .map_err(|e| anyhow!("cannot create a directory in {}: {e}", parent.display()))?;
    let unpacked = staging.path().join("TU").join(name);
    std::fs::create_dir_all(&unpacked)?;
    for (file, bytes) in &files {
        crate::outdir::write_atomic(&unpacked.join(file), bytes)?;
    }
    let dataset = tu::load_within(staging.path(), name, None, &MemoryBudget::machine())
        .map_err(|e| anyhow!("the fetched files do not read as a TU dataset: {e}"))?;
    let digest = digest_of(&dataset.identity);
    let dest = parent.join(name);
    if dest.exists() {
        let old = parent.join(format!(".{name}-replaced"));
        let _ = std::fs::remove_dir_all(&old);
        std::fs::rename(&dest, &old)
            .map_err(|e| anyhow!("cannot move {} aside: {e}", dest.display()))?;
        std::fs::rename(&unpacked, &dest)
            .map_err(|e| anyhow!("cannot write {}: {e}", dest.display()))?;
        let _ = std::fs::remove_dir_all(&old);
    } else {
        std::fs::rename(&unpacked, &dest)
            .map_err(|e| anyhow!("cannot write {}: {e}", dest.display()))?;
    }
    Ok((dest, digest))
}

/// Where `fetch MNIST` downloads the four files from, unless `HOGWILD_MNIST_URL` names
/// another mirror (the files are MNIST's originals; yann.lecun.com often refuses).
pub const MNIST_URL: &str = "https://ossci-datasets.s3.amazonaws.com/mnist";

/// The name `fetch` and `check` give MNIST.
pub const MNIST: &str = "MNIST";

/// Fetches MNIST's four gzipped IDX files into `data_dir/MNIST/` from `from` (a directory
/// holding them, or `MNIST/` or `MNIST/raw/` below it) or from [`MNIST_URL`]; both splits
/// are read as the sweep reads them before any file is moved into place. Returns the
/// directory and the train and test splits' SHA-256.
pub fn fetch_mnist(from: Option<&Path>, data_dir: &Path) -> anyhow::Result<(PathBuf, [String; 2])> {
    let names: Vec<&str> = [mnist::Split::Train, mnist::Split::Test]
        .iter()
        .flat_map(|s| s.files())
        .collect();
    let _lock = crate::outdir::lock(data_dir, "data_dir")?;
    let mut files = vec![];
    match from {
        Some(dir) => {
            let dir = [
                dir.to_path_buf(),
                dir.join(MNIST),
                dir.join(MNIST).join("raw"),
            ]
            .into_iter()
            .find(|d| d.join(names[0]).is_file())
            .ok_or_else(|| {
                anyhow!(
                    "{}: no {} there, in {MNIST}/ or in {MNIST}/raw/",
                    dir.display(),
                    names[0]
                )
            })?;
            for name in &names {
                let path = dir.join(name);
                let bytes = std::fs::read(&path)
                    .map_err(|e| anyhow!("cannot read {}: {e}", path.display()))?;
                files.push((name.to_string(), bytes));
            }
        }
        None => {
            let base = std::env::var("HOGWILD_MNIST_URL").unwrap_or_else(|_| MNIST_URL.into());
            for name in &names {
                files.push((name.to_string(), download_file(name, &base)?));
            }
        }
    }
    let staging = tempfile::Builder::new()
        .prefix(".MNIST-")
        .tempdir_in(data_dir)
        .map_err(|e| anyhow!("cannot create a directory in {}: {e}", data_dir.display()))?;
    let unpacked = staging.path().join(MNIST);
    std::fs::create_dir_all(&unpacked)?;
    for (file, bytes) in &files {
        crate::outdir::write_atomic(&unpacked.join(file), bytes)?;
    }
    let digest = |split| {
        mnist::load(staging.path(), split, None)
            .map(|d| d.sha256)
            .map_err(|e| anyhow!("the fetched files do not read as MNIST: {e}"))
    };
    let digests = [digest(mnist::Split::Train)?, digest(mnist::Split::Test)?];
    let dest = data_dir.join(MNIST);
    std::fs::create_dir_all(&dest).map_err(|e| anyhow!("cannot create {}: {e}", dest.display()))?;
    for (file, _) in &files {
        std::fs::rename(unpacked.join(file), dest.join(file))
            .map_err(|e| anyhow!("cannot write {}: {e}", dest.join(file).display()))?;
    }
    Ok((dest, digests))
}

/// The SHA-256 in a TU dataset's identity (`tu(name=NAME,sha256=HEX)`).
fn digest_of(identity: &str) -> String {
    identity
        .rsplit_once("sha256=")
        .map_or("", |(_, h)| h.trim_end_matches(')'))
        .to_string()
}

/// One dataset of the config read from files, as `check` found it.
#[derive(Debug, Clone, PartialEq)]
pub struct Checked {
    /// Where it is used: `tables.T.columns[c]`.
    pub used_by: String,
    /// Its name.
    pub name: String,
    /// Its SHA-256, if it could be read.
    pub sha256: Option<String>,
    /// Whether the config pins its hash.
    pub pinned: bool,
    /// Why it cannot be used, if it cannot.
    pub error: Option<String>,
}

/// Every dataset the config's tables (those named, or all) read from files (TU
/// benchmarks, MNIST), read and checked.
pub fn check(config: &Config, tables: &[String]) -> Vec<Checked> {
    let selected: Vec<(&String, &TableConfig)> = config
        .tables
        .iter()
        .filter(|(n, _)| tables.is_empty() || tables.contains(n))
        .collect();
    let mut out = vec![];
    for (table, t) in selected {
        for (c, col) in t.columns.iter().enumerate() {
            let (name, sha256) = match &col.dataset {
                DatasetSpec::Tu { name, sha256 } => (name.clone(), sha256),
                DatasetSpec::MnistTerrain(t) => (MNIST.to_string(), &t.sha256),
                _ => continue,
            };
            let built = col.dataset.build(&config.data_dir, &config.budget);
            out.push(Checked {
                used_by: format!("tables.{table}.columns[{c}]"),
                name,
                sha256: built.as_ref().ok().map(|d| digest_of(&d.identity)),
                pinned: sha256.is_some(),
                error: built.err().map(|e| e.to_string()),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_datasets_own_text_files_are_taken() {
        assert!(belongs("MUTAG", "MUTAG_A.txt"));
        assert!(belongs("MUTAG", "MUTAG_graph_labels.txt"));
        assert!(!belongs("MUTAG", "MUTAG_A.txt.bak"));
        assert!(!belongs("MUTAG", "README.txt"));
        assert!(!belongs("MUTAG", "PTC_MR_A.txt"));
        assert_eq!(digest_of("tu(name=X,sha256=abc)"), "abc");
    }
}
