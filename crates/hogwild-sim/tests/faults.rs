//! The fault layer (`[async.faults]`): what each fault does to a run, self-stabilisation of
//! implicit models after a transient corruption, and runs without faults unchanged.

mod common;

use common::*;
use hogwild_datasets::synthetic::random_sample;
use hogwild_graph::{Batch, Graph};
use hogwild_models::{Execution, LocalRule, Model, Staleness};
use hogwild_sim::{
    initial_states, simulate, AsyncConfig, AsyncOverrides, Corruption, Crash, Delay, Faults,
    LinkFailure, Outcome, Reset, Schedule, StalenessUnit,
};
use ndarray::Array2;
use rand_chacha::ChaCha8Rng;

/// Random sweeps, B ticks, uniform delays, the observer every round, no faults.
fn cfg(bound: usize) -> AsyncConfig {
    AsyncConfig {
        schedule: Schedule::RandomSweeps,
        staleness_bound: bound,
        staleness_unit: StalenessUnit::Ticks,
        delay: Delay::Uniform,
        tol: 1e-11,
        max_rounds: 100_000,
        residual_every: 1,
        faults: Faults::default(),
    }
}

fn with(faults: Faults, bound: usize) -> AsyncConfig {
    AsyncConfig {
        faults,
        ..cfg(bound)
    }
}

fn corruption(fraction: f64, round: usize, reset: Reset) -> Faults {
    Faults {
        corruption: Some(Corruption {
            fraction,
            rounds: [round, round],
            reset,
            amplitude: 3.0,
        }),
        ..Faults::default()
    }
}

fn loss(p: f64) -> Faults {
    Faults {
        message_loss: Some(p),
        ..Faults::default()
    }
}

fn crash(fraction: f64, rounds: [usize; 2]) -> Faults {
    Faults {
        crash: Some(Crash { fraction, rounds }),
        ..Faults::default()
    }
}

fn links(fraction: f64, rounds: [usize; 2]) -> Faults {
    Faults {
        link_failure: Some(LinkFailure { fraction, rounds }),
        ..Faults::default()
    }
}

/// The residual the observer measured at round `round`.
fn residual_at(out: &Outcome, round: usize) -> f64 {
    out.trace
        .iter()
        .find(|(r, _)| *r == round)
        .unwrap_or_else(|| panic!("no measurement at round {round}: {:?}", out.trace))
        .1
}

/// A linear implicit rule whose outputs are its states: h_i ← a · mean_j h_j + b_i
/// (|a| < 1: a contraction in the max norm), with the max-norm residual over the live nodes.
struct Averaging {
    graph: Graph,
    a: f64,
}

impl Averaging {
    fn next(&self, i: usize, views: &[&[f64]]) -> f64 {
        let mean = views.iter().map(|v| v[0]).sum::<f64>() / views.len().max(1) as f64;
        self.a * mean + (i % 3) as f64 - 1.0
    }
    fn restricted(&self, states: &[Vec<f64>], frozen: &[bool]) -> f64 {
        (0..states.len())
            .filter(|&i| !frozen[i])
            .map(|i| {
                let views: Vec<&[f64]> = self
                    .graph
                    .neighbours(i)
                    .map(|(j, _)| &states[j][..])
                    .collect();
                (self.next(i, &views) - states[i][0]).abs() / (1.0 - self.a.abs())
            })
            .fold(0.0, f64::max)
    }
}

impl LocalRule for Averaging {
    fn graph(&self) -> &Graph {
        &self.graph
    }
    fn execution(&self) -> Execution {
        Execution::Implicit
    }
    fn state_len(&self, _i: usize) -> usize {
        1
    }
    fn init(&self, _i: usize, out: &mut [f64]) {
        out[0] = 0.0;
    }
    fn update(&self, i: usize, _count: usize, _own: &[f64], views: &[&[f64]], out: &mut [f64]) {
        out[0] = self.next(i, views);
    }
    fn residual(&self, states: &[Vec<f64>]) -> f64 {
        self.restricted(states, &vec![false; states.len()])
    }
    fn residual_with_frozen(&self, states: &[Vec<f64>], frozen: &[bool]) -> f64 {
        self.restricted(states, frozen)
    }
    fn readout(&self, states: &[Vec<f64>]) -> Array2<f64> {
        Array2::from_shape_fn((states.len(), 1), |(i, _)| states[i][0])
    }
}

