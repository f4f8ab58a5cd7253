//! `hogwild`: regenerate the Hogwild paper's tables.

use clap::{Args, CommandFactory, Parser, Subcommand};
use hogwild_harness::config::{Overrides, DEFAULT_PROFILE};
use hogwild_harness::progress::Verbosity;
use hogwild_harness::report::TableReport;
use hogwild_harness::{merge, reproduce, run_shard, Plan, ReproduceOptions, Shard};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

// Sweeps allocate many small, short-lived arrays on worker threads; glibc's allocator returns
// and re-faults their pages (a quarter of the run time in profiles). Results do not depend on
// the allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `0.1.0 (commit 0123abc…, modified)`: the version `--version` prints.
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("HOGWILD_GIT_COMMIT"),
    ", modified: ",
    env!("HOGWILD_GIT_DIRTY"),
    "; ",
    env!("HOGWILD_RUSTC_VERSION"),
    ")"
);

#[derive(Parser)]
#[command(
    name = "hogwild",
    version = VERSION,
    about = "Reproduce and extend 'Graph Neural Networks Gone Hogwild'",
    after_help = "Exit status: 0 on success; 1 when a run fails or the input is bad (config, data \
                  files, output directory, or another process writing to --out), or with \
                  `compare --fail-on-miss` when a cell misses the paper; 2 for a command-line \
                  usage error."
)]
struct Cli {
    /// Print only warnings and errors on stderr.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    quiet: bool,
    /// Print also every run taken from its record, and a line per run on a terminal too.
    #[arg(short, long, global = true)]
    verbose: bool,
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
    /// Change a setting of the config for this command (repeatable), e.g.
    /// `--set async.staleness_bound=5` or `--set tables.chains.seeds=[0,1]`; recorded in
    /// record.toml, and run ids follow the settings it changes.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// Where datasets read from files live [default: the config's data_dir].
    #[arg(long, env = "HOGWILD_DATA_DIR")]
    data_dir: Option<PathBuf>,
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
    /// Run the sweeps of harness.toml and write results/<table>/ (runs, curves, table,
    /// figures, comparison, record).
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
        /// Exit with status 1 when a cell misses the paper (for CI).
        #[arg(long)]
        fail_on_miss: bool,
    },
    /// Print the papers' claims ([[claims]] of the config) checked on the tables written under
    /// --out, from their table.csv: what `hogwild reproduce` writes to <out>/claims.md.
    Claims {
        /// The sweep definition (its [[claims]] and tables are used).
        #[arg(long, default_value = "harness.toml")]
        config: PathBuf,
        /// Where the tables are.
        #[arg(long, default_value = "results")]
        out: PathBuf,
    },
    /// Measure how the time of one solver iteration (on one thread and on --threads) and of
    /// one asynchronous sweep grows with the number of nodes (chains and random geometric
    /// graphs, 10^2 nodes up to --max-nodes, every model) and collect each table's reproduction time from
    /// <out>/<table>/record.toml; writes <out>/scaling/scaling.md, scaling.csv and
    /// scaling.svg.
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
        /// Threads of the parallel iteration column (everything else runs on one).
        #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..))]
        threads: u16,
        /// Measure nothing: redraw <out>/scaling/scaling.svg from its scaling.csv.
        #[arg(long, conflicts_with_all = ["max_nodes", "threads"])]
        figure_only: bool,
    },
    /// Build the tables from the run records of shard directories (refuses shards of another
    /// plan, missing runs and conflicting duplicates).
    Merge {
        #[command(flatten)]
        sweep: Sweep,
        /// Output directory [default: results for `full`, results-<profile> otherwise].
        #[arg(long)]
        out: Option<PathBuf>,
        /// Output directories of `hogwild run --shard`.
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
    },
    /// Datasets read from files: fetch them into the data directory, or check them.
    Data {
        #[command(subcommand)]
        action: DataAction,
    },
    /// Print a completion script for SHELL (bash, zsh, fish, elvish, powershell), e.g.
    /// `hogwild completions bash > ~/.local/share/bash-completion/completions/hogwild`.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

#[derive(Subcommand)]
enum DataAction {
    /// Get TU dataset NAME into <data_dir>/TU/NAME/: downloaded from the TUDataset
    /// collection (HOGWILD_TU_URL names a mirror), or taken from a local zip or directory;
    /// NAME = MNIST gets MNIST's four gzipped IDX files into <data_dir>/MNIST/
    /// (HOGWILD_MNIST_URL names a mirror).
    Fetch {
        /// The dataset, as the collection spells it (MUTAG, PROTEINS, PTC_MR, NCI1,
        /// IMDB-BINARY, IMDB-MULTI), or MNIST.
        name: String,
        /// A local NAME.zip, or a directory holding the NAME_*.txt files (also NAME/ or
        /// PyTorch Geometric's NAME/raw/ below it), instead of downloading; for MNIST, a
        /// directory holding the four .gz files (also MNIST/ or MNIST/raw/ below it).
        #[arg(long)]
        from: Option<PathBuf>,
        #[command(flatten)]
        sweep: Sweep,
    },
    /// Read every dataset the config's tables read from files (TU benchmarks, MNIST; or
    /// those of --table), print its SHA-256 and whether it matches the pinned one; fails on
    /// any that cannot be used.
    Check {
        #[command(flatten)]
        sweep: Sweep,
    },
}

