//! The files of an AMP table: `table.md` (our cells in the paper's layout, the paper's other
//! methods, every cell beside the paper's with its verdict), `table.csv` (tidy cells, the
//! columns of every table's `table.csv`), `runs.csv` (one row per run and tested column),
//! `curves.csv` (training losses) and, for Table 3, `distances.csv` (accuracy by distance
//! from the origin, the data of the paper's Figure 5a).

use super::frame::{Frame, Values};
use super::schema::{self, col, frame, markdown_table, text, uint, ColumnSpec, Kind};
use super::{mean_std, Cell};
use crate::amp::run::RunOutcome;
use crate::amp::{AmpTable, DelayModel, Experiment};
use crate::text::markdown_cell;
use std::fmt::Write as _;

/// The paper prints accuracies as fractions with two decimals: whole percent points.
const PAPER_DECIMALS: i32 = 0;

/// Our cell of `row` (a model key) at column `c`: test accuracy (%) over seeds.
fn cell(table: &AmpTable, results: &[RunOutcome], row: &str, c: usize) -> Cell {
    let values: Vec<f64> = results
        .iter()
        .filter(|r| r.model.key() == row)
        .flat_map(|r| r.tests.iter().filter(|t| t.0 == c))
        .map(|&(_, k, n)| 100.0 * k as f64 / n.max(1) as f64)
        .collect();
    let (mean, std) = mean_std(&values, table.std_ddof);
    let paper = table
        .paper
        .get(row)
        .and_then(|cells| super::Published::from_slice(&cells[c]).filter(|p| p.std.is_some()));
    Cell {
        mean,
        std,
        n: values.len(),
        paper,
        higher_is_better: true,
    }
}

fn fmt(mean: f64, std: f64, decimals: usize) -> String {
    format!("{mean:.decimals$} ± {std:.decimals$}")
}

/// Every file but `record.toml`, as `(name, bytes)`.
pub fn files(
    table: &AmpTable,
    results: &[RunOutcome],
) -> anyhow::Result<Vec<(&'static str, Vec<u8>)>> {
    let (md, cells) = tables(table, results);
    let mut files = vec![
        ("table.md", md.into_bytes()),
        ("table.csv", cells.to_csv()?),
        ("runs.csv", runs_frame(table, results).to_csv()?),
        ("curves.csv", curves_frame(table, results).to_csv()?),
    ];
    if let Experiment::Extrapolation(_) = table.experiment() {
        files.push(("distances.csv", distances_frame(table, results).to_csv()?));
    }
    Ok(files)
}

/// A Markdown table's header: `first`, then one column per label.
pub(super) fn header(first: &str, columns: &[String]) -> String {
    let mut h = format!("| {first} |");
    for c in columns {
        write!(h, " {} |", markdown_cell(c)).unwrap();
    }
    h.push_str("\n|---|");
    h.push_str(&"---|".repeat(columns.len()));
    h.push('\n');
    h
}

/// The paper's other methods with its values (`reference`), as a section of `table.md`;
/// empty without any. A cell is `mean ± std`, `mean` (no std published) or `—`.
pub(super) fn reference_section(table: &AmpTable, columns: &[String]) -> String {
    let mut md = String::new();
    if table.reference.is_empty() {
        return md;
    }
    md.push_str("\n#### The paper's other methods (its values; not run here)\n\n");
    md.push_str(&header("method", columns));
    for (name, cells) in &table.reference {
        write!(md, "| {} |", markdown_cell(name)).unwrap();
        for c in cells {
            match c.as_slice() {
                [m, s] => write!(md, " {m} ± {s} |").unwrap(),
                [m] => write!(md, " {m} |").unwrap(),
                _ => md.push_str(" — |"),
            }
        }
        md.push('\n');
    }
    md
}

