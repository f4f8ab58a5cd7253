//! `hogwild`: regenerate the Hogwild paper's tables.

use clap::{Args, Parser, Subcommand};
use hogwild_harness::report::TableReport;
use hogwild_harness::{
    config::DEFAULT_PROFILE, merge, reproduce, run_shard, Plan, ReproduceOptions, Shard,
};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

// Sweeps allocate many small, short-lived arrays on worker threads; glibc's allocator returns
// and re-faults their pages (a quarter of the run time in profiles). Results do not depend on
// the allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "hogwild",
    version,
    about = "Reproduce and extend 'Graph Neural Networks Gone Hogwild'",
    after_help = "Exit status: 0 on success; 1 when a run fails or the input is bad (config, data \
                  files, output directory, or another process writing to --out); 2 for a \
                  command-line usage error."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Which sweep.
#[derive(Args)]
struct Sweep {
    /// Table to run (repeatable); all tables when omitted.
    #[arg(long = "table")]
    tables: Vec<String>,
    /// Profile: `full` (the protocol) or a [profiles.NAME] of the config, e.g. `quick`.
    #[arg(long, default_value = DEFAULT_PROFILE)]
    profile: String,
    /// The sweep definition.
    #[arg(long, default_value = "harness.toml")]
    config: PathBuf,
}

/// Where and how.
#[derive(Args)]
struct Execution {
    /// Output directory [default: results for `full`, results-<profile> otherwise].
    #[arg(long)]
    out: Option<PathBuf>,
    /// Runs in parallel [default: the number of cores].
    #[arg(short = 'j', long)]
    jobs: Option<usize>,
    /// Recompute every run, even those with a record under <out>/<table>/records/.
    #[arg(long)]
    force: bool,
}

#[derive(Subcommand)]
enum Command {
    /// Run the sweeps of harness.toml and write results/<table>/ (runs, table, comparison, record).
    Reproduce {
        #[command(flatten)]
        sweep: Sweep,
        #[command(flatten)]
        execution: Execution,
    },
    /// List the runs of the sweep (id, table, column, model, seed, fold, orderings, relative
    /// cost) and the plan hash, without running anything.
    Plan {
        #[command(flatten)]
        sweep: Sweep,
    },
    /// Run one shard of the sweep, writing run records only (merge makes the tables).
    /// The shard is --shard K/N (0-based K); without it, K and N come from a Slurm job array
    /// (K = SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN, N = SLURM_ARRAY_TASK_COUNT) or a
    /// Kubernetes indexed Job (K = JOB_COMPLETION_INDEX, N = --shards).
    Run {
        #[command(flatten)]
        sweep: Sweep,
        #[command(flatten)]
        execution: Execution,
        /// This process's shard, K/N with 0 <= K < N.
        #[arg(long)]
        shard: Option<String>,
        /// The number of shards, when K comes from the environment.
        #[arg(long, conflicts_with = "shard")]
        shards: Option<usize>,
    },
    /// Print every cell of the written tables beside the paper's, with its verdict (within
    /// the paper's ± range, better, or a miss), from <out>/<table>/table.csv.
    Compare {
        /// Table (repeatable); every table under --out when omitted.
        #[arg(long = "table")]
        tables: Vec<String>,
        /// Where the tables are.
        #[arg(long, default_value = "results")]
        out: PathBuf,
    },
    /// Measure how the time of one solver iteration and of one asynchronous sweep grows
    /// with the number of nodes (chains and random geometric graphs, 10^2 nodes up to
    /// --max-nodes, every model) and collect each table's reproduction time from
    /// <out>/<table>/record.toml; writes <out>/scaling/scaling.md and scaling.csv.
    Scaling {
        /// The sweep definition (its [models] and [async] settings are used).
        #[arg(long, default_value = "harness.toml")]
        config: PathBuf,
        /// Where the tables are and the report goes.
        #[arg(long, default_value = "results")]
        out: PathBuf,
        /// The largest graph, in nodes (measured by decades from 100).
        #[arg(long, default_value_t = 100_000)]
        max_nodes: usize,
    },
    /// Build the tables from the run records of shard directories (refuses shards of another
    /// plan, missing runs and conflicting duplicates).
    Merge {
        #[command(flatten)]
        sweep: Sweep,
        #[command(flatten)]
        execution: Execution,
        /// Output directories of `hogwild run --shard`.
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
    },
}

fn options(sweep: Sweep, execution: Execution) -> ReproduceOptions {
    let out = execution.out.unwrap_or_else(|| {
        PathBuf::from(if sweep.profile == DEFAULT_PROFILE {
            "results".to_string()
        } else {
            format!("results-{}", sweep.profile)
        })
    });
    ReproduceOptions {
        config: sweep.config,
        profile: sweep.profile,
        tables: sweep.tables,
        out,
        threads: execution
            .jobs
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
        force: execution.force,
    }
}

fn print_reports(reports: &[TableReport], out: &Path) {
    for r in reports {
        println!("{}", r.table_markdown());
        println!("{}", r.comparison_markdown());
        println!("{}", r.gaps_markdown());
        if r.misses() > 0 {
            println!(
                "{} cell(s) miss the paper: see {}/{}/table.md\n",
                r.misses(),
                out.display(),
                r.name
            );
        }
    }
}

fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Reproduce { sweep, execution } => {
            let opts = options(sweep, execution);
            print_reports(&reproduce(&opts)?, &opts.out);
        }
        Command::Plan { sweep } => {
            let opts = options(
                sweep,
                Execution {
                    out: None,
                    jobs: Some(1),
                    force: false,
                },
            );
            let plan = Plan::load(&opts)?;
            println!("id\ttable\tcolumn\tmodel\tseed\tfold\torderings\tcost");
            for r in &plan.runs {
                let fold = r.spec.fold.map_or("-".into(), |f| f.to_string());
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{fold}\t{}\t{:.3e}",
                    r.id,
                    r.spec.table,
                    r.spec.column,
                    r.spec.model,
                    r.spec.seed,
                    r.key.orderings,
                    r.cost
                );
            }
            println!("plan {} ({} runs)", plan.hash(), plan.runs.len());
        }
        Command::Run {
            sweep,
            execution,
            shard,
            shards,
        } => {
            let shard = match shard {
                Some(text) => Shard::parse(&text),
                None => Shard::from_env(shards, |v| std::env::var(v).ok()),
            }
            .map_err(anyhow::Error::msg)?;
            anyhow::ensure!(
                execution.out.is_some(),
                "run needs --out DIR: where this shard writes its run records (merge reads them)"
            );
            let opts = options(sweep, execution);
            let n = run_shard(&opts, shard)?;
            println!(
                "shard {}/{}: {n} run(s) recorded in {}",
                shard.index,
                shard.count,
                opts.out.display()
            );
        }
        Command::Compare { tables, out } => {
            print!("{}", hogwild_harness::report::compare(&out, &tables)?);
        }
        Command::Scaling {
            config,
            out,
            max_nodes,
        } => {
            let config = hogwild_harness::config::Config::load(&config, DEFAULT_PROFILE)?;
            print!(
                "{}",
                hogwild_harness::scaling::write_report(&config, &out, max_nodes)?
            );
        }
        Command::Merge {
            sweep,
            execution,
            dirs,
        } => {
            let opts = options(sweep, execution);
            print_reports(&merge(&opts, &dirs)?, &opts.out);
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    match run(Cli::parse().command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hogwild: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
