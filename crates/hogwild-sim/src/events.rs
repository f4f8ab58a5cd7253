//! Implicit rules on the event engine (issue 31, ours): the same node-local rules as
//! [`crate::simulate`], scheduled by message deliveries instead of rounds.
//!
//! Two schedules of one execution: what the random-sweeps simulator and this one share is the
//! rule ([`LocalRule`]: graph, node state, views of in-neighbours), the initial states, the
//! observer (the rule's certified residual with crashed nodes held, one function for both)
//! and the faults ([`FaultPlan`], drawn from the same streams beside the run's); what
//! differs is who updates when. Here the queue is `hogwild_amp`'s [`Engine`], under
//! constant (FIFO) or random delays ([`Delays`]), and:
//!
//! - **links**: every in-edge `j → i` of the rule's graph with `j ≠ i` is a link that carries
//!   `j`'s state to `i` (a self-loop's view is the node's own latest state, as in the
//!   simulator). A link carries one message at a time: when `j` updates, it sends its new
//!   state over each of its idle links and marks the busy ones; when a message is delivered
//!   (or lost), `j` at once sends its current state again if it has updated since that
//!   message left (or the message was lost). So at most one message per link is in flight.
//!   Were every update sent to every out-neighbour at once, each delivery would add degree
//!   − 1 messages: the messages in flight, and the deliveries per unit of time, would grow
//!   exponentially in time, while a contraction needs a fixed number of delays' worth of
//!   time to reach its tolerance.
//! - **start**: every node's view of each in-neighbour starts at that neighbour's initial
//!   state (which every node knows locally, as in the simulator's faults), and at time 0
//!   every node sends its initial state over each of its links, in ascending node id and
//!   edge order: those messages start the updates.
//! - **on receipt**: the receiver stores the message as its view of the sender (the last
//!   message received over that link, whatever its age: links need not be FIFO under random
//!   delays), performs one update of the rule from its own state and its views, and sends
//!   as above. A node without in-neighbours other than itself (isolated, or a source of a
//!   directed graph) would never receive anything: it has a timer instead, a message to
//!   itself with the same delays, sent at time 0 and again after each of its updates.
//! - **stopping**: the observer measures the rule's residual on the nodes' states at the
//!   start, every [`EventConfig::residual_every`] deliveries and after the last; the run
//!   stops when it is below [`EventConfig::tol`] (converged; not before every scheduled
//!   fault has happened), when it is not finite (diverged), when the budget of deliveries
//!   ([`EventConfig::budget`]) is spent, or when the queue empties.
//! - **faults** ([`Faults`], drawn by [`FaultPlan::draw`] before the run from streams beside
//!   `rng`'s: the run's own stream draws only delays, as without faults): a node's
//!   round is its update count plus one, the simulator's per-node rounds. *Message loss*: a
//!   message reaching a live node over a live link is lost with probability p (one draw per
//!   such delivery, in delivery order); the receiver keeps its view and does not update,
//!   and the sender sends its current state again over that link. *Crash-stop*: a node
//!   crashes when a message arrives for its crash round: it never updates or sends again
//!   (messages already sent still arrive); messages to it are dropped (its in-neighbours,
//!   who cannot tell, keep sending as they update). *Link failure*: a
//!   link fails when its reader reaches the failure round; from then on it carries nothing
//!   and its reader keeps the last state received. *Corruption*: the state a hit node's
//!   update of the corruption round writes is replaced, and sent as usual. Every delivery,
//!   lost or dropped ones included, counts against the budget.

use crate::views::{failed_links, EdgeStates};
use crate::{initial_states, observe, FaultCounts, FaultPlan, Faults};
use hogwild_amp::{Budget, Delays, Delivery, Engine, Event, Outgoing, Process, Reaction, RunStats};
use hogwild_graph::Graph;
use hogwild_models::{Execution, LocalRule};
use hogwild_settings::{at_least, positive, InvalidSetting};
use ndarray::Array2;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// Settings of an event-driven run of an implicit rule.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EventConfig {
    /// Message delays: constant (FIFO) or random.
    pub delays: Delays,
    /// The most deliveries a run may make (lost and dropped ones count).
    pub budget: Budget,
    /// The run stops once the observer's residual is below this.
    pub tol: f64,
    /// The observer measures the residual every this many deliveries (and after the last).
    pub residual_every: usize,
    /// Faults (default none).
    #[serde(default, skip_serializing_if = "Faults::is_empty")]
    pub faults: Faults,
    /// Whether to keep the engine's event log in [`EventOutcome::log`].
    #[serde(default)]
    pub log: bool,
}