/// The fixed point of `rule`'s map with the nodes `frozen` marks held at `held`, computed
/// directly (synchronous iteration to a step below 1e-15), as outputs.
fn restricted_fixed_point(rule: &dyn LocalRule, held: &[Vec<f64>], frozen: &[bool]) -> Array2<f64> {
    let graph = rule.graph();
    let mut states = held.to_vec();
    for _ in 0..100_000 {
        let next: Vec<Vec<f64>> = (0..graph.n_nodes())
            .map(|i| {
                if frozen[i] {
                    return states[i].clone();
                }
                let views: Vec<&[f64]> = graph.neighbours(i).map(|(j, _)| &states[j][..]).collect();
                let mut out = vec![0.0; states[i].len()];
                rule.update(i, 0, &states[i], &views, &mut out);
                out
            })
            .collect();
        let step = next
            .iter()
            .zip(&states)
            .flat_map(|(a, b)| a.iter().zip(b).map(|(x, y)| (x - y).abs()))
            .fold(0.0, f64::max);
        states = next;
        if step < 1e-15 {
            return rule.readout(&states);
        }
    }
    panic!("the restricted map did not converge");
}

#[test]
fn settings_read_from_toml_and_are_not_serialised_when_absent() {
    let text = r#"
        schedule = "random-sweeps"
        staleness_bound = 20
        tol = 1e-8
        max_rounds = 1000
        residual_every = 10
        faults = { message_loss = 0.1, crash = { fraction = 0.2, rounds = [5, 50] }, link_failure = { fraction = 0.1, rounds = [1, 10] }, corruption = { fraction = 0.5, rounds = [100, 100], reset = "uniform", amplitude = 2.0 } }
    "#;
    let c: AsyncConfig = toml::from_str(text).unwrap();
    c.check().unwrap();
    assert_eq!(c.faults.message_loss, Some(0.1));
    assert_eq!(c.faults.crash.as_ref().unwrap().rounds, [5, 50]);
    assert_eq!(c.faults.corruption.as_ref().unwrap().reset, Reset::Uniform);
    let back: AsyncConfig = toml::from_str(&toml::to_string(&c).unwrap()).unwrap();
    assert_eq!(back, c);
    // Without faults, nothing is written: configs that predate them keep their hash.
    let plain = cfg(20);
    let written = toml::to_string(&plain).unwrap();
    assert!(!written.contains("faults"), "{written}");
    assert_eq!(
        written,
        "schedule = \"random-sweeps\"\nstaleness_bound = 20\ntol = 0.00000000001\nmax_rounds = 100000\nresidual_every = 1\n"
    );
    // A column replaces the whole fault table.
    let o: AsyncOverrides = toml::from_str("faults = { message_loss = 0.3 }").unwrap();
    let applied = o.apply(&c);
    assert_eq!(applied.faults, loss(0.3));
    assert_eq!(AsyncOverrides::default().apply(&c).faults, c.faults);
    assert!(toml::from_str::<AsyncConfig>(&text.replace("amplitude", "amplitudes")).is_err());
}

#[test]
fn impossible_fault_settings_name_their_key() {
    let rule = figure_one();
    let cases: Vec<(Faults, &str)> = vec![
        (loss(1.5), "async.faults.message_loss"),
        (loss(-0.1), "async.faults.message_loss"),
        (loss(f64::NAN), "async.faults.message_loss"),
        (crash(1.1, [1, 2]), "async.faults.crash.fraction"),
        (crash(0.5, [0, 2]), "async.faults.crash.rounds"),
        (crash(0.5, [3, 2]), "async.faults.crash.rounds"),
        (links(-1.0, [1, 2]), "async.faults.link_failure.fraction"),
        (links(0.5, [2, 1]), "async.faults.link_failure.rounds"),
        (
            corruption(2.0, 3, Reset::Zero),
            "async.faults.corruption.fraction",
        ),
        (
            corruption(0.5, 0, Reset::Zero),
            "async.faults.corruption.rounds",
        ),
    ];
    for (faults, key) in cases {
        let err = simulate(&rule, &with(faults.clone(), 3), &mut rng(0)).unwrap_err();
        assert_eq!(err.key.to_string(), key, "{faults:?}: {err}");
    }
    let mut f = corruption(0.5, 2, Reset::Uniform);
    f.corruption.as_mut().unwrap().amplitude = 0.0;
    let err = simulate(&rule, &with(f, 3), &mut rng(0)).unwrap_err();
    assert_eq!(err.key.to_string(), "async.faults.corruption.amplitude");
    let synchronous = AsyncConfig {
        schedule: Schedule::Synchronous,
        ..with(loss(0.1), 1)
    };
    let err = simulate(&rule, &synchronous, &mut rng(0)).unwrap_err();
    assert_eq!(err.key.to_string(), "async.faults", "{err}");
}

