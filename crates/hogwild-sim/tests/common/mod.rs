//! What the simulator's test files share: seeds, settings, a distance, and small rules.

#![allow(dead_code)] // each test file uses a part

use hogwild_graph::Graph;
use hogwild_models::energy::picnn::Activation;
use hogwild_models::energy::{
    AsyncCurvature, AsyncStep, EnergyConfig, EnergyGnn, ForwardSolver, LinearSolver,
};
use hogwild_models::gcn::{Gcn, GcnConfig};
use hogwild_models::gsdgnn::{Gsdgnn, GsdgnnConfig};
use hogwild_models::ignn::{Ignn, IgnnConfig};
use hogwild_models::{Execution, LocalRule, Model, TrainConfig};
use ndarray::Array2;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

pub fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

/// Valid training settings; the models here are never trained.
pub fn train() -> TrainConfig {
    TrainConfig {
        batch_graphs: None,
        epochs: 1,
        lr: 0.01,
        weight_decay: 0.0,
        grad_clip: 0.0,
        lr_schedule: Default::default(),
    }
}

/// Untrained models on 2 features and 3 classes, as the fault and event tests use them.
pub fn gcn(seed: u64) -> Gcn {
    let c = GcnConfig {
        hidden: 5,
        layers: 2,
        train: train(),
    };
    Gcn::new(&c, 2, 3, &mut rng(seed)).unwrap()
}

/// An IGNN whose W is pushed against the contraction bound (slow to converge), as in the
/// simulator's tests.
pub fn ignn(seed: u64) -> Ignn {
    let c = IgnnConfig {
        hidden: 5,
        kappa: 0.95,
        tol: 1e-13,
        max_iter: 10_000,
        normalise: true,
        readout_bias: true,
        train: train(),
    };
    let mut m = Ignn::new(&c, 2, 3, &mut rng(seed)).unwrap();
    m.params_mut().get_mut(0).mapv_inplace(|v| 10.0 * v);
    m
}

/// The energy GNN of [`energy`]: small, well conditioned (β = 0.3), Newton solves.
pub fn energy_config() -> EnergyConfig {
    EnergyConfig {
        hidden: 3,
        message_widths: vec![4, 3],
        update_widths: vec![4, 1],
        activation: Activation::SoftplusSquared,
        beta: 0.3,
        solver: ForwardSolver::Newton,
        linear_solver: LinearSolver::Cholesky,
        step: 0.05,
        tol: 1e-12,
        max_iter: 200,
        cg_tol: 1e-12,
        cg_max_iter: 1000,
        newton_forcing_max: 0.01,
        async_step_scale: 0.5,
        async_step: AsyncStep::Fixed,
        async_curvature: AsyncCurvature::Global,
        async_rule: Default::default(),
        async_damping: 1.0,
        async_hessian_every: 1,
        train: train(),
    }
}

pub fn energy(seed: u64) -> EnergyGnn {
    EnergyGnn::new(&energy_config(), 2, 0, 3, &mut rng(seed)).unwrap()
}

pub fn gsdgnn(seed: u64) -> Gsdgnn {
    let c = GsdgnnConfig {
        hidden: 4,
        mlp_hidden: 5,
        smoothing: 0.5,
        tol: 1e-13,
        max_iter: 1000,
        train: train(),
    };
    Gsdgnn::new(&c, 2, 3, &mut rng(seed)).unwrap()
}

/// The implicit models: IGNN, the energy GNN and GSDGNN.
pub fn implicit(seed: u64) -> Vec<Box<dyn Model>> {
    vec![
        Box::new(ignn(seed)),
        Box::new(energy(seed)),
        Box::new(gsdgnn(seed)),
    ]
}

/// The largest entry-wise difference.
pub fn max_diff(a: &Array2<f64>, b: &Array2<f64>) -> f64 {
    a.iter()
        .zip(b.iter())
        .fold(0.0, |m, (x, y)| m.max((x - y).abs()))
}

/// The paper's Figure 1: a 3-layer GNN whose update is the sum of the node's and its
/// neighbours' values (weights 1), on a path with binary features.
pub struct SumGnn {
    pub graph: Graph,
    pub x: Vec<f64>,
}

