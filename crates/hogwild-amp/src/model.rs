//! AMP model settings, parameters and their initialisation.
//!
//! Parameters (PyTorch layout, `out × in`, biases `1 × out`), in this order:
//! encoder `F → H` (linear, no activation; code); the update cell ([`Update`]); the message
//! map `W_m: [h_new ‖ m] → m'` (code); the halting unit `[h_old ‖ m] → 1` of AMP-ACT and
//! AMP-Iter ([`Halting`]); the decoder `H → C` (with the skip readout, `skip_decoder`
//! `4H → C` in its place). Initialisation follows PyTorch's defaults
//! (note §1.5): linear layers `U(−1/√fan_in, 1/√fan_in)` for weights and biases, GRU and LSTM
//! cells `U(−1/√H, 1/√H)`, drawn in parameter order from the stream the caller passes.

use hogwild_models::Params;
use ndarray::Array2;
use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// How a node updates its state from `(h, m)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Update {
    /// AMP-RNN: `h ← ReLU(W_s [h ‖ m] + b_s)` (code).
    Rnn,
    /// AMP-GRU: `h ← GRUCell(input m, hidden h)` (PyTorch's gate order r, z, n).
    Gru,
    /// AMP-LSTM: `(h, c) ← LSTMCell(m, (h, c))`, `c = 0` at the start of a run (PyTorch's gate
    /// order i, f, g, o).
    Lstm,
}

/// Whether and how a node stops updating (note §1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Halting {
    /// Never stops (AMP-RNN, -GRU, -LSTM).
    None,
    /// AMP-ACT: halting mass `A` (additive, clamped at 1), accumulator `o += p·h_new`; once
    /// `A > 1 − 1e-7` messages are dropped and *count* against the budget (code).
    Act,
    /// AMP-Iter: remaining confidence `r` (multiplicative), accumulator `o += r·c·h_new`,
    /// `r ← r(1 − c)`; once `r < 1e-7` messages are dropped and do *not* count (code).
    Iter,
}

/// ACT drops a message once the halting mass exceeds `1 − HALT_EPSILON`; Iter once the
/// remaining confidence is below it (code: 1e-7).
pub const HALT_EPSILON: f64 = 1e-7;

/// The shape of an AMP model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AmpConfig {
    /// Node-feature width `F`.
    pub features: usize,
    /// State width `H`.
    pub hidden: usize,
    /// Message width `M` (code: 3 for Table 2 and long-range).
    pub message: usize,
    /// Number of classes `C`.
    pub classes: usize,
    /// The update cell.
    pub update: Update,
    /// The halting rule (the paper's ACT and Iter use [`Update::Rnn`]).
    pub halting: Halting,
    /// The message delivered to the start node of every run (length `M`; code: `ones(M)`,
    /// long-range `[1, 0, 0]`).
    pub initial_message: Vec<f64>,
    /// The skip readout of the TU model (code): a graph task decodes, from every run, the
    /// start node's last [`SKIP_STATES`] states (its encoding counts as the first; zeros in
    /// front when it has fewer) instead of its last state, through a decoder `4H → C`.
    /// Only for [`Task::Graph`](crate::Task::Graph) without halting.
    #[serde(default)]
    pub skip_readout: bool,
}

/// The states the skip readout keeps (code: 4).
pub const SKIP_STATES: usize = 4;

impl AmpConfig {
    /// The width of a run's readout vector: `H`, or `4H` with the skip readout.
    pub fn readout_width(&self) -> usize {
        if self.skip_readout {
            SKIP_STATES * self.hidden
        } else {
            self.hidden
        }
    }
}

/// Where each parameter sits in the [`Params`] list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ParamIds {
    pub enc_w: usize,
    pub enc_b: usize,
    /// RNN: `W_s`, `b_s`; GRU/LSTM: `W_ih`, `b_ih`.
    pub cell_w: usize,
    pub cell_b: usize,
    /// GRU/LSTM: `W_hh`, `b_hh`.
    pub cell_wh: Option<(usize, usize)>,
    pub msg_w: usize,
    pub msg_b: usize,
    pub halt: Option<(usize, usize)>,
    pub dec_w: usize,
    pub dec_b: usize,
}

