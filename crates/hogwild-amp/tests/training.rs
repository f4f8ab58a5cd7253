//! Training: byte-identical results with 1 and 2 threads, and a learning smoke test that can
//! fail (AMP-RNN, constant delays, the note's Limits1).

use hogwild_amp::{
    accuracy, adam, AmpConfig, AmpModel, Budget, DelayDistribution, Delays, Example, Halting,
    Pooling, RunSettings, Task, Update,
};
use hogwild_graph::Graph;
use ndarray::Array2;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Limits1 (note §2): nodes 0–7 form two 4-cycles (label 0), nodes 8–15 one 8-cycle
/// (label 1); features one-hot of colour `k mod 4`.
fn limits1() -> (Graph, Array2<f64>, Vec<usize>) {
    let mut pairs = vec![
        (0, 1),
        (1, 2),
        (2, 3),
        (3, 0),
        (4, 5),
        (5, 6),
        (6, 7),
        (7, 4),
    ];
    pairs.extend((0..8).map(|i| (8 + i, 8 + (i + 1) % 8)));
    let graph = Graph::undirected(16, &pairs).unwrap();
    let features = Array2::from_shape_fn((16, 4), |(k, c)| f64::from(u8::from(k % 4 == c)));
    let labels = (0..16).map(|k| usize::from(k >= 8)).collect();
    (graph, features, labels)
}

fn rnn(hidden: usize, features: usize, classes: usize, seed: u64) -> AmpModel {
    let config = AmpConfig {
        features,
        hidden,
        message: 3,
        classes,
        update: Update::Rnn,
        halting: Halting::None,
        initial_message: vec![1.0; 3],
        skip_readout: false,
    };
    AmpModel::new(config, &mut ChaCha8Rng::seed_from_u64(seed))
}

#[test]
fn amp_rnn_learns_limits1_with_constant_delays() {
    let (graph, features, labels) = limits1();
    let example = Example {
        graph: &graph,
        features: &features,
        task: Task::Node,
        labels: &labels,
    };
    let settings = RunSettings {
        delays: Delays::Constant,
        budget: Budget::PerNode(5),
    };
    let mut model = rnn(16, 4, 2, 0);
    let epochs = 400;
    let mut optimiser = adam(&model.params, 0.01, epochs);
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let initial = accuracy(&model.log_probs(&example, &settings, &mut rng), &labels);
    let mut solved_at = None;
    for epoch in 0..epochs {
        let (_, grads) = model.loss_and_grad(&[example], &settings, &mut rng);
        optimiser.step(&mut model.params, grads);
        if accuracy(&model.log_probs(&example, &settings, &mut rng), &labels) == 1.0 {
            solved_at = Some(epoch + 1);
            break;
        }
    }
    eprintln!("Limits1 solved after {solved_at:?} epochs");
    assert!(
        solved_at.is_some(),
        "not at 100 % after {epochs} epochs (started at {initial})"
    );
}

/// Four Adam steps on a batch of two graph-task examples; the parameters' bits.
fn train_bits(delays: Delays) -> Vec<u64> {
    let (graph, features, _) = limits1();
    let labels_a = [0];
    let labels_b = [1];
    let path = Graph::path(16);
    let batch = [
        Example {
            graph: &graph,
            features: &features,
            task: Task::Graph(Pooling::Sum),
            labels: &labels_a,
        },
        Example {
            graph: &path,
            features: &features,
            task: Task::Graph(Pooling::Max),
            labels: &labels_b,
        },
    ];
    let settings = RunSettings {
        delays,
        budget: Budget::PerNode(5),
    };
    let mut model = rnn(8, 4, 2, 1);
    let mut optimiser = adam(&model.params, 0.01, 4);
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    for _ in 0..4 {
        let (_, grads) = model.loss_and_grad(&batch, &settings, &mut rng);
        optimiser.step(&mut model.params, grads);
    }
    (0..model.params.len())
        .flat_map(|id| {
            model
                .params
                .get(id)
                .iter()
                .map(|x| x.to_bits())
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn training_is_byte_identical_with_one_and_two_threads() {
    for delays in [Delays::Constant, Delays::Random(DelayDistribution::CODE)] {
        let with = |threads| hogwild_graph::par::on_threads(threads, || train_bits(delays));
        let one = with(1);
        assert_eq!(one, with(2), "{delays:?}");
        assert_eq!(one, with(1), "{delays:?}: repeatable");
    }
}
