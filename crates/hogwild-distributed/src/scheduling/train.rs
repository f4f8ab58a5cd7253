//! Training the actor against the digital twin, centralized (one shared copy) or
//! distributed (a copy per link, the reference code's gradient consensus + local Adam); the
//! critic is centralized in both, as in the reference code.
//!
//! For every training graph, in an order shuffled every epoch:
//! 1. draw utilities `w ~ U(0, 1)`;
//! 2. `z = actor(1) + U(−explore, explore)`;
//! 3. keep the gradient of the actor's objective `−mean_v critic([1, z])_{v,0}` (every link
//!    the gradient with respect to its own copy, from its own values and its neighbours'
//!    messages; distributed: mixed `K` times with the graph's Metropolis–Hastings weights,
//!    one round each, then times `N`);
//! 4. log the ratio of LGS on `actor(1) · w` (no noise) against greedy;
//! 5. the critic's sample: `w′ ~ U(0, 1)`, `z′ = z + U(−jitter, jitter)`, LGS on `z′ · w′`,
//!    target column 0 = `w′_v` where `v` is scheduled (else 0), column 1 = 1 − column 0;
//!    keep the gradient of the critic's loss at `[1, z]`.
//!
//! After every `batch_graphs` graphs: evaluate on the test graphs (so point `k` is the
//! model after `k − 1` updates), then replay: `batch_graphs` kept actor gradients drawn at
//! random without replacement, each applied as its own optimiser step, and the same, drawn
//! independently, for the critic with its own Adam; then the memory is cleared. The count
//! runs on across epochs, so every kept gradient is used once (those of the last, short
//! batch excepted). With [`SchedulingConfig::mimic_epoch_boundary_discard`] the count
//! restarts every epoch while the memory does not, as in the reference code: the graphs
//! left over at the end of an epoch join the next epoch's first draw, and what that draw
//! leaves is dropped.

use super::data::{ConflictGraph, SchedulingData};
use super::models::{actor, actor_forward, Critic};
use super::mwis::{greedy, local_greedy, set_weight};
use super::SchedulingConfig;
use crate::network::{combine, Ledger};
use crate::optim::{Optimiser, OptimiserKind, OptimiserSpec};
use crate::regression::copy_spread;
use crate::stream;
use hogwild_graph::Graph;
use ndarray::{Array2, ArrayView2};
use rand::seq::SliceRandom;
use rand::RngExt;
use serde::{Deserialize, Serialize};

/// One actor optimiser's curves; entry `k` of the per-evaluation vectors is measured before
/// update `k + 1`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SchedulingRun {
    /// The curve's name.
    pub name: String,
    /// Which optimiser trains the actor.
    pub kind: OptimiserKind,
    /// Mean over the test graphs of (utility of GCN + LGS) / (utility of greedy), each link
    /// with its own copy.
    pub test_ratio: Vec<f64>,
    /// The same ratio on the training graphs since the previous evaluation (noise-free
    /// actor, the graphs' fresh utilities).
    pub train_ratio: Vec<f64>,
    /// Mean actor objective `−mean_v p_{v,0}` over the same graphs.
    pub actor_objective: Vec<f64>,
    /// Mean critic loss over the same graphs.
    pub critic_loss: Vec<f64>,
    /// Mean scaling factor `z` (with its exploration noise) over the same graphs' links
    /// (the reference code's `z_avg`).
    pub mean_factor: Vec<f64>,
    /// Message rounds since the start (the actor's; centralized: forward rounds only).
    pub rounds: Vec<u64>,
    /// Root-mean-square distance of the actor copies from their mean (0 when centralized).
    pub copy_spread: Vec<f64>,
    /// Everything the actor's training sent.
    pub ledger: Ledger,
    /// Actor starts drawn until one was live (see [`SchedulingConfig::live_start_fraction`]).
    pub start_draws: usize,
    /// Fraction of the training graphs' links where the untrained actor's output is positive.
    pub start_live_fraction: f64,
}

/// Most actor starts [`initial_actor`] draws; past it, the livest one drawn is used.
pub const MAX_START_DRAWS: usize = 1000;

/// Fraction of the links of `data`'s training graphs at which the actor `theta` (one row)
/// outputs a positive factor.
pub fn live_fraction(
    cfg: &SchedulingConfig,
    theta: ArrayView2<'_, f64>,
    data: &SchedulingData,
) -> f64 {
    let net = actor(cfg.actor_layers, cfg.actor_hidden);
    let live: usize = data
        .train
        .iter()
        .map(|g| {
            let t = actor_forward(&net, &g.support, theta);
            t.output().iter().filter(|&&z| z > 0.0).count()
        })
        .sum();
    live as f64 / (data.train.len() * cfg.nodes) as f64
}