/// An AMP model: its shape and parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct AmpModel {
    pub(crate) config: AmpConfig,
    /// The parameters, in the order of the module docs.
    pub params: Params,
    pub(crate) ids: ParamIds,
}

/// A PyTorch-initialised linear layer `fan_in → out`: `(weight id, bias id)`.
fn linear(
    p: &mut Params,
    name: &str,
    out: usize,
    fan_in: usize,
    rng: &mut ChaCha8Rng,
) -> (usize, usize) {
    let bound = 1.0 / (fan_in as f64).sqrt();
    let w = p.push(format!("{name}.weight"), uniform(out, fan_in, bound, rng));
    let b = p.push(format!("{name}.bias"), uniform(1, out, bound, rng));
    (w, b)
}

fn uniform(rows: usize, cols: usize, bound: f64, rng: &mut ChaCha8Rng) -> Array2<f64> {
    Array2::from_shape_simple_fn((rows, cols), || rng.random_range(-bound..bound))
}

impl AmpModel {
    /// A freshly initialised model (PyTorch's default initialisation, drawn from `rng`).
    pub fn new(config: AmpConfig, rng: &mut ChaCha8Rng) -> AmpModel {
        let (f, h, m, c) = (
            config.features,
            config.hidden,
            config.message,
            config.classes,
        );
        assert!(
            f > 0 && h > 0 && m > 0 && c > 0,
            "every width must be positive"
        );
        assert_eq!(
            config.initial_message.len(),
            m,
            "initial message of width M"
        );
        assert!(
            !(config.skip_readout && config.halting != Halting::None),
            "the skip readout reads states, not ACT's or Iter's accumulators"
        );
        let mut p = Params::default();
        let (enc_w, enc_b) = linear(&mut p, "encoder", h, f, rng);
        let gates = match config.update {
            Update::Rnn => 0,
            Update::Gru => 3,
            Update::Lstm => 4,
        };
        let (cell_w, cell_b, cell_wh) = if gates == 0 {
            let (w, b) = linear(&mut p, "state", h, h + m, rng);
            (w, b, None)
        } else {
            let bound = 1.0 / (h as f64).sqrt();
            let w_ih = p.push("cell.weight_ih", uniform(gates * h, m, bound, rng));
            let w_hh = p.push("cell.weight_hh", uniform(gates * h, h, bound, rng));
            let b_ih = p.push("cell.bias_ih", uniform(1, gates * h, bound, rng));
            let b_hh = p.push("cell.bias_hh", uniform(1, gates * h, bound, rng));
            (w_ih, b_ih, Some((w_hh, b_hh)))
        };
        let (msg_w, msg_b) = linear(&mut p, "message", m, h + m, rng);
        let halt = match config.halting {
            Halting::None => None,
            Halting::Act | Halting::Iter => Some(linear(&mut p, "halting", 1, h + m, rng)),
        };
        let (dec_w, dec_b) = if config.skip_readout {
            linear(&mut p, "skip_decoder", c, config.readout_width(), rng)
        } else {
            linear(&mut p, "decoder", c, h, rng)
        };
        let ids = ParamIds {
            enc_w,
            enc_b,
            cell_w,
            cell_b,
            cell_wh,
            msg_w,
            msg_b,
            halt,
            dec_w,
            dec_b,
        };
        AmpModel {
            config,
            params: p,
            ids,
        }
    }

    /// The model's shape.
    pub fn config(&self) -> &AmpConfig {
        &self.config
    }

    pub(crate) fn slice(&self, id: usize) -> &[f64] {
        self.params
            .get(id)
            .as_slice()
            .expect("parameters are contiguous")
    }
}

/// `Σ_j a[j] · b[j]` in a fixed order: four running sums over `j mod 4` (independent, so the
/// compiler can overlap them), combined as `(s0 + s1) + (s2 + s3)`, then the tail.
#[inline]
pub(crate) fn dot(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut s = [0.0; 4];
    let (a4, b4) = (a.chunks_exact(4), b.chunks_exact(4));
    let (ta, tb) = (a4.remainder(), b4.remainder());
    for (x, y) in a4.zip(b4) {
        for k in 0..4 {
            s[k] += x[k] * y[k];
        }
    }
    let mut total = (s[0] + s[1]) + (s[2] + s[3]);
    for (x, y) in ta.iter().zip(tb) {
        total += x * y;
    }
    total
}

