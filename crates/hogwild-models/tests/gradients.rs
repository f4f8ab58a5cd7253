//! Finite-difference checks (f64, central differences) of every hand-written backward pass.

mod common;

use common::*;
use hogwild_graph::{Batch, Graph, Sample, Targets};
use hogwild_models::energy::picnn::Activation;
use hogwild_models::energy::variants::Wiring;
use hogwild_models::energy::{EnergyConfig, EnergyGnn, LinearSolver};
use hogwild_models::gat::{Gat, GatConfig};
use hogwild_models::gcn::Gcn;
use hogwild_models::gin::{Aggregation, Gin, GinConfig};
use hogwild_models::gsdgnn::Gsdgnn;
use hogwild_models::ignn::Ignn;
use hogwild_models::linalg::dot_all;
use hogwild_models::oracle_depth::{LayerKind, OracleDepthGnn, OracleExample};
use hogwild_models::Dims;
use hogwild_models::Model;
use ndarray::Array2;
use num_dual::Dual64;
use rand::RngExt;

#[test]
fn gcn_gradients_match_finite_differences() {
    let s = random_sample(7, 3, 2, false, 1);
    let batch = Batch::new(&[&s, &random_sample(5, 3, 2, false, 2)]);
    let mut m = Gcn::new(&gcn_cfg(), 3, 2, &mut rng(3)).unwrap();
    assert!(gradcheck(&mut m, &batch, 1e-6, 1e-8) < 1e-4);
}

fn directed_chain(n: usize) -> Sample {
    let edges: Vec<_> = (1..n).map(|i| (i - 1, i, 1.0)).collect();
    let mut r = rng(9);
    Sample {
        graph: Graph::from_weighted_edges(n, &edges, None).unwrap(),
        features: Array2::from_shape_fn((n, 2), |_| r.random_range(0.0..1.0)),
        targets: Targets::Classes((0..n).map(|i| i % 2).collect()),
    }
}

#[test]
fn ignn_gradients_match_finite_differences_on_directed_and_undirected_graphs() {
    // The reference code's weight gradient is wrong on directed graphs; ours must not be.
    for (sample, normalise, readout_bias) in [
        (directed_chain(5), false, false),
        (directed_chain(6), true, false),
        (random_sample(8, 2, 2, false, 4), true, false),
        (directed_chain(5), false, true),
        (random_sample(8, 2, 2, false, 4), true, true),
    ] {
        let batch = Batch::single(&sample);
        let mut m = Ignn::new(&ignn_cfg(normalise, readout_bias), 2, 2, &mut rng(5)).unwrap();
        // The gradient is taken at the projected W (as in the reference): check it strictly
        // inside the ℓ1 ball, where the projection is the identity, but close to its edge.
        m.loss_and_grads(&batch).unwrap();
        m.params_mut().get_mut(0).mapv_inplace(|v| 0.97 * v);
        assert!(gradcheck(&mut m, &batch, 1e-6, 1e-8) < 1e-4);
    }
}

#[test]
fn energy_gradient_hvp_and_mixed_term_match_finite_differences() {
    // An update network with a hidden layer, and an affine one (the tables' setting, whose
    // Hessian-vector product skips the update network's tangents).
    for update_widths in [vec![4, 1], vec![1]] {
        for activation in [Activation::Softplus, Activation::SoftplusSquared] {
            let cfg = EnergyConfig {
                activation,
                update_widths: update_widths.clone(),
                ..energy_cfg()
            };
            check_energy_derivatives(
                &random_sample(6, 2, 2, true, 6),
                energy(&cfg, WIRINGS[0], 1, 7),
            );
        }
    }
}

/// Every energy-GNN variant.
const WIRINGS: [Wiring; 3] = [Wiring::EDGE, Wiring::NODE, Wiring::ATTENTION];

/// A seeded energy GNN of variant `wiring` for 2 node features, `edge_dim` edge features
/// and 2 outputs.
fn energy(cfg: &EnergyConfig, wiring: Wiring, edge_dim: usize, seed: u64) -> EnergyGnn {
    let dims = Dims {
        in_dim: 2,
        edge_dim,
        out_dim: 2,
    };
    EnergyGnn::variant(cfg, "energy", wiring, dims, &mut rng(seed)).unwrap()
}

