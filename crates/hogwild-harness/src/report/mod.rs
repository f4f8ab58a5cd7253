//! Aggregation of run results into the paper's tables, and everything written to
//! `results/<table>/`: [`markdown`] and [`latex`] renderings, the tidy frames and files
//! ([`files`]), and `hogwild compare` ([`compare`]).
//!
//! Means and standard deviations are computed here, in a fixed order (runs sorted by column,
//! model, seed, ordering), never by polars' group-by (whose order and float reductions are
//! not deterministic); polars builds and writes the tidy frames.

pub mod amp;
pub mod amp_tu;
pub mod claims;
mod compare;
pub mod faults;
pub mod figures;
mod files;
pub mod frame;
mod latex;
mod markdown;
pub mod schema;

pub use compare::{compare, read_cells, WrittenCell};
pub use files::{folds_frame, write_table, Record, DETERMINISTIC_FILES};

use crate::config::{Metric, TableConfig, DEGRADATION_ROW};
use crate::sweep::{Mode, RunResult};

/// Mean and standard deviation with `ddof` delta degrees of freedom, summed in slice order.
pub fn mean_std(values: &[f64], ddof: u8) -> (f64, f64) {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let ss: f64 = values.iter().map(|v| (v - mean) * (v - mean)).sum();
    let denom = n - f64::from(ddof);
    (
        mean,
        if denom > 0.0 {
            (ss / denom).sqrt()
        } else {
            0.0
        },
    )
}

/// One aggregated cell.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    /// Mean.
    pub mean: f64,
    /// Standard deviation.
    pub std: f64,
    /// Number of values.
    pub n: usize,
    /// The paper's value, if it reports this cell.
    pub paper: Option<Published>,
    /// Whether a larger value is better (the column's metric; never for degradation).
    pub higher_is_better: bool,
}

/// A paper's value of a cell: its mean, and its std where it is known.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Published {
    /// The paper's mean.
    pub mean: f64,
    /// The paper's std (`None`: it printed none, or none was recovered).
    pub std: Option<f64>,
}

impl Published {
    /// From a config's `[mean, std]` or `[mean]` (`None` for any other length).
    pub fn from_slice(value: &[f64]) -> Option<Published> {
        match *value {
            [mean] => Some(Published { mean, std: None }),
            [mean, std] => Some(Published {
                mean,
                std: Some(std),
            }),
            _ => None,
        }
    }

    /// `mean ± std`, or the mean alone, each with at least `decimals` decimals and as many
    /// as the value is written with (`0.25` stays `0.25`; `None`: as written).
    pub fn text(&self, decimals: Option<usize>) -> String {
        let number = |x: f64| {
            let written = format!("{x}");
            match decimals {
                Some(d) => {
                    let d = d.max(written.split_once('.').map_or(0, |(_, f)| f.len()));
                    format!("{:.d$}", if d == 1 { one_decimal(x) } else { x })
                }
                None => written,
            }
        };
        match self.std {
            Some(s) => format!("{} ± {}", number(self.mean), number(s)),
            None => number(self.mean),
        }
    }
}

/// How a cell compares with the paper.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Within the paper's ± range (or within 0.05, half its last printed digit).
    Within,
    /// Outside it, in the good direction.
    Better,
    /// Outside it, in the bad direction: a miss.
    Worse,
}

impl Verdict {
    /// As printed in the tables (`within`, `better`, `MISS (worse)`).
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Within => "within",
            Verdict::Better => "better",
            Verdict::Worse => "MISS (worse)",
        }
    }
}

impl Cell {
    /// The verdict against the paper, if the paper has this cell.
    pub fn verdict(&self) -> Option<Verdict> {
        self.verdict_at(1)
    }

