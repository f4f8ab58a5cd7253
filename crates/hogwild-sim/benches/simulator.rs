//! Asynchronous simulator throughput, in node updates per second, for every model (settings
//! of `harness.toml`'s `[models]` and `[async]`, untrained parameters) on chains and on
//! random geometric graphs (mean degree 6) of 10² to 10⁵ nodes; `HOGWILD_BENCH_LARGE=1` adds
//! 10⁶ nodes (minutes of setup: the energy GNN's step needs λ_max at its minimiser). The
//! energy GNN also runs with hidden size 16 on chains (target: 10⁶ updates per second per
//! core on a 10⁶-node chain) and with the block-minimise rule (`-block-minimise`).
//!
//! Implicit models run a fixed number of rounds (about 10⁶ node updates per measurement)
//! with the observer switched off ([`Unobserved`]: its residual checks would cost several
//! sweeps at 10⁶ nodes), explicit ones their L updates per node. Each measurement includes
//! the states' set-up and the readout, once.
//!
//! `iteration/…/threads-T`: one synchronous iteration of each implicit model (its residual
//! on the whole graph, what `hogwild scaling` times) at the initial states, on pools of 1
//! and 2 threads (rows of its products split across them; the same bits).
//! `cargo bench -p hogwild-sim`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use hogwild_graph::Batch;
use hogwild_models::{Execution, ModelsConfig};
use hogwild_sim::{simulate, workload, AsyncConfig, Unobserved};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::time::Duration;

fn harness() -> toml::Table {
    toml::from_str(include_str!("../../../harness.toml")).unwrap()
}

fn sizes() -> Vec<usize> {
    let mut v = vec![100, 1_000, 10_000, 100_000];
    if std::env::var("HOGWILD_BENCH_LARGE").is_ok_and(|v| v == "1") {
        v.push(1_000_000);
    }
    v
}

fn bench(c: &mut Criterion) {
    let doc = harness();
    let base: ModelsConfig = doc["models"].clone().try_into().unwrap();
    let base_async: AsyncConfig = doc["async"].clone().try_into().unwrap();
    let mut group = c.benchmark_group("async");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    for n in sizes() {
        for graph in workload::GRAPHS {
            let sample = workload::sample(graph, n);
            let batch = Batch::single(&sample);
            for variant in workload::variants(graph, &base).unwrap() {
                let rounds = workload::rounds(n);
                let cfg = workload::sweep_config(&base_async, rounds);
                // Explicit models update each node once per layer; implicit ones run the
                // rounds (the tolerance is never reached). Building a model is cheap; its
                // rule (the energy GNN's step size) is not.
                let model = variant.build(&sample).unwrap();
                let updates = match model.execution() {
                    Execution::Explicit { updates } => updates * n,
                    Execution::Implicit => rounds * n,
                };
                group.throughput(Throughput::Elements(updates as u64));
                // The rule is made inside the closure: only benchmarks the filter selects
                // pay for it.
                let name = format!("{}/{graph}/{n}", variant.label);
                group.bench_function(name, |b| {
                    let staleness = cfg.staleness(n as u64);
                    let rule = model.local_rule(&batch, staleness).unwrap();
                    let rule = Unobserved(rule.as_ref());
                    let probe = simulate(&rule, &cfg, &mut ChaCha8Rng::seed_from_u64(1)).unwrap();
                    assert_eq!(
                        probe.updates, updates as u64,
                        "{}: updates counted",
                        variant.label
                    );
                    b.iter(|| simulate(&rule, &cfg, &mut ChaCha8Rng::seed_from_u64(1)).unwrap())
                });
            }
        }
    }
    group.finish();
}

fn bench_iteration(c: &mut Criterion) {
    let doc = harness();
    let base: ModelsConfig = doc["models"].clone().try_into().unwrap();
    let base_async: AsyncConfig = doc["async"].clone().try_into().unwrap();
    let mut group = c.benchmark_group("iteration");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    for n in sizes() {
        for graph in workload::GRAPHS {
            let sample = workload::sample(graph, n);
            let batch = Batch::single(&sample);
            for variant in workload::variants(graph, &base).unwrap() {
                let model = variant.build(&sample).unwrap();
                if model.execution() != Execution::Implicit {
                    continue;
                }
                group.throughput(Throughput::Elements(n as u64));
                for threads in [1, 2] {
                    let name = format!("{}/{graph}/{n}/threads-{threads}", variant.label);
                    group.bench_function(name, |b| {
                        let rule = model
                            .local_rule(&batch, base_async.staleness(n as u64))
                            .unwrap();
                        let states: Vec<Vec<f64>> = (0..n)
                            .map(|i| {
                                let mut s = vec![0.0; rule.state_len(i)];
                                rule.init(i, &mut s);
                                s
                            })
                            .collect();
                        let pool = rayon::ThreadPoolBuilder::new()
                            .num_threads(threads)
                            .build()
                            .unwrap();
                        b.iter(|| pool.install(|| rule.residual(&states)))
                    });
                }
            }
        }
    }
    group.finish();
}

criterion_group!(benches, bench, bench_iteration);
criterion_main!(benches);
