//! The energy GNN's default asynchronous rule (`async_rule = "gradient"`): the paper's §5.3
//! gradient step with messages, run by the simulator one node update at a time.

use super::row_pass::RowPass;
use super::{EnergyContext, EnergyGnn};
use crate::model::{Execution, LocalRule, Model};
use hogwild_graph::Graph;
use ndarray::Array2;

/// The paper's §5.3 rule: node `i` holds `h_i` and, for each in-neighbour `j`, the message
/// `g_ij = ∂e_i/∂h_j` computed from its own (possibly stale) view; it steps
/// `h_i ← h_i − α (∂e_i/∂h_i + Σ_j g_ji)`, reading each `g_ji` from its view of `j`
/// (`α` per node and dimension: [`super::AsyncCurvature`]).
pub(super) struct EnergyRule<'a> {
    pub(super) model: &'a EnergyGnn,
    /// The model's networks, laid out for single-node passes.
    pub(super) pass: RowPass,
    pub(super) ctx: EnergyContext<'a>,
    pub(super) reverse: Vec<usize>,
    /// The step of each node and dimension, row-major (`i · k + c`).
    pub(super) step: Vec<f64>,
}

impl EnergyRule<'_> {
    /// [`RowPass::local_grads`] of node `i`, without the value.
    fn local_grads(
        &self,
        i: usize,
        own: &[f64],
        nb: &[&[f64]],
        d_self: &mut [f64],
        d_nb: &mut [f64],
    ) {
        self.pass
            .local_grads(self.model, &self.ctx, i, own, nb, d_self, d_nb);
    }
}

impl LocalRule for EnergyRule<'_> {
    fn graph(&self) -> &Graph {
        self.ctx.graph
    }
    fn execution(&self) -> Execution {
        self.model.execution()
    }
    fn state_len(&self, i: usize) -> usize {
        self.model.cfg.hidden * (1 + self.ctx.graph.degree(i))
    }
    fn init(&self, i: usize, out: &mut [f64]) {
        // Every node starts at h = 0, so its messages at the initial state are known locally.
        let k = self.model.cfg.hidden;
        let zero = vec![0.0; k];
        let nb: Vec<&[f64]> = vec![&zero[..]; self.ctx.graph.degree(i)];
        let mut d_self = vec![0.0; k];
        let (h, d_nb) = out.split_at_mut(k);
        h.fill(0.0);
        self.local_grads(i, &zero, &nb, &mut d_self, d_nb);
    }
    fn update(&self, i: usize, _count: usize, own: &[f64], views: &[&[f64]], out: &mut [f64]) {
        let k = self.model.cfg.hidden;
        let (h, d_nb) = out.split_at_mut(k);
        // The new messages go straight to their place; the gradient is built in `h`.
        self.local_grads(i, &own[..k], views, h, d_nb);
        // Each entry of the gradient adds its neighbours' messages in edge order.
        for (view, e) in views.iter().zip(self.ctx.graph.in_edges(i)) {
            let message = &view[k * (1 + self.reverse[e])..][..k];
            for (o, &g) in h.iter_mut().zip(message) {
                *o += g;
            }
        }
        for ((o, &x), &a) in h.iter_mut().zip(own).zip(&self.step[i * k..]) {
            *o = x - a * *o;
        }
    }
    fn prefetch(&self, i: usize) {
        RowPass::prefetch(&self.ctx, i);
        hogwild_graph::prefetch::prefetch(&self.reverse[self.ctx.graph.in_edges(i)]);
    }
    fn residual(&self, states: &[Vec<f64>]) -> f64 {
        self.residual_with_frozen(states, &[])
    }
    /// What the live nodes descend when some are frozen (crashed): a frozen node sends no
    /// new gradient messages, so a live neighbour keeps adding the last one it sent, a
    /// constant. The live nodes therefore minimise their own energy terms (the frozen
    /// states held) plus those constant linear terms in place of the frozen nodes' terms:
    /// still β-strongly convex, with the gradient below, so the bound holds for that
    /// function. With no node frozen it is `∇E` itself.
    fn residual_with_frozen(&self, states: &[Vec<f64>], frozen: &[bool]) -> f64 {
        let k = self.model.cfg.hidden;
        let g = self.ctx.graph;
        let h = Array2::from_shape_fn((states.len(), k), |(i, c)| states[i][c]);
        let mut grad = self.model.energy_grads::<f64>(&self.ctx, h.view(), false).1;
        for j in (0..states.len()).filter(|&j| frozen.get(j) == Some(&true)) {
            // The frozen node's messages at the current states, replaced by the ones it sent.
            let views: Vec<&[f64]> = g.in_edges(j).map(|e| &states[g.edge(e).0][..]).collect();
            let mut d_self = vec![0.0; k];
            let mut fresh = vec![0.0; k * views.len()];
            self.local_grads(j, &states[j][..k], &views, &mut d_self, &mut fresh);
            for (p, e) in g.in_edges(j).enumerate() {
                let i = g.edge(e).0;
                let sent = &states[j][k * (1 + p)..][..k];
                for ((d, &s), &f) in grad.row_mut(i).iter_mut().zip(sent).zip(&fresh[k * p..]) {
                    *d += s - f;
                }
            }
        }
        for (i, _) in frozen.iter().enumerate().filter(|(_, &f)| f) {
            grad.row_mut(i).fill(0.0);
        }
        self.model.distance_bound(grad.view())
    }
    fn readout(&self, states: &[Vec<f64>]) -> Array2<f64> {
        let k = self.model.cfg.hidden;
        let h = Array2::from_shape_fn((states.len(), k), |(i, c)| states[i][c]);
        self.model.readout(h.view())
    }
}
