//! AMP's Table 4 (`[amp.NAME.tu]`): AMP-RNN, and the registry's GCN, GAT and GIN as
//! baselines, on TU graph classification under the paper's protocol (the GIN protocol: the
//! epoch with the best mean test accuracy over the folds, and the best grid point) and, from
//! the same runs, an inner-validation protocol that chooses grid point and epoch without the
//! test fold. Settings: [`config`]; graphs:
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
    /// Its datasets and baselines' settings, read before anything runs
    /// (`Config::load_amp_tu`).
    pub data: &'a data::TuData,
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
    /// The baselines' `[models]` sections as read (each job replaces `hidden` and `train`).
    baselines: toml::Table,
    datasets: Vec<DatasetCost>,
}

/// One dataset's share of the work.
#[derive(Serialize)]
struct DatasetCost {
    label: String,
    jobs: usize,
    /// Sum of its jobs' wall seconds (each job runs on the pool's threads).
    job_seconds: f64,
    /// The share of `job_seconds` spent on AMP-RNN's jobs (the rest: the baselines').
    amp_job_seconds: f64,
    /// Messages of AMP-RNN's training epochs (forward; the backward pass revisits each
    /// once).
    training_messages: u64,
    /// `training_messages / amp_job_seconds`.
    messages_per_job_second: f64,
}

