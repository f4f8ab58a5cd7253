//! Readout semantics checked against hand computations: which state each task decodes.

use hogwild_amp::{
    log_softmax, AmpConfig, AmpModel, Budget, Delays, Example, Halting, Pooling, RunSettings, Task,
    Update,
};
use hogwild_graph::Graph;
use ndarray::{Array1, Array2, Axis};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn model(halting: Halting) -> AmpModel {
    let config = AmpConfig {
        features: 2,
        hidden: 3,
        message: 2,
        classes: 4,
        update: Update::Rnn,
        halting,
        initial_message: vec![1.0, 0.0],
        skip_readout: false,
    };
    AmpModel::new(config, &mut ChaCha8Rng::seed_from_u64(8))
}

fn param(model: &AmpModel, name: &str) -> Array2<f64> {
    let id = (0..model.params.len())
        .find(|&id| model.params.name(id) == name)
        .unwrap();
    model.params.get(id).clone()
}

/// `log_softmax(W_dec y + b_dec)` for each row `y`.
fn decode(model: &AmpModel, ys: &Array2<f64>) -> Array2<f64> {
    let logits = ys.dot(&param(model, "decoder.weight").t()) + param(model, "decoder.bias");
    log_softmax(&logits)
}

fn encoded(model: &AmpModel, x: &Array2<f64>) -> Array2<f64> {
    x.dot(&param(model, "encoder.weight").t()) + param(model, "encoder.bias")
}

fn close(a: &Array2<f64>, b: &Array2<f64>) {
    assert_eq!(a.dim(), b.dim());
    let err = (a - b).iter().fold(0.0f64, |m, e| m.max(e.abs()));
    assert!(err < 1e-12, "{a} vs {b}");
}

fn setup() -> (Graph, Array2<f64>) {
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let x = Array2::from_shape_simple_fn((4, 2), || rng.random_range(-1.0..1.0));
    (Graph::path(4), x)
}

fn settings(budget: usize) -> RunSettings {
    RunSettings {
        delays: Delays::Constant,
        budget: Budget::Absolute(budget),
    }
}

#[test]
fn with_no_messages_every_readout_decodes_the_encoder() {
    let (graph, x) = setup();
    let m = model(Halting::None);
    let labels = [0, 1, 2, 3];
    let enc = encoded(&m, &x);
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let mut log_probs = |task, labels: &[usize]| {
        let example = Example {
            graph: &graph,
            features: &x,
            task,
            labels,
        };
        m.log_probs(&example, &settings(0), &mut rng)
    };
    close(&log_probs(Task::Node, &labels), &decode(&m, &enc));
    close(
        &log_probs(Task::LongRange { origin: 1 }, &labels),
        &decode(&m, &enc),
    );
    let pooled = |p: Array1<f64>| p.insert_axis(Axis(0));
    close(
        &log_probs(Task::Graph(Pooling::Sum), &[0]),
        &decode(&m, &pooled(enc.sum_axis(Axis(0)))),
    );
    close(
        &log_probs(Task::Graph(Pooling::Mean), &[0]),
        &decode(&m, &pooled(enc.mean_axis(Axis(0)).unwrap())),
    );
    let max = enc.fold_axis(Axis(0), f64::NEG_INFINITY, |&a, &b| a.max(b));
    close(
        &log_probs(Task::Graph(Pooling::Max), &[0]),
        &decode(&m, &pooled(max)),
    );
}

#[test]
fn one_message_updates_only_the_start_node() {
    // Budget 1: the start node processes the initial message, h ← ReLU(W_s [h ‖ m0] + b_s).
    let (graph, x) = setup();
    let m = model(Halting::None);
    let enc = encoded(&m, &x);
    let (w_s, b_s) = (param(&m, "state.weight"), param(&m, "state.bias"));
    let step = |v: usize| {
        let mut hm = enc.row(v).to_vec();
        hm.extend([1.0, 0.0]);
        (w_s.dot(&Array1::from(hm)) + b_s.row(0)).mapv(|z| z.max(0.0))
    };
    let mut node_states = enc.clone();
    for v in 0..4 {
        node_states.row_mut(v).assign(&step(v));
    }
    let labels = [0, 1, 2, 3];
    let example = |task| Example {
        graph: &graph,
        features: &x,
        task,
        labels: &labels,
    };
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    // Node task: node v is read at the end of its own run, after its one update.
    close(
        &m.log_probs(&example(Task::Node), &settings(1), &mut rng),
        &decode(&m, &node_states),
    );
    // Long-range: only the origin moved.
    let mut long_range = enc.clone();
    long_range.row_mut(2).assign(&step(2));
    close(
        &m.log_probs(
            &example(Task::LongRange { origin: 2 }),
            &settings(1),
            &mut rng,
        ),
        &decode(&m, &long_range),
    );
}

