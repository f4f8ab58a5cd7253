//! Experiment 1, node regression (`[distributed.NAME.regression]`): every optimiser
//! trained with every seed, the test MSE per epoch, and the communication ledger of one
//! mini-batch counted per scheme (the paper's Table I).

use super::{cells_table, serde_name, ColumnDoc, DistributedTable, Written};
use crate::report::frame::{Frame, Values};
use hogwild_distributed::regression::{
    measure_ledger, train_optimiser, OptimiserCurve, RegressionConfig, RegressionData, SchemeLedger,
};

/// `curves.csv`'s columns.
pub(super) const CURVE_COLUMNS: &[ColumnDoc] = &[
    ("seed", "uint64", "the run's seed"),
    (
        "optimiser",
        "string",
        "the optimiser's name (a row of `table.csv`)",
    ),
    (
        "kind",
        "string",
        "`sgd`, `adam`, `d-sgd`, `d-adam` or `d-amsgrad`",
    ),
    (
        "scheme",
        "string",
        "the communication scheme of the backward passes",
    ),
    ("epoch", "uint64", "1-based"),
    (
        "rounds",
        "uint64",
        "message rounds since the start, counted",
    ),
    (
        "test_mse",
        "float64",
        "test MSE after the epoch, each node with its own copy",
    ),
    (
        "train_mse",
        "float64",
        "mean over the epoch's mini-batches of the MSE before each update",
    ),
    (
        "copy_spread",
        "float64",
        "root-mean-square distance of the copies from their mean (0: centralized)",
    ),
];

/// `ledger.csv`'s columns.
pub(super) const LEDGER_COLUMNS: &[ColumnDoc] = &[
    (
        "scheme",
        "string",
        "`centralized-inference`, `naive`, `naive-piggybacked` or `pipelined`",
    ),
    ("rounds", "uint64", "message rounds of one mini-batch"),
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
];

/// What one experiment produced: every (seed, optimiser) run in (seed, optimiser) order,
/// and the ledger of one mini-batch per scheme.
pub struct RegressionResults {
    /// `(seed, curve)`.
    pub runs: Vec<(u64, OptimiserCurve)>,
    /// One counted mini-batch under each scheme (the first seed's data; the counts do not
    /// depend on the data).
    pub ledger: Vec<SchemeLedger>,
    /// Wall seconds of each run, in `runs` order (not in the deterministic files).
    pub seconds: Vec<f64>,
}

/// Runs every seed and optimiser of `table` with `settings` (independent runs, in
/// parallel).
pub fn run(table: &DistributedTable, settings: &RegressionConfig) -> RegressionResults {
    let sweep = super::sweep(
        &table.seeds,
        settings.optimisers.len(),
        |seed| RegressionConfig {
            seed,
            ..settings.clone()
        },
        RegressionData::generate,
        |cfg, data, o| train_optimiser(cfg, data, &cfg.optimisers[o]),
    );
    RegressionResults {
        ledger: measure_ledger(&sweep.configs[0], &sweep.data[0], 1),
        runs: sweep.runs,
        seconds: sweep.seconds,
    }
}

/// `curves.csv`: one row per (seed, optimiser, epoch).
fn curves_frame(results: &RegressionResults) -> Frame {
    let (mut seed, mut name, mut kind, mut scheme, mut epoch) =
        (vec![], vec![], vec![], vec![], vec![]);
    let (mut rounds, mut test, mut train, mut spread) = (vec![], vec![], vec![], vec![]);
    for (s, c) in &results.runs {
        for e in 0..c.test_mse.len() {
            seed.push(Some(*s));
            name.push(Some(c.name.clone()));
            kind.push(Some(serde_name(&c.kind)));
            scheme.push(Some(serde_name(&c.scheme)));
            epoch.push(Some(e as u64 + 1));
            rounds.push(Some(c.rounds[e]));
            test.push(Some(c.test_mse[e]));
            train.push(Some(c.train_mse[e]));
            spread.push(Some(c.copy_spread[e]));
        }
    }
    let mut f = Frame::default();
    f.push("seed", Values::UInt(seed));
    f.push("optimiser", Values::Text(name));
    f.push("kind", Values::Text(kind));
    f.push("scheme", Values::Text(scheme));
    f.push("epoch", Values::UInt(epoch));
    f.push("rounds", Values::UInt(rounds));
    f.push("test_mse", Values::Float(test));
    f.push("train_mse", Values::Float(train));
    f.push("copy_spread", Values::Float(spread));
    f
}

