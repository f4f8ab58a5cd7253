//! Solver and training costs of every model, with the settings of `harness.toml`'s
//! `[models]`: the forward solve (`predict`, cold: a fresh model each time, so the energy
//! GNN's warm start does not help), forward plus adjoint (`loss_and_grads`, one training
//! step's gradient) and one full-batch training epoch, on Table 1's chains (l = 100, two
//! graphs) and on a batch of ten 20-node LATTICE graphs (Table 3).
//!
//! `cargo bench -p hogwild-models`; compare ratios measured in one run, not absolute times
//! across machines.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use hogwild_datasets::Dataset;
use hogwild_graph::{Batch, Sample};
use hogwild_models::{train, Dims, ModelsConfig, TrainConfig};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::time::Duration;

/// `[models]` of the committed `harness.toml`.
fn models() -> ModelsConfig {
    let doc: toml::Table = toml::from_str(include_str!("../../../harness.toml")).unwrap();
    doc["models"].clone().try_into().unwrap()
}

fn workloads() -> Vec<(&'static str, Dataset)> {
    vec![
        (
            "chains-l100",
            hogwild_datasets::chains::generate(100, 2).unwrap(),
        ),
        (
            "lattice20x10",
            hogwild_datasets::localisation::lattice(20, 10, 0).unwrap(),
        ),
    ]
}

fn bench(c: &mut Criterion) {
    let models = models();
    for (name, data) in workloads() {
        let samples: Vec<&Sample> = data.samples.iter().collect();
        let batch = Batch::new(&samples);
        let dims = Dims {
            in_dim: data.feature_dim(),
            edge_dim: data.samples[0].graph.edge_feature_dim(),
            out_dim: data.task.output_dim(),
        };
        let build = |model: &str| {
            models
                .build(model, dims, &mut ChaCha8Rng::seed_from_u64(0))
                .unwrap()
        };
        let mut group = c.benchmark_group(name);
        group
            .sample_size(10)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(5));
        for model in models.names() {
            group.bench_function(format!("{model}/forward"), |b| {
                b.iter_batched(
                    || build(model),
                    |mut m| m.predict(&batch).unwrap(),
                    BatchSize::LargeInput,
                )
            });
            group.bench_function(format!("{model}/forward+adjoint"), |b| {
                b.iter_batched(
                    || build(model),
                    |mut m| m.loss_and_grads(&batch).unwrap(),
                    BatchSize::LargeInput,
                )
            });
            let epoch = TrainConfig {
                epochs: 1,
                batch_graphs: None,
                ..models.train_config(model).unwrap().clone()
            };
            group.bench_function(format!("{model}/epoch"), |b| {
                b.iter_batched(
                    || build(model),
                    |mut m| {
                        train(
                            m.as_mut(),
                            &samples,
                            &epoch,
                            &mut ChaCha8Rng::seed_from_u64(1),
                        )
                        .unwrap()
                    },
                    BatchSize::LargeInput,
                )
            });
        }
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