impl LocalRule for SumGnn {
    fn graph(&self) -> &Graph {
        &self.graph
    }
    fn execution(&self) -> Execution {
        Execution::Explicit { updates: 3 }
    }
    fn state_len(&self, _i: usize) -> usize {
        1
    }
    fn init(&self, i: usize, out: &mut [f64]) {
        out[0] = self.x[i];
    }
    fn update(&self, _i: usize, _count: usize, own: &[f64], views: &[&[f64]], out: &mut [f64]) {
        out[0] = own[0] + views.iter().map(|v| v[0]).sum::<f64>();
    }
    fn residual(&self, _states: &[Vec<f64>]) -> f64 {
        0.0
    }
    fn readout(&self, states: &[Vec<f64>]) -> Array2<f64> {
        Array2::from_shape_fn((states.len(), 1), |(i, _)| states[i][0])
    }
}

/// Figure 1's path and features.
pub fn figure_one() -> SumGnn {
    SumGnn {
        graph: Graph::path(5),
        x: vec![1.0, 0.0, 1.0, 1.0, 0.0],
    }
}

/// An explicit rule whose state is long (1 + degree values, as the energy GNN's) and whose
/// output depends on exactly which version of every neighbour each update read.
pub struct Tracer {
    pub graph: Graph,
    pub updates: usize,
}

impl LocalRule for Tracer {
    fn graph(&self) -> &Graph {
        &self.graph
    }
    fn execution(&self) -> Execution {
        Execution::Explicit {
            updates: self.updates,
        }
    }
    fn state_len(&self, i: usize) -> usize {
        1 + self.graph.degree(i)
    }
    fn init(&self, i: usize, out: &mut [f64]) {
        out.fill(0.0);
        out[0] = (i + 1) as f64;
    }
    fn update(&self, i: usize, count: usize, own: &[f64], views: &[&[f64]], out: &mut [f64]) {
        let mut h = 0.7 * own[0] + (count + i) as f64 * 1e-3;
        for (r, v) in views.iter().enumerate() {
            h += (r as f64 + std::f64::consts::SQRT_2) * v[0] * 0.1 + v[v.len() - 1] * 1e-2;
            out[1 + r] = v[0];
        }
        out[0] = h.sin();
    }
    fn residual(&self, _states: &[Vec<f64>]) -> f64 {
        0.0
    }
    fn readout(&self, states: &[Vec<f64>]) -> Array2<f64> {
        let w = states.iter().map(Vec::len).max().unwrap();
        Array2::from_shape_fn((states.len(), w), |(i, c)| {
            states[i].get(c).copied().unwrap_or(0.0)
        })
    }
}

/// An "implicit" rule that reads no neighbour: h ← a h + 1 on every node (converges to
/// 1/(1 − a) iff |a| < 1), residual `max |(a − 1) h + 1|`, infinite once it overflows.
pub struct Affine {
    pub graph: Graph,
    pub a: f64,
}

impl LocalRule for Affine {
    fn graph(&self) -> &Graph {
        &self.graph
    }
    fn execution(&self) -> Execution {
        Execution::Implicit
    }
    fn state_len(&self, _i: usize) -> usize {
        1
    }
    fn init(&self, _i: usize, out: &mut [f64]) {
        out[0] = 0.0;
    }
    fn update(&self, _i: usize, _count: usize, own: &[f64], _views: &[&[f64]], out: &mut [f64]) {
        out[0] = self.a * own[0] + 1.0;
    }
    fn residual(&self, states: &[Vec<f64>]) -> f64 {
        let r = states
            .iter()
            .fold(0.0f64, |m, s| m.max(((self.a - 1.0) * s[0] + 1.0).abs()));
        if r.is_finite() {
            r
        } else {
            f64::INFINITY
        }
    }
    fn readout(&self, states: &[Vec<f64>]) -> Array2<f64> {
        Array2::from_shape_fn((states.len(), 1), |(i, _)| states[i][0])
    }
}
