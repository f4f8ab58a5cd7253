//! Simulated partially asynchronous inference (Bertsekas & Tsitsiklis 1989; Hogwild paper §4).
//!
//! Time advances in *ticks*. Under [`Schedule::RandomSweeps`] one node updates per tick and
//! the ticks are grouped in *rounds*, each a fresh random permutation of the nodes, so every
//! node's update count stays within one of every other's. A node updating at tick `t` uses
//! its own latest state and, for each in-neighbour `j`, the latest version of `j`'s state
//! written at or before tick `t − 1 − d`, with the delay `d` drawn uniformly from
//! `0..B` (B = [`AsyncConfig::staleness_bound`]) or always `B − 1` ([`Delay`]): staleness
//! `t − τ` lies in `1..=B`. B counts ticks, or rounds of n ticks ([`StalenessUnit`]): a
//! bound in ticks makes a smaller share of reads stale the larger the graph, a bound in
//! rounds (about one update of every node per round) the same share at any size. Under
//! [`Schedule::Synchronous`] every node updates at every tick from the previous tick's
//! states (Jacobi), which is exactly layer-by-layer synchronous execution.
//!
//! Explicit rules run exactly their number of updates per node; implicit rules run whole
//! rounds until the observer's residual ([`LocalRule::residual`], evaluated every
//! [`AsyncConfig::residual_every`] rounds) is below [`AsyncConfig::tol`],
//! [`AsyncConfig::max_rounds`] is reached, or the residual stops being finite (divergence,
//! reported as not converged).
//!
//! Faults (node crashes, link failures, message loss, transient state corruption) are
//! settings of the asynchrony model ([`AsyncConfig::faults`], module [`faults`]); without
//! them the simulator runs exactly as described above.
//!
//! A third schedule, event-driven ([`events`], [`simulate_events`]), runs implicit rules on
//! `hogwild_amp`'s event engine: a node updates on each message it receives, under constant
//! or random message delays. It shares with the schedules above the rule, the initial
//! states, the observer (the rule's certified residual, crashed nodes held) and the faults
//! ([`FaultPlan`]); only who updates when differs.
//!
//! Beside the simulator, [`concurrent`] runs the same rules on OS threads with true,
//! measured asynchrony (not reproducible bit for bit).

pub mod concurrent;
pub mod events;
pub mod faults;
mod views;
pub mod workload;

pub use events::{simulate_events, EventConfig, EventOutcome};
pub use faults::{Corruption, Crash, FaultCounts, FaultPlan, Faults, LinkFailure, Reset};

use hogwild_graph::prefetch::{prefetch, prefetch_one};
use hogwild_graph::Graph;
use hogwild_models::{Execution, LocalRule, Staleness};
use hogwild_settings::{at_least, positive, Bytes, InvalidSetting};
use ndarray::Array2;
use rand::seq::SliceRandom;
use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// Who updates when.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Schedule {
    /// All nodes every tick, reading the previous tick (no asynchrony).
    Synchronous,
    /// One node per tick, rounds of random permutations, random bounded delays.
    RandomSweeps,
}

/// How stale each read is, within the staleness bound B.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Delay {
    /// `d` uniform in `0..B`: staleness uniform in `1..=B` ticks.
    #[default]
    Uniform,
    /// `d = B − 1` always: every read is as stale as the bound allows (the worst case).
    Max,
}

impl Delay {
    fn is_uniform(&self) -> bool {
        *self == Delay::Uniform
    }
}

/// What the staleness bound B counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StalenessUnit {
    /// Ticks (one node update each): the paper's B.
    #[default]
    Ticks,
    /// Rounds of n ticks (every node updates once per round): reads are at most about B of
    /// the neighbour's own updates old, whatever the graph's size.
    Rounds,
}

impl StalenessUnit {
    fn is_ticks(&self) -> bool {
        *self == StalenessUnit::Ticks
    }
}