    /// The verdict against the paper, compared at its printed precision of `decimals`
    /// decimals: within when our mean, rounded so, is within the paper's std or half its
    /// last printed digit.
    pub fn verdict_at(&self, decimals: i32) -> Option<Verdict> {
        let Published { mean: pm, std } = self.paper?;
        let ps = std.unwrap_or(0.0);
        let d = self.mean - pm;
        let scale = 10f64.powi(decimals);
        let d_printed = (self.mean * scale).round() / scale - pm;
        Some(if d_printed.abs() <= ps.max(0.5 / scale) + 1e-9 {
            Verdict::Within
        } else if (d > 0.0) == self.higher_is_better {
            Verdict::Better
        } else {
            Verdict::Worse
        })
    }
}

/// The largest |async − sync| of one model over every run and ordering.
#[derive(Debug, Clone, PartialEq)]
pub struct Gap {
    /// Model name.
    pub model: String,
    /// Largest absolute difference in metric points.
    pub max_abs: f64,
    /// Where it occurs (`column/seed/ordering`).
    pub at: String,
    /// Whether every asynchronous run reached the simulator's tolerance.
    pub all_converged: bool,
    /// Largest number of asynchronous rounds.
    pub max_rounds: usize,
}

/// A table ready to print and write.
#[derive(Debug, Clone, PartialEq)]
pub struct TableReport {
    /// Table name.
    pub name: String,
    /// The table's configuration.
    pub config: TableConfig,
    /// Row keys (`gcn-sync`, …) with display names.
    pub rows: Vec<(String, String)>,
    /// `cells[row][column]`.
    pub cells: Vec<Vec<Cell>>,
    /// One per model.
    pub gaps: Vec<Gap>,
}

/// The display name of a model (from the model registry).
pub fn display_name(model: &str) -> &str {
    hogwild_models::registry::display_name(model)
}

/// Aggregates the results of one table (`results` in plan order).
pub fn aggregate(name: &str, config: &TableConfig, results: &[&RunResult]) -> TableReport {
    let mut rows = vec![];
    let mut cells = vec![];
    let mut gaps = vec![];
    for model in &config.models {
        for mode in [Mode::Sync, Mode::Async] {
            let key = format!("{model}-{}", mode.as_str());
            rows.push((
                key.clone(),
                format!("{} ({})", display_name(model), mode.as_str()),
            ));
            let row = (0..config.columns.len())
                .map(|c| {
                    // One value per run, i.e. per seed (and fold): the paper's "across 10
                    // folds and 3 random parameter seeds"; asynchronous runs are first
                    // averaged over their orderings.
                    let values: Vec<f64> = results
                        .iter()
                        .filter(|r| &r.spec.model == model && r.spec.column == c)
                        .map(|r| {
                            let per_ordering: Vec<f64> = r
                                .evaluations
                                .iter()
                                .filter(|e| e.mode == mode)
                                .map(|e| e.value)
                                .collect();
                            mean_std(&per_ordering, 0).0
                        })
                        .collect();
                    let (mean, std) = mean_std(&values, config.std_ddof);
                    Cell {
                        mean,
                        std,
                        n: values.len(),
                        paper: config.columns[c]
                            .paper
                            .get(&key)
                            .and_then(|v| Published::from_slice(v)),
                        higher_is_better: config.metric_of(c).higher_is_better(),
                    }
                })
                .collect();
            cells.push(row);
        }
        if config.degradation {
            let key = format!("{model}-{DEGRADATION_ROW}");
            rows.push((
                key.clone(),
                format!("{} (degradation, %)", display_name(model)),
            ));
            let row = (0..config.columns.len())
                .map(|c| {
                    let values = degradations(config.metric_of(c), model, c, results);
                    let (mean, std) = mean_std(&values, config.std_ddof);
                    Cell {
                        mean,
                        std,
                        n: values.len(),
                        paper: config.columns[c]
                            .paper
                            .get(&key)
                            .and_then(|v| Published::from_slice(v)),
                        higher_is_better: false,
                    }
                })
                .collect();
            cells.push(row);
        }
        let mut gap = Gap {
            model: model.clone(),
            max_abs: 0.0,
            at: "-".into(),
            all_converged: true,
            max_rounds: 0,
        };
        for r in results.iter().filter(|r| &r.spec.model == model) {
            let sync = r
                .evaluations
                .iter()
                .find(|e| e.mode == Mode::Sync)
                .expect("sync first")
                .value;
            for e in r.evaluations.iter().filter(|e| e.mode == Mode::Async) {
                gap.all_converged &= e.converged;
                gap.max_rounds = gap.max_rounds.max(e.rounds);
                let d = (e.value - sync).abs();
                if d > gap.max_abs {
                    gap.max_abs = d;
                    gap.at = format!(
                        "{}/seed{}{}/ordering{}",
                        config.columns[r.spec.column].label,
                        r.spec.seed,
                        r.spec.fold.map_or(String::new(), |f| format!("/fold{f}")),
                        e.ordering.unwrap_or(0)
                    );
                }
            }
        }
        gaps.push(gap);
    }
    TableReport {
        name: name.into(),
        config: config.clone(),
        rows,
        cells,
        gaps,
    }
}

