//! One node's energy term and its first derivatives in `f64`, on the row passes
//! ([`super::rows`]): what every asynchronous rule evaluates on each update.

use super::rows::{RowNet, RowTape};
use super::{EnergyContext, EnergyGnn};
use hogwild_graph::Graph;
use std::sync::Mutex;

/// The model's two networks laid out for single-node passes, with reused buffers.
pub(super) struct RowPass {
    message: RowNet,
    update: RowNet,
    /// The rules run on one thread: the lock is never contended.
    scratch: Mutex<Scratch>,
}

/// Buffers of one local evaluation, sized for the largest degree.
struct Scratch {
    /// Tapes of the message network over a node's in-edges and of the update network.
    message: RowTape,
    update: RowTape,
    /// Convex inputs of the messages, one row `(h_j)` or `(h_j, h_i)` per in-edge.
    y: Vec<f64>,
    /// Aggregated message.
    agg: Vec<f64>,
    /// `∂e_i/∂(h_j)` or `∂e_i/∂(h_j, h_i)`, one row per in-edge.
    dy: Vec<f64>,
    /// Gradients of the messages, one row per in-edge.
    d_msg: Vec<f64>,
}

impl RowPass {
    /// The passes of `model` on `graph`.
    pub(super) fn new(model: &EnergyGnn, graph: &Graph) -> RowPass {
        let k = model.cfg.hidden;
        let max_degree = (0..graph.n_nodes())
            .map(|i| graph.degree(i))
            .max()
            .unwrap_or(0);
        let (message, update) = (
            model.message.row_net(&model.params),
            model.update.row_net(&model.params),
        );
        let (w, d_m) = (model.wiring.ends() * k, message.out_width());
        let scratch = Mutex::new(Scratch {
            message: message.tape(max_degree),
            update: update.tape(1),
            y: vec![0.0; max_degree * w],
            agg: vec![0.0; d_m],
            dy: vec![0.0; max_degree * w],
            d_msg: vec![0.0; max_degree * d_m],
        });
        RowPass {
            message,
            update,
            scratch,
        }
    }

    /// Returns `e_i` and writes `∂e_i/∂h_i` into `d_self` and `∂e_i/∂h_j` of in-edge `r`
    /// into `d_nb[r k..(r + 1) k]`, at `h_i = own`, `h_j = nb[r][..k]`. The message network
    /// runs on all in-edges in one pass ([`RowNet`]); sums run in edge order.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn local_grads(
        &self,
        model: &EnergyGnn,
        ctx: &EnergyContext<'_>,
        i: usize,
        own: &[f64],
        nb: &[&[f64]],
        d_self: &mut [f64],
        d_nb: &mut [f64],
    ) -> f64 {
        let k = model.cfg.hidden;
        let edges = ctx.graph.in_edges(i);
        let deg = edges.len();
        let d_m = self.message.out_width();
        let mut guard = self.scratch.lock().expect("never poisoned");
        let sc = &mut *guard;
        let w = model.wiring.ends() * k;
        let y = &mut sc.y[..deg * w];
        for (row, view) in y.chunks_exact_mut(w).zip(nb) {
            model.wiring.edge_inputs(&view[..k], &own[..k], row);
        }
        self.message.forward(
            ctx.message.row_inputs(edges.clone()),
            &[],
            y,
            &mut sc.message,
        );
        sc.agg.fill(0.0);
        for (e, out) in edges.clone().zip(sc.message.out().chunks_exact(d_m)) {
            let a = ctx.weights[e];
            for (s, &o) in sc.agg.iter_mut().zip(out) {
                *s += a * o;
            }
        }
        self.update.forward(
            ctx.update.row_inputs(i..i + 1),
            &sc.agg,
            own,
            &mut sc.update,
        );
        let mut value = sc.update.out()[0];
        for (d, &h) in d_self.iter_mut().zip(own) {
            value += 0.5 * model.cfg.beta * h * h;
            *d = model.cfg.beta * h;
        }
        let d_agg = self.update.backward(&mut sc.update, &[1.0], d_self);
        let d_msg = &mut sc.d_msg[..deg * d_m];
        for (e, row) in edges.zip(d_msg.chunks_exact_mut(d_m)) {
            let a = ctx.weights[e];
            for (d, &v) in row.iter_mut().zip(d_agg) {
                *d = a * v;
            }
        }
        let dy = &mut sc.dy[..deg * w];
        dy.fill(0.0);
        self.message.backward(&mut sc.message, d_msg, dy);
        for (row, d) in dy.chunks_exact(w).zip(d_nb.chunks_exact_mut(k)) {
            let (d_j, d_i) = model.wiring.edge_input_grads(row, k);
            d.copy_from_slice(d_j);
            if let Some(d_i) = d_i {
                for (d, &v) in d_self.iter_mut().zip(d_i) {
                    *d += v;
                }
            }
        }
        value
    }

    /// Prefetches node `i`'s rows of the networks' inputs.
    pub(super) fn prefetch(ctx: &EnergyContext<'_>, i: usize) {
        let edges = ctx.graph.in_edges(i);
        ctx.message.row_inputs(edges).prefetch();
        ctx.update.row_inputs(i..i + 1).prefetch();
    }
}
