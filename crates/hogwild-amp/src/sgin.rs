//! Theorem 4.1 (paper): AMP can simulate sGIN, by an α-synchronizer (Awerbuch 1985).
//!
//! sGIN (paper §4.1) has `L` layers; layer `k` maps the states to
//! `s_v ← ReLU(U_k Σ_{x ∈ N(v)} s_x + b_k)`: the sum over neighbours only, no self term.
//! [`synchronous_sgin`] computes it layer by layer; [`SginSimulation`] is the node program of
//! the paper's Table 1 for the event engine. Node state `(s, w, u, l)`: the layer state, the
//! pulses still awaited in this pulse, the neighbours still unsafe, and the layers left; it
//! starts at `(x, 0, 0, L)`; every node knows its degree `D`. Signals are the paper's three
//! bits: *origin* (the initial message), *pulse* (carries the sender's layer state) and
//! *safe* (the sender has all its pulses of this layer and has computed its next state).
//!
//! Read literally, the printed table does not compute sGIN (the test
//! `table1_as_printed_does_not_compute_sgin` runs it: on a path no run finishes, on a cycle
//! runs finish with other states): the origin keeps its own state in its sum (row
//! `origin = 1`: `s' = s`) while every other node drops it (row `u = 0`: `s' = m`); a node of
//! degree 1 that is not the origin gets `w = D − 2 = −1` and never reaches row `w = 0`; and
//! `u` starts at `D` but is decremented `D + 1` times (once by the node itself in row `w = 0`,
//! once per neighbour's *safe*), so the last of those messages is taken by row `u = 0` and
//! handled as a pulse. The paper's appendix with the exact construction is not public. What
//! we keep and what we change (ours):
//! - Kept: the state `(s, w, u, l)`, the three signals, "the first pulse heard starts this
//!   node's pulse" (row `u = 0`) and the safe-node rule of the α-synchronizer.
//! - The incoming states are summed in a separate accumulator, not in `s`, so a node still
//!   holds its own layer state when it starts its next pulse, and no node counts itself.
//! - A node starts its next pulse as soon as it is safe itself and has heard *safe* from every
//!   neighbour (the α-synchronizer's rule), whichever message completes that.
//! - A neighbour may start the next pulse before this node has heard every *safe*; such early
//!   pulses are summed into the next layer's accumulator (they cannot belong to the current
//!   layer: the neighbour waited for this node's *safe*).
//! - A node reacts to one message with one broadcast, but may have two things to announce
//!   (becoming safe and starting the next pulse); a message is therefore an ordered list of
//!   signals, and receivers handle them in order (the paper sets exactly one bit per
//!   message).
//!
//! Counters here are "still awaited" (a pulse or safe message decrements, zero means done);
//! the table counts "awaited − 1" and tests for zero before decrementing.

use crate::engine::{Delivery, Process, Reaction};
use hogwild_graph::Graph;
use ndarray::{Array1, Array2, ArrayView1};

/// One sGIN layer: `s ← ReLU(weight · (Σ neighbours) + bias)`.
#[derive(Debug, Clone, PartialEq)]
pub struct SginLayer {
    /// `d × d` weight.
    pub weight: Array2<f64>,
    /// Length-`d` bias.
    pub bias: Array1<f64>,
}

impl SginLayer {
    fn apply(&self, sum: ArrayView1<f64>) -> Array1<f64> {
        (self.weight.dot(&sum) + &self.bias).mapv(|z| z.max(0.0))
    }
}

/// Synchronous sGIN: every layer reads the previous layer's states of all neighbours.
pub fn synchronous_sgin(
    graph: &Graph,
    features: &Array2<f64>,
    layers: &[SginLayer],
) -> Array2<f64> {
    let mut states = features.clone();
    for layer in layers {
        let mut next = Array2::zeros(states.raw_dim());
        for v in 0..graph.n_nodes() {
            let mut sum = Array1::zeros(states.ncols());
            for (x, _) in graph.neighbours(v) {
                sum += &states.row(x);
            }
            next.row_mut(v).assign(&layer.apply(sum.view()));
        }
        states = next;
    }
    states
}

/// One of the paper's three message bits.
#[derive(Debug, Clone, PartialEq)]
pub enum Signal {
    /// The very first message of the run (delivered to the start node).
    Origin,
    /// A new pulse, with the sender's layer state.
    Pulse(Array1<f64>),
    /// The sender has computed its next state.
    Safe,
}

/// A message: signals handled in order (usually one).
pub type SginMessage = Vec<Signal>;

