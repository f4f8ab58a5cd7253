//! Shared fixtures for the model tests.
#![allow(dead_code)]

use hogwild_graph::{Batch, Sample};
use hogwild_models::energy::picnn::Activation;
use hogwild_models::energy::{
    AsyncCurvature, AsyncStep, EnergyConfig, ForwardSolver, LinearSolver,
};
use hogwild_models::gcn::GcnConfig;
use hogwild_models::gsdgnn::GsdgnnConfig;
use hogwild_models::ignn::IgnnConfig;
use hogwild_models::{Model, TrainConfig};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

pub fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

pub fn train_cfg() -> TrainConfig {
    TrainConfig {
        epochs: 10,
        batch_graphs: None,
        lr: 0.01,
        weight_decay: 0.0,
        grad_clip: 0.0,
        lr_schedule: Default::default(),
    }
}

pub fn gcn_cfg() -> GcnConfig {
    GcnConfig {
        hidden: 4,
        layers: 2,
        train: train_cfg(),
    }
}

pub fn ignn_cfg(normalise: bool, readout_bias: bool) -> IgnnConfig {
    IgnnConfig {
        hidden: 4,
        kappa: 0.9,
        tol: 1e-13,
        max_iter: 5000,
        normalise,
        readout_bias,
        train: train_cfg(),
    }
}

pub fn energy_cfg() -> EnergyConfig {
    EnergyConfig {
        hidden: 3,
        message_widths: vec![4, 3],
        update_widths: vec![4, 1],
        activation: Activation::SoftplusSquared,
        beta: 0.5,
        solver: ForwardSolver::Newton,
        linear_solver: LinearSolver::Cholesky,
        step: 0.05,
        tol: 1e-12,
        max_iter: 200,
        cg_tol: 1e-13,
        cg_max_iter: 1000,
        newton_forcing_max: 0.01,
        async_step_scale: 0.5,
        async_step: AsyncStep::Fixed,
        async_curvature: AsyncCurvature::Global,
        async_rule: Default::default(),
        async_damping: 1.0,
        async_hessian_every: 1,
        train: train_cfg(),
    }
}

pub fn gsdgnn_cfg() -> GsdgnnConfig {
    GsdgnnConfig {
        hidden: 3,
        mlp_hidden: 4,
        smoothing: 1.5,
        tol: 1e-13,
        max_iter: 500,
        train: train_cfg(),
    }
}

/// A random connected graph (see [`hogwild_datasets::synthetic::random_sample`]).
pub fn random_sample(n: usize, f: usize, classes: usize, edge_features: bool, seed: u64) -> Sample {
    hogwild_datasets::synthetic::random_sample(n, 0.3, f, classes, edge_features, seed)
}

/// Central finite differences of the loss for a spread of parameter entries, compared with
/// the analytic gradient; the error is `|fd − an| / (|fd| + |an| + floor)`, `floor` set by
/// the noise of the finite differences. Returns the largest error seen.
pub fn gradcheck(model: &mut dyn Model, batch: &Batch, eps: f64, floor: f64) -> f64 {
    model.project();
    let (_, grads) = model.loss_and_grads(batch).unwrap();
    let mut worst: f64 = 0.0;
    for (id, grad) in grads.iter().enumerate() {
        let len = grad.len();
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
            let an = grad[idx];
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
