//! One mini-batch through the simulated network: forward passes, the distributed backward
//! pass, and consensus, laid out in rounds by a [`Scheme`].
//!
//! Every node computes the gradient of the network-wide loss `Σ_b Σ_k ℓ_k^(b)` with respect
//! to *its own copy* from its own data and its neighbours' messages only. Its copy enters the
//! loss only through its own pre-activations `z_i^(l)`, so with `δ_i^(l) = ∂ Σ_k ℓ_k / ∂z_i^(l)`:
//!
//! - `δ_i^(L) = ∂ℓ_i / ∂z_i^(L)` is local;
//! - node `i` sends `e_i^(l) = δ_i^(l) W1_iᵀ`, and node `j` forms
//!   `δ_j^(l−1) = (δ_j^(l) W0_jᵀ + Σ_i S_ij e_i^(l)) ⊙ σ′(z_j^(l−1))` (S symmetric): `L − 1`
//!   rounds;
//! - `∇W0_i^(l) = h_i^(l−1)ᵀ δ_i^(l)` and `∇W1_i^(l) = a_i^(l−1)ᵀ δ_i^(l)`, with the aggregate
//!   `a_i^(l−1)` kept from the forward round.
//!
//! With a single shared row of parameters the same arithmetic yields the centralized gradient
//! (every node's share summed into the one row).

use crate::filter::{layer_forward, Architecture, LayerTrace, Layout};
use crate::kernels::{node_matmul_t, node_outer_accumulate};
use crate::network::{Network, Part};
use crate::schedule::{rounds, Scheme, Task};
use hogwild_graph::Graph;
use ndarray::{Array2, ArrayView2};

/// A filter on a networked system: architecture, layout and shift operator.
#[derive(Debug, Clone)]
pub struct Filter {
    /// Widths and nonlinearities.
    pub arch: Architecture,
    /// Where each tensor sits in a copy.
    pub layout: Layout,
    /// The shift operator `S` (symmetric, on the communication graph's edges).
    pub shift: Graph,
}

impl Filter {
    /// A filter of `arch` with shift operator `shift`.
    pub fn new(arch: Architecture, shift: Graph) -> Filter {
        assert!(
            shift.is_symmetric(),
            "the backward pass needs a symmetric S"
        );
        Filter {
            layout: arch.layout(),
            arch,
            shift,
        }
    }
}

/// Consensus carried by a mini-batch's rounds: `steps` applications of `weights` to each of
/// `payloads` (copies, or optimiser state that is mixed like them).
#[derive(Debug, Clone)]
pub struct Consensus<'a> {
    /// The mixing matrix.
    pub weights: &'a Graph,
    /// Consensus rounds `K`.
    pub steps: usize,
    /// What is mixed, one row per node each.
    pub payloads: Vec<ArrayView2<'a, f64>>,
}

/// What a mini-batch produced.
#[derive(Debug, Clone)]
pub struct MiniBatchOutcome {
    /// Per copy, the gradient of `Σ_b Σ_k ℓ_k^(b)` (one row per row of the copies).
    pub grads: Array2<f64>,
    /// `Σ_b Σ_k ℓ_k^(b)` with `ℓ_k = ‖ŷ_k − y_k‖²`.
    pub squared_error: f64,
    /// The consensus payloads after `K` mixing steps (empty without consensus).
    pub mixed: Vec<Array2<f64>>,
}

/// A sample's state while its passes are in flight.
struct InFlight {
    traces: Vec<LayerTrace>,
    /// `e^(l)` waiting for its backward round.
    message: Option<Array2<f64>>,
    /// `δ^(l) W0ᵀ`, the local half of `δ^(l−1)`'s sum.
    local: Option<Array2<f64>>,
}

