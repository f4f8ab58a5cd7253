//! Faults (`[async.faults]`, ours): what goes wrong beyond the paper's asynchrony model,
//! which "does not account for node or link failures, message loss, or Byzantine
//! behaviour" (Hogwild paper §4). Every choice here is ours.
//!
//! Four faults, each off unless set ([`Faults`]):
//! - **message loss** (`message_loss = p`): each read of a neighbour's state is lost with
//!   probability p, and the reader uses the version it last received from that neighbour
//!   over that edge; before its first received read, the neighbour's initial state (which
//!   every node knows locally, as the energy GNN's initial messages are). A node's read of
//!   itself is never lost.
//! - **crash-stop** (`crash = { fraction, rounds = [first, last] }`): that fraction of the
//!   nodes, each at its own round drawn uniformly from the window, stops updating for good;
//!   its neighbours keep reading its last state. For the observer a crashed node is done:
//!   the residual is the model's for the map restricted to the live nodes, with the crashed
//!   ones held at their states ([`LocalRule::residual_with_frozen`]). The fixed point of
//!   that map is what the live nodes can still reach; counting a crashed node's own
//!   residual would make every such run unconverged whatever the others do.
//! - **link failures** (`link_failure = { fraction, rounds = [first, last] }`): that
//!   fraction of the links (unordered pairs of distinct nodes joined by an edge in either
//!   direction: both directions of an undirected edge fail together), each at its own round
//!   drawn uniformly from the window, is removed for good; a read over a removed edge
//!   returns the version last received over it, as a lost read does (the reader cannot
//!   tell the two apart, and a model's update needs a view for every edge it was built
//!   with).
//! - **transient corruption** (`corruption = { fraction, rounds = [first, last], reset }`):
//!   at one round drawn uniformly from the window, that fraction of the nodes has the
//!   state its update of that round writes replaced by zeros (`reset = "zero"`) or by
//!   values uniform in `[−amplitude, amplitude]` (`reset = "uniform"`); the nodes then
//!   keep updating normally. One round for all of them: one transient event, whose
//!   recovery time ([`FaultCounts::rounds_to_reconverge`]) is well defined.
//!
//! **Time.** Fault times are *rounds* counted per node: round r is a node's r-th update
//! (1-based). Under [`crate::Schedule::RandomSweeps`] every node updates once per round, so
//! it is the simulator's round; an event-driven engine counts its nodes' updates the same
//! way, so the settings and the draws ([`FaultPlan`]) do not depend on ticks. A node that
//! crashes at round r performs r − 1 updates; a link that fails at round r is not read by
//! its reader's updates from the r-th on; corruption at round r replaces what the node's
//! r-th update writes. Counts are integers from `round(fraction × candidates)`.
//!
//! **Randomness.** The faults never draw from the run's stream itself: each has its own
//! stream, the run's generator at its current position on another ChaCha stream number
//! (the run's XOR a constant per fault, [`FaultPlan::draw`]). So the schedule (permutations
//! and every delay, drawn also for reads that are then lost and for nodes that have
//! crashed) is the fault-free run's with the same generator, and a fault changes only what
//! it touches: a run with and without a fault is a paired comparison, and one fault's draws
//! do not depend on which others are set. In each stream, in this order: crash: a random
//! permutation of the nodes (the first `round(fraction × n)` crash), then each crashing
//! node's round in ascending node id; link failure: a permutation of the links in ascending
//! (smaller id, larger id) order, then each failing link's round in that order; corruption:
//! a permutation of the nodes, then the round, then during the run the uniform values (in
//! the order of the corrupted updates, a node's entries in order); message loss: one
//! uniform number per neighbour read of a live node over a live link, in the order of the
//! reads, a read lost when it is below p.
//!
//! **Stopping.** An implicit rule's run does not stop before the last fault has happened
//! (the last crash, link failure or corruption round within [`AsyncConfig::max_rounds`]),
//! so an early convergence never skips a fault; and the observer also measures the
//! residual at the end of the corruption round, which shows how far the corruption threw
//! the states. Faults need the random-sweeps schedule.

