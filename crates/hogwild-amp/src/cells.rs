//! One message step of each update cell: forward, and the hand-written backward pass.
//!
//! Forward writes the new state (and LSTM cell state) and a per-step cache of what backward
//! needs; backward takes the gradient with respect to the new state (and cell state) and adds
//! the gradients of the parameters and of `[h_old ‖ m]` (the old state and the incoming message). The outgoing
//! message `W_m [h_new ‖ m] + b_m` and the halting unit are handled in [`crate::tape`].

use crate::model::{matvec_add, matvec_t_add, outer_add, sigmoid, tanh, AmpModel, Update};
use ndarray::Array2;

/// Floats of per-step cache beyond the old and new state.
pub(crate) fn cache_len(update: Update, hidden: usize) -> usize {
    match update {
        Update::Rnn => 0,
        // r, z, n, W_hn h + b_hn
        Update::Gru => 4 * hidden,
        // c_old, i, f, g, o, c_new, tanh(c_new)
        Update::Lstm => 7 * hidden,
    }
}

/// Forward of one step. `hm` is `[h_old ‖ m]`; `c` is the node's LSTM cell state (updated in
/// place; empty for other cells); `gates` is scratch for the gated cells' pre-activations.
pub(crate) fn forward(
    model: &AmpModel,
    hm: &[f64],
    c: &mut [f64],
    h_new: &mut [f64],
    cache: &mut [f64],
    gates: &mut Vec<f64>,
) {
    let ids = &model.ids;
    let h = model.config.hidden;
    let (h_old, m) = hm.split_at(h);
    match model.config.update {
        Update::Rnn => {
            h_new.copy_from_slice(model.slice(ids.cell_b));
            matvec_add(h_new, model.slice(ids.cell_w), hm);
            h_new.iter_mut().for_each(|x| *x = x.max(0.0));
        }
        Update::Gru => {
            let (w_hh, b_hh) = ids.cell_wh.expect("GRU has hidden weights");
            gates.clear();
            gates.extend_from_slice(model.slice(ids.cell_b));
            gates.extend_from_slice(model.slice(b_hh));
            let (gi, gh) = gates.split_at_mut(3 * h);
            matvec_add(gi, model.slice(ids.cell_w), m);
            matvec_add(gh, model.slice(w_hh), h_old);
            let (r, rest) = cache.split_at_mut(h);
            let (z, rest) = rest.split_at_mut(h);
            let (n, ghn) = rest.split_at_mut(h);
            for j in 0..h {
                r[j] = sigmoid(gi[j] + gh[j]);
                z[j] = sigmoid(gi[h + j] + gh[h + j]);
                ghn[j] = gh[2 * h + j];
                n[j] = tanh(gi[2 * h + j] + r[j] * ghn[j]);
                h_new[j] = (1.0 - z[j]) * n[j] + z[j] * h_old[j];
            }
        }
        Update::Lstm => {
            let (w_hh, b_hh) = ids.cell_wh.expect("LSTM has hidden weights");
            gates.clear();
            gates.extend_from_slice(model.slice(ids.cell_b));
            add(gates, model.slice(b_hh));
            matvec_add(gates, model.slice(ids.cell_w), m);
            matvec_add(gates, model.slice(w_hh), h_old);
            let (c_old, rest) = cache.split_at_mut(h);
            let (ifgo, rest) = rest.split_at_mut(4 * h);
            let (c_new, tc) = rest.split_at_mut(h);
            c_old.copy_from_slice(c);
            for j in 0..h {
                let i = sigmoid(gates[j]);
                let f = sigmoid(gates[h + j]);
                let g = tanh(gates[2 * h + j]);
                let o = sigmoid(gates[3 * h + j]);
                ifgo[j] = i;
                ifgo[h + j] = f;
                ifgo[2 * h + j] = g;
                ifgo[3 * h + j] = o;
                c_new[j] = f * c_old[j] + i * g;
                tc[j] = tanh(c_new[j]);
                h_new[j] = o * tc[j];
            }
            c.copy_from_slice(c_new);
        }
    }
}

/// Gradient sinks of one backward step.
pub(crate) struct StepGrads<'a> {
    /// Parameter gradients, indexed like the model's parameters.
    pub params: &'a mut [Array2<f64>],
    /// In: d/d h_new (overwritten: used as scratch).
    pub h_new: &'a mut [f64],
    /// LSTM only. In: d/d c_new. Out: d/d c_old.
    pub c: &'a mut [f64],
    /// Accumulates d/d [h_old ‖ m].
    pub hm: &'a mut [f64],
    /// Scratch for the gates' gradients (resized as needed).
    pub gates: &'a mut Vec<f64>,
}

