//! What `async.faults` did, for tables whose columns inject faults: `faults.csv` (one row
//! per asynchronous evaluation under faults, joined to `runs.*` on `run_id` and
//! `ordering`) and the summary under `table.md`.
//!
//! The counts are kept out of `runs.*` so that every table's runs keep one schema; a table
//! without faults writes neither.

use super::frame::Frame;
use super::schema::{col, frame, markdown_table, text, uint, Cell, ColumnSpec, Kind};
use crate::config::TableConfig;
use crate::faults::FaultTotals;
use crate::sweep::{Evaluation, PlannedRun, RunResult};
use hogwild_sim::Reset;

/// One asynchronous evaluation under faults, with what it belongs to.
pub struct FaultRow<'a> {
    /// The run's table.
    pub table: &'a TableConfig,
    /// The run as planned (id, key with the fault settings).
    pub planned: &'a PlannedRun,
    /// The run.
    pub result: &'a RunResult,
    /// The evaluation.
    pub eval: &'a Evaluation,
    /// Its fault counts.
    pub totals: &'a FaultTotals,
}

impl FaultRow<'_> {
    fn faults(&self) -> &hogwild_sim::Faults {
        &self.planned.key.async_.faults
    }
}

fn float(v: Option<f64>) -> Cell {
    Cell::Float(v)
}

/// The columns of `faults.csv`, in order.
pub fn fault_columns<'a>() -> Vec<ColumnSpec<FaultRow<'a>>> {
    use Kind::*;
    vec![
        col("run_id", Text, "the run (as in `runs`)", |r| text(&r.planned.id)),
        col("table_name", Text, "table name", |r| text(&r.result.spec.table)),
        col("column_label", Text, "the column's label", |r| text(&r.table.columns[r.result.spec.column].label)),
        col("column_index", UInt, "0-based position of the column", |r| uint(r.result.spec.column)),
        col("model", Text, "model name", |r| text(&r.result.spec.model)),
        col("seed", UInt, "parameter seed", |r| uint(r.result.spec.seed)),
        col("fold", UInt, "held-out fold (null without cross-validation)", |r| Cell::UInt(r.result.spec.fold.map(|f| f as u64))),
        col("ordering", UInt, "the asynchronous ordering (as in `runs`)", |r| Cell::UInt(r.eval.ordering.map(|o| o as u64))),
        col("message_loss", Float, "setting: probability that a neighbour read is lost (null: no loss)", |r| float(r.faults().message_loss)),
        col("crash_fraction", Float, "setting: share of the nodes that crash-stop (null: none)", |r| float(r.faults().crash.as_ref().map(|c| c.fraction))),
        col("link_failure_fraction", Float, "setting: share of the links that fail (null: none)", |r| float(r.faults().link_failure.as_ref().map(|l| l.fraction))),
        col("corruption_fraction", Float, "setting: share of the nodes whose state is corrupted once (null: none)", |r| float(r.faults().corruption.as_ref().map(|c| c.fraction))),
        col("corruption_reset", Text, "setting: `zero` or `uniform` (null: no corruption)", |r| Cell::Text(r.faults().corruption.as_ref().map(|c| match c.reset { Reset::Zero => "zero".to_string(), Reset::Uniform => "uniform".to_string() }))),
        col("graphs", UInt, "evaluated graphs (one simulation each)", |r| uint(r.totals.graphs)),
        col("reads", UInt, "neighbour reads the schedule asked for (as in `runs`, lost ones included)", |r| uint(r.eval.reads)),
        col("lost_reads", UInt, "reads lost (the reader used the version it last received)", |r| uint(r.totals.lost_reads)),
        col("failed_link_reads", UInt, "reads over a failed link", |r| uint(r.totals.failed_link_reads)),
        col("crashed_nodes", UInt, "nodes that crashed, over the graphs", |r| uint(r.totals.crashed_nodes)),
        col("failed_links", UInt, "links that failed, over the graphs", |r| uint(r.totals.failed_links)),
        col("corrupted_nodes", UInt, "node updates whose written state was corrupted, over the graphs", |r| uint(r.totals.corrupted_nodes)),
        col("corrupted_graphs", UInt, "graphs whose corruption round was within the rounds run", |r| uint(r.totals.corrupted_graphs)),
        col("reconverged_graphs", UInt, "implicit models: of those, graphs brought back to `async_tol` (null for explicit models)", |r| Cell::UInt(r.result.implicit.then_some(r.totals.reconverged_graphs))),
        col("rounds_to_reconverge", UInt, "implicit models: rounds from the corruption to convergence, summed over the re-converged graphs (at the observer's cadence; null for explicit models)", |r| Cell::UInt(r.result.implicit.then_some(r.totals.rounds_to_reconverge))),
        col("most_rounds_to_reconverge", UInt, "implicit models: the most rounds from the corruption to convergence over the re-converged graphs (null: none re-converged, or explicit)", |r| Cell::UInt(r.totals.most_rounds_to_reconverge)),
    ]
}