/// Simulator settings (`[async]` in `harness.toml`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AsyncConfig {
    /// The schedule.
    pub schedule: Schedule,
    /// Staleness bound B ≥ 1, in [`AsyncConfig::staleness_unit`]s: reads are at most B
    /// ticks (or B rounds of n ticks) old.
    pub staleness_bound: usize,
    /// What B counts (default `ticks`; not serialised when default, so configs that predate
    /// it keep their hash).
    #[serde(default, skip_serializing_if = "StalenessUnit::is_ticks")]
    pub staleness_unit: StalenessUnit,
    /// How stale each read is within the bound (default `uniform`; not serialised when
    /// default, so configs that predate it keep their hash).
    #[serde(default, skip_serializing_if = "Delay::is_uniform")]
    pub delay: Delay,
    /// Implicit rules stop once the residual is below this.
    pub tol: f64,
    /// Implicit rules stop after this many rounds even if not converged.
    pub max_rounds: usize,
    /// Implicit rules evaluate the residual every this many rounds (and after the last);
    /// the check is a global observer's, as costly as a round, and not part of the rule.
    pub residual_every: usize,
    /// Faults (default none; not serialised when none, so configs that predate them keep
    /// their hash). They need [`Schedule::RandomSweeps`].
    #[serde(default, skip_serializing_if = "Faults::is_empty")]
    pub faults: Faults,
}

/// Changes to [`AsyncConfig`] for one table column: how a table sweeps the asynchrony model.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AsyncOverrides {
    /// Replaces [`AsyncConfig::schedule`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<Schedule>,
    /// Replaces [`AsyncConfig::staleness_bound`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub staleness_bound: Option<usize>,
    /// Replaces [`AsyncConfig::staleness_unit`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub staleness_unit: Option<StalenessUnit>,
    /// Replaces [`AsyncConfig::delay`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay: Option<Delay>,
    /// Replaces [`AsyncConfig::max_rounds`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_rounds: Option<usize>,
    /// Replaces [`AsyncConfig::tol`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tol: Option<f64>,
    /// Replaces [`AsyncConfig::faults`], the whole fault table.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub faults: Option<Faults>,
}

impl AsyncOverrides {
    /// Whether nothing is overridden.
    pub fn is_empty(&self) -> bool {
        *self == AsyncOverrides::default()
    }

    /// `base` with these changes.
    pub fn apply(&self, base: &AsyncConfig) -> AsyncConfig {
        AsyncConfig {
            schedule: self.schedule.unwrap_or(base.schedule),
            staleness_bound: self.staleness_bound.unwrap_or(base.staleness_bound),
            staleness_unit: self.staleness_unit.unwrap_or(base.staleness_unit),
            delay: self.delay.unwrap_or(base.delay),
            max_rounds: self.max_rounds.unwrap_or(base.max_rounds),
            tol: self.tol.unwrap_or(base.tol),
            faults: self.faults.clone().unwrap_or_else(|| base.faults.clone()),
            ..base.clone()
        }
    }
}

impl AsyncConfig {
    /// Checks the settings; keys are relative to `[async]`.
    pub fn check(&self) -> Result<(), InvalidSetting> {
        at_least("staleness_bound", self.staleness_bound as u64, 1)?;
        positive("tol", self.tol)?;
        at_least("max_rounds", self.max_rounds as u64, 1)?;
        at_least("residual_every", self.residual_every as u64, 1)?;
        self.faults.check().map_err(|e| e.under("faults"))?;
        if self.schedule == Schedule::Synchronous && !self.faults.is_empty() {
            return Err(InvalidSetting::new(
                "faults",
                "",
                "faults need schedule = \"random-sweeps\"",
            ));
        }
        Ok(())
    }

    /// The staleness bound in ticks on a graph of `nodes` nodes.
    pub fn bound_ticks(&self, nodes: u64) -> u64 {
        let b = self.staleness_bound as u64;
        match self.staleness_unit {
            StalenessUnit::Ticks => b,
            StalenessUnit::Rounds => b.saturating_mul(nodes.max(1)),
        }
    }

