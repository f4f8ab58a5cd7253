//! The energy GNN's block rules (`async_rule = "block-newton"`, `"block-minimise"`): their
//! asynchronous fixed points are the synchronous minimiser's, and on ill-conditioned
//! energies they need far fewer rounds than the paper's gradient step.

mod common;

use common::*;
use hogwild_datasets::synthetic::random_sample;
use hogwild_graph::{Batch, Graph, Sample, Targets};
use hogwild_models::energy::picnn::Activation;
use hogwild_models::energy::variants::{AttentionEnergy, NodeWiseEnergy, Wiring};
use hogwild_models::energy::{AsyncRule, AsyncStep, EnergyConfig, EnergyGnn};
use hogwild_models::{Dims, Model, ModelSpec, TrainConfig};
use hogwild_sim::{
    simulate, AsyncConfig, Crash, Delay, FaultPlan, Faults, Outcome, Schedule, StalenessUnit,
};
use ndarray::Array2;

const BLOCK_RULES: [AsyncRule; 2] = [AsyncRule::BlockNewton, AsyncRule::BlockMinimise];

fn asynchrony(bound: usize, delay: Delay) -> AsyncConfig {
    AsyncConfig {
        schedule: Schedule::RandomSweeps,
        staleness_bound: bound,
        staleness_unit: StalenessUnit::Ticks,
        delay,
        tol: 1e-11,
        max_rounds: 20_000,
        residual_every: 1,
        faults: Default::default(),
    }
}

fn variant(cfg: &EnergyConfig, wiring: Wiring, in_dim: usize, seed: u64) -> EnergyGnn {
    let dims = Dims {
        in_dim,
        edge_dim: 0,
        out_dim: 3,
    };
    let name = match wiring {
        Wiring::EDGE => EnergyConfig::NAME,
        Wiring::NODE => NodeWiseEnergy::NAME,
        _ => AttentionEnergy::NAME,
    };
    EnergyGnn::variant(cfg, name, wiring, dims, &mut rng(seed)).unwrap()
}

/// A chain of `n` nodes with random features.
fn chain(n: usize, seed: u64) -> Sample {
    let mut s = random_sample(n, 0.0, 2, 3, false, seed);
    s.graph = Graph::path(n);
    s
}

/// Two-way edges with unequal weights: a directed graph the asynchronous rules accept (a
/// node sends its messages back along the reverse edge, so every edge needs one).
fn two_way(seed: u64) -> Sample {
    let edges = [
        (0, 1, 1.0),
        (1, 0, 0.3),
        (1, 2, 0.5),
        (2, 1, 2.0),
        (2, 3, 1.0),
        (3, 2, 1.0),
        (3, 4, 0.7),
        (4, 3, 1.6),
        (4, 5, 1.3),
        (5, 4, 0.2),
        (0, 5, 0.4),
        (5, 0, 0.9),
        (1, 4, 0.8),
        (4, 1, 0.1),
    ];
    let s = random_sample(6, 0.0, 2, 3, false, seed);
    Sample {
        graph: Graph::from_weighted_edges(6, &edges, None).unwrap(),
        features: s.features,
        targets: Targets::Classes(vec![0, 1, 2, 0, 1, 2]),
    }
}