fn rows<'a>(table: &'a TableConfig, runs: &[(&'a PlannedRun, &'a RunResult)]) -> Vec<FaultRow<'a>> {
    runs.iter()
        .flat_map(|&(planned, result)| {
            result.evaluations.iter().filter_map(move |eval| {
                eval.faults.as_ref().map(|totals| FaultRow {
                    table,
                    planned,
                    result,
                    eval,
                    totals,
                })
            })
        })
        .collect()
}

/// `faults.csv` of one table (runs in plan order), or `None` when no run had faults.
pub fn faults(table: &TableConfig, runs: &[(&PlannedRun, &RunResult)]) -> Option<Frame> {
    let rows = rows(table, runs);
    (!rows.is_empty()).then(|| frame(&fault_columns(), &rows))
}

/// The `faults` section of `results/schema.md`.
pub fn schema_section() -> String {
    markdown_table(
        "faults",
        "Written only by tables whose columns set `async.faults`: one row per asynchronous evaluation under faults, joined to `runs` on `run_id` and `ordering` (the accuracy is there). The fault settings' windows of rounds are in the run's record and in `harness.toml`.",
        &fault_columns(),
    )
}

/// The summary under `table.md`: per column with faults and model, what the faults did
/// over all its asynchronous evaluations (runs × orderings), or `None` without faults.
pub fn summary_markdown(table: &TableConfig, runs: &[(&PlannedRun, &RunResult)]) -> Option<String> {
    let rows = rows(table, runs);
    if rows.is_empty() {
        return None;
    }
    let mut s = String::from(
        "| column | model | largest \\|async − sync\\| (points) | converged | lost reads | crashed nodes per graph | failed links per graph | corrupted nodes per graph | re-converged after corruption | rounds to re-converge (mean, most) |\n|---|---|---|---|---|---|---|---|---|---|\n",
    );
    // Groups of consecutive rows: plan order is (column, model, seed, fold).
    let mut start = 0;
    while start < rows.len() {
        let key = |r: &FaultRow| (r.result.spec.column, r.result.spec.model.clone());
        let end = start
            + rows[start..]
                .iter()
                .take_while(|r| key(r) == key(&rows[start]))
                .count();
        let group = &rows[start..end];
        let sum = |f: fn(&FaultRow) -> u64| group.iter().map(f).sum::<u64>();
        let graphs = sum(|r| r.totals.graphs).max(1) as f64;
        let reads = sum(|r| r.eval.reads);
        let lost = sum(|r| r.totals.lost_reads);
        let per_graph = |n: u64| format!("{:.1}", n as f64 / graphs);
        let corrupted = sum(|r| r.totals.corrupted_graphs);
        let reconverged = sum(|r| r.totals.reconverged_graphs);
        let implicit = group[0].result.implicit;
        // Against the same run's synchronous evaluation (its first).
        let gap = group
            .iter()
            .map(|r| (r.eval.value - r.result.evaluations[0].value).abs())
            .fold(0.0, f64::max);
        let converged = if implicit {
            let n = group.iter().filter(|r| r.eval.converged).count();
            format!("{n} of {}", group.len())
        } else {
            "—".to_string()
        };
        let (back, rounds) = if !implicit {
            ("— (explicit)".to_string(), "—".to_string())
        } else if corrupted == 0 {
            ("—".to_string(), "—".to_string())
        } else {
            let most = group
                .iter()
                .filter_map(|r| r.totals.most_rounds_to_reconverge)
                .max();
            (
                format!("{reconverged} of {corrupted} graphs"),
                match most {
                    Some(m) => format!(
                        "{:.0}, {m}",
                        sum(|r| r.totals.rounds_to_reconverge) as f64 / reconverged as f64
                    ),
                    None => "—".to_string(),
                },
            )
        };
        s.push_str(&format!(
            "| {} | {} | {gap:.4} | {converged} | {} | {} | {} | {} | {back} | {rounds} |\n",
            table.columns[group[0].result.spec.column].label,
            super::display_name(&group[0].result.spec.model),
            if reads == 0 {
                "—".to_string()
            } else {
                format!("{:.1} %", 100.0 * lost as f64 / reads as f64)
            },
            per_graph(sum(|r| r.totals.crashed_nodes)),
            per_graph(sum(|r| r.totals.failed_links)),
            per_graph(sum(|r| r.totals.corrupted_nodes)),
        ));
        start = end;
    }
    Some(s)
}
