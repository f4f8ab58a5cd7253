//! Experiment 2, power allocation (`[distributed.NAME.power]`): the unrolled WMMSE trained
//! centralized and distributed with every seed, the test sum-rate per epoch, and the WMMSE
//! references on each seed's test set.

use super::{cells_table, serde_name, ColumnDoc, DistributedTable, Written};
use crate::report::frame::{Frame, Values};
use hogwild_distributed::power::{train_optimiser, wmmse, PowerConfig, PowerData, PowerRun};
use rayon::prelude::*;

/// The reference lines, in the order `table.md` shows them (`paper_references` keys).
pub const REFERENCES: [&str; 4] = ["full-power", "untrained", "truncated-wmmse", "full-wmmse"];

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
        "`sgd`, `adam` (centralized) or `local-adam` (distributed)",
    ),
    ("epoch", "uint64", "1-based"),
    (
        "rounds",
        "uint64",
        "message rounds since the start, counted (centralized: forward rounds only)",
    ),
    (
        "test_sum_rate",
        "float64",
        "mean test sum-rate (bps/Hz) after the epoch, each pair with its own copy",
    ),
    (
        "train_sum_rate",
        "float64",
        "mean over the epoch's training samples of the sum-rate before each update",
    ),
    (
        "copy_spread",
        "float64",
        "root-mean-square distance of the copies from their mean (0: centralized)",
    ),
];

/// `wmmse.csv`'s columns.
pub(super) const WMMSE_COLUMNS: &[ColumnDoc] = &[
    ("seed", "uint64", "the seed whose test set this is"),
    (
        "iteration",
        "uint64",
        "WMMSE iterations from full power (0: full power)",
    ),
    (
        "test_sum_rate",
        "float64",
        "mean test sum-rate (bps/Hz) after that many iterations",
    ),
];

/// One seed's references: the sum-rate after every WMMSE iteration (0: full power) and the
/// untrained network's.
struct SeedReferences {
    seed: u64,
    wmmse_by_iteration: Vec<f64>,
    untrained: f64,
}

impl SeedReferences {
    /// The value of reference `name` (one of [`REFERENCES`]).
    fn value(&self, name: &str, cfg: &PowerConfig) -> f64 {
        match name {
            "full-power" => self.wmmse_by_iteration[0],
            "untrained" => self.untrained,
            "truncated-wmmse" => self.wmmse_by_iteration[cfg.layers],
            _ => self.wmmse_by_iteration[cfg.full_wmmse_iterations],
        }
    }
}

/// Every (seed, optimiser) run in (seed, optimiser) order, the references per seed, and the
/// wall seconds of each run.
struct PowerResults {
    runs: Vec<(u64, PowerRun)>,
    references: Vec<SeedReferences>,
    seconds: Vec<f64>,
}

/// Runs every seed and optimiser (independent runs, in parallel; each sequential).
fn run(table: &DistributedTable, settings: &PowerConfig) -> PowerResults {
    let sweep = super::sweep(
        &table.seeds,
        settings.optimisers.len(),
        |seed| PowerConfig {
            seed,
            ..settings.clone()
        },
        PowerData::generate,
        |cfg, data, o| train_optimiser(cfg, data, &cfg.optimisers[o]),
    );
    let references = sweep
        .configs
        .par_iter()
        .zip(&sweep.data)
        .map(|(cfg, d)| SeedReferences {
            seed: cfg.seed,
            wmmse_by_iteration: wmmse::mean_wmmse_curve(
                d.test.iter().flatten(),
                cfg.model().noise,
                cfg.max_power,
                cfg.full_wmmse_iterations,
            ),
            untrained: sweep
                .runs
                .iter()
                .find(|(seed, _)| *seed == cfg.seed)
                .map_or(f64::NAN, |(_, run)| run.initial_sum_rate),
        })
        .collect();
    PowerResults {
        runs: sweep.runs,
        references,
        seconds: sweep.seconds,
    }
}

/// `curves.csv`: one row per (seed, optimiser, epoch).
fn curves_frame(results: &PowerResults) -> Frame {
    let (mut seed, mut name, mut kind, mut epoch) = (vec![], vec![], vec![], vec![]);
    let (mut rounds, mut test, mut train, mut spread) = (vec![], vec![], vec![], vec![]);
    for (s, r) in &results.runs {
        for e in 0..r.test_sum_rate.len() {
            seed.push(Some(*s));
            name.push(Some(r.name.clone()));
            kind.push(Some(serde_name(&r.kind)));
            epoch.push(Some(e as u64 + 1));
            rounds.push(Some(r.rounds[e]));
            test.push(Some(r.test_sum_rate[e]));
            train.push(Some(r.train_sum_rate[e]));
            spread.push(Some(r.copy_spread[e]));
        }
    }
    let mut f = Frame::default();
    f.push("seed", Values::UInt(seed));
    f.push("optimiser", Values::Text(name));
    f.push("kind", Values::Text(kind));
    f.push("epoch", Values::UInt(epoch));
    f.push("rounds", Values::UInt(rounds));
    f.push("test_sum_rate", Values::Float(test));
    f.push("train_sum_rate", Values::Float(train));
    f.push("copy_spread", Values::Float(spread));
    f
}

