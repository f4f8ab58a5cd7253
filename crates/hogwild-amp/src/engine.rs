//! The event engine: one message at a time, until the queue empties or the budget is spent.
//!
//! A run starts with one message delivered to one start node (paper §3). Each delivered
//! message is handed to the node program ([`Process`]), which updates the receiver's state and
//! either sends one new message to *all* the receiver's neighbours (the sender included), stays
//! silent, or drops the message ([`Reaction`]). Neighbours are the graph's in-neighbours, which
//! for the undirected graphs AMP uses are all neighbours, visited in ascending id (ours; the
//! code iterates a hash set of ints, which in practice is ascending id).
//!
//! Queue order ([`Delays`]):
//! - constant delays: FIFO in the order of sending; the initial message first, then one entry
//!   per neighbour of each processed message, in ascending neighbour id (paper and code);
//! - random delays: a min-heap on arrival time, ties broken by the order of sending (ours); the
//!   initial message arrives at time 0, and every copy draws its own delay from the run's RNG,
//!   in ascending neighbour id.
//!
//! Budget ([`Budget`]): processed messages always count; dropped messages count when the
//! program says so (AMP-ACT: yes; AMP-Iter: no; both code). Nothing else draws from the RNG,
//! so a run is a function of the program, the graph, the start, and the RNG's state.
//!
//! Point-to-point runs ([`Engine::run_posted`]): a run may instead start from many messages,
//! each sent at time 0 from one node to another, and a program may answer a delivery with
//! messages to chosen receivers, from any node ([`Reaction::Direct`]): what an implicit
//! model's links need (each link carries its sender's state to one reader; `hogwild-sim`'s
//! `events` module). Such messages draw their delays like any other, in the order given, and
//! every delivery answered that way counts against the budget. A program may also end a run
//! early ([`Process::finished`], an observer's decision; AMP's programs never do).

use crate::delays::{Budget, Delays};
use crate::queue::{Pending, Queue};
use hogwild_graph::Graph;
use rand_chacha::ChaCha8Rng;

/// Where and when a message is delivered.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Delivery {
    /// The node that processes the message.
    pub receiver: usize,
    /// The node that sent it; `None` for the run's initial message.
    pub sender: Option<usize>,
    /// Arrival time (constant delays: the number of hops from the start node).
    pub time: f64,
}

/// What a node program does with one delivered message.
#[derive(Debug, Clone, PartialEq)]
pub enum Reaction<M> {
    /// The receiver processed the message (it counts against the budget) and sends the given
    /// message to all its neighbours, or nothing.
    Processed(Option<M>),
    /// The receiver ignored the message: no update, nothing sent.
    Dropped {
        /// Whether the drop uses up one message of the budget.
        counts_against_budget: bool,
    },
    /// Point to point: the receiver processed the message (`processed`), or the message did
    /// not reach it (lost, or at a stopped node: logged as [`Outcome::Dropped`]); either way
    /// it counts against the budget, and the engine sends each of `sends` to its own
    /// receiver, delays drawn in this order.
    Direct {
        /// Whether the receiver processed the message.
        processed: bool,
        /// The messages sent in answer, from any node to any node.
        sends: Vec<Outgoing<M>>,
    },
}

/// A message to one receiver ([`Reaction::Direct`], [`Engine::run_posted`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Outgoing<M> {
    /// The sending node.
    pub from: usize,
    /// The receiving node.
    pub to: usize,
    /// The payload.
    pub message: M,
}

/// A node program: what a node does when a message arrives. The program owns every node's
/// state; the engine owns only the queue.
pub trait Process {
    /// The message payload. Cloned once per neighbour, so make it cheap (an index into an
    /// arena, for example).
    type Message: Clone;

    /// Handles `message` delivered as `delivery`.
    fn on_message(
        &mut self,
        delivery: Delivery,
        message: &Self::Message,
    ) -> Reaction<Self::Message>;

    /// Whether the run should stop now, checked after every delivery (an observer's
    /// decision, such as a certified residual below its tolerance). Default: never, so the
    /// run ends when the queue empties or the budget is spent.
    fn finished(&self) -> bool {
        false
    }
}

/// One entry of the event log.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Event {
    /// Where and when the message was delivered.
    pub delivery: Delivery,
    /// What the program did with it.
    pub outcome: Outcome,
}

/// The outcome of one delivery, as logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Processed, and a message was sent to every neighbour (or, for
    /// [`Reaction::Direct`], at least one message was sent).
    Sent,
    /// Processed, nothing sent.
    Silent,
    /// Dropped (whether or not it counted against the budget).
    Dropped,
}