#[test]
fn block_rules_reach_the_synchronous_minimiser_for_every_variant() {
    let graphs = [
        ("chain", chain(12, 1)),
        ("random", random_sample(10, 0.25, 2, 3, false, 101)),
        ("two-way", two_way(2)),
    ];
    // Curvature recomputed on every update, and reused for two updates in three (the
    // gradients stay exact, so the fixed point does not move).
    for (rule, every) in BLOCK_RULES.into_iter().flat_map(|r| [(r, 1), (r, 3)]) {
        for wiring in [Wiring::EDGE, Wiring::NODE, Wiring::ATTENTION] {
            // A deeper update network (its in-edges' terms couple) and every table's affine one.
            for update_widths in [vec![4, 1], vec![1]] {
                let cfg = EnergyConfig {
                    async_rule: rule,
                    async_hessian_every: every,
                    update_widths: update_widths.clone(),
                    ..energy_config()
                };
                let mut m = variant(&cfg, wiring, 2, 7);
                for (name, sample) in &graphs {
                    let batch = Batch::single(sample);
                    let sync = m.predict(&batch).unwrap();
                    for (order, bound, delay) in [
                        (0, 1, Delay::Uniform),
                        (1, 20, Delay::Uniform),
                        (2, 20, Delay::Max),
                    ] {
                        let c = asynchrony(bound, delay);
                        let r = m
                            .local_rule(&batch, c.staleness(batch.n_nodes() as u64))
                            .unwrap();
                        let out = simulate(r.as_ref(), &c, &mut rng(order)).unwrap();
                        let what = format!(
                            "{rule:?} every {every} {} u {update_widths:?} {name} B = {bound} {delay:?}",
                            m.name()
                        );
                        assert!(out.converged, "{what}: residual {:e}", out.residual);
                        let d = max_diff(&sync, &out.outputs);
                        assert!(d < 1e-8, "{what}: {d:e} from the synchronous outputs");
                    }
                }
            }
        }
    }
}

/// Table 1's energy recipe trained on its chains of `length` from initialisation `seed`:
/// the config, the trained model and the first chain's batch.
fn trained_chain_energy(
    data: &hogwild_datasets::Dataset,
    seed: u64,
) -> (EnergyConfig, EnergyGnn, Batch) {
    let samples: Vec<&Sample> = data.samples.iter().collect();
    let config = EnergyConfig {
        hidden: 4,
        message_widths: vec![4, 4],
        update_widths: vec![1],
        activation: Activation::SoftplusSquared,
        beta: 0.01,
        tol: 1e-8,
        async_step_scale: 1.0,
        train: TrainConfig {
            epochs: 1500,
            ..train()
        },
        ..energy_config()
    };
    let mut trained = EnergyGnn::new(&config, 2, 0, 2, &mut rng(seed)).unwrap();
    hogwild_models::train(&mut trained, &samples, &config.train, &mut rng(1)).unwrap();
    (config, trained, Batch::single(samples[0]))
}

/// The asynchronous outcome of `trained`'s parameters under `config`'s rule and step.
fn run_with(trained: &EnergyGnn, config: EnergyConfig, batch: &Batch, c: &AsyncConfig) -> Outcome {
    let in_dim = batch.features.ncols();
    let out_dim = trained.params().get(trained.params().len() - 1).ncols();
    let mut m = EnergyGnn::new(&config, in_dim, 0, out_dim, &mut rng(0)).unwrap();
    *m.params_mut() = trained.params().clone();
    let rule = m
        .local_rule(batch, c.staleness(batch.n_nodes() as u64))
        .unwrap();
    simulate(rule.as_ref(), c, &mut rng(5)).unwrap()
}

