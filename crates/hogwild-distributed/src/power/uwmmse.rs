//! The unrolled WMMSE network (UWMMSE) on per-node parameter copies: its forward pass, the
//! hand-written reverse mode through the unrolled layers, and the message rounds of both.
//!
//! Layer `l` of `L` runs one WMMSE iteration ([`super::wmmse`]) with the MSE weights
//! replaced by `ŵ = a ⊙ w + b`, where `a` and `b` come from two small GCNs of that layer
//! (`2L` GCNs in all). A GCN has two graph-filter layers `1 → hidden → 1` on the gain
//! matrix, input the constant 1:
//!
//! `x′_i = act(g_ii x_i W0_i + b0_i + Σ_j g_ij (x_j W1_j) + b1_i)`,
//!
//! ReLU after the first layer and sigmoid after the second. The *sender* `j` applies its own
//! copy of `W1` before sending (the UWMMSE reference code's layout); biases and `W0` belong
//! to the receiver `i`. The GCNs depend on the gains only, so their two rounds come first.
//!
//! Every sum over other pairs is one message round over the sample's interference links
//! ([`super::channel::interference_links`]), counted in a [`Ledger`]: a forward pass is
//! `2L + 2` rounds (the GCNs' two, the first `u` round riding on the first of them, one `u`
//! round for each later layer, one `v` round per layer, and one round for the interference
//! the rates need), and the backward pass the same number in reverse (the first layer's `u`
//! round has nothing upstream of it and is skipped; the first GCN layer's sender-side `W1`
//! needs one more).

use crate::kernels::axpy;
use crate::network::Ledger;
use multiversion::multiversion;
use ndarray::{Array2, ArrayView2};
use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use std::f64::consts::LN_2;

/// The unrolled network's shape and the system constants it computes with.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Uwmmse {
    /// Unrolled layers `L`.
    pub layers: usize,
    /// Hidden width of every GCN.
    pub hidden: usize,
    /// `P_max` in watts: amplitudes are clipped to `[0, √P_max]`.
    pub max_power: f64,
    /// Noise power `σ²` in watts.
    pub noise: f64,
}

/// Offsets inside one GCN's block of a copy.
struct Slots {
    w0a: usize,
    w1a: usize,
    b0a: usize,
    b1a: usize,
    w0b: usize,
    w1b: usize,
    b0b: usize,
    b1b: usize,
}

/// Counts rounds over one sample's links, or nothing (inference outside any ledger).
pub struct Rounds<'a> {
    /// Where the rounds go.
    pub ledger: Option<&'a mut Ledger>,
    /// Directed links of the sample.
    pub links: u64,
}

impl Rounds<'_> {
    fn count(&mut self, width: usize) {
        if let Some(l) = self.ledger.as_deref_mut() {
            l.count_round(self.links, width as u64);
        }
    }
}

/// One unrolled layer's values, kept for the backward pass.
#[derive(Debug, Clone)]
struct Step {
    v_in: Vec<f64>,
    s: Vec<f64>,
    u: Vec<f64>,
    w: Vec<f64>,
    w_hat: Vec<f64>,
    t: Vec<f64>,
    v_pre: Vec<f64>,
}

/// A forward pass of one sample, kept for its backward pass.
#[derive(Debug, Clone)]
pub struct Trace {
    z1: Array2<f64>,
    h1: Array2<f64>,
    coef: Array2<f64>,
    steps: Vec<Step>,
    v: Vec<f64>,
    /// `Σ_i log2(1 + SINR_i)` of the final allocation.
    pub sum_rate: f64,
}

impl Trace {
    /// The final amplitudes `v` (powers `v²`).
    pub fn amplitudes(&self) -> &[f64] {
        &self.v
    }
}