use crate::views::{failed_links, EdgeStates};
use crate::{initial_states, observe, recycle, AsyncConfig, Delay, Outcome, Versions};
use hogwild_graph::Graph;
use hogwild_models::{Execution, LocalRule};
use hogwild_settings::{positive, InvalidSetting};
use rand::seq::SliceRandom;
use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// The faults of a run (`[async.faults]`); each is off unless set.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Faults {
    /// Probability in `[0, 1]` that a neighbour read is lost.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_loss: Option<f64>,
    /// Crash-stop nodes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crash: Option<Crash>,
    /// Links removed mid-run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link_failure: Option<LinkFailure>,
    /// Transient state corruption.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub corruption: Option<Corruption>,
}

/// Crash-stop nodes (`[async.faults.crash]`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Crash {
    /// The share of the nodes that crash, in `[0, 1]`.
    pub fraction: f64,
    /// The window `[first, last]` of rounds (1-based, inclusive) each crash round is drawn
    /// from, uniformly.
    pub rounds: [usize; 2],
}

/// Link failures (`[async.faults.link_failure]`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LinkFailure {
    /// The share of the links that fail, in `[0, 1]`.
    pub fraction: f64,
    /// The window `[first, last]` of rounds each failure round is drawn from, uniformly.
    pub rounds: [usize; 2],
}

/// Transient state corruption (`[async.faults.corruption]`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Corruption {
    /// The share of the nodes whose state is corrupted, in `[0, 1]`.
    pub fraction: f64,
    /// The window `[first, last]` of rounds the one corruption round is drawn from.
    pub rounds: [usize; 2],
    /// What the corrupted states become.
    pub reset: Reset,
    /// The largest magnitude of a `uniform` reset's values (default 1).
    #[serde(default = "one")]
    pub amplitude: f64,
}

fn one() -> f64 {
    1.0
}

/// What a corrupted state becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reset {
    /// Every entry 0.
    Zero,
    /// Every entry uniform in `[−amplitude, amplitude]`.
    Uniform,
}

/// `value` must lie in `[0, 1]`.
fn unit_interval(key: &str, value: f64) -> Result<(), InvalidSetting> {
    if (0.0..=1.0).contains(&value) {
        Ok(())
    } else {
        Err(InvalidSetting::new(key, value, "must lie in [0, 1]"))
    }
}

/// A window of rounds must start at round 1 or later and not end before it starts.
fn window(key: &str, rounds: [usize; 2]) -> Result<(), InvalidSetting> {
    let [first, last] = rounds;
    let text = format!("[{first}, {last}]");
    if first < 1 {
        Err(InvalidSetting::new(key, text, "rounds count from 1"))
    } else if last < first {
        Err(InvalidSetting::new(
            key,
            text,
            "the last round is before the first",
        ))
    } else {
        Ok(())
    }
}

impl Faults {
    /// Whether no fault is set (the fault-free simulator runs).
    pub fn is_empty(&self) -> bool {
        *self == Faults::default()
    }

    /// Checks the settings; keys are relative to `[async.faults]`.
    pub fn check(&self) -> Result<(), InvalidSetting> {
        if let Some(p) = self.message_loss {
            unit_interval("message_loss", p)?;
        }
        if let Some(c) = &self.crash {
            unit_interval("crash.fraction", c.fraction)?;
            window("crash.rounds", c.rounds)?;
        }
        if let Some(l) = &self.link_failure {
            unit_interval("link_failure.fraction", l.fraction)?;
            window("link_failure.rounds", l.rounds)?;
        }
        if let Some(c) = &self.corruption {
            unit_interval("corruption.fraction", c.fraction)?;
            window("corruption.rounds", c.rounds)?;
            positive("corruption.amplitude", c.amplitude)?;
        }
        Ok(())
    }
}