fn options(
    sweep: Sweep,
    execution: Execution,
    verbosity: Verbosity,
) -> anyhow::Result<ReproduceOptions> {
    let out = execution.out.unwrap_or_else(|| {
        PathBuf::from(if sweep.profile == DEFAULT_PROFILE {
            "results".to_string()
        } else {
            format!("results-{}", sweep.profile)
        })
    });
    let mut overrides = Overrides::parse(&sweep.set).map_err(anyhow::Error::msg)?;
    if let Some(dir) = &sweep.data_dir {
        let how = format!("--data-dir {} (or HOGWILD_DATA_DIR)", dir.display());
        overrides = overrides.with_data_dir(dir, how);
    }
    Ok(ReproduceOptions {
        overrides,
        config: sweep.config,
        profile: sweep.profile,
        tables: sweep.tables,
        out,
        threads: execution
            .jobs
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
        force: execution.force,
        verbosity,
    })
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

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let verbosity = if cli.quiet {
        Verbosity::Quiet
    } else if cli.verbose {
        Verbosity::Verbose
    } else {
        Verbosity::Normal
    };
    match cli.command {
        Command::Reproduce { sweep, execution } => {
            let opts = options(sweep, execution, verbosity)?;
            print_reports(&reproduce(&opts)?, &opts.out);
        }
        Command::Plan { sweep } => {
            let execution = Execution {
                out: None,
                jobs: Some(1),
                force: false,
            };
            let plan = Plan::load(&options(sweep, execution, verbosity)?)?;
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
            let opts = options(sweep, execution, verbosity)?;
            let n = run_shard(&opts, shard)?;
            println!(
                "shard {}/{}: {n} run(s) recorded in {}",
                shard.index,
                shard.count,
                opts.out.display()
            );
        }
        Command::Compare {
            tables,
            out,
            fail_on_miss,
        } => {
            let (text, misses) = hogwild_harness::report::compare(&out, &tables)?;
            print!("{text}");
            if fail_on_miss && misses > 0 {
                eprintln!("hogwild: {misses} cell(s) miss the paper (--fail-on-miss)");
                return Ok(ExitCode::FAILURE);
            }
        }
        Command::Claims { config, out } => {
            let config = hogwild_harness::config::Config::load(&config, DEFAULT_PROFILE)?;
            print!(
                "{}",
                hogwild_harness::report::claims::claims_markdown(&config, &out)?
            );
        }
        Command::Scaling {
            figure_only: true,
            out,
            ..
        } => hogwild_harness::scaling::write_figure(&out)?,
        Command::Scaling {
            config,
            out,
            max_nodes,
            threads,
            figure_only: false,
        } => {
            let config = hogwild_harness::config::Config::load(&config, DEFAULT_PROFILE)?;
            print!(
                "{}",
                hogwild_harness::scaling::write_report(
                    &config,
                    &out,
                    max_nodes,
                    usize::from(threads)
                )?
            );
        }
        Command::Merge { sweep, out, dirs } => {
            let execution = Execution {
                out,
                jobs: Some(1),
                force: false,
            };
            let opts = options(sweep, execution, verbosity)?;
            print_reports(&merge(&opts, &dirs)?, &opts.out);
        }
        Command::Data { action } => return data(action, verbosity),
        Command::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "hogwild",
                &mut std::io::stdout(),
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The options and the loaded config of a command that runs nothing.
fn config_of(
    sweep: Sweep,
    verbosity: Verbosity,
) -> anyhow::Result<(ReproduceOptions, hogwild_harness::config::Config)> {
    let execution = Execution {
        out: None,
        jobs: Some(1),
        force: false,
    };
    let opts = options(sweep, execution, verbosity)?;
    let config =
        hogwild_harness::config::Config::load_with(&opts.config, &opts.profile, &opts.overrides)?;
    Ok((opts, config))
}

fn data(action: DataAction, verbosity: Verbosity) -> anyhow::Result<ExitCode> {
    match action {
        DataAction::Fetch { name, from, sweep } if name == hogwild_harness::data::MNIST => {
            let (_, config) = config_of(sweep, verbosity)?;
            let (dir, [train, test]) =
                hogwild_harness::data::fetch_mnist(from.as_deref(), &config.data_dir)?;
            println!(
                "{name}: {} (train sha256 {train}, test sha256 {test})",
                dir.display()
            );
            println!(
                "pin it in harness.toml: dataset = {{ kind = \"mnist-terrain\", ..., sha256 = \"{train}\" }} (split = \"test\": \"{test}\")"
            );
        }
        DataAction::Fetch { name, from, sweep } => {
            let (_, config) = config_of(sweep, verbosity)?;
            let (dir, sha256) =
                hogwild_harness::data::fetch(&name, from.as_deref(), &config.data_dir)?;
            println!("{name}: {} (sha256 {sha256})", dir.display());
            println!(
                "pin it in harness.toml: dataset = {{ kind = \"tu\", name = \"{name}\", sha256 = \"{sha256}\" }}"
            );
        }
        DataAction::Check { sweep } => {
            let (opts, config) = config_of(sweep, verbosity)?;
            let checked = hogwild_harness::data::check(&config, &opts.tables);
            let mut failed = 0;
            for c in &checked {
                match (&c.sha256, &c.error) {
                    (Some(h), None) => println!(
                        "ok   {} ({}): sha256 {h}{}",
                        c.name,
                        c.used_by,
                        if c.pinned {
                            ", as pinned"
                        } else {
                            ", not pinned"
                        }
                    ),
                    (_, e) => {
                        failed += 1;
                        println!(
                            "FAIL {} ({}): {}",
                            c.name,
                            c.used_by,
                            e.as_deref().unwrap_or("unreadable")
                        );
                    }
                }
            }
            if checked.is_empty() {
                println!("no table reads a dataset from files");
            }
            if failed > 0 {
                return Ok(ExitCode::FAILURE);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("hogwild: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