/// Runs Table 4 (resuming from the job records in `dir/records/`) and writes its files.
pub fn reproduce(
    name: &str,
    table: &AmpTable,
    settings: &config::TuSettings,
    how: crate::experiment::Invocation<'_>,
    dir: &Path,
    inputs: TuInputs<'_>,
) -> anyhow::Result<()> {
    let start = std::time::Instant::now();
    let store = JobStore::new(dir, inputs.force);
    let keyed = run::keyed(name, table, settings, inputs.data);
    let jobs: Vec<run::TuJob> = keyed.iter().map(|k| k.job).collect();
    let computed = std::sync::atomic::AtomicUsize::new(0);
    let outcomes = crate::experiment::pool(how.threads)?.install(|| {
        run::run(
            name,
            table,
            settings,
            inputs.data,
            &keyed,
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
            let mine: Vec<(&run::TuJob, &run::TuOutcome)> = jobs
                .iter()
                .zip(&outcomes)
                .filter(|(j, _)| j.dataset == d)
                .collect();
            // Folds from +0.0: an empty float sum is −0.0.
            let job_seconds = mine.iter().fold(0.0, |t, (_, o)| t + o.seconds);
            let amp_job_seconds = mine
                .iter()
                .filter(|(j, _)| j.point.amp.is_some())
                .fold(0.0, |t, (_, o)| t + o.seconds);
            let training_messages: u64 = mine
                .iter()
                .map(|(_, o)| o.messages_per_epoch * o.losses.len() as u64)
                .sum();
            let millis = |s: f64| (s * 1000.0).round() / 1000.0;
            DatasetCost {
                label: spec.label.clone(),
                jobs: mine.len(),
                job_seconds: millis(job_seconds),
                amp_job_seconds: millis(amp_job_seconds),
                training_messages,
                messages_per_job_second: (training_messages as f64 / amp_job_seconds.max(1e-9))
                    .round(),
            }
        })
        .collect();
    let record = TuRecord {
        record: ExperimentRecord::new(
            (name, table.experiment().kind()),
            table,
            how,
            start.elapsed().as_secs_f64(),
            outcomes.iter().map(|o| o.seconds).sum(),
        ),
        jobs_from_records: jobs.len() - computed,
        baselines: inputs.data.models.to_table(),
        datasets,
    };
    let mut files = crate::report::amp_tu::files(
        name,
        table,
        settings,
        &inputs.data.datasets,
        &jobs,
        &outcomes,
    )?;
    files.push(("record.toml", toml::to_string(&record)?.into_bytes()));
    write_files(dir, files)
}

/// The ids of every job of Table 4 `name`, in job order: what a shard's `plan.toml` hashes.
pub fn job_ids(
    name: &str,
    table: &AmpTable,
    settings: &config::TuSettings,
    data: &data::TuData,
) -> Vec<String> {
    run::keyed(name, table, settings, data)
        .into_iter()
        .map(|k| k.id)
        .collect()
}

/// Runs shard `index` of `count` of Table 4's jobs (sorted by expected cost, most expensive
/// first, and dealt out in turn), recording each in `dir/records/`; writes no table.
/// Returns the number of jobs in the shard.
#[allow(clippy::too_many_arguments)]
pub fn run_shard(
    name: &str,
    table: &AmpTable,
    settings: &config::TuSettings,
    data: &data::TuData,
    dir: &Path,
    (index, count): (usize, usize),
    threads: usize,
    progress: &(dyn Fn(&str) + Sync),
) -> anyhow::Result<usize> {
    let keyed = run::keyed(name, table, settings, data);
    let mut order: Vec<usize> = (0..keyed.len()).collect();
    order.sort_by(|&a, &b| {
        run::cost(data, &keyed[b].job).total_cmp(&run::cost(data, &keyed[a].job))
    });
    let mut mine: Vec<usize> = order
        .into_iter()
        .enumerate()
        .filter(|(position, _)| position % count == index)
        .map(|(_, i)| i)
        .collect();
    mine.sort_unstable();
    let jobs: Vec<run::Keyed> = mine.iter().map(|&i| keyed[i].clone()).collect();
    let store = JobStore::new(dir, false);
    let computed = std::sync::atomic::AtomicUsize::new(0);
    crate::experiment::pool(threads)?.install(|| {
        run::run(
            name, table, settings, data, &jobs, &store, &computed, progress,
        )
    })?;
    Ok(jobs.len())
}

/// Every job's record of one Table 4, found in shard directories ([`gather`]).
pub struct Gathered {
    name: String,
    found: Vec<(String, String, run::TuOutcome)>,
}

/// Finds the record of every job of Table 4 `name` in the shard directories `dirs` (their
/// `NAME/records/`), writing nothing. Refuses a missing job, a damaged record, and a job
/// recorded twice with different numbers.
pub fn gather(
    name: &str,
    table: &AmpTable,
    settings: &config::TuSettings,
    data: &data::TuData,
    dirs: &[std::path::PathBuf],
) -> anyhow::Result<Gathered> {
    let stores: Vec<JobStore> = dirs
        .iter()
        .map(|d| JobStore::new(&d.join(name), false))
        .collect();
    let keyed = run::keyed(name, table, settings, data);
    let mut found = Vec::with_capacity(keyed.len());
    let mut missing = Vec::new();
    for k in &keyed {
        let mut first: Option<(run::TuOutcome, std::path::PathBuf)> = None;
        for store in &stores {
            let Some(outcome) = store
                .load_checked::<run::TuOutcome>(&k.id)
                .map_err(|why| anyhow::anyhow!("job record {why}"))?
            else {
                continue;
            };
            match &first {
                None => first = Some((outcome, store.path(&k.id))),
                Some((o, path)) => anyhow::ensure!(
                    o.same_numbers(&outcome),
                    "job {} is recorded twice with different results: {} and {}",
                    k.label,
                    path.display(),
                    store.path(&k.id).display()
                ),
            }
        }
        match first {
            Some((outcome, _)) => found.push((k.id.clone(), k.label.clone(), outcome)),
            None => missing.push(k.label.clone()),
        }
    }
    anyhow::ensure!(
        missing.is_empty(),
        "{} of {} jobs of {name} are in none of the shard directories (is a shard missing or unfinished?), e.g. {}",
        missing.len(),
        keyed.len(),
        missing.iter().take(3).cloned().collect::<Vec<_>>().join(", ")
    );
    Ok(Gathered {
        name: name.to_string(),
        found,
    })
}

impl Gathered {
    /// Writes every record into `out/NAME/records/`, so that [`reproduce`] there takes every
    /// job from its record; a record already there is kept when it holds the same numbers.
    pub fn write(&self, out: &Path) -> anyhow::Result<()> {
        let merged = JobStore::new(&out.join(&self.name), false);
        for (id, label, outcome) in &self.found {
            match merged
                .load_checked::<run::TuOutcome>(id)
                .map_err(|why| anyhow::anyhow!("job record {why}"))?
            {
                Some(there) if there.same_numbers(outcome) => {}
                Some(_) => anyhow::bail!(
                    "job {label} is recorded with different results in {}",
                    merged.path(id).display()
                ),
                None => merged.save(id, outcome)?,
            }
        }
        Ok(())
    }
}
