//! The wireless system of experiment 2: transmitter–receiver pairs placed in a square, UMa
//! "optional" path loss, clipped log-normal shadowing, Rayleigh fading and thresholding; the
//! links a sample's messages may use; its consensus weights; and the sum-rate objective.
//!
//! A sample is a gain matrix `gain[[j, i]]`, the channel magnitude from transmitter `j` to
//! receiver `i` (the reference code's `H[b, j, i]`); node `i` is pair `i`.

use super::PowerConfig;
use crate::stream;
use ndarray::Array2;
use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

/// The clip of the shadowing draws, in standard deviations (the code's `±2σ`).
const SHADOWING_CLIP_STDS: f64 = 2.0;
/// Rayleigh fading scale `1/√2`, so that `E[r²] = 1`.
const RAYLEIGH_SCALE: f64 = std::f64::consts::FRAC_1_SQRT_2;

/// The UMa "optional" path loss in dB at `distance` metres and `carrier_ghz`:
/// `32.4 + 20 log10(f) + 30 log10(d)`.
pub fn path_loss_db(carrier_ghz: f64, distance: f64) -> f64 {
    32.4 + 20.0 * carrier_ghz.log10() + 30.0 * distance.log10()
}

/// The reference code's gain threshold: magnitudes below it are set to 0. Its path loss is
/// the transmit power 5 W (36.99 dBm) minus the noise floor (−106.87 dBm) minus the
/// required SNR (10 dB) plus the control-channel tolerance (5 dB): 138.86 dB.
pub fn gain_threshold() -> f64 {
    let tx_dbm = 10.0 * (5.0f64 / 1e-3).log10();
    let path_loss = tx_dbm - (-106.87) - 10.0 + 5.0;
    10f64.powf(-path_loss / 20.0)
}

/// The noise power `σ²` in watts from `noise_dbw`.
pub fn noise_power(noise_dbw: f64) -> f64 {
    10f64.powf(noise_dbw / 10.0)
}

/// One mini-batch: `batch_size` gain matrices sharing one placement.
pub type MiniBatch = Vec<Array2<f64>>;

/// Draws mini-batch `index` of the `set` ("train" or "test") from its own stream, so any
/// mini-batch can be drawn alone and the sets do not depend on each other's sizes.
pub fn draw_minibatch(cfg: &PowerConfig, set: &str, index: usize) -> MiniBatch {
    let mut rng = stream(&cfg.label(&format!("{set}/{index}")));
    let n = cfg.pairs;
    let side = cfg.half_width;
    let point = |rng: &mut ChaCha8Rng| {
        (0..n)
            .map(|_| {
                let x = rng.random_range(-side..side);
                let y = rng.random_range(-side..side);
                (x, y)
            })
            .collect::<Vec<_>>()
    };
    let tx = point(&mut rng);
    let rx = point(&mut rng);
    let shadowing = Normal::new(0.0, cfg.shadowing_std_db).expect("a finite, non-negative std");
    let fading = Normal::new(0.0, RAYLEIGH_SCALE).expect("a positive scale");
    let clip = SHADOWING_CLIP_STDS * cfg.shadowing_std_db;
    let threshold = gain_threshold();
    let loss = Array2::from_shape_fn((n, n), |(j, i)| {
        let d = ((tx[j].0 - rx[i].0).powi(2) + (tx[j].1 - rx[i].1).powi(2)).sqrt();
        path_loss_db(cfg.carrier_ghz, d)
    });
    (0..cfg.batch_size)
        .map(|_| {
            let mut gain = Array2::zeros((n, n));
            for ((j, i), g) in gain.indexed_iter_mut() {
                let shadow: f64 = shadowing.sample(&mut rng);
                let db = loss[[j, i]] + shadow.clamp(-clip, clip);
                *g = 10f64.powf(-db / 20.0);
            }
            if cfg.fading {
                for g in gain.iter_mut() {
                    let (a, b): (f64, f64) = (fading.sample(&mut rng), fading.sample(&mut rng));
                    *g *= (a * a + b * b).sqrt();
                }
            }
            if cfg.threshold {
                gain.mapv_inplace(|g| if g < threshold { 0.0 } else { g });
            }
            gain
        })
        .collect()
}

