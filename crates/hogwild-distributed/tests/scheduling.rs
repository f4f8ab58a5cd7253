//! Experiment 3 (link scheduling): local greedy search and greedy, the conflict graphs,
//! settings errors, determinism, and a quick training run that learns.

use hogwild_distributed::optim::{OptimiserKind, OptimiserSpec};
use hogwild_distributed::scheduling::mwis::{
    greedy, is_independent, is_maximal, local_greedy, set_weight,
};
use hogwild_distributed::scheduling::{
    initial_actor, run_scheduling, ErShare, SchedulingConfig, SchedulingData,
};
use hogwild_graph::Graph;
use proptest::prelude::*;

fn graph(n: usize, pairs: &[(usize, usize)]) -> Graph {
    Graph::undirected(n, pairs).unwrap()
}

#[test]
fn greedy_known_cases() {
    // a path: the heaviest first, then what is left
    let path = Graph::path(5);
    assert_eq!(greedy(&path, &[0.3, 0.5, 0.4, 0.9, 0.1]), [1, 3]);
    // a star whose leaves together outweigh the centre: greedy still takes the centre
    let star = graph(5, &[(0, 1), (0, 2), (0, 3), (0, 4)]);
    let w = [0.9, 0.5, 0.5, 0.5, 0.5];
    assert_eq!(greedy(&star, &w), [0]);
    assert_eq!(set_weight(&greedy(&star, &w), &w), 0.9);
    // no conflicts: everyone; a complete graph: the heaviest, ties to the smaller id
    assert_eq!(greedy(&graph(3, &[]), &[0.1, 0.2, 0.3]), [0, 1, 2]);
    let k4 = graph(4, &[(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)]);
    assert_eq!(greedy(&k4, &[0.2, 0.7, 0.7, 0.1]), [1]);
}

#[test]
fn local_greedy_known_cases() {
    // two local maxima join in the first round, then node 2's neighbourhood is empty
    let path = Graph::path(5);
    assert_eq!(local_greedy(&path, &[0.6, 0.5, 0.4, 0.9, 0.1]), [0, 3]);
    // scaled utilities change the schedule: the centre loses to its leaves
    let star = graph(5, &[(0, 1), (0, 2), (0, 3), (0, 4)]);
    assert_eq!(
        local_greedy(&star, &[0.45, 0.5, 0.5, 0.5, 0.5]),
        [1, 2, 3, 4]
    );
    // ties go to the smaller id
    assert_eq!(local_greedy(&graph(2, &[(0, 1)]), &[0.5, 0.5]), [0]);
    let k4 = graph(4, &[(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)]);
    assert_eq!(local_greedy(&k4, &[0.2, 0.7, 0.7, 0.1]), [1]);
    assert_eq!(local_greedy(&graph(3, &[]), &[0.0; 3]), [0, 1, 2]);
}

fn arbitrary_graph() -> impl Strategy<Value = (Graph, Vec<f64>)> {
    (1usize..25).prop_flat_map(|n| {
        (
            proptest::collection::vec(any::<bool>(), n * (n - 1) / 2),
            // a few distinct values, so that ties happen
            proptest::collection::vec(0u8..6, n),
        )
            .prop_map(move |(links, w)| {
                let pairs: Vec<(usize, usize)> = (0..n)
                    .flat_map(|i| ((i + 1)..n).map(move |j| (i, j)))
                    .zip(links)
                    .filter_map(|(p, on)| on.then_some(p))
                    .collect();
                (
                    graph(n, &pairs),
                    w.into_iter().map(|x| x as f64 / 5.0).collect(),
                )
            })
    })
}

proptest! {
    #[test]
    fn local_greedy_and_greedy_give_maximal_independent_sets((g, w) in arbitrary_graph()) {
        for set in [local_greedy(&g, &w), greedy(&g, &w)] {
            prop_assert!(is_independent(&g, &set));
            prop_assert!(is_maximal(&g, &set));
        }
    }

    /// Both take nodes in the same order (weight, then id), so on the same utilities they
    /// give the same set: the ratio of LGS on unscaled utilities is exactly 1, and only the
    /// actor's scaling moves it.
    #[test]
    fn local_greedy_on_unscaled_utilities_is_greedy((g, w) in arbitrary_graph()) {
        prop_assert_eq!(local_greedy(&g, &w), greedy(&g, &w));
    }
}

