//! Curves kept from a run: the training loss per epoch, and the residual of a solve at each
//! iteration or observer check, so that convergence can be plotted.
//!
//! A curve keeps at most [`MAX_POINTS`] points: longer ones are subsampled at evenly spaced
//! indices, always keeping the first and the last point, each with its step (epoch,
//! iteration or round), so a plot of a subsampled curve has the right abscissae.

use serde::{Deserialize, Serialize};

/// The most points a curve keeps.
pub const MAX_POINTS: usize = 100;

/// A curve: `values[i]` at step `steps[i]`, steps increasing.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Curve {
    /// The steps (epochs, iterations or rounds).
    pub steps: Vec<u64>,
    /// The values.
    pub values: Vec<f64>,
}

impl Curve {
    /// The curve of `points` (step, value), subsampled to at most [`MAX_POINTS`].
    ///
    /// ```
    /// use hogwild_harness::curve::{Curve, MAX_POINTS};
    /// let c = Curve::of((0..1000u64).map(|s| (s, s as f64)));
    /// assert_eq!(c.steps.len(), MAX_POINTS);
    /// assert_eq!((c.steps[0], *c.steps.last().unwrap()), (0, 999));
    /// ```
    pub fn of(points: impl IntoIterator<Item = (u64, f64)>) -> Curve {
        let all: Vec<(u64, f64)> = points.into_iter().collect();
        let n = all.len();
        let keep: Vec<usize> = if n <= MAX_POINTS {
            (0..n).collect()
        } else {
            // Evenly spaced indices from 0 to n − 1, both included (exact integer arithmetic).
            (0..MAX_POINTS)
                .map(|k| k * (n - 1) / (MAX_POINTS - 1))
                .collect()
        };
        Curve {
            steps: keep.iter().map(|&i| all[i].0).collect(),
            values: keep.iter().map(|&i| all[i].1).collect(),
        }
    }

    /// The curve of `values` at steps 0, 1, 2, …
    pub fn indexed(values: &[f64]) -> Curve {
        Curve::of(values.iter().enumerate().map(|(i, &v)| (i as u64, v)))
    }

    /// Whether it has no points.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_curves_are_kept_whole_and_long_ones_evenly_subsampled() {
        let c = Curve::indexed(&[3.0, 2.0, 1.0]);
        assert_eq!(c.steps, [0, 1, 2]);
        assert_eq!(c.values, [3.0, 2.0, 1.0]);
        let long = Curve::of(
            (0..=99_000u64)
                .step_by(10)
                .map(|s| (s, 1.0 / (1 + s) as f64)),
        );
        assert_eq!(long.steps.len(), MAX_POINTS);
        assert_eq!(long.steps[0], 0);
        assert_eq!(*long.steps.last().unwrap(), 99_000);
        assert!(long.steps.windows(2).all(|w| w[0] < w[1]));
        let gaps: Vec<u64> = long.steps.windows(2).map(|w| w[1] - w[0]).collect();
        assert!(
            gaps.iter().max().unwrap() - gaps.iter().min().unwrap() <= 10,
            "{gaps:?}"
        );
        assert!(Curve::of(vec![]).is_empty());
    }
}
