//! Aggregation of run results into the paper's tables, and the files written to `results/`.
//!
//! Means and standard deviations are computed here, in a fixed order (runs sorted by column,
//! model, seed, ordering), never by polars' group-by (whose order and float reductions are
//! not deterministic); polars builds and writes the tidy frames.

use crate::config::{Datasets, Metric, TableConfig};
use crate::latex::{self, markdown_cell};
use crate::sweep::{Evaluation, Mode, RunResult, RNG_ALGORITHM};
use polars::prelude::*;
use serde::Serialize;
use std::fmt::Write as _;
use std::path::Path;

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

/// The display name of a model.
pub fn display_name(model: &str) -> &str {
    match model {
        "gcn" => "GCN",
        "ignn" => "IGNN",
        "energy" => "Energy GNN",
        other => other,
    }
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

/// `gcn-sync` → `GcnSync`: letters only (macro names cannot hold digits or dashes; digits
/// become words).
fn macro_word(key: &str) -> String {
    const DIGITS: [&str; 10] = [
        "Zero", "One", "Two", "Three", "Four", "Five", "Six", "Seven", "Eight", "Nine",
    ];
    let mut s = String::new();
    let mut upper = true;
    for ch in key.chars() {
        if let Some(d) = ch.to_digit(10) {
            s.push_str(DIGITS[d as usize]);
            upper = true;
        } else if ch.is_ascii_alphabetic() {
            s.push(if upper { ch.to_ascii_uppercase() } else { ch });
            upper = false;
        } else {
            upper = true;
        }
    }
    s
}

/// 0 → `A`, 25 → `Z`, 26 → `AA`, …
fn column_letters(mut j: usize) -> String {
    let mut s = vec![];
    loop {
        s.push(b'A' + (j % 26) as u8);
        if j < 26 {
            break;
        }
        j = j / 26 - 1;
    }
    s.reverse();
    String::from_utf8(s).expect("ASCII")
}

fn fmt_cell(mean: f64, std: f64) -> String {
    format!("{mean:.1} ± {std:.1}")
}

impl TableReport {
    /// The table in the paper's layout, as Markdown.
    pub fn table_markdown(&self) -> String {
        let c = &self.config;
        let mut s = format!("### {}\n\n| model |", c.title);
        for col in &c.columns {
            write!(s, " {} |", markdown_cell(&col.label)).unwrap();
        }
        s.push_str("\n|---|");
        s.push_str(&"---|".repeat(c.columns.len()));
        s.push('\n');
        for ((_, display), row) in self.rows.iter().zip(&self.cells) {
            write!(s, "| {display} |").unwrap();
            for cell in row {
                write!(s, " {} |", fmt_cell(cell.mean, cell.std)).unwrap();
            }
            s.push('\n');
        }
        let mut orderings = format!("{} orderings", c.orderings);
        if !c.model_orderings.is_empty() {
            let by_model: Vec<String> = c
                .model_orderings
                .iter()
                .map(|(m, n)| format!("{}: {n}", display_name(m)))
                .collect();
            write!(orderings, " ({})", by_model.join(", ")).unwrap();
        }
        let over = match c.folds {
            Some(k) => format!(
                "{} seeds × {k} folds (train on {}, evaluate on the held-out fold)",
                c.seeds.len(),
                if k == 2 {
                    "the other".to_string()
                } else {
                    format!("the other {}", k - 1)
                }
            ),
            None => format!("{} seeds", c.seeds.len()),
        };
        write!(
            s,
            "\nMean ± std (ddof {}) over {over}; an async value is first the mean over {orderings}.\n",
            c.std_ddof,
        )
        .unwrap();
        s
    }

    /// Every cell beside the paper's, with a verdict, as Markdown.
    pub fn comparison_markdown(&self) -> String {
        let c = &self.config;
        let mut s = String::from(
            "| row | column | ours | paper | Δ | verdict |\n|---|---|---|---|---|---|\n",
        );
        for ((_, display), row) in self.rows.iter().zip(&self.cells) {
            for (col, cell) in c.columns.iter().zip(row) {
                let (paper, delta, verdict) = match (cell.paper, cell.verdict(c.metric)) {
                    (Some([pm, ps]), Some(v)) => (
                        fmt_cell(pm, ps),
                        format!("{:+.1}", cell.mean - pm),
                        v.as_str(),
                    ),
                    _ => ("—".into(), "—".into(), "not in the paper"),
                };
                writeln!(
                    s,
                    "| {display} | {} | {} | {paper} | {delta} | {verdict} |",
                    markdown_cell(&col.label),
                    fmt_cell(cell.mean, cell.std)
                )
                .unwrap();
            }
        }
        s
    }

    /// The table in the paper's layout as a LaTeX `tabular` (needs `booktabs`).
    pub fn table_latex(&self) -> String {
        let c = &self.config;
        let mut s = format!(
            "% {} (hogwild: results/{}/table.md has the comparison with the paper)\n\
             % Needs \\usepackage{{booktabs}}; per-cell macros are in macros.tex.\n\
             \\begin{{tabular}}{{l{}}}\n\\toprule\nModel",
            latex::escape(&c.title),
            self.name,
            "c".repeat(c.columns.len())
        );
        for col in &c.columns {
            write!(s, " & {}", latex::escape(&col.label)).unwrap();
        }
        s.push_str(" \\\\\n\\midrule\n");
        for ((_, display), row) in self.rows.iter().zip(&self.cells) {
            s.push_str(&latex::escape(display));
            for cell in row {
                write!(s, " & ${:.1} \\pm {:.1}$", cell.mean, cell.std).unwrap();
            }
            s.push_str(" \\\\\n");
        }
        s.push_str("\\bottomrule\n\\end{tabular}\n");
        s
    }

    /// One LaTeX macro per cell, for a paper to `\input`: `\hw<Table><Row><Column>` expands
    /// to `mean \pm std` (math mode), `...Mean` and `...Std` to each number; columns are
    /// lettered A, B, … in table order (`\hwChainsGcnAsyncB`: chains, GCN (async), l = 20).
    pub fn latex_macros(&self) -> String {
        let c = &self.config;
        let mut s = format!(
            "% {}: one macro per cell (hogwild, results/{}/)\n",
            latex::escape(&c.title),
            self.name
        );
        for ((key, display), row) in self.rows.iter().zip(&self.cells) {
            for (j, (col, cell)) in c.columns.iter().zip(row).enumerate() {
                let name = format!(
                    "hw{}{}{}",
                    macro_word(&self.name),
                    macro_word(key),
                    column_letters(j)
                );
                writeln!(
                    s,
                    "% {} / {}\n\\newcommand{{\\{name}}}{{{:.1} \\pm {:.1}}}\n\
                     \\newcommand{{\\{name}Mean}}{{{:.1}}}\n\\newcommand{{\\{name}Std}}{{{:.1}}}",
                    latex::escape(display),
                    latex::escape(&col.label),
                    cell.mean,
                    cell.std,
                    cell.mean,
                    cell.std
                )
                .unwrap();
            }
        }
        s
    }

    /// The synchronous-vs-asynchronous differences, as Markdown.
    pub fn gaps_markdown(&self) -> String {
        let mut s = String::from("| model | largest \\|async − sync\\| (points) | at | all async runs converged | most rounds |\n|---|---|---|---|---|\n");
        for g in &self.gaps {
            writeln!(
                s,
                "| {} | {:.4} | {} | {} | {} |",
                display_name(&g.model),
                g.max_abs,
                markdown_cell(&g.at),
                if g.all_converged { "yes" } else { "no" },
                g.max_rounds
            )
            .unwrap();
        }
        s
    }

    /// Number of cells the paper reports that we miss (worse than its ± range).
    pub fn misses(&self) -> usize {
        self.cells
            .iter()
            .flatten()
            .filter(|c| c.verdict(self.config.metric) == Some(Verdict::Worse))
            .count()
    }

    /// The tidy table: one row per cell.
    pub fn cells_frame(&self) -> PolarsResult<DataFrame> {
        let (mut row, mut column, mut mean, mut std, mut n, mut pm, mut ps, mut verdict) = (
            vec![],
            vec![],
            vec![],
            vec![],
            vec![],
            vec![],
            vec![],
            vec![],
        );
        for ((key, _), cells) in self.rows.iter().zip(&self.cells) {
            for (col, cell) in self.config.columns.iter().zip(cells) {
                row.push(key.clone());
                column.push(col.label.clone());
                mean.push(cell.mean);
                std.push(cell.std);
                n.push(cell.n as u32);
                pm.push(cell.paper.map(|p| p[0]));
                ps.push(cell.paper.map(|p| p[1]));
                verdict.push(
                    cell.verdict(self.config.metric)
                        .map(|v| v.as_str().to_string()),
                );
            }
        }
        df!("row" => row, "column" => column, "mean" => mean, "std" => std, "n" => n, "paper_mean" => pm, "paper_std" => ps, "verdict" => verdict)
    }
}

/// Raw per-evaluation values of `results`, one row each; a `fold` column (after `seed`) when
/// the table cross-validates.
pub fn runs_frame(config: &TableConfig, results: &[&RunResult]) -> PolarsResult<DataFrame> {
    let rows: Vec<(&RunResult, &Evaluation)> = results
        .iter()
        .flat_map(|r| r.evaluations.iter().map(move |e| (*r, e)))
        .collect();
    let col = |f: &dyn Fn(&RunResult, &Evaluation) -> String| {
        rows.iter().map(|(r, e)| f(r, e)).collect::<Vec<_>>()
    };
    let num = |f: &dyn Fn(&RunResult, &Evaluation) -> f64| {
        rows.iter().map(|(r, e)| f(r, e)).collect::<Vec<_>>()
    };
    let int = |f: &dyn Fn(&RunResult, &Evaluation) -> u64| {
        rows.iter().map(|(r, e)| f(r, e)).collect::<Vec<_>>()
    };
    let mut df = df!(
        "table" => col(&|r, _| r.spec.table.clone()),
        "column" => col(&|r, _| config.columns[r.spec.column].label.clone()),
        "model" => col(&|r, _| r.spec.model.clone()),
        "seed" => int(&|r, _| r.spec.seed),
        "mode" => col(&|_, e| e.mode.as_str().into()),
        "ordering" => rows.iter().map(|(_, e)| e.ordering.map(|o| o as u64)).collect::<Vec<_>>(),
        "value" => num(&|_, e| e.value),
        "async_converged" => rows.iter().map(|(_, e)| e.converged).collect::<Vec<_>>(),
        "async_rounds" => int(&|_, e| e.rounds as u64),
        "async_residual" => num(&|_, e| e.residual),
        "final_train_loss" => num(&|r, _| r.final_loss),
        "train_forward_iterations" => int(&|r, _| r.stats.forward_iterations),
        "train_backward_iterations" => int(&|r, _| r.stats.backward_iterations),
        "train_unconverged_solves" => int(&|r, _| r.stats.forward_unconverged + r.stats.backward_unconverged)
    )?;
    if config.folds.is_some() {
        let fold = rows
            .iter()
            .map(|(r, _)| r.spec.fold.map(|f| f as u64))
            .collect::<Vec<_>>();
        df.insert_column(4, Column::new("fold".into(), fold))?;
    }
    Ok(df)
}

/// The cross-validation folds of every column of table `name` (one row per graph, on the
/// datasets its runs used), if the table has folds.
pub fn folds_frame(
    name: &str,
    config: &TableConfig,
    datasets: &Datasets,
) -> anyhow::Result<Option<DataFrame>> {
    let Some(k) = config.folds else {
        return Ok(None);
    };
    let (mut column, mut dataset, mut graph, mut fold) = (vec![], vec![], vec![], vec![]);
    for (c, col) in config.columns.iter().enumerate() {
        let d = datasets.get(name, c);
        for (g, f) in crate::sweep::folds(&d.identity, d.samples.len(), k)
            .into_iter()
            .enumerate()
        {
            column.push(col.label.clone());
            dataset.push(d.identity.clone());
            graph.push(g as u64);
            fold.push(f as u64);
        }
    }
    Ok(Some(
        df!("column" => column, "dataset" => dataset, "graph" => graph, "fold" => fold)?,
    ))
}

/// How the results were made; the only output that differs between identical runs.
#[derive(Debug, Clone, Serialize)]
pub struct Record {
    /// Table name.
    pub table: String,
    /// Profile.
    pub profile: String,
    /// SHA-256 of the resolved config of this table (async, models, table).
    pub config_sha256: String,
    /// The commit the binary was built from (`git rev-parse HEAD` at build time), or
    /// `unknown`.
    pub code_version: String,
    /// Whether the code (crates, Cargo.toml, Cargo.lock) differed from that commit at build
    /// time; the config is identified by `config_sha256`.
    pub code_dirty: bool,
    /// The compiler.
    pub rustc: String,
    /// Worker threads.
    pub threads: usize,
    /// Wall time of the whole `hogwild` invocation, seconds.
    pub wall_seconds: f64,
    /// Sum of this table's run times, seconds (for runs taken from their records, the time
    /// they took when computed).
    pub run_seconds: f64,
    /// This table's runs taken from run records (`<table>/records/`) instead of computed.
    pub runs_from_records: usize,
    /// RNG algorithm and stream derivation.
    pub rng: String,
    /// The command line.
    pub command: String,
    /// Per-run wall time, seconds, by run label.
    pub run_seconds_by_label: std::collections::BTreeMap<String, f64>,
}

impl Record {
    /// A record with the environment filled in.
    pub fn new(
        table: &str,
        profile: &str,
        config_sha256: String,
        threads: usize,
        results: &[&RunResult],
    ) -> Record {
        Record {
            table: table.into(),
            profile: profile.into(),
            config_sha256,
            code_version: env!("HOGWILD_GIT_COMMIT").into(),
            code_dirty: env!("HOGWILD_GIT_DIRTY") == "true",
            rustc: env!("HOGWILD_RUSTC_VERSION").into(),
            threads,
            wall_seconds: 0.0,
            run_seconds: results.iter().map(|r| r.seconds).sum(),
            runs_from_records: 0,
            rng: RNG_ALGORITHM.into(),
            command: std::env::args().collect::<Vec<_>>().join(" "),
            run_seconds_by_label: results
                .iter()
                .map(|r| (r.spec.label(), (r.seconds * 1000.0).round() / 1000.0))
                .collect(),
        }
    }
}

fn csv_bytes(df: &mut DataFrame) -> anyhow::Result<Vec<u8>> {
    let mut bytes = vec![];
    CsvWriter::new(&mut bytes).finish(df)?;
    Ok(bytes)
}

/// The files every table writes whose bytes depend only on the config and the code (same
/// across runs, thread counts and machines); `record.toml` and, under cross-validation,
/// `folds.csv` (deterministic too) come besides.
pub const DETERMINISTIC_FILES: [&str; 6] = [
    "runs.csv",
    "runs.parquet",
    "table.csv",
    "table.md",
    "table.tex",
    "macros.tex",
];

/// Writes [`DETERMINISTIC_FILES`] and `record.toml` to `dir` and, under cross-validation,
/// `folds.csv` (the fold of every graph). Each file is made in memory and written
/// atomically ([`crate::outdir::write_atomic`]).
pub fn write_table(
    dir: &Path,
    report: &TableReport,
    results: &[&RunResult],
    record: &Record,
    datasets: &Datasets,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)
        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
    let mut files: Vec<(&str, Vec<u8>)> = vec![];
    let mut runs = runs_frame(&report.config, results)?;
    files.push(("runs.csv", csv_bytes(&mut runs)?));
    let mut parquet = vec![];
    ParquetWriter::new(&mut parquet).finish(&mut runs)?;
    files.push(("runs.parquet", parquet));
    files.push(("table.csv", csv_bytes(&mut report.cells_frame()?)?));
    let md = format!(
        "{}\n#### Against the paper\n\n{}\n#### Synchronous vs asynchronous evaluation\n\n{}\nRaw per-run values: `runs.csv`; tidy cells: `table.csv`; how this was made: `record.toml`. Every setting, where it comes from, and why cells miss the paper: `docs/PROTOCOL.md` in the hogwild repository.\n",
        report.table_markdown(),
        report.comparison_markdown(),
        report.gaps_markdown()
    );
    files.push(("table.md", md.into_bytes()));
    files.push(("table.tex", report.table_latex().into_bytes()));
    files.push(("macros.tex", report.latex_macros().into_bytes()));
    files.push(("record.toml", toml::to_string(record)?.into_bytes()));
    if let Some(mut folds) = folds_frame(&report.name, &report.config, datasets)? {
        files.push(("folds.csv", csv_bytes(&mut folds)?));
    }
    for (name, bytes) in files {
        crate::outdir::write_atomic(&dir.join(name), &bytes)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latex_names_and_escapes() {
        assert_eq!(macro_word("gcn-sync"), "GcnSync");
        assert_eq!(macro_word("chains"), "Chains");
        assert_eq!(macro_word("b2-x"), "BTwoX");
        assert_eq!(
            [0, 1, 25, 26, 27, 701, 702].map(column_letters),
            ["A", "B", "Z", "AA", "AB", "ZZ", "AAA"]
        );
    }

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
            tex.contains("Model & $\\ell$ = 10 \\textbar{} $\\beta$ = 1\\% \\\\"),
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

/// `hogwild compare`: the tables written under `out` (those named in `tables`, or every
/// directory with a `table.csv`), each cell beside the paper's with its verdict, read back
/// from `table.csv`, and a count of verdicts per table.
pub fn compare(out: &Path, tables: &[String]) -> anyhow::Result<String> {
    let names: Vec<String> = if tables.is_empty() {
        let mut v: Vec<String> = std::fs::read_dir(out)
            .map_err(|e| anyhow::anyhow!("{}: {e}", out.display()))?
            .filter_map(|e| e.ok())
            .filter(|e| e.path().join("table.csv").is_file())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    } else {
        tables.to_vec()
    };
    anyhow::ensure!(
        !names.is_empty(),
        "{}: no table.csv under it (run `hogwild reproduce` first)",
        out.display()
    );
    let mut s = String::new();
    for name in names {
        let path = out.join(&name).join("table.csv");
        let df = CsvReadOptions::default()
            .with_has_header(true)
            .try_into_reader_with_file_path(Some(path.clone()))?
            .finish()
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        let text = |c: &str| -> anyhow::Result<Vec<Option<String>>> {
            let col = df.column(c)?.cast(&DataType::String)?;
            let v = col.str()?;
            Ok((0..v.len()).map(|i| v.get(i).map(str::to_string)).collect())
        };
        let num = |c: &str| -> anyhow::Result<Vec<Option<f64>>> {
            let col = df.column(c)?.cast(&DataType::Float64)?;
            let v = col.f64()?;
            Ok((0..v.len()).map(|i| v.get(i)).collect())
        };
        let (row, column, verdict) = (text("row")?, text("column")?, text("verdict")?);
        let (mean, std, pm, ps) = (
            num("mean")?,
            num("std")?,
            num("paper_mean")?,
            num("paper_std")?,
        );
        writeln!(s, "### {name}\n\n| row | column | ours | paper | Δ | verdict |\n|---|---|---|---|---|---|").unwrap();
        let mut counts = std::collections::BTreeMap::new();
        for i in 0..df.height() {
            let ours = fmt_cell(mean[i].unwrap_or(f64::NAN), std[i].unwrap_or(f64::NAN));
            let (paper, delta) = match (pm[i], ps[i]) {
                (Some(m), Some(sd)) => (
                    fmt_cell(m, sd),
                    format!("{:+.1}", mean[i].unwrap_or(f64::NAN) - m),
                ),
                _ => ("—".into(), "—".into()),
            };
            let v = verdict[i]
                .clone()
                .unwrap_or_else(|| "not in the paper".into());
            writeln!(
                s,
                "| {} | {} | {ours} | {paper} | {delta} | {v} |",
                row[i].as_deref().unwrap_or(""),
                markdown_cell(column[i].as_deref().unwrap_or(""))
            )
            .unwrap();
            *counts.entry(v).or_insert(0usize) += 1;
        }
        let summary: Vec<String> = counts.iter().map(|(v, n)| format!("{n} {v}")).collect();
        writeln!(s, "\n{name}: {}\n", summary.join(", ")).unwrap();
    }
    Ok(s)
}
