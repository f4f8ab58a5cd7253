//! Message delays and per-run message budgets.
//!
//! Under [`Delays::Constant`] (paper §4.3; every table of the paper) every message takes the
//! same time, so the event queue is a FIFO of sends: BFS-like flooding with unit delays.
//! Under [`Delays::Random`] (paper §4.2, and an option of the code's Table 2 script) every
//! copy of a message sent to a neighbour draws its own delay from a [`DelayDistribution`].
//! The per-run cap on processed messages is a [`Budget`].

use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};
use serde::{Deserialize, Serialize};

/// How long a message takes from its sender to one neighbour.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Delays {
    /// Every message takes the same time: a FIFO queue in the order of sending (paper).
    Constant,
    /// Every copy takes its own random time: a min-heap on arrival time, ties broken by the
    /// order of sending (ours; the code compares arrival times only).
    Random(DelayDistribution),
}

/// The distribution of one random delay.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DelayDistribution {
    /// `max(floor, N(mean, std²))` (code: mean 0.5, std 0.5, floor 1e-10; see
    /// [`DelayDistribution::CODE`]).
    ClampedNormal { mean: f64, std: f64, floor: f64 },
    /// Uniform on `[low, high)` (paper's example: `[0, 1)`; see [`DelayDistribution::PAPER`]).
    Uniform { low: f64, high: f64 },
}

impl DelayDistribution {
    /// The reference code's delays: `max(1e-10, N(0.5, 0.5²))`.
    pub const CODE: DelayDistribution = DelayDistribution::ClampedNormal {
        mean: 0.5,
        std: 0.5,
        floor: 1e-10,
    };
    /// The paper's example: uniform in `[0, 1)`.
    pub const PAPER: DelayDistribution = DelayDistribution::Uniform {
        low: 0.0,
        high: 1.0,
    };

    /// Draws one delay from `rng`.
    pub fn sample(&self, rng: &mut ChaCha8Rng) -> f64 {
        match *self {
            DelayDistribution::ClampedNormal { mean, std, floor } => {
                let normal = Normal::new(mean, std).expect("a finite, non-negative std");
                normal.sample(rng).max(floor)
            }
            DelayDistribution::Uniform { low, high } => low + (high - low) * rng.random::<f64>(),
        }
    }
}

/// The number of messages a run may process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Budget {
    /// A fixed number of messages per run (the TU runs: 15 or 25).
    Absolute(usize),
    /// `k · n` messages per run on an `n`-node graph (Table 2: 5n; long-range: 10n).
    PerNode(usize),
}

impl Budget {
    /// The budget of one run on a graph with `n_nodes` nodes.
    pub fn messages(self, n_nodes: usize) -> usize {
        match self {
            Budget::Absolute(m) => m,
            Budget::PerNode(k) => k * n_nodes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn budgets_scale_with_n_or_not() {
        assert_eq!(Budget::PerNode(5).messages(16), 80);
        assert_eq!(Budget::Absolute(15).messages(100), 15);
    }

    #[test]
    fn delay_draws_respect_their_support_and_moments() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let code: Vec<f64> = (0..20_000)
            .map(|_| DelayDistribution::CODE.sample(&mut rng))
            .collect();
        assert!(code.iter().all(|&d| d >= 1e-10));
        // About 16 % of N(0.5, 0.25) lies below zero and is clamped to the floor.
        let clamped = code.iter().filter(|&&d| d == 1e-10).count() as f64 / 20_000.0;
        assert!((clamped - 0.1587).abs() < 0.01, "{clamped}");
        let paper: Vec<f64> = (0..20_000)
            .map(|_| DelayDistribution::PAPER.sample(&mut rng))
            .collect();
        assert!(paper.iter().all(|&d| (0.0..1.0).contains(&d)));
        let mean = paper.iter().sum::<f64>() / 20_000.0;
        assert!((mean - 0.5).abs() < 0.01, "{mean}");
    }
}