/// The [`dot`]s of `R` rows with one `x`, each summed exactly as [`dot`] sums it (same
/// lanes, same order), side by side: `R` independent chains of additions instead of one,
/// so a matrix-vector product is bound by loads rather than by the latency of its adds.
#[inline(always)]
fn dots<const R: usize>(rows: [&[f64]; R], x: &[f64]) -> [f64; R] {
    let n = x.len();
    let rows = rows.map(|r| &r[..n]);
    let whole = n / 4 * 4;
    let mut s = [[0.0f64; 4]; R];
    for (c, xc) in x[..whole].chunks_exact(4).enumerate() {
        for r in 0..R {
            let w = &rows[r][4 * c..4 * c + 4];
            for k in 0..4 {
                s[r][k] += w[k] * xc[k];
            }
        }
    }
    finish(s, rows, x)
}

/// `(s0 + s1) + (s2 + s3)` of each row's lanes, then the tail `j ≥ 4⌊n/4⌋` in order: how
/// [`dot`] ends.
#[inline(always)]
fn finish<const R: usize>(s: [[f64; 4]; R], rows: [&[f64]; R], x: &[f64]) -> [f64; R] {
    let whole = x.len() / 4 * 4;
    std::array::from_fn(|r| {
        let mut total = (s[r][0] + s[r][1]) + (s[r][2] + s[r][3]);
        for j in whole..x.len() {
            total += rows[r][j] * x[j];
        }
        total
    })
}

/// [`dots`] of four rows with AVX: each row's four lanes in one register, the same
/// multiplications and additions per lane (no fused multiply-add), so the same bits.
///
/// # Safety
/// The processor must have AVX; every row must be at least `x.len()` long.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
unsafe fn dots4_avx(rows: [&[f64]; 4], x: &[f64]) -> [f64; 4] {
    use std::arch::x86_64::{
        _mm256_add_pd, _mm256_loadu_pd, _mm256_mul_pd, _mm256_setzero_pd, _mm256_storeu_pd,
    };
    let whole = x.len() / 4 * 4;
    let mut acc = [_mm256_setzero_pd(); 4];
    let mut j = 0;
    while j < whole {
        // SAFETY: j + 4 ≤ whole ≤ x.len() ≤ every row's length (the caller's promise).
        unsafe {
            let xv = _mm256_loadu_pd(x.as_ptr().add(j));
            for r in 0..4 {
                let wv = _mm256_loadu_pd(rows[r].as_ptr().add(j));
                acc[r] = _mm256_add_pd(acc[r], _mm256_mul_pd(wv, xv));
            }
        }
        j += 4;
    }
    let mut s = [[0.0f64; 4]; 4];
    for r in 0..4 {
        // SAFETY: s[r] holds four f64.
        unsafe { _mm256_storeu_pd(s[r].as_mut_ptr(), acc[r]) };
    }
    finish(s, rows, x)
}

/// [`dots`] of four rows, with AVX where the processor has it (detected once by the
/// standard library); the same bits either way.
#[inline(always)]
fn dots4(rows: [&[f64]; 4], x: &[f64]) -> [f64; 4] {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx") {
        assert!(rows.iter().all(|r| r.len() >= x.len()), "rows as long as x");
        // SAFETY: AVX is present and every row is long enough (checked above).
        return unsafe { dots4_avx(rows, x) };
    }
    dots(rows, x)
}

/// `out[i] += Σ_j w[i·cols + j] · x[j]` for `i < out.len()`, `cols = x.len()`: every entry
/// the bits of `out[i] += dot(row i, x)`, four rows at a time ([`dots4`]).
pub(crate) fn matvec_add(out: &mut [f64], w: &[f64], x: &[f64]) {
    let cols = x.len();
    let mut rows = w.chunks_exact(cols);
    let mut groups = out.chunks_exact_mut(4);
    for o in &mut groups {
        let r: [&[f64]; 4] = std::array::from_fn(|_| rows.next().expect("a row per output"));
        let d = dots4(r, x);
        for k in 0..4 {
            o[k] += d[k];
        }
    }
    for (o, row) in groups.into_remainder().iter_mut().zip(rows) {
        *o += dots([row], x)[0];
    }
}