#[test]
fn faults_that_touch_nothing_give_the_fault_free_run_bit_for_bit() {
    // Faults draw from their own streams and every delay is drawn as without them, so
    // faults that never fire leave the run exactly as the fault-free simulator runs it:
    // same reads, same residuals, same bits.
    let sample = random_sample(12, 0.25, 2, 3, false, 11);
    let batch = Batch::single(&sample);
    let idle = [
        loss(0.0),
        crash(0.0, [1, 5]),
        links(0.0, [1, 5]),
        corruption(0.0, 2, Reset::Zero),
        // Set beyond the cap: never happen, and do not keep the run going.
        crash(1.0, [1_000_000, 1_000_000]),
    ];
    let models: Vec<Box<dyn Model>> = vec![Box::new(gcn(1)), Box::new(ignn(1))];
    for m in &models {
        let rule = m.local_rule(&batch, Staleness::SYNCHRONOUS).unwrap();
        for bound in [1, 3, 40] {
            let free = AsyncConfig {
                max_rounds: 5000,
                ..cfg(bound)
            };
            let free = simulate(rule.as_ref(), &free, &mut rng(bound as u64)).unwrap();
            assert_eq!(free.faults, Default::default());
            for faults in &idle {
                let c = AsyncConfig {
                    max_rounds: 5000,
                    ..with(faults.clone(), bound)
                };
                let got = simulate(rule.as_ref(), &c, &mut rng(bound as u64)).unwrap();
                assert_eq!(got, free, "{} B = {bound}, {faults:?}", m.name());
            }
        }
    }
}

#[test]
fn runs_without_faults_are_pinned() {
    // The figure-one rule under random sweeps, B = 3: the outputs and stale reads the
    // simulator gave before faults existed (computed with that code), so its use of the
    // run's RNG is unchanged without them.
    let pinned = [
        (4, [45.0, 38.0, 25.0, 44.0, 12.0], 3),
        (5, [10.0, 45.0, 28.0, 25.0, 12.0], 7),
    ];
    for (seed, outputs, stale) in pinned {
        let out = simulate(&figure_one(), &cfg(3), &mut rng(seed)).unwrap();
        assert_eq!(
            out.outputs.column(0).to_vec(),
            outputs.to_vec(),
            "seed {seed}"
        );
        assert_eq!((out.reads, out.stale_reads), (24, stale), "seed {seed}");
    }
}

#[test]
fn same_seed_same_faults_and_outputs() {
    let sample = random_sample(12, 0.3, 2, 3, false, 2);
    let batch = Batch::single(&sample);
    let m = ignn(2);
    let rule = m.local_rule(&batch, Staleness::SYNCHRONOUS).unwrap();
    let all = Faults {
        message_loss: Some(0.2),
        crash: Some(Crash {
            fraction: 0.25,
            rounds: [2, 20],
        }),
        link_failure: Some(LinkFailure {
            fraction: 0.2,
            rounds: [5, 30],
        }),
        corruption: Some(Corruption {
            fraction: 0.5,
            rounds: [10, 40],
            reset: Reset::Uniform,
            amplitude: 1.0,
        }),
    };
    let c = AsyncConfig {
        max_rounds: 2000,
        ..with(all, 5)
    };
    let a = simulate(rule.as_ref(), &c, &mut rng(7)).unwrap();
    let b = simulate(rule.as_ref(), &c, &mut rng(7)).unwrap();
    assert_eq!(a, b);
    assert_eq!(a.faults.crashed_nodes, 3);
    assert!(a.faults.lost_reads > 0 && a.faults.failed_link_reads > 0);
    assert!(a.faults.failed_links > 0 && a.faults.corrupted_nodes > 0);
    let other = simulate(rule.as_ref(), &c, &mut rng(8)).unwrap();
    assert_ne!(a.faults, other.faults);
}

