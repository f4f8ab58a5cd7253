//! Experiment 3 (link scheduling): the hand-written backward passes of the Chebyshev GCN,
//! the critic and the actor against central finite differences, on undirected and
//! directed supports, for per-node copies and a shared row; and the per-link actor
//! gradients summing to the centralized one when the copies agree.

use hogwild_distributed::filter::Activation;
use hogwild_distributed::scheduling::cheb::ChebNet;
use hogwild_distributed::scheduling::models::{actor, actor_forward, Critic};
use hogwild_distributed::stream;
use hogwild_distributed::topology::{erdos_renyi, scheduling_laplacian};
use hogwild_graph::Graph;
use ndarray::Array2;
use rand::RngExt;

const STEP: f64 = 1e-6;

fn close(fd: f64, g: f64, what: &str) {
    assert!(
        (fd - g).abs() <= 1e-6 * (1.0 + g.abs()),
        "{what}: finite difference {fd}, backward pass {g}"
    );
}

/// A conflict graph with an isolated node, and its support.
fn undirected(n: usize, label: &str) -> Graph {
    let g = erdos_renyi(n, 0.4, &mut stream(label));
    let pairs: Vec<(usize, usize)> = (0..n - 1)
        .flat_map(|i| g.neighbours(i).map(move |(j, _)| (i, j)))
        .filter(|&(i, j)| i < j && j != n - 1)
        .collect();
    scheduling_laplacian(&Graph::undirected(n, &pairs).unwrap())
}

/// A directed support with random weights and self-loops (not symmetric).
fn directed(n: usize, label: &str) -> Graph {
    let mut rng = stream(label);
    let mut edges = Vec::new();
    for i in 0..n {
        for j in 0..n {
            if i == j || rng.random::<f64>() < 0.3 {
                edges.push((j, i, rng.random::<f64>() * 2.0 - 1.0));
            }
        }
    }
    let g = Graph::from_weighted_edges(n, &edges, None).unwrap();
    assert!(!g.is_symmetric());
    g
}

fn random_array(rows: usize, cols: usize, label: &str) -> Array2<f64> {
    let mut rng = stream(label);
    Array2::from_shape_fn((rows, cols), |_| rng.random::<f64>() * 2.0 - 1.0)
}

/// `J = Σ c ⊙ output` of a 3-layer net with biases.
fn check_cheb(s: &Graph, rows: usize, label: &str) {
    let n = s.n_nodes();
    let net = ChebNet {
        widths: vec![2, 4, 3, 2],
        activations: vec![
            Activation::LeakyRelu,
            Activation::Sigmoid,
            Activation::Identity,
        ],
        bias: true,
    };
    let copies = random_array(rows, net.len(), &format!("{label}/copies"));
    let x = random_array(n, 2, &format!("{label}/x"));
    let c = random_array(n, 2, &format!("{label}/c"));
    let objective = |copies: &Array2<f64>, x: &Array2<f64>| -> f64 {
        let t = net.forward(s, copies.view(), x.clone());
        (t.output() * &c).sum()
    };
    let trace = net.forward(s, copies.view(), x.clone());
    let mut grads = Array2::zeros(copies.dim());
    let x_grad = net
        .backward(s, copies.view(), &trace, c.view(), Some(&mut grads), true)
        .unwrap();
    for r in 0..rows {
        for k in 0..net.len() {
            let (mut up, mut down) = (copies.clone(), copies.clone());
            up[[r, k]] += STEP;
            down[[r, k]] -= STEP;
            let fd = (objective(&up, &x) - objective(&down, &x)) / (2.0 * STEP);
            close(
                fd,
                grads[[r, k]],
                &format!("{label}: copy {r}, parameter {k}"),
            );
        }
    }
    for v in 0..n {
        for f in 0..2 {
            let (mut up, mut down) = (x.clone(), x.clone());
            up[[v, f]] += STEP;
            down[[v, f]] -= STEP;
            let fd = (objective(&copies, &up) - objective(&copies, &down)) / (2.0 * STEP);
            close(fd, x_grad[[v, f]], &format!("{label}: input {v}, {f}"));
        }
    }
}

#[test]
fn chebyshev_backward_matches_finite_differences() {
    for (name, s) in [
        ("undirected", undirected(7, "fd/undirected")),
        ("directed", directed(6, "fd/directed")),
    ] {
        check_cheb(&s, 1, &format!("{name}, shared row"));
        check_cheb(&s, s.n_nodes(), &format!("{name}, per-node copies"));
    }
}

fn small_critic() -> Critic {
    Critic::new(3, 5, 5e-4)
}