/// Round number meaning "never".
const NEVER: usize = usize::MAX;

/// The ChaCha stream of each fault: the run's stream XOR one of these.
const CRASH_STREAM: u64 = 0x6661_756c_7473_0001;
const LINK_STREAM: u64 = 0x6661_756c_7473_0002;
const CORRUPTION_STREAM: u64 = 0x6661_756c_7473_0003;
const LOSS_STREAM: u64 = 0x6661_756c_7473_0004;

/// `rng` at its current position on the stream `rng`'s XOR `tag`; `rng` is not advanced.
fn substream(rng: &ChaCha8Rng, tag: u64) -> ChaCha8Rng {
    let mut s = rng.clone();
    s.set_stream(rng.get_stream() ^ tag);
    s
}

/// `round(fraction × count)`, at most `count`.
fn share(fraction: f64, count: usize) -> usize {
    ((fraction * count as f64).round() as usize).min(count)
}

/// A uniform draw from the window.
fn round_in(rng: &mut ChaCha8Rng, rounds: [usize; 2]) -> usize {
    rng.random_range(rounds[0]..=rounds[1])
}

/// Every fault of one run, drawn before it starts (except the loss of each read and a
/// uniform reset's values, drawn as the run meets them): independent of ticks, so any
/// engine that counts its nodes' updates can apply it.
#[derive(Debug, Clone)]
pub struct FaultPlan {
    /// Each node's crash round ([`usize::MAX`]: never).
    pub crash_round: Vec<usize>,
    /// Each edge's failure round, by the graph's edge index ([`usize::MAX`]: never).
    pub link_failure_round: Vec<usize>,
    /// The corruption round and whether each node is corrupted then.
    pub corruption: Option<(usize, Vec<bool>)>,
    /// The probability that a neighbour read is lost.
    pub message_loss: f64,
    reset: Reset,
    amplitude: f64,
    loss_stream: ChaCha8Rng,
    corruption_stream: ChaCha8Rng,
}

impl FaultPlan {
    /// Draws the faults `faults` of a run on `graph` whose generator is `rng` (not
    /// advanced: module docs, "Randomness").
    pub fn draw(faults: &Faults, graph: &Graph, rng: &ChaCha8Rng) -> FaultPlan {
        let n = graph.n_nodes();
        let mut crash_round = vec![NEVER; n];
        if let Some(c) = &faults.crash {
            let mut s = substream(rng, CRASH_STREAM);
            let mut nodes: Vec<usize> = (0..n).collect();
            nodes.shuffle(&mut s);
            let mut chosen = nodes[..share(c.fraction, n)].to_vec();
            chosen.sort_unstable();
            for i in chosen {
                crash_round[i] = round_in(&mut s, c.rounds);
            }
        }
        let mut link_failure_round = vec![NEVER; graph.n_edges()];
        if let Some(l) = &faults.link_failure {
            let mut s = substream(rng, LINK_STREAM);
            let mut links: Vec<(usize, usize)> = (0..n)
                .flat_map(|i| graph.neighbours(i).map(move |(j, _)| (i.min(j), i.max(j))))
                .filter(|(a, b)| a != b)
                .collect();
            links.sort_unstable();
            links.dedup();
            let mut picked: Vec<usize> = (0..links.len()).collect();
            picked.shuffle(&mut s);
            let mut chosen = picked[..share(l.fraction, links.len())].to_vec();
            chosen.sort_unstable();
            for k in chosen {
                let (a, b) = links[k];
                let round = round_in(&mut s, l.rounds);
                for (dst, src) in [(a, b), (b, a)] {
                    if let Some(e) = graph.find_edge(dst, src) {
                        link_failure_round[e] = round;
                    }
                }
            }
        }
        let mut corruption_stream = substream(rng, CORRUPTION_STREAM);
        let (mut reset, mut amplitude) = (Reset::Zero, 1.0);
        let corruption = faults.corruption.as_ref().map(|c| {
            (reset, amplitude) = (c.reset, c.amplitude);
            let mut nodes: Vec<usize> = (0..n).collect();
            nodes.shuffle(&mut corruption_stream);
            let mut hit = vec![false; n];
            for &i in &nodes[..share(c.fraction, n)] {
                hit[i] = true;
            }
            (round_in(&mut corruption_stream, c.rounds), hit)
        });
        FaultPlan {
            crash_round,
            link_failure_round,
            corruption,
            message_loss: faults.message_loss.unwrap_or(0.0),
            reset,
            amplitude,
            loss_stream: substream(rng, LOSS_STREAM),
            corruption_stream,
        }
    }