#[test]
fn implicit_models_re_converge_to_the_synchronous_answer_after_a_corruption() {
    // Half the nodes corrupted five rounds after the fault-free run converged: the run goes
    // on past its convergence to the fault, is thrown far from the fixed point, and comes
    // back to the same answer (the fixed point is unique).
    for seed in 0..2 {
        let sample = random_sample(10, 0.3, 2, 3, false, 40 + seed);
        let batch = Batch::single(&sample);
        for mut m in implicit(seed) {
            let sync = m.predict(&batch).unwrap();
            let rule = m.local_rule(&batch, Staleness::SYNCHRONOUS).unwrap();
            let free = simulate(rule.as_ref(), &cfg(5), &mut rng(seed)).unwrap();
            assert!(free.converged, "{}", m.name());
            let round = free.rounds + 5;
            for reset in [Reset::Zero, Reset::Uniform] {
                let c = with(corruption(0.5, round, reset), 5);
                let out = simulate(rule.as_ref(), &c, &mut rng(seed)).unwrap();
                let what = format!("{} seed {seed} {reset:?}", m.name());
                assert!(out.converged, "{what}: residual {:e}", out.residual);
                let d = max_diff(&sync, &out.outputs);
                assert!(d < 1e-8, "{what}: {d:e} from the synchronous outputs");
                assert_eq!(out.faults.corrupted_nodes, 5, "{what}");
                assert_eq!(out.faults.corruption_round, Some(round), "{what}");
                assert_eq!(
                    out.faults.rounds_to_reconverge,
                    Some(out.rounds - round),
                    "{what}"
                );
                // Same schedule as the fault-free run: the same residuals up to the fault.
                assert_eq!(out.trace[..free.trace.len()], free.trace[..], "{what}");
                let hit = residual_at(&out, round);
                assert!(
                    hit > 1e4 * c.tol,
                    "{what}: residual {hit:e} after the corruption"
                );
                assert!(out.rounds > round, "{what}");
            }
        }
    }
}

#[test]
fn an_explicit_model_keeps_the_damage_of_a_corruption() {
    // GCN performs exactly its two updates: what a corruption overwrote is never recomputed.
    let sample = random_sample(12, 0.3, 2, 3, false, 3);
    let batch = Batch::single(&sample);
    let m = gcn(3);
    let rule = m.local_rule(&batch, Staleness::SYNCHRONOUS).unwrap();
    for round in [1, 2] {
        let free = simulate(rule.as_ref(), &cfg(5), &mut rng(1)).unwrap();
        let c = with(corruption(0.5, round, Reset::Zero), 5);
        let hit = simulate(rule.as_ref(), &c, &mut rng(1)).unwrap();
        assert_eq!(hit.faults.corrupted_nodes, 6);
        assert_eq!(hit.faults.corruption_round, Some(round));
        assert_eq!(hit.faults.rounds_to_reconverge, None);
        assert_eq!((hit.rounds, hit.updates), (2, 24));
        let d = max_diff(&free.outputs, &hit.outputs);
        assert!(d > 1e-3, "round {round}: outputs moved by {d:e} only");
    }
    // Figure 1's rule, every node zeroed by its last update: nothing is left.
    let out = simulate(
        &figure_one(),
        &with(corruption(1.0, 3, Reset::Zero), 3),
        &mut rng(0),
    )
    .unwrap();
    assert_eq!(out.outputs.column(0).to_vec(), vec![0.0; 5]);
    // A corruption after the last layer never happens.
    let out = simulate(
        &figure_one(),
        &with(corruption(1.0, 4, Reset::Zero), 3),
        &mut rng(0),
    )
    .unwrap();
    assert_eq!(
        (out.faults.corrupted_nodes, out.faults.corruption_round),
        (0, None)
    );
}

