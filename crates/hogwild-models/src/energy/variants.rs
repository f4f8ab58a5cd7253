//! The energy GNN's variants (the ICLR version's §5): which quantities the message network
//! reads, and how a node weighs its in-neighbours' messages. A variant is a [`Wiring`], not
//! a copy of the networks' passes: the energy, its gradients, its Hessian-vector products and
//! the simulator's single-node rule all read the wiring through the functions here.
//!
//! - **Edge-wise** messages `m(h_j, h_i; x_j, x_i, e_ij)` weighted by the graph's `A_ij`:
//!   `[models.energy]`, the model of the review version's tables.
//! - **Node-wise** messages `m(h_j; x_j)`, weighted by `A_ij`: `[models.energy-node]`.
//! - **Attention**: edge-wise messages weighted by `α_ij = softmax_{j→i} s_ij`, with scores
//!   `s_ij = LeakyReLU_{0.2}(aᵀ[x_j ‖ x_i ‖ e_ij])` from features only (GAT's score, with
//!   the features in place of the embeddings), so the weights are non-negative and do not
//!   depend on `H`, and the energy stays convex in `H`: `[models.energy-attention]`.
//!
//! Every variant has the settings of `[models.energy]` (one settings type, one set of
//! checks), and its section's keys default to that section's ([`ModelSpec::INHERITS`]): a
//! variant's section holds only what differs. Only its name and wiring differ.

use super::{EnergyConfig, EnergyGnn};
use crate::linalg::Scalar;
use crate::model::{Model, ModelError, ProblemSize};
use crate::params::TrainConfig;
use crate::registry::{Dims, ModelSpec, ScalingVariant};
use hogwild_graph::out_edges::OutEdges;
use hogwild_graph::par::fill_rows;
use hogwild_graph::Graph;
use hogwild_settings::{Bytes, InvalidSetting};
use ndarray::{s, Array2, ArrayView2};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::ops::Range;

/// What the message network reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Messages {
    /// `m(h_j; x_j)`: the sender's embedding and features.
    Node,
    /// `m(h_j, h_i; x_j, x_i, e_ij)`: both ends and the edge.
    Edge,
}

/// How a node weighs its in-neighbours' messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Weights {
    /// The graph's edge weights `A_ij`.
    Graph,
    /// Attention from features only (see the module documentation).
    Attention,
}

/// An energy-GNN variant: its message inputs and message weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wiring {
    /// The message network's inputs.
    pub messages: Messages,
    /// The messages' weights.
    pub weights: Weights,
}

/// The slope of the attention scores' LeakyReLU for negative inputs (GAT's).
pub const SCORE_SLOPE: f64 = 0.2;

impl Wiring {
    /// Edge-wise messages, graph weights.
    pub const EDGE: Wiring = Wiring {
        messages: Messages::Edge,
        weights: Weights::Graph,
    };
    /// Node-wise messages, graph weights.
    pub const NODE: Wiring = Wiring {
        messages: Messages::Node,
        weights: Weights::Graph,
    };
    /// Edge-wise messages, attention weights.
    pub const ATTENTION: Wiring = Wiring {
        messages: Messages::Edge,
        weights: Weights::Attention,
    };

    /// Embeddings per message row: `(h_j)` or `(h_j, h_i)`.
    pub fn ends(self) -> usize {
        match self.messages {
            Messages::Node => 1,
            Messages::Edge => 2,
        }
    }

    /// Width of the message network's features for `in_dim` node and `edge_dim` edge
    /// features.
    pub fn feature_width(self, in_dim: usize, edge_dim: usize) -> usize {
        match self.messages {
            Messages::Node => in_dim,
            Messages::Edge => edge_feature_width(in_dim, edge_dim),
        }
    }

    /// The message network's features, one row per edge `j → i` in edge order.
    pub(super) fn features(self, g: &Graph, x: ArrayView2<'_, f64>) -> Array2<f64> {
        match self.messages {
            Messages::Node => {
                let mut xm = Array2::zeros((g.n_edges(), x.ncols()));
                for e in 0..g.n_edges() {
                    xm.row_mut(e).assign(&x.row(g.edge(e).0));
                }
                xm
            }
            Messages::Edge => edge_features(g, x),
        }
    }

    /// The convex inputs of the message on edge `j → i`, `(h_j)` or `(h_j, h_i)`, into
    /// `row` (`ends · k` entries): one definition for the batched passes
    /// ([`Wiring::inputs`]) and the single-node rules of the simulator.
    pub(super) fn edge_inputs<T: Copy>(self, h_j: &[T], h_i: &[T], row: &mut [T]) {
        let k = h_j.len();
        row[..k].copy_from_slice(h_j);
        if self.messages == Messages::Edge {
            row[k..].copy_from_slice(h_i);
        }
    }