    /// The round of the last fault set to happen at or before round `cap` (0: none):
    /// crash, link failure or corruption.
    pub fn last_round(&self, cap: usize) -> usize {
        let rounds = self.crash_round.iter().chain(&self.link_failure_round);
        let scheduled = rounds.filter(|&&r| r <= cap).max().copied();
        let corrupted = self
            .corruption
            .as_ref()
            .filter(|(r, hit)| *r <= cap && hit.contains(&true))
            .map(|(r, _)| *r);
        scheduled.max(corrupted).unwrap_or(0)
    }

    /// Whether node `i` still updates in its round `round`.
    pub fn updates(&self, i: usize, round: usize) -> bool {
        round < self.crash_round[i]
    }

    /// Whether edge `e` is still up for its reader's round `round`.
    pub fn link_up(&self, e: usize, round: usize) -> bool {
        round < self.link_failure_round[e]
    }

    /// Whether the next neighbour read is lost (one draw from the loss stream when loss is
    /// set).
    pub fn lose(&mut self) -> bool {
        self.message_loss > 0.0 && self.loss_stream.random::<f64>() < self.message_loss
    }

    /// Whether node `i`'s update of round `round` is corrupted.
    pub fn corrupts(&self, i: usize, round: usize) -> bool {
        matches!(&self.corruption, Some((r, hit)) if *r == round && hit[i])
    }

    /// Overwrites `state` as the corruption's reset says.
    pub fn corrupt(&mut self, state: &mut [f64]) {
        match self.reset {
            Reset::Zero => state.fill(0.0),
            Reset::Uniform => {
                for v in state {
                    *v = self.amplitude * (2.0 * self.corruption_stream.random::<f64>() - 1.0);
                }
            }
        }
    }
}

/// What the faults of a run did (all zero without faults).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FaultCounts {
    /// Neighbour reads lost (the reader used the version it last received).
    pub lost_reads: u64,
    /// Neighbour reads over a failed link (the reader used the version it last received).
    pub failed_link_reads: u64,
    /// Nodes that crashed within the rounds run.
    pub crashed_nodes: usize,
    /// Links (unordered pairs of nodes) that failed within the rounds run.
    pub failed_links: usize,
    /// Node updates whose written state was corrupted.
    pub corrupted_nodes: usize,
    /// The round of the corruption, if it happened within the rounds run.
    pub corruption_round: Option<usize>,
    /// For an implicit rule that converged after a corruption: the rounds from the
    /// corruption round to convergence (at the observer's cadence).
    pub rounds_to_reconverge: Option<usize>,
}

