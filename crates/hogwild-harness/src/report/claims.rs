//! `claims.md`: every `[[claims]]` of the config checked on the tables written under an
//! output directory, read back from their `table.csv` (so a claim is checked on exactly the
//! committed cells, whichever command wrote them).
//!
//! A comparison holds when the row's mean is better than the other row's (by the column's
//! metric; a degradation row is better when lower), or within the claim's bound. Means are
//! compared as written in `table.csv`, not rounded. A table that has not been written is
//! reported as such, not counted.

use super::compare::{read_cells, WrittenCell};
use crate::config::claims::{Claim, ClaimCheck};
use crate::config::{Config, DEGRADATION_ROW};
use crate::text::markdown_cell;
use std::fmt::Write as _;
use std::path::Path;

/// One comparison of a claim, in one column of one table.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// Table name.
    pub table: String,
    /// Column label.
    pub column: String,
    /// The row the claim is about.
    pub row: String,
    /// Its mean.
    pub mean: f64,
    /// Its standard deviation.
    pub std: f64,
    /// What it is compared with: another row (`ignn-sync`), or `at most` / `at least` a
    /// bound.
    pub against: String,
    /// The other row's mean, or the bound.
    pub other: f64,
    /// Whether the claim holds here.
    pub holds: bool,
    /// A row compared with another has the same mean (it does not beat it).
    pub tied: bool,
}

/// `claims.md` for the tables under `out`.
pub fn claims_markdown(config: &Config, out: &Path) -> anyhow::Result<String> {
    let mut s = String::from(
        "# The papers' claims, checked on the written tables\n\nEach claim is checked in every column of the tables it names, on the cells of their `table.csv` (means and standard deviations as written, not rounded); \"better\" compares means and follows the column's metric (a degradation row is better when lower); \"within ± x\" asks |mean| + std ≤ x. Made by `hogwild reproduce` (or `hogwild claims`) from `harness.toml`'s `[[claims]]`.\n",
    );
    for claim in &config.claims {
        let mut comparisons = vec![];
        let mut missing = vec![];
        for name in &claim.tables {
            let path = out.join(name).join("table.csv");
            if !path.is_file() {
                missing.push(name.clone());
                continue;
            }
            comparisons.extend(compare(config, name, claim, &read_cells(&path)?));
        }
        let holding = comparisons.iter().filter(|c| c.holds).count();
        let tied = comparisons.iter().filter(|c| c.tied).count();
        write!(
            s,
            "\n## {}\n\n{}. Holds in {holding} of {} comparisons",
            claim.text,
            claim.source,
            comparisons.len()
        )
        .unwrap();
        if tied > 0 {
            write!(s, "; {tied} tied").unwrap();
        }
        if !missing.is_empty() {
            write!(s, "; not written here: {}", missing.join(", ")).unwrap();
        }
        s.push_str(".\n\n| table | column | row | ours | compared with | value | holds |\n|---|---|---|---|---|---|---|\n");
        for c in &comparisons {
            writeln!(
                s,
                "| {} | {} | {} | {} ± {} | {} | {} | {} |",
                c.table,
                markdown_cell(&c.column),
                c.row,
                two_decimals(c.mean),
                two_decimals(c.std),
                c.against,
                two_decimals(c.other),
                match (c.holds, c.tied) {
                    (true, _) => "yes",
                    (false, true) => "tie",
                    (false, false) => "**no**",
                }
            )
            .unwrap();
        }
    }
    Ok(s)
}

/// `v` to two decimals, `0.00` for anything that rounds to zero (never `-0.00`).
fn two_decimals(v: f64) -> String {
    if (v * 100.0).round() == 0.0 {
        "0.00".into()
    } else {
        format!("{v:.2}")
    }
}