/// The block diagonal dominance of `∇²E` at the minimiser, `max_i Σ_{j≠i} ‖H_ii⁻¹ H_ij‖₂`
/// (PROTOCOL, "The energy GNN's block rules"), from the dense Hessian.
fn block_dominance(model: &EnergyGnn, batch: &Batch) -> f64 {
    let ctx = model.context(batch).unwrap();
    let (n, k) = (batch.n_nodes(), 4);
    let (h, _, _) = model.minimise(&ctx, Array2::zeros((n, k)), &mut Vec::new());
    let hess = model.hessian(&ctx, h.view());
    let mut dense = Array2::zeros((n * k, n * k));
    for col in 0..n * k {
        let mut unit = Array2::zeros((n, k));
        unit[[col / k, col % k]] = 1.0;
        let column = hess.apply(unit.view());
        for row in 0..n * k {
            dense[[row, col]] = column[[row / k, row % k]];
        }
    }
    let block = |i: usize, j: usize| {
        dense
            .slice(ndarray::s![i * k..(i + 1) * k, j * k..(j + 1) * k])
            .to_owned()
    };
    let spectral_norm = |m: &Array2<f64>| {
        let mtm = m.t().dot(m);
        let mut v = Array2::from_elem((k, 1), 1.0);
        let mut norm = 0.0;
        for _ in 0..200 {
            let w = mtm.dot(&v);
            norm = w.iter().map(|x| x * x).sum::<f64>().sqrt();
            if norm == 0.0 {
                return 0.0;
            }
            v = w / norm;
        }
        norm.sqrt()
    };
    (0..n)
        .map(|i| {
            let inv = invert(&block(i, i));
            (0..n)
                .filter(|&j| j != i)
                .map(|j| spectral_norm(&inv.dot(&block(i, j))))
                .sum::<f64>()
        })
        .fold(0.0, f64::max)
}

/// The inverse of a small symmetric positive definite matrix (Gauss–Jordan).
fn invert(a: &Array2<f64>) -> Array2<f64> {
    let k = a.nrows();
    let mut m = ndarray::concatenate![ndarray::Axis(1), a.view(), Array2::eye(k).view()];
    for c in 0..k {
        let p = m[[c, c]];
        m.row_mut(c).mapv_inplace(|v| v / p);
        for r in (0..k).filter(|&r| r != c) {
            let f = m[[r, c]];
            let pivot_row = m.row(c).to_owned();
            m.row_mut(r).zip_mut_with(&pivot_row, |v, &q| *v -= f * q);
        }
    }
    m.slice(ndarray::s![.., k..]).to_owned()
}

/// Rounds to tolerance of every rule on Table 1's trained chain energies, with each
/// energy's block dominance at its minimiser (PROTOCOL, "The energy GNN's block rules"):
/// `cargo test --release -p hogwild-sim --test block_rules
/// measure_rules_on_trained_chain_energies -- --ignored --nocapture`; `HOGWILD_LENGTHS`
/// (default `10,20`) and `HOGWILD_SEEDS` (default `0,1,2`) choose the chains and
/// initialisations, `HOGWILD_MAX_DELAYS=0` leaves out the runs under maximal delays,
/// `HOGWILD_HESSIAN_EVERY` (default 1) sets the block rules' `async_hessian_every`. Each run
/// prints its wall seconds too (a measurement, not a test of speed).
#[test]
#[ignore = "measurement for PROTOCOL; trains Table 1's energies"]
fn measure_rules_on_trained_chain_energies() {
    let every: usize = std::env::var("HOGWILD_HESSIAN_EVERY").map_or(1, |v| v.parse().unwrap());
    let list = |var: &str, default: &str| -> Vec<u64> {
        let s = std::env::var(var).unwrap_or_else(|_| default.to_string());
        s.split(',').map(|x| x.parse().unwrap()).collect()
    };
    for length in list("HOGWILD_LENGTHS", "10,20") {
        let data = hogwild_datasets::chains::generate(length as usize, 2).unwrap();
        for seed in list("HOGWILD_SEEDS", "0,1,2") {
            let (config, mut trained, batch) = trained_chain_energy(&data, seed);
            let sync = trained.predict(&batch).unwrap();
            let delta = block_dominance(&trained, &batch);
            println!("l={length} seed {seed}: block dominance at H* {delta:.4}");
            // The tables' asynchrony; maximal delays of B = 200 ticks, with the gradient
            // rule's delay-aware step (its fixed one diverges there) and the block rules
            // undamped and with the same delay factor.
            for (b, delay, steps) in [
                (20, Delay::Uniform, [AsyncStep::Fixed; 3]),
                (
                    200,
                    Delay::Max,
                    [AsyncStep::DelayAware, AsyncStep::Fixed, AsyncStep::Fixed],
                ),
                (200, Delay::Max, [AsyncStep::DelayAware; 3]),
            ] {
                if b == 200 && std::env::var("HOGWILD_MAX_DELAYS").is_ok_and(|v| v == "0") {
                    continue;
                }
                let c = AsyncConfig {
                    tol: 1e-8,
                    max_rounds: 200_000,
                    residual_every: 10,
                    ..asynchrony(b, delay)
                };
                let rules = [
                    AsyncRule::Gradient,
                    AsyncRule::BlockNewton,
                    AsyncRule::BlockMinimise,
                ];
                let mut line = format!("  B={b} {delay:?}:");
                for (rule, step) in rules.into_iter().zip(steps) {
                    if b == 200 && steps[1] == AsyncStep::DelayAware && rule == AsyncRule::Gradient
                    {
                        continue; // measured on the line before
                    }
                    let with = EnergyConfig {
                        async_rule: rule,
                        async_step: step,
                        async_hessian_every: if rule == AsyncRule::Gradient {
                            1
                        } else {
                            every
                        },
                        ..config.clone()
                    };
                    let started = std::time::Instant::now();
                    let out = run_with(&trained, with, &batch, &c);
                    line += &format!(
                        "  {rule:?}/{step:?} {} rounds, {:.2} s{} (res {:.1e}, diff {:.1e})",
                        out.rounds,
                        started.elapsed().as_secs_f64(),
                        if out.converged { "" } else { " UNCONVERGED" },
                        out.residual,
                        max_diff(&sync, &out.outputs)
                    );
                }
                println!("{line}");
            }
        }
    }
}