/// `out[i] += Σ_{j<A} w[i·cols + j] · a[j] + Σ_j w[i·cols + A + j] · b[j]` with
/// `cols = A + B`: each entry the bits of `out[i] += dot(row i[..A], a) + dot(row i[A..], b)`
/// (AMP's outgoing message `W_m [h_new ‖ m]`), four rows at a time as [`matvec_add`].
pub(crate) fn matvec_split_add(out: &mut [f64], w: &[f64], a: &[f64], b: &[f64]) {
    let (la, cols) = (a.len(), a.len() + b.len());
    let mut rows = w.chunks_exact(cols);
    let mut groups = out.chunks_exact_mut(4);
    for o in &mut groups {
        let r: [&[f64]; 4] = std::array::from_fn(|_| rows.next().expect("a row per output"));
        let da = dots4(r.map(|row| &row[..la]), a);
        let db = dots4(r.map(|row| &row[la..]), b);
        for k in 0..4 {
            o[k] += da[k] + db[k];
        }
    }
    for (o, row) in groups.into_remainder().iter_mut().zip(rows) {
        *o += dots([&row[..la]], a)[0] + dots([&row[la..]], b)[0];
    }
}

/// `out[j] += Σ_i w[i·cols + j] · g[i]` (transpose product), `cols = out.len()`.
#[inline]
pub(crate) fn matvec_t_add(out: &mut [f64], w: &[f64], g: &[f64]) {
    let cols = out.len();
    for (&gi, row) in g.iter().zip(w.chunks_exact(cols)) {
        if gi != 0.0 {
            for (o, a) in out.iter_mut().zip(row) {
                *o += gi * a;
            }
        }
    }
}

/// `w[i·cols + j] += g[i] · x[j]` (outer product), `cols = x.len()`.
#[inline]
pub(crate) fn outer_add(w: &mut [f64], g: &[f64], x: &[f64]) {
    let cols = x.len();
    for (&gi, row) in g.iter().zip(w.chunks_exact_mut(cols)) {
        if gi != 0.0 {
            for (a, b) in row.iter_mut().zip(x) {
                *a += gi * b;
            }
        }
    }
}

/// `σ(x)`, the same bits on every machine (exponential from `hogwild_models::elementary`).
#[inline]
pub(crate) fn sigmoid(x: f64) -> f64 {
    hogwild_models::elementary::softplus_sigmoid(x).1
}

/// `tanh(x) = sign(x)·(1 − e)/(1 + e)`, `e = exp(−2|x|)`, without cancellation.
#[inline]
pub(crate) fn tanh(x: f64) -> f64 {
    let e = hogwild_models::elementary::exp_nonpositive(-2.0 * x.abs());
    ((1.0 - e) / (1.0 + e)).copysign(x)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    /// The row-blocked products give the bits of one [`dot`] per row, whatever the number
    /// of rows (groups of four and the rest) and columns (lanes of four and the tail).
    #[test]
    fn blocked_products_have_the_bits_of_one_dot_per_row() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        for (rows, a, b) in [
            (1, 1, 1),
            (3, 5, 2),
            (4, 8, 4),
            (7, 17, 3),
            (16, 32, 16),
            (13, 6, 10),
        ] {
            let cols = a + b;
            let w: Vec<f64> = (0..rows * cols)
                .map(|_| rng.random_range(-1.0..1.0))
                .collect();
            let x: Vec<f64> = (0..cols).map(|_| rng.random_range(-1.0..1.0)).collect();
            let start: Vec<f64> = (0..rows).map(|_| rng.random_range(-1.0..1.0)).collect();
            let mut blocked = start.clone();
            matvec_add(&mut blocked, &w, &x);
            let mut split = start.clone();
            matvec_split_add(&mut split, &w, &x[..a], &x[a..]);
            for i in 0..rows {
                let row = &w[i * cols..(i + 1) * cols];
                let one = start[i] + dot(row, &x);
                assert_eq!(blocked[i].to_bits(), one.to_bits(), "{rows}x{cols} row {i}");
                let two = start[i] + (dot(&row[..a], &x[..a]) + dot(&row[a..], &x[a..]));
                assert_eq!(split[i].to_bits(), two.to_bits(), "{rows}x{cols} row {i}");
            }
        }
    }
}
