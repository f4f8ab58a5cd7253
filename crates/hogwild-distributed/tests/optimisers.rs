//! The optimisers' updates: distributed against centralized where they must agree, and the
//! reference code's rules on small hand-checked cases.

use hogwild_distributed::minibatch::{run_minibatch, Filter};
use hogwild_distributed::network::{Network, Part};
use hogwild_distributed::optim::{MixingRule, Optimiser, OptimiserKind, OptimiserSpec, EPSILON};
use hogwild_distributed::regression::{student_parameters, RegressionConfig, RegressionData};
use hogwild_distributed::schedule::Scheme;
use hogwild_distributed::stream;
use hogwild_graph::Graph;
use ndarray::{array, Axis};

fn lone_node() -> Graph {
    Graph::from_weighted_edges(1, &[], None).unwrap()
}

/// On a one-node network mixing is the identity, so each distributed optimiser must take
/// its centralized counterpart's steps (D-AMSGrad has no centralized counterpart).
#[test]
fn one_node_distributed_steps_equal_centralized_steps() {
    let comm = lone_node();
    let grads = [
        array![[0.3, -1.2, 0.0]],
        array![[-0.5, 2.0, 1e-3]],
        array![[0.1, 0.1, -4.0]],
    ];
    for (central, distributed) in [
        (OptimiserKind::Sgd, OptimiserKind::DSgd),
        (OptimiserKind::Adam, OptimiserKind::DAdam),
    ] {
        for rule in [MixingRule::Laplacian, MixingRule::MetropolisHastings] {
            let c_spec = OptimiserSpec::new("c", central, 0.01);
            let mut d_spec = OptimiserSpec::new("d", distributed, 0.01);
            d_spec.mixing = Some(rule);
            let (mut c, mut d) = (
                Optimiser::new(&c_spec, &comm, 3),
                Optimiser::new(&d_spec, &comm, 3),
            );
            let (mut tc, mut td) = (array![[1.0, 2.0, 3.0]], array![[1.0, 2.0, 3.0]]);
            for g in &grads {
                c.step(&mut tc, g, Vec::new());
                let mixed = {
                    let cons = d.consensus(td.view()).unwrap();
                    let mut net = Network::new(comm.clone());
                    cons.payloads
                        .iter()
                        .map(|p| {
                            net.round(&[Part {
                                weights: cons.weights,
                                payload: *p,
                            }])
                            .remove(0)
                        })
                        .collect()
                };
                d.step(&mut td, g, mixed);
                assert_eq!(tc, td, "{central:?} vs {distributed:?} with {rule:?}");
            }
        }
    }
}

/// The reference code's D-AMSGrad: `m, v` from 0, `v̂ = ũ = ε`, no bias correction, the step
/// taken with the mixed `ũ` before `ũ` tracks `v̂`.
#[test]
fn d_amsgrad_follows_the_reference_rule() {
    let comm = lone_node();
    let spec = OptimiserSpec::new("a", OptimiserKind::DAmsgrad, 0.1);
    let mut opt = Optimiser::new(&spec, &comm, 1);
    let mut theta = array![[0.0]];
    let g = array![[2.0]];
    let u0 = array![[EPSILON]];
    let mixed = vec![theta.clone(), u0];
    opt.step(&mut theta, &g, mixed);
    // m = 0.2, step = 0.1 · 0.2 / √ε
    let expect = -0.1 * 0.2 / EPSILON.sqrt();
    assert!((theta[[0, 0]] - expect).abs() < 1e-9 * expect.abs());
    // ũ is now ε − ε + v = 0.004 (plus the max with v̂ = ε)
    let cons = opt.consensus(theta.view()).unwrap();
    let u = cons.payloads[1][[0, 0]];
    assert!((u - 0.004f64.max(EPSILON)).abs() < 1e-15, "ũ = {u}");
}

/// With every copy equal, D-SGD's node-average step is centralized SGD's step: the mixing
/// matrices are doubly stochastic, and the node gradients average to the centralized one.
#[test]
fn d_sgd_average_step_is_the_centralized_step() {
    let mut cfg = RegressionConfig::paper();
    cfg.nodes = 15;
    cfg.train_samples = 6;
    cfg.test_samples = 1;
    cfg.batch_size = 6;
    let data = RegressionData::generate(&cfg);
    let filter = Filter::new(data.arch.clone(), data.shift.clone());
    let len = filter.layout.len;
    let x: Vec<_> = data.train.iter().map(|s| s.x.view()).collect();
    let y: Vec<_> = data.train.iter().map(|s| s.y.view()).collect();
    let shared = student_parameters(len, 1, &mut stream("optimisers/start"));
    let s_spec = OptimiserSpec::new("s", OptimiserKind::Sgd, 0.05);
    let mut s_opt = Optimiser::new(&s_spec, &data.comm, len);
    let mut s_theta = shared.clone();
    let mut net = Network::new(data.comm.clone());
    let out = run_minibatch(
        &mut net,
        &filter,
        s_theta.view(),
        &x,
        &y,
        Scheme::CentralizedInference,
        None,
    );
    s_opt.step(&mut s_theta, &(out.grads / cfg.nodes as f64), out.mixed);
    for rule in [MixingRule::Laplacian, MixingRule::MetropolisHastings] {
        for scheme in [Scheme::Naive, Scheme::NaivePiggybacked, Scheme::Pipelined] {
            let mut d_spec = OptimiserSpec::new("d", OptimiserKind::DSgd, 0.05);
            d_spec.mixing = Some(rule);
            let mut d_opt = Optimiser::new(&d_spec, &data.comm, len);
            let mut d_theta = student_parameters(len, cfg.nodes, &mut stream("optimisers/start"));
            assert_eq!(d_theta.row(0), shared.row(0));
            let out = run_minibatch(
                &mut net,
                &filter,
                d_theta.view(),
                &x,
                &y,
                scheme,
                d_opt.consensus(d_theta.view()),
            );
            d_opt.step(&mut d_theta, &out.grads, out.mixed);
            let mean = d_theta.mean_axis(Axis(0)).unwrap();
            for (a, b) in mean.iter().zip(s_theta.row(0)) {
                assert!((a - b).abs() <= 1e-12, "{rule:?}/{scheme:?}: {a} vs {b}");
            }
        }
    }
}
