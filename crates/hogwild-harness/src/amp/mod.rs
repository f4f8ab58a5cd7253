//! AMP's tables (`[amp.NAME]` in `harness.toml`): Table 2 (expressiveness beyond 1-WL),
//! Table 3 (shortest-path-parity extrapolation) and Table 4 (TU graph classification,
//! [`tu`]) of Faber & Wattenhofer, through `hogwild_amp`, with the paper's cells beside
//! ours, written to `results/NAME/`.
//!
//! These are not GNN tables (no sync and async modes, no folds): every run trains one
//! model with one seed on fresh data and tests it. Runs are independent and made in
//! parallel; each is deterministic whatever the thread count (AMP sums its runs' gradients
//! in a fixed order), so the files do not depend on `-j`. Settings: [`AmpTable`]; runs:
//! [`run`]; files: [`crate::report::amp`]. Table 4 is swept over folds and a grid, and its
//! jobs are recorded as they end, so it resumes.

mod config;
pub mod run;
pub mod tu;

pub use config::{AmpRow, AmpTable, DelayModel, Experiment, Expressiveness, Extrapolation};
pub use tu::TuInputs;

use crate::experiment::{write_files, ExperimentRecord};
use std::path::Path;

/// Runs `table` and writes `dir` (`table.md`, `table.csv`, `runs.csv`, `curves.csv`, for
/// extrapolation `distances.csv`, and `record.toml`), each file atomically.
pub fn reproduce(
    name: &str,
    table: &AmpTable,
    how: crate::experiment::Invocation<'_>,
    dir: &Path,
    tu: TuInputs<'_>,
) -> anyhow::Result<()> {
    if let Some(settings) = &table.tu {
        return tu::reproduce(name, table, settings, how, dir, tu);
    }
    let start = std::time::Instant::now();
    let results = crate::experiment::pool(how.threads)?.install(|| run::run(name, table))?;
    let record = ExperimentRecord::new(
        (name, table.experiment().kind()),
        table,
        how,
        start.elapsed().as_secs_f64(),
        results.iter().map(|r| r.seconds).sum(),
    );
    let mut files = crate::report::amp::files(table, &results)?;
    files.push(("record.toml", toml::to_string(&record)?.into_bytes()));
    write_files(dir, files)
}