/// Every asynchronous evaluation's degradation in percent from its run's synchronous value,
/// for `model` on column `c` ([`TableConfig::degradation`]), in run and ordering order. A run
/// whose synchronous value is 0 has no relative change and gives none.
fn degradations(metric: Metric, model: &str, c: usize, results: &[&RunResult]) -> Vec<f64> {
    // Classification degrades as an accuracy drop (the ICLR version's statistic), also in a
    // column that shows % error.
    let scored = |v: f64| {
        if metric == Metric::Error {
            100.0 - v
        } else {
            v
        }
    };
    let higher_is_better = metric.higher_is_better() || metric == Metric::Error;
    let worse = if higher_is_better { -1.0 } else { 1.0 };
    let mut values = vec![];
    for r in results
        .iter()
        .filter(|r| r.spec.model == model && r.spec.column == c)
    {
        let sync = r
            .evaluations
            .iter()
            .find(|e| e.mode == Mode::Sync)
            .expect("sync first")
            .value;
        let sync = scored(sync);
        if sync == 0.0 {
            continue;
        }
        values.extend(
            r.evaluations
                .iter()
                .filter(|e| e.mode == Mode::Async)
                // `+ 0.0`: no change is 0, not −0 (as table.csv would write it).
                .map(|e| worse * 100.0 * (scored(e.value) - sync) / sync.abs() + 0.0),
        );
    }
    values
}

/// `v` as printed to one decimal: a value that rounds to zero is printed `0.0`, never
/// `-0.0` (a degradation of −0.001 % is none).
fn one_decimal(v: f64) -> f64 {
    if (v * 10.0).round() == 0.0 {
        0.0
    } else {
        v
    }
}

fn fmt_cell(mean: f64, std: f64) -> String {
    format!("{:.1} ± {:.1}", one_decimal(mean), one_decimal(std))
}

impl TableReport {
    /// Number of cells the paper reports that we miss (worse than its ± range).
    pub fn misses(&self) -> usize {
        self.cells
            .iter()
            .flatten()
            .filter(|c| c.verdict() == Some(Verdict::Worse))
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_std_uses_the_stated_ddof() {
        let v = [1.0, 2.0, 3.0, 4.0];
        let (m, s0) = mean_std(&v, 0);
        let (_, s1) = mean_std(&v, 1);
        assert_eq!(m, 2.5);
        assert!((s0 - 1.25f64.sqrt()).abs() < 1e-15);
        assert!((s1 - (5.0f64 / 3.0).sqrt()).abs() < 1e-15);
        assert_eq!(mean_std(&[7.0], 1), (7.0, 0.0));
    }

    #[test]
    fn verdicts_follow_the_papers_range_and_direction() {
        // (our mean, paper [mean, std], verdict)
        let cases = [
            (65.0, [65.0, 0.0], Verdict::Within),
            (64.96, [65.0, 0.0], Verdict::Within), // rounds to the paper's 65.0
            (61.0, [62.3, 2.9], Verdict::Within),
            (58.0, [62.3, 2.9], Verdict::Worse),
            (100.0, [93.3, 1.1], Verdict::Better),
        ];
        for (mean, paper, want) in cases {
            let cell = Cell {
                mean,
                std: 0.0,
                n: 1,
                paper: Published::from_slice(&paper),
                higher_is_better: true,
            };
            assert_eq!(cell.verdict(), Some(want), "{mean} vs {paper:?}");
        }
        let unreported = Cell {
            mean: 1.0,
            std: 0.0,
            n: 1,
            paper: None,
            higher_is_better: true,
        };
        assert_eq!(unreported.verdict(), None);
    }

    #[test]
    fn cells_that_round_to_zero_print_without_a_sign() {
        assert_eq!(fmt_cell(-0.0, 0.0), "0.0 ± 0.0");
        assert_eq!(fmt_cell(-0.04, 0.01), "0.0 ± 0.0");
        assert_eq!(fmt_cell(-0.05, 0.0), "-0.1 ± 0.0");
        assert_eq!(fmt_cell(12.34, 0.06), "12.3 ± 0.1");
    }
}

#[cfg(test)]
mod aggregation_tests {
    use super::*;
    use crate::sweep::{Evaluation, Mode, RunResult, RunSpec};

