//! The communication ledger (the paper's Table I), counted: one mini-batch of experiment
//! 1's network through the message simulator under every [`Scheme`], for several
//! mini-batch sizes `B` and consensus steps `K`, beside the paper's formula for each
//! scheme.
//!
//! ```
//! use hogwild_distributed::ledger::{count_ledgers, LedgerConfig};
//! let mut cfg = LedgerConfig::paper();
//! cfg.nodes = 12;
//! cfg.batch_sizes = vec![3];
//! cfg.consensus_rounds = vec![1, 2];
//! let rows = count_ledgers(&cfg).unwrap();
//! assert_eq!(rows.len(), 2 * 4);
//! assert!(rows.iter().all(|r| r.counted.rounds == r.formula));
//! ```

use crate::network::Ledger;
use crate::regression::{measure_ledger, RegressionConfig, RegressionData};
use crate::schedule::Scheme;
use hogwild_settings::{InvalidSetting, Key};
use serde::{Deserialize, Serialize};

/// The ledger's settings (`[distributed.NAME.ledger]`): experiment 1's network and the
/// mini-batch sizes and consensus steps to count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LedgerConfig {
    /// Nodes `N` of the Barabási–Albert graph.
    pub nodes: usize,
    /// Edges each new node attaches with (`m`).
    pub attachment: usize,
    /// The graph's seed.
    pub graph_seed: u64,
    /// Hidden width of the two-layer filter (the message widths).
    pub hidden: usize,
    /// Mini-batch sizes `B` to count.
    pub batch_sizes: Vec<usize>,
    /// Consensus steps `K` per mini-batch to count.
    pub consensus_rounds: Vec<usize>,
}

impl LedgerConfig {
    /// Experiment 1's network (N = 100, m = 2, hidden 10) at the paper's B = 100 and
    /// K = 1, and around them.
    pub fn paper() -> LedgerConfig {
        let regression = RegressionConfig::paper();
        LedgerConfig {
            nodes: regression.nodes,
            attachment: regression.attachment,
            graph_seed: regression.graph_seed,
            hidden: regression.hidden,
            batch_sizes: vec![1, 10, 100],
            consensus_rounds: vec![1, 2],
        }
    }

    /// Checks the settings; keys are relative to the experiment's table.
    pub fn check(&self) -> Result<(), InvalidSetting> {
        self.regression(1).check()?;
        for (key, values) in [
            ("batch_sizes", &self.batch_sizes),
            ("consensus_rounds", &self.consensus_rounds),
        ] {
            if values.is_empty() {
                return Err(InvalidSetting::new(key, "[]", "name at least one value"));
            }
            for (i, &v) in values.iter().enumerate() {
                let here = Key::new().name(key).index(i);
                if v == 0 {
                    return Err(InvalidSetting::new(here, v, "must be at least 1"));
                }
                if values[..i].contains(&v) {
                    return Err(InvalidSetting::new(here, v, "values must be distinct"));
                }
            }
        }
        Ok(())
    }

    /// Experiment 1's settings with this network and one mini-batch of `batch` samples.
    fn regression(&self, batch: usize) -> RegressionConfig {
        RegressionConfig {
            nodes: self.nodes,
            attachment: self.attachment,
            graph_seed: self.graph_seed,
            hidden: self.hidden,
            train_samples: batch,
            test_samples: 1,
            batch_size: batch,
            epochs: 1,
            ..RegressionConfig::paper()
        }
    }
}

/// One scheme's counted mini-batch at one `(B, K)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LedgerRow {
    /// Samples in the mini-batch `B`.
    pub batch_size: usize,
    /// Consensus steps `K`.
    pub consensus_rounds: usize,
    /// Layers `L` of the filter.
    pub layers: usize,
    /// The scheme.
    pub scheme: Scheme,
    /// What the mini-batch sent.
    pub counted: Ledger,
    /// The paper's rounds for this scheme ([`formula_rounds`]).
    pub formula: u64,
}

/// The paper's rounds per mini-batch (Table I, as the authors' plotting notebook gives
/// them): centralized inference `LB`, naive `B(2L − 1 + K)`, naive with piggybacking
/// `LB + L − 1 + K`, pipelined `LB + L − 1`. The pipelined consensus rides on the
/// mini-batch's first `K` rounds, so the count is `K` where `K > LB + L − 1` (never in the
/// paper's setting).
pub fn formula_rounds(scheme: Scheme, batch: usize, layers: usize, consensus: usize) -> u64 {
    let (b, l, k) = (batch as u64, layers as u64, consensus as u64);
    match scheme {
        Scheme::CentralizedInference => l * b,
        Scheme::Naive => b * (2 * l - 1 + k),
        Scheme::NaivePiggybacked => l * b + l - 1 + k,
        Scheme::Pipelined => l * b + l - 1,
    }
}

/// Counts one mini-batch under every scheme at every `(B, K)` of `cfg`, in the order
/// (B, K, scheme).
pub fn count_ledgers(cfg: &LedgerConfig) -> Result<Vec<LedgerRow>, InvalidSetting> {
    cfg.check()?;
    let mut rows = Vec::new();
    for &batch in &cfg.batch_sizes {
        let regression = cfg.regression(batch);
        let data = RegressionData::generate(&regression);
        let layers = data.arch.layers();
        for &k in &cfg.consensus_rounds {
            for counted in measure_ledger(&regression, &data, k) {
                rows.push(LedgerRow {
                    batch_size: batch,
                    consensus_rounds: k,
                    layers,
                    scheme: counted.scheme,
                    formula: formula_rounds(counted.scheme, batch, layers, k),
                    counted: counted.per_minibatch,
                });
            }
        }
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_follow_the_formulas_off_the_paper_setting() {
        let cfg = LedgerConfig {
            nodes: 20,
            batch_sizes: vec![1, 2, 7],
            consensus_rounds: vec![1, 3, 20],
            ..LedgerConfig::paper()
        };
        for r in count_ledgers(&cfg).unwrap() {
            let longer = r.scheme == Scheme::Pipelined && r.consensus_rounds as u64 > r.formula;
            let expected = if longer {
                r.consensus_rounds as u64
            } else {
                r.formula
            };
            assert_eq!(r.counted.rounds, expected, "{r:?}");
        }
    }

    #[test]
    fn bad_lists_name_their_key() {
        let mut cfg = LedgerConfig::paper();
        cfg.consensus_rounds = vec![1, 0];
        assert_eq!(
            cfg.check().unwrap_err().key.to_string(),
            "consensus_rounds[1]"
        );
        cfg.consensus_rounds = vec![2, 2];
        assert_eq!(
            cfg.check().unwrap_err().key.to_string(),
            "consensus_rounds[1]"
        );
        cfg.consensus_rounds = vec![];
        assert_eq!(cfg.check().unwrap_err().key.to_string(), "consensus_rounds");
    }
}
