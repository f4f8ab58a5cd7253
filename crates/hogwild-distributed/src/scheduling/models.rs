//! The two GCNs of the scheduling experiment: the actor, which scales every link's utility,
//! and the critic (the "digital twin"), which predicts from the scaling factors how much
//! utility each link will get under local greedy search.
//!
//! - Actor: Chebyshev GCN (`K = 2`) `1 → 32 → 32 → 1`, leaky ReLU, leaky ReLU, ReLU, no
//!   bias, input the constant 1 at every node; its output `z_v` scales the utility `w_v`.
//! - Critic: Chebyshev GCN `2 → 64 → 64 → 64 → 64 → 2` with biases, leaky ReLU, and a
//!   softmax over the two outputs of every node. Its input is `[1, z_v]`, normalised over
//!   all `2N` entries as `(x − mean)/(6 · std) + 0.5` (population std), and the gradient
//!   flows through the normalisation.
//! - The actor's objective: minimise `−mean_v p_{v,0}` (the predicted utility share).
//! - The critic's loss: `√(mean over the N × 2 entries of (p − y)²) + c Σ W²` over its
//!   kernels (Keras's `l2(c)`, c = 5e-4).

use super::cheb::{ChebNet, ChebTrace};
use crate::filter::Activation;
use hogwild_graph::Graph;
use ndarray::{Array2, ArrayView2};

/// The actor of `hidden` units in each of its `layers − 1` hidden layers.
pub fn actor(layers: usize, hidden: usize) -> ChebNet {
    let mut widths = vec![1];
    widths.extend(std::iter::repeat_n(hidden, layers - 1));
    widths.push(1);
    let mut activations = vec![Activation::LeakyRelu; layers - 1];
    activations.push(Activation::Relu);
    ChebNet {
        widths,
        activations,
        bias: false,
    }
}

/// The actor's output `z` (one per node) on support `s`, each node with its row of
/// `copies`, and its trace.
pub fn actor_forward(net: &ChebNet, s: &Graph, copies: ArrayView2<'_, f64>) -> ChebTrace {
    net.forward(s, copies, Array2::ones((s.n_nodes(), 1)))
}

/// The critic with `layers` layers, `hidden` units in each hidden layer and kernel L2
/// weight `l2`.
#[derive(Debug, Clone, PartialEq)]
pub struct Critic {
    /// Its Chebyshev GCN (the last layer's activation is the identity; the softmax follows).
    pub net: ChebNet,
    /// The L2 weight `c` of `c Σ W²`.
    pub l2: f64,
}

/// A forward pass of the critic.
#[derive(Debug, Clone)]
pub struct CriticPass {
    trace: ChebTrace,
    /// `(x − mean) / std` of the raw input `[1, z]`.
    standardised: Array2<f64>,
    /// `1 / (6 std)` (0 if every input entry is equal).
    inv_scale: f64,
    /// Softmax outputs, `N × 2`.
    pub p: Array2<f64>,
}

impl Critic {
    /// A critic of `layers` layers (the reference code's: 5, hidden 64, L2 5e-4).
    ///
    /// ```
    /// use hogwild_distributed::scheduling::models::Critic;
    /// let critic = Critic::new(5, 64, 5e-4);
    /// let s = hogwild_distributed::topology::scheduling_laplacian(&hogwild_graph::Graph::path(4));
    /// let phi = critic.net.initial_copies(1, &mut hogwild_distributed::stream("doc"));
    /// let pass = critic.forward(&s, phi.view(), &[0.1, 0.5, 0.2, 0.9]);
    /// // a softmax over the two outputs of every link
    /// assert!(pass.p.rows().into_iter().all(|r| (r.sum() - 1.0).abs() < 1e-12));
    /// let (_, dz) = critic.actor_objective(&s, phi.view(), &pass);
    /// assert_eq!(dz.len(), 4);
    /// ```
    pub fn new(layers: usize, hidden: usize, l2: f64) -> Critic {
        let mut widths = vec![2];
        widths.extend(std::iter::repeat_n(hidden, layers - 1));
        widths.push(2);
        let mut activations = vec![Activation::LeakyRelu; layers - 1];
        activations.push(Activation::Identity);
        Critic {
            net: ChebNet {
                widths,
                activations,
                bias: true,
            },
            l2,
        }
    }

