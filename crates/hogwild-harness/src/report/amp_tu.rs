//! The files of AMP's Table 4 (`[amp.NAME.tu]`): `table.md` (AMP-RNN and the baselines
//! under the paper's statistic and under inner validation, the paper's rows, every cell
//! beside the paper's,
//! where each number was read, every grid point), `table.csv` (tidy cells), `runs.csv`
//! (one row per job) and `curves.parquet` (every job's per-epoch loss, validation and test
//! counts: the input of both statistics, `crate::amp::tu::stats`).

use super::amp::{header, reference_section};
use super::frame::{Frame, Values};
use super::schema::{col, frame, markdown_table, text, uint, Cell as Value, ColumnSpec, Kind};
use super::Cell;
use crate::amp::tu::config::{GridPoint, TuSettings};
use crate::amp::tu::data::TuGraphs;
use crate::amp::tu::run::{TuJob, TuOutcome};
use crate::amp::tu::stats::{dataset_stats, Chosen, DatasetStats};
use crate::amp::{AmpRow, AmpTable};
use crate::text::markdown_cell;
use std::fmt::Write as _;

/// The paper prints one decimal.
const PAPER_DECIMALS: i32 = 1;

/// A row's name in `table.md`: the baselines are ours, beside the paper's rows of the same
/// name.
fn row_display(row: AmpRow) -> String {
    if row.registry().is_some() {
        format!("{}, ours", row.display())
    } else {
        row.display().to_string()
    }
}

fn fmt(mean: f64, std: f64) -> String {
    format!("{mean:.1} ± {std:.1}")
}

