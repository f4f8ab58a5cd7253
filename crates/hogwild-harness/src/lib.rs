//! The hogwild harness: reads `harness.toml`, runs every table's sweep, and writes
//! `results/`. The `hogwild` binary is a thin command line over [`reproduce`].

pub mod amp;
pub mod config;
pub mod curve;
pub mod data;
pub mod distributed;
pub mod experiment;
pub mod faults;
pub mod outdir;
pub mod progress;
pub mod records;
pub mod report;
pub mod scaling;
pub mod sweep;
pub mod text;

use anyhow::Context;
use config::{Config, Datasets, TableConfig};
use outdir::OutputDir;
use records::{Lookup, RunStore};
use report::{Record, TableReport};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::PathBuf;
use std::time::Instant;
use sweep::RunResult;

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
    /// What to print on stderr.
    pub verbosity: progress::Verbosity,
    /// Settings given on the command line (`--set KEY=VALUE`), over the file and profile.
    pub overrides: config::Overrides,
}

impl ReproduceOptions {
    /// What an experiment's `record.toml` says of this command; `given` holds
    /// `self.overrides` as given ([`ReproduceOptions::overrides_given`]).
    fn invocation<'a>(&'a self, given: &'a [String]) -> experiment::Invocation<'a> {
        experiment::Invocation {
            profile: &self.profile,
            overrides: given,
            threads: self.threads,
        }
    }

    /// The `--set` overrides, as given.
    fn overrides_given(&self) -> Vec<String> {
        self.overrides
            .given()
            .iter()
            .map(|s| s.to_string())
            .collect()
    }

    fn execute_options(&self) -> sweep::ExecuteOptions {
        sweep::ExecuteOptions {
            threads: self.threads,
            force: self.force,
            verbosity: self.verbosity,
        }
    }

    /// Prints `line` on stderr unless quiet.
    fn say(&self, line: &str) {
        if self.verbosity != progress::Verbosity::Quiet {
            eprintln!("[hogwild] {line}");
        }
    }
}

/// The part of the config one table's numbers depend on: the asynchrony model, the settings
/// of the table's own models, and the table.
#[derive(Serialize)]
struct Resolved<'a> {
    #[serde(rename = "async")]
    async_: &'a hogwild_sim::AsyncConfig,
    models: &'a hogwild_models::ModelsConfig,
    table: &'a TableConfig,
}

