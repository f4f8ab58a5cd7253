//! The WMMSE algorithm for single-antenna interference channels (the references UWMMSE is
//! measured against), with the unrolled network's notation: amplitudes `v` start at
//! `√P_max`, and every iteration computes
//!
//! - `u_i = g_ii v_i / (σ² + Σ_j g_ji² v_j²)` (receiver `i`),
//! - `w_i = 1 / (1 − u_i g_ii v_i)`,
//! - `v_i = g_ii u_i w_i / Σ_j g_ij² u_j² w_j` clipped to `[0, √P_max]` (μ = 0; the clip is
//!   the exact constrained minimiser of the scalar quadratic, so every iteration is a block
//!   step of the weighted-MSE descent and the sum-rate never falls).
//!
//! A transmitter with nothing to weigh (`Σ_j g_ij² u_j² w_j = 0`, only when its own direct
//! gain is 0) is switched off.

use super::channel::{received_power, sum_rate};
use ndarray::Array2;

/// `u` from amplitudes `v`: `u_i = g_ii v_i / (σ² + Σ_j g_ji² v_j²)`.
pub fn receiver_gains(gain: &Array2<f64>, v: &[f64], noise: f64) -> Vec<f64> {
    let received = received_power(gain, v);
    (0..v.len())
        .map(|i| gain[[i, i]] * v[i] / (noise + received[i]))
        .collect()
}

/// `w_i = 1 / (1 − u_i g_ii v_i)`.
pub fn mse_weights(gain: &Array2<f64>, u: &[f64], v: &[f64]) -> Vec<f64> {
    (0..u.len())
        .map(|i| 1.0 / (1.0 - u[i] * gain[[i, i]] * v[i]))
        .collect()
}

/// `v_i = g_ii u_i w_i / Σ_j g_ij² u_j² w_j`, clipped to `[0, v_max]`; 0 when the sum is 0.
pub fn amplitudes(gain: &Array2<f64>, u: &[f64], w: &[f64], v_max: f64) -> Vec<f64> {
    gain.rows()
        .into_iter()
        .enumerate()
        .map(|(i, row)| {
            let weighed: f64 = row
                .iter()
                .zip(u.iter().zip(w))
                .map(|(g, (uj, wj))| (g * uj).powi(2) * wj)
                .sum();
            if weighed == 0.0 {
                0.0
            } else {
                (gain[[i, i]] * u[i] * w[i] / weighed).clamp(0.0, v_max)
            }
        })
        .collect()
}

/// The sum-rate of `gain` before and after each of `iterations` WMMSE iterations
/// (`iterations + 1` values; the first is full power for everyone).
pub fn wmmse_sum_rates(
    gain: &Array2<f64>,
    noise: f64,
    max_power: f64,
    iterations: usize,
) -> Vec<f64> {
    let v_max = max_power.sqrt();
    let mut v = vec![v_max; gain.nrows()];
    let mut rates = Vec::with_capacity(iterations + 1);
    rates.push(sum_rate(gain, &v, noise));
    for _ in 0..iterations {
        let u = receiver_gains(gain, &v, noise);
        let w = mse_weights(gain, &u, &v);
        v = amplitudes(gain, &u, &w, v_max);
        rates.push(sum_rate(gain, &v, noise));
    }
    rates
}

/// The mean over `samples` of [`wmmse_sum_rates`]: the mean sum-rate after each iteration.
pub fn mean_wmmse_curve<'a>(
    samples: impl IntoIterator<Item = &'a Array2<f64>>,
    noise: f64,
    max_power: f64,
    iterations: usize,
) -> Vec<f64> {
    let mut total = vec![0.0; iterations + 1];
    let mut count = 0usize;
    for gain in samples {
        for (t, r) in total
            .iter_mut()
            .zip(wmmse_sum_rates(gain, noise, max_power, iterations))
        {
            *t += r;
        }
        count += 1;
    }
    total.iter().map(|t| t / count.max(1) as f64).collect()
}
