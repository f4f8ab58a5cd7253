//! A real concurrent executor: OS threads update nodes at the same time on shared states,
//! without locks, with true (not simulated) asynchrony whose staleness is measured.
//!
//! The nodes are split into `threads` contiguous ranges of ids; each thread owns one range
//! and is its nodes' only writer. It sweeps its range again and again (in ascending order or
//! a fresh random permutation every sweep, [`SweepOrder`]); each update copies its
//! neighbours' states as they are at that moment, whatever their threads are doing, applies
//! the [`LocalRule`], and publishes the node's new state. States live in shared memory
//! behind one sequence lock per node (module `states`: atomics only, no `unsafe`, no
//! lock), so a copy is always one whole version its writer published. How stale each copy
//! was is measured: the updates its node published between the copy and the publication of
//! the state computed from it ([`MeasuredStaleness`]).
//!
//! Stopping follows the simulator's rule. An explicit rule's nodes each perform exactly
//! their L updates. An implicit rule runs until the observer, on thread 0, certifies a
//! state: after every [`ConcurrentConfig::residual_every`] of its own sweeps it copies every
//! node's state (each one a published version; the other threads keep running) and
//! evaluates [`LocalRule::residual`], the model's certified bound on the distance of *that*
//! state to the fixed point. The certificate is a property of the copied vector, not of a
//! moment in time, so no thread needs to pause: once it is below [`ConcurrentConfig::tol`]
//! the copy is the answer and every thread stops. Otherwise the run ends once every thread
//! has completed [`ConcurrentConfig::max_sweeps`] sweeps (those that get there first keep
//! sweeping, taking in what the slower ones publish) or after
//! [`ConcurrentConfig::max_seconds`] of wall time, and the residual of the final states
//! (every thread stopped) decides whether it converged; a residual that is not finite stops
//! the run as diverged.
//!
//! **Caps.** A sweep cap counts sweeps, not exchanges of information between threads. On a
//! machine with more runnable threads than cores the operating system may run the threads
//! one after another in time slices of milliseconds, and a thread may complete thousands of
//! sweeps of a small range against the same, unchanging states of the others' nodes: its
//! nodes settle at the fixed point of their block with the others held, which the residual
//! rightly does not certify. A sweep cap that suffices when the threads run side by side
//! can then stop a run far from the fixed point; [`ConcurrentConfig::max_seconds`] is the
//! cap to rely on.
//!
//! Results are **not reproducible bit for bit**: which version each read sees depends on
//! how the operating system schedules the threads. With one thread the run is sequential
//! (Gauss–Seidel in the sweep order) and repeats exactly for a given seed; with more, an
//! implicit rule's answer is the fixed point to within the tolerance on every run, but its
//! bits, the update counts, the times and the staleness are a distribution over repeated
//! runs, and should be reported as one.
//!
//! ```
//! use hogwild_sim::concurrent::{run, ConcurrentConfig};
//! # use hogwild_graph::Graph;
//! # use hogwild_models::{Execution, LocalRule};
//! # use ndarray::Array2;
//! // x_i ← 1 + (mean of the neighbours' x) / 2: a contraction whose fixed point is 2.
//! struct Halving(Graph);
//! impl LocalRule for Halving {
//!     fn graph(&self) -> &Graph { &self.0 }
//!     fn execution(&self) -> Execution { Execution::Implicit }
//!     fn state_len(&self, _i: usize) -> usize { 1 }
//!     fn init(&self, _i: usize, out: &mut [f64]) { out[0] = 0.0 }
//!     fn update(&self, _i: usize, _c: usize, _own: &[f64], views: &[&[f64]], out: &mut [f64]) {
//!         out[0] = 1.0 + views.iter().map(|v| v[0]).sum::<f64>() / (2.0 * views.len() as f64);
//!     }
//!     // The map contracts by 1/2 in the max norm: distance ≤ 2 · max |φ(x) − x|.
//!     fn residual(&self, s: &[Vec<f64>]) -> f64 {
//!         (0..s.len()).map(|i| {
//!             let nb: Vec<usize> = self.0.neighbours(i).map(|(j, _)| j).collect();
//!             let next = 1.0 + nb.iter().map(|&j| s[j][0]).sum::<f64>() / (2.0 * nb.len() as f64);
//!             2.0 * (next - s[i][0]).abs()
//!         }).fold(0.0, f64::max)
//!     }
//!     fn readout(&self, s: &[Vec<f64>]) -> Array2<f64> {
//!         Array2::from_shape_fn((s.len(), 1), |(i, _)| s[i][0])
//!     }
//! }
//! // Stopped by the observer's certificate; the caps only guard against a run that never
//! // gets there (the time cap is the one to rely on: module docs, "Caps").
//! let cfg: ConcurrentConfig = toml::from_str(
//!     "threads = 2\ntol = 1e-10\nmax_sweeps = 1000000000\nmax_seconds = 60.0\nresidual_every = 5",
//! ).unwrap();
//! let out = run(&Halving(Graph::path(100)), &cfg).unwrap();
//! assert!(out.converged);
//! assert!(out.outputs.iter().all(|&x| (x - 2.0).abs() < 1e-10));
//! ```

