//! Experiment 1, node regression (`[distributed.NAME.regression]`): every optimiser
//! trained with every seed, the test MSE and the counted rounds per epoch. The paper's
//! Table I, the rounds of one mini-batch per scheme, is its own table ([`super::ledger`]).

use super::{cells_table, serde_name, ColumnDoc, DistributedTable, Written};
use crate::report::frame::{Frame, Values};
use hogwild_distributed::regression::{
    train_optimiser, OptimiserCurve, RegressionConfig, RegressionData,
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

/// What one experiment produced: every (seed, optimiser) run in (seed, optimiser) order.
pub struct RegressionResults {
    /// `(seed, curve)`.
    pub runs: Vec<(u64, OptimiserCurve)>,
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

/// `table.md` (optimisers by epochs), `table.csv`, `curves.csv` and `curves.svg` of
/// `table`'s runs.
pub(crate) fn write(table: &DistributedTable, s: &RegressionConfig) -> anyhow::Result<Written> {
    let results = run(table, s);
    let runs: Vec<(&str, &[f64], &[u64])> = results
        .runs
        .iter()
        .map(|(_, c)| (c.name.as_str(), &c.test_mse[..], &c.rounds[..]))
        .collect();
    let (mut md, cells) = cells_table(table, &runs, 4);
    md.push_str(&format!(
        "\nTest MSE, mean ± std (ddof {}) over {} seed(s), the authors' single run in parentheses; noise floor {:.4} (noise_std²). N = {}, B = {}, {} epochs of {} samples, scheme `{}`.\n",
        table.ddof(),
        table.seeds.len(),
        s.noise_std * s.noise_std,
        s.nodes,
        s.batch_size,
        s.epochs,
        s.train_samples,
        serde_name(&s.scheme),
    ));
    md.push_str("\nPer-epoch curves of every seed and optimiser: `curves.csv` (drawn in `curves.svg`); tidy cells: `table.csv`; how this was made: `record.toml`. Every choice: `docs/PROTOCOL.md`, \"Fully distributed training\", in the hogwild repository.\n");
    Ok(Written {
        files: vec![
            ("table.md", md.into_bytes()),
            ("table.csv", cells.to_csv()?),
            ("curves.csv", curves_frame(&results).to_csv()?),
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
            seconds: vec![],
        };
        assert!(super::super::documented(
            &curves_frame(&empty),
            CURVE_COLUMNS
        ));
    }
}