/// Counts from one run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunStats {
    /// Deliveries that counted against the budget.
    pub counted: usize,
    /// Deliveries the program processed.
    pub processed: usize,
    /// Deliveries the program dropped.
    pub dropped: usize,
    /// Messages still queued when the run stopped.
    pub left_in_queue: usize,
}

/// Runs node programs under a delay model and a budget.
#[derive(Debug, Clone)]
pub struct Engine {
    delays: Delays,
    budget: Budget,
    log: Option<Vec<Event>>,
}

impl Engine {
    /// An engine without an event log.
    pub fn new(delays: Delays, budget: Budget) -> Engine {
        Engine {
            delays,
            budget,
            log: None,
        }
    }

    /// The same engine, recording every delivery of the following runs (cleared at the start of
    /// each run).
    pub fn with_log(mut self) -> Engine {
        self.log = Some(Vec::new());
        self
    }

    /// The last run's deliveries in processing order, if logging is on.
    pub fn log(&self) -> Option<&[Event]> {
        self.log.as_deref()
    }

    /// The delay model.
    pub fn delays(&self) -> Delays {
        self.delays
    }

    /// The per-run budget.
    pub fn budget(&self) -> Budget {
        self.budget
    }

    /// One run: delivers `initial` to `start` and processes messages until the queue is empty
    /// or the budget is spent. Random delays draw from `rng`; constant delays do not touch it.
    pub fn run<P: Process>(
        &mut self,
        graph: &Graph,
        process: &mut P,
        start: usize,
        initial: P::Message,
        rng: &mut ChaCha8Rng,
    ) -> RunStats {
        assert!(
            start < graph.n_nodes(),
            "start node {start} is not in the graph"
        );
        let mut queue = Queue::new(self.delays);
        queue.push(Pending {
            receiver: start,
            sender: None,
            time: 0.0,
            seq: 0,
            message: initial,
        });
        self.drive(graph, process, queue, 1, rng)
    }

    /// One run that starts from many messages, each sent at time 0 from `from` to `to` and
    /// delayed like any other (constant delays: arriving at time 1, in the order given;
    /// random delays: drawn from `rng` in the order given), then processes messages until
    /// the queue is empty, the budget is spent or the program is [`Process::finished`].
    pub fn run_posted<P: Process>(
        &mut self,
        graph: &Graph,
        process: &mut P,
        initial: Vec<Outgoing<P::Message>>,
        rng: &mut ChaCha8Rng,
    ) -> RunStats {
        let n = graph.n_nodes();
        assert!(
            initial.iter().all(|m| m.from < n && m.to < n),
            "an initial message names a node outside the graph"
        );
        let mut queue = Queue::new(self.delays);
        let mut seq = 0u64;
        self.post(&mut queue, &mut seq, 0.0, initial, rng);
        self.drive(graph, process, queue, seq, rng)
    }

    /// Queues `sends`, sent at `now`, each with its own delay.
    fn post<M>(
        &self,
        queue: &mut Queue<M>,
        seq: &mut u64,
        now: f64,
        sends: Vec<Outgoing<M>>,
        rng: &mut ChaCha8Rng,
    ) {
        for Outgoing { from, to, message } in sends {
            let time = match self.delays {
                Delays::Constant => now + 1.0,
                Delays::Random(dist) => now + dist.sample(rng),
            };
            queue.push(Pending {
                receiver: to,
                sender: Some(from),
                time,
                seq: *seq,
                message,
            });
            *seq += 1;
        }
    }