fn tables(table: &AmpTable, results: &[RunOutcome]) -> (String, Frame) {
    let columns = table.columns();
    let mut md = format!("### {}\n\n{}", table.title, header("model", &columns));
    let (mut row, mut column, mut mean, mut std, mut n) = (vec![], vec![], vec![], vec![], vec![]);
    let (mut paper_mean, mut paper_std, mut verdict) = (vec![], vec![], vec![]);
    let mut beside =
        String::from("| row | column | ours | paper | Δ | verdict |\n|---|---|---|---|---|---|\n");
    for model in &table.models {
        write!(md, "| {} |", model.display()).unwrap();
        for (c, label) in columns.iter().enumerate() {
            let cell = cell(table, results, model.key(), c);
            write!(md, " {} |", fmt(cell.mean, cell.std, 1)).unwrap();
            let v = cell.verdict_at(PAPER_DECIMALS);
            // A row the paper does not have at all (Table 3's oracle-depth baselines) is
            // ours only: shown in the table, not listed beside the paper.
            let compared = table.paper.contains_key(model.key());
            let (p, delta, v_text) = match (cell.paper, v) {
                (Some(p), Some(v)) => (
                    p.text(None),
                    format!("{:+.1}", cell.mean - p.mean),
                    v.as_str(),
                ),
                _ => ("—".into(), "—".into(), "not in the paper"),
            };
            if compared {
                writeln!(
                    beside,
                    "| {} | {} | {} | {p} | {delta} | {v_text} |",
                    model.display(),
                    markdown_cell(label),
                    fmt(cell.mean, cell.std, 1)
                )
                .unwrap();
            }
            row.push(Some(model.key().to_string()));
            column.push(Some(label.clone()));
            mean.push(Some(cell.mean));
            std.push(Some(cell.std));
            n.push(Some(cell.n as u64));
            paper_mean.push(cell.paper.map(|p| p.mean));
            paper_std.push(cell.paper.and_then(|p| p.std));
            verdict.push(v.map(|v| v.as_str().to_string()));
        }
        md.push('\n');
    }
    let delays = match table.delays {
        DelayModel::Constant => "constant delays",
        DelayModel::Code => "the code's random delays",
        DelayModel::Paper => "uniform random delays",
    };
    write!(
        md,
        "\nTest accuracy (%), mean ± std (ddof {}) over {} seed(s), each with fresh data and parameters, {} full-batch epochs, Adam (lr {}), AMP with {delays}{}.\n",
        table.std_ddof,
        table.seeds.len(),
        table.epochs,
        table.lr,
        experiment_note(table),
    )
    .unwrap();
    md.push_str(&reference_section(table, &columns));
    let misses = verdict
        .iter()
        .filter(|v| v.as_deref() == Some("MISS (worse)"))
        .count();
    let compared = verdict.iter().filter(|v| v.is_some()).count();
    write!(
        md,
        "\n#### Beside the paper ({compared} cells compared, {misses} worse than its ± range)\n\nThe paper's accuracies are fractions with two decimals, shown here in %; a cell is within when ours, rounded to a whole percent, is within the paper's std or half a point of it.\n\n{beside}"
    )
    .unwrap();
    md.push_str("\nEvery run's accuracy: `runs.csv`; training losses: `curves.csv`; ");
    if let Experiment::Extrapolation(_) = table.experiment() {
        md.push_str("accuracy by distance from the origin: `distances.csv`; ");
    }
    md.push_str("tidy cells: `table.csv`; how this was made: `record.toml`. Every choice: `docs/PROTOCOL.md`, \"AMP's tables\", in the hogwild repository.\n");
    let mut f = Frame::default();
    f.push("row", Values::Text(row));
    f.push("column_label", Values::Text(column));
    f.push("mean", Values::Float(mean));
    f.push("std", Values::Float(std));
    f.push("n", Values::UInt(n));
    f.push("paper_mean", Values::Float(paper_mean));
    f.push("paper_std", Values::Float(paper_std));
    f.push("verdict", Values::Text(verdict));
    (md, f)
}