mod staleness;
mod states;
mod worker;

pub use staleness::{MeasuredStaleness, STALENESS_BUCKETS};

use hogwild_models::{Execution, LocalRule};
use hogwild_settings::{at_least, positive, Bytes, InvalidSetting};
use ndarray::Array2;
use serde::{Deserialize, Serialize};
use states::SharedStates;
use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::time::{Duration, Instant};
use worker::{Report, Shared};

/// The most threads a run may ask for: far beyond any core count this runs on, it catches a
/// misplaced digit before the threads are spawned.
pub const MAX_THREADS: usize = 1024;

/// The order in which a thread visits its nodes in each sweep.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SweepOrder {
    /// A fresh random permutation of the thread's nodes every sweep (as the simulator's
    /// random sweeps), drawn from the run's seed and the thread's index.
    #[default]
    Shuffled,
    /// Ascending node ids every sweep.
    InOrder,
}

/// Concurrent executor settings (a `[concurrent]` table; keys named relative to it).
///
/// ```
/// use hogwild_sim::concurrent::ConcurrentConfig;
/// let cfg: ConcurrentConfig = toml::from_str(
///     "threads = 0\ntol = 1e-8\nmax_sweeps = 1000\nmax_seconds = 10.0\nresidual_every = 10",
/// ).unwrap();
/// assert_eq!(cfg.check().unwrap_err().key.to_string(), "threads");
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ConcurrentConfig {
    /// OS threads updating nodes (1 to [`MAX_THREADS`]; a graph with fewer nodes gets one
    /// thread per node).
    pub threads: usize,
    /// An implicit rule stops once the observer's residual is below this.
    pub tol: f64,
    /// An implicit rule's run stops once every thread has completed this many sweeps of its
    /// nodes (threads that get there first keep sweeping until then).
    pub max_sweeps: usize,
    /// An implicit rule's run stops after this much wall time, in seconds.
    pub max_seconds: f64,
    /// The observer checks the residual after every this many sweeps of thread 0.
    pub residual_every: usize,
    /// The order of each sweep (default `shuffled`).
    #[serde(default)]
    pub order: SweepOrder,
    /// Seed of the shuffled orders (default 0); it fixes a one-thread run, not more.
    #[serde(default)]
    pub seed: u64,
}

impl ConcurrentConfig {
    /// Checks the settings; keys are relative to the settings' table.
    pub fn check(&self) -> Result<(), InvalidSetting> {
        at_least("threads", self.threads as u64, 1)?;
        if self.threads > MAX_THREADS {
            return Err(InvalidSetting::new(
                "threads",
                self.threads,
                format!("must be at most {MAX_THREADS}"),
            ));
        }
        positive("tol", self.tol)?;
        at_least("max_sweeps", self.max_sweeps as u64, 1)?;
        positive("max_seconds", self.max_seconds)?;
        at_least("residual_every", self.residual_every as u64, 1)?;
        Ok(())
    }