#[test]
fn act_and_iter_read_their_accumulators() {
    // Budget 1, long-range from node 2: only node 2 fires, once. ACT: o = p·h_new; Iter:
    // o = 1·c·h_new; every other node's accumulator is 0 and decodes to log_softmax(b_dec).
    let (graph, x) = setup();
    for halting in [Halting::Act, Halting::Iter] {
        let m = model(halting);
        let enc = encoded(&m, &x);
        let (w_s, b_s) = (param(&m, "state.weight"), param(&m, "state.bias"));
        let (w_a, b_a) = (param(&m, "halting.weight"), param(&m, "halting.bias"));
        let mut hm = enc.row(2).to_vec();
        hm.extend([1.0, 0.0]);
        let hm = Array1::from(hm);
        let h_new = (w_s.dot(&hm) + b_s.row(0)).mapv(|z| z.max(0.0));
        let p = 1.0 / (1.0 + (-(w_a.row(0).dot(&hm) + b_a[(0, 0)])).exp());
        let mut acc = Array2::zeros((4, 3));
        acc.row_mut(2).assign(&(h_new * p));
        let labels = [0, 1, 2, 3];
        let example = Example {
            graph: &graph,
            features: &x,
            task: Task::LongRange { origin: 2 },
            labels: &labels,
        };
        let got = m.log_probs(&example, &settings(1), &mut ChaCha8Rng::seed_from_u64(0));
        let want = decode(&m, &acc);
        let err = (&got - &want).iter().fold(0.0f64, |a, e| a.max(e.abs()));
        assert!(err < 1e-12, "{halting:?}: {err}");
    }
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// One step of each gated cell, written out from PyTorch's `GRUCell` / `LSTMCell` docs
/// (gate orders r, z, n and i, f, g, o), against the origin's state after one message.
#[test]
fn gated_cells_follow_pytorch_gate_order() {
    let (graph, x) = setup();
    for update in [Update::Gru, Update::Lstm] {
        let config = AmpConfig {
            update,
            ..model(Halting::None).config().clone()
        };
        let m = AmpModel::new(config, &mut ChaCha8Rng::seed_from_u64(8));
        let enc = encoded(&m, &x);
        let (w_ih, w_hh) = (param(&m, "cell.weight_ih"), param(&m, "cell.weight_hh"));
        let (b_ih, b_hh) = (param(&m, "cell.bias_ih"), param(&m, "cell.bias_hh"));
        let h = enc.row(2).to_owned();
        let msg = Array1::from(vec![1.0, 0.0]);
        let gi = w_ih.dot(&msg) + b_ih.row(0);
        let gh = w_hh.dot(&h) + b_hh.row(0);
        let hd = 3;
        let part =
            |a: &Array1<f64>, k: usize| a.slice(ndarray::s![k * hd..(k + 1) * hd]).to_owned();
        let h_new = match update {
            Update::Gru => {
                let r = (part(&gi, 0) + part(&gh, 0)).mapv(sigmoid);
                let z = (part(&gi, 1) + part(&gh, 1)).mapv(sigmoid);
                let n = (part(&gi, 2) + &r * &part(&gh, 2)).mapv(f64::tanh);
                (1.0 - &z) * &n + &z * &h
            }
            _ => {
                let gates = &gi + &gh;
                let i = part(&gates, 0).mapv(sigmoid);
                let g = part(&gates, 2).mapv(f64::tanh);
                let o = part(&gates, 3).mapv(sigmoid);
                // c starts at 0, so the forget gate does not enter.
                let c = &i * &g;
                &o * &c.mapv(f64::tanh)
            }
        };
        let mut want = enc.clone();
        want.row_mut(2).assign(&h_new);
        let labels = [0, 1, 2, 3];
        let example = Example {
            graph: &graph,
            features: &x,
            task: Task::LongRange { origin: 2 },
            labels: &labels,
        };
        let got = m.log_probs(&example, &settings(1), &mut ChaCha8Rng::seed_from_u64(0));
        let want = decode(&m, &want);
        let err = (&got - &want).iter().fold(0.0f64, |a, e| a.max(e.abs()));
        assert!(err < 1e-12, "{update:?}: {err}");
        // The state did move (the check is not vacuous).
        assert!((&h_new - &h).iter().any(|d| d.abs() > 1e-3), "{update:?}");
    }
}

/// The skip readout (TU, code): every run gives its start node's last four states, the
/// encoding first and zeros in front; the graph sums them and decodes with `skip_decoder`.
#[test]
fn the_skip_readout_pools_the_start_nodes_last_states() {
    let (graph, x) = setup();
    let config = AmpConfig {
        skip_readout: true,
        ..model(Halting::None).config().clone()
    };
    let m = AmpModel::new(config, &mut ChaCha8Rng::seed_from_u64(8));
    let enc = encoded(&m, &x);
    let (w_s, b_s) = (param(&m, "state.weight"), param(&m, "state.bias"));
    let mut pooled = Array2::<f64>::zeros((1, 12));
    for v in 0..4 {
        // Budget 1: the start node's encoding, then its one update.
        let mut hm = enc.row(v).to_vec();
        hm.extend([1.0, 0.0]);
        let h = (w_s.dot(&Array1::from(hm)) + b_s.row(0)).mapv(|z| z.max(0.0));
        let mut row = vec![0.0; 6];
        row.extend(enc.row(v).iter());
        row.extend(h.iter());
        pooled
            .row_mut(0)
            .zip_mut_with(&Array1::from(row), |a, b| *a += b);
    }
    let logits = pooled.dot(&param(&m, "skip_decoder.weight").t()) + param(&m, "skip_decoder.bias");
    let example = Example {
        graph: &graph,
        features: &x,
        task: Task::Graph(Pooling::Sum),
        labels: &[1],
    };
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    close(
        &m.log_probs(&example, &settings(1), &mut rng),
        &log_softmax(&logits),
    );
}
