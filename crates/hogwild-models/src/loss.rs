//! Losses and metrics on node outputs.

use crate::elementary::{exp_nonpositive, ln_at_least_one};
use hogwild_graph::{Batch, Targets};
use ndarray::Array2;
use std::ops::Range;

/// Mean softmax cross-entropy over nodes and its gradient with respect to the logits
/// (exponential and logarithm from [`crate::elementary`]: the same bits on every machine).
pub fn cross_entropy(logits: &Array2<f64>, classes: &[usize]) -> (f64, Array2<f64>) {
    assert_eq!(
        logits.nrows(),
        classes.len(),
        "cross_entropy: one class per node"
    );
    let n = classes.len().max(1) as f64;
    let mut grad = Array2::zeros(logits.raw_dim());
    let mut loss = 0.0;
    for (i, &c) in classes.iter().enumerate() {
        let row = logits.row(i);
        let max = row.iter().fold(f64::NEG_INFINITY, |m, &x| m.max(x));
        let z: f64 = row.iter().map(|&x| exp_nonpositive(x - max)).sum();
        // z >= 1: the largest logit contributes e⁰.
        loss += ln_at_least_one(z) + max - row[c];
        for (j, &x) in row.iter().enumerate() {
            grad[[i, j]] = (exp_nonpositive(x - max) / z - if j == c { 1.0 } else { 0.0 }) / n;
        }
    }
    (loss / n, grad)
}

/// Mean over nodes of the squared error summed over output columns, and its gradient.
pub fn squared_error(out: &Array2<f64>, target: &Array2<f64>) -> (f64, Array2<f64>) {
    assert_eq!(out.dim(), target.dim(), "squared_error: shapes differ");
    let n = out.nrows().max(1) as f64;
    let diff = out - target;
    let loss = diff.iter().map(|d| d * d).sum::<f64>() / n;
    (loss, diff.mapv(|d| 2.0 * d / n))
}

/// Mean squared error between the true and the predicted pairwise distances, over every
/// unordered pair of nodes within each graph (`graphs` = node ranges), and its gradient with
/// respect to the predicted positions. Relative localisation: the loss is invariant to
/// rotations, reflections and translations of each graph's predictions. Where two predicted
/// positions coincide the distance is not differentiable; that pair contributes no gradient.
pub fn distance_error(
    out: &Array2<f64>,
    positions: &Array2<f64>,
    graphs: &[Range<usize>],
) -> (f64, Array2<f64>) {
    assert_eq!(out.dim(), positions.dim(), "distance_error: shapes differ");
    let pairs: usize = graphs
        .iter()
        .map(|r| r.len() * r.len().saturating_sub(1) / 2)
        .sum();
    let scale = 1.0 / pairs.max(1) as f64;
    let mut grad = Array2::zeros(out.raw_dim());
    let mut loss = 0.0;
    for r in graphs {
        for i in r.clone() {
            for j in i + 1..r.end {
                let diff = &out.row(i) - &out.row(j);
                let d_hat = diff.dot(&diff).sqrt();
                let t = &positions.row(i) - &positions.row(j);
                let d = t.dot(&t).sqrt();
                loss += (d_hat - d) * (d_hat - d) * scale;
                if d_hat > 0.0 {
                    let g = &diff * (2.0 * (d_hat - d) * scale / d_hat);
                    grad.row_mut(i).scaled_add(1.0, &g);
                    grad.row_mut(j).scaled_add(-1.0, &g);
                }
            }
        }
    }
    (loss, grad)
}

/// The training loss on `batch`: cross-entropy for classes, squared error for values, the
/// pairwise-distance error within each graph for positions.
pub fn task_loss(out: &Array2<f64>, batch: &Batch) -> (f64, Array2<f64>) {
    match &batch.targets {
        Targets::Classes(c) => cross_entropy(out, c),
        Targets::Values(v) => squared_error(out, v),
        Targets::Positions(p) => distance_error(out, p, &batch.sample_ranges()),
    }
}