/// What every receiver forms from one part of a round over a dense operator,
/// `out_i = Σ_j op[i, j] p_j` (the dense form of [`crate::network::combine`]: the links
/// change with every sample); `op` and `p` in standard layout. The gradient consensus mixes
/// with it too.
pub fn dense_combine(op: &Array2<f64>, p: &Array2<f64>) -> Array2<f64> {
    let (n, c) = p.dim();
    let mut out = Array2::zeros((n, c));
    let outs = out.as_slice_mut().expect("a fresh array");
    dense_combine_kernel(standard(op), standard(p), n, c, outs);
    out
}

#[multiversion(targets("x86_64+avx2+avx"))]
fn dense_combine_kernel(ops: &[f64], ps: &[f64], n: usize, c: usize, outs: &mut [f64]) {
    for (i, row) in outs.chunks_exact_mut(c).enumerate() {
        for (j, &w) in ops[i * n..(i + 1) * n].iter().enumerate() {
            if w != 0.0 {
                axpy(row, w, &ps[j * c..(j + 1) * c]);
            }
        }
    }
}

/// `out_i = Σ_j op[j, i] p_j` (the transpose of [`dense_combine`]).
fn dense_combine_t(op: &Array2<f64>, p: &Array2<f64>) -> Array2<f64> {
    let (n, c) = p.dim();
    let mut out = Array2::zeros((n, c));
    let outs = out.as_slice_mut().expect("a fresh array");
    dense_combine_t_kernel(standard(op), standard(p), n, c, outs);
    out
}

#[multiversion(targets("x86_64+avx2+avx"))]
fn dense_combine_t_kernel(ops: &[f64], ps: &[f64], n: usize, c: usize, outs: &mut [f64]) {
    for j in 0..n {
        let pj = &ps[j * c..(j + 1) * c];
        for (i, &w) in ops[j * n..(j + 1) * n].iter().enumerate() {
            if w != 0.0 {
                axpy(&mut outs[i * c..(i + 1) * c], w, pj);
            }
        }
    }
}

fn standard(a: &Array2<f64>) -> &[f64] {
    a.as_slice().expect("standard layout")
}

/// `Σ_j op[i, j] x_j` for every `i`.
fn mv(op: &Array2<f64>, x: &[f64]) -> Vec<f64> {
    let n = x.len();
    standard(op)
        .chunks_exact(n)
        .map(|r| r.iter().zip(x).map(|(a, b)| a * b).sum())
        .collect()
}