#[test]
fn lost_reads_keep_the_last_version_received() {
    // Every read lost: each node only ever has its neighbours' initial states, the features,
    // as with maximal delays within the bound: h = x_i + 3 Σ_j x_j.
    for seed in 0..3 {
        let out = simulate(&figure_one(), &with(loss(1.0), 3), &mut rng(seed)).unwrap();
        assert_eq!(
            out.outputs.column(0).to_vec(),
            vec![1.0, 6.0, 4.0, 4.0, 3.0]
        );
        assert_eq!(out.faults.lost_reads, out.reads);
        assert_eq!(out.reads, 3 * 8);
    }
}

#[test]
fn implicit_models_reach_the_fixed_point_through_lost_messages() {
    let sample = random_sample(10, 0.3, 2, 3, false, 21);
    let batch = Batch::single(&sample);
    for mut m in [Box::new(ignn(4)) as Box<dyn Model>, Box::new(gsdgnn(4))] {
        let sync = m.predict(&batch).unwrap();
        let rule = m.local_rule(&batch, Staleness::SYNCHRONOUS).unwrap();
        for p in [0.3, 0.8] {
            let out = simulate(rule.as_ref(), &with(loss(p), 5), &mut rng(3)).unwrap();
            let what = format!("{} p = {p}", m.name());
            assert!(out.converged, "{what}: residual {:e}", out.residual);
            let d = max_diff(&sync, &out.outputs);
            assert!(d < 1e-8, "{what}: {d:e} from the synchronous outputs");
            // About p of the reads were lost (binomial, within 5 standard deviations).
            let (lost, reads) = (out.faults.lost_reads as f64, out.reads as f64);
            let sd = (reads * p * (1.0 - p)).sqrt();
            assert!(
                (lost - p * reads).abs() < 5.0 * sd,
                "{what}: {lost} of {reads}"
            );
            let free = simulate(rule.as_ref(), &cfg(5), &mut rng(3)).unwrap();
            assert!(out.rounds > free.rounds, "{what}: losses cost no rounds");
        }
    }
}

#[test]
fn crashed_nodes_freeze_and_the_others_reach_the_restricted_fixed_point() {
    // Crashes at round 1: the crashed nodes never update and stay at their initial state,
    // and the live ones converge (certified by the observer) to the fixed point of the
    // model's map with those held. For the energy GNN that map keeps adding the gradient
    // messages a crashed node sent at its initial state.
    let sample = random_sample(12, 0.3, 2, 3, false, 8);
    let batch = Batch::single(&sample);
    for mut m in implicit(5) {
        let name = m.name();
        let sync = m.predict(&batch).unwrap();
        let rule = m.local_rule(&batch, Staleness::SYNCHRONOUS).unwrap();
        let c = with(crash(0.25, [1, 1]), 5);
        let out = simulate(rule.as_ref(), &c, &mut rng(6)).unwrap();
        assert!(out.converged, "{name}: residual {:e}", out.residual);
        assert_eq!(out.faults.crashed_nodes, 3);
        assert_eq!(out.updates, 9 * out.rounds as u64);
        let free = simulate(rule.as_ref(), &cfg(5), &mut rng(6)).unwrap();
        let frozen = crashed_nodes(rule.as_ref(), &c, 6);
        assert_eq!(frozen.iter().filter(|&&f| f).count(), 3);
        let want = restricted_fixed_point(rule.as_ref(), &initial_states(rule.as_ref()), &frozen);
        let d = max_diff(&want, &out.outputs);
        assert!(d < 1e-6, "{name}: {d:e} from the restricted fixed point");
        assert!(
            max_diff(&sync, &out.outputs) > 1e-4,
            "{name}: the crashes changed nothing"
        );
        assert!(max_diff(&sync, &free.outputs) < 1e-6, "{name}");
    }
}