/// The actor's start, one row: Glorot draws from the streams `actor-start/{k}`, `k = 0, 1,
/// …`, until the untrained actor's output is positive at `live_start_fraction` of the
/// training links (the first draw when it is 0); the number of draws and the fraction.
pub fn initial_actor(cfg: &SchedulingConfig, data: &SchedulingData) -> (Array2<f64>, usize, f64) {
    let net = actor(cfg.actor_layers, cfg.actor_hidden);
    let mut best: Option<(Array2<f64>, f64)> = None;
    for k in 0..MAX_START_DRAWS {
        let theta = net.initial_copies(1, &mut stream(&cfg.label(&format!("actor-start/{k}"))));
        let live = live_fraction(cfg, theta.view(), data);
        if live >= cfg.live_start_fraction {
            return (theta, k + 1, live);
        }
        if best.as_ref().is_none_or(|b| live > b.1) {
            best = Some((theta, live));
        }
    }
    let (theta, live) = best.expect("at least one draw");
    (theta, MAX_START_DRAWS, live)
}

/// Mean test ratio of the actor `copies` against greedy.
pub fn test_ratio(
    cfg: &SchedulingConfig,
    copies: ArrayView2<'_, f64>,
    data: &SchedulingData,
) -> f64 {
    let net = actor(cfg.actor_layers, cfg.actor_hidden);
    let total: f64 = data
        .test
        .iter()
        .map(|t| {
            let z = actor_forward(&net, &t.conflict.support, copies);
            ratio(
                &t.conflict,
                z.output().column(0).as_slice().expect("one column"),
                &t.weights,
                t.greedy_weight,
            )
        })
        .sum();
    total / data.test.len() as f64
}

/// Utility of LGS on `z · w`, over `greedy_weight`.
fn ratio(g: &ConflictGraph, z: &[f64], w: &[f64], greedy_weight: f64) -> f64 {
    let scaled: Vec<f64> = z.iter().zip(w).map(|(a, b)| a * b).collect();
    set_weight(&local_greedy(&g.graph, &scaled), w) / greedy_weight
}

fn uniform(rng: &mut impl RngExt, n: usize, half_width: f64) -> Vec<f64> {
    (0..n)
        .map(|_| half_width * (2.0 * rng.random::<f64>() - 1.0))
        .collect()
}

/// What one training graph leaves in memory.
struct Kept {
    actor: Array2<f64>,
    critic: Array2<f64>,
}

