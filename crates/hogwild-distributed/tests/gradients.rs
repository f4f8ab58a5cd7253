//! The distributed backward pass: finite-difference checks, the centralized identity, and
//! the same gradients under every message schedule.

use hogwild_distributed::filter::{predict, Activation, Architecture};
use hogwild_distributed::minibatch::{run_minibatch, Filter, MiniBatchOutcome};
use hogwild_distributed::network::Network;
use hogwild_distributed::schedule::Scheme;
use hogwild_distributed::stream;
use hogwild_distributed::topology::{barabasi_albert, normalised_laplacian};
use ndarray::{Array2, ArrayView2};
use rand::RngExt;
use rand_chacha::ChaCha8Rng;

struct Case {
    comm: hogwild_graph::Graph,
    filter: Filter,
    xs: Vec<Array2<f64>>,
    ys: Vec<Array2<f64>>,
}

fn uniform(rng: &mut ChaCha8Rng, shape: (usize, usize), scale: f64) -> Array2<f64> {
    Array2::from_shape_fn(shape, |_| scale * (2.0 * rng.random::<f64>() - 1.0))
}

fn case(widths: &[usize], activations: &[Activation], samples: usize, label: &str) -> Case {
    let mut rng = stream(label);
    let n = 9;
    let comm = barabasi_albert(n, 2, &mut rng);
    let arch = Architecture {
        widths: widths.to_vec(),
        activations: activations.to_vec(),
    };
    let filter = Filter::new(arch, normalised_laplacian(&comm));
    let out = *widths.last().unwrap();
    let xs = (0..samples)
        .map(|_| uniform(&mut rng, (n, widths[0]), 1.0))
        .collect();
    let ys = (0..samples)
        .map(|_| uniform(&mut rng, (n, out), 1.0))
        .collect();
    Case {
        comm,
        filter,
        xs,
        ys,
    }
}

fn views(a: &[Array2<f64>]) -> Vec<ArrayView2<'_, f64>> {
    a.iter().map(|x| x.view()).collect()
}

fn run(c: &Case, copies: &Array2<f64>, scheme: Scheme) -> MiniBatchOutcome {
    let mut net = Network::new(c.comm.clone());
    run_minibatch(
        &mut net,
        &c.filter,
        copies.view(),
        &views(&c.xs),
        &views(&c.ys),
        scheme,
        None,
    )
}

/// `Σ_b Σ_k ‖ŷ_k − y_k‖²` with every node using its row of `copies`.
fn loss(c: &Case, copies: &Array2<f64>) -> f64 {
    c.xs.iter()
        .zip(&c.ys)
        .map(|(x, y)| {
            let out = predict(&c.filter.arch, &c.filter.shift, copies.view(), x.view());
            (&out - y).iter().map(|r| r * r).sum::<f64>()
        })
        .sum()
}

/// Central differences of `loss` against the backward pass's gradient, every entry.
fn finite_difference_check(c: &Case, copies: &Array2<f64>, scheme: Scheme) {
    let grads = run(c, copies, scheme).grads;
    let h = 1e-6;
    let mut worst: f64 = 0.0;
    for idx in ndarray::indices(copies.dim()) {
        let (mut up, mut down) = (copies.clone(), copies.clone());
        up[idx] += h;
        down[idx] -= h;
        let fd = (loss(c, &up) - loss(c, &down)) / (2.0 * h);
        let err = (fd - grads[idx]).abs() / (1.0 + fd.abs());
        worst = worst.max(err);
    }
    assert!(worst < 1e-7, "{scheme:?}: worst relative error {worst:e}");
}

fn copies_for(c: &Case, rows: usize, label: &str) -> Array2<f64> {
    uniform(&mut stream(label), (rows, c.filter.layout.len), 0.8)
}

#[test]
fn distributed_gradients_match_finite_differences() {
    use Activation::*;
    let cases = [
        (vec![3, 4, 2], vec![Sigmoid, Sigmoid]),
        (vec![2, 3, 3, 1], vec![Sigmoid, Identity, Sigmoid]),
        (vec![2, 3], vec![Identity]),
        (vec![3, 5, 2], vec![Relu, Identity]),
    ];
    for (k, (widths, acts)) in cases.iter().enumerate() {
        let c = case(widths, acts, 3, &format!("fd/{k}"));
        // distinct copies: each node's gradient is that of the network-wide loss w.r.t. it
        let copies = copies_for(&c, c.comm.n_nodes(), &format!("fd/{k}/copies"));
        finite_difference_check(&c, &copies, Scheme::Pipelined);
        // one shared row: the centralized gradient
        let shared = copies_for(&c, 1, &format!("fd/{k}/shared"));
        finite_difference_check(&c, &shared, Scheme::CentralizedInference);
    }
}

#[test]
fn node_gradients_sum_to_the_centralized_gradient_when_copies_agree() {
    let c = case(&[10, 10, 1], &[Activation::Sigmoid; 2], 5, "identity");
    let shared = copies_for(&c, 1, "identity/shared");
    let central = run(&c, &shared, Scheme::CentralizedInference).grads;
    let tiled = Array2::from_shape_fn((c.comm.n_nodes(), shared.ncols()), |(_, k)| shared[[0, k]]);
    for scheme in [Scheme::Naive, Scheme::NaivePiggybacked, Scheme::Pipelined] {
        let summed = run(&c, &tiled, scheme).grads.sum_axis(ndarray::Axis(0));
        for (a, b) in summed.iter().zip(central.row(0)) {
            assert!(
                (a - b).abs() <= 1e-12 * (1.0 + b.abs()),
                "{scheme:?}: {a} vs {b}"
            );
        }
    }
}

#[test]
fn piggybacked_gradients_equal_the_unpipelined_ones() {
    let c = case(&[4, 6, 5, 2], &[Activation::Sigmoid; 3], 7, "pipeline");
    let copies = copies_for(&c, c.comm.n_nodes(), "pipeline/copies");
    let naive = run(&c, &copies, Scheme::Naive);
    for scheme in [Scheme::NaivePiggybacked, Scheme::Pipelined] {
        let other = run(&c, &copies, scheme);
        let diff = (&other.grads - &naive.grads)
            .iter()
            .fold(0.0f64, |m, d| m.max(d.abs()));
        assert!(diff <= 1e-12, "{scheme:?}: gradients differ by {diff:e}");
        assert!((other.squared_error - naive.squared_error).abs() <= 1e-12 * naive.squared_error);
    }
}
