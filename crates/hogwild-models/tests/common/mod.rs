//! Shared fixtures for the model tests.
#![allow(dead_code)]

use hogwild_graph::{Batch, Graph, Sample, Targets};
use hogwild_models::energy::{EnergyConfig, ForwardSolver};
use hogwild_models::gcn::GcnConfig;
use hogwild_models::ignn::IgnnConfig;
use hogwild_models::{Model, TrainConfig};
use ndarray::Array2;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

pub fn train_cfg() -> TrainConfig {
    TrainConfig {
        epochs: 10,
        lr: 0.01,
        weight_decay: 0.0,
        grad_clip: 0.0,
    }
}

pub fn gcn_cfg() -> GcnConfig {
    GcnConfig {
        hidden: 4,
        layers: 2,
        train: train_cfg(),
    }
}

pub fn ignn_cfg(normalise: bool) -> IgnnConfig {
    IgnnConfig {
        hidden: 4,
        kappa: 0.9,
        tol: 1e-13,
        max_iter: 5000,
        normalise,
        train: train_cfg(),
    }
}

pub fn energy_cfg() -> EnergyConfig {
    EnergyConfig {
        hidden: 3,
        message_widths: vec![4, 3],
        update_widths: vec![4, 1],
        beta: 0.5,
        solver: ForwardSolver::NewtonCg,
        step: 0.05,
        tol: 1e-12,
        max_iter: 200,
        cg_tol: 1e-13,
        cg_max_iter: 1000,
        async_step_scale: 0.5,
        train: train_cfg(),
    }
}

/// A random undirected graph on `n` nodes (each pair with probability `p`, plus a path so it
/// is connected), random features of width `f`, class targets, and optionally distances as
/// edge features.
pub fn random_sample(n: usize, f: usize, classes: usize, edge_features: bool, seed: u64) -> Sample {
    let mut r = rng(seed);
    let pos: Vec<(f64, f64)> = (0..n)
        .map(|_| (r.random::<f64>(), r.random::<f64>()))
        .collect();
    let mut pairs = vec![];
    for a in 0..n {
        for b in a + 1..n {
            if b == a + 1 || r.random::<f64>() < 0.3 {
                pairs.push((a, b));
            }
        }
    }
    let graph = if edge_features {
        let mut edges = vec![];
        let mut feats = vec![];
        for &(a, b) in &pairs {
            let d = ((pos[a].0 - pos[b].0).powi(2) + (pos[a].1 - pos[b].1).powi(2)).sqrt();
            edges.push((a, b, 1.0));
            edges.push((b, a, 1.0));
            feats.extend([d, d]);
        }
        let nf = feats.len();
        Graph::from_weighted_edges(
            n,
            &edges,
            Some(Array2::from_shape_vec((nf, 1), feats).unwrap()),
        )
        .unwrap()
    } else {
        Graph::undirected(n, &pairs).unwrap()
    };
    let features = Array2::from_shape_fn((n, f), |_| r.random_range(-1.0..1.0));
    let targets = Targets::Classes((0..n).map(|_| r.random_range(0..classes)).collect());
    Sample {
        graph,
        features,
        targets,
    }
}

/// Central finite differences of the loss for a spread of parameter entries, compared with
/// the analytic gradient; the error is `|fd − an| / (|fd| + |an| + floor)`, `floor` set by
/// the noise of the finite differences. Returns the largest error seen.
pub fn gradcheck(model: &mut dyn Model, batch: &Batch, eps: f64, floor: f64) -> f64 {
    model.project();
    let (_, grads) = model.loss_and_grads(batch).unwrap();
    let mut worst: f64 = 0.0;
    for id in 0..model.params().len() {
        let len = model.params().get(id).len();
        for flat in (0..len).step_by(len.div_ceil(3).max(1)) {
            let shape = model.params().get(id).dim();
            let idx = (flat / shape.1, flat % shape.1);
            let orig = model.params().get(id)[idx];
            model.params_mut().get_mut(id)[idx] = orig + eps;
            let plus = model.loss_and_grads(batch).unwrap().0;
            model.params_mut().get_mut(id)[idx] = orig - eps;
            let minus = model.loss_and_grads(batch).unwrap().0;
            model.params_mut().get_mut(id)[idx] = orig;
            let fd = (plus - minus) / (2.0 * eps);
            let an = grads[id][idx];
            let err = (fd - an).abs() / (fd.abs() + an.abs() + floor);
            assert!(
                err < 1e-4,
                "{}: parameter {} {idx:?}: finite difference {fd:e} vs analytic {an:e}",
                model.name(),
                model.params().name(id)
            );
            worst = worst.max(err);
        }
    }
    worst
}
