//! Which messages travel in which round of a mini-batch, for each communication scheme of
//! the paper's Table I. A schedule only orders the exchanges: the arithmetic is the same
//! under every scheme, so every scheme yields the same gradients and the same consensus.

use serde::{Deserialize, Serialize};

/// How a mini-batch's exchanges are laid out in rounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scheme {
    /// Inference only (the centralized baseline's count): `L` forward rounds per sample;
    /// backward passes and updates happen at a server and send nothing over the network.
    CentralizedInference,
    /// Per sample: `L` forward rounds, `L − 1` backward rounds and `K` consensus rounds,
    /// nothing shared between rounds: `B (2L − 1 + K)` rounds per mini-batch.
    Naive,
    /// Naive with piggybacking (sample `b`'s backward messages ride on sample `b + 1`'s
    /// forward messages) and `K` separate consensus rounds at the end: `LB + L − 1 + K`.
    NaivePiggybacked,
    /// The paper's scheme: piggybacking, and consensus on the copies of the mini-batch's
    /// start riding on its first `K` rounds: `LB + L − 1` rounds while `K ≤ LB + L − 1`.
    Pipelined,
}

impl Scheme {
    /// All schemes, in the order of the ledger table.
    pub const ALL: [Scheme; 4] = [
        Scheme::CentralizedInference,
        Scheme::Naive,
        Scheme::NaivePiggybacked,
        Scheme::Pipelined,
    ];

    /// The name used in settings and tables.
    pub fn name(self) -> &'static str {
        match self {
            Scheme::CentralizedInference => "centralized-inference",
            Scheme::Naive => "naive",
            Scheme::NaivePiggybacked => "naive-piggybacked",
            Scheme::Pipelined => "pipelined",
        }
    }
}

/// One exchange inside a round. Samples are 0-based; layers run `1..=L`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Task {
    /// Sample `sample` sends `h^(layer−1)`; receivers aggregate it and compute layer `layer`.
    Forward { sample: usize, layer: usize },
    /// Sample `sample` sends `e^(layer) = δ^(layer) W1ᵀ`; receivers form `δ^(layer−1)`.
    Backward { sample: usize, layer: usize },
    /// Consensus step `step` (1-based) mixes the copies (and any mixed optimiser state).
    Consensus { step: usize },
}

/// The rounds of one mini-batch of `batch` samples through `layers` layers with
/// `consensus` consensus steps; each round lists the tasks its messages carry.
///
/// ```
/// use hogwild_distributed::schedule::{rounds, Scheme};
/// assert_eq!(rounds(Scheme::Pipelined, 100, 2, 1).len(), 201);
/// assert_eq!(rounds(Scheme::Naive, 100, 2, 1).len(), 400);
/// ```
pub fn rounds(scheme: Scheme, batch: usize, layers: usize, consensus: usize) -> Vec<Vec<Task>> {
    let forward = |sample| (1..=layers).map(move |layer| Task::Forward { sample, layer });
    let backward = |sample| {
        (2..=layers)
            .rev()
            .map(move |layer| Task::Backward { sample, layer })
    };
    let consensus_steps = (1..=consensus).map(|step| vec![Task::Consensus { step }]);
    match scheme {
        Scheme::CentralizedInference => (0..batch).flat_map(forward).map(|t| vec![t]).collect(),
        Scheme::Naive => (0..batch)
            .flat_map(|b| {
                forward(b)
                    .chain(backward(b))
                    .map(|t| vec![t])
                    .chain(consensus_steps.clone())
            })
            .collect(),
        Scheme::NaivePiggybacked => {
            let mut r = piggybacked(batch, layers);
            r.extend(consensus_steps);
            r
        }
        Scheme::Pipelined => {
            let mut r = piggybacked(batch, layers);
            for step in 1..=consensus {
                if step > r.len() {
                    r.push(Vec::new());
                }
                r[step - 1].push(Task::Consensus { step });
            }
            r
        }
    }
}

/// `LB + L − 1` rounds: round `(b − 1)L + l` carries sample `b`'s layer-`l` forward
/// exchange, and the `L − 1` backward exchanges of sample `b` ride on the first rounds of
/// sample `b + 1` (the last sample's run on alone).
fn piggybacked(batch: usize, layers: usize) -> Vec<Vec<Task>> {
    let n_rounds = if batch == 0 {
        0
    } else {
        layers * batch + layers - 1
    };
    let mut r = vec![Vec::new(); n_rounds];
    for sample in 0..batch {
        for layer in 1..=layers {
            r[sample * layers + layer - 1].push(Task::Forward { sample, layer });
        }
        // δ^(L) is known after round (b + 1)L (1-based); e^(l) leaves L − l + 1 rounds later.
        for layer in (2..=layers).rev() {
            let round = (sample + 1) * layers + (layers - layer + 1);
            r[round - 1].push(Task::Backward { sample, layer });
        }
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_counts_follow_table_one() {
        for (batch, layers, k) in [(100, 2, 1), (7, 3, 2), (1, 1, 1), (5, 4, 3)] {
            let (b, l) = (batch, layers);
            assert_eq!(rounds(Scheme::CentralizedInference, b, l, k).len(), l * b);
            assert_eq!(rounds(Scheme::Naive, b, l, k).len(), b * (2 * l - 1 + k));
            assert_eq!(
                rounds(Scheme::NaivePiggybacked, b, l, k).len(),
                l * b + l - 1 + k
            );
            assert_eq!(rounds(Scheme::Pipelined, b, l, k).len(), l * b + l - 1);
        }
    }

    #[test]
    fn every_exchange_happens_once_and_after_what_it_needs() {
        for scheme in Scheme::ALL {
            let (b, l) = (6, 3);
            let r = rounds(scheme, b, l, 2);
            let when = |t: Task| {
                let hits: Vec<usize> = (0..r.len()).filter(|&i| r[i].contains(&t)).collect();
                assert!(hits.len() <= 1, "{t:?} twice under {scheme:?}");
                hits.first().copied()
            };
            for s in 0..b {
                for layer in 2..=l {
                    let f0 = when(Task::Forward {
                        sample: s,
                        layer: layer - 1,
                    })
                    .unwrap();
                    let f1 = when(Task::Forward { sample: s, layer }).unwrap();
                    assert!(f0 < f1);
                }
                let last = when(Task::Forward {
                    sample: s,
                    layer: l,
                })
                .unwrap();
                let mut prev = last;
                for layer in (2..=l).rev() {
                    match when(Task::Backward { sample: s, layer }) {
                        Some(t) => {
                            assert!(t > prev);
                            prev = t;
                        }
                        None => assert_eq!(scheme, Scheme::CentralizedInference),
                    }
                }
            }
        }
    }
}