#[derive(Debug, Clone)]
struct NodeState {
    /// The layer state `s`.
    state: Array1<f64>,
    /// Sum of this layer's pulses received so far.
    sum: Array1<f64>,
    /// Sum and count of the next layer's pulses that arrived early.
    early_sum: Array1<f64>,
    early_count: usize,
    /// Pulses still awaited (`w`).
    awaited: usize,
    /// Neighbours still unsafe (`u`).
    unsafe_neighbours: usize,
    /// Layers left (`l`).
    layers_left: usize,
    /// Whether the node has started its first pulse.
    started: bool,
    /// Whether the node has computed this layer's state (is safe).
    safe: bool,
}

/// The Table 1 node program; run it with [`crate::Engine`] from any start node with the
/// initial message `vec![Signal::Origin]`.
#[derive(Debug, Clone)]
pub struct SginSimulation<'a> {
    graph: &'a Graph,
    layers: &'a [SginLayer],
    nodes: Vec<NodeState>,
}

impl<'a> SginSimulation<'a> {
    /// Every node in the state `(x_v, 0, 0, L)`.
    pub fn new(graph: &'a Graph, features: &Array2<f64>, layers: &'a [SginLayer]) -> Self {
        assert_eq!(
            features.nrows(),
            graph.n_nodes(),
            "one feature row per node"
        );
        let d = features.ncols();
        let nodes = (0..graph.n_nodes())
            .map(|v| NodeState {
                state: features.row(v).to_owned(),
                sum: Array1::zeros(d),
                early_sum: Array1::zeros(d),
                early_count: 0,
                awaited: 0,
                unsafe_neighbours: 0,
                layers_left: layers.len(),
                started: false,
                safe: false,
            })
            .collect();
        SginSimulation {
            graph,
            layers,
            nodes,
        }
    }

    /// Every node's layer state (row `v`).
    pub fn states(&self) -> Array2<f64> {
        let d = self.nodes.first().map_or(0, |n| n.state.len());
        let mut out = Array2::zeros((self.nodes.len(), d));
        for (v, node) in self.nodes.iter().enumerate() {
            out.row_mut(v).assign(&node.state);
        }
        out
    }

    /// Whether every node has computed all `L` layers.
    pub fn finished(&self) -> bool {
        self.nodes.iter().all(|n| n.layers_left == 0)
    }

    fn start_pulse(&mut self, v: usize, out: &mut SginMessage) {
        let degree = self.graph.degree(v);
        let node = &mut self.nodes[v];
        out.push(Signal::Pulse(node.state.clone()));
        let d = node.state.len();
        node.sum = std::mem::replace(&mut node.early_sum, Array1::zeros(d));
        node.awaited = degree - node.early_count;
        node.early_count = 0;
        node.unsafe_neighbours = degree;
        node.started = true;
        node.safe = false;
    }

    /// Applies whatever the node's counters now allow: compute the next state when every
    /// pulse is in, start the next pulse when it and all its neighbours are safe.
    fn advance(&mut self, v: usize, out: &mut SginMessage) {
        loop {
            let node = &mut self.nodes[v];
            if node.started && !node.safe && node.awaited == 0 && node.layers_left > 0 {
                let k = self.layers.len() - node.layers_left;
                node.state = self.layers[k].apply(node.sum.view());
                node.layers_left -= 1;
                node.safe = true;
                out.push(Signal::Safe);
            } else if node.safe && node.unsafe_neighbours == 0 && node.layers_left > 0 {
                self.start_pulse(v, out);
            } else {
                return;
            }
        }
    }
}

impl Process for SginSimulation<'_> {
    type Message = SginMessage;

    fn on_message(&mut self, delivery: Delivery, message: &SginMessage) -> Reaction<SginMessage> {
        let v = delivery.receiver;
        if self.nodes[v].layers_left == 0 {
            // Table 1, row l = 0: done; no update, nothing sent.
            return Reaction::Processed(None);
        }
        let mut out = Vec::new();
        for signal in message {
            match signal {
                Signal::Origin => self.start_pulse(v, &mut out),
                Signal::Pulse(m) => {
                    if !self.nodes[v].started {
                        // Table 1, row u = 0: the first pulse heard starts this node's pulse.
                        self.start_pulse(v, &mut out);
                    }
                    let node = &mut self.nodes[v];
                    if node.safe {
                        node.early_sum += m;
                        node.early_count += 1;
                    } else {
                        node.sum += m;
                        node.awaited = node.awaited.checked_sub(1).expect("no surplus pulse");
                    }
                }
                Signal::Safe => {
                    let node = &mut self.nodes[v];
                    node.unsafe_neighbours = node
                        .unsafe_neighbours
                        .checked_sub(1)
                        .expect("no surplus safe message");
                }
            }
            self.advance(v, &mut out);
        }
        Reaction::Processed((!out.is_empty()).then_some(out))
    }
}