/// The comparisons of `claim` on table `name`'s written `cells`, column by column in the
/// table's order, rows in the claim's order.
pub fn compare(
    config: &Config,
    name: &str,
    claim: &Claim,
    cells: &[WrittenCell],
) -> Vec<Comparison> {
    let table = &config.tables[name];
    let cell = |row: &str, column: &str| {
        cells
            .iter()
            .find(|c| c.row == row && c.column == column)
            .map(|c| (c.mean, c.std))
    };
    let mut out = vec![];
    for (j, col) in table.columns.iter().enumerate() {
        let higher_is_better = |row: &str| {
            !row.ends_with(&format!("-{DEGRADATION_ROW}")) && table.metric_of(j).higher_is_better()
        };
        for row in &claim.rows {
            let Some((ours, std)) = cell(row, &col.label) else {
                continue;
            };
            let mut push = |against: String, other: f64, holds: bool, tied: bool| {
                out.push(Comparison {
                    table: name.to_string(),
                    column: col.label.clone(),
                    row: row.clone(),
                    mean: ours,
                    std,
                    against,
                    other,
                    holds,
                    tied,
                })
            };
            match claim.check() {
                ClaimCheck::Beats(than) => {
                    for other_row in than {
                        let Some((theirs, _)) = cell(other_row, &col.label) else {
                            continue;
                        };
                        let better = if higher_is_better(row) {
                            ours > theirs
                        } else {
                            ours < theirs
                        };
                        push(other_row.clone(), theirs, better, ours == theirs);
                    }
                }
                ClaimCheck::AtMost(bound) => push("at most".into(), bound, ours <= bound, false),
                ClaimCheck::AtLeast(bound) => push("at least".into(), bound, ours >= bound, false),
                ClaimCheck::Within(bound) => {
                    push("within ±".into(), bound, ours.abs() + std <= bound, false)
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DEFAULT_PROFILE;

    const CONFIG: &str = r#"
[async]
schedule = "random-sweeps"
staleness_bound = 2
tol = 1e-6
max_rounds = 100
residual_every = 1

[models.gcn]
hidden = 2
layers = 2
[models.gcn.train]
epochs = 1
lr = 0.01

[tables.t]
title = "t"
metric = "accuracy"
seeds = [0]
orderings = 1
models = ["gcn"]
std_ddof = 0
degradation = true
columns = [
  { label = "acc", dataset = { kind = "chains", length = 4, classes = 2 } },
  { label = "err", metric = "error", dataset = { kind = "chains", length = 4, classes = 2 } },
]
"#;

    fn cell(row: &str, column: &str, mean: f64) -> WrittenCell {
        WrittenCell {
            row: row.into(),
            column: column.into(),
            mean,
            std: 0.0,
            paper: None,
            verdict: None,
        }
    }

    fn claim(extra: &str) -> Config {
        let text = format!(
            "{CONFIG}\n[[claims]]\ntext = \"c\"\nsource = \"s\"\ntables = [\"t\"]\n{extra}"
        );
        Config::parse(&text, Path::new("h.toml"), DEFAULT_PROFILE).unwrap()
    }

    fn holds(config: &Config, cells: &[WrittenCell]) -> Vec<(String, bool, bool)> {
        compare(config, "t", &config.claims[0], cells)
            .into_iter()
            .map(|c| (c.column, c.holds, c.tied))
            .collect()
    }

    #[test]
    fn better_follows_each_columns_metric_and_ties_do_not_beat() {
        let config = claim("rows = [\"gcn-sync\"]\nthan = [\"gcn-async\"]");
        let cells = [
            cell("gcn-sync", "acc", 80.0),
            cell("gcn-async", "acc", 70.0),
            cell("gcn-sync", "err", 20.0),
            cell("gcn-async", "err", 30.0),
        ];
        // Higher accuracy and lower error both beat.
        assert_eq!(
            holds(&config, &cells),
            [("acc".into(), true, false), ("err".into(), true, false)]
        );
        let swapped = [
            cell("gcn-sync", "acc", 70.0),
            cell("gcn-async", "acc", 70.0),
            cell("gcn-sync", "err", 30.0),
            cell("gcn-async", "err", 20.0),
        ];
        assert_eq!(
            holds(&config, &swapped),
            [("acc".into(), false, true), ("err".into(), false, false)]
        );
    }

    #[test]
    fn bounds_and_degradation_rows() {
        let config = claim("rows = [\"gcn-degradation\"]\nat_most = 0.1");
        let cells = [
            cell("gcn-degradation", "acc", 0.1),
            cell("gcn-degradation", "err", 0.2),
        ];
        assert_eq!(
            holds(&config, &cells),
            [("acc".into(), true, false), ("err".into(), false, false)]
        );
        // A degradation row beats another when it is lower, whatever the metric.
        let config = claim("rows = [\"gcn-degradation\"]\nthan = [\"gcn-sync\"]");
        let cells = [
            cell("gcn-degradation", "acc", 1.0),
            cell("gcn-sync", "acc", 2.0),
        ];
        assert_eq!(holds(&config, &cells), [("acc".into(), true, false)]);
        let md = claims_markdown(&config, Path::new("/nonexistent")).unwrap();
        assert!(
            md.contains("Holds in 0 of 0 comparisons; not written here: t."),
            "{md}"
        );
    }

    #[test]
    fn within_asks_the_whole_spread_to_stay_inside_the_bound() {
        let config = claim("rows = [\"gcn-degradation\"]\nwithin = 0.1");
        let mut spread = cell("gcn-degradation", "acc", -0.05);
        spread.std = 5.0;
        let cells = [spread, cell("gcn-degradation", "err", -0.05)];
        // A mean of −0.05 passes `at_most`, but runs that moved ± 5 % are not "no change".
        assert_eq!(
            holds(&config, &cells),
            [("acc".into(), false, false), ("err".into(), true, false)]
        );
    }

    #[test]
    fn bad_claims_are_refused_naming_the_key() {
        let error = |extra: &str| {
            let text = format!(
                "{CONFIG}\n[[claims]]\ntext = \"c\"\nsource = \"s\"\ntables = [\"t\"]\n{extra}"
            );
            Config::parse(&text, Path::new("h.toml"), DEFAULT_PROFILE)
                .unwrap_err()
                .to_string()
        };
        let e = error("rows = [\"gcn-sync\"]");
        assert!(
            e.contains("claims[0].rows") && e.contains("exactly one way"),
            "{e}"
        );
        let e = error("rows = [\"gcn-sync\"]\nthan = [\"gcn-async\"]\nat_most = 1.0");
        assert!(e.contains("exactly one way"), "{e}");
        let e = error("rows = []\nat_most = 1.0");
        assert!(
            e.contains("claims[0].rows") && e.contains("names nothing"),
            "{e}"
        );
        let e = error("rows = [\"gcn-sync\"]\nwithin = nan");
        assert!(
            e.contains("claims[0].within") && e.contains("finite"),
            "{e}"
        );
        let e = error("rows = [\"gat-sync\"]\nat_most = 1.0");
        assert!(
            e.contains("claims[0].rows[0]") && e.contains("gat-sync"),
            "{e}"
        );
        let e = error("rows = [\"gcn-sync\"]\nthan = [\"gcn-sink\"]");
        assert!(
            e.contains("claims[0].than[0]") && e.contains("gcn-sink"),
            "{e}"
        );
        let text = CONFIG.to_string()
            + "\n[[claims]]\ntext = \"c\"\nsource = \"s\"\ntables = [\"u\"]\nrows = [\"gcn-sync\"]\nat_most = 1.0";
        let e = Config::parse(&text, Path::new("h.toml"), DEFAULT_PROFILE)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("claims[0].tables[0]") && e.contains("\"u\""),
            "{e}"
        );
    }
}
