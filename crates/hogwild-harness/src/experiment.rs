//! What the experiments that are not GNN tables share (`[distributed.NAME]`, `[amp.NAME]`):
//! how `results/NAME/` was made (`record.toml`), the hash of an experiment's settings, and
//! writing its files.
//!
//! Such an experiment has its own settings type and its own files, but no run records to
//! resume from: it is recomputed whole each time it is selected.

use anyhow::Context;
use serde::Serialize;
use std::path::Path;

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
}

impl<'a> ExperimentRecord<'a> {
    /// The record of experiment `table` of kind `experiment` with settings `settings`, run
    /// under `profile` on `threads` threads, which took `wall_seconds` (runs: `run_seconds`
    /// in total); times are rounded to milliseconds.
    pub fn new<T: Serialize>(
        (table, experiment): (&'a str, &'a str),
        settings: &T,
        profile: &'a str,
        threads: usize,
        wall_seconds: f64,
        run_seconds: f64,
    ) -> ExperimentRecord<'a> {
        ExperimentRecord {
            table,
            experiment,
            profile,
            config_sha256: config_hash(settings),
            code_version: env!("HOGWILD_GIT_COMMIT"),
            code_dirty: env!("HOGWILD_GIT_DIRTY") == "true",
            rustc: env!("HOGWILD_RUSTC_VERSION"),
            threads,
            wall_seconds: (wall_seconds * 1000.0).round() / 1000.0,
            run_seconds: (run_seconds * 1000.0).round() / 1000.0,
            command: std::env::args().collect::<Vec<_>>().join(" "),
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