    fn run(seed: u64, sync: f64, orderings: &[f64]) -> RunResult {
        let eval = |mode, ordering, value| Evaluation {
            mode,
            ordering,
            value,
            converged: true,
            rounds: 0,
            residual: 0.0,
            reads: 0,
            stale_reads: 0,
            trace: Default::default(),
            faults: None,
        };
        let mut evaluations = vec![eval(Mode::Sync, None, sync)];
        for (o, &v) in orderings.iter().enumerate() {
            evaluations.push(eval(Mode::Async, Some(o), v));
        }
        RunResult {
            spec: RunSpec {
                table: "t".into(),
                column: 0,
                model: "gcn".into(),
                seed,
                fold: None,
            },
            final_loss: 0.0,
            stats: Default::default(),
            implicit: false,
            train_losses: Default::default(),
            sync_trace: Default::default(),
            evaluations,
            seconds: 0.0,
            train_seconds: 0.0,
        }
    }

    /// A GCN table of one chains column, with `seeds` seeds and as many orderings.
    fn table(title: &str, label: &str, seeds: usize) -> TableConfig {
        let mut config: TableConfig = toml::from_str(&format!(
            r#"
            title = {title:?}
            metric = "accuracy"
            seeds = []
            orderings = {seeds}
            models = ["gcn"]
            std_ddof = 0
            columns = [{{ label = {label:?}, dataset = {{ kind = "chains", length = 4, classes = 2 }} }}]
            "#
        ))
        .unwrap();
        config.seeds = (0..seeds as u64).collect();
        config
    }

    #[test]
    fn labels_are_spelt_for_latex_and_markdown() {
        let config = table("β sweep & more", "ℓ = 10 | β = 1%", 1);
        let a = run(0, 50.0, &[40.0]);
        let report = aggregate("t", &config, &[&a]);
        let tex = report.table_latex();
        assert!(tex.contains("% $\\beta$ sweep \\& more"), "{tex}");
        assert!(
            tex.contains("Model & $\\ell = 10$ \\textbar{} $\\beta$ = 1\\% \\\\"),
            "{tex}"
        );
        assert!(!tex.contains('ℓ') && !tex.contains('β'), "{tex}");
        let macros = report.latex_macros();
        assert!(macros.contains("% GCN (sync) / $\\ell$ = 10"), "{macros}");
        let md = report.table_markdown();
        assert!(md.contains("| model | ℓ = 10 \\| β = 1% |"), "{md}");
    }