/// `ledger.csv`: one counted mini-batch per scheme.
fn ledger_frame(results: &RegressionResults) -> Frame {
    let rows = &results.ledger;
    let mut f = Frame::default();
    f.push(
        "scheme",
        Values::Text(rows.iter().map(|r| Some(serde_name(&r.scheme))).collect()),
    );
    let col = |g: fn(&SchemeLedger) -> u64| Values::UInt(rows.iter().map(|r| Some(g(r))).collect());
    f.push("rounds", col(|r| r.per_minibatch.rounds));
    f.push("messages", col(|r| r.per_minibatch.messages));
    f.push("scalars", col(|r| r.per_minibatch.scalars));
    f.push("widest_message", col(|r| r.per_minibatch.widest_message));
    f
}

/// `table.md` (optimisers by epochs, then the ledger), `table.csv`, `curves.csv` and
/// `ledger.csv` of `table`'s runs.
pub(crate) fn write(table: &DistributedTable, s: &RegressionConfig) -> anyhow::Result<Written> {
    let results = run(table, s);
    let runs: Vec<(&str, &[f64], &[u64])> = results
        .runs
        .iter()
        .map(|(_, c)| (c.name.as_str(), &c.test_mse[..], &c.rounds[..]))
        .collect();
    let (mut md, cells) = cells_table(table, &runs, 4);
    md.push_str(&format!(
        "\nTest MSE, mean ± std (ddof {}) over {} seed(s), the authors' single run in parentheses; noise floor {:.4} (noise_std²). N = {}, B = {}, {} epochs of {} samples, scheme `{}`.\n\n#### Communication per mini-batch (the paper's Table I), counted\n\n| scheme | rounds | messages | scalars | widest message |\n|---|---|---|---|---|\n",
        table.std_ddof,
        table.seeds.len(),
        s.noise_std * s.noise_std,
        s.nodes,
        s.batch_size,
        s.epochs,
        s.train_samples,
        serde_name(&s.scheme),
    ));
    for r in &results.ledger {
        let l = &r.per_minibatch;
        md.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            serde_name(&r.scheme),
            l.rounds,
            l.messages,
            l.scalars,
            l.widest_message
        ));
    }
    md.push_str("\nPer-epoch curves of every seed and optimiser: `curves.csv` (drawn in `curves.svg`); the ledger: `ledger.csv`; tidy cells: `table.csv`; how this was made: `record.toml`. Every choice: `docs/PROTOCOL.md`, \"Fully distributed training\", in the hogwild repository.\n");
    Ok(Written {
        files: vec![
            ("table.md", md.into_bytes()),
            ("table.csv", cells.to_csv()?),
            ("curves.csv", curves_frame(&results).to_csv()?),
            ("ledger.csv", ledger_frame(&results).to_csv()?),
            (
                "curves.svg",
                super::figure::curves_svg(table, &runs, "MSE", true)?.into_bytes(),
            ),
        ],
        run_seconds: results.seconds.iter().sum(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn its_files_have_the_documented_columns() {
        let empty = RegressionResults {
            runs: vec![],
            ledger: vec![],
            seconds: vec![],
        };
        assert!(super::super::documented(
            &curves_frame(&empty),
            CURVE_COLUMNS
        ));
        assert!(super::super::documented(
            &ledger_frame(&empty),
            LEDGER_COLUMNS
        ));
    }
}