    /// How old this execution's reads can be on a graph of `nodes` nodes. A read at tick t
    /// is of the state as of tick `t − 1 − d`, `d ≤ B − 1`, so it misses the updates of a
    /// window of at most `w = B − 1` ticks (in ticks); one node updates per tick and each
    /// node once per round of `n` ticks, so a neighbour updates at most
    /// `min(w, ⌈(w − 1)/n⌉ + 1)` times in it. The synchronous schedule misses none.
    ///
    /// ```
    /// use hogwild_sim::{AsyncConfig, Delay, Schedule, StalenessUnit};
    /// let cfg = |staleness_bound, staleness_unit| AsyncConfig {
    ///     schedule: Schedule::RandomSweeps, staleness_bound, staleness_unit,
    ///     delay: Delay::Max, tol: 1e-8, max_rounds: 10, residual_every: 1,
    ///     faults: Default::default(),
    /// };
    /// let missed = |c: AsyncConfig, n| c.staleness(n).missed_updates;
    /// assert_eq!(missed(cfg(1, StalenessUnit::Ticks), 100), 0);
    /// assert_eq!(missed(cfg(20, StalenessUnit::Ticks), 100), 2);
    /// assert_eq!(missed(cfg(20, StalenessUnit::Ticks), 10), 3);
    /// assert_eq!(missed(cfg(3, StalenessUnit::Rounds), 10), 4);
    /// ```
    pub fn staleness(&self, nodes: u64) -> Staleness {
        let missed = match self.schedule {
            Schedule::Synchronous => 0,
            Schedule::RandomSweeps => {
                let window = self.bound_ticks(nodes).saturating_sub(1);
                if window == 0 {
                    0
                } else {
                    window.min((window - 1).div_ceil(nodes.max(1)) + 1)
                }
            }
        };
        Staleness {
            missed_updates: usize::try_from(missed).unwrap_or(usize::MAX),
        }
    }

    /// The simulator's largest allocations on a graph of `nodes` nodes whose states are
    /// `width` numbers each: every node's latest state, and the ring of the versions
    /// superseded in the last B ticks (one per tick, each as long as the longest state).
    pub fn memory(&self, nodes: u64, width: u64) -> Bytes {
        let ring = match self.schedule {
            Schedule::Synchronous => Bytes::f64s(nodes.saturating_mul(width)),
            Schedule::RandomSweeps => {
                let bound = self.bound_ticks(nodes);
                Bytes::f64s(bound.saturating_mul(width)).plus(Bytes::items(bound, 24))
            }
        };
        Bytes::f64s(nodes.saturating_mul(width))
            .plus(Bytes::items(nodes, std::mem::size_of::<Entry>() as u64))
            .plus(ring)
    }
}

/// What a simulation produced.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// Model outputs from the final states (rows = nodes).
    pub outputs: Array2<f64>,
    /// Rounds run (ticks, for the synchronous schedule).
    pub rounds: usize,
    /// Node updates performed.
    pub updates: u64,
    /// Reads of an in-neighbour's state (a node's reads of itself not counted).
    pub reads: u64,
    /// Those that returned a version other than the neighbour's latest at the time.
    pub stale_reads: u64,
    /// Final residual (0 for explicit rules).
    pub residual: f64,
    /// Every residual the observer measured, as `(rounds run, residual)`, from the initial
    /// state's at round 0 (empty for explicit rules).
    pub trace: Vec<(usize, f64)>,
    /// Whether an implicit rule reached the tolerance (always true for explicit rules).
    pub converged: bool,
    /// What the faults did (all zero without faults). With faults, `reads` and
    /// `stale_reads` count the reads the schedule asked for, lost ones included.
    pub faults: FaultCounts,
}

/// Every node's state under [`Schedule::RandomSweeps`], in flat buffers: the latest version
/// of each node (node-major, so neighbours with nearby ids are nearby in memory) with the
/// tick that wrote it, and the versions superseded in the last B ticks, which are the only
/// older ones a read can reach.
///
/// A read at tick `t` asks for the latest version written at or before `τ ≥ t − B`. If
/// that is not the node's latest, it was superseded by a write at a tick in `τ + 1 ..= t − 1`,
/// so within the last B − 1 ticks. One node writes per tick, superseding one version, so a
/// ring of B slots indexed by the superseding tick holds all of them.
struct Versions {
    /// Every node's latest state, at its [`Entry`].
    latest: Vec<f64>,
    entries: Vec<Entry>,
    /// Slot `t mod B`: the version superseded at tick `t`, as (node, tick written).
    retired: Vec<Option<(usize, u64)>>,
    /// Its values, `stride` apart (the longest state).
    retired_values: Vec<f64>,
    stride: usize,
}

