//! What the experiments that are not GNN tables share (`[distributed.NAME]`, `[amp.NAME]`):
//! how `results/NAME/` was made (`record.toml`), the hash of an experiment's settings, and
//! writing its files.
//!
//! Such an experiment has its own settings type and its own files. Most are recomputed
//! whole each time they are selected; a long one keeps each finished job's numbers in a
//! [`JobStore`] and resumes from them.

use anyhow::Context;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// How an experiment was invoked: what its `record.toml` says besides its settings.
#[derive(Debug, Clone, Copy)]
pub struct Invocation<'a> {
    /// The profile applied.
    pub profile: &'a str,
    /// The `--set` overrides applied, as given (`--set KEY=VALUE` each).
    pub overrides: &'a [String],
    /// Worker threads.
    pub threads: usize,
}

/// `record.toml` of an experiment: how `results/NAME/` was made.
#[derive(Debug, Serialize)]
pub struct ExperimentRecord<'a> {
    /// The experiment's name (its `results/` directory).
    pub table: &'a str,
    /// What kind of experiment (`distributed-regression`, `amp-expressiveness`, …); readers
    /// tell the result directories apart by it.
    pub experiment: &'a str,
    /// The profile applied.
    pub profile: &'a str,
    /// SHA-256 of the experiment's settings as TOML ([`config_hash`]).
    pub config_sha256: String,
    /// The commit the binary was built from.
    pub code_version: &'static str,
    /// Whether the work tree had uncommitted changes.
    pub code_dirty: bool,
    /// The compiler.
    pub rustc: &'static str,
    /// Worker threads.
    pub threads: usize,
    /// Wall seconds of the whole experiment.
    pub wall_seconds: f64,
    /// Sum of the runs' wall seconds.
    pub run_seconds: f64,
    /// The command line.
    pub command: String,
    /// The `--set` overrides applied (already in `config_sha256`).
    pub overrides: Vec<String>,
}

impl<'a> ExperimentRecord<'a> {
    /// The record of experiment `table` of kind `experiment` with settings `settings`, run
    /// as `how` says, which took `wall_seconds` (runs: `run_seconds` in total); times are
    /// rounded to milliseconds.
    pub fn new<T: Serialize>(
        (table, experiment): (&'a str, &'a str),
        settings: &T,
        how: Invocation<'a>,
        wall_seconds: f64,
        run_seconds: f64,
    ) -> ExperimentRecord<'a> {
        ExperimentRecord {
            table,
            experiment,
            profile: how.profile,
            config_sha256: config_hash(settings),
            code_version: env!("HOGWILD_GIT_COMMIT"),
            code_dirty: env!("HOGWILD_GIT_DIRTY") == "true",
            rustc: env!("HOGWILD_RUSTC_VERSION"),
            threads: how.threads,
            wall_seconds: (wall_seconds * 1000.0).round() / 1000.0,
            run_seconds: (run_seconds * 1000.0).round() / 1000.0,
            command: std::env::args().collect::<Vec<_>>().join(" "),
            overrides: how.overrides.to_vec(),
        }
    }
}

/// SHA-256 (hex) of `settings` as TOML.
pub fn config_hash<T: Serialize>(settings: &T) -> String {
    use sha2::{Digest, Sha256};
    let text = toml::to_string(settings).expect("the settings serialise");
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Creates `dir` and writes each `(file name, bytes)` into it atomically.
pub fn write_files(dir: &Path, files: Vec<(&str, Vec<u8>)>) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    for (file, bytes) in files {
        crate::outdir::write_atomic(&dir.join(file), &bytes)?;
    }
    Ok(())
}

/// A thread pool of `threads` workers.
pub fn pool(threads: usize) -> anyhow::Result<rayon::ThreadPool> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .context("cannot start the worker threads")
}

/// The records of an experiment's finished jobs, `<dir>/records/<id>.toml`: written
/// atomically when a job ends, with a checksum line, under an id that hashes everything
/// the job's numbers depend on ([`JobStore::id`]: the code version and the job's key). An
/// interrupted experiment started again reuses them; a truncated or altered record is
/// reported and recomputed.
#[derive(Debug, Clone)]
pub struct JobStore {
    dir: PathBuf,
    force: bool,
}

#[derive(Serialize, Deserialize)]
struct JobRecord<T> {
    id: String,
    value: T,
}

impl JobStore {
    /// The records of the experiment written to `dir`; `force` ignores existing ones.
    pub fn new(dir: &Path, force: bool) -> JobStore {
        JobStore {
            dir: dir.join("records"),
            force,
        }
    }

    /// The id of a job with key `key`: SHA-256 of the code version and the key as TOML.
    pub fn id<K: Serialize>(key: &K) -> String {
        #[derive(Serialize)]
        struct Versioned<'a, K> {
            code: &'a str,
            key: &'a K,
        }
        config_hash(&Versioned {
            code: crate::records::code_version(),
            key,
        })
    }

    /// The value recorded under `id`, if there is a usable record (and not `force`); a
    /// damaged record is reported on stderr and treated as missing.
    pub fn load<T: DeserializeOwned>(&self, id: &str) -> Option<T> {
        if self.force {
            return None;
        }
        self.load_checked(id).unwrap_or_else(|why| {
            eprintln!("{why}; recomputing");
            None
        })
    }

    /// The value recorded under `id`: `Ok(None)` without a record, `Err` (naming the file)
    /// for a record that cannot be read, does not parse, fails its checksum or names another
    /// job.
    pub fn load_checked<T: DeserializeOwned>(&self, id: &str) -> Result<Option<T>, String> {
        let path = self.path(id);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("{}: cannot be read ({e})", path.display())),
        };
        let parsed = crate::records::checked_body(&text).and_then(|body| {
            let record: JobRecord<T> =
                toml::from_str(body).map_err(|e| format!("does not parse: {e}"))?;
            if record.id == id {
                Ok(record.value)
            } else {
                Err(format!("belongs to job {}", record.id))
            }
        });
        parsed
            .map(Some)
            .map_err(|why| format!("{}: {why}", path.display()))
    }

    /// The file of the record `id`.
    pub fn path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.toml"))
    }

    /// Records `value` under `id`, atomically.
    pub fn save<T: Serialize>(&self, id: &str, value: &T) -> anyhow::Result<()> {
        std::fs::create_dir_all(&self.dir)
            .with_context(|| format!("cannot create {}", self.dir.display()))?;
        let record = JobRecord {
            id: id.to_string(),
            value,
        };
        let body = toml::to_string(&record)?;
        crate::outdir::write_atomic(
            &self.path(id),
            crate::records::with_checksum(&body).as_bytes(),
        )
    }
}