#[test]
fn critic_gradients_match_finite_differences() {
    for (name, s) in [
        ("undirected", undirected(8, "critic/undirected")),
        ("directed", directed(6, "critic/directed")),
    ] {
        let n = s.n_nodes();
        let critic = small_critic();
        let phi = random_array(1, critic.net.len(), &format!("{name}/phi"));
        let z: Vec<f64> = random_array(n, 1, &format!("{name}/z"))
            .iter()
            .map(|v| v + 1.0)
            .collect();
        let mut target = random_array(n, 1, &format!("{name}/target")).mapv(f64::abs);
        target = ndarray::concatenate![ndarray::Axis(1), target, target.mapv(|t| 1.0 - t)];

        // the actor's objective against z
        let pass = critic.forward(&s, phi.view(), &z);
        let (objective, z_grad) = critic.actor_objective(&s, phi.view(), &pass);
        let at = |z: &[f64]| {
            let p = critic.forward(&s, phi.view(), z);
            critic.actor_objective(&s, phi.view(), &p).0
        };
        assert_eq!(objective, at(&z));
        for v in 0..n {
            let (mut up, mut down) = (z.clone(), z.clone());
            up[v] += STEP;
            down[v] -= STEP;
            let fd = (at(&up) - at(&down)) / (2.0 * STEP);
            close(fd, z_grad[v], &format!("{name}: actor objective, z_{v}"));
        }

        // the critic's loss against its parameters
        let (_, grads) = critic.loss(&s, phi.view(), &pass, &target);
        let loss = |phi: &Array2<f64>| {
            let p = critic.forward(&s, phi.view(), &z);
            critic.loss(&s, phi.view(), &p, &target).0
        };
        for k in 0..critic.net.len() {
            let (mut up, mut down) = (phi.clone(), phi.clone());
            up[[0, k]] += STEP;
            down[[0, k]] -= STEP;
            let fd = (loss(&up) - loss(&down)) / (2.0 * STEP);
            close(
                fd,
                grads[[0, k]],
                &format!("{name}: critic loss, parameter {k}"),
            );
        }
    }
}

/// The actor's gradient through the critic, per copy (rows = n) or shared (rows = 1).
fn actor_gradient(
    s: &Graph,
    theta: &Array2<f64>,
    critic: &Critic,
    phi: &Array2<f64>,
) -> Array2<f64> {
    let net = actor(3, 4);
    let trace = actor_forward(&net, s, theta.view());
    let z = trace.output().column(0).to_vec();
    let pass = critic.forward(s, phi.view(), &z);
    let (_, z_grad) = critic.actor_objective(s, phi.view(), &pass);
    let mut grads = Array2::zeros(theta.dim());
    let out = Array2::from_shape_vec((z.len(), 1), z_grad).unwrap();
    net.backward(s, theta.view(), &trace, out.view(), Some(&mut grads), false);
    grads
}

fn actor_objective(s: &Graph, theta: &Array2<f64>, critic: &Critic, phi: &Array2<f64>) -> f64 {
    let trace = actor_forward(&actor(3, 4), s, theta.view());
    let z = trace.output().column(0).to_vec();
    let pass = critic.forward(s, phi.view(), &z);
    critic.actor_objective(s, phi.view(), &pass).0
}

#[test]
fn actor_gradients_through_the_critic_match_finite_differences() {
    let s = undirected(7, "actor/graph");
    let n = s.n_nodes();
    let critic = small_critic();
    let phi = random_array(1, critic.net.len(), "actor/phi");
    let net = actor(3, 4);
    // shifted up so that the output ReLU is active at most links
    let mut theta = random_array(n, net.len(), "actor/theta");
    theta.mapv_inplace(|w| w + 0.3);
    let grads = actor_gradient(&s, &theta, &critic, &phi);
    let mut nonzero = 0;
    for r in 0..n {
        for k in 0..net.len() {
            let (mut up, mut down) = (theta.clone(), theta.clone());
            up[[r, k]] += STEP;
            down[[r, k]] -= STEP;
            let fd = (actor_objective(&s, &up, &critic, &phi)
                - actor_objective(&s, &down, &critic, &phi))
                / (2.0 * STEP);
            close(fd, grads[[r, k]], &format!("actor copy {r}, parameter {k}"));
            nonzero += usize::from(grads[[r, k]] != 0.0);
        }
    }
    assert!(
        nonzero > grads.len() / 3,
        "{nonzero} of {} gradients are non-zero",
        grads.len()
    );
}

#[test]
fn link_gradients_sum_to_the_centralized_gradient_when_copies_agree() {
    let s = undirected(9, "sum/graph");
    let n = s.n_nodes();
    let critic = small_critic();
    let phi = random_array(1, critic.net.len(), "sum/phi");
    let shared = random_array(1, actor(3, 4).len(), "sum/theta").mapv(|w| w + 0.3);
    let copies = Array2::from_shape_fn((n, shared.ncols()), |(_, k)| shared[[0, k]]);
    let central = actor_gradient(&s, &shared, &critic, &phi);
    let summed = actor_gradient(&s, &copies, &critic, &phi).sum_axis(ndarray::Axis(0));
    for (a, b) in central.row(0).iter().zip(summed.iter()) {
        assert!((a - b).abs() <= 1e-12 * (1.0 + a.abs()), "{a} against {b}");
    }
}