fn experiment_note(table: &AmpTable) -> String {
    match table.experiment() {
        Experiment::Expressiveness(e) => format!(
            "; budget 5n messages per run, hidden size and features as each benchmark's recipe; GIN with {} layers and the benchmark's aggregation, a graph predicted from its nodes' mean logits; deterministic benchmarks (Limits1, Limits2, MAX, MEAN, Skip-Cycles) test on their training graphs",
            e.gin_layers
        ),
        Experiment::Extrapolation(x) => {
            let mut note = format!(
                "; trained on {} graphs of {} nodes, tested on {} fresh graphs per size; hidden size {}, message size {}, budget {}n messages from the origin; accuracy over all nodes of a size's test graphs",
                x.train_graphs, x.train_nodes, x.test_graphs, x.hidden, table.message(), x.budget_per_node
            );
            if table.models.iter().any(|m| m.oracle().is_some()) {
                let files = if table.reference.is_empty() {
                    ""
                } else {
                    "; the values of the authors' result files are among the reference rows"
                };
                write!(
                    note,
                    ". GIN, GCN and GAT with the oracle depth follow the authors' code (they are not in the paper's Table 3, so not compared with it below{files}): the origin marked in zeros(n, 5) features, a linear encoder, one shared layer (GIN: max aggregation and one linear map; GCN with self-loops of weight 2; GAT with one head; no activations) applied the origin's eccentricity times, a linear head, hidden size as AMP's"
                )
                .unwrap();
            }
            note
        }
        Experiment::Tu(_) => String::new(),
    }
}

/// One run's result at one tested column (a row of `runs.csv`).
pub struct RunRow<'a> {
    outcome: &'a RunOutcome,
    column: &'a str,
    correct: u64,
    predictions: u64,
}

/// One point of a run's training loss (a row of `curves.csv`).
pub struct CurveRow<'a> {
    outcome: &'a RunOutcome,
    trained_for: &'a str,
    epoch: usize,
    loss: f64,
}

/// A run's correct test nodes at one distance from the origin and size (`distances.csv`).
pub struct DistanceRow<'a> {
    outcome: &'a RunOutcome,
    column: &'a str,
    distance: usize,
    correct: u64,
    nodes: u64,
}

fn percent(correct: u64, total: u64) -> schema::Cell {
    schema::Cell::Float(Some(100.0 * correct as f64 / total.max(1) as f64))
}

/// The columns of an AMP table's `runs.csv`.
pub fn run_columns<'a>() -> Vec<ColumnSpec<RunRow<'a>>> {
    vec![
        col(
            "model",
            Kind::Text,
            "The row's model (`amp-rnn`, `gin`, …).",
            |r| text(r.outcome.model.key()),
        ),
        col(
            "seed",
            Kind::UInt,
            "The seed: fresh data and parameters.",
            |r| uint(r.outcome.seed),
        ),
        col(
            "column_label",
            Kind::Text,
            "The column tested (a benchmark, or `n = SIZE`).",
            |r| text(r.column),
        ),
        col(
            "correct",
            Kind::UInt,
            "Correct test predictions (nodes of node tasks, graphs of graph tasks).",
            |r| uint(r.correct),
        ),
        col("predictions", Kind::UInt, "Test predictions.", |r| {
            uint(r.predictions)
        }),
        col(
            "test_accuracy",
            Kind::Float,
            "100 · correct / predictions: the value the table's cell averages over seeds.",
            |r| percent(r.correct, r.predictions),
        ),
        col(
            "train_accuracy",
            Kind::Float,
            "Accuracy (%) on the run's training set after the last step.",
            |r| percent(r.outcome.train.0, r.outcome.train.1),
        ),
        col(
            "last_loss",
            Kind::Float,
            "The training loss at the last epoch (before its step).",
            |r| schema::Cell::Float(r.outcome.losses.last().map(|l| l.1)),
        ),
    ]
}