/// Trains one actor optimiser on `data` (from [`SchedulingData::generate`] with the same
/// `cfg`, which must have passed [`SchedulingConfig::check`]). Runs of different optimisers
/// are independent and see the same graph order, utilities and noise, so a caller may run
/// them in parallel.
pub fn train_actor(
    cfg: &SchedulingConfig,
    data: &SchedulingData,
    spec: &OptimiserSpec,
) -> SchedulingRun {
    let n = cfg.nodes;
    let net = actor(cfg.actor_layers, cfg.actor_hidden);
    let critic = Critic::new(cfg.critic_layers, cfg.critic_hidden, cfg.critic_l2);
    let no_links = Graph::undirected(n, &[]).expect("n isolated nodes");
    let mut opt = Optimiser::new(spec, &no_links, net.len());
    let rows = opt.rows(n);
    let distributed = spec.kind.is_distributed();
    let (start, start_draws, start_live_fraction) = initial_actor(cfg, data);
    let mut theta = Array2::from_shape_fn((rows, net.len()), |(_, k)| start[[0, k]]);
    let mut phi = critic
        .net
        .initial_copies(1, &mut stream(&cfg.label("critic-start")));
    let critic_spec = OptimiserSpec::new("critic", OptimiserKind::Adam, cfg.critic_lr);
    let mut critic_opt = Optimiser::new(&critic_spec, &no_links, critic.net.len());
    let slots = net.slots();
    let mut ledger = Ledger::default();
    let mut memory: Vec<Kept> = Vec::new();
    let mut run = SchedulingRun {
        name: spec.name.clone(),
        kind: spec.kind,
        test_ratio: Vec::new(),
        train_ratio: Vec::new(),
        actor_objective: Vec::new(),
        critic_loss: Vec::new(),
        mean_factor: Vec::new(),
        rounds: Vec::new(),
        copy_spread: Vec::new(),
        ledger: Ledger::default(),
        start_draws,
        start_live_fraction,
    };
    let (mut train_ratio, mut objective, mut critic_loss, mut factor) = (0.0, 0.0, 0.0, 0.0);
    let mut logged = 0usize;
    let mut updates = 0usize;
    let mut count = 0;
    let mut order: Vec<usize> = (0..data.train.len()).collect();
    for epoch in 0..cfg.epochs {
        order.sort_unstable();
        order.shuffle(&mut stream(&cfg.label(&format!("shuffle/{epoch}"))));
        if cfg.mimic_epoch_boundary_discard {
            count = 0;
        }
        for (position, &k) in order.iter().enumerate() {
            let g = &data.train[k];
            let mut rng = stream(&cfg.label(&format!("epoch/{epoch}/graph/{position}")));
            let w: Vec<f64> = (0..n).map(|_| rng.random::<f64>()).collect();
            let noise = uniform(&mut rng, n, cfg.exploration);
            let w_critic: Vec<f64> = (0..n).map(|_| rng.random::<f64>()).collect();
            let jitter = uniform(&mut rng, n, cfg.critic_jitter);

            // The actor's forward pass: one round per layer.
            for s in &slots {
                ledger.count_round(g.links(), s.d_in as u64);
            }
            let trace = actor_forward(&net, &g.support, theta.view());
            let clean: Vec<f64> = trace.output().column(0).to_vec();
            let z: Vec<f64> = clean.iter().zip(&noise).map(|(a, b)| a + b).collect();
            let pass = critic.forward(&g.support, phi.view(), &z);
            let (obj, z_grad) = critic.actor_objective(&g.support, phi.view(), &pass);
            let mut grads = Array2::zeros(theta.dim());
            let out_grad = Array2::from_shape_vec((n, 1), z_grad).expect("one per node");
            net.backward(
                &g.support,
                theta.view(),
                &trace,
                out_grad.view(),
                Some(&mut grads),
                false,
            );
            if distributed {
                for s in &slots[1..] {
                    ledger.count_round(g.links(), s.d_in as u64);
                }
                for _ in 0..spec.consensus_rounds {
                    ledger.count_round(g.links(), net.len() as u64);
                    grads = combine(&g.mixing, grads.view());
                }
                grads *= n as f64;
            }

            let greedy_weight = set_weight(&greedy(&g.graph, &w), &w);
            train_ratio += ratio(g, &clean, &w, greedy_weight);
            objective += obj;
            factor += z.iter().sum::<f64>() / n as f64;
            logged += 1;

            let jittered: Vec<f64> = z.iter().zip(&jitter).map(|(a, b)| a + b).collect();
            let scaled: Vec<f64> = jittered.iter().zip(&w_critic).map(|(a, b)| a * b).collect();
            let mut target: Array2<f64> = Array2::zeros((n, 2));
            for v in local_greedy(&g.graph, &scaled) {
                target[[v, 0]] = w_critic[v];
            }
            let shares = target.column(0).mapv(|x| 1.0 - x);
            target.column_mut(1).assign(&shares);
            let (loss, critic_grads) = critic.loss(&g.support, phi.view(), &pass, &target);
            critic_loss += loss;
            memory.push(Kept {
                actor: grads,
                critic: critic_grads,
            });

            count += 1;
            if count < cfg.batch_graphs {
                continue;
            }
            count = 0;
            run.test_ratio.push(test_ratio(cfg, theta.view(), data));
            run.train_ratio.push(train_ratio / logged as f64);
            run.actor_objective.push(objective / logged as f64);
            run.critic_loss.push(critic_loss / logged as f64);
            run.mean_factor.push(factor / logged as f64);
            run.rounds.push(ledger.rounds);
            run.copy_spread.push(copy_spread(theta.view()));
            (train_ratio, objective, critic_loss, factor) = (0.0, 0.0, 0.0, 0.0);
            logged = 0;

            let mut picks: Vec<usize> = (0..memory.len()).collect();
            picks.shuffle(&mut stream(&cfg.label(&format!("replay/{updates}/actor"))));
            for &i in &picks[..cfg.batch_graphs] {
                opt.step(&mut theta, &memory[i].actor, Vec::new());
            }
            picks.sort_unstable();
            picks.shuffle(&mut stream(&cfg.label(&format!("replay/{updates}/critic"))));
            for &i in &picks[..cfg.batch_graphs] {
                critic_opt.step(&mut phi, &memory[i].critic, Vec::new());
            }
            memory.clear();
            updates += 1;
        }
    }
    run.ledger = ledger;
    run
}
