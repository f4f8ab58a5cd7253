//! AMP throughput in messages processed per second: AMP-RNN (message size 3) with hidden size
//! 16 and 32, constant delays, on a random 3-regular-ish graph of 200 nodes (stubs paired at
//! random, loops and repeated pairs dropped). One long-range run of 10n = 2000 messages per
//! iteration: forward only (no tape), and forward + backward (tape, reverse mode, NLL over
//! every node). Single-threaded: one run has no parallelism to exploit.
//! `cargo bench -p hogwild-amp`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use hogwild_amp::{
    AmpConfig, AmpModel, Budget, Delays, Example, Halting, RunSettings, Task, Update,
};
use hogwild_graph::Graph;
use ndarray::Array2;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::time::Duration;

/// Three stubs per node, shuffled and paired; loops and repeated pairs are dropped.
fn three_regular_ish(n: usize, rng: &mut ChaCha8Rng) -> Graph {
    let mut stubs: Vec<usize> = (0..n).flat_map(|v| [v, v, v]).collect();
    stubs.shuffle(rng);
    let mut pairs: Vec<(usize, usize)> = stubs
        .chunks_exact(2)
        .filter(|p| p[0] != p[1])
        .map(|p| (p[0].min(p[1]), p[0].max(p[1])))
        .collect();
    pairs.sort_unstable();
    pairs.dedup();
    Graph::undirected(n, &pairs).unwrap()
}

fn bench(c: &mut Criterion) {
    let n = 200;
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let graph = three_regular_ish(n, &mut rng);
    let features = Array2::zeros((n, 1));
    let labels: Vec<usize> = (0..n).map(|v| v % 2).collect();
    let example = Example {
        graph: &graph,
        features: &features,
        task: Task::LongRange { origin: 0 },
        labels: &labels,
    };
    let settings = RunSettings {
        delays: Delays::Constant,
        budget: Budget::PerNode(10),
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let mut group = c.benchmark_group("amp-rnn");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .throughput(Throughput::Elements(settings.budget.messages(n) as u64));
    for hidden in [16, 32] {
        let config = AmpConfig {
            features: 1,
            hidden,
            message: 3,
            classes: 2,
            update: Update::Rnn,
            halting: Halting::None,
            initial_message: vec![1.0, 0.0, 0.0],
            skip_readout: false,
        };
        let model = AmpModel::new(config, &mut ChaCha8Rng::seed_from_u64(1));
        group.bench_function(format!("forward/h{hidden}"), |b| {
            b.iter(|| pool.install(|| model.log_probs(&example, &settings, &mut rng.clone())))
        });
        group.bench_function(format!("forward-backward/h{hidden}"), |b| {
            b.iter(|| pool.install(|| model.loss_and_grad(&[example], &settings, &mut rng.clone())))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