#[test]
fn on_an_ill_conditioned_trained_energy_the_block_rules_need_far_fewer_rounds() {
    // Table 1's recipe (β = 0.01) trained on its l = 10 chains, initialisation 1: the
    // gradient step needs about 28 000 rounds under the tables' asynchrony (B = 20 ticks),
    // and under maximal delays of B = 200 ticks with the delay-aware step it does not reach
    // the tolerance in 10⁵ rounds. The block rules, under the same asynchrony and the same
    // delay factor on their damping, converge in a fraction of those, at the synchronous
    // answer.
    let data = hogwild_datasets::chains::generate(10, 2).unwrap();
    let (config, mut trained, batch) = trained_chain_energy(&data, 1);
    let sync = trained.predict(&batch).unwrap();
    for (b, delay, step) in [
        (20, Delay::Uniform, AsyncStep::Fixed),
        (200, Delay::Max, AsyncStep::DelayAware),
    ] {
        let c = AsyncConfig {
            tol: 1e-8,
            max_rounds: 100_000,
            residual_every: 10,
            ..asynchrony(b, delay)
        };
        let rounds = |rule| {
            let with = EnergyConfig {
                async_rule: rule,
                async_step: step,
                ..config.clone()
            };
            let out = run_with(&trained, with, &batch, &c);
            if rule != AsyncRule::Gradient {
                assert!(
                    out.converged,
                    "{rule:?} B = {b}: residual {:e}",
                    out.residual
                );
                let d = max_diff(&sync, &out.outputs);
                assert!(
                    d < 1e-7,
                    "{rule:?} B = {b}: {d:e} from the synchronous outputs"
                );
            }
            out.rounds
        };
        let gradient = rounds(AsyncRule::Gradient);
        let newton = rounds(AsyncRule::BlockNewton);
        let minimise = rounds(AsyncRule::BlockMinimise);
        let what = format!(
            "B = {b}: gradient {gradient}, block-newton {newton}, block-minimise {minimise}"
        );
        if b == 20 {
            // Undamped block-newton is near its stability limit on this energy (δ = 1.85):
            // rounding-level changes to its gradients move its count by a factor of 3.6
            // (5 190 and 18 640 rounds have both been measured), so only its lead is pinned.
            assert!(newton < gradient && 8 * minimise <= gradient, "{what}");
        } else {
            // The gradient rule ran out of rounds; the block rules converged (asserted above).
            assert_eq!(gradient, c.max_rounds, "{what}");
        }
    }
}

