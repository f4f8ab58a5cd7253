//! Concurrent executor throughput beside the simulator's, in node updates per second: IGNN
//! and the energy GNN (settings of `harness.toml`'s `[models]`, untrained parameters) on the
//! scaling workload's chain and random geometric graph (mean degree 6) of 10⁴ nodes, each
//! run by the simulator (`[async]`'s random sweeps) and by the concurrent executor with 1
//! and 2 threads (shuffled sweeps). `HOGWILD_BENCH_NODES=N` changes the size.
//!
//! Every measurement runs the observer switched off ([`Unobserved`]) for a fixed number of
//! sweeps (about 2·10⁵ node updates) and includes the states' set-up and the readout, once,
//! as the simulator's benchmark does. A concurrent run stops once every thread has completed
//! its sweeps, the faster thread having swept on meanwhile, so it performs somewhat more
//! updates than the nominal count: each measurement's time is scaled by nominal / performed
//! updates, so the reported throughput is the updates actually performed per second. Before
//! each concurrent benchmark one probe run prints its updates per second within the sweeps
//! and its measured staleness to stderr. On a machine shared with other work the two-thread figures vary
//! more than the others (a descheduled thread leaves the other sweeping alone).
//! `cargo bench -p hogwild-sim --bench concurrent`.

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use hogwild_graph::Batch;
use hogwild_models::{LocalRule, ModelsConfig, Staleness};
use hogwild_sim::concurrent::{run, ConcurrentConfig, SweepOrder};
use hogwild_sim::{simulate, workload, AsyncConfig, Unobserved};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::cell::OnceCell;
use std::time::{Duration, Instant};

/// The models measured (labels of [`workload::variants`]).
const MODELS: [&str; 2] = ["ignn", "energy"];

fn harness() -> toml::Table {
    toml::from_str(include_str!("../../../harness.toml")).unwrap()
}

fn nodes() -> usize {
    std::env::var("HOGWILD_BENCH_NODES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000)
}

/// `threads` threads sweeping exactly `sweeps` times each at least, never certified.
fn concurrent_config(threads: usize, sweeps: usize) -> ConcurrentConfig {
    ConcurrentConfig {
        threads,
        tol: 1e-300,
        max_sweeps: sweeps,
        max_seconds: 3600.0,
        residual_every: sweeps,
        order: SweepOrder::Shuffled,
        seed: 0,
    }
}

fn bench(c: &mut Criterion) {
    let doc = harness();
    let base: ModelsConfig = doc["models"].clone().try_into().unwrap();
    let base_async: AsyncConfig = doc["async"].clone().try_into().unwrap();
    let n = nodes();
    let sweeps = (200_000 / n).max(1);
    let nominal = (sweeps * n) as u64;
    let mut group = c.benchmark_group("concurrent");
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .throughput(Throughput::Elements(nominal));
    for graph in workload::GRAPHS {
        let sample = workload::sample(graph, n);
        let batch = Batch::single(&sample);
        let variants = workload::variants(graph, &base).unwrap();
        for variant in variants
            .iter()
            .filter(|v| MODELS.contains(&v.label.as_str()))
        {
            let model = variant.build(&sample).unwrap();
            let name = format!("{}/{graph}/{n}", variant.label);
            let sim_cfg = workload::sweep_config(&base_async, sweeps);
            // Criterion calls a benchmark's closure once per sample: the rules (the energy
            // GNN's needs its minimiser) are made once, by the first benchmark the filter
            // selects. The simulator's rule is sized for its staleness bound, the
            // executor's for none (what the executor will meet is not known beforehand).
            let sim_rule = OnceCell::new();
            group.bench_function(format!("{name}/simulator"), |b| {
                let rule = sim_rule.get_or_init(|| {
                    let staleness = sim_cfg.staleness(n as u64);
                    model.local_rule(&batch, staleness).unwrap()
                });
                let rule = Unobserved(rule.as_ref());
                b.iter(|| simulate(&rule, &sim_cfg, &mut ChaCha8Rng::seed_from_u64(1)).unwrap())
            });
            let conc_rule = OnceCell::new();
            for threads in [1, 2] {
                let cfg = concurrent_config(threads, sweeps);
                let probed = OnceCell::new();
                group.bench_function(format!("{name}/threads-{threads}"), |b| {
                    let rule = conc_rule
                        .get_or_init(|| model.local_rule(&batch, Staleness::SYNCHRONOUS).unwrap());
                    let rule = Unobserved(rule.as_ref());
                    probed.get_or_init(|| probe(&name, &rule, &cfg));
                    b.iter_custom(|iterations| {
                        let mut scaled = Duration::ZERO;
                        for _ in 0..iterations {
                            let start = Instant::now();
                            let out = run(&rule, &cfg).unwrap();
                            let elapsed = start.elapsed();
                            scaled += elapsed.mul_f64(nominal as f64 / out.updates as f64);
                        }
                        scaled
                    })
                });
            }
        }
    }
    group.finish();
}

/// One run of `rule` under `cfg`, its throughput and staleness printed.
fn probe(name: &str, rule: &dyn LocalRule, cfg: &ConcurrentConfig) {
    let out = run(rule, cfg).unwrap();
    let s = &out.staleness;
    eprintln!(
        "probe {name}, {} thread(s): {:.3e} updates/s in the sweeps, {} updates; \
         {} of {} reads across threads, {} stale, max {} missed, {} retries",
        cfg.threads,
        out.updates_per_second,
        out.updates,
        s.cross_reads,
        s.reads,
        s.stale_reads,
        s.max,
        s.retries
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
