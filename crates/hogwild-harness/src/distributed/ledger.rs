//! The communication ledger (`[distributed.NAME.ledger]`, the paper's Table I): one
//! mini-batch of experiment 1's network counted under every scheme at every mini-batch
//! size `B` and consensus steps `K`, beside the paper's formula. Nothing is trained: no
//! seeds, epochs or curves.

use super::{serde_name, ColumnDoc, DistributedTable, Written};
use crate::report::frame::{Frame, Values};
use hogwild_distributed::ledger::{count_ledgers, LedgerConfig, LedgerRow};
use hogwild_distributed::schedule::Scheme;

/// `ledger.csv`'s columns.
pub(super) const LEDGER_COLUMNS: &[ColumnDoc] = &[
    ("batch_size", "uint64", "samples in the mini-batch (B)"),
    (
        "consensus_rounds",
        "uint64",
        "consensus steps per mini-batch (K)",
    ),
    ("layers", "uint64", "layers of the filter (L)"),
    (
        "scheme",
        "string",
        "`centralized-inference`, `naive`, `naive-piggybacked` or `pipelined`",
    ),
    (
        "rounds",
        "uint64",
        "message rounds of one mini-batch, counted",
    ),
    (
        "messages",
        "uint64",
        "messages (one per directed link per round)",
    ),
    ("scalars", "uint64", "scalars carried by all messages"),
    (
        "widest_message",
        "uint64",
        "the widest single message, in scalars",
    ),
    (
        "paper_rounds",
        "uint64",
        "the paper's formula for the scheme's rounds at this B, K and L",
    ),
];

/// The paper's formula of `scheme` as printed in `table.md`.
fn formula(scheme: Scheme) -> &'static str {
    match scheme {
        Scheme::CentralizedInference => "LB",
        Scheme::Naive => "B(2L − 1 + K)",
        Scheme::NaivePiggybacked => "LB + L − 1 + K",
        Scheme::Pipelined => "LB + L − 1",
    }
}

fn column_label(r: &LedgerRow) -> String {
    format!("B = {}, K = {}", r.batch_size, r.consensus_rounds)
}

/// `ledger.csv`: one row per (B, K, scheme).
fn ledger_frame(rows: &[LedgerRow]) -> Frame {
    let int = |g: fn(&LedgerRow) -> u64| Values::UInt(rows.iter().map(|r| Some(g(r))).collect());
    let mut f = Frame::default();
    f.push("batch_size", int(|r| r.batch_size as u64));
    f.push("consensus_rounds", int(|r| r.consensus_rounds as u64));
    f.push("layers", int(|r| r.layers as u64));
    f.push(
        "scheme",
        Values::Text(rows.iter().map(|r| Some(serde_name(&r.scheme))).collect()),
    );
    f.push("rounds", int(|r| r.counted.rounds));
    f.push("messages", int(|r| r.counted.messages));
    f.push("scalars", int(|r| r.counted.scalars));
    f.push("widest_message", int(|r| r.counted.widest_message));
    f.push("paper_rounds", int(|r| r.formula));
    f
}

/// `table.csv` in the distributed experiments' cell layout: a scheme's counted rounds as
/// the mean of one count (std 0), the paper's formula as its value.
fn cells_frame(rows: &[LedgerRow]) -> Frame {
    let mut f = Frame::default();
    f.push(
        "row",
        Values::Text(rows.iter().map(|r| Some(serde_name(&r.scheme))).collect()),
    );
    f.push(
        "column_label",
        Values::Text(rows.iter().map(|r| Some(column_label(r))).collect()),
    );
    f.push(
        "mean",
        Values::Float(rows.iter().map(|r| Some(r.counted.rounds as f64)).collect()),
    );
    f.push(
        "std",
        Values::Float(rows.iter().map(|_| Some(0.0)).collect()),
    );
    f.push("n", Values::UInt(rows.iter().map(|_| Some(1)).collect()));
    f.push(
        "paper_mean",
        Values::Float(rows.iter().map(|r| Some(r.formula as f64)).collect()),
    );
    f
}

/// `table.md`: schemes by (B, K), each cell the counted rounds, marked where the paper's
/// formula gives another count; then the verdict.
fn markdown(table: &DistributedTable, rows: &[LedgerRow]) -> String {
    let mut columns: Vec<String> = vec![];
    for r in rows {
        let label = column_label(r);
        if !columns.contains(&label) {
            columns.push(label);
        }
    }
    let mut md = format!("### {}\n\n| scheme | the paper's rounds |", table.title);
    for c in &columns {
        md.push_str(&format!(" {c} |"));
    }
    md.push_str(&format!("\n|---|---|{}\n", "---|".repeat(columns.len())));
    let mut differ = vec![];
    for scheme in Scheme::ALL {
        md.push_str(&format!("| {} | {} |", scheme.name(), formula(scheme)));
        for r in rows.iter().filter(|r| r.scheme == scheme) {
            if r.counted.rounds == r.formula {
                md.push_str(&format!(" {} |", r.counted.rounds));
            } else {
                md.push_str(&format!(" {} (paper: {}) |", r.counted.rounds, r.formula));
                differ.push(format!("{} at {}", scheme.name(), column_label(r)));
            }
        }
        md.push('\n');
    }
    let layers = rows.first().map_or(0, |r| r.layers);
    md.push_str(&format!(
        "\nMessage rounds of one mini-batch, counted by the simulator (L = {layers} layers, B samples, K consensus steps); the paper's formulas are those of the authors' plotting notebook. "
    ));
    if differ.is_empty() {
        md.push_str(&format!(
            "Every count equals the paper's formula ({} of {}).\n",
            rows.len(),
            rows.len()
        ));
    } else {
        md.push_str(&format!(
            "{} of {} counts differ from the paper's formula: {}.\n",
            differ.len(),
            rows.len(),
            differ.join("; ")
        ));
        if rows.iter().any(|r| {
            r.scheme == Scheme::Pipelined
                && r.counted.rounds != r.formula
                && r.consensus_rounds as u64 > r.formula
        }) {
            md.push_str("The pipelined scheme's consensus steps ride on the mini-batch's first K rounds, so where K > LB + L − 1 it needs K rounds, more than the formula says.\n");
        }
    }
    md.push_str("\nMessages, scalars and the widest message of every count: `ledger.csv`; tidy cells: `table.csv`; how this was made: `record.toml`. Every choice: `docs/PROTOCOL.md`, \"Fully distributed training\", in the hogwild repository.\n");
    md
}

/// `table.md`, `table.csv` and `ledger.csv` of `table`'s counts.
pub(crate) fn write(table: &DistributedTable, s: &LedgerConfig) -> anyhow::Result<Written> {
    let start = std::time::Instant::now();
    let rows = count_ledgers(s).map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(Written {
        files: vec![
            ("table.md", markdown(table, &rows).into_bytes()),
            ("table.csv", cells_frame(&rows).to_csv()?),
            ("ledger.csv", ledger_frame(&rows).to_csv()?),
        ],
        run_seconds: start.elapsed().as_secs_f64(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn its_files_have_the_documented_columns() {
        assert!(super::super::documented(&ledger_frame(&[]), LEDGER_COLUMNS));
        assert!(super::super::documented(
            &cells_frame(&[]),
            super::super::CELL_COLUMNS
        ));
    }
}