fn at_text(at: &[(GridPoint, usize)]) -> String {
    at.iter()
        .map(|(p, e)| format!("{} @ {e}", p.name()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Every file but `record.toml`, as `(name, bytes)`.
pub fn files(
    name: &str,
    table: &AmpTable,
    tu: &TuSettings,
    data: &[TuGraphs],
    jobs: &[TuJob],
    outcomes: &[TuOutcome],
) -> anyhow::Result<Vec<(&'static str, Vec<u8>)>> {
    // stats[r][d]: row `table.models[r]` on dataset `d`.
    let stats: Vec<Vec<DatasetStats>> = table
        .models
        .iter()
        .map(|&row| {
            (0..tu.datasets.len())
                .map(|d| {
                    let (seeds, ddof) = (table.seeds.len(), table.std_ddof);
                    dataset_stats(tu, seeds, ddof, (jobs, outcomes), d, row)
                })
                .collect()
        })
        .collect();
    let (md, cells) = markdown(table, tu, data, &stats);
    let files = vec![
        ("table.md", md.into_bytes()),
        ("table.csv", cells.to_csv()?),
        ("runs.csv", runs_frame(tu, jobs, outcomes).to_csv()?),
        (
            "curves.parquet",
            curves_frame(tu, jobs, outcomes).to_parquet(&[
                ("hogwild.table", name.to_string()),
                (
                    "hogwild.config_sha256",
                    crate::experiment::config_hash(table),
                ),
                (
                    "hogwild.code_version",
                    env!("HOGWILD_GIT_COMMIT").to_string(),
                ),
                (
                    "hogwild.aggregation",
                    "table.md's rows from test_correct / test_graphs (the paper's statistic) and validation_correct, validation_nll (inner validation): docs/PROTOCOL.md, \"AMP's Table 4\"".to_string(),
                ),
                (
                    "hogwild.schema",
                    "schema.md, AMP's Table 4: curves.parquet".to_string(),
                ),
            ])?,
        ),
    ];
    Ok(files)
}

fn markdown(
    table: &AmpTable,
    tu: &TuSettings,
    data: &[TuGraphs],
    stats: &[Vec<DatasetStats>],
) -> (String, Frame) {
    let columns: Vec<String> = tu.datasets.iter().map(|d| d.label.clone()).collect();
    let mut md = format!("### {}\n\n{}", table.title, header("model", &columns));
    let mut f = TidyCells::default();
    let mut beside =
        String::from("| row | column | ours | paper | Δ | verdict |\n|---|---|---|---|---|---|\n");
    let ours = table
        .models
        .iter()
        .zip(stats)
        .flat_map(|(&row, per_dataset)| {
            let paper = per_dataset
                .iter()
                .map(|s| Some(&s.paper))
                .collect::<Vec<_>>();
            let validated = per_dataset.iter().map(|s| s.validated.as_ref()).collect();
            [
                (
                    row,
                    row.key().to_string(),
                    format!(
                        "{} (paper's statistic: best test epoch and grid point)",
                        row_display(row)
                    ),
                    paper,
                ),
                (
                    row,
                    format!("{}-validated", row.key()),
                    format!(
                        "{} (inner validation chooses epoch and grid point)",
                        row_display(row)
                    ),
                    validated,
                ),
            ]
        });
    for (row, key, display, chosen) in ours {
        let chosen: Vec<Option<&Chosen>> = chosen;
        if chosen.iter().all(Option::is_none) {
            continue;
        }
        write!(md, "| {display} |").unwrap();
        for (c, label) in columns.iter().enumerate() {
            let Some(ch) = chosen[c] else {
                md.push_str(" — |");
                continue;
            };
            // Both statistics of a row beside the paper's (its statistic's) cells.
            let paper = table.paper.get(row.key()).and_then(|cells| {
                super::Published::from_slice(&cells[c]).filter(|p| p.std.is_some())
            });
            let cell = Cell {
                mean: ch.mean,
                std: ch.std,
                n: ch.per_fold.len(),
                paper,
                higher_is_better: true,
            };
            write!(md, " {} |", fmt(ch.mean, ch.std)).unwrap();
            let verdict = cell.verdict_at(PAPER_DECIMALS);
            if let (Some(p), Some(v)) = (paper, verdict) {
                writeln!(
                    beside,
                    "| {display} | {} | {} | {} | {:+.1} | {} |",
                    markdown_cell(label),
                    fmt(ch.mean, ch.std),
                    p.text(None),
                    ch.mean - p.mean,
                    v.as_str()
                )
                .unwrap();
            }
            f.push(&key, label, &cell, verdict.map(|v| v.as_str()), &ch.at);
        }
        md.push('\n');
    }
    let folds = tu.folds;
    write!(
        md,
        "\nTest accuracy (%), mean ± std (ddof {}) over {folds} stratified folds{}; {} full-batch epochs, Adam (lr {}, halved every {} epochs). AMP-RNN: one run from every node with constant delays, the start nodes' final states summed. {}Grid per dataset below. A row's first statistic is the paper's (the GIN protocol): the single epoch and grid point with the best mean test accuracy, so the test folds choose both. {}\n",
        table.std_ddof,
        if table.seeds.len() > 1 {
            format!(" (each the mean over {} seeds)", table.seeds.len())
        } else {
            String::new()
        },
        table.epochs,
        table.lr,
        tu.halve_every,
        if table.models.iter().any(|m| m.registry().is_some()) {
            "The baselines (ours: the registry's models as `[models]` sets them, the width from the grid, trained with the same optimiser on the same splits) predict every node's class; a graph's class is its nodes' mean logits' arg-max. "
        } else {
            ""
        },
        if tu.inner_validation {
            "The second chooses them in every split by its validation fold (the fold after the test fold), so the test folds choose nothing; every run trains on the other folds."
        } else {
            "Without inner validation (`inner_validation = false`) every run trains on all other folds and the second statistic is not made."
        }
    )
    .unwrap();
    md.push_str(&reference_section(table, &columns));
    let misses = f
        .verdict
        .iter()
        .filter(|v| v.as_deref() == Some("MISS (worse)"))
        .count();
    let compared = f.verdict.iter().filter(|v| v.is_some()).count();
    write!(
        md,
        "\n#### Beside the paper ({compared} cells compared, {misses} worse than its ± range)\n\n{beside}"
    )
    .unwrap();
    md.push_str("\n#### The graphs\n\n| dataset | graphs (of the files') | nodes | classes |\n|---|---|---|---|\n");
    for (d, graphs) in data.iter().enumerate() {
        writeln!(
            md,
            "| {} | {} ({}) | {} | {} |",
            markdown_cell(&columns[d]),
            graphs.graphs.len(),
            graphs.in_files,
            graphs.nodes(),
            graphs.n_classes,
        )
        .unwrap();
    }
    md.push_str("\n#### Where each number was read (grid point @ epoch)\n\n| dataset | model | paper's statistic at | inner validation at (one per fold) |\n|---|---|---|---|\n");
    for (d, label) in columns.iter().enumerate() {
        for (&row, per_dataset) in table.models.iter().zip(stats) {
            let s = &per_dataset[d];
            writeln!(
                md,
                "| {} | {} | {} | {} |",
                markdown_cell(label),
                row_display(row),
                at_text(&s.paper.at),
                s.validated.as_ref().map_or("—".into(), |v| at_text(&v.at)),
            )
            .unwrap();
        }
    }
    md.push_str("\n#### Every grid point (AMP-RNN: hidden size h, budget b messages per run, message size m, skip readout; a baseline: its name and hidden size)\n\n| dataset | grid point | best mean test epoch | accuracy there | accuracy at the last epoch |\n|---|---|---|---|---|\n");
    for (d, label) in columns.iter().enumerate() {
        for p in stats.iter().flat_map(|per_dataset| &per_dataset[d].points) {
            writeln!(
                md,
                "| {} | {} | {} | {} | {} |",
                markdown_cell(label),
                p.point.name(),
                p.best_epoch,
                fmt(p.best.0, p.best.1),
                fmt(p.last.0, p.last.1)
            )
            .unwrap();
        }
    }
    md.push_str("\nEvery job's split and last accuracy: `runs.csv`; every epoch's loss, validation and test counts: `curves.parquet` (both statistics are computed from it); tidy cells: `table.csv`; how this was made, with each dataset's time and messages per second: `record.toml`. Every choice: `docs/PROTOCOL.md`, \"AMP's Table 4\", in the hogwild repository.\n");
    (md, f.frame())
}

/// `table.csv`'s columns, filled cell by cell.
#[derive(Default)]
struct TidyCells {
    row: Vec<Option<String>>,
    column: Vec<Option<String>>,
    mean: Vec<Option<f64>>,
    std: Vec<Option<f64>>,
    n: Vec<Option<u64>>,
    paper_mean: Vec<Option<f64>>,
    paper_std: Vec<Option<f64>>,
    verdict: Vec<Option<String>>,
    read_at: Vec<Option<String>>,
}

impl TidyCells {
    fn push(
        &mut self,
        row: &str,
        column: &str,
        cell: &Cell,
        verdict: Option<&str>,
        at: &[(GridPoint, usize)],
    ) {
        self.row.push(Some(row.into()));
        self.column.push(Some(column.into()));
        self.mean.push(Some(cell.mean));
        self.std.push(Some(cell.std));
        self.n.push(Some(cell.n as u64));
        self.paper_mean.push(cell.paper.map(|p| p.mean));
        self.paper_std.push(cell.paper.and_then(|p| p.std));
        self.verdict.push(verdict.map(String::from));
        self.read_at.push(Some(at_text(at)));
    }

    fn frame(self) -> Frame {
        let mut f = Frame::default();
        f.push("row", Values::Text(self.row));
        f.push("column_label", Values::Text(self.column));
        f.push("mean", Values::Float(self.mean));
        f.push("std", Values::Float(self.std));
        f.push("n", Values::UInt(self.n));
        f.push("paper_mean", Values::Float(self.paper_mean));
        f.push("paper_std", Values::Float(self.paper_std));
        f.push("verdict", Values::Text(self.verdict));
        f.push("read_at", Values::Text(self.read_at));
        f
    }
}

/// One job with its dataset's label (a row of `runs.csv`).
#[derive(Clone, Copy)]
pub struct JobRow<'a> {
    dataset: &'a str,
    job: &'a TuJob,
    outcome: &'a TuOutcome,
}

/// One epoch of one job (a row of `curves.parquet`).
pub struct EpochRow<'a> {
    row: JobRow<'a>,
    epoch: usize,
}

fn float(x: f64) -> Value {
    Value::Float(Some(x))
}

/// The columns of Table 4's `runs.csv`.
pub fn run_columns<'a>() -> Vec<ColumnSpec<JobRow<'a>>> {
    vec![
        col(
            "column_label",
            Kind::Text,
            "The dataset (the column's label).",
            |r| text(r.dataset),
        ),
        col(
            "model",
            Kind::Text,
            "The row: `amp-rnn`, or a baseline (`gcn`, `gat`, `gin`).",
            |r| text(r.job.point.row.key()),
        ),
        col(
            "hidden",
            Kind::UInt,
            "State width H (a baseline's hidden width).",
            |r| uint(r.job.point.hidden),
        ),
        col(
            "budget",
            Kind::UInt,
            "Messages per run (null for a baseline).",
            |r| Value::UInt(r.job.point.amp.map(|a| a.budget as u64)),
        ),
        col(
            "message",
            Kind::UInt,
            "Message width M (null for a baseline).",
            |r| Value::UInt(r.job.point.amp.map(|a| a.message as u64)),
        ),
        col(
            "skip_readout",
            Kind::Bool,
            "Whether the skip readout (the start node's last 4 states) is on (null for a baseline).",
            |r| Value::Bool(r.job.point.amp.map(|a| a.skip)),
        ),
        col("seed", Kind::UInt, "The parameter seed.", |r| {
            uint(r.job.seed)
        }),
        col(
            "fold",
            Kind::UInt,
            "The test fold (0-based); the validation fold is the next one.",
            |r| uint(r.job.fold),
        ),
        col("train_graphs", Kind::UInt, "Graphs trained on.", |r| {
            uint(r.outcome.graphs[0])
        }),
        col(
            "validation_graphs",
            Kind::UInt,
            "Validation graphs (0 without inner validation).",
            |r| uint(r.outcome.graphs[1]),
        ),
        col("test_graphs", Kind::UInt, "Test graphs.", |r| {
            uint(r.outcome.graphs[2])
        }),
        col(
            "final_loss",
            Kind::Float,
            "The training NLL before the last epoch's step.",
            |r| float(*r.outcome.losses.last().unwrap_or(&f64::NAN)),
        ),
        col(
            "final_test_accuracy",
            Kind::Float,
            "Test accuracy (%) after the last epoch.",
            |r| {
                let correct = r.outcome.test_correct.last().copied().unwrap_or(0);
                float(100.0 * f64::from(correct) / f64::from(r.outcome.graphs[2].max(1)))
            },
        ),
        col(
            "messages_per_epoch",
            Kind::UInt,
            "Messages processed by one training epoch's forward pass (0 for a baseline).",
            |r| uint(r.outcome.messages_per_epoch),
        ),
    ]
}

/// The columns of Table 4's `curves.parquet`.
pub fn curve_columns<'a>() -> Vec<ColumnSpec<EpochRow<'a>>> {
    vec![
        col("column_label", Kind::Text, "The dataset.", |r| {
            text(r.row.dataset)
        }),
        col(
            "model",
            Kind::Text,
            "The row (`amp-rnn`, `gcn`, ...).",
            |r| text(r.row.job.point.row.key()),
        ),
        col("hidden", Kind::UInt, "State width H.", |r| {
            uint(r.row.job.point.hidden)
        }),
        col(
            "budget",
            Kind::UInt,
            "Messages per run (null for a baseline).",
            |r| Value::UInt(r.row.job.point.amp.map(|a| a.budget as u64)),
        ),
        col(
            "message",
            Kind::UInt,
            "Message width M (null for a baseline).",
            |r| Value::UInt(r.row.job.point.amp.map(|a| a.message as u64)),
        ),
        col(
            "skip_readout",
            Kind::Bool,
            "Skip readout on (null for a baseline).",
            |r| Value::Bool(r.row.job.point.amp.map(|a| a.skip)),
        ),
        col("seed", Kind::UInt, "The parameter seed.", |r| {
            uint(r.row.job.seed)
        }),
        col("fold", Kind::UInt, "The test fold.", |r| {
            uint(r.row.job.fold)
        }),
        col("epoch", Kind::UInt, "The epoch (1-based).", |r| {
            uint(r.epoch)
        }),
        col(
            "loss",
            Kind::Float,
            "Full-batch training NLL before this epoch's step.",
            |r| float(r.row.outcome.losses[r.epoch - 1]),
        ),
        col(
            "validation_correct",
            Kind::UInt,
            "Correct validation graphs after this epoch's step (null without inner validation).",
            |r| {
                Value::UInt(
                    r.row
                        .outcome
                        .val_correct
                        .get(r.epoch - 1)
                        .map(|&c| u64::from(c)),
                )
            },
        ),
        col(
            "validation_nll",
            Kind::Float,
            "Mean validation NLL after this epoch's step (null without inner validation).",
            |r| Value::Float(r.row.outcome.val_nll.get(r.epoch - 1).copied()),
        ),
        col(
            "test_correct",
            Kind::UInt,
            "Correct test graphs after this epoch's step.",
            |r| uint(r.row.outcome.test_correct[r.epoch - 1]),
        ),
    ]
}

fn job_rows<'a>(
    tu: &'a TuSettings,
    jobs: &'a [TuJob],
    outcomes: &'a [TuOutcome],
) -> Vec<JobRow<'a>> {
    jobs.iter()
        .zip(outcomes)
        .map(|(job, outcome)| JobRow {
            dataset: &tu.datasets[job.dataset].label,
            job,
            outcome,
        })
        .collect()
}