/// Directed links a sample's messages may use: `j → i` for `i ≠ j` whenever either of
/// `gain[[j, i]]`, `gain[[i, j]]` is non-zero (either pair hears the other).
pub fn interference_links(gain: &Array2<f64>) -> u64 {
    let n = gain.nrows();
    let mut links = 0;
    for i in 0..n {
        for j in 0..n {
            if i != j && (gain[[i, j]] != 0.0 || gain[[j, i]] != 0.0) {
                links += 1;
            }
        }
    }
    links
}

/// The consensus graph of a sample, `A = 1[gain ≠ 0] ∧ 1[gainᵀ ≠ 0]` without self-loops
/// (both pairs hear each other; it may be disconnected), as dense Metropolis–Hastings
/// weights (eq. (16)), and its number of directed links.
pub fn consensus_weights(gain: &Array2<f64>) -> (Array2<f64>, u64) {
    let n = gain.nrows();
    let adjacent = |i: usize, j: usize| i != j && gain[[i, j]] != 0.0 && gain[[j, i]] != 0.0;
    let degree: Vec<usize> = (0..n)
        .map(|i| (0..n).filter(|&j| adjacent(i, j)).count())
        .collect();
    let mut w = Array2::zeros((n, n));
    for i in 0..n {
        let mut row = 0.0;
        for j in 0..n {
            if adjacent(i, j) {
                let x = 1.0 / (degree[i].max(degree[j]) + 1) as f64;
                w[[i, j]] = x;
                row += x;
            }
        }
        w[[i, i]] = 1.0 - row;
    }
    (w, degree.iter().sum::<usize>() as u64)
}

/// Pair `i`'s rate `log2(1 + gain_ii² v_i² / (σ² + Σ_{j≠i} gain_ji² v_j²))` for amplitudes
/// `v` (power `v²`), summed over the pairs.
pub fn sum_rate(gain: &Array2<f64>, v: &[f64], noise: f64) -> f64 {
    let received = received_power(gain, v);
    (0..gain.nrows())
        .map(|i| {
            let signal = (gain[[i, i]] * v[i]).powi(2);
            ((noise + received[i]) / (noise + received[i] - signal)).log2()
        })
        .sum()
}

/// `Σ_j gain_ji² v_j²` at every receiver `i` (its own transmitter included).
pub fn received_power(gain: &Array2<f64>, v: &[f64]) -> Vec<f64> {
    let mut received = vec![0.0; v.len()];
    for (row, &vj) in gain.rows().into_iter().zip(v) {
        for (r, &g) in received.iter_mut().zip(row) {
            *r += (g * vj).powi(2);
        }
    }
    received
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threshold_and_path_loss_match_the_reference_constants() {
        assert!((path_loss_db(0.9, 1.0) - 31.48).abs() < 0.01);
        assert!((-20.0 * gain_threshold().log10() - 138.86).abs() < 0.01);
        assert!((noise_power(-136.87) - 2.056e-14).abs() < 1e-16);
    }

    #[test]
    fn minibatches_share_a_placement_and_are_reproducible() {
        let cfg = PowerConfig::quick();
        let a = draw_minibatch(&cfg, "train", 3);
        assert_eq!(a, draw_minibatch(&cfg, "train", 3));
        assert_ne!(a, draw_minibatch(&cfg, "train", 4));
        assert_eq!(a.len(), cfg.batch_size);
        // thresholded gains are 0 or at least the threshold
        assert!(a
            .iter()
            .all(|g| g.iter().all(|&x| x == 0.0 || x >= gain_threshold())));
        let (w, links) = consensus_weights(&a[0]);
        assert!(links <= interference_links(&a[0]));
        for i in 0..cfg.pairs {
            assert!((w.row(i).sum() - 1.0).abs() < 1e-14);
            for j in 0..cfg.pairs {
                assert_eq!(w[[i, j]], w[[j, i]]);
            }
        }
    }
}