#[test]
fn the_gradient_rule_is_pinned() {
    // The paper's rule (the default) on the small energy GNN of these tests: rounds, the
    // final residual and outputs as they were when the block rules were added (they do not
    // touch its code), to the bit.
    let sample = random_sample(9, 0.3, 2, 3, false, 3);
    let batch = Batch::single(&sample);
    let m = energy(4);
    let c = AsyncConfig {
        tol: 1e-10,
        ..asynchrony(5, Delay::Uniform)
    };
    let rule = m.local_rule(&batch, c.staleness(9)).unwrap();
    let out = simulate(rule.as_ref(), &c, &mut rng(6)).unwrap();
    let outputs: f64 = out.outputs.iter().sum();
    assert_eq!(
        (out.rounds, out.residual.to_bits(), outputs.to_bits()),
        PINNED_GRADIENT_RULE
    );
}

const PINNED_GRADIENT_RULE: (usize, u64, u64) = (98, 0x3dd8_6828_f570_f287, 0x4022_6cc4_6878_b089);

#[test]
fn with_crashed_nodes_the_block_rules_reach_the_restricted_fixed_point() {
    // Crashes at round 1: the crashed nodes stay at their initial state and keep their
    // initial messages, which their live neighbours keep using (as quadratic models of the
    // crashed nodes' terms). The observer's residual for that restricted problem certifies
    // convergence, and the answer is the fixed point of the rule's own map with those
    // nodes held (synchronous iteration).
    let sample = random_sample(12, 0.3, 2, 3, false, 8);
    let batch = Batch::single(&sample);
    for rule_kind in BLOCK_RULES {
        let cfg = EnergyConfig {
            async_rule: rule_kind,
            ..energy_config()
        };
        let mut m = variant(&cfg, Wiring::EDGE, 2, 5);
        let sync = m.predict(&batch).unwrap();
        let c = AsyncConfig {
            faults: Faults {
                crash: Some(Crash {
                    fraction: 0.25,
                    rounds: [1, 1],
                }),
                ..Faults::default()
            },
            ..asynchrony(5, Delay::Uniform)
        };
        let rule = m.local_rule(&batch, c.staleness(12)).unwrap();
        let out = simulate(rule.as_ref(), &c, &mut rng(6)).unwrap();
        assert!(out.converged, "{rule_kind:?}: residual {:e}", out.residual);
        assert_eq!(out.faults.crashed_nodes, 3);
        let plan = FaultPlan::draw(&c.faults, rule.graph(), &rng(6));
        let frozen: Vec<bool> = plan
            .crash_round
            .iter()
            .map(|&r| r <= c.max_rounds)
            .collect();
        let g = rule.graph();
        let mut states: Vec<Vec<f64>> = (0..12)
            .map(|i| {
                let mut s = vec![0.0; rule.state_len(i)];
                rule.init(i, &mut s);
                s
            })
            .collect();
        for _ in 0..10_000 {
            let next: Vec<Vec<f64>> = (0..12)
                .map(|i| {
                    if frozen[i] {
                        return states[i].clone();
                    }
                    let views: Vec<&[f64]> =
                        g.in_edges(i).map(|e| &states[g.edge(e).0][..]).collect();
                    let mut out = vec![0.0; states[i].len()];
                    rule.update(i, 0, &states[i], &views, &mut out);
                    out
                })
                .collect();
            let step = max_diff(&rule.readout(&next), &rule.readout(&states));
            states = next;
            if step < 1e-14 {
                break;
            }
        }
        let d = max_diff(&rule.readout(&states), &out.outputs);
        assert!(
            d < 1e-7,
            "{rule_kind:?}: {d:e} from the restricted fixed point"
        );
        assert!(
            max_diff(&sync, &out.outputs) > 1e-4,
            "{rule_kind:?}: the crashes changed nothing"
        );
    }
}