/// Relative RMSE in percent: `100 · ‖ŷ − y‖₂ / ‖y‖₂` over every node and output column
/// (equal to RMSE / RMS(y)).
pub fn relative_rmse_percent(out: &Array2<f64>, target: &Array2<f64>) -> f64 {
    assert_eq!(out.dim(), target.dim(), "relative_rmse: shapes differ");
    let err: f64 = out.iter().zip(target).map(|(a, b)| (a - b) * (a - b)).sum();
    let norm: f64 = target.iter().map(|b| b * b).sum();
    100.0 * (err / norm).sqrt()
}

/// Relative RMSE of the pairwise distances in percent: `100 · ‖D̂ − D‖ / ‖D‖` over every
/// unordered pair within each graph (`graphs` = node ranges), `D̂` the distances between
/// predicted positions. Invariant to rotations, reflections and translations of each graph.
pub fn distance_relative_rmse_percent(
    out: &Array2<f64>,
    positions: &Array2<f64>,
    graphs: &[Range<usize>],
) -> f64 {
    let (mut err, mut norm) = (0.0, 0.0);
    let dist = |x: &Array2<f64>, i: usize, j: usize| {
        let d = &x.row(i) - &x.row(j);
        d.dot(&d).sqrt()
    };
    for r in graphs {
        for i in r.clone() {
            for j in i + 1..r.end {
                let (d_hat, d) = (dist(out, i, j), dist(positions, i, j));
                err += (d_hat - d) * (d_hat - d);
                norm += d * d;
            }
        }
    }
    100.0 * (err / norm).sqrt()
}

/// Predicted class per node: the arg-max, ties to the lowest index.
pub fn argmax_rows(logits: &Array2<f64>) -> Vec<usize> {
    logits
        .rows()
        .into_iter()
        .map(|row| {
            let mut best = 0;
            for (j, &x) in row.iter().enumerate() {
                if x > row[best] {
                    best = j;
                }
            }
            best
        })
        .collect()
}

/// Accuracy in percent over all nodes.
pub fn accuracy_percent(logits: &Array2<f64>, classes: &[usize]) -> f64 {
    let hits = argmax_rows(logits)
        .iter()
        .zip(classes)
        .filter(|(p, c)| p == c)
        .count();
    100.0 * hits as f64 / classes.len().max(1) as f64
}