impl EventConfig {
    /// Checks the settings; keys are relative to the run's section.
    pub fn check(&self) -> Result<(), InvalidSetting> {
        positive("tol", self.tol)?;
        at_least("residual_every", self.residual_every as u64, 1)?;
        self.faults.check().map_err(|e| e.under("faults"))
    }
}

/// What an event-driven run produced.
#[derive(Debug, Clone, PartialEq)]
pub struct EventOutcome {
    /// Every node's final state.
    pub states: Vec<Vec<f64>>,
    /// Model outputs from the final states (rows = nodes).
    pub outputs: Array2<f64>,
    /// Deliveries made (every one counts against the budget).
    pub deliveries: usize,
    /// Node updates performed (deliveries that were processed).
    pub updates: u64,
    /// The engine's counts: processed, dropped (lost, or at a crashed node or over a failed
    /// link), and messages still in flight at the end.
    pub stats: RunStats,
    /// The arrival time of the last delivery.
    pub time: f64,
    /// The last residual the observer measured.
    pub residual: f64,
    /// Every residual the observer measured, as `(deliveries made, residual)`, from the
    /// initial states' at 0.
    pub trace: Vec<(usize, f64)>,
    /// Whether the residual reached the tolerance.
    pub converged: bool,
    /// What the faults did: lost messages are counted as `lost_reads`, messages over failed
    /// links as `failed_link_reads`; `rounds_to_reconverge` is not measured here.
    pub faults: FaultCounts,
    /// The engine's event log, if [`EventConfig::log`] was set.
    pub log: Option<Vec<Event>>,
}

/// Runs the implicit `rule` on the event engine under `cfg` (module docs), drawing delays
/// from `rng` and faults from streams beside it. Deterministic in `rng`'s state.
///
/// # Panics
/// If `rule` is explicit: an explicit rule's fixed number of updates has no meaning when
/// every delivery is an update.
pub fn simulate_events(
    rule: &dyn LocalRule,
    cfg: &EventConfig,
    rng: &mut ChaCha8Rng,
) -> Result<EventOutcome, InvalidSetting> {
    cfg.check()?;
    assert_eq!(
        rule.execution(),
        Execution::Implicit,
        "the event engine runs implicit rules"
    );
    let graph = rule.graph();
    let plan = FaultPlan::draw(&cfg.faults, graph, rng);
    let mut nodes = Network::new(rule, plan, cfg);
    let initial = nodes.initial_messages();
    let mut engine = Engine::new(cfg.delays, cfg.budget);
    if cfg.log {
        engine = engine.with_log();
    }
    let stats = if nodes.done {
        // Already at the tolerance: nothing is delivered.
        RunStats {
            left_in_queue: initial.len(),
            ..RunStats::default()
        }
    } else {
        engine.run_posted(graph, &mut nodes, initial, rng)
    };
    Ok(nodes.finish(stats, engine.log().map(<[Event]>::to_vec)))
}

/// A link's state (one per in-edge that is not a self-loop).
#[derive(Debug, Clone, Copy, Default)]
struct Link {
    /// A message is in flight.
    busy: bool,
    /// The sender has updated since the message in flight left.
    dirty: bool,
    /// The link has failed.
    dead: bool,
}

/// The node program: every node's state, its views, and the links' flow control.
struct Network<'r> {
    rule: &'r dyn LocalRule,
    graph: &'r Graph,
    plan: FaultPlan,
    tol: f64,
    residual_every: usize,
    states: Vec<Vec<f64>>,
    /// Updates per node.
    node_updates: Vec<usize>,
    crashed: Vec<bool>,
    /// Per edge, the reader's view of the source.
    views: EdgeStates,
    /// Per edge, the state the link's message carries (when one is in flight).
    in_flight: EdgeStates,
    links: Vec<Link>,
    /// Each edge's reader.
    reader: Vec<usize>,
    /// Node `j`'s links are `out[out_at[j]..out_at[j + 1]]`, ascending edge id.
    out_at: Vec<usize>,
    out: Vec<usize>,
    /// The round of the last scheduled crash, link failure or corruption (0: none): the run
    /// does not stop for convergence before every live node has reached it.
    last_fault: usize,
    fault_counts: FaultCounts,
    deliveries: usize,
    updates: u64,
    time: f64,
    residual: f64,
    trace: Vec<(usize, f64)>,
    done: bool,
    scratch: Vec<f64>,
}

