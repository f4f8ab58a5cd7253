//! `[[claims]]`: the papers' qualitative claims, each checked on every column of the
//! tables it names ([`crate::report::claims`] writes `results/claims.md`).
//!
//! ```toml
//! [[claims]]
//! text = "edge-wise messages and attention beat node-wise messages"
//! source = "ICLR version, Table 1"
//! tables = ["iclr-counting"]
//! rows = ["energy-sync", "energy-attention-sync"]
//! than = ["energy-node-sync"]        # or: at_most = 0.1, at_least = 10.0, within = 0.1
//! ```

use super::{Config, ConfigError};
use hogwild_settings::{InvalidSetting, Key};
use serde::{Deserialize, Serialize};

/// One claim: `rows` compared, in every column of every table of `tables`, with the rows
/// `than` (better means, by the column's metric) or with a bound on their means.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Claim {
    /// What the paper says, in a sentence.
    pub text: String,
    /// Where it says it.
    pub source: String,
    /// The tables it is checked on.
    pub tables: Vec<String>,
    /// Row keys (`energy-sync`, `gcn-degradation`, …) the claim is about.
    pub rows: Vec<String>,
    /// Rows each of `rows` must beat, in every column (a better mean).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub than: Vec<String>,
    /// A bound every mean of `rows` stays at or below.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_most: Option<f64>,
    /// A bound every mean of `rows` reaches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_least: Option<f64>,
    /// A bound on both sides: every cell of `rows`, mean ± std, lies within ± this
    /// (`|mean| + std ≤ within`): "no change", whichever way its runs moved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub within: Option<f64>,
}

/// What a claim checks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ClaimCheck<'a> {
    /// Each row beats each of these rows.
    Beats(&'a [String]),
    /// Each row's mean is at most this.
    AtMost(f64),
    /// Each row's mean is at least this.
    AtLeast(f64),
    /// Each row's `|mean| + std` is at most this.
    Within(f64),
}

impl Claim {
    /// The comparison (checked at load: exactly one is given).
    pub fn check(&self) -> ClaimCheck<'_> {
        match (
            self.than.is_empty(),
            self.at_most,
            self.at_least,
            self.within,
        ) {
            (false, ..) => ClaimCheck::Beats(&self.than),
            (true, Some(v), ..) => ClaimCheck::AtMost(v),
            (true, None, Some(v), _) => ClaimCheck::AtLeast(v),
            (true, None, None, Some(v)) => ClaimCheck::Within(v),
            (true, None, None, None) => unreachable!("checked at load"),
        }
    }
}

impl Config {
    /// Checks every claim: known tables, row keys of those tables, one comparison.
    pub(super) fn check_claims(&self) -> Result<(), ConfigError> {
        for (i, claim) in self.claims.iter().enumerate() {
            let at = Key::from("claims").index(i);
            let fail = |e: InvalidSetting| self.invalid(e.under(&at), &[]);
            let given = usize::from(!claim.than.is_empty())
                + usize::from(claim.at_most.is_some())
                + usize::from(claim.at_least.is_some())
                + usize::from(claim.within.is_some());
            if given != 1 {
                return Err(fail(InvalidSetting::new(
                    "rows",
                    format!("{:?}", claim.rows),
                    "a claim compares its rows in exactly one way: `than = [ROWS]`, `at_most = X`, `at_least = X` or `within = X`",
                )));
            }
            for bound in [
                ("at_most", claim.at_most),
                ("at_least", claim.at_least),
                ("within", claim.within),
            ] {
                if let (key, Some(v)) = bound {
                    if !v.is_finite() {
                        return Err(fail(InvalidSetting::new(key, v, "must be a finite number")));
                    }
                }
            }
            if claim.tables.is_empty() || claim.rows.is_empty() {
                let key = if claim.tables.is_empty() {
                    "tables"
                } else {
                    "rows"
                };
                return Err(fail(InvalidSetting::new(
                    key,
                    "[]",
                    "names nothing to check",
                )));
            }
            for (k, name) in claim.tables.iter().enumerate() {
                let Some(table) = self.tables.get(name) else {
                    return Err(fail(InvalidSetting::new(
                        Key::from("tables").index(k),
                        format!("{name:?}"),
                        format!(
                            "no such table; tables: {}",
                            self.tables.keys().cloned().collect::<Vec<_>>().join(", ")
                        ),
                    )));
                };
                let suffixes = table.row_suffixes();
                for (key, rows) in [("rows", &claim.rows), ("than", &claim.than)] {
                    for (r, row) in rows.iter().enumerate() {
                        let known = table
                            .models
                            .iter()
                            .any(|m| suffixes.iter().any(|s| row == &format!("{m}-{s}")));
                        if !known {
                            return Err(fail(InvalidSetting::new(
                                Key::from(key).index(r),
                                format!("{row:?}"),
                                format!(
                                    "not a row of table {name} (MODEL-{} with MODEL one of {})",
                                    suffixes.join(" or MODEL-"),
                                    table.models.join(", ")
                                ),
                            )));
                        }
                    }
                }
            }
        }
        Ok(())
    }
}