/// SHA-256 (hex) of the resolved config of table `name`: a model section the table does not
/// use does not change it.
pub fn config_hash(config: &Config, name: &str, table: &TableConfig) -> String {
    let text = toml::to_string(&Resolved {
        async_: &config.async_,
        models: &config.models_for(name).only(&table.models),
        table,
    })
    .expect("config serialises");
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A sweep's runs, resolved from the config: what `plan` lists, `run --shard` splits and
/// `merge` checks.
pub struct Plan {
    /// The config, with its profile applied.
    pub config: Config,
    /// The selected tables.
    pub tables: Vec<(String, TableConfig)>,
    /// Every selected column's dataset, built once and shared by its runs.
    pub datasets: Datasets,
    /// Every run, in plan order.
    pub runs: Vec<sweep::PlannedRun>,
}

impl Plan {
    /// The plan of the tables `opts` selects: the config loaded and checked, every selected
    /// column's dataset built (data files read once), and the memory of `opts.threads`
    /// concurrent runs checked against the machine's.
    pub fn load(opts: &ReproduceOptions) -> anyhow::Result<Plan> {
        let config = Config::load_with(&opts.config, &opts.profile, &opts.overrides)?;
        let tables = config.select(&opts.tables).map_err(anyhow::Error::msg)?;
        let datasets = config.build_datasets(&tables)?;
        let runs = sweep::plan_all(&config, &tables, &datasets)?;
        let concurrent = opts.threads.min(runs.len()).max(1);
        let need = datasets.memory_of_runs(concurrent);
        anyhow::ensure!(
            need.get() <= config.budget.bytes,
            "-j {}: {concurrent} runs at once need about {} of memory (the datasets, and each \
             run's model and simulator), more than {}; use a smaller -j",
            opts.threads,
            hogwild_settings::bytes_text(need.get()),
            config.budget.describe()
        );
        Ok(Plan {
            config,
            tables,
            datasets,
            runs,
        })
    }

    /// The names of the selected tables (their output directories).
    fn table_names(&self) -> Vec<&str> {
        self.tables.iter().map(|(n, _)| n.as_str()).collect()
    }

    /// SHA-256 over the run ids in plan order: equal hashes, equal runs (same code, config,
    /// profile and tables).
    pub fn hash(&self) -> String {
        let ids: Vec<&str> = self.runs.iter().map(|r| r.id.as_str()).collect();
        Sha256::digest(ids.join("\n").as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// The runs of shard `shard.index` of `shard.count`: the runs sorted by expected cost
    /// (most expensive first, ties in plan order) and dealt out in turn, so shards get
    /// similar work. Every run is in exactly one shard.
    pub fn shard(&self, shard: Shard) -> Vec<sweep::PlannedRun> {
        let mut order: Vec<usize> = (0..self.runs.len()).collect();
        order.sort_by(|&a, &b| self.runs[b].cost.total_cmp(&self.runs[a].cost));
        let mut mine: Vec<usize> = order
            .into_iter()
            .enumerate()
            .filter(|(p, _)| p % shard.count == shard.index)
            .map(|(_, i)| i)
            .collect();
        mine.sort_unstable();
        mine.into_iter().map(|i| self.runs[i].clone()).collect()
    }

    /// Aggregates `results` (one per planned run, in plan order) into every table and
    /// writes `out/<table>/`.
    fn write_tables(
        &self,
        opts: &ReproduceOptions,
        results: &[RunResult],
        from_record: &[bool],
        wall: f64,
    ) -> anyhow::Result<Vec<TableReport>> {
        let mut reports = vec![];
        write_schema(opts)?;
        for (name, table) in &self.tables {
            let runs: Vec<_> = self
                .runs
                .iter()
                .zip(results)
                .filter(|(_, r)| &r.spec.table == name)
                .collect();
            let mine: Vec<_> = runs.iter().map(|(_, r)| *r).collect();
            let from_records = results
                .iter()
                .zip(from_record)
                .filter(|(r, &f)| f && &r.spec.table == name)
                .count();
            let report = report::aggregate(name, table, &mine);
            let mut record = Record::new(
                name,
                &opts.profile,
                config_hash(&self.config, name, table),
                opts.threads,
                &mine,
            );
            record.wall_seconds = (wall * 1000.0).round() / 1000.0;
            record.overrides = opts.overrides_given();
            record.runs_from_records = from_records;
            report::write_table(
                &opts.out.join(name),
                &report,
                &runs,
                &record,
                &self.datasets,
            )?;
            reports.push(report);
        }
        if !self.config.claims.is_empty() {
            crate::outdir::write_atomic(
                &opts.out.join("claims.md"),
                report::claims::claims_markdown(&self.config, &opts.out)?.as_bytes(),
            )?;
        }
        Ok(reports)
    }
}

/// Runs the selected tables (and distributed-training experiments, `[distributed.*]`, and
/// AMP's tables, `[amp.*]`) and
/// writes their results; returns the tables' reports.
pub fn reproduce(opts: &ReproduceOptions) -> anyhow::Result<Vec<TableReport>> {
    let start = Instant::now();
    anyhow::ensure!(opts.threads >= 1, "-j must be at least 1");
    let plan = Plan::load(opts)?;
    let distributed = plan.config.select_distributed(&opts.tables);
    let amp_tables = plan.config.select_amp(&opts.tables);
    // Table 4's datasets are read before anything runs, so bad files stop the command early.
    let amp_data = amp_tables
        .iter()
        .map(|(name, _)| plan.config.load_amp_tu(name))
        .collect::<Result<Vec<_>, _>>()?;
    let mut dirs = plan.table_names();
    dirs.extend(distributed.iter().map(|(n, _)| n.as_str()));
    dirs.extend(amp_tables.iter().map(|(n, _)| n.as_str()));
    let _out = OutputDir::open(&opts.out, &dirs)?;
    let given = opts.overrides_given();
    let mut reports = vec![];
    if !plan.tables.is_empty() {
        reports = sweep_tables(opts, &plan, start)?;
    }
    for (name, table) in &distributed {
        let began = Instant::now();
        opts.say(&format!(
            "{name}: {} seed(s) x {} optimiser(s)",
            table.seeds.len(),
            table.optimiser_names().len()
        ));
        distributed::reproduce(name, table, opts.invocation(&given), &opts.out.join(name))?;
        opts.say(&format!(
            "{name} in {}",
            progress::duration_text(began.elapsed().as_secs_f64())
        ));
    }
    if !amp_tables.is_empty() {
        // The schema documents the AMP tables' files too.
        write_schema(opts)?;
    }
    for ((name, table), data) in amp_tables.iter().zip(&amp_data) {
        let began = Instant::now();
        opts.say(&format!(
            "{name}: {} column(s) x {} model(s) x {} seed(s)",
            table.columns().len(),
            table.models.len(),
            table.seeds.len()
        ));
        let progress = |line: &str| {
            if opts.verbosity != progress::Verbosity::Quiet {
                eprintln!("[hogwild] {name}: {line}");
            }
        };
        amp::reproduce(
            name,
            table,
            opts.invocation(&given),
            &opts.out.join(name),
            amp::TuInputs {
                data,
                force: opts.force,
                progress: &progress,
            },
        )?;
        opts.say(&format!(
            "{name} in {}",
            progress::duration_text(began.elapsed().as_secs_f64())
        ));
    }
    Ok(reports)
}

/// Writes `out/schema.md`, the columns of every file the tables write.
fn write_schema(opts: &ReproduceOptions) -> anyhow::Result<()> {
    crate::outdir::write_atomic(
        &opts.out.join("schema.md"),
        report::schema::schema_markdown().as_bytes(),
    )
}

/// The sweep of `plan`'s tables into `opts.out`.
fn sweep_tables(
    opts: &ReproduceOptions,
    plan: &Plan,
    start: Instant,
) -> anyhow::Result<Vec<TableReport>> {
    opts.say(&format!(
        "{} runs over {} table(s) on {} thread(s)",
        plan.runs.len(),
        plan.tables.len(),
        opts.threads
    ));
    let store = RunStore::new(&opts.out);
    let sweep = sweep::execute_all(
        &plan.config,
        &plan.tables,
        &plan.datasets,
        &plan.runs,
        &store,
        &opts.execute_options(),
    )?;
    let wall = start.elapsed().as_secs_f64();
    let reports = plan.write_tables(opts, &sweep.results, &sweep.from_record, wall)?;
    let reused = sweep.from_record.iter().filter(|&&f| f).count();
    opts.say(&format!(
        "{} runs ({} computed, {reused} from their records) in {}; tables in {}",
        plan.runs.len(),
        plan.runs.len() - reused,
        progress::duration_text(wall),
        opts.out.display()
    ));
    Ok(reports)
}

/// One part of a sweep split across machines: `index` in `0..count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// 0-based.
    pub index: usize,
    /// How many shards.
    pub count: usize,
}

impl Shard {
    /// `K/N` (0-based K).
    pub fn parse(text: &str) -> Result<Shard, String> {
        let bad = || format!("--shard {text:?}: expected K/N with 0 <= K < N, e.g. 0/3");
        let (k, n) = text.split_once('/').ok_or_else(bad)?;
        let (index, count) = (
            k.trim().parse().map_err(|_| bad())?,
            n.trim().parse().map_err(|_| bad())?,
        );
        Shard::new(index, count).ok_or_else(bad)
    }

    fn new(index: usize, count: usize) -> Option<Shard> {
        (index < count).then_some(Shard { index, count })
    }

    /// The shard of this process from its scheduler's environment (`var` reads a variable):
    /// a Slurm job array gives `K = SLURM_ARRAY_TASK_ID − SLURM_ARRAY_TASK_MIN` (so arrays
    /// numbered from 0 or from 1 both work) and `N = SLURM_ARRAY_TASK_COUNT`; a Kubernetes
    /// indexed Job gives `K = JOB_COMPLETION_INDEX` (0-based), with `N` = `count` (`--shards`).
    pub fn from_env(
        count: Option<usize>,
        var: impl Fn(&str) -> Option<String>,
    ) -> Result<Shard, String> {
        let num = |name: &str| -> Result<Option<usize>, String> {
            var(name)
                .map(|v| {
                    v.trim()
                        .parse()
                        .map_err(|_| format!("{name}={v:?} is not a number"))
                })
                .transpose()
        };
        if let Some(id) = num("SLURM_ARRAY_TASK_ID")? {
            let min = num("SLURM_ARRAY_TASK_MIN")?.unwrap_or(0);
            let n = match count {
                Some(n) => n,
                None => num("SLURM_ARRAY_TASK_COUNT")?.ok_or(
                    "SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not; pass --shards N",
                )?,
            };
            let k = id
                .checked_sub(min)
                .ok_or("SLURM_ARRAY_TASK_ID is below SLURM_ARRAY_TASK_MIN")?;
            return Shard::new(k, n).ok_or_else(|| {
                format!("Slurm task {id} (array from {min}) is not among {n} shards")
            });
        }
        if let Some(k) = num("JOB_COMPLETION_INDEX")? {
            let n = count
                .ok_or("JOB_COMPLETION_INDEX is set: pass the number of shards, --shards N")?;
            return Shard::new(k, n)
                .ok_or_else(|| format!("JOB_COMPLETION_INDEX={k} is not below --shards {n}"));
        }
        Err("no shard: pass --shard K/N (0-based K), or run in a Slurm job array \
             (SLURM_ARRAY_TASK_ID) or a Kubernetes indexed Job (JOB_COMPLETION_INDEX, with --shards N)"
            .into())
    }
}

/// What a shard's output directory says about it (`<out>/plan.toml`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct ShardManifest {
    plan_sha256: String,
    shard: usize,
    shards: usize,
    runs: usize,
}

/// Runs one shard of the selected tables, writing only run records (and `plan.toml`) to
/// `opts.out`; `merge` makes the tables. Returns the number of runs in the shard.
pub fn run_shard(opts: &ReproduceOptions, shard: Shard) -> anyhow::Result<usize> {
    anyhow::ensure!(opts.threads >= 1, "-j must be at least 1");
    let plan = Plan::load(opts)?;
    let tu = TuTables::load(&plan, opts)?;
    let mut dirs = plan.table_names();
    dirs.extend(tu.names());
    let _out = OutputDir::open(&opts.out, &dirs)?;
    let runs = plan.shard(shard);
    opts.say(&format!(
        "shard {}/{}: {} of {} runs on {} thread(s)",
        shard.index,
        shard.count,
        runs.len(),
        plan.runs.len(),
        opts.threads
    ));
    let manifest = ShardManifest {
        plan_sha256: tu.hash(&plan),
        shard: shard.index,
        shards: shard.count,
        runs: runs.len(),
    };
    outdir::write_atomic(
        &opts.out.join("plan.toml"),
        toml::to_string(&manifest)?.as_bytes(),
    )?;
    let store = RunStore::new(&opts.out);
    sweep::execute_all(
        &plan.config,
        &plan.tables,
        &plan.datasets,
        &runs,
        &store,
        &opts.execute_options(),
    )?;
    let mut count = runs.len();
    for ((name, table), data) in tu.tables.iter().zip(&tu.data) {
        let settings = table.tu.as_ref().expect("only Table 4s");
        let progress = |line: &str| opts.say(&format!("{name}: {line}"));
        count += amp::tu::run_shard(
            name,
            table,
            settings,
            data,
            &opts.out.join(name),
            (shard.index, shard.count),
            opts.threads,
            &progress,
        )?;
    }
    Ok(count)
}

/// AMP's Table 4s among the selected tables, with their datasets: the AMP tables that
/// `run --shard` and `merge` split and join by job, as the GNN tables by run.
struct TuTables {
    tables: Vec<(String, amp::AmpTable)>,
    data: Vec<amp::tu::data::TuData>,
}

impl TuTables {
    fn load(plan: &Plan, opts: &ReproduceOptions) -> anyhow::Result<TuTables> {
        let tables: Vec<(String, amp::AmpTable)> = plan
            .config
            .select_amp(&opts.tables)
            .into_iter()
            .filter(|(_, t)| t.tu.is_some())
            .collect();
        let data = tables
            .iter()
            .map(|(name, _)| plan.config.load_amp_tu(name))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(TuTables { tables, data })
    }

    fn names(&self) -> Vec<&str> {
        self.tables.iter().map(|(n, _)| n.as_str()).collect()
    }

    /// The plan's hash, extended by every Table 4 job's id when there are any.
    fn hash(&self, plan: &Plan) -> String {
        let mut text = plan.hash();
        if self.tables.is_empty() {
            return text;
        }
        for ((name, table), data) in self.tables.iter().zip(&self.data) {
            let settings = table.tu.as_ref().expect("only Table 4s");
            for id in amp::tu::job_ids(name, table, settings, data) {
                text.push('\n');
                text.push_str(&id);
            }
        }
        Sha256::digest(text.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

/// Builds the tables from the run records of shard directories `dirs` (outputs of
/// [`run_shard`] for this plan), writing them, and a copy of every record, to `opts.out`
/// (which may be one of `dirs`: a record is never copied onto itself, and no input is
/// written over). Refuses directories of another plan or still being written, missing
/// runs, and a run recorded twice with different results.
pub fn merge(opts: &ReproduceOptions, dirs: &[PathBuf]) -> anyhow::Result<Vec<TableReport>> {
    let start = Instant::now();
    let plan = Plan::load(opts)?;
    let tu = TuTables::load(&plan, opts)?;
    let hash = tu.hash(&plan);
    anyhow::ensure!(!dirs.is_empty(), "merge needs at least one shard directory");
    for dir in dirs {
        outdir::ensure_finished(dir)?;
        let path = dir.join("plan.toml");
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "{}: not the output of `hogwild run --shard`",
                path.display()
            )
        })?;
        let m: ShardManifest =
            toml::from_str(&text).with_context(|| format!("{}: malformed", path.display()))?;
        anyhow::ensure!(
            m.plan_sha256 == hash,
            "{}: shard {}/{} was run for plan {}, not this one ({hash}): the code, config, \
             profile or tables differ",
            path.display(),
            m.shard,
            m.shards,
            m.plan_sha256
        );
    }
    let stores: Vec<RunStore> = dirs.iter().map(|d| RunStore::new(d)).collect();
    let (mut results, mut sources, mut missing) = (vec![], vec![], vec![]);
    for run in &plan.runs {
        let mut found: Option<(RunResult, PathBuf)> = None;
        for store in &stores {
            let path = store.path(&run.spec.table, &run.id);
            match store.load(&run.spec, &run.id) {
                Lookup::Missing => {}
                Lookup::Corrupt(why) => anyhow::bail!("run record {} {why}", path.display()),
                Lookup::Found(r) => match &found {
                    None => found = Some((*r, path)),
                    Some((first, first_path)) => anyhow::ensure!(
                        same_numbers(first, &r),
                        "run {} is recorded twice with different results: {} and {}",
                        run.spec.label(),
                        first_path.display(),
                        path.display()
                    ),
                },
            }
        }
        match found {
            Some((r, path)) => {
                results.push(r);
                sources.push((path, run));
            }
            None => missing.push(run.spec.label()),
        }
    }
    anyhow::ensure!(
        missing.is_empty(),
        "{} of {} runs are in none of the shard directories (is a shard missing or unfinished?), \
         e.g. {}",
        missing.len(),
        plan.runs.len(),
        missing
            .iter()
            .take(3)
            .cloned()
            .collect::<Vec<_>>()
            .join(", ")
    );
    let gathered = tu
        .tables
        .iter()
        .zip(&tu.data)
        .map(|((name, table), data)| {
            let settings = table.tu.as_ref().expect("only Table 4s");
            amp::tu::gather(name, table, settings, data, dirs)
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    // Checked (a refused merge writes nothing): now the merged directory gets its own copy of
    // every record. A valid record
    // already there (one of the inputs, or an earlier merge's) is kept if it holds the same
    // numbers: nothing is written over an input.
    let mut out_dirs = plan.table_names();
    out_dirs.extend(tu.names());
    let _out = OutputDir::open(&opts.out, &out_dirs)?;
    for g in &gathered {
        g.write(&opts.out)?;
    }
    let merged = RunStore::new(&opts.out);
    for ((from, run), result) in sources.into_iter().zip(&results) {
        let to = merged.path(&run.spec.table, &run.id);
        match merged.load(&run.spec, &run.id) {
            Lookup::Found(r) if same_numbers(&r, result) => {}
            Lookup::Found(_) => anyhow::bail!(
                "run {} is recorded with different results in {} and {}",
                run.spec.label(),
                to.display(),
                from.display()
            ),
            Lookup::Missing | Lookup::Corrupt(_) => outdir::copy_atomic(&from, &to)?,
        }
    }
    let given = opts.overrides_given();
    let from_record = vec![true; results.len()];
    let reports = plan.write_tables(opts, &results, &from_record, start.elapsed().as_secs_f64())?;
    for ((name, table), data) in tu.tables.iter().zip(&tu.data) {
        // Every job has its record now: this writes the table and computes nothing.
        amp::reproduce(
            name,
            table,
            opts.invocation(&given),
            &opts.out.join(name),
            amp::TuInputs {
                data,
                force: false,
                progress: &|_: &str| {},
            },
        )?;
    }
    Ok(reports)
}

/// Whether two results of one run hold the same numbers (wall times aside).
fn same_numbers(a: &RunResult, b: &RunResult) -> bool {
    let strip = |r: &RunResult| RunResult {
        seconds: 0.0,
        train_seconds: 0.0,
        ..r.clone()
    };
    strip(a) == strip(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn a_table_hash_reads_only_its_own_models() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../harness.toml");
        let text = std::fs::read_to_string(&path).unwrap();
        let hashes = |text: &str| {
            let config = Config::parse(text, &path, config::DEFAULT_PROFILE).unwrap();
            ["chains", "iclr-chains"].map(|name| config_hash(&config, name, &config.tables[name]))
        };
        let before = hashes(&text);
        let gat = "[models.gat]\nhidden = 16";
        assert!(text.contains(gat));
        let after = hashes(&text.replace(gat, "[models.gat]\nhidden = 17"));
        assert_eq!(before[0], after[0], "chains has no GAT");
        assert_ne!(before[1], after[1], "iclr-chains has");
    }
}