#[test]
fn energy_variants_derivatives_match_finite_differences_on_directed_and_undirected_graphs() {
    let cfg = energy_cfg();
    for wiring in WIRINGS {
        let undirected = random_sample(6, 2, 2, true, 6);
        check_energy_derivatives(&undirected, energy(&cfg, wiring, 1, 7));
        let mut directed = directed_chain(6);
        // Bidirectional edge pairs with unequal weights as well as one-way edges.
        directed.graph = Graph::from_weighted_edges(
            6,
            &[
                (0, 1, 1.0),
                (1, 2, 0.5),
                (2, 1, 2.0),
                (2, 3, 1.0),
                (4, 3, 0.7),
                (5, 4, 1.3),
                (3, 5, 0.4),
            ],
            None,
        )
        .unwrap();
        check_energy_derivatives(&directed, energy(&cfg, wiring, 0, 8));
    }
}

#[test]
fn energy_variants_loss_gradients_match_finite_differences_on_directed_and_undirected_graphs() {
    for (i, wiring) in WIRINGS.into_iter().enumerate() {
        let seed = 40 + i as u64;
        for (sample, edge_dim) in [
            (random_sample(7, 2, 2, true, seed), 1),
            (directed_chain(6), 0),
        ] {
            let mut m = energy(&energy_cfg(), wiring, edge_dim, seed);
            let batch = Batch::single(&sample);
            assert!(gradcheck(&mut m, &batch, 1e-4, 1e-4) < 1e-4, "{wiring:?}");
            assert_eq!(
                m.stats().forward_unconverged + m.stats().backward_unconverged,
                0
            );
        }
    }
}

fn check_energy_derivatives(s: &Sample, mut m: EnergyGnn) {
    let batch = Batch::single(s);
    m.project();
    let ctx = m.context(&batch).unwrap();
    let mut r = rng(8);
    let n = s.graph.n_nodes();
    let h = Array2::from_shape_fn((n, 3), |_| r.random_range(-1.0..1.0));
    let v = Array2::from_shape_fn((n, 3), |_| r.random_range(-1.0..1.0));
    let eps = 1e-6;
    let (_, grad, theta) = m.energy_grads::<f64>(&ctx, h.view(), true);
    // ∂E/∂H along v.
    let fd = (m.energy(&ctx, (&h + &(&v * eps)).view())
        - m.energy(&ctx, (&h - &(&v * eps)).view()))
        / (2.0 * eps);
    let an = dot_all(grad.view(), v.view());
    assert!(
        (fd - an).abs() < 1e-7 * an.abs().max(1.0),
        "dE/dH: {fd} vs {an}"
    );
    // Hessian-vector product vs differences of the gradient.
    let gp = m
        .energy_grads::<f64>(&ctx, (&h + &(&v * eps)).view(), false)
        .1;
    let gm = m
        .energy_grads::<f64>(&ctx, (&h - &(&v * eps)).view(), false)
        .1;
    let hv = m.hessian(&ctx, h.view()).apply(v.view());
    for (a, b) in ((gp - gm) / (2.0 * eps)).iter().zip(hv.iter()) {
        assert!((a - b).abs() < 1e-6 * b.abs().max(1.0), "HVP: {a} vs {b}");
    }
    // The Hessian operator's hand-written tangent passes against dual numbers over the
    // gradient pass: the same derivative, so equal to rounding.
    let hd = Array2::from_shape_fn(h.raw_dim(), |idx| Dual64::new(h[idx], v[idx]));
    let dual = m.energy_grads(&ctx, hd.view(), false).1.mapv(|d| d.eps);
    for (a, b) in dual.iter().zip(hv.iter()) {
        assert!(
            (a - b).abs() < 1e-12 * b.abs().max(1.0),
            "HVP vs duals: {a} vs {b}"
        );
    }
    // ∂E/∂θ and the mixed term ∂/∂θ ⟨∇_H E, v⟩, entry by entry.
    let theta = theta.unwrap();
    let mixed = m.mixed(&ctx, h.view(), v.view());
    let n_params = m.params().len();
    let nonempty: Vec<usize> = (0..n_params - 2)
        .filter(|&id| !m.params().get(id).is_empty())
        .collect();
    for id in nonempty {
        let orig = m.params().get(id)[(0, 0)];
        let mut eval = |delta: f64| {
            m.params_mut().get_mut(id)[(0, 0)] = orig + delta;
            let c = m.context(&batch).unwrap();
            let (e, g, _) = m.energy_grads::<f64>(&c, h.view(), false);
            (e, dot_all(g.view(), v.view()))
        };
        let (ep, dp) = eval(eps);
        let (em, dm) = eval(-eps);
        m.params_mut().get_mut(id)[(0, 0)] = orig;
        let name = m.params().name(id).to_string();
        let fd_e = (ep - em) / (2.0 * eps);
        assert!(
            (fd_e - theta[id][(0, 0)]).abs() < 1e-6 * fd_e.abs().max(1.0),
            "dE/d{name}: {fd_e} vs {}",
            theta[id][(0, 0)]
        );
        let fd_m = (dp - dm) / (2.0 * eps);
        assert!(
            (fd_m - mixed[id][(0, 0)]).abs() < 1e-6 * fd_m.abs().max(1.0),
            "mixed d/d{name}: {fd_m} vs {}",
            mixed[id][(0, 0)]
        );
    }
}

