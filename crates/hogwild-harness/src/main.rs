//! `hogwild`: regenerate the Hogwild paper's tables.

use clap::{Parser, Subcommand};
use hogwild_harness::{config::DEFAULT_PROFILE, reproduce, ReproduceOptions};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "hogwild",
    version,
    about = "Reproduce and extend 'Graph Neural Networks Gone Hogwild'"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the sweeps of harness.toml and write results/<table>/ (runs, table, comparison, record).
    Reproduce {
        /// Table to run (repeatable); all tables when omitted.
        #[arg(long = "table")]
        tables: Vec<String>,
        /// Profile: `full` (the protocol) or a [profiles.NAME] of the config, e.g. `quick`.
        #[arg(long, default_value = DEFAULT_PROFILE)]
        profile: String,
        /// The sweep definition.
        #[arg(long, default_value = "harness.toml")]
        config: PathBuf,
        /// Output directory [default: results for `full`, results-<profile> otherwise].
        #[arg(long)]
        out: Option<PathBuf>,
        /// Runs in parallel [default: the number of cores].
        #[arg(short = 'j', long)]
        jobs: Option<usize>,
        /// Recompute every run, even those with a record under <out>/<table>/records/.
        #[arg(long)]
        force: bool,
    },
}

fn main() -> ExitCode {
    let Command::Reproduce {
        tables,
        profile,
        config,
        out,
        jobs,
        force,
    } = Cli::parse().command;
    let out = out.unwrap_or_else(|| {
        PathBuf::from(if profile == DEFAULT_PROFILE {
            "results".to_string()
        } else {
            format!("results-{profile}")
        })
    });
    let threads =
        jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let opts = ReproduceOptions {
        config,
        profile,
        tables,
        out: out.clone(),
        threads,
        force,
    };
    match reproduce(&opts) {
        Ok(reports) => {
            for r in &reports {
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
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("hogwild: error: {e:#}");
            ExitCode::from(2)
        }
    }
}