/// Which nodes the crash settings of `c` make crash under seed `seed` (from the plan the
/// simulator draws).
fn crashed_nodes(rule: &dyn LocalRule, c: &AsyncConfig, seed: u64) -> Vec<bool> {
    let plan = hogwild_sim::FaultPlan::draw(&c.faults, rule.graph(), &rng(seed));
    plan.crash_round
        .iter()
        .map(|&r| r <= c.max_rounds)
        .collect()
}

#[test]
fn nodes_crashing_mid_run_are_held_at_their_last_state() {
    // Crashes at random rounds: the crashed nodes keep the state of their last update, and
    // the live ones satisfy the fixed-point equation with those states held.
    let rule = Averaging {
        graph: random_sample(16, 0.3, 1, 2, false, 9).graph,
        a: 0.9,
    };
    let c = AsyncConfig {
        residual_every: 3,
        ..with(crash(0.5, [3, 12]), 7)
    };
    for seed in 0..3 {
        let out = simulate(&rule, &c, &mut rng(seed)).unwrap();
        assert!(out.converged, "seed {seed}: residual {:e}", out.residual);
        assert_eq!(out.faults.crashed_nodes, 8);
        let frozen = crashed_nodes(&rule, &c, seed);
        let held: Vec<Vec<f64>> = out.outputs.rows().into_iter().map(|r| r.to_vec()).collect();
        let want = restricted_fixed_point(&rule, &held, &frozen);
        let d = max_diff(&want, &out.outputs);
        assert!(
            d < 1e-9,
            "seed {seed}: {d:e} from the restricted fixed point"
        );
        let all = restricted_fixed_point(&rule, &held, &[false; 16]);
        assert!(
            max_diff(&all, &out.outputs) > 1e-3,
            "seed {seed}: no node was held"
        );
    }
}

#[test]
fn failed_links_are_read_as_last_received() {
    // Every link down from the start: as if every read were lost.
    for seed in 0..3 {
        let out = simulate(&figure_one(), &with(links(1.0, [1, 1]), 3), &mut rng(seed)).unwrap();
        assert_eq!(
            out.outputs.column(0).to_vec(),
            vec![1.0, 6.0, 4.0, 4.0, 3.0]
        );
        assert_eq!(out.faults.failed_links, 4);
        assert_eq!(out.faults.failed_link_reads, out.reads);
    }
    // Down from round 3 (the last): the last update sees what the second update read.
    let free = simulate(&figure_one(), &cfg(1), &mut rng(0)).unwrap();
    let late = simulate(&figure_one(), &with(links(1.0, [3, 3]), 1), &mut rng(0)).unwrap();
    assert_eq!(late.faults.failed_link_reads, 8);
    assert_ne!(late.outputs, free.outputs);
    // Half the links of an IGNN's graph, mid-run: it settles elsewhere than the synchronous
    // answer (the observer's residual is the model's and never gets to the tolerance).
    let sample = random_sample(12, 0.3, 2, 3, false, 8);
    let batch = Batch::single(&sample);
    let mut m = ignn(5);
    let sync = m.predict(&batch).unwrap();
    let rule = m.local_rule(&batch, Staleness::SYNCHRONOUS).unwrap();
    let c = AsyncConfig {
        max_rounds: 500,
        ..with(links(0.5, [2, 10]), 5)
    };
    let out = simulate(rule.as_ref(), &c, &mut rng(1)).unwrap();
    assert!(out.faults.failed_links > 0);
    assert!(!out.converged);
    assert!(max_diff(&sync, &out.outputs) > 1e-6);
}