/// Runs one mini-batch of `features[b]` / `targets[b]` (one row per node, standard layout)
/// under `scheme`. `copies` has one row per node, or a single row shared by all nodes
/// (centralized). Under [`Scheme::CentralizedInference`] the backward exchanges are done by
/// a server that holds everything and are not counted, and there is no consensus.
pub fn run_minibatch(
    net: &mut Network,
    filter: &Filter,
    copies: ArrayView2<'_, f64>,
    features: &[ArrayView2<'_, f64>],
    targets: &[ArrayView2<'_, f64>],
    scheme: Scheme,
    consensus: Option<Consensus<'_>>,
) -> MiniBatchOutcome {
    assert_eq!(features.len(), targets.len());
    assert_eq!(copies.ncols(), filter.layout.len);
    assert!(
        scheme != Scheme::CentralizedInference || consensus.is_none(),
        "a centralized model has no copies to mix"
    );
    let copies = copies.as_standard_layout();
    let copies = copies.view();
    let layers = filter.arch.layers();
    let mut run = Run {
        filter,
        copies,
        features,
        targets,
        grads: Array2::zeros(copies.dim()),
        squared_error: 0.0,
        samples: (0..features.len())
            .map(|_| InFlight {
                traces: Vec::with_capacity(layers),
                message: None,
                local: None,
            })
            .collect(),
    };
    let steps = consensus.as_ref().map_or(0, |c| c.steps);
    let mut mixed: Vec<Array2<f64>> = Vec::new();
    for round in rounds(scheme, features.len(), layers, steps) {
        let mut parts = Vec::new();
        for task in &round {
            match *task {
                Task::Forward { sample, layer } => parts.push(Part {
                    weights: &filter.shift,
                    payload: run.state_before(sample, layer),
                }),
                Task::Backward { sample, layer: _ } => parts.push(Part {
                    weights: &filter.shift,
                    payload: run.samples[sample]
                        .message
                        .as_ref()
                        .expect("e^(l) is ready before its round")
                        .view(),
                }),
                Task::Consensus { step } => {
                    let c = consensus
                        .as_ref()
                        .expect("consensus steps need a consensus");
                    for (k, p) in c.payloads.iter().enumerate() {
                        let payload = if step == 1 { *p } else { mixed[k].view() };
                        parts.push(Part {
                            weights: c.weights,
                            payload,
                        });
                    }
                }
            }
        }
        let mut received = net.round(&parts).into_iter();
        drop(parts);
        let mut new_mixed = Vec::new();
        for task in round {
            match task {
                Task::Forward { sample, layer } => {
                    let a = received.next().expect("one aggregate per part");
                    run.forward(sample, layer, a);
                }
                Task::Backward { sample, layer } => {
                    let a = received.next().expect("one aggregate per part");
                    run.backward(sample, layer, a);
                }
                Task::Consensus { .. } => {
                    let n = consensus.as_ref().map_or(0, |c| c.payloads.len());
                    new_mixed = received.by_ref().take(n).collect();
                }
            }
        }
        if !new_mixed.is_empty() {
            mixed = new_mixed;
        }
    }
    if scheme == Scheme::CentralizedInference {
        for sample in 0..features.len() {
            for layer in (2..=layers).rev() {
                let e = run.samples[sample].message.take().expect("e^(l) is ready");
                let a = crate::network::combine(&filter.shift, e.view());
                run.backward(sample, layer, a);
            }
        }
    }
    MiniBatchOutcome {
        grads: run.grads,
        squared_error: run.squared_error,
        mixed,
    }
}

/// The arithmetic of a mini-batch, shared by every scheme.
struct Run<'a> {
    filter: &'a Filter,
    copies: ArrayView2<'a, f64>,
    features: &'a [ArrayView2<'a, f64>],
    targets: &'a [ArrayView2<'a, f64>],
    grads: Array2<f64>,
    squared_error: f64,
    samples: Vec<InFlight>,
}

impl<'a> Run<'a> {
    /// `h^(layer−1)` of `sample`: what its layer-`layer` round sends.
    fn state_before(&self, sample: usize, layer: usize) -> ArrayView2<'_, f64> {
        if layer == 1 {
            self.features[sample]
        } else {
            self.samples[sample].traces[layer - 2].h.view()
        }
    }

    /// Node-local work after sample `sample`'s layer-`layer` forward round.
    fn forward(&mut self, sample: usize, layer: usize, aggregate: Array2<f64>) {
        let trace = layer_forward(
            &self.filter.arch,
            &self.filter.layout,
            self.copies,
            layer,
            self.state_before(sample, layer),
            aggregate,
        );
        self.samples[sample].traces.push(trace);
        if layer == self.filter.arch.layers() {
            let t = &self.samples[sample].traces[layer - 1];
            let act = self.filter.arch.activations[layer - 1];
            let mut delta = &t.h - &self.targets[sample];
            self.squared_error += delta.iter().map(|r| r * r).sum::<f64>();
            ndarray::Zip::from(&mut delta)
                .and(&t.z)
                .and(&t.h)
                .for_each(|d, &z, &h| *d = 2.0 * *d * act.derivative(z, h));
            self.set_delta(sample, layer, delta);
        }
    }

    /// Node-local work after sample `sample`'s layer-`layer` backward round.
    fn backward(&mut self, sample: usize, layer: usize, aggregate: Array2<f64>) {
        let s = &mut self.samples[sample];
        s.message = None;
        let mut g = s
            .local
            .take()
            .expect("δ W0ᵀ is kept for the backward round")
            + aggregate;
        let t = &s.traces[layer - 2];
        let act = self.filter.arch.activations[layer - 2];
        ndarray::Zip::from(&mut g)
            .and(&t.z)
            .and(&t.h)
            .for_each(|d, &z, &h| *d *= act.derivative(z, h));
        self.set_delta(sample, layer - 1, g);
    }

    /// Accumulates layer `layer`'s gradients from `δ^(layer)` and prepares `e^(layer)`.
    fn set_delta(&mut self, sample: usize, layer: usize, delta: Array2<f64>) {
        let slots = self.filter.layout.layers[layer - 1];
        let s = &self.samples[sample];
        let h_prev = if layer == 1 {
            self.features[sample]
        } else {
            s.traces[layer - 2].h.view()
        };
        let aggregate = s.traces[layer - 1].aggregate.view();
        node_outer_accumulate(&mut self.grads, slots.w0, h_prev, delta.view());
        node_outer_accumulate(&mut self.grads, slots.w1, aggregate, delta.view());
        if layer >= 2 {
            let n = delta.nrows();
            let mut e = Array2::zeros((n, slots.d_in));
            let mut local = Array2::zeros((n, slots.d_in));
            node_matmul_t(self.copies, slots.w1, delta.view(), e.view_mut());
            node_matmul_t(self.copies, slots.w0, delta.view(), local.view_mut());
            let s = &mut self.samples[sample];
            s.message = Some(e);
            s.local = Some(local);
        }
    }
}
