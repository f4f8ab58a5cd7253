//! The table, its comparison with the paper and the sync-vs-async gaps, as Markdown.

use super::{display_name, fmt_cell, TableReport};
use crate::text::markdown_cell;
use std::fmt::Write as _;

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
        let seeds = match c.seeds.len() {
            1 => "1 seed".to_string(),
            n => format!("{n} seeds"),
        };
        let over = match c.folds {
            Some(k) => {
                let held_out = match &c.test_folds {
                    Some(chosen) if chosen.len() == 1 => {
                        format!("held-out fold {} of {k}", chosen[0])
                    }
                    Some(chosen) => format!(
                        "held-out folds {} of {k}",
                        chosen
                            .iter()
                            .map(usize::to_string)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    None => format!("{k} folds"),
                };
                let evaluated = match c.test_graphs {
                    Some(1) => "the first graph of the held-out fold".to_string(),
                    Some(n) => format!("the first {n} graphs of the held-out fold"),
                    None => "the held-out fold".to_string(),
                };
                let trained = if k == 2 {
                    "the other".to_string()
                } else {
                    format!("the other {}", k - 1)
                };
                format!("{seeds} × {held_out} (train on {trained}, evaluate on {evaluated})")
            }
            None => seeds,
        };
        write!(
            s,
            "\nMean ± std (ddof {}) over {over}; an async value is first the mean over {orderings}.\n",
            c.std_ddof,
        )
        .unwrap();
        if c.degradation {
            s.push_str("A degradation row is the ICLR version's statistic: for every asynchronous evaluation (run and ordering), how much worse it is than the same trained model's synchronous value, in percent of that value (`100 (async − sync) / sync`, sign flipped where higher is better), mean ± std over all of them.\n");
        }
        s.push_str(&self.reference_markdown());
        s
    }

    /// The columns' published results of methods not run here (`reference`), one row per
    /// name (by name within a column, columns in order); empty when no column has any.
    fn reference_markdown(&self) -> String {
        let columns = &self.config.columns;
        let mut names: Vec<&String> = vec![];
        for name in columns.iter().flat_map(|col| col.reference.keys()) {
            if !names.contains(&name) {
                names.push(name);
            }
        }
        if names.is_empty() {
            return String::new();
        }
        let mut s = String::from("\n#### Published results (not run here: other code, splits and model selection; not compared)\n\n| method (source) |");
        for col in columns {
            write!(s, " {} |", markdown_cell(&col.label)).unwrap();
        }
        s.push_str("\n|---|");
        s.push_str(&"---|".repeat(columns.len()));
        s.push('\n');
        for name in names {
            write!(s, "| {} |", markdown_cell(name)).unwrap();
            for col in columns {
                match col.reference.get(name).map(Vec::as_slice) {
                    Some([m, sd]) => write!(s, " {m} ± {sd} |").unwrap(),
                    Some([m]) => write!(s, " {m} |").unwrap(),
                    _ => s.push_str(" — |"),
                }
            }
            s.push('\n');
        }
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
                let (paper, delta, verdict) = match (cell.paper, cell.verdict()) {
                    (Some(p), Some(v)) => (
                        p.text(Some(1)),
                        format!("{:+.1}", cell.mean - p.mean),
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
}