#[test]
fn conflict_graphs_follow_the_mix_and_their_streams() {
    let cfg = SchedulingConfig::quick();
    let data = SchedulingData::generate(&cfg);
    assert_eq!(data.train.len(), cfg.train_graph_count());
    let expected: usize = cfg.test_graphs.iter().map(|s| s.graphs).sum();
    assert_eq!(data.test.len(), expected);
    assert_eq!(data.train[0].p, cfg.train_graphs[0].p);
    assert_eq!(
        data.train.last().unwrap().p,
        cfg.train_graphs.last().unwrap().p
    );
    for t in &data.test {
        assert_eq!(t.weights.len(), cfg.nodes);
        assert!(t.conflict.graph.is_symmetric());
        assert!(t.greedy_weight > 0.0);
    }
    // one graph's stream does not depend on the size of the set
    let mut more = cfg.clone();
    more.train_graphs[0].graphs += 3;
    let bigger = SchedulingData::generate(&more);
    assert_eq!(bigger.train[0].graph, data.train[0].graph);
    let paper = SchedulingConfig::paper();
    assert_eq!(paper.train_graph_count(), 1140);
    assert_eq!(paper.updates(), 57);
    let mimic = SchedulingConfig {
        mimic_epoch_boundary_discard: true,
        ..paper
    };
    assert_eq!(mimic.updates(), 55);
}

fn tiny() -> SchedulingConfig {
    SchedulingConfig {
        nodes: 12,
        train_graphs: vec![ErShare { p: 0.2, graphs: 7 }],
        test_graphs: vec![ErShare { p: 0.2, graphs: 2 }],
        critic_hidden: 4,
        critic_layers: 2,
        actor_hidden: 3,
        batch_graphs: 3,
        epochs: 2,
        ..SchedulingConfig::quick()
    }
}

#[test]
fn settings_errors_name_their_key_and_value() {
    let err = |cfg: SchedulingConfig| cfg.check().unwrap_err().to_string();
    assert!(err(SchedulingConfig { nodes: 1, ..tiny() }).starts_with("nodes = 1"));
    assert!(err(SchedulingConfig {
        critic_lr: 0.0,
        ..tiny()
    })
    .starts_with("critic_lr = 0"));
    assert!(err(SchedulingConfig {
        batch_graphs: 8,
        ..tiny()
    })
    .starts_with("batch_graphs = 8"));
    assert!(err(SchedulingConfig {
        live_start_fraction: 1.5,
        ..tiny()
    })
    .starts_with("live_start_fraction = 1.5"));
    let mut cfg = tiny();
    cfg.test_graphs.push(ErShare { p: 1.2, graphs: 1 });
    assert!(err(cfg).starts_with("test_graphs[1].p = 1.2"));
    let mut cfg = tiny();
    cfg.train_graphs[0].graphs = 0;
    assert!(err(cfg).starts_with("train_graphs[0].graphs = 0"));
    let mut cfg = tiny();
    cfg.optimisers[1] = OptimiserSpec::new("D-SGD", OptimiserKind::DSgd, 1e-2);
    assert!(
        err(cfg).starts_with("optimisers[1].kind"),
        "names the optimiser"
    );
    let mut cfg = tiny();
    cfg.optimisers[1].name = cfg.optimisers[0].name.clone();
    assert!(err(cfg).starts_with("optimisers[1].name"));
    let mut text = toml::to_string(&SchedulingConfig::paper()).unwrap();
    assert_eq!(
        toml::from_str::<SchedulingConfig>(&text).unwrap(),
        SchedulingConfig::paper()
    );
    text.push_str("\nepoch = 4\n");
    assert!(
        toml::from_str::<SchedulingConfig>(&text).is_err(),
        "unknown keys are refused"
    );
    SchedulingConfig::paper().check().unwrap();
    SchedulingConfig::quick().check().unwrap();
}