/// `Σ_j op[j, i] x_j` for every `i`.
fn mv_t(op: &Array2<f64>, x: &[f64]) -> Vec<f64> {
    let mut out = vec![0.0; x.len()];
    for (r, &xj) in standard(op).chunks_exact(x.len()).zip(x) {
        axpy(&mut out, xj, r);
    }
    out
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

impl Uwmmse {
    /// GCNs in all: an `a` and a `b` GCN per layer (`a` of layer `l` is GCN `2l`).
    pub fn gcns(&self) -> usize {
        2 * self.layers
    }

    /// Scalars of one GCN: `W0`, `W1`, `b0`, `b1` of each of its two layers.
    pub fn gcn_len(&self) -> usize {
        6 * self.hidden + 2
    }

    /// Scalars per copy.
    pub fn len(&self) -> usize {
        self.gcns() * self.gcn_len()
    }

    /// Whether a copy holds no parameters (never, for a valid shape).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn slots(&self, gcn: usize) -> Slots {
        let (base, h) = (gcn * self.gcn_len(), self.hidden);
        Slots {
            w0a: base,
            w1a: base + h,
            b0a: base + 2 * h,
            b1a: base + 3 * h,
            w0b: base + 4 * h,
            w1b: base + 5 * h,
            b0b: base + 6 * h,
            b1b: base + 6 * h + 1,
        }
    }

    /// The start: every weight Glorot-uniform (`±√(6 / (fan_in + fan_out))`, which is ±1
    /// for `1 × hidden` and `hidden × 1`), every bias 0.1; one draw tiled to `rows`
    /// identical copies.
    pub fn initial_copies(&self, rows: usize, rng: &mut ChaCha8Rng) -> Array2<f64> {
        let limit = (6.0 / (1 + self.hidden) as f64).sqrt();
        let mut one = vec![0.1; self.len()];
        for gcn in 0..self.gcns() {
            let s = self.slots(gcn);
            for start in [s.w0a, s.w1a, s.w0b, s.w1b] {
                for x in &mut one[start..start + self.hidden] {
                    *x = limit * (2.0 * rng.random::<f64>() - 1.0);
                }
            }
        }
        Array2::from_shape_fn((rows, self.len()), |(_, k)| one[k])
    }

    /// The sum-rate of `gain` under `copies` (one row per pair, or one shared row), outside
    /// any ledger.
    pub fn sum_rate(&self, copies: ArrayView2<'_, f64>, gain: &Array2<f64>) -> f64 {
        let mut none = Rounds {
            ledger: None,
            links: 0,
        };
        self.forward(copies, gain, &mut none).sum_rate
    }

    /// The forward pass of one sample, each pair using its row of `copies`.
    pub fn forward(
        &self,
        copies: ArrayView2<'_, f64>,
        gain: &Array2<f64>,
        rounds: &mut Rounds<'_>,
    ) -> Trace {
        let n = gain.nrows();
        let (g, h) = (self.gcns(), self.hidden);
        let params = copies.to_slice().expect("copies in standard layout");
        let width = copies.ncols();
        let shared = copies.nrows() == 1;
        // Pair `i`'s copy.
        let copy = |i: usize| {
            let r = if shared { 0 } else { i };
            &params[r * width..(r + 1) * width]
        };
        let d: Vec<f64> = (0..n).map(|i| gain[[i, i]]).collect();
        let sq = gain.mapv(|x| x * x);

        // Round 1: the GCNs' first-layer messages W1_j (the input is 1), and the first
        // layer's received power.
        rounds.count(g * h + 1);
        let mut m1 = Array2::zeros((n, g * h));
        for (j, mut row) in m1.rows_mut().into_iter().enumerate() {
            let th = copy(j);
            for gi in 0..g {
                let s = self.slots(gi);
                for k in 0..h {
                    row[gi * h + k] = th[s.w1a + k];
                }
            }
        }
        let mut z1 = dense_combine(gain, &m1);
        for (i, mut row) in z1.rows_mut().into_iter().enumerate() {
            let th = copy(i);
            for gi in 0..g {
                let s = self.slots(gi);
                for k in 0..h {
                    let agg = row[gi * h + k];
                    row[gi * h + k] = d[i] * th[s.w0a + k] + th[s.b0a + k] + agg + th[s.b1a + k];
                }
            }
        }
        let h1 = z1.mapv(|z: f64| z.max(0.0));
        // Round 2: the second layer's messages h1_j · W1_j.
        rounds.count(g);
        let mut m2 = Array2::zeros((n, g));
        for j in 0..n {
            let (th, hj) = (copy(j), h1.row(j));
            for gi in 0..g {
                let s = self.slots(gi);
                m2[[j, gi]] = (0..h).map(|k| hj[gi * h + k] * th[s.w1b + k]).sum();
            }
        }
        let agg2 = dense_combine(gain, &m2);
        let mut coef = Array2::zeros((n, g));
        for i in 0..n {
            let (th, hi) = (copy(i), h1.row(i));
            for gi in 0..g {
                let s = self.slots(gi);
                let own: f64 = (0..h).map(|k| hi[gi * h + k] * th[s.w0b + k]).sum();
                coef[[i, gi]] = sigmoid(d[i] * own + th[s.b0b] + agg2[[i, gi]] + th[s.b1b]);
            }
        }

        let v_max = self.max_power.sqrt();
        let mut v = vec![v_max; n];
        let mut steps = Vec::with_capacity(self.layers);
        for l in 0..self.layers {
            if l > 0 {
                rounds.count(1);
            }
            let power: Vec<f64> = v.iter().map(|x| x * x).collect();
            let s: Vec<f64> = mv_t(&sq, &power).iter().map(|r| self.noise + r).collect();
            let u: Vec<f64> = (0..n).map(|i| d[i] * v[i] / s[i]).collect();
            let w: Vec<f64> = (0..n).map(|i| 1.0 / (1.0 - u[i] * d[i] * v[i])).collect();
            let w_hat: Vec<f64> = (0..n)
                .map(|i| coef[[i, 2 * l]] * w[i] + coef[[i, 2 * l + 1]])
                .collect();
            rounds.count(1);
            let q: Vec<f64> = (0..n).map(|j| u[j] * u[j] * w_hat[j]).collect();
            let t = mv(&sq, &q);
            let v_pre: Vec<f64> = (0..n)
                .map(|i| {
                    if t[i] == 0.0 {
                        0.0
                    } else {
                        d[i] * u[i] * w_hat[i] / t[i]
                    }
                })
                .collect();
            let v_out = v_pre.iter().map(|x| x.clamp(0.0, v_max)).collect();
            steps.push(Step {
                v_in: std::mem::replace(&mut v, v_out),
                s,
                u,
                w,
                w_hat,
                t,
                v_pre,
            });
        }
        rounds.count(1);
        let sum_rate = super::channel::sum_rate(gain, &v, self.noise);
        Trace {
            z1,
            h1,
            coef,
            steps,
            v,
            sum_rate,
        }
    }

    /// Adds `scale ×` the gradient of `−sum_rate` of `trace`'s sample to `grads` (the shape
    /// of `copies`): with one row per pair, row `i` receives the gradient with respect to
    /// pair `i`'s copy, computed from its own values and its neighbours' messages only;
    /// with one shared row, the centralized gradient.
    pub fn backward(
        &self,
        copies: ArrayView2<'_, f64>,
        gain: &Array2<f64>,
        trace: &Trace,
        scale: f64,
        grads: &mut Array2<f64>,
        rounds: &mut Rounds<'_>,
    ) {
        assert_eq!(copies.dim(), grads.dim());
        let n = gain.nrows();
        let (g, h) = (self.gcns(), self.hidden);
        let row = |i: usize| if copies.nrows() == 1 { 0 } else { i };
        let th = |i: usize, k: usize| copies[[row(i), k]];
        let d: Vec<f64> = (0..n).map(|i| gain[[i, i]]).collect();
        let sq = gain.mapv(|x| x * x);
        let v_max = self.max_power.sqrt();

        // The rates: rate_i = log2(s_i) − log2(s_i − sig_i), s_i = σ² + Σ_j g_ji² v_j².
        let v = &trace.v;
        let power: Vec<f64> = v.iter().map(|x| x * x).collect();
        let s: Vec<f64> = mv_t(&sq, &power).iter().map(|r| self.noise + r).collect();
        let mut v_bar = vec![0.0; n];
        let mut s_bar = vec![0.0; n];
        for i in 0..n {
            let sig = sq[[i, i]] * power[i];
            let rest = s[i] - sig;
            s_bar[i] = scale * sig / (s[i] * rest * LN_2);
            v_bar[i] = -scale / (rest * LN_2) * 2.0 * sq[[i, i]] * v[i];
        }
        rounds.count(1);
        let p_bar = mv(&sq, &s_bar);
        for j in 0..n {
            v_bar[j] += 2.0 * v[j] * p_bar[j];
        }

        let mut coef_bar = Array2::zeros((n, g));
        for l in (0..self.layers).rev() {
            let st = &trace.steps[l];
            let mut u_bar = vec![0.0; n];
            let mut w_hat_bar = vec![0.0; n];
            let mut t_bar = vec![0.0; n];
            for i in 0..n {
                let inside = st.t[i] != 0.0 && st.v_pre[i] >= 0.0 && st.v_pre[i] <= v_max;
                if inside {
                    let num_bar = v_bar[i] / st.t[i];
                    t_bar[i] = -v_bar[i] * st.v_pre[i] / st.t[i];
                    u_bar[i] += d[i] * st.w_hat[i] * num_bar;
                    w_hat_bar[i] += d[i] * st.u[i] * num_bar;
                }
            }
            rounds.count(1);
            let q_bar = mv_t(&sq, &t_bar);
            let mut v_in_bar = vec![0.0; n];
            for j in 0..n {
                u_bar[j] += 2.0 * st.u[j] * st.w_hat[j] * q_bar[j];
                w_hat_bar[j] += st.u[j] * st.u[j] * q_bar[j];
                coef_bar[[j, 2 * l]] = w_hat_bar[j] * st.w[j];
                coef_bar[[j, 2 * l + 1]] = w_hat_bar[j];
                let w_bar = w_hat_bar[j] * trace.coef[[j, 2 * l]];
                // w = 1 / e with e = 1 − u d v
                let e_bar = -w_bar * st.w[j] * st.w[j];
                u_bar[j] -= e_bar * d[j] * st.v_in[j];
                v_in_bar[j] -= e_bar * d[j] * st.u[j];
                // u = d v / s
                v_in_bar[j] += u_bar[j] * d[j] / st.s[j];
                s_bar[j] = -u_bar[j] * st.u[j] / st.s[j];
            }
            if l > 0 {
                rounds.count(1);
                let p_bar = mv(&sq, &s_bar);
                for j in 0..n {
                    v_in_bar[j] += 2.0 * st.v_in[j] * p_bar[j];
                }
            }
            v_bar = v_in_bar;
        }

        // The GCNs, from the adjoints of their outputs.
        let mut z2_bar = coef_bar;
        z2_bar.zip_mut_with(&trace.coef, |b, &c| *b *= c * (1.0 - c));
        let mut h1_bar = Array2::zeros((n, g * h));
        for i in 0..n {
            for gi in 0..g {
                let sl = self.slots(gi);
                let zb = z2_bar[[i, gi]];
                grads[[row(i), sl.b0b]] += zb;
                grads[[row(i), sl.b1b]] += zb;
                for k in 0..h {
                    grads[[row(i), sl.w0b + k]] += d[i] * trace.h1[[i, gi * h + k]] * zb;
                    h1_bar[[i, gi * h + k]] = d[i] * th(i, sl.w0b + k) * zb;
                }
            }
        }
        rounds.count(g);
        let m2_bar = dense_combine_t(gain, &z2_bar);
        for j in 0..n {
            for gi in 0..g {
                let sl = self.slots(gi);
                for k in 0..h {
                    grads[[row(j), sl.w1b + k]] += trace.h1[[j, gi * h + k]] * m2_bar[[j, gi]];
                    h1_bar[[j, gi * h + k]] += th(j, sl.w1b + k) * m2_bar[[j, gi]];
                }
            }
        }
        let mut z1_bar = h1_bar;
        z1_bar.zip_mut_with(&trace.z1, |b, &z| {
            if z <= 0.0 {
                *b = 0.0
            }
        });
        for i in 0..n {
            for gi in 0..g {
                let sl = self.slots(gi);
                for k in 0..h {
                    let zb = z1_bar[[i, gi * h + k]];
                    grads[[row(i), sl.w0a + k]] += d[i] * zb;
                    grads[[row(i), sl.b0a + k]] += zb;
                    grads[[row(i), sl.b1a + k]] += zb;
                }
            }
        }
        rounds.count(g * h);
        let m1_bar = dense_combine_t(gain, &z1_bar);
        for j in 0..n {
            for gi in 0..g {
                let sl = self.slots(gi);
                for k in 0..h {
                    grads[[row(j), sl.w1a + k]] += m1_bar[[j, gi * h + k]];
                }
            }
        }
    }
}
