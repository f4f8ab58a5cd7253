//! `[amp.NAME.tu]`: AMP's Table 4 (TU graph classification) settings and their checks.

use crate::amp::AmpRow;
use hogwild_settings::{at_least, InvalidSetting, Key};
use serde::{Deserialize, Serialize};

/// `[amp.NAME.tu]`: the datasets, folds and grid of AMP's Table 4 (note §4).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TuSettings {
    /// The datasets, one column each.
    pub datasets: Vec<TuDataset>,
    /// k of the stratified k-fold cross-validation (paper and code: 10).
    pub folds: usize,
    /// The learning rate is halved every this many epochs (code: 50, PyTorch's `StepLR`).
    pub halve_every: usize,
    /// Messages per run, one grid axis (paper and code: 15 and 25).
    pub budgets: Vec<usize>,
    /// Message widths, one grid axis: `"H/2"` (code) or a number (the paper also names 10).
    pub message_sizes: Vec<String>,
    /// Skip readout off and/or on, one grid axis (paper and code: both).
    pub skip_readout: Vec<bool>,
    /// Hold out the fold after the test fold (cyclically) of every split as an inner
    /// validation set, so that a second row can choose grid point and epoch without the
    /// test fold (ours). Every run then trains on k − 2 folds.
    pub inner_validation: bool,
}

/// One TU dataset of Table 4 and what AMP reads from it (code).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TuDataset {
    /// The column label (the paper's name: `PTC`, `IMDB-B`).
    pub label: String,
    /// The TU name: files `DATA_DIR/TU/NAME/NAME_*.txt` (`PTC_MR`, `IMDB-BINARY`).
    pub name: String,
    /// The files' SHA-256 (`hogwild data fetch NAME` prints it); other files are refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// State widths, one grid axis (paper: 16 and 32; 64 for IMDB); the baselines'
    /// `hidden` takes the same values.
    pub hidden: Vec<usize>,
    /// Keep graphs with at most this many nodes (code: 70 for IMDB, 449 for PROTEINS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_nodes: Option<usize>,
    /// Drop graphs of exactly these `[nodes, undirected edges]` (code, PROTEINS: `[7, 6]`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub drop_shapes: Vec<[usize; 2]>,
    /// Node features: one-hot degrees of this width instead of the node labels (code,
    /// IMDB: 69).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub degree_features: Option<usize>,
    /// Keep only the first this many graphs (after the filters): quick profiles and tests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_graphs: Option<usize>,
}

/// A message width of the grid: half the state width, or fixed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageSize {
    /// `H / 2` (code).
    Half,
    /// A fixed width.
    Fixed(usize),
}

impl MessageSize {
    /// Parses `"H/2"` or a positive number.
    pub fn parse(text: &str) -> Option<MessageSize> {
        if text == "H/2" {
            return Some(MessageSize::Half);
        }
        text.parse().ok().filter(|&m| m > 0).map(MessageSize::Fixed)
    }

    /// The width for state width `hidden`.
    pub fn width(self, hidden: usize) -> usize {
        match self {
            MessageSize::Half => (hidden / 2).max(1),
            MessageSize::Fixed(m) => m,
        }
    }
}

/// One point of a row's grid on one dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct GridPoint {
    /// The row: AMP-RNN or a registry baseline.
    pub row: AmpRow,
    /// State width `H` (a baseline's `hidden`).
    pub hidden: usize,
    /// AMP-RNN's other axes; `None` for a baseline.
    pub amp: Option<AmpAxes>,
}

/// AMP-RNN's grid axes besides the state width.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct AmpAxes {
    /// Messages per run.
    pub budget: usize,
    /// Message width `M`.
    pub message: usize,
    /// Skip readout.
    pub skip: bool,
}

impl GridPoint {
    /// The point's name in labels and files: `h32-b25-m16-skip` for AMP-RNN, `gcn-h32` for
    /// a baseline.
    pub fn name(&self) -> String {
        match self.amp {
            Some(a) => {
                let skip = if a.skip { "-skip" } else { "" };
                format!("h{}-b{}-m{}{skip}", self.hidden, a.budget, a.message)
            }
            None => format!("{}-h{}", self.row.key(), self.hidden),
        }
    }
}