    /// The executor's largest allocations on a graph of `nodes` nodes whose states are
    /// `width` numbers each (the rule's own, such as its residual's, not included): the
    /// shared records (a sequence number and the state per node, and where each lies) and
    /// two copies of every state, one vector per node (the initial states, then the
    /// observer's copy, the certified one kept, or the final states and their residual's
    /// input).
    ///
    /// ```
    /// use hogwild_sim::concurrent::ConcurrentConfig;
    /// let cfg: ConcurrentConfig = toml::from_str(
    ///     "threads = 2\ntol = 1e-8\nmax_sweeps = 10\nmax_seconds = 1.0\nresidual_every = 1",
    /// ).unwrap();
    /// assert!(cfg.memory(1_000_000, 16).get() > 3 * 8 * 16_000_000);
    /// ```
    pub fn memory(&self, nodes: u64, width: u64) -> Bytes {
        let copy = Bytes::f64s(nodes.saturating_mul(width)).plus(Bytes::items(nodes, 24));
        let records = Bytes::f64s(nodes.saturating_mul(width.saturating_add(1)))
            .plus(Bytes::items(nodes.saturating_add(1), 8));
        records.plus(copy).plus(copy)
    }
}

/// Why a run stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// An explicit rule's nodes performed all their updates.
    Layers,
    /// The observer certified a state within the tolerance (or the initial state was).
    Certified,
    /// A residual was not finite.
    Diverged,
    /// Every thread completed [`ConcurrentConfig::max_sweeps`] sweeps.
    SweepCap,
    /// The run reached [`ConcurrentConfig::max_seconds`].
    TimeCap,
}

/// What a concurrent run produced.
#[derive(Debug, Clone)]
pub struct ConcurrentOutcome {
    /// Model outputs from [`ConcurrentOutcome::states`] (rows = nodes).
    pub outputs: Array2<f64>,
    /// The answer: the certified copy if the observer certified one, else every node's
    /// state after all threads stopped.
    pub states: Vec<Vec<f64>>,
    /// Threads that ran.
    pub threads: usize,
    /// Sweeps each thread completed.
    pub sweeps: Vec<usize>,
    /// Node updates performed, over all threads.
    pub updates: u64,
    /// Wall time from the threads' start until every one stopped (initial states, the last
    /// residual and the readout not included).
    pub wall: Duration,
    /// `updates / wall`.
    pub updates_per_second: f64,
    /// For an implicit rule that converged: the wall time at which the certified state
    /// existed (the observer's copy complete; at the end of the run if only the final
    /// states were within the tolerance). `None` otherwise, and for explicit rules.
    pub time_to_tolerance: Option<Duration>,
    /// Whether an implicit rule reached the tolerance (always true for explicit rules).
    pub converged: bool,
    /// The residual of [`ConcurrentOutcome::states`] (0 for explicit rules).
    pub residual: f64,
    /// Every residual the observer measured, with the time its copy was complete, from the
    /// initial state's at time 0 (empty for explicit rules).
    pub trace: Vec<(Duration, f64)>,
    /// Why the run stopped.
    pub stop: Stop,
    /// How stale the reads were.
    pub staleness: MeasuredStaleness,
}