/// Rounds to tolerance of every rule on a Table 2 energy trained to the paper's level:
/// SUM (n), the recipe of PROTOCOL's probe (β = 0.1, 100 epochs of one chain per step,
/// cosine lr, targets standardised), trained on graphs 10–99 of `sum(100, n, 0)` from
/// initialisation 0, run on the first of graphs 0–9 under the tables' asynchrony and
/// Table 2's stopping rule (tol 1e-6, 50 000 rounds): `cargo test --release -p hogwild-sim
/// --test block_rules measure_rules_on_a_trained_sum_energy -- --ignored --nocapture`;
/// `HOGWILD_SUM_NODES` is n (default 10), `HOGWILD_TEST_GRAPHS` how many graphs are run
/// (default 10).
#[test]
#[ignore = "measurement for PROTOCOL; trains a Table 2 energy"]
fn measure_rules_on_a_trained_sum_energy() {
    let env = |var: &str, default: usize| -> usize {
        std::env::var(var).map_or(default, |s| s.parse().unwrap())
    };
    let nodes = env("HOGWILD_SUM_NODES", 10);
    let mut data = hogwild_datasets::counting::sum(100, nodes, 0).unwrap();
    let values = |s: &Sample| match &s.targets {
        Targets::Values(v) => v.clone(),
        _ => unreachable!("regression"),
    };
    let train_values: Vec<f64> = data.samples[10..]
        .iter()
        .flat_map(|s| values(s).into_raw_vec_and_offset().0)
        .collect();
    let mean = train_values.iter().sum::<f64>() / train_values.len() as f64;
    let var =
        train_values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / train_values.len() as f64;
    for s in &mut data.samples {
        let v = values(s).mapv(|x| (x - mean) / var.sqrt());
        s.targets = Targets::Values(v);
    }
    let config = EnergyConfig {
        hidden: 4,
        message_widths: vec![4, 4],
        update_widths: vec![1],
        activation: Activation::SoftplusSquared,
        beta: 0.1,
        tol: 1e-6,
        async_step_scale: 0.25,
        train: TrainConfig {
            batch_graphs: Some(1),
            epochs: 100,
            lr_schedule: hogwild_models::LrSchedule::Cosine,
            ..train()
        },
        ..energy_config()
    };
    let mut trained = EnergyGnn::new(&config, 1, 0, 1, &mut rng(0)).unwrap();
    let samples: Vec<&Sample> = data.samples[10..].iter().collect();
    let log = hogwild_models::train(&mut trained, &samples, &config.train, &mut rng(1)).unwrap();
    println!(
        "SUM ({nodes}) beta 0.1: last training loss {:.4}",
        log.losses.last().unwrap()
    );
    let c = AsyncConfig {
        tol: 1e-6,
        max_rounds: 50_000,
        residual_every: 10,
        ..asynchrony(20, Delay::Uniform)
    };
    let graphs = env("HOGWILD_TEST_GRAPHS", 10);
    for (g, sample) in data.samples[..graphs].iter().enumerate() {
        let batch = Batch::single(sample);
        let sync = trained.predict(&batch).unwrap();
        let delta = block_dominance(&trained, &batch);
        let mut line = format!("graph {g}: dominance {delta:.3}");
        for rule in [
            AsyncRule::Gradient,
            AsyncRule::BlockNewton,
            AsyncRule::BlockMinimise,
        ] {
            let with = EnergyConfig {
                async_rule: rule,
                ..config.clone()
            };
            let out = run_with(&trained, with, &batch, &c);
            line += &format!(
                "  {rule:?} {}{} (diff {:.1e})",
                out.rounds,
                if out.converged { "" } else { " UNCONVERGED" },
                max_diff(&sync, &out.outputs)
            );
        }
        println!("{line}");
    }
}