#[test]
fn runs_are_deterministic_and_count_their_rounds() {
    let cfg = tiny();
    let a = run_scheduling(&cfg).unwrap();
    assert_eq!(a, run_scheduling(&cfg).unwrap());
    for run in &a.runs {
        // 7 graphs, 3 per update, 2 epochs: an update after every third graph
        assert_eq!(run.test_ratio.len(), 4);
        assert!(run.test_ratio.iter().all(|r| r.is_finite() && *r > 0.0));
    }
    // the same start, so the same first evaluation
    assert_eq!(a.runs[0].test_ratio[0], a.runs[1].test_ratio[0]);
    assert_eq!(a.runs[0].copy_spread[0], 0.0);
    // centralized: 3 forward rounds per graph; distributed: 3 forward, 2 backward, 1 consensus
    assert_eq!(a.runs[0].rounds[0], 3 * 3);
    assert_eq!(a.runs[1].rounds[0], 3 * 6);
    let mut other = cfg.clone();
    other.seed += 1;
    assert_ne!(a, run_scheduling(&other).unwrap());
}

#[test]
fn the_epoch_boundary_discard_is_a_switch() {
    // 5 graphs, 3 per update, 3 epochs: 15 graphs make 5 updates when the count runs on;
    // as coded, the count restarts every epoch: one update per epoch
    let mut cfg = SchedulingConfig {
        epochs: 3,
        ..tiny()
    };
    cfg.train_graphs[0].graphs = 5;
    let fixed = run_scheduling(&cfg).unwrap();
    assert_eq!(fixed.runs[0].test_ratio.len(), cfg.updates());
    assert_eq!(cfg.updates(), 5);
    cfg.mimic_epoch_boundary_discard = true;
    let mimic = run_scheduling(&cfg).unwrap();
    assert_eq!(mimic.runs[1].test_ratio.len(), cfg.updates());
    assert_eq!(cfg.updates(), 3);
    // the same first update, then other memories
    assert_eq!(fixed.runs[1].test_ratio[..2], mimic.runs[1].test_ratio[..2]);
}

#[test]
fn the_live_start_rule_redraws_dead_starts() {
    let mut cfg = SchedulingConfig::quick();
    let data = SchedulingData::generate(&cfg);
    cfg.live_start_fraction = 0.0;
    let (_, draws, _) = initial_actor(&cfg, &data);
    assert_eq!(draws, 1);
    cfg.live_start_fraction = 1.0;
    let (_, draws, live) = initial_actor(&cfg, &data);
    assert!(live == 1.0 || draws == hogwild_distributed::scheduling::MAX_START_DRAWS);
}

#[test]
fn quick_training_beats_greedy_and_the_untrained_actor() {
    let cfg = SchedulingConfig::quick();
    let curves = run_scheduling(&cfg).unwrap();
    for run in &curves.runs {
        let untrained = run.test_ratio[0];
        let k = run.test_ratio.len();
        let late = run.test_ratio[k - 10..].iter().sum::<f64>() / 10.0;
        assert!(
            late > 1.0 && late > untrained + 0.05,
            "{}: mean of the last 10 test ratios {late}, untrained {untrained}",
            run.name
        );
    }
}

/// The paper-size run (1140 graphs of 100 links, 5 epochs, both actors): prints the test
/// ratio at the authors' reported points and the wall time of each run. Minutes on one
/// core: `cargo test --release -p hogwild-distributed --test scheduling -- --ignored
/// --nocapture`.
#[test]
#[ignore]
fn paper_size_run() {
    let cfg = SchedulingConfig::paper();
    let data = SchedulingData::generate(&cfg);
    let mut finals = Vec::new();
    for spec in &cfg.optimisers {
        let start = std::time::Instant::now();
        let run = hogwild_distributed::scheduling::train_actor(&cfg, &data, spec);
        let at = |k: usize| run.test_ratio[k.min(run.test_ratio.len()) - 1];
        let best = run.test_ratio.iter().copied().fold(f64::MIN, f64::max);
        println!(
            "{}: points 1, 11, 22, 33, 44, 55, last: {:.4} {:.4} {:.4} {:.4} {:.4} {:.4} {:.4}; best {best:.4}; {:.0} s",
            run.name,
            at(1),
            at(11),
            at(22),
            at(33),
            at(44),
            at(55),
            at(usize::MAX),
            start.elapsed().as_secs_f64()
        );
        assert_eq!(run.test_ratio.len(), cfg.updates());
        assert!(run.test_ratio.iter().all(|r| r.is_finite()));
        finals.push(*run.test_ratio.last().unwrap());
    }
    // what holds at seed 41 (PROTOCOL, "Where link scheduling stands"): the centralized
    // actor beats greedy; the distributed one does not
    assert!(finals[0] > 1.05, "centralized {}", finals[0]);
}