/// `wmmse.csv`: the mean test sum-rate after every WMMSE iteration, per seed.
fn wmmse_frame(results: &PowerResults) -> Frame {
    let (mut seed, mut iteration, mut rate) = (vec![], vec![], vec![]);
    for r in &results.references {
        for (t, v) in r.wmmse_by_iteration.iter().enumerate() {
            seed.push(Some(r.seed));
            iteration.push(Some(t as u64));
            rate.push(Some(*v));
        }
    }
    let mut f = Frame::default();
    f.push("seed", Values::UInt(seed));
    f.push("iteration", Values::UInt(iteration));
    f.push("test_sum_rate", Values::Float(rate));
    f
}

/// `table.md` (optimisers by epochs, the references, the counted rounds), `table.csv` (the
/// cells, then the references as rows with column `reference`), `curves.csv` and
/// `wmmse.csv` of `table`'s runs.
pub(crate) fn write(table: &DistributedTable, s: &PowerConfig) -> anyhow::Result<Written> {
    let results = run(table, s);
    let runs: Vec<(&str, &[f64], &[u64])> = results
        .runs
        .iter()
        .map(|(_, r)| (r.name.as_str(), &r.test_sum_rate[..], &r.rounds[..]))
        .collect();
    let (mut md, mut cells) = cells_table(table, &runs, 3);
    md.push_str(&format!(
        "\nTest sum-rate (bps/Hz, higher is better), mean ± std (ddof {}) over {} seed(s), the authors' single run in parentheses. N = {} pairs, B = {}, {} epochs of {} training mini-batches, {} test mini-batches, {} unrolled layers.\n\n#### References on the test sets\n\n| reference | ours | authors |\n|---|---|---|\n",
        table.ddof(),
        table.seeds.len(),
        s.pairs,
        s.batch_size,
        s.epochs,
        s.train_batches,
        s.test_batches,
        s.layers,
    ));
    let mut reference_rows = Frame::default();
    let (mut row, mut mean, mut std, mut n, mut paper) = (vec![], vec![], vec![], vec![], vec![]);
    for name in REFERENCES {
        let values: Vec<f64> = results
            .references
            .iter()
            .map(|r| r.value(name, s))
            .collect();
        let (m, sd) = crate::report::mean_std(&values, table.ddof());
        let authors = table.paper_references.get(name).copied();
        let label = match name {
            "full-power" => "every transmitter at full power".to_string(),
            "untrained" => "untrained UWMMSE".to_string(),
            "truncated-wmmse" => format!("WMMSE, {} iterations (truncated)", s.layers),
            _ => format!("WMMSE, {} iterations (full)", s.full_wmmse_iterations),
        };
        md.push_str(&format!(
            "| {label} | {m:.3} ± {sd:.3} | {} |\n",
            authors.map_or("—".to_string(), |p| format!("{p:.3}"))
        ));
        row.push(Some(name.to_string()));
        mean.push(Some(m));
        std.push(Some(sd));
        n.push(Some(values.len() as u64));
        paper.push(authors);
    }
    let columns = vec![Some("reference".to_string()); row.len()];
    reference_rows.push("row", Values::Text(row));
    reference_rows.push("column_label", Values::Text(columns));
    reference_rows.push("mean", Values::Float(mean));
    reference_rows.push("std", Values::Float(std));
    reference_rows.push("n", Values::UInt(n));
    reference_rows.push("paper_mean", Values::Float(paper));
    cells.append(reference_rows);
    md.push_str("\n#### Communication, counted\n\n| optimiser | rounds per mini-batch | messages per mini-batch | scalars per mini-batch |\n|---|---|---|---|\n");
    let steps = (s.epochs * s.train_batches) as u64;
    for (_, r) in results.runs.iter().take(s.optimisers.len()) {
        md.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            r.name,
            r.rounds[0] / s.train_batches as u64,
            r.ledger.messages / steps,
            r.ledger.scalars / steps,
        ));
    }
    md.push_str("\nPer-epoch curves of every seed and optimiser: `curves.csv` (drawn in `curves.svg`); WMMSE after every iteration: `wmmse.csv`; tidy cells and references: `table.csv`; how this was made: `record.toml`. Every choice: `docs/PROTOCOL.md`, \"Fully distributed training\", in the hogwild repository.\n");
    Ok(Written {
        files: vec![
            ("table.md", md.into_bytes()),
            ("table.csv", cells.to_csv()?),
            ("curves.csv", curves_frame(&results).to_csv()?),
            ("wmmse.csv", wmmse_frame(&results).to_csv()?),
            (
                "curves.svg",
                super::figure::curves_svg(table, &runs, "sum-rate (bps/Hz)", false)?.into_bytes(),
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
        let empty = PowerResults {
            runs: vec![],
            references: vec![],
            seconds: vec![],
        };
        assert!(super::super::documented(
            &curves_frame(&empty),
            CURVE_COLUMNS
        ));
        assert!(super::super::documented(
            &wmmse_frame(&empty),
            WMMSE_COLUMNS
        ));
    }
}