    /// Processes `queue` (whose next sequence number is `seq`) until it is empty, the budget
    /// is spent or the program is finished.
    fn drive<P: Process>(
        &mut self,
        graph: &Graph,
        process: &mut P,
        mut queue: Queue<P::Message>,
        mut seq: u64,
        rng: &mut ChaCha8Rng,
    ) -> RunStats {
        let budget = self.budget.messages(graph.n_nodes());
        if let Some(log) = &mut self.log {
            log.clear();
        }
        let mut stats = RunStats::default();
        while stats.counted < budget {
            let Some(next) = queue.pop() else { break };
            let delivery = Delivery {
                receiver: next.receiver,
                sender: next.sender,
                time: next.time,
            };
            let reaction = process.on_message(delivery, &next.message);
            let outcome = match reaction {
                Reaction::Processed(sent) => {
                    stats.counted += 1;
                    stats.processed += 1;
                    match sent {
                        Some(message) => {
                            for (neighbour, _) in graph.neighbours(next.receiver) {
                                let time = match self.delays {
                                    Delays::Constant => next.time + 1.0,
                                    Delays::Random(dist) => next.time + dist.sample(rng),
                                };
                                queue.push(Pending {
                                    receiver: neighbour,
                                    sender: Some(next.receiver),
                                    time,
                                    seq,
                                    message: message.clone(),
                                });
                                seq += 1;
                            }
                            Outcome::Sent
                        }
                        None => Outcome::Silent,
                    }
                }
                Reaction::Dropped {
                    counts_against_budget,
                } => {
                    stats.counted += usize::from(counts_against_budget);
                    stats.dropped += 1;
                    Outcome::Dropped
                }
                Reaction::Direct { processed, sends } => {
                    stats.counted += 1;
                    let outcome = if !processed {
                        stats.dropped += 1;
                        Outcome::Dropped
                    } else if sends.is_empty() {
                        stats.processed += 1;
                        Outcome::Silent
                    } else {
                        stats.processed += 1;
                        Outcome::Sent
                    };
                    self.post(&mut queue, &mut seq, next.time, sends, rng);
                    outcome
                }
            };
            if let Some(log) = &mut self.log {
                log.push(Event { delivery, outcome });
            }
            if process.finished() {
                break;
            }
        }
        stats.left_in_queue = queue.len();
        stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delays::DelayDistribution;
    use rand::SeedableRng;

    /// Forwards every message (the message is the hop count) and never drops.
    struct Flood;

    impl Process for Flood {
        type Message = u32;
        fn on_message(&mut self, _: Delivery, hops: &u32) -> Reaction<u32> {
            Reaction::Processed(Some(hops + 1))
        }
    }

    /// Drops every message at odd nodes (counting or not), forwards at even ones.
    struct DropOdd {
        counts: bool,
    }

    impl Process for DropOdd {
        type Message = ();
        fn on_message(&mut self, d: Delivery, _: &()) -> Reaction<()> {
            if d.receiver % 2 == 1 {
                Reaction::Dropped {
                    counts_against_budget: self.counts,
                }
            } else {
                Reaction::Processed(Some(()))
            }
        }
    }

    fn receivers(engine: &Engine) -> Vec<(usize, Option<usize>)> {
        engine
            .log()
            .expect("log on")
            .iter()
            .map(|e| (e.delivery.receiver, e.delivery.sender))
            .collect()
    }

    #[test]
    fn constant_delays_flood_a_path_in_fifo_order() {
        // Path 0-1-2-3, start at 1: the initial message, then 1's copies to 0 and 2 (ascending),
        // then 0's copy back to 1, then 2's copies to 1 and 3, then 1's copies (from 0's)...
        let graph = Graph::path(4);
        let mut engine = Engine::new(Delays::Constant, Budget::Absolute(8)).with_log();
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let stats = engine.run(&graph, &mut Flood, 1, 0, &mut rng);
        assert_eq!(stats.processed, 8);
        assert_eq!(
            receivers(&engine),
            vec![
                (1, None),
                (0, Some(1)),
                (2, Some(1)),
                (1, Some(0)),
                (1, Some(2)),
                (3, Some(2)),
                (0, Some(1)),
                (2, Some(1)),
            ]
        );
        let times: Vec<f64> = engine
            .log()
            .unwrap()
            .iter()
            .map(|e| e.delivery.time)
            .collect();
        assert_eq!(times, vec![0.0, 1.0, 1.0, 2.0, 2.0, 2.0, 3.0, 3.0]);
        // Constant delays never touch the RNG.
        assert_eq!(rng, ChaCha8Rng::seed_from_u64(0));
    }

    #[test]
    fn random_delays_pop_in_time_order_and_are_seeded() {
        let graph =
            Graph::undirected(5, &[(0, 1), (1, 2), (2, 3), (3, 4), (4, 0), (0, 2)]).unwrap();
        let run = |seed| {
            let mut engine =
                Engine::new(Delays::Random(DelayDistribution::CODE), Budget::PerNode(6)).with_log();
            engine.run(
                &graph,
                &mut Flood,
                0,
                0,
                &mut ChaCha8Rng::seed_from_u64(seed),
            );
            engine.log().unwrap().to_vec()
        };
        let log = run(3);
        assert_eq!(log.len(), 30);
        assert!(log
            .windows(2)
            .all(|w| w[0].delivery.time <= w[1].delivery.time));
        assert_eq!(log, run(3));
        assert_ne!(log, run(4));
    }

    #[test]
    fn ties_in_time_pop_in_sending_order() {
        // Uniform on [1, 1): every delay is exactly 1, so the heap must reproduce FIFO order.
        let graph =
            Graph::undirected(6, &[(0, 1), (0, 2), (1, 3), (2, 3), (3, 4), (4, 5)]).unwrap();
        let constant = {
            let mut e = Engine::new(Delays::Constant, Budget::Absolute(40)).with_log();
            e.run(&graph, &mut Flood, 2, 0, &mut ChaCha8Rng::seed_from_u64(0));
            receivers(&e)
        };
        let unit = DelayDistribution::Uniform {
            low: 1.0,
            high: 1.0,
        };
        let mut e = Engine::new(Delays::Random(unit), Budget::Absolute(40)).with_log();
        e.run(&graph, &mut Flood, 2, 0, &mut ChaCha8Rng::seed_from_u64(0));
        assert_eq!(receivers(&e), constant);
    }

    /// Answers every delivery by one message back to its sender, and stops after `stop_after`
    /// deliveries; loses every message to node 0 (which still answers).
    struct PingPong {
        seen: usize,
        stop_after: usize,
    }

    impl Process for PingPong {
        type Message = u32;
        fn on_message(&mut self, d: Delivery, hops: &u32) -> Reaction<u32> {
            self.seen += 1;
            let back = Outgoing {
                from: d.receiver,
                to: d.sender.expect("every message has a sender"),
                message: hops + 1,
            };
            Reaction::Direct {
                processed: d.receiver != 0,
                sends: vec![back],
            }
        }
        fn finished(&self) -> bool {
            self.seen >= self.stop_after
        }
    }

    #[test]
    fn posted_runs_start_from_every_message_and_answer_point_to_point() {
        let graph = Graph::path(3);
        let initial = vec![
            Outgoing {
                from: 0,
                to: 1,
                message: 0,
            },
            Outgoing {
                from: 2,
                to: 1,
                message: 0,
            },
        ];
        let mut engine = Engine::new(Delays::Constant, Budget::Absolute(6)).with_log();
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let mut ping = PingPong {
            seen: 0,
            stop_after: usize::MAX,
        };
        let stats = engine.run_posted(&graph, &mut ping, initial.clone(), &mut rng);
        assert_eq!(
            receivers(&engine),
            vec![
                (1, Some(0)),
                (1, Some(2)),
                (0, Some(1)),
                (2, Some(1)),
                (1, Some(0)),
                (1, Some(2)),
            ]
        );
        let times: Vec<f64> = engine
            .log()
            .unwrap()
            .iter()
            .map(|e| e.delivery.time)
            .collect();
        assert_eq!(times, vec![1.0, 1.0, 2.0, 2.0, 3.0, 3.0]);
        // Messages to node 0 are not processed but count, and its answer is still sent.
        assert_eq!((stats.counted, stats.processed, stats.dropped), (6, 5, 1));
        assert_eq!(engine.log().unwrap()[2].outcome, Outcome::Dropped);
        assert_eq!(stats.left_in_queue, 2);
        assert_eq!(rng, ChaCha8Rng::seed_from_u64(0));
        // The program ends the run after its third delivery.
        let mut ping = PingPong {
            seen: 0,
            stop_after: 3,
        };
        let stats = engine.run_posted(&graph, &mut ping, initial, &mut rng);
        assert_eq!((stats.counted, engine.log().unwrap().len()), (3, 3));
    }

    #[test]
    fn drops_count_against_the_budget_only_when_the_program_says_so() {
        let complete =
            Graph::undirected(4, &[(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)]).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let mut engine = Engine::new(Delays::Constant, Budget::Absolute(10));
        let counting = engine.run(&complete, &mut DropOdd { counts: true }, 0, (), &mut rng);
        assert_eq!(counting.counted, 10);
        assert_eq!(counting.processed + counting.dropped, 10);
        assert!(counting.dropped > 0);
        let free = engine.run(&complete, &mut DropOdd { counts: false }, 0, (), &mut rng);
        assert_eq!((free.counted, free.processed), (10, 10));
        assert!(free.dropped > 0);
        // On a path, node 0 forwards to 1, which drops: the queue empties after 2 deliveries.
        let path = engine.run(
            &Graph::path(6),
            &mut DropOdd { counts: false },
            0,
            (),
            &mut rng,
        );
        assert_eq!((path.processed, path.dropped, path.counted), (1, 1, 1));
        assert_eq!(path.left_in_queue, 0);
    }
}
