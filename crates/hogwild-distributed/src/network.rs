//! The networked system as a synchronous message simulator that counts what it carries.
//!
//! In one *round* every node sends one message to each of its neighbours, and every
//! receiver combines what it received with the weights of its own row of an operator (the
//! shift operator for forward and backward passes, a mixing matrix for consensus). A
//! message may carry several *parts* (piggybacking): the round then counts once, and the
//! message is as wide as its parts together. The [`Ledger`] is the simulator's count of
//! rounds, messages and scalars sent, so communication costs are measured, not assumed.

use crate::kernels::axpy;
use hogwild_graph::Graph;
use multiversion::multiversion;
use ndarray::{Array2, ArrayView2};
use serde::{Deserialize, Serialize};

/// What the network has carried so far.
///
/// ```
/// use hogwild_distributed::network::{Network, Part};
/// use ndarray::Array2;
/// let comm = hogwild_graph::Graph::path(3); // 0 - 1 - 2: four directed edges
/// let mut net = Network::new(comm.clone());
/// let x = Array2::<f64>::ones((3, 2));
/// let op = hogwild_distributed::topology::metropolis_hastings(&comm);
/// net.round(&[Part { weights: &op, payload: x.view() }]);
/// assert_eq!((net.ledger.rounds, net.ledger.messages, net.ledger.scalars), (1, 4, 8));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ledger {
    /// Synchronous message rounds.
    pub rounds: u64,
    /// Messages: one per directed edge per round.
    pub messages: u64,
    /// Scalars carried by all messages together.
    pub scalars: u64,
    /// The widest single message, in scalars (piggybacking doubles it).
    pub widest_message: u64,
}

impl Ledger {
    /// The counts added since `earlier` (a ledger read before); `widest_message` is kept.
    pub fn since(&self, earlier: &Ledger) -> Ledger {
        Ledger {
            rounds: self.rounds - earlier.rounds,
            messages: self.messages - earlier.messages,
            scalars: self.scalars - earlier.scalars,
            widest_message: self.widest_message,
        }
    }

    /// Counts one synchronous round in which each of `links` directed links carries one
    /// message of `width` scalars. For simulators whose links change from sample to sample
    /// (the wireless interference graph); [`Network::round`] counts through it too.
    pub fn count_round(&mut self, links: u64, width: u64) {
        self.rounds += 1;
        self.messages += links;
        self.scalars += links * width;
        self.widest_message = self.widest_message.max(width);
    }
}

/// One part of a round's messages: node `j` sends row `j` of `payload`, and receiver `i`
/// forms `Σ_j weights[i, j] · payload_j` over its neighbours and itself.
#[derive(Debug, Clone, Copy)]
pub struct Part<'a> {
    /// The receiver-side combination; its edges must be the communication graph's edges
    /// and self-loops.
    pub weights: &'a Graph,
    /// One row per node.
    pub payload: ArrayView2<'a, f64>,
}

/// The communication graph and the ledger of everything sent over it.
#[derive(Debug, Clone)]
pub struct Network {
    comm: Graph,
    /// Counts of everything sent so far.
    pub ledger: Ledger,
}

impl Network {
    /// A network over `comm` (unit weights, no self-loops, symmetric) with an empty ledger.
    pub fn new(comm: Graph) -> Network {
        assert!(comm.is_symmetric(), "links are bidirectional");
        Network {
            comm,
            ledger: Ledger::default(),
        }
    }

    /// The communication graph.
    pub fn comm(&self) -> &Graph {
        &self.comm
    }

    /// Whether `op` only combines values a node holds or receives from a neighbour.
    pub fn carries(&self, op: &Graph) -> bool {
        op.n_nodes() == self.comm.n_nodes()
            && (0..op.n_nodes()).all(|i| {
                op.neighbours(i)
                    .all(|(j, _)| j == i || self.comm.find_edge(i, j).is_some())
            })
    }

    /// One synchronous round carrying `parts` in every message; returns each part's
    /// combination at every receiver. An empty `parts` sends nothing and counts nothing.
    pub fn round(&mut self, parts: &[Part<'_>]) -> Vec<Array2<f64>> {
        if parts.is_empty() {
            return Vec::new();
        }
        let width: usize = parts.iter().map(|p| p.payload.ncols()).sum();
        self.ledger
            .count_round(self.comm.n_edges() as u64, width as u64);
        parts
            .iter()
            .map(|p| {
                debug_assert!(
                    self.carries(p.weights),
                    "an operator off the network's links"
                );
                combine(p.weights, p.payload)
            })
            .collect()
    }
}

/// `out_i = Σ_j weights[i, j] · payload_j`: what every receiver forms from a part.
pub fn combine(weights: &Graph, payload: ArrayView2<'_, f64>) -> Array2<f64> {
    let payload = payload.as_standard_layout();
    let width = payload.ncols();
    let mut out = Array2::zeros((weights.n_nodes(), width));
    if width > 0 {
        combine_kernel(
            weights,
            payload.as_slice().expect("standard layout"),
            out.as_slice_mut().expect("standard layout"),
            width,
        );
    }
    out
}

/// [`combine`]'s loop, compiled for the x86-64 baseline and for AVX2 (same bits, see
/// [`crate::kernels`]).
#[multiversion(targets("x86_64+avx2+avx"))]
fn combine_kernel(weights: &Graph, payload: &[f64], out: &mut [f64], width: usize) {
    for (i, row) in out.chunks_exact_mut(width).enumerate() {
        for (j, w) in weights.neighbours(i) {
            axpy(row, w, &payload[j * width..(j + 1) * width]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::{metropolis_hastings, normalised_laplacian};

    #[test]
    fn piggybacked_parts_share_one_round_and_widen_the_message() {
        let comm = Graph::path(4); // 6 directed edges
        let (s, w) = (normalised_laplacian(&comm), metropolis_hastings(&comm));
        let mut net = Network::new(comm);
        let (a, b) = (Array2::<f64>::ones((4, 3)), Array2::<f64>::ones((4, 5)));
        let out = net.round(&[
            Part {
                weights: &s,
                payload: a.view(),
            },
            Part {
                weights: &w,
                payload: b.view(),
            },
        ]);
        assert_eq!(net.ledger.rounds, 1);
        assert_eq!(net.ledger.messages, 6);
        assert_eq!(net.ledger.scalars, 6 * 8);
        assert_eq!(net.ledger.widest_message, 8);
        // consensus of a constant is that constant
        assert!(out[1].iter().all(|&x| (x - 1.0).abs() < 1e-15));
        assert!(net.carries(&s) && net.carries(&w));
        assert!(!net.carries(&metropolis_hastings(&Graph::path(3))));
        assert!(net.round(&[]).is_empty());
        assert_eq!(net.ledger.rounds, 1);
    }
}