/// Runs `rule` on `cfg.threads` OS threads (module docs). Errors name the key under
/// `concurrent`.
pub fn run(
    rule: &dyn LocalRule,
    cfg: &ConcurrentConfig,
) -> Result<ConcurrentOutcome, InvalidSetting> {
    cfg.check().map_err(|e| e.under("concurrent"))?;
    let initial = crate::initial_states(rule);
    let explicit = match rule.execution() {
        Execution::Explicit { updates } => Some(updates),
        Execution::Implicit => None,
    };
    let threads = cfg.threads.min(initial.len()).max(1);
    let mut trace = vec![];
    if explicit.is_none() {
        let residual = rule.residual(&initial);
        trace.push((Duration::ZERO, residual));
        if residual < cfg.tol || !residual.is_finite() {
            let stop = if residual < cfg.tol {
                Stop::Certified
            } else {
                Stop::Diverged
            };
            return Ok(ConcurrentOutcome {
                outputs: rule.readout(&initial),
                states: initial,
                threads,
                sweeps: vec![0; threads],
                updates: 0,
                wall: Duration::ZERO,
                updates_per_second: 0.0,
                time_to_tolerance: (stop == Stop::Certified).then_some(Duration::ZERO),
                converged: stop == Stop::Certified,
                residual,
                trace,
                stop,
                staleness: MeasuredStaleness::default(),
            });
        }
    }
    let states = SharedStates::new(&initial);
    drop(initial);
    let shared = Shared {
        rule,
        states: &states,
        cfg,
        explicit,
        stop: AtomicBool::new(false),
        at_cap: AtomicUsize::new(0),
        threads,
        start: Instant::now(),
    };
    let reports = spawn_workers(&shared, threads);
    let wall = shared.start.elapsed();
    finish(rule, cfg, &states, explicit, reports, wall, trace)
}

/// Runs thread 0's part on the calling thread and the others on scoped threads; their
/// joins make every write visible to what follows.
fn spawn_workers(shared: &Shared<'_>, threads: usize) -> Vec<Report> {
    let mut owners = shared.states.split(threads).into_iter();
    let first = owners.next().expect("at least one range");
    std::thread::scope(|scope| {
        let handles: Vec<_> = owners
            .enumerate()
            .map(|(t, own)| scope.spawn(move || worker::work(shared, own, t + 1)))
            .collect();
        let mut reports = vec![worker::work(shared, first, 0)];
        for handle in handles {
            match handle.join() {
                Ok(report) => reports.push(report),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        reports
    })
}

/// The outcome from the threads' reports: the certified copy if there is one, else the
/// final states and their residual.
fn finish(
    rule: &dyn LocalRule,
    cfg: &ConcurrentConfig,
    states: &SharedStates,
    explicit: Option<usize>,
    mut reports: Vec<Report>,
    wall: Duration,
    mut trace: Vec<(Duration, f64)>,
) -> Result<ConcurrentOutcome, InvalidSetting> {
    let mut staleness = MeasuredStaleness::default();
    for r in &reports {
        staleness.merge(&r.staleness);
    }
    let updates = reports.iter().map(|r| r.updates).sum();
    let sweeps = reports.iter().map(|r| r.sweeps).collect();
    let timed_out = reports.iter().any(|r| r.timed_out);
    let capped = reports.iter().any(|r| r.capped);
    let observations = reports[0].observations.take().unwrap_or_default();
    trace.extend(observations.trace);
    let (answer, residual, stop, time_to_tolerance) = match (explicit, observations.certified) {
        (Some(_), _) => (states.snapshot(None), 0.0, Stop::Layers, None),
        (None, Some((copy, residual, at))) => (copy, residual, Stop::Certified, Some(at)),
        (None, None) => {
            let last = states.snapshot(None);
            let residual = rule.residual(&last);
            trace.push((wall, residual));
            let stop = if observations.diverged || !residual.is_finite() {
                Stop::Diverged
            } else if timed_out {
                Stop::TimeCap
            } else {
                debug_assert!(capped, "an implicit run stops for a reason");
                Stop::SweepCap
            };
            let at = (residual < cfg.tol).then_some(wall);
            (last, residual, stop, at)
        }
    };
    let threads = reports.len();
    Ok(ConcurrentOutcome {
        outputs: rule.readout(&answer),
        states: answer,
        threads,
        sweeps,
        updates,
        wall,
        updates_per_second: if updates == 0 {
            0.0
        } else {
            updates as f64 / wall.as_secs_f64().max(f64::MIN_POSITIVE)
        },
        time_to_tolerance,
        converged: explicit.is_some() || residual < cfg.tol,
        residual,
        trace,
        stop,
        staleness,
    })
}
