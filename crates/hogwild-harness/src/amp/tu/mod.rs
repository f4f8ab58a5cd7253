//! AMP's Table 4 (`[amp.NAME.tu]`): AMP-RNN on TU graph classification under the paper's
//! protocol (the GIN protocol: the epoch with the best mean test accuracy over the folds,
//! and the best grid point) and, from the same runs, an inner-validation protocol that
//! chooses grid point and epoch without the test fold. Settings: [`config`]; graphs:
//! [`data`]; runs: [`run`]; statistics: [`stats`].

pub mod config;
pub mod data;
pub mod run;
pub mod stats;

use crate::amp::AmpTable;
use crate::experiment::{write_files, ExperimentRecord, JobStore};
use serde::Serialize;
use std::path::Path;

/// What Table 4 needs besides its settings.
#[derive(Clone, Copy)]
pub struct TuInputs<'a> {
    /// Its datasets, read before anything runs (`Config::load_amp_tu`).
    pub data: &'a [data::TuGraphs],
    /// Recompute jobs that have a record.
    pub force: bool,
    /// Hears of each finished job.
    pub progress: &'a (dyn Fn(&str) + Sync),
}

/// `record.toml` of Table 4: the experiment's record and each dataset's cost.
#[derive(Serialize)]
struct TuRecord<'a> {
    #[serde(flatten)]
    record: ExperimentRecord<'a>,
    /// Jobs taken from their records instead of computed.
    jobs_from_records: usize,
    datasets: Vec<DatasetCost>,
}

/// One dataset's share of the work.
#[derive(Serialize)]
struct DatasetCost {
    label: String,
    jobs: usize,
    /// Sum of its jobs' wall seconds (each job runs on the pool's threads).
    job_seconds: f64,
    /// Messages of its training epochs (forward; the backward pass revisits each once).
    training_messages: u64,
    /// `training_messages / job_seconds`.
    messages_per_job_second: f64,
}

/// Runs Table 4 (resuming from the job records in `dir/records/`) and writes its files.
pub fn reproduce(
    name: &str,
    table: &AmpTable,
    settings: &config::TuSettings,
    profile: &str,
    threads: usize,
    dir: &Path,
    inputs: TuInputs<'_>,
) -> anyhow::Result<()> {
    let start = std::time::Instant::now();
    let store = JobStore::new(dir, inputs.force);
    let jobs = run::jobs(table, settings);
    let computed = std::sync::atomic::AtomicUsize::new(0);
    let outcomes = crate::experiment::pool(threads)?.install(|| {
        run::run(
            name,
            table,
            settings,
            inputs.data,
            &store,
            &computed,
            inputs.progress,
        )
    })?;
    let computed = computed.into_inner();
    let datasets = settings
        .datasets
        .iter()
        .enumerate()
        .map(|(d, spec)| {
            let mine: Vec<&run::TuOutcome> = jobs
                .iter()
                .zip(&outcomes)
                .filter(|(j, _)| j.dataset == d)
                .map(|(_, o)| o)
                .collect();
            let job_seconds: f64 = mine.iter().map(|o| o.seconds).sum();
            let training_messages: u64 = mine
                .iter()
                .map(|o| o.messages_per_epoch * o.losses.len() as u64)
                .sum();
            DatasetCost {
                label: spec.label.clone(),
                jobs: mine.len(),
                job_seconds: (job_seconds * 1000.0).round() / 1000.0,
                training_messages,
                messages_per_job_second: (training_messages as f64 / job_seconds.max(1e-9)).round(),
            }
        })
        .collect();
    let record = TuRecord {
        record: ExperimentRecord::new(
            (name, table.experiment().kind()),
            table,
            profile,
            threads,
            start.elapsed().as_secs_f64(),
            outcomes.iter().map(|o| o.seconds).sum(),
        ),
        jobs_from_records: jobs.len() - computed,
        datasets,
    };
    let mut files = crate::report::amp_tu::files(table, settings, inputs.data, &jobs, &outcomes)?;
    files.push(("record.toml", toml::to_string(&record)?.into_bytes()));
    write_files(dir, files)
}