fn grad_slice(params: &mut [Array2<f64>], id: usize) -> &mut [f64] {
    params[id].as_slice_mut().expect("contiguous gradients")
}

/// Backward of one step; `hm = [h_old ‖ m]`, `h_new` and `cache` as written by [`forward`].
pub(crate) fn backward(
    model: &AmpModel,
    hm: &[f64],
    h_new: &[f64],
    cache: &[f64],
    g: StepGrads<'_>,
) {
    let ids = &model.ids;
    let h = model.config.hidden;
    let (h_old, m) = hm.split_at(h);
    match model.config.update {
        Update::Rnn => {
            // d/d pre-activation, in place.
            let g_pre = g.h_new;
            g_pre
                .iter_mut()
                .zip(h_new)
                .for_each(|(gp, &hn)| *gp = if hn > 0.0 { *gp } else { 0.0 });
            outer_add(grad_slice(g.params, ids.cell_w), g_pre, hm);
            add(grad_slice(g.params, ids.cell_b), g_pre);
            matvec_t_add(g.hm, model.slice(ids.cell_w), g_pre);
        }
        Update::Gru => {
            let (w_hh, b_hh) = ids.cell_wh.expect("GRU has hidden weights");
            let (r, rest) = cache.split_at(h);
            let (z, rest) = rest.split_at(h);
            let (n, ghn) = rest.split_at(h);
            g.gates.clear();
            g.gates.resize(6 * h, 0.0);
            let (g_gi, g_gh) = g.gates.split_at_mut(3 * h);
            let (g_h_old, g_m) = g.hm.split_at_mut(h);
            for j in 0..h {
                let gh_new = g.h_new[j];
                let a_n = gh_new * (1.0 - z[j]) * (1.0 - n[j] * n[j]);
                let a_z = gh_new * (h_old[j] - n[j]) * z[j] * (1.0 - z[j]);
                let a_r = a_n * ghn[j] * r[j] * (1.0 - r[j]);
                g_gi[j] = a_r;
                g_gi[h + j] = a_z;
                g_gi[2 * h + j] = a_n;
                g_gh[j] = a_r;
                g_gh[h + j] = a_z;
                g_gh[2 * h + j] = a_n * r[j];
                g_h_old[j] += gh_new * z[j];
            }
            outer_add(grad_slice(g.params, ids.cell_w), g_gi, m);
            add(grad_slice(g.params, ids.cell_b), g_gi);
            outer_add(grad_slice(g.params, w_hh), g_gh, h_old);
            add(grad_slice(g.params, b_hh), g_gh);
            matvec_t_add(g_m, model.slice(ids.cell_w), g_gi);
            matvec_t_add(g_h_old, model.slice(w_hh), g_gh);
        }
        Update::Lstm => {
            let (w_hh, b_hh) = ids.cell_wh.expect("LSTM has hidden weights");
            let (c_old, rest) = cache.split_at(h);
            let (ifgo, rest) = rest.split_at(4 * h);
            let tc = &rest[h..2 * h];
            g.gates.clear();
            g.gates.resize(4 * h, 0.0);
            let a = &mut g.gates[..];
            for j in 0..h {
                let (i, f, gg, o) = (ifgo[j], ifgo[h + j], ifgo[2 * h + j], ifgo[3 * h + j]);
                let g_o = g.h_new[j] * tc[j];
                let g_c = g.c[j] + g.h_new[j] * o * (1.0 - tc[j] * tc[j]);
                a[j] = g_c * gg * i * (1.0 - i);
                a[h + j] = g_c * c_old[j] * f * (1.0 - f);
                a[2 * h + j] = g_c * i * (1.0 - gg * gg);
                a[3 * h + j] = g_o * o * (1.0 - o);
                g.c[j] = g_c * f;
            }
            let (g_h_old, g_m) = g.hm.split_at_mut(h);
            outer_add(grad_slice(g.params, ids.cell_w), a, m);
            add(grad_slice(g.params, ids.cell_b), a);
            outer_add(grad_slice(g.params, w_hh), a, h_old);
            add(grad_slice(g.params, b_hh), a);
            matvec_t_add(g_m, model.slice(ids.cell_w), a);
            matvec_t_add(g_h_old, model.slice(w_hh), a);
        }
    }
}

pub(crate) fn add(out: &mut [f64], x: &[f64]) {
    out.iter_mut().zip(x).for_each(|(o, x)| *o += x);
}