impl<'r> Network<'r> {
    fn new(rule: &'r dyn LocalRule, plan: FaultPlan, cfg: &EventConfig) -> Network<'r> {
        let graph = rule.graph();
        let n = graph.n_nodes();
        let states = initial_states(rule);
        let views = EdgeStates::new(graph, &states);
        let mut reader = Vec::with_capacity(graph.n_edges());
        let mut by_source: Vec<(usize, usize)> = vec![];
        for i in 0..n {
            for e in graph.in_edges(i) {
                let j = graph.edge(e).0;
                reader.push(i);
                if j != i {
                    by_source.push((j, e));
                }
            }
        }
        by_source.sort_unstable();
        let mut out_at = vec![0; n + 1];
        for &(j, _) in &by_source {
            out_at[j + 1] += 1;
        }
        for j in 0..n {
            out_at[j + 1] += out_at[j];
        }
        let last_fault = plan.last_round(usize::MAX - 1);
        let residual = observe(rule, &states, &[]);
        Network {
            rule,
            graph,
            plan,
            tol: cfg.tol,
            residual_every: cfg.residual_every,
            node_updates: vec![0; n],
            crashed: vec![false; n],
            in_flight: views.clone(),
            links: vec![Link::default(); graph.n_edges()],
            views,
            reader,
            out_at,
            out: by_source.into_iter().map(|(_, e)| e).collect(),
            last_fault,
            fault_counts: FaultCounts::default(),
            deliveries: 0,
            updates: 0,
            time: 0.0,
            residual,
            trace: vec![(0, residual)],
            done: !residual.is_finite() || (residual < cfg.tol && last_fault == 0),
            scratch: vec![],
            states,
        }
    }

    /// Node `j`'s links.
    fn links_of(&self, j: usize) -> std::ops::Range<usize> {
        self.out_at[j]..self.out_at[j + 1]
    }

    /// Every node's initial state over each of its links.
    fn initial_messages(&mut self) -> Vec<Outgoing<usize>> {
        let mut sends = vec![];
        for j in 0..self.graph.n_nodes() {
            for k in self.links_of(j) {
                let e = self.out[k];
                self.send(e, &mut sends);
            }
        }
        for i in 0..self.graph.n_nodes() {
            if self.has_timer(i) {
                sends.push(self.timer(i));
            }
        }
        sends
    }

    /// Whether node `i` has no links in (no in-neighbour other than itself), and so wakes
    /// itself.
    fn has_timer(&self, i: usize) -> bool {
        let graph = self.graph;
        graph.in_edges(i).all(|e| graph.edge(e).0 == i)
    }

    /// Node `i`'s timer message, from itself to itself (ids after the edges').
    fn timer(&self, i: usize) -> Outgoing<usize> {
        Outgoing {
            from: i,
            to: i,
            message: self.graph.n_edges() + i,
        }
    }

    /// Sends the source's current state over link `e`.
    fn send(&mut self, e: usize, sends: &mut Vec<Outgoing<usize>>) {
        let from = self.graph.edge(e).0;
        self.in_flight.set(e, &self.states[from]);
        self.links[e].busy = true;
        self.links[e].dirty = false;
        sends.push(Outgoing {
            from,
            to: self.reader[e],
            message: e,
        });
    }

    /// Node `i` has updated: its idle links send its new state, its busy ones are marked.
    fn broadcast(&mut self, i: usize, sends: &mut Vec<Outgoing<usize>>) {
        for k in self.links_of(i) {
            let e = self.out[k];
            match self.links[e] {
                Link { dead: true, .. } => {}
                Link { busy: true, .. } => self.links[e].dirty = true,
                _ => self.send(e, sends),
            }
        }
    }

    /// Node `i`'s update from its own state and its views.
    fn update(&mut self, i: usize) {
        let graph = self.graph;
        let round = self.node_updates[i] + 1;
        let own = &self.states[i];
        let views: Vec<&[f64]> = graph
            .in_edges(i)
            .map(|e| {
                if graph.edge(e).0 == i {
                    &own[..]
                } else {
                    self.views.get(e)
                }
            })
            .collect();
        self.scratch.resize(own.len(), 0.0);
        self.rule
            .update(i, self.node_updates[i], own, &views, &mut self.scratch);
        if self.plan.corrupts(i, round) {
            self.plan.corrupt(&mut self.scratch);
            self.fault_counts.corrupted_nodes += 1;
            self.fault_counts.corruption_round = Some(round);
        }
        self.states[i].copy_from_slice(&self.scratch);
        self.node_updates[i] += 1;
        self.updates += 1;
    }

    /// The faults that happen when node `i` reaches round `round`: its crash, and the
    /// failures of its in-links.
    fn reach_round(&mut self, i: usize, round: usize) {
        if !self.crashed[i] && !self.plan.updates(i, round) {
            self.crashed[i] = true;
            self.fault_counts.crashed_nodes += 1;
        }
        for e in self.graph.in_edges(i) {
            if self.graph.edge(e).0 != i && !self.links[e].dead && !self.plan.link_up(e, round) {
                self.links[e].dead = true;
            }
        }
    }

    /// The observer's measurement after a delivery, when one is due.
    fn observe_if_due(&mut self) {
        if !self.deliveries.is_multiple_of(self.residual_every) {
            return;
        }
        self.measure();
        self.done = !self.residual.is_finite() || (self.residual < self.tol && self.faults_done());
    }

    /// Whether every live node has reached the last scheduled fault's round.
    fn faults_done(&self) -> bool {
        self.last_fault == 0
            || (self.node_updates.iter().zip(&self.crashed))
                .all(|(&c, &x)| x || c >= self.last_fault)
    }

    fn measure(&mut self) {
        let frozen = if self.crashed.contains(&true) {
            &self.crashed[..]
        } else {
            &[]
        };
        self.residual = observe(self.rule, &self.states, frozen);
        self.trace.push((self.deliveries, self.residual));
    }

    /// The outcome once the engine has stopped.
    fn finish(mut self, stats: RunStats, log: Option<Vec<Event>>) -> EventOutcome {
        if self.trace.last().map(|&(d, _)| d) != Some(self.deliveries) {
            self.measure();
        }
        self.fault_counts.failed_links = failed_links(self.graph, |e| self.links[e].dead);
        EventOutcome {
            outputs: self.rule.readout(&self.states),
            states: self.states,
            deliveries: self.deliveries,
            updates: self.updates,
            stats,
            time: self.time,
            converged: self.residual < self.tol,
            residual: self.residual,
            trace: self.trace,
            faults: self.fault_counts,
            log,
        }
    }
}

impl Process for Network<'_> {
    type Message = usize;