/// What an update reads of a node besides its state, together: on large graphs each is a
/// cache miss, and one entry is half a cache line where three arrays were three lines.
#[derive(Debug, Clone, Copy)]
#[repr(C, align(32))]
struct Entry {
    /// The node's latest state is `latest[start..start + len]`.
    start: usize,
    len: usize,
    /// The tick that wrote it (0: the initial state).
    written: u64,
    /// The node's updates so far.
    count: usize,
}

impl Versions {
    fn new(states: &[Vec<f64>], bound: u64) -> Versions {
        let mut start = 0;
        let entries = states
            .iter()
            .map(|s| {
                let entry = Entry {
                    start,
                    len: s.len(),
                    written: 0,
                    count: 0,
                };
                start += s.len();
                entry
            })
            .collect();
        let stride = states.iter().map(Vec::len).max().unwrap_or(0);
        let slots = bound as usize;
        Versions {
            latest: states.concat(),
            entries,
            retired: vec![None; slots],
            retired_values: vec![0.0; slots * stride],
            stride,
        }
    }

    /// Prefetches node `i`'s entry.
    fn prefetch_entry(&self, i: usize) {
        prefetch_one(&self.entries[i]);
    }

    /// Prefetches node `i`'s latest state (reads its entry: after [`Versions::prefetch_entry`]).
    fn prefetch_state(&self, i: usize) {
        prefetch(self.latest(i));
    }

    /// Whether node `j`'s latest version was written at or before `tau`.
    fn latest_at(&self, j: usize, tau: u64) -> bool {
        self.entries[j].written <= tau
    }

    fn latest(&self, i: usize) -> &[f64] {
        let Entry { start, len, .. } = self.entries[i];
        &self.latest[start..start + len]
    }

    /// How many times node `i` has updated.
    fn count(&self, i: usize) -> usize {
        self.entries[i].count
    }

    /// The latest version of node `j` written at or before `tau`, a read at tick `tick`
    /// (`tick − B ≤ tau < tick`).
    fn at(&self, j: usize, tau: u64, tick: u64) -> &[f64] {
        let Entry {
            start,
            len,
            written,
            ..
        } = self.entries[j];
        if written <= tau {
            return &self.latest[start..start + len];
        }
        // Versions superseded from the most recent tick back: node j's first one written
        // at or before tau is the one that was latest at tau.
        let slots = self.retired.len() as u64;
        (1..slots.min(tick))
            .map(|back| ((tick - back) % slots) as usize)
            .find(|&slot| matches!(self.retired[slot], Some((node, w)) if node == j && w <= tau))
            .map(|slot| &self.retired_values[slot * self.stride..slot * self.stride + len])
            .expect("a read within the staleness bound finds its version")
    }

    /// Tick `tick` writes nothing (a crashed node's turn): its ring slot is cleared, so that
    /// no read takes the version it retired `B` ticks ago for a recent one.
    fn skip(&mut self, tick: u64) {
        let slots = self.retired.len() as u64;
        self.retired[(tick % slots) as usize] = None;
    }

    /// Node `i`'s new latest state `state`, its next update, written at `tick`; its previous
    /// one is retired.
    fn write(&mut self, i: usize, tick: u64, state: &[f64]) {
        let slots = self.retired.len() as u64;
        let slot = (tick % slots) as usize;
        let entry = &mut self.entries[i];
        let (a, b) = (entry.start, entry.start + entry.len);
        if slots > 1 {
            self.retired[slot] = Some((i, entry.written));
            self.retired_values[slot * self.stride..slot * self.stride + (b - a)]
                .copy_from_slice(&self.latest[a..b]);
        }
        self.latest[a..b].copy_from_slice(state);
        entry.written = tick;
        entry.count += 1;
    }

    fn states(&self) -> Vec<Vec<f64>> {
        (0..self.entries.len())
            .map(|i| self.latest(i).to_vec())
            .collect()
    }
}

/// `rule` with its observer switched off: the residual is always 1, never computed, so an
/// implicit rule runs exactly [`AsyncConfig::max_rounds`] rounds (if `tol < 1`). For timing
/// sweeps alone (the benchmarks, the scaling report): an implicit model's residual costs
/// about a sweep, more on large graphs, and varies more between calls.
pub struct Unobserved<'r>(pub &'r dyn LocalRule);