#[test]
fn energy_loss_gradient_through_the_implicit_solve_matches_finite_differences() {
    for (seed, edge, activation, linear_solver) in [
        (
            10,
            false,
            Activation::SoftplusSquared,
            LinearSolver::Cholesky,
        ),
        (11, true, Activation::Softplus, LinearSolver::Cholesky),
        (12, true, Activation::SoftplusSquared, LinearSolver::Cg),
    ] {
        let s = random_sample(7, 2, 2, edge, seed);
        let batch = Batch::single(&s);
        let cfg = EnergyConfig {
            activation,
            linear_solver,
            ..energy_cfg()
        };
        let mut m = EnergyGnn::new(&cfg, 2, usize::from(edge), 2, &mut rng(seed)).unwrap();
        assert!(gradcheck(&mut m, &batch, 1e-4, 1e-4) < 1e-4);
        assert_eq!(
            m.stats().forward_unconverged + m.stats().backward_unconverged,
            0
        );
    }
}

/// `s` with regression targets (one value per node) or relative positions (two per node).
fn with_targets(mut s: Sample, positions: bool, seed: u64) -> Sample {
    let mut r = rng(seed);
    let n = s.graph.n_nodes();
    s.targets = if positions {
        Targets::Positions(Array2::from_shape_fn((n, 2), |_| r.random_range(0.0..1.0)))
    } else {
        Targets::Values(Array2::from_shape_fn((n, 1), |_| r.random_range(-1.0..1.0)))
    };
    s
}

#[test]
fn regression_and_pairwise_distance_losses_backpropagate_through_every_model() {
    for positions in [false, true] {
        let out = if positions { 2 } else { 1 };
        // Two graphs in one batch: the distance loss pairs nodes within a graph only.
        let (a, b) = (
            with_targets(random_sample(6, 2, 2, true, 20), positions, 21),
            with_targets(random_sample(5, 2, 2, true, 22), positions, 23),
        );
        let batch = Batch::new(&[&a, &b]);
        let mut gcn = Gcn::new(&gcn_cfg(), 2, out, &mut rng(24)).unwrap();
        // Biases start at 0, and a node whose neighbourhood has all-zero features would sit
        // on the ReLU's kink, where finite differences see half a slope: move off it.
        for id in 0..gcn.params().len() {
            gcn.params_mut().get_mut(id).mapv_inplace(|v| v + 0.01);
        }
        assert!(gradcheck(&mut gcn, &batch, 1e-6, 1e-8) < 1e-4);
        let mut ignn = Ignn::new(&ignn_cfg(false, true), 2, out, &mut rng(25)).unwrap();
        ignn.loss_and_grads(&batch).unwrap();
        ignn.params_mut().get_mut(0).mapv_inplace(|v| 0.97 * v);
        assert!(gradcheck(&mut ignn, &batch, 1e-6, 1e-8) < 1e-4);
        // The energy GNN reads the distances on the edges.
        let mut energy = EnergyGnn::new(&energy_cfg(), 2, 1, out, &mut rng(26)).unwrap();
        assert!(gradcheck(&mut energy, &batch, 1e-4, 1e-4) < 1e-4);
    }
}