/// The faults as specified, on a schedule that keeps every version of every node: the
/// simulator's schedule (same permutations and delays), the plan the simulator draws, and
/// for each edge the version last received over it. Returns the outputs and the counts of
/// lost reads and reads over failed links.
fn reference_with_faults(
    rule: &dyn LocalRule,
    cfg: &AsyncConfig,
    rng: &mut ChaCha8Rng,
) -> (Array2<f64>, u64, u64) {
    use rand::seq::SliceRandom;
    use rand::RngExt;
    let graph = rule.graph();
    let n = graph.n_nodes();
    let Execution::Explicit { updates: rounds } = rule.execution() else {
        panic!("explicit rules only")
    };
    let mut plan = hogwild_sim::FaultPlan::draw(&cfg.faults, graph, rng);
    let bound = cfg.bound_ticks(n as u64);
    let mut history: Vec<Vec<(u64, Vec<f64>)>> = initial_states(rule)
        .into_iter()
        .map(|s| vec![(0, s)])
        .collect();
    let mut received: Vec<Vec<f64>> = (0..graph.n_edges())
        .map(|e| history[graph.edge(e).0][0].1.clone())
        .collect();
    let (mut lost, mut dead) = (0, 0);
    let mut order: Vec<usize> = (0..n).collect();
    let mut tick = 0u64;
    for round in 1..=rounds {
        order.shuffle(rng);
        for &i in &order {
            tick += 1;
            let live = round < plan.crash_round[i];
            for e in graph.in_edges(i) {
                let j = graph.edge(e).0;
                if j == i {
                    continue;
                }
                let d = match cfg.delay {
                    Delay::Uniform => rng.random_range(0..bound),
                    Delay::Max => bound - 1,
                };
                if !live {
                    continue;
                }
                let tau = (tick - 1).saturating_sub(d);
                if round >= plan.link_failure_round[e] {
                    dead += 1;
                } else if plan.lose() {
                    lost += 1;
                } else {
                    let k = history[j].partition_point(|(t, _)| *t <= tau);
                    received[e] = history[j][k - 1].1.clone();
                }
            }
            if !live {
                continue;
            }
            let own = history[i].last().unwrap().1.clone();
            let views: Vec<&[f64]> = graph
                .in_edges(i)
                .map(|e| {
                    if graph.edge(e).0 == i {
                        &own[..]
                    } else {
                        &received[e][..]
                    }
                })
                .collect();
            let mut out = vec![0.0; rule.state_len(i)];
            rule.update(i, history[i].len() - 1, &own, &views, &mut out);
            if plan.corrupts(i, round) {
                plan.corrupt(&mut out);
            }
            history[i].push((tick, out));
        }
    }
    let states: Vec<Vec<f64>> = history
        .into_iter()
        .map(|h| h.last().unwrap().1.clone())
        .collect();
    (rule.readout(&states), lost, dead)
}

#[test]
fn faulty_runs_read_exactly_the_versions_the_faults_specify() {
    // Small and larger graphs, bounds from 1 to more than a round, every fault at once and
    // each alone: bit for bit the specified reads (crashed nodes' turns write nothing, so
    // the simulator's ring of superseded versions must not serve a stale entry for them).
    let graphs = [
        Graph::path(3).gcn_normalised(),
        Graph::path(7),
        random_sample(30, 0.2, 1, 2, false, 3).graph,
    ];
    let all = Faults {
        message_loss: Some(0.3),
        crash: Some(Crash {
            fraction: 0.4,
            rounds: [2, 6],
        }),
        link_failure: Some(LinkFailure {
            fraction: 0.3,
            rounds: [2, 8],
        }),
        corruption: Some(Corruption {
            fraction: 0.3,
            rounds: [3, 5],
            reset: Reset::Uniform,
            amplitude: 2.0,
        }),
    };
    let each = [
        all.clone(),
        loss(0.5),
        crash(0.5, [1, 8]),
        links(0.5, [1, 8]),
        corruption(0.5, 4, Reset::Zero),
    ];
    for graph in graphs {
        let rule = Tracer { graph, updates: 10 };
        for faults in &each {
            for bound in [1, 2, 5, 20, 64] {
                for delay in [Delay::Uniform, Delay::Max] {
                    let c = AsyncConfig {
                        delay,
                        ..with(faults.clone(), bound)
                    };
                    let seed = bound as u64;
                    let got = simulate(&rule, &c, &mut rng(seed)).unwrap();
                    let (want, lost, dead) = reference_with_faults(&rule, &c, &mut rng(seed));
                    let what = format!(
                        "n = {}, B = {bound}, {delay:?}, {faults:?}",
                        rule.graph.n_nodes()
                    );
                    assert!(
                        got.outputs == want,
                        "{what}: {}",
                        max_diff(&got.outputs, &want)
                    );
                    assert_eq!(
                        (got.faults.lost_reads, got.faults.failed_link_reads),
                        (lost, dead),
                        "{what}"
                    );
                }
            }
        }
    }
}
