//! The communication ledger (the paper's Table I) counted by the simulator.

use hogwild_distributed::regression::{measure_ledger, RegressionConfig, RegressionData};
use hogwild_distributed::schedule::Scheme;

#[test]
fn ledger_reproduces_table_one_from_counted_messages() {
    let mut cfg = RegressionConfig::paper();
    cfg.train_samples = 100; // one mini-batch of B = 100 on the paper's graph
    let data = RegressionData::generate(&cfg);
    let links = data.comm.n_edges() as u64; // directed: both ways of every edge
    let rows = measure_ledger(&cfg, &data, 1);
    let rounds: Vec<(Scheme, u64)> = rows
        .iter()
        .map(|r| (r.scheme, r.per_minibatch.rounds))
        .collect();
    assert_eq!(
        rounds,
        vec![
            (Scheme::CentralizedInference, 200),
            (Scheme::Naive, 400),
            (Scheme::NaivePiggybacked, 202),
            (Scheme::Pipelined, 201),
        ]
    );
    for r in &rows {
        assert_eq!(r.per_minibatch.messages, r.per_minibatch.rounds * links);
    }
    // Piggybacking doubles a message: hidden width 10 forward plus 10 backward (and, in the
    // first pipelined round, the 220 parameters of the consensus step).
    let width = |s: Scheme| {
        rows.iter()
            .find(|r| r.scheme == s)
            .unwrap()
            .per_minibatch
            .widest_message
    };
    assert_eq!(width(Scheme::CentralizedInference), 10);
    assert_eq!(width(Scheme::Pipelined), 220 + 10);
    let scalars = |s: Scheme| {
        rows.iter()
            .find(|r| r.scheme == s)
            .unwrap()
            .per_minibatch
            .scalars
    };
    // Same payloads, fewer rounds: piggybacking moves the scalars, it does not add any.
    assert_eq!(
        scalars(Scheme::NaivePiggybacked),
        scalars(Scheme::Pipelined)
    );
}

#[test]
fn more_consensus_rounds_ride_along_in_the_pipelined_scheme() {
    let mut cfg = RegressionConfig::paper();
    cfg.nodes = 20;
    cfg.train_samples = 10;
    cfg.batch_size = 10;
    let data = RegressionData::generate(&cfg);
    let rows = measure_ledger(&cfg, &data, 3);
    let rounds = |s: Scheme| {
        rows.iter()
            .find(|r| r.scheme == s)
            .unwrap()
            .per_minibatch
            .rounds
    };
    assert_eq!(rounds(Scheme::Pipelined), 2 * 10 + 1);
    assert_eq!(rounds(Scheme::NaivePiggybacked), 2 * 10 + 1 + 3);
    assert_eq!(rounds(Scheme::Naive), 10 * (3 + 3));
}