#[test]
fn cholesky_and_conjugate_gradients_reach_the_same_minimiser_and_adjoint() {
    let s = random_sample(9, 2, 2, true, 13);
    let batch = Batch::single(&s);
    let solve = |linear_solver| {
        let cfg = EnergyConfig {
            linear_solver,
            ..energy_cfg()
        };
        let m = EnergyGnn::new(&cfg, 2, 1, 2, &mut rng(13)).unwrap();
        let ctx = m.context(&batch).unwrap();
        let mut trace = vec![];
        let (h, _, ok) = m.minimise(&ctx, Array2::zeros((9, cfg.hidden)), &mut trace);
        // The trace holds the stopping quantity of every iteration, the last below tol.
        assert!(trace.last().is_some_and(|&g| g < cfg.tol), "{trace:?}");
        assert!(ok);
        let b = Array2::from_shape_fn(h.raw_dim(), |(i, c)| (i as f64 - 3.0) * 0.1 + c as f64);
        let (w, products, ok) = m.adjoint(&ctx, h.view(), &b);
        assert!(ok && products > 0);
        (h, w)
    };
    let (h_chol, w_chol) = solve(LinearSolver::Cholesky);
    let (h_cg, w_cg) = solve(LinearSolver::Cg);
    let diff =
        |a: &Array2<f64>, b: &Array2<f64>| (a - b).iter().fold(0.0f64, |m, v| m.max(v.abs()));
    assert!(
        diff(&h_chol, &h_cg) < 1e-10,
        "minimisers differ by {}",
        diff(&h_chol, &h_cg)
    );
    assert!(
        diff(&w_chol, &w_cg) < 1e-9,
        "adjoints differ by {}",
        diff(&w_chol, &w_cg)
    );
}

#[test]
fn gsdgnn_gradients_through_both_solves_match_finite_differences() {
    // Classification, regression and pairwise distances, two graphs in a batch. Biases start
    // at 0 and a node without features would sit on the perceptron's ReLU kink: move off it.
    let kinds: [(Option<bool>, usize); 3] = [(None, 2), (Some(false), 1), (Some(true), 2)];
    for (positions, out) in kinds {
        let (a, b) = (
            random_sample(7, 3, 2, false, 31),
            random_sample(5, 3, 2, false, 32),
        );
        let (a, b) = match positions {
            None => (a, b),
            Some(p) => (with_targets(a, p, 33), with_targets(b, p, 34)),
        };
        assert!(a.graph.is_symmetric() && b.graph.is_symmetric());
        let batch = Batch::new(&[&a, &b]);
        let mut m = Gsdgnn::new(&gsdgnn_cfg(), 3, out, &mut rng(35)).unwrap();
        for id in 0..m.params().len() {
            m.params_mut().get_mut(id).mapv_inplace(|v| v + 0.01);
        }
        // With distances, shifting G by a constant (b2) moves every embedding alike: a zero
        // gradient, whose finite difference is rounding noise of about 1e-10.
        assert!(
            gradcheck(&mut m, &batch, 1e-6, 1e-6) < 1e-4,
            "{positions:?}"
        );
    }
}

fn gat_cfg(heads: usize) -> GatConfig {
    GatConfig {
        hidden: 4,
        heads,
        layers: 2,
        negative_slope: 0.2,
        train: train_cfg(),
    }
}

#[test]
fn gat_gradients_match_finite_differences_on_directed_and_undirected_graphs() {
    let cases = [
        (random_sample(7, 3, 2, false, 41), 3, 2),
        (random_sample(6, 3, 2, false, 42), 3, 1),
        (directed_chain(5), 2, 2),
        (directed_chain(6), 2, 3),
    ];
    for (sample, in_dim, heads) in cases {
        let batch = Batch::single(&sample);
        let mut m = Gat::new(&gat_cfg(heads), in_dim, 2, &mut rng(43)).unwrap();
        // Off ReLU's kink (biases start at 0 and padded features are 0).
        for id in 0..m.params().len() {
            m.params_mut().get_mut(id).mapv_inplace(|v| v + 0.01);
        }
        assert!(
            gradcheck(&mut m, &batch, 1e-6, 1e-8) < 1e-4,
            "heads {heads}"
        );
    }
    // Regression and pairwise distances, two graphs in a batch.
    for positions in [false, true] {
        let out = if positions { 2 } else { 1 };
        let (a, b) = (
            with_targets(random_sample(6, 2, 2, false, 44), positions, 45),
            with_targets(random_sample(5, 2, 2, false, 46), positions, 47),
        );
        let batch = Batch::new(&[&a, &b]);
        let mut m = Gat::new(&gat_cfg(2), 2, out, &mut rng(48)).unwrap();
        for id in 0..m.params().len() {
            m.params_mut().get_mut(id).mapv_inplace(|v| v + 0.01);
        }
        assert!(gradcheck(&mut m, &batch, 1e-6, 1e-6) < 1e-4, "{positions}");
    }
}

fn gin_cfg(aggregation: Aggregation, eps: f64) -> GinConfig {
    GinConfig {
        hidden: 4,
        layers: 2,
        aggregation,
        eps,
        train: train_cfg(),
    }
}