impl LocalRule for Unobserved<'_> {
    fn graph(&self) -> &Graph {
        self.0.graph()
    }
    fn execution(&self) -> Execution {
        self.0.execution()
    }
    fn state_len(&self, i: usize) -> usize {
        self.0.state_len(i)
    }
    fn init(&self, i: usize, out: &mut [f64]) {
        self.0.init(i, out)
    }
    fn update(&self, i: usize, count: usize, own: &[f64], views: &[&[f64]], out: &mut [f64]) {
        self.0.update(i, count, own, views, out)
    }
    fn prefetch(&self, i: usize) {
        self.0.prefetch(i)
    }
    fn residual(&self, _states: &[Vec<f64>]) -> f64 {
        1.0
    }
    fn residual_with_frozen(&self, _states: &[Vec<f64>], _frozen: &[bool]) -> f64 {
        1.0
    }
    fn readout(&self, states: &[Vec<f64>]) -> Array2<f64> {
        self.0.readout(states)
    }
}

/// States (all nodes' latest, in bytes) above which [`simulate`] prefetches
/// ([`prefetch_ahead`]): below, the graph's data sits in the caches and the prefetches cost
/// more than they save. Measured on the project's machine (energy GNN, hidden 4, geometric
/// graphs of mean degree 6): 1000 nodes (256 KiB of states) 12 % faster without them,
/// 3·10⁴ nodes (7.7 MiB) 50 % faster with them.
const PREFETCH_ABOVE_BYTES: usize = 1 << 20;

/// Prefetches what the updates after position `p` of `order` will read, in stages one
/// update apart, each reading only what an earlier stage brought into cache (random update
/// orders defeat the hardware prefetcher, and on large graphs every update would otherwise
/// wait for memory several times): four updates ahead, where the node's edges are and its
/// version entry; three ahead, its edges; two ahead, its neighbours' version entries and
/// what the rule reads; one ahead, the states themselves (whole: reading only the parts an
/// update reads was slower). Changes no result.
fn prefetch_ahead(rule: &dyn LocalRule, versions: &Versions, order: &[usize], p: usize) {
    let graph = rule.graph();
    if let Some(&i) = order.get(p + 4) {
        graph.prefetch_edge_range(i);
        versions.prefetch_entry(i);
    }
    if let Some(&i) = order.get(p + 3) {
        graph.prefetch_in_edges(i);
    }
    if let Some(&i) = order.get(p + 2) {
        for (j, _) in graph.neighbours(i) {
            versions.prefetch_entry(j);
        }
        rule.prefetch(i);
    }
    if let Some(&i) = order.get(p + 1) {
        versions.prefetch_state(i);
        for (j, _) in graph.neighbours(i) {
            versions.prefetch_state(j);
        }
    }
}

