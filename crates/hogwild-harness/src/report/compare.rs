//! `hogwild compare`: the written tables beside the paper's values.

use super::fmt_cell;
use crate::text::markdown_cell;
use polars::prelude::*;
use std::fmt::Write as _;
use std::path::Path;

/// `hogwild compare`: the tables written under `out` (those named in `tables`, or every
/// directory with a `table.csv`), each cell beside the paper's with its verdict, read back
/// from `table.csv`, and a count of verdicts per table.
/// Returns the text and the number of cells that miss the paper.
pub fn compare(out: &Path, tables: &[String]) -> anyhow::Result<(String, usize)> {
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
    let mut misses = 0;
    let mut s = String::new();
    for name in names {
        let cells = read_cells(&out.join(&name).join("table.csv"))?;
        writeln!(s, "### {name}\n\n| row | column | ours | paper | Δ | verdict |\n|---|---|---|---|---|---|").unwrap();
        let mut counts = std::collections::BTreeMap::new();
        for cell in cells {
            let ours = fmt_cell(cell.mean, cell.std);
            let (paper, delta) = match cell.paper {
                Some(p) => (p.text(Some(1)), format!("{:+.1}", cell.mean - p.mean)),
                None => ("—".into(), "—".into()),
            };
            let v = cell.verdict.unwrap_or_else(|| "not in the paper".into());
            writeln!(
                s,
                "| {} | {} | {ours} | {paper} | {delta} | {v} |",
                cell.row,
                markdown_cell(&cell.column)
            )
            .unwrap();
            misses += usize::from(v.starts_with("MISS"));
            *counts.entry(v).or_insert(0usize) += 1;
        }
        let summary: Vec<String> = counts.iter().map(|(v, n)| format!("{n} {v}")).collect();
        writeln!(s, "\n{name}: {}\n", summary.join(", ")).unwrap();
    }
    Ok((s, misses))
}

/// One cell of a written `table.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct WrittenCell {
    /// Row key (`gcn-sync`).
    pub row: String,
    /// Column label.
    pub column: String,
    /// Mean.
    pub mean: f64,
    /// Standard deviation.
    pub std: f64,
    /// The paper's `[mean, std]`, when it has the cell.
    pub paper: Option<super::Published>,
    /// The verdict, when the paper has the cell.
    pub verdict: Option<String>,
}

/// The cells of the `table.csv` at `path`, in its order.
pub fn read_cells(path: &Path) -> anyhow::Result<Vec<WrittenCell>> {
    let df = CsvReadOptions::default()
        .with_has_header(true)
        .try_into_reader_with_file_path(Some(path.to_path_buf()))?
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
    let (row, column, verdict) = (text("row")?, text("column_label")?, text("verdict")?);
    let (mean, std, pm, ps) = (
        num("mean")?,
        num("std")?,
        num("paper_mean")?,
        num("paper_std")?,
    );
    Ok((0..df.height())
        .map(|i| WrittenCell {
            row: row[i].clone().unwrap_or_default(),
            column: column[i].clone().unwrap_or_default(),
            mean: mean[i].unwrap_or(f64::NAN),
            std: std[i].unwrap_or(f64::NAN),
            paper: pm[i].map(|mean| super::Published { mean, std: ps[i] }),
            verdict: verdict[i].clone(),
        })
        .collect())
}
