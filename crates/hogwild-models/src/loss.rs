//! Losses and metrics on node outputs.

use hogwild_graph::Targets;
use ndarray::Array2;

/// Mean softmax cross-entropy over nodes and its gradient with respect to the logits.
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
        let z: f64 = row.iter().map(|&x| (x - max).exp()).sum();
        loss += z.ln() + max - row[c];
        for (j, &x) in row.iter().enumerate() {
            grad[[i, j]] = ((x - max).exp() / z - if j == c { 1.0 } else { 0.0 }) / n;
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

/// The training loss for `targets`: cross-entropy for classes, squared error for values.
pub fn task_loss(out: &Array2<f64>, targets: &Targets) -> (f64, Array2<f64>) {
    match targets {
        Targets::Classes(c) => cross_entropy(out, c),
        Targets::Values(v) => squared_error(out, v),
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

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
    fn accuracy_breaks_ties_to_the_first_class() {
        let logits = array![[1.0, 1.0], [0.0, 2.0], [3.0, 1.0]];
        assert_eq!(argmax_rows(&logits), vec![0, 1, 0]);
        assert!((accuracy_percent(&logits, &[0, 1, 1]) - 200.0 / 3.0).abs() < 1e-12);
    }
}