    fn on_message(&mut self, delivery: Delivery, &e: &usize) -> Reaction<usize> {
        self.deliveries += 1;
        self.time = delivery.time;
        if e >= self.graph.n_edges() {
            return self.on_timer(e - self.graph.n_edges());
        }
        let (i, j) = (self.reader[e], self.graph.edge(e).0);
        self.links[e].busy = false;
        let mut sends = vec![];
        let round = self.node_updates[i] + 1;
        if !self.crashed[i] {
            self.reach_round(i, round);
        }
        let processed = if self.crashed[i] {
            false
        } else if self.links[e].dead {
            self.fault_counts.failed_link_reads += 1;
            false
        } else if self.plan.lose() {
            self.fault_counts.lost_reads += 1;
            // The receiver does not have the sender's state: it is sent again.
            self.links[e].dirty = true;
            false
        } else {
            self.views.set(e, self.in_flight.get(e));
            self.update(i);
            self.broadcast(i, &mut sends);
            true
        };
        // The link is free: its sender refills it if the reader lacks its current state.
        if !self.crashed[j] && !self.links[e].dead && self.links[e].dirty {
            self.send(e, &mut sends);
        }
        self.observe_if_due();
        Reaction::Direct { processed, sends }
    }

    fn finished(&self) -> bool {
        self.done
    }
}

impl Network<'_> {
    /// Node `i`'s timer went off: unless it has crashed, it updates, sends, and sets the
    /// timer again. A timer is no message over a link: it is never lost.
    fn on_timer(&mut self, i: usize) -> Reaction<usize> {
        if !self.crashed[i] {
            self.reach_round(i, self.node_updates[i] + 1);
        }
        let mut sends = vec![];
        let processed = !self.crashed[i];
        if processed {
            self.update(i);
            self.broadcast(i, &mut sends);
            sends.push(self.timer(i));
        }
        self.observe_if_due();
        Reaction::Direct { processed, sends }
    }
}