    /// The adjoint of [`Wiring::edge_inputs`]: a message's gradient with respect to its
    /// inputs (`row`) split into the parts for `h_j` and, with edge-wise messages, `h_i`
    /// (embeddings of width `k`).
    pub(super) fn edge_input_grads<T>(self, row: &[T], k: usize) -> (&[T], Option<&[T]>) {
        let (j, i) = row.split_at(k);
        (j, (self.messages == Messages::Edge).then_some(i))
    }

    /// The message network's convex inputs, one row [`Wiring::edge_inputs`] per in-edge of
    /// the nodes `nodes` (whose in-edges are consecutive), in edge order.
    pub(super) fn inputs<T: Scalar>(
        self,
        g: &Graph,
        h: ArrayView2<'_, T>,
        nodes: Range<usize>,
    ) -> Array2<T> {
        let k = h.ncols();
        let w = self.ends() * k;
        let h = h.as_standard_layout();
        let h = h.as_slice().expect("standard layout");
        let first = nodes.clone().next().map_or(0, |i| g.in_edges(i).start);
        let last = nodes.clone().last().map_or(first, |i| g.in_edges(i).end);
        let mut y = vec![T::zero(); (last - first) * w];
        for i in nodes {
            for e in g.in_edges(i) {
                let j = g.edge(e).0;
                let row = &mut y[(e - first) * w..(e - first + 1) * w];
                self.edge_inputs(&h[j * k..(j + 1) * k], &h[i * k..(i + 1) * k], row);
            }
        }
        Array2::from_shape_vec((last - first, w), y).expect("edges × width")
    }

    /// Adds each edge's gradient with respect to its inputs (a row of `dy`) into `dh` (in
    /// standard layout, as the passes make it): the adjoint of [`Wiring::inputs`]. With
    /// `out` (`g`'s out-edges), rows of `dh` are split across the current rayon pool
    /// ([`fill_rows`]), each gathering its terms in the order the scatter over targets adds
    /// them: the same bits as without.
    pub(super) fn add_input_grads<T: Scalar>(
        self,
        g: &Graph,
        out: Option<&OutEdges>,
        dy: &Array2<T>,
        dh: &mut Array2<T>,
    ) {
        let k = dh.ncols();
        let dy = dy.as_standard_layout();
        let w = dy.ncols();
        let dy = dy.as_slice().expect("standard layout");
        let dh = dh.as_slice_mut().expect("standard layout");
        let grads = |e: usize| self.edge_input_grads(&dy[e * w..(e + 1) * w], k);
        let Some(out) = out else {
            for i in 0..g.n_nodes() {
                for e in g.in_edges(i) {
                    let j = g.edge(e).0;
                    let (d_j, d_i) = grads(e);
                    add(&mut dh[j * k..(j + 1) * k], d_j);
                    if let Some(d_i) = d_i {
                        add(&mut dh[i * k..(i + 1) * k], d_i);
                    }
                }
            }
            return;
        };
        fill_rows(dh, k, |first, chunk| {
            for (r, row) in chunk.chunks_exact_mut(k).enumerate() {
                let j = first + r;
                // The scatter meets node j's terms at targets in increasing order: as a
                // source below j, then its own in-edges (a self-loop adds both parts there),
                // then as a source above j.
                let sent = out.of(j);
                let split = sent.partition_point(|&(i, _)| i < j);
                for &(_, e) in &sent[..split] {
                    add(row, grads(e).0);
                }
                for e in g.in_edges(j) {
                    let (d_j, d_i) = grads(e);
                    if g.edge(e).0 == j {
                        add(row, d_j);
                    }
                    if let Some(d_i) = d_i {
                        add(row, d_i);
                    }
                }
                for &(_, e) in sent[split..].iter().filter(|&&(i, _)| i != j) {
                    add(row, grads(e).0);
                }
            }
        });
    }
}

/// `to += from`, entry by entry.
fn add<T: Scalar>(to: &mut [T], from: &[T]) {
    for (a, &d) in to.iter_mut().zip(from) {
        *a += d;
    }
}

/// Width of `[x_j ‖ x_i ‖ e_ij]`.
pub(super) fn edge_feature_width(in_dim: usize, edge_dim: usize) -> usize {
    2 * in_dim + edge_dim
}

/// `[x_j ‖ x_i ‖ e_ij]` for every edge `j → i`, in edge order.
pub(super) fn edge_features(g: &Graph, x: ArrayView2<'_, f64>) -> Array2<f64> {
    let p = x.ncols();
    let mut xm = Array2::zeros((g.n_edges(), edge_feature_width(p, g.edge_feature_dim())));
    for i in 0..g.n_nodes() {
        for e in g.in_edges(i) {
            let j = g.edge(e).0;
            let mut row = xm.row_mut(e);
            row.slice_mut(s![..p]).assign(&x.row(j));
            row.slice_mut(s![p..2 * p]).assign(&x.row(i));
            row.slice_mut(s![2 * p..]).assign(&g.edge_features(e));
        }
    }
    xm
}