/// [`crate::simulate`] under random sweeps with `cfg.faults` (checked) set: the fault-free
/// schedule, with the faults of the module docs applied to what it reads and writes.
pub(crate) fn simulate_with_faults(
    rule: &dyn LocalRule,
    cfg: &AsyncConfig,
    rng: &mut ChaCha8Rng,
) -> Outcome {
    let graph = rule.graph();
    let n = graph.n_nodes();
    let mut plan = FaultPlan::draw(&cfg.faults, graph, rng);
    let mut states = initial_states(rule);
    let explicit = match rule.execution() {
        Execution::Explicit { updates } => Some(updates),
        Execution::Implicit => None,
    };
    let max_rounds = explicit.unwrap_or(cfg.max_rounds);
    let last_fault = plan.last_round(max_rounds);
    let corruption_round = plan
        .corruption
        .as_ref()
        .filter(|(_, hit)| hit.contains(&true))
        .map(|(r, _)| *r);
    // The version last received over each edge, from the source's initial state.
    let mut received = EdgeStates::new(graph, &states);
    let mut counts = FaultCounts::default();
    let (mut updates, mut reads, mut stale_reads) = (0u64, 0u64, 0u64);
    let mut rounds = 0;
    let mut residual = if explicit.is_some() {
        0.0
    } else {
        rule.residual(&states)
    };
    let mut trace = if explicit.is_some() {
        vec![]
    } else {
        vec![(0, residual)]
    };
    let done = |residual: f64, rounds: usize| {
        explicit.is_none()
            && (!residual.is_finite() || (residual < cfg.tol && rounds >= last_fault))
    };
    let check = |rounds: usize| {
        explicit.is_none()
            && (rounds.is_multiple_of(cfg.residual_every)
                || rounds == max_rounds
                || Some(rounds) == corruption_round)
    };
    let bound = cfg.bound_ticks(n as u64);
    let mut versions = Versions::new(&states, bound);
    let mut order: Vec<usize> = (0..n).collect();
    let mut tick = 0u64;
    let mut out: Vec<f64> = vec![];
    let mut spare_views: Vec<&[f64]> = vec![];
    while rounds < max_rounds && !done(residual, rounds) {
        let round = rounds + 1;
        order.shuffle(rng);
        for &i in &order {
            tick += 1;
            let live = plan.updates(i, round);
            for e in graph.in_edges(i) {
                let j = graph.edge(e).0;
                if j == i {
                    continue;
                }
                // Drawn for every read, as the fault-free schedule does.
                let delay = match cfg.delay {
                    Delay::Uniform => rng.random_range(0..bound),
                    Delay::Max => bound - 1,
                };
                if !live {
                    continue;
                }
                let tau = (tick - 1).saturating_sub(delay);
                reads += 1;
                stale_reads += u64::from(!versions.latest_at(j, tau));
                if !plan.link_up(e, round) {
                    counts.failed_link_reads += 1;
                } else if plan.lose() {
                    counts.lost_reads += 1;
                } else {
                    received.set(e, versions.at(j, tau, tick));
                }
            }
            if !live {
                versions.skip(tick);
                continue;
            }
            let mut views = recycle(std::mem::take(&mut spare_views));
            views.extend(graph.in_edges(i).map(|e| {
                if graph.edge(e).0 == i {
                    versions.latest(i)
                } else {
                    received.get(e)
                }
            }));
            out.resize(rule.state_len(i), 0.0);
            rule.update(i, versions.count(i), versions.latest(i), &views, &mut out);
            spare_views = recycle(views);
            if plan.corrupts(i, round) {
                plan.corrupt(&mut out);
                counts.corrupted_nodes += 1;
            }
            versions.write(i, tick, &out);
            updates += 1;
        }
        rounds += 1;
        if check(rounds) {
            states = versions.states();
            let frozen: Vec<bool> = (0..n).map(|i| !plan.updates(i, rounds)).collect();
            residual = observe(rule, &states, &frozen);
            trace.push((rounds, residual));
        }
    }
    states = versions.states();
    counts.crashed_nodes = plan.crash_round.iter().filter(|&&r| r <= rounds).count();
    counts.failed_links = failed_links(graph, |e| plan.link_failure_round[e] <= rounds);
    let converged = explicit.is_some() || residual < cfg.tol;
    if counts.corrupted_nodes > 0 {
        counts.corruption_round = corruption_round;
        if explicit.is_none() && converged {
            counts.rounds_to_reconverge = corruption_round.map(|r| rounds - r);
        }
    }
    Outcome {
        outputs: rule.readout(&states),
        rounds,
        updates,
        reads,
        stale_reads,
        residual,
        converged,
        trace,
        faults: counts,
    }
}