fn runs_frame(tu: &TuSettings, jobs: &[TuJob], outcomes: &[TuOutcome]) -> Frame {
    frame(&run_columns(), &job_rows(tu, jobs, outcomes))
}

fn curves_frame(tu: &TuSettings, jobs: &[TuJob], outcomes: &[TuOutcome]) -> Frame {
    let rows: Vec<EpochRow> = job_rows(tu, jobs, outcomes)
        .into_iter()
        .flat_map(|row| {
            let epochs = row.outcome.test_correct.len();
            (1..=epochs).map(move |epoch| EpochRow { row, epoch })
        })
        .collect();
    frame(&curve_columns(), &rows)
}

/// The section of `schema.md` on Table 4's files.
pub fn schema_section() -> String {
    format!(
        "{}\n{}",
        markdown_table(
            "AMP's Table 4: runs.csv",
            "Written by `[amp.NAME.tu]` tables: one row per job (dataset, model, grid point, seed, test fold). Wall times: `record.toml`.",
            &run_columns(),
        ),
        markdown_table(
            "AMP's Table 4: curves.parquet",
            "One row per epoch of every job: the input of both statistics of `table.md` (the paper's: the epoch and grid point with the best mean of `test_correct / test_graphs` over folds; inner validation: per split, the most `validation_correct`, ties to the lower `validation_nll`).",
            &curve_columns(),
        ),
    )
}