/// The attention weights of one batch under the current parameters, with what their
/// gradient needs.
#[derive(Debug, Clone)]
pub(super) struct Attention {
    /// `[x_j ‖ x_i ‖ e_ij]`, one row per edge.
    features: Array2<f64>,
    /// The scores before the LeakyReLU, one per edge.
    pre: Vec<f64>,
}

impl Attention {
    /// Scores and weights (`α`, one per edge, summing to 1 over each node's in-edges) for
    /// attention vector `a` (a column).
    pub(super) fn new(g: &Graph, x: ArrayView2<'_, f64>, a: &Array2<f64>) -> (Attention, Vec<f64>) {
        let features = edge_features(g, x);
        let pre: Vec<f64> = features
            .rows()
            .into_iter()
            .map(|row| row.iter().zip(a.column(0)).map(|(f, w)| f * w).sum())
            .collect();
        let mut alpha = vec![0.0; g.n_edges()];
        for i in 0..g.n_nodes() {
            let edges = g.in_edges(i);
            let score = |e: usize| leaky(pre[e]);
            let top = edges.clone().map(score).fold(f64::NEG_INFINITY, f64::max);
            let mut total = 0.0;
            for e in edges.clone() {
                alpha[e] = (score(e) - top).exp();
                total += alpha[e];
            }
            for e in edges {
                alpha[e] /= total;
            }
        }
        (Attention { features, pre }, alpha)
    }

    /// Adds `∂E/∂a` into `da` (a column), where `E` reaches the weights only through
    /// `m_i = Σ_{j→i} α_ij msg_e`: `dm` is `∂E/∂m` (one row per node), `msg` the messages
    /// (one row per edge), `alpha` the weights.
    pub(super) fn add_grad<T: Scalar>(
        &self,
        g: &Graph,
        alpha: &[f64],
        dm: &Array2<T>,
        msg: &Array2<T>,
        da: &mut Array2<T>,
    ) {
        let mut d_alpha = vec![T::zero(); g.n_edges()];
        for i in 0..g.n_nodes() {
            let edges = g.in_edges(i);
            let mut mean = T::zero();
            for e in edges.clone() {
                let mut d = T::zero();
                for c in 0..dm.ncols() {
                    d += dm[[i, c]] * msg[[e, c]];
                }
                d_alpha[e] = d;
                mean += d * alpha[e];
            }
            for e in edges {
                // Softmax, then the LeakyReLU.
                let slope = if self.pre[e] > 0.0 { 1.0 } else { SCORE_SLOPE };
                let d_pre = (d_alpha[e] - mean) * (alpha[e] * slope);
                for (f, &v) in self.features.row(e).iter().enumerate() {
                    da[[f, 0]] += d_pre * v;
                }
            }
        }
    }
}

fn leaky(v: f64) -> f64 {
    if v > 0.0 {
        v
    } else {
        SCORE_SLOPE * v
    }
}

/// Settings types of the variants other than `[models.energy]`: the energy GNN's settings
/// under another name, built with another wiring.
macro_rules! variant {
    ($(#[$doc:meta])* $ty:ident, $name:literal, $display:literal, $wiring:expr, $cost:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
        #[serde(transparent)]
        pub struct $ty(pub EnergyConfig);

        impl ModelSpec for $ty {
            const NAME: &'static str = $name;
            const DISPLAY: &'static str = $display;
            const COST: f64 = $cost;
            const INHERITS: Option<&'static str> = Some(EnergyConfig::NAME);
            fn check(&self) -> Result<(), InvalidSetting> {
                self.0.check()
            }
            fn train(&self) -> &TrainConfig {
                &self.0.train
            }
            fn memory(&self, size: &ProblemSize) -> Bytes {
                self.0.memory(size)
            }
            fn state_width(&self, in_dim: u64, max_degree: u64) -> u64 {
                self.0.state_width(in_dim, max_degree)
            }
            fn build(&self, dims: Dims, rng: &mut ChaCha8Rng) -> Result<Box<dyn Model>, ModelError> {
                Ok(Box::new(EnergyGnn::variant(&self.0, $name, $wiring, dims, rng)?))
            }
            /// Measured with conjugate gradients, as the energy GNN's own scaling runs
            /// (Cholesky's fill-in on 2-D graphs made the 10⁵-node geometric graph's set-up
            /// take tens of minutes).
            fn scaling_variants() -> Vec<ScalingVariant> {
                EnergyConfig::scaling_variants()
                    .into_iter()
                    .filter(|v| v.suffix.is_empty())
                    .collect()
            }
        }
    };
}

variant!(
    /// `[models.energy-node]`: the energy GNN with node-wise messages `m(h_j; x_j)`.
    NodeWiseEnergy,
    "energy-node",
    "Energy GNN (node-wise)",
    Wiring::NODE,
    50.0
);

variant!(
    /// `[models.energy-attention]`: the energy GNN with edge-wise messages weighted by
    /// attention over features.
    AttentionEnergy,
    "energy-attention",
    "Energy GNN (attention)",
    Wiring::ATTENTION,
    50.0
);