#[test]
fn gin_gradients_match_finite_differences_for_every_aggregation() {
    for (aggregation, eps) in [
        (Aggregation::Sum, 0.0),
        (Aggregation::Sum, 0.5),
        (Aggregation::Mean, 0.0),
        (Aggregation::Max, 0.0),
    ] {
        let cases = [
            (random_sample(7, 3, 2, false, 51), 3),
            (directed_chain(6), 2),
        ];
        for (sample, in_dim) in cases {
            let batch = Batch::new(&[&sample, &random_sample(5, in_dim, 2, false, 52)]);
            let mut m = Gin::new(&gin_cfg(aggregation, eps), in_dim, 2, &mut rng(53)).unwrap();
            // Off ReLU's kink (biases start at 0 and padded features are 0); max
            // aggregation's ties are measure-zero at random weights.
            for id in 0..m.params().len() {
                m.params_mut().get_mut(id).mapv_inplace(|v| v + 0.01);
            }
            let error = gradcheck(&mut m, &batch, 1e-6, 1e-8);
            assert!(error < 1e-4, "{aggregation:?} eps {eps}: {error:e}");
        }
    }
}

/// Central finite differences of [`OracleDepthGnn`]'s batch loss at every parameter entry
/// against its hand-written gradient; returns the largest relative error.
fn oracle_gradcheck(model: &mut OracleDepthGnn, batch: &[OracleExample]) -> f64 {
    let (_, grads) = model.loss_and_grads(batch);
    let (eps, floor) = (1e-6, 1e-8);
    let mut worst: f64 = 0.0;
    for (id, grad) in grads.iter().enumerate() {
        for (idx, &an) in grad.indexed_iter() {
            let orig = model.params.get(id)[idx];
            model.params.get_mut(id)[idx] = orig + eps;
            let plus = model.loss_and_grads(batch).0;
            model.params.get_mut(id)[idx] = orig - eps;
            let minus = model.loss_and_grads(batch).0;
            model.params.get_mut(id)[idx] = orig;
            let fd = (plus - minus) / (2.0 * eps);
            let err = (fd - an).abs() / (fd.abs() + an.abs() + floor);
            assert!(
                err < 1e-4,
                "{:?}: parameter {} {idx:?}: finite difference {fd:e} vs analytic {an:e}",
                model.kind(),
                model.params.name(id)
            );
            worst = worst.max(err);
        }
    }
    worst
}

#[test]
fn oracle_depth_gradients_match_finite_differences_for_every_layer_kind() {
    use hogwild_datasets::expressiveness::Split;
    use hogwild_datasets::parity::parity_graphs;
    // Random features on random graphs (no ties in GIN's max), and parity graphs with the
    // baselines' features (every node but the origin alike: ties between nodes the origin
    // has not reached, whose embeddings are the same function of the parameters), each
    // with its own depth; a batch of graphs of different sizes and depths.
    let random: Vec<Sample> = [(7, 61), (5, 62)]
        .map(|(n, seed)| random_sample(n, 5, 2, false, seed))
        .into();
    let parity = parity_graphs(2, 9, 63, Split::Train);
    let labels = |s: &Sample| match &s.targets {
        Targets::Classes(c) => c.clone(),
        _ => unreachable!("classes"),
    };
    let random_labels: Vec<Vec<usize>> = random.iter().map(labels).collect();
    let parity_labels: Vec<Vec<usize>> = parity.iter().map(|g| labels(&g.sample)).collect();
    let mut batches: Vec<Vec<OracleExample>> = vec![];
    batches.push(
        random
            .iter()
            .zip(&random_labels)
            .zip([3, 2])
            .map(|((s, l), depth)| OracleExample {
                graph: &s.graph,
                features: s.features.view(),
                depth,
                labels: l,
            })
            .collect(),
    );
    batches.push(
        parity
            .iter()
            .zip(&parity_labels)
            .map(|(g, l)| OracleExample {
                graph: &g.sample.graph,
                features: g.sample.features.view(),
                depth: g.eccentricity,
                labels: l,
            })
            .collect(),
    );
    for kind in [LayerKind::Gin, LayerKind::Gcn, LayerKind::Gat] {
        for (b, batch) in batches.iter().enumerate() {
            let mut m = OracleDepthGnn::new(kind, 5, 4, 2, &mut rng(64));
            // GCN's and GAT's biases start at 0: move them off, so their gradients' paths
            // are exercised at generic values.
            for id in 0..m.params.len() {
                m.params.get_mut(id).mapv_inplace(|v| v + 0.01);
            }
            let error = oracle_gradcheck(&mut m, batch);
            assert!(error < 1e-4, "{kind:?} batch {b}: {error:e}");
        }
    }
}