    /// The critic's prediction for scaling factors `z` on support `s` (`phi`: one row).
    pub fn forward(&self, s: &Graph, phi: ArrayView2<'_, f64>, z: &[f64]) -> CriticPass {
        let n = z.len();
        let raw = Array2::from_shape_fn((n, 2), |(v, c)| if c == 0 { 1.0 } else { z[v] });
        let m = (2 * n) as f64;
        let mean = raw.sum() / m;
        let sd = (raw.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / m).sqrt();
        let standardised = if sd > 0.0 {
            raw.mapv(|x| (x - mean) / sd)
        } else {
            Array2::zeros((n, 2))
        };
        let inv_scale = if sd > 0.0 { 1.0 / (6.0 * sd) } else { 0.0 };
        let x = standardised.mapv(|x| x / 6.0 + 0.5);
        let trace = self.net.forward(s, phi, x);
        let mut p = trace.output().clone();
        for mut row in p.rows_mut() {
            let top = row.fold(f64::NEG_INFINITY, |a, &b| a.max(b));
            row.mapv_inplace(|v| (v - top).exp());
            let sum = row.sum();
            row.mapv_inplace(|v| v / sum);
        }
        CriticPass {
            trace,
            standardised,
            inv_scale,
            p,
        }
    }

    /// `∂/∂(softmax input)` from `∂/∂p`.
    fn softmax_backward(pass: &CriticPass, p_grad: &Array2<f64>) -> Array2<f64> {
        let mut g = p_grad.clone();
        for (mut gr, pr) in g.rows_mut().into_iter().zip(pass.p.rows()) {
            let dot: f64 = gr.iter().zip(pr.iter()).map(|(a, b)| a * b).sum();
            gr.iter_mut()
                .zip(pr.iter())
                .for_each(|(gk, &pk)| *gk = pk * (*gk - dot));
        }
        g
    }

    /// The actor's objective `−mean_v p_{v,0}` and its gradient with respect to `z`.
    pub fn actor_objective(
        &self,
        s: &Graph,
        phi: ArrayView2<'_, f64>,
        pass: &CriticPass,
    ) -> (f64, Vec<f64>) {
        let n = pass.p.nrows();
        let objective = -pass.p.column(0).sum() / n as f64;
        let p_grad =
            Array2::from_shape_fn((n, 2), |(_, c)| if c == 0 { -1.0 / n as f64 } else { 0.0 });
        let out = Self::softmax_backward(pass, &p_grad);
        let x_grad = self
            .net
            .backward(s, phi, &pass.trace, out.view(), None, true)
            .expect("the input gradient was asked for");
        // Through the normalisation y = x̂ / 6 + 0.5, x̂ = (x − mean) / std over all entries.
        let m = (2 * n) as f64;
        let mean_g = x_grad.sum() / m;
        let mean_gx: f64 = x_grad
            .iter()
            .zip(pass.standardised.iter())
            .map(|(g, x)| g * x)
            .sum::<f64>()
            / m;
        let z_grad = (0..n)
            .map(|v| {
                pass.inv_scale * (x_grad[[v, 1]] - mean_g - pass.standardised[[v, 1]] * mean_gx)
            })
            .collect();
        (objective, z_grad)
    }

    /// The critic's loss against `target` (`N × 2`) and its gradient with respect to the
    /// critic's parameters `phi` (one row).
    pub fn loss(
        &self,
        s: &Graph,
        phi: ArrayView2<'_, f64>,
        pass: &CriticPass,
        target: &Array2<f64>,
    ) -> (f64, Array2<f64>) {
        let diff = &pass.p - target;
        let mse = diff.iter().map(|d| d * d).sum::<f64>() / diff.len() as f64;
        let rmse = mse.sqrt();
        let phi_row = phi.as_standard_layout();
        let phi_row = phi_row.as_slice().expect("one standard row");
        let loss = rmse + self.l2 * self.net.kernel_square_sum(phi_row);
        let mut grads = Array2::zeros((1, phi_row.len()));
        if rmse > 0.0 {
            let scale = diff.len() as f64 * rmse;
            let p_grad = diff / scale;
            let out = Self::softmax_backward(pass, &p_grad);
            self.net
                .backward(s, phi, &pass.trace, out.view(), Some(&mut grads), false);
        }
        let g = grads.as_slice_mut().expect("a fresh array");
        self.net.add_kernel_l2_gradient(phi_row, self.l2, g);
        (loss, grads)
    }
}
