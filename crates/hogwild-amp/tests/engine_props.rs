//! Property tests of the event engine: budgets and FIFO order.

use hogwild_amp::{Budget, DelayDistribution, Delays, Delivery, Engine, Process, Reaction};
use hogwild_graph::Graph;
use proptest::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::collections::VecDeque;

/// Always forwards.
struct Flood;

impl Process for Flood {
    type Message = ();
    fn on_message(&mut self, _: Delivery, _: &()) -> Reaction<()> {
        Reaction::Processed(Some(()))
    }
}

/// Forwards only the first message each node receives.
struct FirstOnly(Vec<bool>);

impl Process for FirstOnly {
    type Message = ();
    fn on_message(&mut self, d: Delivery, _: &()) -> Reaction<()> {
        let first = !self.0[d.receiver];
        self.0[d.receiver] = true;
        Reaction::Processed(first.then_some(()))
    }
}

/// A path over `n` nodes plus extra edges (connected, no duplicates).
fn graph(n: usize, extra: &[(usize, usize)]) -> Graph {
    let mut pairs: Vec<(usize, usize)> = (1..n).map(|i| (i - 1, i)).collect();
    for &(a, b) in extra {
        let (a, b) = (a % n, b % n);
        let (a, b) = (a.min(b), a.max(b));
        if b > a + 1 && !pairs.contains(&(a, b)) {
            pairs.push((a, b));
        }
    }
    Graph::undirected(n, &pairs).unwrap()
}

proptest! {
    #[test]
    fn flooding_spends_exactly_the_budget_in_time_order(
        n in 2usize..12,
        extra in prop::collection::vec((0usize..12, 0usize..12), 0..10),
        start in 0usize..12,
        budget in 0usize..300,
        seed in 0u64..1000,
    ) {
        let g = graph(n, &extra);
        for delays in [Delays::Constant, Delays::Random(DelayDistribution::CODE)] {
            let mut engine = Engine::new(delays, Budget::Absolute(budget)).with_log();
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let stats = engine.run(&g, &mut Flood, start % n, (), &mut rng);
            prop_assert_eq!(stats.processed, budget);
            prop_assert_eq!(stats.counted, budget);
            let log = engine.log().unwrap();
            prop_assert_eq!(log.len(), budget);
            prop_assert!(log.windows(2).all(|w| w[0].delivery.time <= w[1].delivery.time));
        }
    }

    #[test]
    fn forwarding_once_processes_min_of_budget_and_all_copies(
        n in 2usize..12,
        extra in prop::collection::vec((0usize..12, 0usize..12), 0..10),
        start in 0usize..12,
        budget in 0usize..100,
    ) {
        let g = graph(n, &extra);
        let mut engine = Engine::new(Delays::Constant, Budget::Absolute(budget));
        let mut program = FirstOnly(vec![false; n]);
        let stats = engine.run(&g, &mut program, start % n, (), &mut ChaCha8Rng::seed_from_u64(0));
        // Every node forwards once: the initial message plus one copy per directed edge.
        let all = 1 + g.n_edges();
        prop_assert_eq!(stats.processed, budget.min(all));
        if budget >= all {
            prop_assert_eq!(stats.left_in_queue, 0);
        }
    }

    #[test]
    fn constant_delays_deliver_in_sending_order(
        n in 2usize..10,
        extra in prop::collection::vec((0usize..10, 0usize..10), 0..8),
        start in 0usize..10,
        budget in 1usize..120,
    ) {
        let g = graph(n, &extra);
        let mut engine = Engine::new(Delays::Constant, Budget::Absolute(budget)).with_log();
        engine.run(&g, &mut Flood, start % n, (), &mut ChaCha8Rng::seed_from_u64(0));
        // The oracle: a FIFO of (receiver, sender), neighbours appended in ascending id.
        let mut fifo = VecDeque::from([(start % n, None)]);
        let mut expected = Vec::new();
        while expected.len() < budget {
            let (v, sender) = fifo.pop_front().unwrap();
            expected.push((v, sender));
            let mut neighbours: Vec<usize> = g.neighbours(v).map(|(x, _)| x).collect();
            neighbours.sort_unstable();
            fifo.extend(neighbours.into_iter().map(|x| (x, Some(v))));
        }
        let got: Vec<_> = engine
            .log()
            .unwrap()
            .iter()
            .map(|e| (e.delivery.receiver, e.delivery.sender))
            .collect();
        prop_assert_eq!(got, expected);
    }
}