/// `v` emptied, as a vector of slices of any lifetime with the same allocation: each update's
/// views reuse the last update's buffer without holding their borrows of the states (in-place
/// `collect` keeps the allocation when the element layout is the same).
fn recycle<'b>(mut v: Vec<&[f64]>) -> Vec<&'b [f64]> {
    v.clear();
    v.into_iter()
        .map(|_| -> &'b [f64] { unreachable!() })
        .collect()
}

/// Every node's initial state (what a simulation starts from).
pub fn initial_states(rule: &dyn LocalRule) -> Vec<Vec<f64>> {
    (0..rule.graph().n_nodes())
        .map(|i| {
            let mut s = vec![0.0; rule.state_len(i)];
            rule.init(i, &mut s);
            s
        })
        .collect()
}

/// The observer's residual of `states`: the rule's certified distance to its fixed point, or,
/// when `frozen` marks any node (crashed: held at its state, counted as done), the distance
/// for the map restricted to the others ([`LocalRule::residual_with_frozen`]). Shared by
/// every schedule: random sweeps with faults, and the event engine ([`events`]).
fn observe(rule: &dyn LocalRule, states: &[Vec<f64>], frozen: &[bool]) -> f64 {
    if frozen.contains(&true) {
        rule.residual_with_frozen(states, frozen)
    } else {
        rule.residual(states)
    }
}

/// Runs `rule` under `cfg`, drawing the schedule and delays from `rng` (and, with faults,
/// the faults from streams beside it: [`faults`]).
pub fn simulate(
    rule: &dyn LocalRule,
    cfg: &AsyncConfig,
    rng: &mut ChaCha8Rng,
) -> Result<Outcome, InvalidSetting> {
    cfg.check().map_err(|e| e.under("async"))?;
    if !cfg.faults.is_empty() {
        return Ok(faults::simulate_with_faults(rule, cfg, rng));
    }
    let graph = rule.graph();
    let n = graph.n_nodes();
    let mut states = initial_states(rule);
    let explicit = match rule.execution() {
        Execution::Explicit { updates } => Some(updates),
        Execution::Implicit => None,
    };
    let max_rounds = explicit.unwrap_or(cfg.max_rounds);
    let mut updates = 0u64;
    let (mut reads, mut stale_reads) = (0u64, 0u64);
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
    // Stop when converged, or when the iteration has diverged (a residual that is not
    // finite never comes back).
    let done = |residual: f64| explicit.is_none() && (residual < cfg.tol || !residual.is_finite());
    // The observer looks every `residual_every` rounds, and always after the last one.
    let check = |rounds: usize| {
        explicit.is_none() && (rounds.is_multiple_of(cfg.residual_every) || rounds == max_rounds)
    };
    match cfg.schedule {
        Schedule::Synchronous => {
            let neighbour_reads = (0..n)
                .map(|i| graph.in_edges(i).filter(|&e| graph.edge(e).0 != i).count() as u64)
                .sum::<u64>();
            while rounds < max_rounds && !done(residual) {
                let next: Vec<Vec<f64>> = (0..n)
                    .map(|i| {
                        let views: Vec<&[f64]> = graph
                            .in_edges(i)
                            .map(|e| &states[graph.edge(e).0][..])
                            .collect();
                        let mut out = vec![0.0; states[i].len()];
                        rule.update(i, rounds, &states[i], &views, &mut out);
                        out
                    })
                    .collect();
                states = next;
                updates += n as u64;
                // Jacobi reads the previous tick's states, every neighbour's latest.
                reads += neighbour_reads;
                rounds += 1;
                if check(rounds) {
                    residual = rule.residual(&states);
                    trace.push((rounds, residual));
                }
            }
        }
        Schedule::RandomSweeps => {
            let bound = cfg.bound_ticks(n as u64);
            let mut versions = Versions::new(&states, bound);
            let prefetching = std::mem::size_of_val(&versions.latest[..]) > PREFETCH_ABOVE_BYTES;
            let mut order: Vec<usize> = (0..n).collect();
            let mut tick = 0u64;
            let mut out: Vec<f64> = vec![];
            let mut spare_views: Vec<&[f64]> = vec![];
            while rounds < max_rounds && !done(residual) {
                order.shuffle(rng);
                for (p, &i) in order.iter().enumerate() {
                    if prefetching {
                        prefetch_ahead(rule, &versions, &order, p);
                    }
                    tick += 1;
                    let mut views = recycle(std::mem::take(&mut spare_views));
                    views.extend(graph.in_edges(i).map(|e| {
                        let j = graph.edge(e).0;
                        if j == i {
                            versions.latest(i)
                        } else {
                            let delay = match cfg.delay {
                                Delay::Uniform => rng.random_range(0..bound),
                                Delay::Max => bound - 1,
                            };
                            let tau = (tick - 1).saturating_sub(delay);
                            reads += 1;
                            stale_reads += u64::from(!versions.latest_at(j, tau));
                            versions.at(j, tau, tick)
                        }
                    }));
                    // The rule writes every entry: the last update's values may stay in `out`.
                    out.resize(rule.state_len(i), 0.0);
                    rule.update(i, versions.count(i), versions.latest(i), &views, &mut out);
                    spare_views = recycle(views);
                    versions.write(i, tick, &out);
                    updates += 1;
                }
                rounds += 1;
                if check(rounds) {
                    states = versions.states();
                    residual = rule.residual(&states);
                    trace.push((rounds, residual));
                }
            }
            states = versions.states();
        }
    }
    Ok(Outcome {
        outputs: rule.readout(&states),
        rounds,
        updates,
        reads,
        stale_reads,
        residual,
        converged: explicit.is_some() || residual < cfg.tol,
        trace,
        faults: FaultCounts::default(),
    })
}
