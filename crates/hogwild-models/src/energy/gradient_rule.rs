//! The energy GNN's default asynchronous rule (`async_rule = "gradient"`): the paper's §5.3
//! gradient step with messages, run by the simulator one node update at a time.

use super::rows::{RowNet, RowTape};
use super::{EnergyContext, EnergyGnn};
use crate::model::{Execution, LocalRule, Model};
use hogwild_graph::Graph;
use ndarray::Array2;
use std::sync::Mutex;

/// The paper's §5.3 rule: node `i` holds `h_i` and, for each in-neighbour `j`, the message
/// `g_ij = ∂e_i/∂h_j` computed from its own (possibly stale) view; it steps
/// `h_i ← h_i − α (∂e_i/∂h_i + Σ_j g_ji)`, reading each `g_ji` from its view of `j`
/// (`α` per node and dimension: [`super::AsyncCurvature`]).
pub(super) struct EnergyRule<'a> {
    pub(super) model: &'a EnergyGnn,
    /// The model's two networks, laid out for single-row passes.
    pub(super) message: RowNet,
    pub(super) update: RowNet,
    pub(super) ctx: EnergyContext<'a>,
    pub(super) reverse: Vec<usize>,
    /// The step of each node and dimension, row-major (`i · k + c`).
    pub(super) step: Vec<f64>,
    /// Reused buffers: the rule runs on one thread, the lock is never contended.
    pub(super) scratch: Mutex<Scratch>,
}

/// Buffers of one local evaluation, sized for the largest degree.
pub(super) struct Scratch {
    /// Tapes of the message network over a node's in-edges and of the update network.
    pub(super) message: RowTape,
    pub(super) update: RowTape,
    /// Convex inputs of the messages, one row `(h_j)` or `(h_j, h_i)` per in-edge.
    pub(super) y: Vec<f64>,
    /// Aggregated message.
    pub(super) agg: Vec<f64>,
    /// `∂e_i/∂(h_j)` or `∂e_i/∂(h_j, h_i)`, one row per in-edge.
    pub(super) dy: Vec<f64>,
    /// Gradients of the messages, one row per in-edge.
    pub(super) d_msg: Vec<f64>,
}

impl EnergyRule<'_> {
    /// Writes `∂e_i/∂h_i` into `d_self` and `∂e_i/∂h_j` of in-edge `r` into
    /// `d_nb[r k..(r + 1) k]`, at `h_i = own`, `h_j = nb[r][..k]`. The message network runs
    /// on all in-edges in one pass ([`RowNet`]); sums run in edge order.
    fn local_grads(
        &self,
        i: usize,
        own: &[f64],
        nb: &[&[f64]],
        d_self: &mut [f64],
        d_nb: &mut [f64],
    ) {
        let m = self.model;
        let k = m.cfg.hidden;
        let g = self.ctx.graph;
        let edges = g.in_edges(i);
        let deg = edges.len();
        let d_m = self.message.out_width();
        let mut guard = self.scratch.lock().expect("never poisoned");
        let sc = &mut *guard;
        let w = m.wiring.ends() * k;
        let y = &mut sc.y[..deg * w];
        for (row, view) in y.chunks_exact_mut(w).zip(nb) {
            m.wiring.edge_inputs(&view[..k], &own[..k], row);
        }
        self.message.forward(
            self.ctx.message.row_inputs(edges.clone()),
            &[],
            y,
            &mut sc.message,
        );
        sc.agg.fill(0.0);
        for (e, out) in edges.clone().zip(sc.message.out().chunks_exact(d_m)) {
            let a = self.ctx.weights[e];
            for (s, &o) in sc.agg.iter_mut().zip(out) {
                *s += a * o;
            }
        }
        self.update.forward(
            self.ctx.update.row_inputs(i..i + 1),
            &sc.agg,
            own,
            &mut sc.update,
        );
        for (d, &h) in d_self.iter_mut().zip(own) {
            *d = m.cfg.beta * h;
        }
        let d_agg = self.update.backward(&mut sc.update, &[1.0], d_self);
        let d_msg = &mut sc.d_msg[..deg * d_m];
        for (e, row) in edges.zip(d_msg.chunks_exact_mut(d_m)) {
            let a = self.ctx.weights[e];
            for (d, &v) in row.iter_mut().zip(d_agg) {
                *d = a * v;
            }
        }
        let dy = &mut sc.dy[..deg * w];
        dy.fill(0.0);
        self.message.backward(&mut sc.message, d_msg, dy);
        for (row, d) in dy.chunks_exact(w).zip(d_nb.chunks_exact_mut(k)) {
            let (d_j, d_i) = m.wiring.edge_input_grads(row, k);
            d.copy_from_slice(d_j);
            if let Some(d_i) = d_i {
                for (d, &v) in d_self.iter_mut().zip(d_i) {
                    *d += v;
                }
            }
        }
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
        let edges = self.ctx.graph.in_edges(i);
        self.ctx.message.row_inputs(edges.clone()).prefetch();
        self.ctx.update.row_inputs(i..i + 1).prefetch();
        hogwild_graph::prefetch::prefetch(&self.reverse[edges]);
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