    #[test]
    fn degradation_rows_are_relative_changes_in_the_worse_direction() {
        let mut config = table("t", "accuracy", 2);
        config.degradation = true;
        let mut rmse = config.columns[0].clone();
        rmse.label = "rmse".into();
        rmse.metric = Some(Metric::RelativeRmse);
        config.columns.push(rmse);
        let mut error = config.columns[0].clone();
        error.label = "error".into();
        error.metric = Some(Metric::Error);
        config.columns.push(error);
        let in_column = |column, seed, sync, orderings: &[f64]| {
            let mut r = run(seed, sync, orderings);
            r.spec.column = column;
            r
        };
        let runs = [
            // Accuracy 50 → 40 is 20 % worse, 50 → 60 is 20 % better.
            in_column(0, 0, 50.0, &[40.0, 60.0]),
            in_column(0, 1, 80.0, &[80.0, 80.0]),
            // Relative RMSE 10 → 15 is 50 % worse; a zero sync value gives no change.
            in_column(1, 0, 10.0, &[15.0, 10.0]),
            in_column(1, 1, 0.0, &[3.0, 0.0]),
            // % error 0 → 50 is accuracy 100 → 50, a 50 % drop (an error of 0 still counts).
            in_column(2, 0, 0.0, &[50.0]),
        ];
        let report = aggregate("t", &config, &runs.iter().collect::<Vec<_>>());
        let keys: Vec<&str> = report.rows.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["gcn-sync", "gcn-async", "gcn-degradation"]);
        let (accuracy, rmse) = (&report.cells[2][0], &report.cells[2][1]);
        // Pooled over runs and orderings: [20, −20, 0, 0] and [50, 0].
        assert_eq!((accuracy.mean, accuracy.n), (0.0, 4));
        assert!((accuracy.std - 200f64.sqrt()).abs() < 1e-12);
        assert_eq!((rmse.mean, rmse.std, rmse.n), (25.0, 25.0, 2));
        assert_eq!((report.cells[2][2].mean, report.cells[2][2].n), (50.0, 1));
        assert!(!accuracy.higher_is_better && !rmse.higher_is_better);
        assert!(report.cells[0][0].higher_is_better && !report.cells[0][1].higher_is_better);
        // Less degradation than the paper's is better.
        let mut cell = rmse.clone();
        cell.paper = Published::from_slice(&[584.6, 0.0]);
        assert_eq!(cell.verdict(), Some(Verdict::Better));
        // A paper mean without a std: within only when ours rounds to it.
        cell.paper = Published::from_slice(&[25.0]);
        assert_eq!(cell.verdict(), Some(Verdict::Within));
        cell.paper = Published::from_slice(&[24.9]);
        assert_eq!(cell.verdict(), Some(Verdict::Worse));
        assert_eq!(cell.paper.unwrap().text(Some(1)), "24.9");
        let printed = |v: &[f64]| Published::from_slice(v).unwrap().text(Some(1));
        assert_eq!(printed(&[0.25, 0.5]), "0.25 ± 0.5");
        assert_eq!(printed(&[65.0, 0.0]), "65.0 ± 0.0");
        assert_eq!(printed(&[0.04]), "0.04");
        assert!(report
            .table_markdown()
            .contains("| GCN (degradation, %) | 0.0 ± 14.1 | 25.0 ± 25.0 | 50.0 ± 0.0 |"));
    }

    #[test]
    fn cells_are_over_seeds_and_async_values_are_ordering_means_first() {
        let config = table("t", "c", 2);
        let (a, b) = (run(0, 50.0, &[40.0, 60.0]), run(1, 70.0, &[80.0, 100.0]));
        let report = aggregate("t", &config, &[&a, &b]);
        // Sync: seeds 50 and 70. Async: seed means 50 and 90 (not the four values pooled,
        // whose std would be 22.4).
        let (sync, asyn) = (&report.cells[0][0], &report.cells[1][0]);
        assert_eq!((sync.mean, sync.std, sync.n), (60.0, 10.0, 2));
        assert_eq!((asyn.mean, asyn.std, asyn.n), (70.0, 20.0, 2));
        // The gap is over the raw per-ordering values: |100 − 70| = 30 at seed 1, ordering 1.
        assert_eq!(report.gaps[0].max_abs, 30.0);
        assert_eq!(report.gaps[0].at, "c/seed1/ordering1");
    }
}
