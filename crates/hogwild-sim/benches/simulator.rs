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
//! the states' set-up and the readout, once. Criterion calls a benchmark's closure once per
//! sample, so each rule is made once, by the first benchmark the filter selects that needs it.
//!
//! `iteration/…/threads-T`: one synchronous iteration of each implicit model (its residual
//! on the whole graph, what `hogwild scaling` times) at the initial states, on pools of 1
//! and 2 threads (rows of its products split across them; the same bits).
//! `cargo bench -p hogwild-sim`.

use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion, Throughput};
use hogwild_graph::Batch;
use hogwild_models::{Execution, Model, ModelsConfig};
use hogwild_sim::{initial_states, simulate, workload, AsyncConfig, Unobserved};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::cell::OnceCell;
use std::time::Duration;

/// `[models]` and `[async]` of the committed `harness.toml`.
fn settings() -> (ModelsConfig, AsyncConfig) {
    let doc: toml::Table = toml::from_str(include_str!("../../../harness.toml")).unwrap();
    (
        doc["models"].clone().try_into().unwrap(),
        doc["async"].clone().try_into().unwrap(),
    )
}

fn sizes() -> Vec<usize> {
    let mut v = vec![100, 1_000, 10_000, 100_000];
    if std::env::var("HOGWILD_BENCH_LARGE").is_ok_and(|v| v == "1") {
        v.push(1_000_000);
    }
    v
}

/// A benchmark group with this file's sampling settings.
fn group<'c>(c: &'c mut Criterion, name: &str) -> BenchmarkGroup<'c, WallTime> {
    let mut group = c.benchmark_group(name);
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    group
}

/// Calls `each(nodes, graph, batch, label, model)` for every model of the scaling workload
/// on every graph of [`sizes`]. Building a model is cheap; its rule (the energy GNN's step
/// size) is not, so callers make the rule inside their benchmark closures: only the
/// benchmarks a filter selects pay for it.
fn for_each_workload(
    models: &ModelsConfig,
    mut each: impl FnMut(usize, &str, &Batch, &str, &dyn Model),
) {
    for n in sizes() {
        for graph in workload::GRAPHS {
            let sample = workload::sample(graph, n);
            let batch = Batch::single(&sample);
            for variant in workload::variants(graph, models).unwrap() {
                let model = variant.build(&sample).unwrap();
                each(n, graph, &batch, &variant.label, model.as_ref());
            }
        }
    }
}

fn bench(c: &mut Criterion) {
    let (models, base_async) = settings();
    let mut group = group(c, "async");
    for_each_workload(&models, |n, graph, batch, label, model| {
        let rounds = workload::rounds(n);
        let cfg = workload::sweep_config(&base_async, rounds);
        // Explicit models update each node once per layer; implicit ones run the rounds
        // (the tolerance is never reached).
        let updates = match model.execution() {
            Execution::Explicit { updates } => updates * n,
            Execution::Implicit => rounds * n,
        };
        group.throughput(Throughput::Elements(updates as u64));
        let rule = OnceCell::new();
        group.bench_function(format!("{label}/{graph}/{n}"), |b| {
            let rule = rule.get_or_init(|| {
                let rule = model.local_rule(batch, cfg.staleness(n as u64)).unwrap();
                let probe = simulate(
                    &Unobserved(rule.as_ref()),
                    &cfg,
                    &mut ChaCha8Rng::seed_from_u64(1),
                )
                .unwrap();
                assert_eq!(probe.updates, updates as u64, "{label}: updates counted");
                rule
            });
            let rule = Unobserved(rule.as_ref());
            b.iter(|| simulate(&rule, &cfg, &mut ChaCha8Rng::seed_from_u64(1)).unwrap())
        });
    });
    group.finish();
}

fn bench_iteration(c: &mut Criterion) {
    let (models, base_async) = settings();
    let mut group = group(c, "iteration");
    for_each_workload(&models, |n, graph, batch, label, model| {
        if model.execution() != Execution::Implicit {
            return;
        }
        group.throughput(Throughput::Elements(n as u64));
        let rule_and_states = OnceCell::new();
        for threads in [1, 2] {
            group.bench_function(format!("{label}/{graph}/{n}/threads-{threads}"), |b| {
                let (rule, states) = rule_and_states.get_or_init(|| {
                    let rule = model
                        .local_rule(batch, base_async.staleness(n as u64))
                        .unwrap();
                    let states = initial_states(rule.as_ref());
                    (rule, states)
                });
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .unwrap();
                b.iter(|| pool.install(|| rule.residual(states)))
            });
        }
    });
    group.finish();
}

criterion_group!(benches, bench, bench_iteration);
criterion_main!(benches);
