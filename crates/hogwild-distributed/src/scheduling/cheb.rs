//! A Chebyshev graph convolution with two supports (`K = 2`: `T0 = I`, `T1 = S`) on
//! parameter copies, and its hand-written backward pass: the layer of both scheduling GCNs.
//!
//! Layer `l` computes, at node `i`, `z_i = h_i W0_i + a_i W1_i (+ b_i)` with the aggregate
//! `a_i = Σ_j S_ij h_j` (one message round), then `h′_i = σ(z_i)`. The receiver applies its
//! own `W1` to the aggregate (the scheduling code's distributed layer does), so without a
//! bias this is [`crate::filter`]'s layer; the products are [`crate::kernels`]'. Copies are
//! a matrix with one row per node, or a single shared row (centralized).
//!
//! The backward pass sends `e_i = δ_i W1_iᵀ` and forms `Σ_i S_ij e_i` at node `j` (the
//! transpose of the forward combination, so `S` need not be symmetric), and gives the input
//! gradient too, which the critic needs for the actor's objective.

use crate::filter::Activation;
use crate::kernels::{axpy, node_matmul, node_matmul_t, node_outer_accumulate};
use crate::network::combine;
use hogwild_graph::Graph;
use ndarray::{Array2, ArrayView2};
use rand::RngExt;
use rand_chacha::ChaCha8Rng;

/// Widths, nonlinearities and whether every layer has a bias.
///
/// ```
/// use hogwild_distributed::filter::Activation;
/// use hogwild_distributed::scheduling::cheb::ChebNet;
/// use hogwild_distributed::topology::scheduling_laplacian;
/// let net = ChebNet { widths: vec![1, 4, 1], activations: vec![Activation::LeakyRelu, Activation::Relu], bias: false };
/// assert_eq!(net.len(), 2 * 4 + 2 * 4); // W0 and W1 of both layers
/// let s = scheduling_laplacian(&hogwild_graph::Graph::path(3));
/// let copies = net.initial_copies(3, &mut hogwild_distributed::stream("doc")); // a copy per node
/// let trace = net.forward(&s, copies.view(), ndarray::Array2::ones((3, 1)));
/// assert_eq!(trace.output().dim(), (3, 1));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ChebNet {
    /// `L + 1` widths: inputs, hidden widths, outputs.
    pub widths: Vec<usize>,
    /// `L` nonlinearities.
    pub activations: Vec<Activation>,
    /// A bias per layer and output.
    pub bias: bool,
}

/// Offsets of one layer's tensors in a copy (`W0`, `W1` row-major `d_in × d_out`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChebSlots {
    /// Input width.
    pub d_in: usize,
    /// Output width.
    pub d_out: usize,
    /// `W0` (applied to the node's own state).
    pub w0: usize,
    /// `W1` (applied to the aggregate).
    pub w1: usize,
    /// The bias, if any.
    pub b: Option<usize>,
}

/// A forward pass, kept for the backward pass.
#[derive(Debug, Clone)]
pub struct ChebTrace {
    /// The input.
    pub x: Array2<f64>,
    /// Per layer: the aggregate `S h^(l−1)`.
    pub aggregates: Vec<Array2<f64>>,
    /// Per layer: the pre-activation.
    pub z: Vec<Array2<f64>>,
    /// Per layer: the output.
    pub h: Vec<Array2<f64>>,
}

impl ChebTrace {
    /// The network's output.
    pub fn output(&self) -> &Array2<f64> {
        self.h.last().expect("at least one layer")
    }
}

/// `out_j = Σ_i S_ij p_i`: the transpose of [`combine`] (what node `j` forms from the
/// messages `p_i` of the nodes it sends to).
pub fn combine_transpose(op: &Graph, p: ArrayView2<'_, f64>) -> Array2<f64> {
    let p = p.as_standard_layout();
    let c = p.ncols();
    let ps = p.as_slice().expect("standard layout");
    let mut out = Array2::zeros((op.n_nodes(), c));
    let outs = out.as_slice_mut().expect("a fresh array");
    for i in 0..op.n_nodes() {
        for (j, w) in op.neighbours(i) {
            axpy(&mut outs[j * c..(j + 1) * c], w, &ps[i * c..(i + 1) * c]);
        }
    }
    out
}

impl ChebNet {
    /// Number of layers `L`.
    pub fn layers(&self) -> usize {
        self.activations.len()
    }

    /// Where each layer's tensors sit.
    pub fn slots(&self) -> Vec<ChebSlots> {
        assert_eq!(self.widths.len(), self.activations.len() + 1);
        let mut offset = 0;
        self.widths
            .windows(2)
            .map(|w| {
                let size = w[0] * w[1];
                let s = ChebSlots {
                    d_in: w[0],
                    d_out: w[1],
                    w0: offset,
                    w1: offset + size,
                    b: self.bias.then_some(offset + 2 * size),
                };
                offset += 2 * size + if self.bias { w[1] } else { 0 };
                s
            })
            .collect()
    }

    /// Scalars per copy.
    pub fn len(&self) -> usize {
        let s = *self.slots().last().expect("at least one layer");
        s.b.map_or(s.w1 + s.d_in * s.d_out, |b| b + s.d_out)
    }

