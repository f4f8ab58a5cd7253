//! One thread's loop: sweep its own nodes, each update reading its neighbours' states as
//! they are at that moment, and, on the observer's thread, check the residual now and then.

use super::states::{Owned, SharedStates};
use super::{ConcurrentConfig, MeasuredStaleness, SweepOrder};
use hogwild_models::LocalRule;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Updates between two looks at the clock within a sweep (a sweep of a large partition can
/// outlast the time cap many times over; reading the clock at every update would cost more
/// than some updates).
const CLOCK_EVERY: u64 = 1024;

/// What every thread of a run shares.
pub(super) struct Shared<'a> {
    pub rule: &'a dyn LocalRule,
    pub states: &'a SharedStates,
    pub cfg: &'a ConcurrentConfig,
    /// `Some(L)`: an explicit rule, every node updates exactly L times and nothing stops it.
    pub explicit: Option<usize>,
    /// Set by the thread that decides the run is over (the observer, or the first to reach
    /// the time cap); every thread looks at it before each update. It carries no data, so
    /// relaxed accesses suffice: a thread that sees it late performs a few more updates.
    pub stop: AtomicBool,
    /// Threads that have completed [`ConcurrentConfig::max_sweeps`] sweeps; the one that
    /// completes the count stops the run.
    pub at_cap: AtomicUsize,
    /// Threads of the run.
    pub threads: usize,
    pub start: Instant,
}

/// What the observer found.
#[derive(Debug, Default)]
pub(super) struct Observations {
    /// Every residual measured, with the time its snapshot was complete.
    pub trace: Vec<(Duration, f64)>,
    /// The snapshot whose residual was below the tolerance, its residual and time.
    pub certified: Option<(Vec<Vec<f64>>, f64, Duration)>,
    /// Whether a residual was not finite.
    pub diverged: bool,
}

/// What one thread did.
#[derive(Debug, Default)]
pub(super) struct Report {
    pub updates: u64,
    pub sweeps: usize,
    pub staleness: MeasuredStaleness,
    /// Whether this thread stopped the run at the time cap.
    pub timed_out: bool,
    /// Whether this thread stopped the run at the sweep cap (the last to reach it).
    pub capped: bool,
    /// The observer's findings (thread 0 of an implicit rule's run only).
    pub observations: Option<Observations>,
}

/// Runs thread `thread`'s part: its nodes `own`, swept exactly L times for an explicit rule;
/// for an implicit one, until the stop flag is set (by the observer, at the time cap, or by
/// the last thread to complete `max_sweeps` sweeps). A thread that has completed its
/// `max_sweeps` keeps sweeping until then: its nodes must keep taking in what the slower
/// threads publish, or a thread that ran ahead alone (say, before the others were
/// scheduled) would have settled against their initial states for good. Thread 0 of an
/// implicit run is also the observer: after every `residual_every` of its own sweeps it
/// copies every node's state (each a version its writer published, the others' threads
/// still running) and evaluates the rule's residual on that copy.
pub(super) fn work(shared: &Shared<'_>, own: Owned<'_>, thread: usize) -> Report {
    let Shared {
        rule,
        states,
        cfg,
        explicit,
        ..
    } = *shared;
    let _stop_on_panic = StopOnPanic(&shared.stop);
    let implicit = explicit.is_none();
    let mut report = Report {
        observations: (implicit && thread == 0).then(Observations::default),
        ..Report::default()
    };
    let mut order: Vec<usize> = own.nodes().collect();
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    rng.set_stream(thread as u64);
    let mut buffers = Buffers::default();
    let stopped = || implicit && shared.stop.load(Ordering::Relaxed);
    let prefetching = std::mem::size_of_val(states.words()) > crate::PREFETCH_ABOVE_BYTES;
    'sweeps: loop {
        match explicit {
            Some(layers) if report.sweeps == layers => break,
            None if stopped() => break,
            _ => {}
        }
        if cfg.order == SweepOrder::Shuffled {
            order.shuffle(&mut rng);
        }
        for (p, &i) in order.iter().enumerate() {
            if stopped() {
                break 'sweeps;
            }
            if prefetching {
                prefetch_ahead(rule, states, &order, p);
            }
            buffers.update(rule, states, &own, i, &mut report.staleness);
            report.updates += 1;
            if implicit && report.updates.is_multiple_of(CLOCK_EVERY) && out_of_time(shared) {
                report.timed_out = true;
                break 'sweeps;
            }
        }
        report.sweeps += 1;
        if implicit {
            if report.sweeps == cfg.max_sweeps
                && shared.at_cap.fetch_add(1, Ordering::Relaxed) + 1 == shared.threads
            {
                // The last thread to get there: the final states are checked after every
                // thread has stopped.
                report.capped = true;
                shared.stop.store(true, Ordering::Relaxed);
                break;
            }
            if out_of_time(shared) {
                report.timed_out = true;
                break;
            }
        }
        if report.sweeps.is_multiple_of(cfg.residual_every) && !stopped() {
            if let Some(obs) = report.observations.as_mut() {
                if observe(shared, &own, obs) {
                    break;
                }
            }
        }
    }
    report
}