/// The columns of an AMP table's `curves.csv`.
pub fn curve_columns<'a>() -> Vec<ColumnSpec<CurveRow<'a>>> {
    vec![
        col("model", Kind::Text, "The row's model.", |r| text(r.outcome.model.key())),
        col("seed", Kind::UInt, "The seed.", |r| uint(r.outcome.seed)),
        col("trained_for", Kind::Text, "The column the run was trained for (Table 2's benchmark), or `every column` (Table 3: one training, every test size).", |r| text(r.trained_for)),
        col("epoch", Kind::UInt, "The epoch (1-based): the first, every `loss_every` and the last.", |r| uint(r.epoch)),
        col("loss", Kind::Float, "Mean NLL over the training set's predictions, before that epoch's Adam step.", |r| schema::Cell::Float(Some(r.loss))),
    ]
}

/// The columns of Table 3's `distances.csv`.
pub fn distance_columns<'a>() -> Vec<ColumnSpec<DistanceRow<'a>>> {
    vec![
        col("model", Kind::Text, "The row's model.", |r| {
            text(r.outcome.model.key())
        }),
        col("seed", Kind::UInt, "The seed.", |r| uint(r.outcome.seed)),
        col(
            "column_label",
            Kind::Text,
            "The test size (`n = SIZE`).",
            |r| text(r.column),
        ),
        col(
            "distance",
            Kind::UInt,
            "BFS distance from the origin.",
            |r| uint(r.distance),
        ),
        col(
            "correct",
            Kind::UInt,
            "Correctly classified test nodes at that distance, over the size's test graphs.",
            |r| uint(r.correct),
        ),
        col("nodes", Kind::UInt, "Test nodes at that distance.", |r| {
            uint(r.nodes)
        }),
    ]
}

/// The AMP section of `results/schema.md`.
pub fn schema_section() -> String {
    format!(
        "{}\n{}\n{}\n{}",
        markdown_table(
            "AMP tables: runs.csv",
            "Written by `[amp.NAME]` tables instead of the GNN tables' `runs.*`: one row per run (model, seed; for Table 2 also the benchmark trained on) and tested column. A cell of `table.md` is the mean ± std of `test_accuracy` over seeds. Wall times are the sum in `record.toml` (`run_seconds`).",
            &run_columns(),
        ),
        markdown_table(
            "AMP tables: curves.csv",
            "One row per recorded epoch of a run's training.",
            &curve_columns(),
        ),
        markdown_table(
            "AMP tables: distances.csv",
            "Table 3 only: one row per run, test size and distance from the origin that occurs (the data of the paper's Figure 5a).",
            &distance_columns(),
        ),
        super::amp_tu::schema_section(),
    )
}

/// `runs.csv`: one row per run and tested column.
fn runs_frame(table: &AmpTable, results: &[RunOutcome]) -> Frame {
    let columns = table.columns();
    let rows: Vec<RunRow> = results
        .iter()
        .flat_map(|r| {
            let columns = &columns;
            r.tests
                .iter()
                .map(move |&(c, correct, predictions)| RunRow {
                    outcome: r,
                    column: &columns[c],
                    correct,
                    predictions,
                })
        })
        .collect();
    frame(&run_columns(), &rows)
}

/// `curves.csv`: the training loss of every run at the recorded epochs.
fn curves_frame(table: &AmpTable, results: &[RunOutcome]) -> Frame {
    let columns = table.columns();
    let every = "every column".to_string();
    let rows: Vec<CurveRow> = results
        .iter()
        .flat_map(|r| {
            let trained_for = r.trained_on.map_or(&every, |c| &columns[c]);
            r.losses.iter().map(move |&(epoch, loss)| CurveRow {
                outcome: r,
                trained_for,
                epoch,
                loss,
            })
        })
        .collect();
    frame(&curve_columns(), &rows)
}

/// `distances.csv`: Table 3's correct nodes by distance from the origin, per run and size.
fn distances_frame(table: &AmpTable, results: &[RunOutcome]) -> Frame {
    let columns = table.columns();
    let rows: Vec<DistanceRow> = results
        .iter()
        .flat_map(|r| {
            let columns = &columns;
            r.distances
                .iter()
                .map(move |&(c, distance, correct, nodes)| DistanceRow {
                    outcome: r,
                    column: &columns[c],
                    distance,
                    correct,
                    nodes,
                })
        })
        .collect();
    frame(&distance_columns(), &rows)
}
