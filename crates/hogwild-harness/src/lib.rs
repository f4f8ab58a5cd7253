//! The hogwild harness: reads `harness.toml`, runs every table's sweep, and writes
//! `results/`. The `hogwild` binary is a thin command line over [`reproduce`].

pub mod config;
pub mod records;
pub mod report;
pub mod sweep;

use config::{Config, TableConfig};
use report::{Record, TableReport};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::path::PathBuf;
use std::time::Instant;

/// What to reproduce, and where.
#[derive(Debug, Clone)]
pub struct ReproduceOptions {
    /// The sweep definition.
    pub config: PathBuf,
    /// Profile name (`full` = the file as written).
    pub profile: String,
    /// Tables to run (all when empty).
    pub tables: Vec<String>,
    /// Output directory; each table writes `out/<table>/`.
    pub out: PathBuf,
    /// Worker threads (runs in parallel).
    pub threads: usize,
    /// Recompute runs that have a record (`--force`).
    pub force: bool,
}

/// The part of the config one table's numbers depend on.
#[derive(Serialize)]
struct Resolved<'a> {
    #[serde(rename = "async")]
    async_: &'a hogwild_sim::AsyncConfig,
    models: &'a hogwild_models::ModelsConfig,
    table: &'a TableConfig,
}

/// SHA-256 (hex) of the resolved config of table `name`.
pub fn config_hash(config: &Config, name: &str, table: &TableConfig) -> String {
    let text = toml::to_string(&Resolved {
        async_: &config.async_,
        models: config.models_for(name),
        table,
    })
    .expect("config serialises");
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Runs the selected tables and writes their results; returns the reports.
pub fn reproduce(opts: &ReproduceOptions) -> anyhow::Result<Vec<TableReport>> {
    let start = Instant::now();
    anyhow::ensure!(opts.threads >= 1, "-j must be at least 1");
    let config = Config::load(&opts.config, &opts.profile)?;
    let tables = config.select(&opts.tables).map_err(anyhow::Error::msg)?;
    let runs: Vec<_> = tables
        .iter()
        .flat_map(|(name, t)| sweep::plan(name, t))
        .collect();
    eprintln!(
        "[hogwild] {} runs over {} table(s) on {} thread(s)",
        runs.len(),
        tables.len(),
        opts.threads
    );
    let store = records::RunStore::new(&opts.out);
    let sweep = sweep::execute_all(&config, &tables, &runs, opts.threads, &store, opts.force)?;
    let results = sweep.results;
    let wall = start.elapsed().as_secs_f64();
    let mut reports = vec![];
    for (name, table) in &tables {
        let mine: Vec<_> = results.iter().filter(|r| &r.spec.table == name).collect();
        let from_records = results
            .iter()
            .zip(&sweep.from_record)
            .filter(|(r, &f)| f && &r.spec.table == name)
            .count();
        let report = report::aggregate(name, table, &mine);
        let mut record = Record::new(
            name,
            &opts.profile,
            config_hash(&config, name, table),
            opts.threads,
            &mine,
        );
        record.wall_seconds = (wall * 1000.0).round() / 1000.0;
        record.runs_from_records = from_records;
        report::write_table(&opts.out.join(name), &report, &mine, &record)?;
        reports.push(report);
    }
    Ok(reports)
}