    /// Whether a copy holds no parameters (never, for a valid shape).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The start: every kernel Glorot-uniform over its `K × d_in × d_out` tensor (Keras's
    /// fans `K d_in` and `K d_out`, so the limit is `√(6 / (2 (d_in + d_out)))`), biases 0;
    /// one draw tiled to `rows` identical copies.
    pub fn initial_copies(&self, rows: usize, rng: &mut ChaCha8Rng) -> Array2<f64> {
        let mut one = vec![0.0; self.len()];
        for s in self.slots() {
            let limit = (6.0 / (2 * (s.d_in + s.d_out)) as f64).sqrt();
            for x in &mut one[s.w0..s.w1 + s.d_in * s.d_out] {
                *x = limit * (2.0 * rng.random::<f64>() - 1.0);
            }
        }
        Array2::from_shape_fn((rows, one.len()), |(_, k)| one[k])
    }

    /// The forward pass of `x` (one row per node) on support `s`, each node with its row of
    /// `copies` (or the shared row).
    pub fn forward(&self, s: &Graph, copies: ArrayView2<'_, f64>, x: Array2<f64>) -> ChebTrace {
        let copies = copies.as_standard_layout();
        let n = x.nrows();
        let mut trace = ChebTrace {
            x,
            aggregates: Vec::with_capacity(self.layers()),
            z: Vec::with_capacity(self.layers()),
            h: Vec::with_capacity(self.layers()),
        };
        for (l, slots) in self.slots().into_iter().enumerate() {
            let prev = if l == 0 { &trace.x } else { &trace.h[l - 1] };
            let a = combine(s, prev.view());
            let mut z = Array2::zeros((n, slots.d_out));
            node_matmul(copies.view(), slots.w0, prev.view(), z.view_mut(), false);
            node_matmul(copies.view(), slots.w1, a.view(), z.view_mut(), true);
            if let Some(b) = slots.b {
                for (i, mut row) in z.rows_mut().into_iter().enumerate() {
                    let r = if copies.nrows() == 1 { 0 } else { i };
                    for (k, zk) in row.iter_mut().enumerate() {
                        *zk += copies[[r, b + k]];
                    }
                }
            }
            let act = self.activations[l];
            let h = ndarray::Zip::from(&z).map_collect(|&v| act.apply(v));
            trace.aggregates.push(a);
            trace.z.push(z);
            trace.h.push(h);
        }
        trace
    }

    /// The backward pass from `out_grad` = ∂J/∂(output): adds ∂J/∂(each row of `copies`)
    /// to `grads` when given (same shape as `copies`; a shared row receives the sum over
    /// nodes), and returns ∂J/∂x when `input_grad` is set.
    pub fn backward(
        &self,
        s: &Graph,
        copies: ArrayView2<'_, f64>,
        trace: &ChebTrace,
        out_grad: ArrayView2<'_, f64>,
        mut grads: Option<&mut Array2<f64>>,
        input_grad: bool,
    ) -> Option<Array2<f64>> {
        let copies = copies.as_standard_layout();
        let slots = self.slots();
        let mut g = out_grad.to_owned();
        for l in (0..self.layers()).rev() {
            let sl = slots[l];
            let act = self.activations[l];
            ndarray::Zip::from(&mut g)
                .and(&trace.z[l])
                .and(&trace.h[l])
                .for_each(|d, &z, &h| *d *= act.derivative(z, h));
            let prev = if l == 0 { &trace.x } else { &trace.h[l - 1] };
            if let Some(grads) = grads.as_deref_mut() {
                assert_eq!(grads.dim(), copies.dim());
                node_outer_accumulate(grads, sl.w0, prev.view(), g.view());
                node_outer_accumulate(grads, sl.w1, trace.aggregates[l].view(), g.view());
                if let Some(b) = sl.b {
                    let shared = grads.nrows() == 1;
                    for (i, row) in g.rows().into_iter().enumerate() {
                        let r = if shared { 0 } else { i };
                        for (k, &d) in row.iter().enumerate() {
                            grads[[r, b + k]] += d;
                        }
                    }
                }
            }
            if l == 0 && !input_grad {
                return None;
            }
            let n = g.nrows();
            let mut local = Array2::zeros((n, sl.d_in));
            let mut e = Array2::zeros((n, sl.d_in));
            node_matmul_t(copies.view(), sl.w0, g.view(), local.view_mut());
            node_matmul_t(copies.view(), sl.w1, g.view(), e.view_mut());
            g = local + combine_transpose(s, e.view());
        }
        Some(g)
    }

    /// `Σ W²` over every kernel of `copy` (one row; biases excluded, as Keras's
    /// `kernel_regularizer`).
    pub fn kernel_square_sum(&self, copy: &[f64]) -> f64 {
        self.slots()
            .iter()
            .flat_map(|s| &copy[s.w0..s.w1 + s.d_in * s.d_out])
            .map(|w| w * w)
            .sum()
    }

    /// Adds `∂(c Σ W²)/∂copy = 2 c W` on the kernels of `copy` to `grad`.
    pub fn add_kernel_l2_gradient(&self, copy: &[f64], c: f64, grad: &mut [f64]) {
        for s in self.slots() {
            let range = s.w0..s.w1 + s.d_in * s.d_out;
            axpy(&mut grad[range.clone()], 2.0 * c, &copy[range]);
        }
    }
}