/// What one update needs besides the shared states, kept from update to update so that
/// none allocates: the node's own state, its neighbours' copies one after another (and where
/// each lies, `None` for a self-loop), the neighbours another thread writes with the version
/// copied, the new state, and the views' allocation.
#[derive(Default)]
struct Buffers {
    own_state: Vec<f64>,
    copies: Vec<f64>,
    spans: Vec<Option<(usize, usize)>>,
    foreign: Vec<(usize, u64)>,
    out: Vec<f64>,
    spare_views: Vec<&'static [f64]>,
}

impl Buffers {
    /// Updates own node `i`: copies its state and its in-neighbours' latest published
    /// states, applies the rule, records how stale each copy of another thread's node was
    /// when the result is published, and publishes it.
    fn update(
        &mut self,
        rule: &dyn LocalRule,
        states: &SharedStates,
        own: &Owned<'_>,
        i: usize,
        staleness: &mut MeasuredStaleness,
    ) {
        let graph = rule.graph();
        let len = states.state_len(i);
        self.own_state.resize(len, 0.0);
        own.read(i, &mut self.own_state);
        self.copies.clear();
        self.spans.clear();
        self.foreign.clear();
        let mut fresh = 0;
        for e in graph.in_edges(i) {
            let j = graph.edge(e).0;
            if j == i {
                self.spans.push(None);
                continue;
            }
            let at = self.copies.len();
            let len_j = states.state_len(j);
            self.copies.resize(at + len_j, 0.0);
            if own.owns(j) {
                own.read(j, &mut self.copies[at..]);
                fresh += 1;
            } else {
                let read = states.read(j, &mut self.copies[at..]);
                self.foreign.push((j, read.version));
                staleness.retries += read.retries;
            }
            self.spans.push(Some((at, len_j)));
        }
        let mut views = crate::recycle(std::mem::take(&mut self.spare_views));
        views.extend(self.spans.iter().map(|span| match *span {
            None => &self.own_state[..],
            Some((at, len_j)) => &self.copies[at..at + len_j],
        }));
        self.out.resize(len, 0.0);
        let count = usize::try_from(own.version(i)).expect("update counts fit in usize");
        rule.update(i, count, &self.own_state, &views, &mut self.out);
        self.spare_views = crate::recycle(views);
        // Staleness as of the moment the new state is published: the neighbours' updates
        // since the versions copied, which it misses.
        for &(j, version) in &self.foreign {
            staleness.record(states.version(j).saturating_sub(version));
        }
        staleness.cross_reads += self.foreign.len() as u64;
        staleness.record_fresh(fresh);
        own.write(i, &self.out);
    }
}

/// Prefetches what the updates after position `p` of `order` will read, in stages one
/// update apart (as the simulator does, for the same reason: a shuffled order defeats the
/// hardware prefetcher): three updates ahead, where the node's edges are and where its
/// record is; two ahead, its edges, what the rule reads, and where its neighbours' records
/// are; one ahead, the records themselves. Changes no result.
fn prefetch_ahead(rule: &dyn LocalRule, states: &SharedStates, order: &[usize], p: usize) {
    let graph = rule.graph();
    if let Some(&i) = order.get(p + 3) {
        graph.prefetch_edge_range(i);
        states.prefetch_offset(i);
    }
    if let Some(&i) = order.get(p + 2) {
        graph.prefetch_in_edges(i);
        rule.prefetch(i);
        for (j, _) in graph.neighbours(i) {
            states.prefetch_offset(j);
        }
    }
    if let Some(&i) = order.get(p + 1) {
        states.prefetch(i);
        for (j, _) in graph.neighbours(i) {
            states.prefetch(j);
        }
    }
}

/// Sets the stop flag if its thread unwinds (a rule that panics): the other threads stop
/// too, and the panic reaches the caller when they are joined, instead of the run going on
/// to its caps without that thread's nodes.
struct StopOnPanic<'a>(&'a AtomicBool);

impl Drop for StopOnPanic<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.store(true, Ordering::Relaxed);
        }
    }
}

/// Whether the run has passed its time cap; if so, tells every thread to stop.
fn out_of_time(shared: &Shared<'_>) -> bool {
    let over = shared.start.elapsed().as_secs_f64() > shared.cfg.max_seconds;
    if over {
        shared.stop.store(true, Ordering::Relaxed);
    }
    over
}

/// The observer's check: copies every node's state, evaluates the residual on the copy and,
/// if it is below the tolerance (the copy is then an answer within the tolerance of the
/// fixed point) or not finite, keeps it and tells every thread to stop. Returns whether it
/// did.
fn observe(shared: &Shared<'_>, own: &Owned<'_>, obs: &mut Observations) -> bool {
    let snapshot = shared.states.snapshot(Some(own));
    let at = shared.start.elapsed();
    let residual = shared.rule.residual(&snapshot);
    obs.trace.push((at, residual));
    if residual < shared.cfg.tol {
        obs.certified = Some((snapshot, residual, at));
    } else if !residual.is_finite() {
        obs.diverged = true;
    } else {
        return false;
    }
    shared.stop.store(true, Ordering::Relaxed);
    true
}
