//! The order-1 graph filter, its parameter layout, and the node-local arithmetic of its
//! forward and backward passes.
//!
//! Layer `l` computes, at node `i`, `z_i = h_i W0 + a_i W1` with the aggregate
//! `a_i = Σ_{j ∈ N(i) ∪ {i}} S_ij h_j` (one message round), then `h'_i = σ(z_i)`. No biases
//! (the regression experiment's filter has none). The *receiver* applies its own `W1` to the
//! aggregate, as the regression reference code does.
//!
//! Parameters are stored as *copies*: a matrix with one row per holder and the flat
//! parameter vector along the row ([`Layout`] says where each tensor sits). A distributed run
//! has one row per node; a centralized model is a single row that every node reads.
//!
//! The per-node products live in [`crate::kernels`].

use crate::kernels::node_matmul;
use ndarray::{Array2, ArrayView2};
use serde::{Deserialize, Serialize};

/// A layer's nonlinearity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Activation {
    /// `1 / (1 + e^{−z})`.
    Sigmoid,
    /// `max(z, 0)`.
    Relu,
    /// `z`.
    Identity,
    /// `z` for `z > 0`, `0.2 z` otherwise (Keras's `leaky_relu` slope, the link-scheduling
    /// GCNs').
    LeakyRelu,
}

/// The slope of [`Activation::LeakyRelu`] below 0.
pub const LEAKY_SLOPE: f64 = 0.2;

impl Activation {
    /// `σ(z)`.
    pub fn apply(self, z: f64) -> f64 {
        match self {
            Activation::Sigmoid => 1.0 / (1.0 + (-z).exp()),
            Activation::Relu => z.max(0.0),
            Activation::Identity => z,
            Activation::LeakyRelu => {
                if z > 0.0 {
                    z
                } else {
                    LEAKY_SLOPE * z
                }
            }
        }
    }

    /// `σ′(z)`, given `z` and `h = σ(z)`.
    pub fn derivative(self, z: f64, h: f64) -> f64 {
        match self {
            Activation::Sigmoid => h * (1.0 - h),
            Activation::Relu => {
                if z > 0.0 {
                    1.0
                } else {
                    0.0
                }
            }
            Activation::Identity => 1.0,
            Activation::LeakyRelu => {
                if z > 0.0 {
                    1.0
                } else {
                    LEAKY_SLOPE
                }
            }
        }
    }
}

/// Widths and nonlinearities of an `L`-layer filter: `widths[0]` inputs, `widths[L]`
/// outputs, `activations[l − 1]` after layer `l`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Architecture {
    /// `L + 1` widths.
    pub widths: Vec<usize>,
    /// `L` nonlinearities.
    pub activations: Vec<Activation>,
}

impl Architecture {
    /// Number of layers `L`.
    pub fn layers(&self) -> usize {
        self.activations.len()
    }

    /// Where every tensor of this architecture sits in a flat parameter vector.
    pub fn layout(&self) -> Layout {
        assert_eq!(self.widths.len(), self.activations.len() + 1);
        let mut offset = 0;
        let mut layers = Vec::new();
        for w in self.widths.windows(2) {
            let size = w[0] * w[1];
            layers.push(LayerSlots {
                d_in: w[0],
                d_out: w[1],
                w0: offset,
                w1: offset + size,
            });
            offset += 2 * size;
        }
        Layout {
            layers,
            len: offset,
        }
    }
}

/// Offsets of one layer's tensors; each is a row-major `d_in × d_out` block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LayerSlots {
    /// Input width.
    pub d_in: usize,
    /// Output width.
    pub d_out: usize,
    /// Offset of `W0` (applied to the node's own state).
    pub w0: usize,
    /// Offset of `W1` (applied to the aggregate).
    pub w1: usize,
}

/// The flat parameter layout: layer `l` (1-based) is `layers[l − 1]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// Per layer.
    pub layers: Vec<LayerSlots>,
    /// Scalars per copy.
    pub len: usize,
}

/// What one layer's forward step keeps for the backward pass.
#[derive(Debug, Clone)]
pub struct LayerTrace {
    /// The aggregate `a^(l−1)` received in the layer's round.
    pub aggregate: Array2<f64>,
    /// The pre-activation `z^(l)`.
    pub z: Array2<f64>,
    /// The output `h^(l) = σ(z^(l))`.
    pub h: Array2<f64>,
}

/// The node-local work of layer `layer` (1-based) once its round has delivered
/// `aggregate`: every node applies its own copy to its own state and the aggregate.
pub fn layer_forward(
    arch: &Architecture,
    layout: &Layout,
    copies: ArrayView2<'_, f64>,
    layer: usize,
    h_prev: ArrayView2<'_, f64>,
    aggregate: Array2<f64>,
) -> LayerTrace {
    let slots = layout.layers[layer - 1];
    let mut z = Array2::zeros((h_prev.nrows(), slots.d_out));
    node_matmul(copies, slots.w0, h_prev, z.view_mut(), false);
    node_matmul(copies, slots.w1, aggregate.view(), z.view_mut(), true);
    let act = arch.activations[layer - 1];
    let h = z.mapv(|v| act.apply(v));
    LayerTrace { aggregate, z, h }
}

/// The filter's output for one sample's features `x` (one row per node), each node using
/// its row of `copies` (or the single shared row): inference, outside any ledger.
pub fn predict(
    arch: &Architecture,
    shift: &hogwild_graph::Graph,
    copies: ArrayView2<'_, f64>,
    x: ArrayView2<'_, f64>,
) -> Array2<f64> {
    let layout = arch.layout();
    let mut h = x.as_standard_layout().into_owned();
    for layer in 1..=arch.layers() {
        let a = crate::network::combine(shift, h.view());
        h = layer_forward(arch, &layout, copies, layer, h.view(), a).h;
    }
    h
}
