//! The output directory (`--out`): one writing process at a time, checked before any run,
//! and files that appear whole or not at all.
//!
//! - **Lock.** A process that writes to a directory holds an advisory lock on its
//!   `.hogwild.lock` for as long as it runs (`flock`; the system releases it when the
//!   process ends, however it ends, so a killed process never leaves a stale lock). A second
//!   process refuses at once, naming the holder; `hogwild merge` refuses input directories
//!   that a running process is still writing.
//! - **Checked first.** The directory is created, locked and test-written before the first
//!   run, so a read-only directory or a regular file in its place is reported before hours
//!   of computing, not after.
//! - **Atomic files.** Every file is written to a new temporary file in its directory
//!   (unique name, created exclusively, so a planted file or link at that name is never
//!   followed), flushed to disk, and renamed over its final name (which replaces a link
//!   there rather than writing through it). Temporaries left by a killed process are removed
//!   the next time the directory is opened. Files get the same permissions whatever they
//!   hold (read-write for the owner, readable by others as the umask allows).
//! - **Errors name their path**, once.

use anyhow::{anyhow, Context};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The lock file in an output directory.
pub const LOCK_FILE: &str = ".hogwild.lock";
/// The prefix of every temporary file.
const TEMP_PREFIX: &str = ".hogwild-tmp-";

/// An output directory this process holds the lock of.
#[derive(Debug)]
pub struct OutputDir {
    root: PathBuf,
    _lock: std::fs::File,
}

/// The operating system's message for `e`, without any path a library added to it.
fn bare(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(code) => std::io::Error::from_raw_os_error(code).to_string(),
        None => e.kind().to_string(),
    }
}

/// Opens `path` for reading and writing without following a link at its name.
fn open_lock_file(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NOFOLLOW);
    }
    options.open(path)
}

/// Who holds the lock of `dir`, as its lock file says.
fn holder(dir: &Path) -> String {
    std::fs::read_to_string(dir.join(LOCK_FILE))
        .ok()
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| "another process".into())
}

/// Creates `root` if needed and takes its lock for as long as the returned file is open,
/// refusing when another process holds it; `role` names the directory in errors (`--out`,
/// `data_dir`).
pub fn lock(root: &Path, role: &str) -> anyhow::Result<std::fs::File> {
    if root.exists() && !root.is_dir() {
        anyhow::bail!("{role} {}: not a directory", root.display());
    }
    std::fs::create_dir_all(root)
        .map_err(|e| anyhow!("cannot create {role} {}: {}", root.display(), bare(&e)))?;
    let lock_path = root.join(LOCK_FILE);
    let mut lock = open_lock_file(&lock_path)
        .map_err(|e| anyhow!("cannot open {}: {}", lock_path.display(), bare(&e)))?;
    match lock.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => anyhow::bail!(
            "{} is in use by {} (it holds {}); wait for it to finish, or choose another {role}",
            root.display(),
            holder(root),
            lock_path.display()
        ),
        Err(std::fs::TryLockError::Error(e)) => {
            anyhow::bail!("cannot lock {}: {}", lock_path.display(), bare(&e))
        }
    }
    let who = format!(
        "hogwild process {} (`{}`)\n",
        std::process::id(),
        std::env::args().collect::<Vec<_>>().join(" ")
    );
    lock.set_len(0)
        .and_then(|()| lock.write_all(who.as_bytes()))
        .map_err(|e| anyhow!("cannot write {}: {}", lock_path.display(), bare(&e)))?;
    Ok(lock)
}

impl OutputDir {
    /// Creates `root` if needed, takes its lock (refusing when another process holds it),
    /// removes temporaries that a killed process left, and checks that files can be
    /// written there and in `subdirs` (created too).
    pub fn open(root: &Path, subdirs: &[&str]) -> anyhow::Result<OutputDir> {
        let lock = lock(root, "--out")?;
        let out = OutputDir {
            root: root.to_path_buf(),
            _lock: lock,
        };
        out.remove_temporaries()?;
        let mut dirs = vec![root.to_path_buf()];
        for sub in subdirs {
            let dir = root.join(sub);
            if dir.exists() && !dir.is_dir() {
                anyhow::bail!(
                    "{}: not a directory, but a table writes there",
                    dir.display()
                );
            }
            std::fs::create_dir_all(&dir)
                .map_err(|e| anyhow!("cannot create {}: {}", dir.display(), bare(&e)))?;
            dirs.push(dir);
        }
        for dir in dirs {
            temporary_in(&dir)?;
        }
        Ok(out)
    }

    /// The directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Removes the temporary files under the directory, its subdirectories and theirs
    /// (`<out>/<table>/records/`): with the lock held, no other process is writing them.
    fn remove_temporaries(&self) -> anyhow::Result<()> {
        let mut dirs = vec![(self.root.clone(), 0)];
        while let Some((dir, depth)) = dirs.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let name = entry.file_name();
                let path = entry.path();
                let Ok(kind) = entry.file_type() else {
                    continue;
                };
                if kind.is_dir() && depth < 2 {
                    dirs.push((path, depth + 1));
                } else if !kind.is_dir() && name.to_string_lossy().starts_with(TEMP_PREFIX) {
                    std::fs::remove_file(&path).map_err(|e| {
                        anyhow!(
                            "cannot remove the stale temporary {}: {}",
                            path.display(),
                            bare(&e)
                        )
                    })?;
                }
            }
        }
        Ok(())
    }
}