impl TuSettings {
    /// The grid of `row` on dataset `d`, in the order of the settings: AMP-RNN's over
    /// (hidden, budget, message size, skip), without repeated points (`H/2` may equal a
    /// fixed width); a baseline's over the hidden widths only.
    pub fn grid(&self, d: usize, row: AmpRow) -> Vec<GridPoint> {
        let mut points: Vec<GridPoint> = Vec::new();
        for &hidden in &self.datasets[d].hidden {
            if row != AmpRow::AmpRnn {
                points.push(GridPoint {
                    row,
                    hidden,
                    amp: None,
                });
                continue;
            }
            for &budget in &self.budgets {
                for size in &self.message_sizes {
                    let message = MessageSize::parse(size).expect("checked").width(hidden);
                    for &skip in &self.skip_readout {
                        let p = GridPoint {
                            row,
                            hidden,
                            amp: Some(AmpAxes {
                                budget,
                                message,
                                skip,
                            }),
                        };
                        if !points.contains(&p) {
                            points.push(p);
                        }
                    }
                }
            }
        }
        points
    }

    /// Checks the settings; keys are relative to `[amp.NAME.tu]`.
    pub fn check(&self) -> Result<(), InvalidSetting> {
        at_least("folds", self.folds as u64, 2)?;
        if self.inner_validation {
            at_least("folds", self.folds as u64, 3).map_err(|e| InvalidSetting {
                why: "an inner validation fold needs a third fold to train on".into(),
                ..e
            })?;
        }
        at_least("halve_every", self.halve_every as u64, 1)?;
        nonempty_distinct("budgets", &self.budgets)?;
        for (i, &b) in self.budgets.iter().enumerate() {
            if b == 0 {
                return Err(InvalidSetting::new(
                    Key::new().name("budgets").index(i),
                    b,
                    "a run processes at least one message",
                ));
            }
        }
        nonempty_distinct("message_sizes", &self.message_sizes)?;
        for (i, m) in self.message_sizes.iter().enumerate() {
            if MessageSize::parse(m).is_none() {
                return Err(InvalidSetting::new(
                    Key::new().name("message_sizes").index(i),
                    format!("{m:?}"),
                    "a message width is \"H/2\" (half the state width) or a positive number as text, e.g. \"10\"",
                ));
            }
        }
        nonempty_distinct("skip_readout", &self.skip_readout)?;
        nonempty_distinct(
            "datasets",
            &self.datasets.iter().map(|d| &d.label).collect::<Vec<_>>(),
        )?;
        for (i, d) in self.datasets.iter().enumerate() {
            d.check()
                .map_err(|e| e.under(Key::new().name("datasets").index(i)))?;
        }
        Ok(())
    }
}

impl TuDataset {
    fn check(&self) -> Result<(), InvalidSetting> {
        crate::text::check_text(Key::from("label"), &self.label)?;
        hogwild_datasets::tu::check_name(&self.name)?;
        nonempty_distinct("hidden", &self.hidden)?;
        for (i, &h) in self.hidden.iter().enumerate() {
            if h == 0 {
                return Err(InvalidSetting::new(
                    Key::new().name("hidden").index(i),
                    h,
                    "a state is at least one number wide",
                ));
            }
        }
        if let Some(m) = self.max_nodes {
            at_least("max_nodes", m as u64, 1)?;
        }
        if let Some(w) = self.degree_features {
            at_least("degree_features", w as u64, 1)?;
        }
        if let Some(g) = self.first_graphs {
            at_least("first_graphs", g as u64, 1)?;
        }
        Ok(())
    }
}

/// `items` has at least one entry and no entry twice.
fn nonempty_distinct<T: PartialEq + std::fmt::Debug>(
    key: &str,
    items: &[T],
) -> Result<(), InvalidSetting> {
    if items.is_empty() {
        return Err(InvalidSetting::new(key, "[]", "name at least one"));
    }
    if let Some(i) = (1..items.len()).find(|&i| items[..i].contains(&items[i])) {
        return Err(InvalidSetting::new(
            Key::new().name(key).index(i),
            format!("{:?}", items[i]),
            "is listed twice",
        ));
    }
    Ok(())
}
