//! Asynchronous simulator throughput, in node updates per second, for every model (settings
//! of `harness.toml`'s `[models]` and `[async]`, untrained parameters) on chains and on
//! random geometric graphs (mean degree 6) of 10² to 10⁵ nodes; `HOGWILD_BENCH_LARGE=1` adds
//! 10⁶ nodes (minutes of setup: the energy GNN's step needs λ_max at its minimiser). The
//! energy GNN also runs with hidden size 16 on chains (issue 5's target: 10⁶ updates per
//! second per core on a 10⁶-node chain).
//!
//! Implicit models run a fixed number of rounds (about 10⁶ node updates per measurement)
//! with the observer switched off ([`Unobserved`]: its residual checks would cost several
//! sweeps at 10⁶ nodes), explicit ones their L updates per node. Each measurement includes
//! the states' set-up and the readout, once.
//! `cargo bench -p hogwild-sim`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use hogwild_graph::Batch;
use hogwild_models::energy::LinearSolver;
use hogwild_models::ModelsConfig;
use hogwild_sim::{simulate, AsyncConfig, Unobserved};
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
    let mut models: ModelsConfig = doc["models"].clone().try_into().unwrap();
    // The assembled-Hessian solver's envelope grows faster than linearly on 2-D graphs.
    models.energy.linear_solver = LinearSolver::Cg;
    let mut wide = models.clone();
    wide.energy.hidden = 16;
    let base: AsyncConfig = doc["async"].clone().try_into().unwrap();
    let mut group = c.benchmark_group("async");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    for n in sizes() {
        let graphs = [
            ("chain", hogwild_datasets::synthetic::chain_sample(n)),
            (
                "geometric",
                hogwild_datasets::synthetic::geometric_sample(n, 6.0, 2, 0),
            ),
        ];
        for (kind, sample) in &graphs {
            let batch = Batch::single(sample);
            let mut variants: Vec<(String, &ModelsConfig, &str)> = ModelsConfig::NAMES
                .iter()
                .map(|m| (m.to_string(), &models, *m))
                .collect();
            if *kind == "chain" {
                variants.push(("energy-h16".into(), &wide, "energy"));
            }
            for (label, models, model) in variants {
                let rounds = (1_000_000 / n).max(1);
                let cfg = AsyncConfig {
                    tol: 1e-300,
                    max_rounds: rounds,
                    residual_every: rounds,
                    ..base.clone()
                };
                // Explicit models update each node once per layer; implicit ones run the
                // rounds (the tolerance is never reached).
                let updates = if model == "gcn" {
                    models.gcn.layers * n
                } else {
                    rounds * n
                };
                group.throughput(Throughput::Elements(updates as u64));
                // Set-up inside the closure: only benchmarks the filter selects pay for it.
                group.bench_function(format!("{label}/{kind}/{n}"), |b| {
                    let m = models
                        .build(
                            model,
                            2,
                            sample.graph.edge_feature_dim(),
                            2,
                            &mut ChaCha8Rng::seed_from_u64(0),
                        )
                        .unwrap();
                    let rule = m.local_rule(&batch).unwrap();
                    let rule = Unobserved(rule.as_ref());
                    let probe = simulate(&rule, &cfg, &mut ChaCha8Rng::seed_from_u64(1)).unwrap();
                    assert_eq!(probe.updates, updates as u64, "{label}: updates counted");
                    b.iter(|| simulate(&rule, &cfg, &mut ChaCha8Rng::seed_from_u64(1)).unwrap())
                });
            }
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