/// Graph accuracy in percent: graph `g` (nodes `graphs[g]`) is predicted as the arg-max of
/// its nodes' mean logits and judged by its first node's class (every node of a graph holds
/// the graph's class).
pub fn graph_accuracy_percent(
    logits: &Array2<f64>,
    classes: &[usize],
    graphs: &[std::ops::Range<usize>],
) -> f64 {
    let hits = graphs
        .iter()
        .filter(|r| !r.is_empty())
        .filter(|r| {
            let mean = logits
                .slice(ndarray::s![r.start..r.end, ..])
                .mean_axis(ndarray::Axis(0))
                .expect("non-empty graph");
            let predicted = argmax_rows(&mean.insert_axis(ndarray::Axis(0)))[0];
            predicted == classes[r.start]
        })
        .count();
    100.0 * hits as f64 / graphs.len().max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn graph_accuracy_votes_by_mean_logits() {
        // Graph 0 (nodes 0-2, class 1): one confident node outweighs two lukewarm ones.
        // Graph 1 (nodes 3-4, class 0): predicted 1.
        let logits = array![[0.1, 0.0], [0.1, 0.0], [0.0, 5.0], [0.0, 1.0], [0.2, 0.0]];
        let classes = [1, 1, 1, 0, 0];
        let graphs = [0..3, 3..5];
        assert_eq!(graph_accuracy_percent(&logits, &classes, &graphs), 50.0);
        assert_eq!(accuracy_percent(&logits, &classes), 40.0);
        let flipped = [0, 0, 0, 1, 1];
        assert_eq!(graph_accuracy_percent(&logits, &flipped, &graphs), 50.0);
        assert_eq!(
            graph_accuracy_percent(&logits, &classes, &graphs[..1]),
            100.0
        );
    }

    #[test]
    fn cross_entropy_gradient_matches_finite_differences() {
        let logits = array![[0.3, -1.2, 2.0], [1.0, 1.0, -0.5]];
        let classes = [2, 0];
        let (_, g) = cross_entropy(&logits, &classes);
        for idx in [(0, 0), (0, 2), (1, 1)] {
            let mut p = logits.clone();
            p[idx] += 1e-6;
            let mut m = logits.clone();
            m[idx] -= 1e-6;
            let fd = (cross_entropy(&p, &classes).0 - cross_entropy(&m, &classes).0) / 2e-6;
            assert!((fd - g[idx]).abs() < 1e-8, "{idx:?}: {fd} vs {}", g[idx]);
        }
    }

    #[test]
    fn squared_error_gradient_matches_finite_differences() {
        let out = array![[0.3, -1.2], [1.0, 2.5]];
        let y = array![[0.0, 1.0], [1.5, 2.0]];
        let (l, g) = squared_error(&out, &y);
        assert!((l - (0.09 + 4.84 + 0.25 + 0.25) / 2.0).abs() < 1e-12);
        let mut p = out.clone();
        p[(1, 0)] += 1e-6;
        let fd = (squared_error(&p, &y).0 - l) / 1e-6;
        assert!((fd - g[(1, 0)]).abs() < 1e-5);
    }

    #[test]
    fn distance_error_gradient_matches_finite_differences_and_is_invariant() {
        let out = array![[0.3, -1.2], [1.0, 2.5], [0.1, 0.4], [2.0, 0.0], [1.0, 1.0]];
        let pos = array![[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.5, 0.5], [0.2, 0.9]];
        let graphs = [0..3, 3..5];
        let (l, g) = distance_error(&out, &pos, &graphs);
        for idx in [(0, 0), (1, 1), (2, 0), (3, 1), (4, 0)] {
            let mut p = out.clone();
            p[idx] += 1e-6;
            let mut m = out.clone();
            m[idx] -= 1e-6;
            let fd =
                (distance_error(&p, &pos, &graphs).0 - distance_error(&m, &pos, &graphs).0) / 2e-6;
            assert!((fd - g[idx]).abs() < 1e-8, "{idx:?}: {fd} vs {}", g[idx]);
        }
        // A rotation by 90 degrees, a reflection and a translation leave loss and metric.
        let moved = out.map_axis(ndarray::Axis(1), |r| [-r[1] + 3.0, -r[0] - 1.0]);
        let moved = Array2::from_shape_fn((5, 2), |(i, c)| moved[i][c]);
        let (l2, _) = distance_error(&moved, &pos, &graphs);
        assert!((l - l2).abs() < 1e-12);
        let m1 = distance_relative_rmse_percent(&out, &pos, &graphs);
        let m2 = distance_relative_rmse_percent(&moved, &pos, &graphs);
        assert!((m1 - m2).abs() < 1e-9 && m1 > 0.0);
        assert_eq!(distance_relative_rmse_percent(&pos, &pos, &graphs), 0.0);
        // Pairs across graphs do not count: 3 + 1 pairs.
        let (l_one, _) = distance_error(
            &out.slice(ndarray::s![3..5, ..]).to_owned(),
            &pos.slice(ndarray::s![3..5, ..]).to_owned(),
            &[Range { start: 0, end: 2 }],
        );
        let d_hat = (1.0f64 + 1.0).sqrt();
        let d = (0.09f64 + 0.16).sqrt();
        assert!((l_one - (d_hat - d).powi(2)).abs() < 1e-12);
    }

    #[test]
    fn relative_rmse_is_the_error_norm_over_the_target_norm() {
        let y = array![[3.0], [4.0]];
        assert_eq!(relative_rmse_percent(&array![[3.0], [4.0]], &y), 0.0);
        assert!((relative_rmse_percent(&array![[0.0], [0.0]], &y) - 100.0).abs() < 1e-12);
        assert!((relative_rmse_percent(&array![[4.0], [4.0]], &y) - 20.0).abs() < 1e-12);
    }

    #[test]
    fn accuracy_breaks_ties_to_the_first_class() {
        let logits = array![[1.0, 1.0], [0.0, 2.0], [3.0, 1.0]];
        assert_eq!(argmax_rows(&logits), vec![0, 1, 0]);
        assert!((accuracy_percent(&logits, &[0, 1, 1]) - 200.0 / 3.0).abs() < 1e-12);
    }
}
