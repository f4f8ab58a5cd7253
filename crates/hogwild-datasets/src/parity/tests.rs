use super::*;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};
use std::collections::{BTreeMap, BTreeSet};

/// The undirected edges, checking the graph is simple and symmetric.
fn simple_edges(g: &Graph) -> BTreeSet<(usize, usize)> {
    assert!(g.is_symmetric());
    let mut edges = BTreeSet::new();
    for v in 0..g.n_nodes() {
        for (u, _) in g.neighbours(v) {
            assert_ne!(u, v, "self-loop");
            edges.insert((u.min(v), u.max(v)));
        }
    }
    assert_eq!(2 * edges.len(), g.n_edges(), "no multi-edges");
    edges
}

/// Distances from `origin` by repeated relaxation over the edge list (Bellman–Ford with
/// unit weights; independent of the generator's BFS); `None` for unreachable nodes.
fn relaxed_distances(
    n: usize,
    edges: &BTreeSet<(usize, usize)>,
    origin: usize,
) -> Vec<Option<usize>> {
    let mut d = vec![None; n];
    d[origin] = Some(0);
    for _ in 0..n {
        for &(a, b) in edges {
            for (x, y) in [(a, b), (b, a)] {
                if let Some(dx) = d[x] {
                    if d[y].is_none_or(|dy| dx + 1 < dy) {
                        d[y] = Some(dx + 1);
                    }
                }
            }
        }
    }
    d
}

fn check_graph(g: &ParityGraph, n: usize) {
    let edges = simple_edges(&g.sample.graph);
    assert_eq!(g.sample.graph.n_nodes(), n);
    assert_eq!(edges.len(), n - 1 + n / 5, "tree plus ⌊n/5⌋ extra edges");
    let d = relaxed_distances(n, &edges, g.origin);
    let d: Vec<usize> = d.into_iter().map(|x| x.expect("connected")).collect();
    assert_eq!(g.distances, d);
    assert_eq!(g.eccentricity, *d.iter().max().unwrap());
    let Targets::Classes(labels) = &g.sample.targets else {
        panic!("class targets")
    };
    let even: Vec<usize> = d
        .iter()
        .map(|&x| usize::from(x.is_multiple_of(2)))
        .collect();
    assert_eq!(labels, &even);
    for v in 0..n {
        let expected = if v == g.origin { 1.0 } else { 0.0 };
        assert!(g.sample.features.row(v).iter().all(|&x| x == expected));
    }
    assert_eq!(g.sample.features.ncols(), BASELINE_FEATURES);
    assert!(g.amp_features().iter().all(|&x| x == 0.0));
    assert_eq!(g.amp_features().dim(), (n, BASELINE_FEATURES));
    let m = g.initial_messages(3);
    assert_eq!(m.dim(), (n, 3));
    assert_eq!(m.sum(), 1.0);
    assert_eq!(m[[g.origin, 0]], 1.0);
}

fn config() -> Config {
    Config {
        cases: 128,
        rng_seed: RngSeed::Fixed(28),
        failure_persistence: None,
        ..Config::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn parity_graphs_are_trees_plus_a_fifth_with_bfs_parity_labels(
        n in 1usize..300,
        seed in any::<u64>(),
    ) {
        let graphs = parity_graphs(3, n, seed, Split::Test);
        prop_assert_eq!(graphs.len(), 3);
        for g in &graphs {
            check_graph(g, n);
        }
    }

    #[test]
    fn multi_source_graphs_hold_one_parity_task_per_origin(
        n in 3usize..120,
        seed in any::<u64>(),
    ) {
        for g in multi_source_parity_graphs(2, n, PAPER_SOURCES, seed, Split::Train) {
            let edges = simple_edges(&g.sample.graph);
            prop_assert_eq!(edges.len(), n - 1 + n / 5);
            let distinct: BTreeSet<usize> = g.origins.iter().copied().collect();
            prop_assert_eq!(distinct.len(), PAPER_SOURCES);
            let Targets::Values(y) = &g.sample.targets else { panic!("value targets") };
            prop_assert_eq!(y.dim(), (n, PAPER_SOURCES));
            prop_assert_eq!(g.sample.features.sum(), PAPER_SOURCES as f64);
            let m = g.initial_messages(6);
            for (i, &o) in g.origins.iter().enumerate() {
                prop_assert_eq!(g.sample.features[[o, i]], 1.0);
                prop_assert_eq!(m[[o, i]], 1.0);
                let d: Vec<usize> = relaxed_distances(n, &edges, o)
                    .into_iter()
                    .map(|x| x.expect("connected"))
                    .collect();
                prop_assert_eq!(&g.distances[i], &d);
                prop_assert_eq!(g.eccentricities[i], *d.iter().max().unwrap());
                for v in 0..n {
                    prop_assert_eq!(y[[v, i]], if d[v].is_multiple_of(2) { 1.0 } else { 0.0 });
                }
            }
            prop_assert_eq!(m.sum(), PAPER_SOURCES as f64);
            prop_assert!(g.amp_features().iter().all(|&x| x == 0.0));
        }
    }
}

#[test]
fn trees_are_uniform_over_the_sixteen_labelled_trees_on_four_nodes() {
    // Cayley: 4^2 = 16 labelled trees on 4 nodes (and no extra edge below 5 nodes). A
    // biased construction (random attachment, say) gives stars and paths unequal shares.
    let mut rng = stream("test/parity-trees");
    let draws = 16_000;
    let mut counts: BTreeMap<Vec<(usize, usize)>, usize> = BTreeMap::new();
    for _ in 0..draws {
        let mut pairs = spanning_tree_with_extra_edges(4, &mut rng);
        pairs.sort_unstable();
        *counts.entry(pairs).or_default() += 1;
    }
    assert_eq!(counts.len(), 16);
    for (tree, &c) in &counts {
        assert!(
            (850..1150).contains(&c),
            "{tree:?} drawn {c} times of {draws}"
        );
    }
}

#[test]
fn sets_are_seeded_per_size_and_split() {
    let train = parity_graphs(TRAIN_GRAPHS_CODE, TRAIN_NODES, 0, Split::Train);
    assert_eq!(train.len(), 100);
    assert_eq!(
        train,
        parity_graphs(TRAIN_GRAPHS_CODE, TRAIN_NODES, 0, Split::Train)
    );
    assert_ne!(
        train,
        parity_graphs(TRAIN_GRAPHS_CODE, TRAIN_NODES, 1, Split::Train)
    );
    let test = parity_graphs(TRAIN_GRAPHS_CODE, TRAIN_NODES, 0, Split::Test);
    assert_ne!(train, test);
    // Labels vary: both parities occur, and origins are not all the same.
    let origins: BTreeSet<usize> = train.iter().map(|g| g.origin).collect();
    assert!(origins.len() > 5);
    let d = parity_dataset(10, 25, 3, Split::Test);
    assert_eq!(
        d.identity,
        "amp-parity(graphs=10,nodes=25,seed=3,split=test)"
    );
    assert_eq!(d.task, Task::Classification { classes: 2 });
    let graphs = parity_graphs(10, 25, 3, Split::Test);
    let samples: Vec<Sample> = graphs.into_iter().map(|g| g.sample).collect();
    assert_eq!(d.samples, samples);
}

#[test]
fn the_largest_test_size_is_a_valid_graph() {
    let n = *TEST_SIZES.last().unwrap();
    let graphs = parity_graphs(1, n, 0, Split::Test);
    check_graph(&graphs[0], n);
    // A random tree on n nodes is deep (height of order √n): labels of both parities.
    assert!(graphs[0].eccentricity > 10);
}
