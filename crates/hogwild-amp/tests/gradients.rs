//! Finite-difference checks of every backward pass: each cell, the halting rules (ACT with its
//! clamp, Iter), the encoder, the decoder, and every readout and pooling. Central differences
//! in f64; relative tolerance 1e-6 (with a 1e-9 floor for zero gradients).

use hogwild_amp::{
    AmpConfig, AmpModel, Budget, DelayDistribution, Delays, Example, Halting, Pooling, RunSettings,
    Task, Update,
};
use hogwild_graph::Graph;
use ndarray::Array2;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

const EPS: f64 = 1e-5;

fn graph() -> Graph {
    Graph::undirected(5, &[(0, 1), (1, 2), (2, 3), (3, 4), (4, 0), (1, 3)]).unwrap()
}

fn model(update: Update, halting: Halting, halt_bias: f64) -> AmpModel {
    let config = AmpConfig {
        features: 3,
        hidden: 4,
        message: 2,
        classes: 3,
        update,
        halting,
        initial_message: vec![1.0, -0.5],
        skip_readout: false,
    };
    let mut model = AmpModel::new(config, &mut ChaCha8Rng::seed_from_u64(11));
    // Larger weights than the default make more ReLUs and gates matter.
    for id in 0..model.params.len() {
        model.params.get_mut(id).mapv_inplace(|x| 2.0 * x);
    }
    if halting != Halting::None {
        let bias = (0..model.params.len())
            .find(|&id| model.params.name(id) == "halting.bias")
            .unwrap();
        model.params.get_mut(bias)[(0, 0)] = halt_bias;
    }
    model
}

fn check(model: &AmpModel, task: Task, delays: Delays, budget: Budget) {
    let graph = graph();
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let features = Array2::from_shape_simple_fn((5, 3), || rng.random_range(-1.0..1.0));
    let labels: Vec<usize> = match task {
        Task::Graph(_) => vec![2],
        _ => (0..5).map(|v| v % 3).collect(),
    };
    let example = Example {
        graph: &graph,
        features: &features,
        task,
        labels: &labels,
    };
    // Two examples, so the batch weighting is checked too.
    let batch = [example, example];
    let settings = RunSettings { delays, budget };
    let stream = ChaCha8Rng::seed_from_u64(99);
    let (loss, grads) = model.loss_and_grad(&batch, &settings, &mut stream.clone());
    let forward = model.loss(&batch, &settings, &mut stream.clone());
    assert_eq!(
        loss.to_bits(),
        forward.to_bits(),
        "{task:?}: same loss both ways"
    );
    let mut perturbed = model.clone();
    let mut checked = 0;
    for (id, grad) in grads.iter().enumerate() {
        for idx in 0..model.params.get(id).len() {
            let original = model.params.get(id).as_slice().unwrap()[idx];
            let mut at = |x: f64| {
                perturbed.params.get_mut(id).as_slice_mut().unwrap()[idx] = x;
                perturbed.loss(&batch, &settings, &mut stream.clone())
            };
            let numeric = (at(original + EPS) - at(original - EPS)) / (2.0 * EPS);
            at(original);
            let analytic = grad.as_slice().unwrap()[idx];
            let tol = 1e-6 * (numeric.abs() + analytic.abs()) + 1e-9;
            assert!(
                (numeric - analytic).abs() <= tol,
                "{:?}/{:?} {task:?}: {}[{idx}] analytic {analytic} numeric {numeric}",
                model.config().update,
                model.config().halting,
                model.params.name(id),
            );
            let past_decoder = !model.params.name(id).contains("decoder");
            checked += usize::from(analytic != 0.0 && past_decoder);
        }
    }
    // Gradients reach past the decoder (a backward pass that returns zeros would pass the
    // check); max pooling over dead ReLUs can leave few of them non-zero.
    assert!(
        checked > 0,
        "{task:?}: no non-zero gradient past the decoder"
    );
}

const TASKS: [Task; 5] = [
    Task::Node,
    Task::Graph(Pooling::Sum),
    Task::Graph(Pooling::Max),
    Task::Graph(Pooling::Mean),
    Task::LongRange { origin: 2 },
];

fn check_all_tasks(model: &AmpModel) {
    for task in TASKS {
        check(model, task, Delays::Constant, Budget::PerNode(3));
    }
    check(
        model,
        Task::Node,
        Delays::Random(DelayDistribution::CODE),
        Budget::PerNode(3),
    );
}

#[test]
fn rnn_gradients_match_finite_differences() {
    check_all_tasks(&model(Update::Rnn, Halting::None, 0.0));
}

#[test]
fn gru_gradients_match_finite_differences() {
    check_all_tasks(&model(Update::Gru, Halting::None, 0.0));
}

#[test]
fn lstm_gradients_match_finite_differences() {
    check_all_tasks(&model(Update::Lstm, Halting::None, 0.0));
}

#[test]
fn act_gradients_match_finite_differences_with_and_without_the_clamp() {
    // Halting bias 1.2: p ≈ σ(1.2) ≈ 0.77 on the first update, so a node's second update is
    // clamped to 1 − A and later messages are dropped; bias −1: p ≈ 0.27, rarely clamped.
    check_all_tasks(&model(Update::Rnn, Halting::Act, 1.2));
    check_all_tasks(&model(Update::Rnn, Halting::Act, -1.0));
}

#[test]
fn iter_gradients_match_finite_differences() {
    check_all_tasks(&model(Update::Rnn, Halting::Iter, 0.0));
    check_all_tasks(&model(Update::Rnn, Halting::Iter, 3.0));
}

#[test]
fn gated_cells_with_halting_match_finite_differences() {
    check_all_tasks(&model(Update::Gru, Halting::Act, 1.2));
    check_all_tasks(&model(Update::Lstm, Halting::Iter, 0.5));
}

#[test]
fn skip_readout_gradients_match_finite_differences() {
    let config = AmpConfig {
        skip_readout: true,
        ..model(Update::Rnn, Halting::None, 0.0).config().clone()
    };
    let mut skip = AmpModel::new(config, &mut ChaCha8Rng::seed_from_u64(11));
    for id in 0..skip.params.len() {
        skip.params.get_mut(id).mapv_inplace(|x| 2.0 * x);
    }
    // Budget 1 and 4: fewer start-node states than the readout keeps (zeros in front);
    // 3n = 15: the start node is revisited, and older states leave the readout.
    for budget in [Budget::Absolute(1), Budget::Absolute(4), Budget::PerNode(3)] {
        for pooling in [Pooling::Sum, Pooling::Max, Pooling::Mean] {
            check(&skip, Task::Graph(pooling), Delays::Constant, budget);
        }
    }
}