/// Refuses a directory that a running hogwild process is writing (it holds the lock).
pub fn ensure_finished(dir: &Path) -> anyhow::Result<()> {
    let lock_path = dir.join(LOCK_FILE);
    let Ok(lock) = std::fs::File::open(&lock_path) else {
        return Ok(());
    };
    match lock.try_lock_shared() {
        Ok(()) => Ok(()),
        Err(std::fs::TryLockError::WouldBlock) => anyhow::bail!(
            "{} is still being written by {}; merge it once that has finished",
            dir.display(),
            holder(dir)
        ),
        Err(std::fs::TryLockError::Error(e)) => {
            anyhow::bail!("cannot lock {}: {}", lock_path.display(), bare(&e))
        }
    }
}

/// A new, empty temporary file in `dir`, with the permissions of every output file.
fn temporary_in(dir: &Path) -> anyhow::Result<tempfile::NamedTempFile> {
    let mut builder = tempfile::Builder::new();
    builder.prefix(TEMP_PREFIX);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // As `File::create`: read-write for everyone, less the umask.
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    builder
        .tempfile_in(dir)
        .map_err(|e| anyhow!("cannot create a file in {}: {}", dir.display(), bare(&e)))
}

/// Writes `bytes` to `path` atomically: a temporary file in the same directory, flushed to
/// disk, renamed over `path`.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = temporary_in(dir)?;
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(|e| anyhow!("cannot write {}: {}", path.display(), bare(&e)))?;
    tmp.persist(path)
        .map_err(|e| anyhow!("cannot write {}: {}", path.display(), bare(&e.error)))?;
    Ok(())
}

/// Copies `from` to `to` atomically, unless they are the same file (which a plain copy
/// would truncate to nothing).
pub fn copy_atomic(from: &Path, to: &Path) -> anyhow::Result<()> {
    if same_file::is_same_file(from, to).unwrap_or(false) {
        return Ok(());
    }
    let bytes =
        std::fs::read(from).map_err(|e| anyhow!("cannot read {}: {}", from.display(), bare(&e)))?;
    if let Some(dir) = to.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| anyhow!("cannot create {}: {}", dir.display(), bare(&e)))?;
    }
    write_atomic(to, &bytes).context("copying a run record")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_writer_is_refused_and_named() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let first = OutputDir::open(&out, &["t"]).unwrap();
        let err = OutputDir::open(&out, &[]).unwrap_err().to_string();
        assert!(err.contains("is in use by hogwild process"), "{err}");
        assert!(err.contains(&std::process::id().to_string()), "{err}");
        assert!(ensure_finished(&out).is_err());
        drop(first);
        OutputDir::open(&out, &[]).expect("the lock ends with its holder");
        assert!(ensure_finished(&out).is_ok());
    }

    #[test]
    fn unusable_directories_are_refused_before_anything_runs() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("file");
        std::fs::write(&file, "x").unwrap();
        let err = OutputDir::open(&file, &[]).unwrap_err().to_string();
        assert!(
            err.contains("not a directory") && err.contains("file"),
            "{err}"
        );
        let out = dir.path().join("out");
        std::fs::create_dir_all(&out).unwrap();
        std::fs::write(out.join("chains"), "x").unwrap();
        let err = OutputDir::open(&out, &["chains"]).unwrap_err().to_string();
        assert!(err.contains("chains: not a directory"), "{err}");
    }

    #[test]
    fn stale_temporaries_are_removed_and_links_are_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let records = out.join("t").join("records");
        std::fs::create_dir_all(&records).unwrap();
        let stale = records.join(format!("{TEMP_PREFIX}abc"));
        std::fs::write(&stale, "half a record").unwrap();
        let out_dir = OutputDir::open(&out, &["t"]).unwrap();
        assert!(!stale.exists());
        // A link planted at a file's final name is replaced, its target untouched.
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "precious").unwrap();
        let table = out_dir.root().join("t").join("table.md");
        #[cfg(unix)]
        std::os::unix::fs::symlink(&victim, &table).unwrap();
        write_atomic(&table, b"table").unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        assert_eq!(std::fs::read_to_string(&table).unwrap(), "table");
        assert!(!std::fs::symlink_metadata(&table)
            .unwrap()
            .file_type()
            .is_symlink());
    }

    #[test]
    fn copying_a_file_onto_itself_leaves_it_whole() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.toml");
        std::fs::write(&a, "record").unwrap();
        let same = dir.path().join(".").join("a.toml");
        copy_atomic(&a, &same).unwrap();
        assert_eq!(std::fs::read_to_string(&a).unwrap(), "record");
        let b = dir.path().join("sub").join("b.toml");
        copy_atomic(&a, &b).unwrap();
        assert_eq!(std::fs::read_to_string(&b).unwrap(), "record");
    }
}
