//! Aggregation of run results into the paper's tables, and everything written to
//! `results/<table>/`: [`markdown`] and [`latex`] renderings, the tidy frames and files
//! ([`files`]), and `hogwild compare` ([`compare`]).
//!
//! Means and standard deviations are computed here, in a fixed order (runs sorted by column,
//! model, seed, ordering), never by polars' group-by (whose order and float reductions are
//! not deterministic); polars builds and writes the tidy frames.

mod compare;
pub mod figures;
mod files;
pub mod frame;
mod latex;
mod markdown;
pub mod schema;

pub use compare::compare;
pub use files::{folds_frame, write_table, Record, DETERMINISTIC_FILES};

use crate::config::{Metric, TableConfig};
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
    /// The paper's `[mean, std]`, if it reports this cell.
    pub paper: Option<[f64; 2]>,
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
    fn as_str(self) -> &'static str {
        match self {
            Verdict::Within => "within",
            Verdict::Better => "better",
            Verdict::Worse => "MISS (worse)",
        }
    }
}

impl Cell {
    /// The verdict against the paper, if the paper has this cell.
    pub fn verdict(&self, metric: Metric) -> Option<Verdict> {
        let [pm, ps] = self.paper?;
        let d = self.mean - pm;
        // Compare at the paper's printed precision (one decimal).
        let d_printed = (self.mean * 10.0).round() / 10.0 - pm;
        Some(if d_printed.abs() <= ps.max(0.05) + 1e-9 {
            Verdict::Within
        } else if (d > 0.0) == metric.higher_is_better() {
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
                        paper: config.columns[c].paper.get(&key).copied(),
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

fn fmt_cell(mean: f64, std: f64) -> String {
    format!("{mean:.1} ± {std:.1}")
}

impl TableReport {
    /// Number of cells the paper reports that we miss (worse than its ± range).
    pub fn misses(&self) -> usize {
        self.cells
            .iter()
            .flatten()
            .filter(|c| c.verdict(self.config.metric) == Some(Verdict::Worse))
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
                paper: Some(paper),
            };
            assert_eq!(
                cell.verdict(Metric::Accuracy),
                Some(want),
                "{mean} vs {paper:?}"
            );
        }
        let unreported = Cell {
            mean: 1.0,
            std: 0.0,
            n: 1,
            paper: None,
        };
        assert_eq!(unreported.verdict(Metric::Accuracy), None);
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
