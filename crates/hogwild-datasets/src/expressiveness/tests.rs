use super::wl::{best_graph_accuracy, best_node_accuracy, colours, Aggregation};
use super::*;
use std::collections::{BTreeMap, BTreeSet};

fn labels(s: &Sample) -> &[usize] {
    match &s.targets {
        Targets::Classes(c) => c,
        other => panic!("class targets expected, got {other:?}"),
    }
}

fn adjacent(s: &Sample, a: usize, b: usize) -> bool {
    s.graph.find_edge(b, a).is_some()
}

fn degrees(s: &Sample) -> Vec<usize> {
    (0..s.graph.n_nodes()).map(|v| s.graph.degree(v)).collect()
}

/// The undirected edges `(a, b)`, `a < b`, checking the graph is simple and symmetric.
fn simple_edges(s: &Sample) -> BTreeSet<(usize, usize)> {
    assert!(s.graph.is_symmetric());
    let mut edges = BTreeSet::new();
    for v in 0..s.graph.n_nodes() {
        for (u, w) in s.graph.neighbours(v) {
            assert_ne!(u, v, "self-loop at {v}");
            assert_eq!(w, 1.0);
            edges.insert((u.min(v), u.max(v)));
        }
    }
    assert_eq!(2 * edges.len(), s.graph.n_edges(), "no multi-edges");
    edges
}

/// Sizes of the connected components, by a search of our own.
fn component_sizes(s: &Sample) -> Vec<usize> {
    let n = s.graph.n_nodes();
    let mut seen = vec![false; n];
    let mut sizes = vec![];
    for start in 0..n {
        if seen[start] {
            continue;
        }
        seen[start] = true;
        let (mut queue, mut size) = (vec![start], 0);
        while let Some(v) = queue.pop() {
            size += 1;
            for (u, seen_u) in seen.iter_mut().enumerate() {
                if !*seen_u && adjacent(s, v, u) {
                    *seen_u = true;
                    queue.push(u);
                }
            }
        }
        sizes.push(size);
    }
    sizes.sort_unstable();
    sizes
}

fn one_hot_colour(s: &Sample, v: usize) -> usize {
    let row = s.features.row(v);
    assert_eq!(row.sum(), 1.0, "one-hot row {v}");
    row.iter().position(|&x| x == 1.0).unwrap()
}

fn count(labels: &[usize], class: usize) -> usize {
    labels.iter().filter(|&&l| l == class).count()
}

#[test]
fn recipes_hold_the_papers_settings() {
    let hidden: Vec<usize> = Benchmark::TABLE2
        .iter()
        .map(|b| b.recipe().hidden)
        .collect();
    assert_eq!(hidden, [16, 16, 16, 16, 32, 32, 16, 32]);
    let classes: Vec<usize> = Benchmark::TABLE2
        .iter()
        .map(|b| b.recipe().classes)
        .collect();
    assert_eq!(classes, [2, 2, 2, 3, 20, 10, 2, 10]);
    // The code's absolute budgets are 5n.
    let budget = |b: Benchmark, n| b.recipe().budget(n);
    assert_eq!(budget(Benchmark::Limits1, 16), 80);
    assert_eq!(budget(Benchmark::Triangles, 60), 300);
    assert_eq!(budget(Benchmark::Lcc, 10), 50);
    assert_eq!(budget(Benchmark::Max, 8), 40);
    assert_eq!(budget(Benchmark::FourCycles, 16), 80);
    assert_eq!(budget(Benchmark::SkipCycles, 41), 205);
    assert_eq!(
        Benchmark::Max.recipe().level,
        Level::Graph { pool: Pool::Max }
    );
    assert_eq!(
        Benchmark::Mean.recipe().level,
        Level::Graph { pool: Pool::Mean }
    );
    assert_eq!(Benchmark::SkipCycles.recipe().baseline_layers, &[4, 9]);
    for b in Benchmark::ALL {
        let r = b.recipe();
        assert_eq!(r.message_size, 3);
        let d = b.generate(0, Split::Train);
        assert_eq!(d.feature_dim(), r.feature_dim, "{}", r.name);
        assert_eq!(d.task, Task::Classification { classes: r.classes });
        for s in &d.samples {
            assert!(labels(s).iter().all(|&l| l < r.classes));
            if matches!(r.level, Level::Graph { .. }) {
                assert!(graph_class(s).is_some());
            }
        }
    }
}

#[test]
fn limits1_is_two_squares_against_an_octagon() {
    let s = &Benchmark::Limits1.generate(0, Split::Train).samples[0];
    assert_eq!(s.graph.n_nodes(), 16);
    assert_eq!(simple_edges(s).len(), 16);
    assert!(degrees(s).iter().all(|&d| d == 2));
    assert_eq!(component_sizes(s), [4, 4, 8]);
    assert!(adjacent(s, 3, 0) && adjacent(s, 15, 8) && !adjacent(s, 7, 8));
    assert_eq!(labels(s), [[0; 8], [1; 8]].concat());
    assert!((0..16).all(|v| one_hot_colour(s, v) == v % 4));
}

#[test]
fn limits2_has_the_notes_degrees() {
    let s = &Benchmark::Limits2.generate(0, Split::Train).samples[0];
    let edges = simple_edges(s);
    assert_eq!(edges.len(), 20);
    assert_eq!(component_sizes(s), [4, 4, 8]);
    for v in 0..16 {
        let colour = one_hot_colour(s, v);
        assert_eq!(colour, v % 4);
        // Degree 3 at colours 1 and 3, degree 2 at colours 0 and 2 (note).
        assert_eq!(s.graph.degree(v), 2 + colour % 2, "node {v}");
    }
    for chord in [(1, 3), (5, 7), (9, 15), (11, 13)] {
        assert!(edges.contains(&chord), "{chord:?}");
    }
    assert_eq!(labels(s), [[0; 8], [1; 8]].concat());
}

#[test]
fn triangles_labels_are_triangle_membership() {
    for seed in 0..3 {
        for split in [Split::Train, Split::Test] {
            let d = Benchmark::Triangles.generate(seed, split);
            assert_eq!(d.samples.len(), 1);
            let s = &d.samples[0];
            assert_eq!(s.graph.n_nodes(), 60);
            assert_eq!(simple_edges(s).len(), 90);
            assert!(degrees(s).iter().all(|&d| d == 3));
            assert!(s.features.iter().all(|&x| x == 1.0));
            let mut in_triangle = [false; 60];
            for a in 0..60 {
                for b in a + 1..60 {
                    for c in b + 1..60 {
                        if adjacent(s, a, b) && adjacent(s, b, c) && adjacent(s, a, c) {
                            for v in [a, b, c] {
                                in_triangle[v] = true;
                            }
                        }
                    }
                }
            }
            let expected: Vec<usize> = in_triangle.iter().map(|&t| usize::from(t)).collect();
            assert_eq!(labels(s), expected);
            assert!(count(labels(s), 0) >= 20 && count(labels(s), 1) >= 20);
        }
    }
}

#[test]
fn lcc_labels_count_the_edges_among_neighbours() {
    for seed in 0..3 {
        for split in [Split::Train, Split::Test] {
            let d = Benchmark::Lcc.generate(seed, split);
            assert_eq!(d.samples.len(), 6);
            let mut all = vec![];
            for s in &d.samples {
                assert_eq!(s.graph.n_nodes(), 10);
                assert_eq!(simple_edges(s).len(), 15);
                assert!(degrees(s).iter().all(|&d| d == 3));
                assert_eq!(component_sizes(s), [10]);
                for v in 0..10 {
                    let nb: Vec<usize> = (0..10).filter(|&u| adjacent(s, v, u)).collect();
                    let among = (0..3)
                        .flat_map(|i| (i + 1..3).map(move |j| (i, j)))
                        .filter(|&(i, j)| adjacent(s, nb[i], nb[j]))
                        .count();
                    assert_eq!(labels(s)[v], among, "node {v}");
                }
                all.extend_from_slice(labels(s));
            }
            assert!((0..3).all(|l| count(&all, l) >= 10), "{all:?}");
        }
    }
}

#[test]
fn max_stars_have_k_leaves_and_class_k_minus_one() {
    let d = Benchmark::Max.generate(0, Split::Train);
    assert_eq!(d.samples.len(), 20);
    for (i, s) in d.samples.iter().enumerate() {
        let k = i + 1;
        assert_eq!(s.graph.n_nodes(), k + 1);
        assert_eq!(simple_edges(s).len(), k);
        assert_eq!(s.graph.degree(0), k);
        assert!((1..=k).all(|leaf| s.graph.degree(leaf) == 1 && adjacent(s, 0, leaf)));
        assert_eq!(s.features.ncols(), 32);
        assert_eq!(one_hot_colour(s, 0), 0);
        assert!((1..=k).all(|leaf| one_hot_colour(s, leaf) == 1));
        assert_eq!(graph_class(s), Some(k - 1));
    }
}

#[test]
fn mean_stars_have_k_leaves_of_each_colour() {
    let d = Benchmark::Mean.generate(0, Split::Train);
    assert_eq!(d.samples.len(), 10);
    for (i, s) in d.samples.iter().enumerate() {
        let k = i + 1;
        assert_eq!(s.graph.n_nodes(), 2 * k + 1);
        assert_eq!(s.graph.degree(0), 2 * k);
        assert_eq!(one_hot_colour(s, 0), 0);
        let leaf_colours: Vec<usize> = (1..=2 * k).map(|v| one_hot_colour(s, v)).collect();
        assert_eq!((count(&leaf_colours, 1), count(&leaf_colours, 2)), (k, k));
        assert_eq!(graph_class(s), Some(k - 1));
    }
}

/// Whether the graph has a 4-cycle, by trying every ordered 4-tuple of distinct nodes.
fn has_four_cycle(s: &Sample) -> bool {
    let n = s.graph.n_nodes();
    (0..n).any(|a| {
        (0..n).any(|b| {
            b != a
                && adjacent(s, a, b)
                && (0..n).any(|c| {
                    c != a
                        && adjacent(s, b, c)
                        && (0..n)
                            .any(|d| d != b && d != c && adjacent(s, c, d) && adjacent(s, d, a))
                })
        })
    })
}

#[test]
fn four_cycles_are_labelled_by_a_brute_force_search() {
    for seed in 0..2 {
        for split in [Split::Train, Split::Test] {
            let d = Benchmark::FourCycles.generate(seed, split);
            assert_eq!(d.samples.len(), 50);
            let classes: Vec<usize> = d.samples.iter().map(|s| graph_class(s).unwrap()).collect();
            assert_eq!((count(&classes, 0), count(&classes, 1)), (25, 25));
            for s in &d.samples {
                assert_eq!(s.graph.n_nodes(), 16);
                assert!(degrees(s).iter().all(|&d| d == 2));
                assert_eq!(simple_edges(s).len(), 16);
                for i in 0..4 {
                    assert!(adjacent(s, i, 8 + i) && adjacent(s, 4 + i, 12 + i));
                    assert_eq!((4..8).filter(|&b| adjacent(s, i, b)).count(), 1);
                    assert_eq!((12..16).filter(|&d| adjacent(s, 8 + i, d)).count(), 1);
                }
                assert_eq!(graph_class(s), Some(usize::from(has_four_cycle(s))));
            }
        }
    }
}

#[test]
fn skip_cycles_have_one_chord_length_each() {
    let d = Benchmark::SkipCycles.generate(0, Split::Train);
    assert_eq!(d.samples.len(), 10);
    for (class, s) in d.samples.iter().enumerate() {
        assert_eq!(s.graph.n_nodes(), 41);
        assert!(degrees(s).iter().all(|&d| d == 4));
        assert!(s.features.iter().all(|&x| x == 1.0));
        let mut lengths = BTreeMap::new();
        for (a, b) in simple_edges(s) {
            let gap = b - a;
            *lengths.entry(gap.min(41 - gap)).or_insert(0) += 1;
        }
        assert_eq!(lengths, BTreeMap::from([(1, 41), (SKIPS[class], 41)]));
        assert_eq!(graph_class(s), Some(class));
    }
}

#[test]
fn rook_and_shrikhande_are_both_srg_16_6_2_2() {
    let d = Benchmark::RookShrikhande.generate(0, Split::Train);
    let neighbourhood_components: Vec<Vec<usize>> = d
        .samples
        .iter()
        .map(|s| {
            assert!(degrees(s).iter().all(|&d| d == 6));
            for a in 0..16 {
                for b in a + 1..16 {
                    let common = (0..16)
                        .filter(|&c| adjacent(s, a, c) && adjacent(s, b, c))
                        .count();
                    assert_eq!(common, 2, "λ = μ = 2 at ({a}, {b})");
                }
            }
            // The subgraph induced by node 0's neighbours.
            let nb: Vec<usize> = (0..16).filter(|&u| adjacent(s, 0, u)).collect();
            let pairs: Vec<(usize, usize)> = (0..6)
                .flat_map(|i| (i + 1..6).map(move |j| (i, j)))
                .filter(|&(i, j)| adjacent(s, nb[i], nb[j]))
                .collect();
            let induced = sample(6, &pairs, Array2::zeros((6, 1)), vec![0; 6]);
            component_sizes(&induced)
        })
        .collect();
    // Two triangles in the rook's graph, a hexagon in the Shrikhande graph.
    assert_eq!(neighbourhood_components, [vec![3, 3], vec![6]]);
}

#[test]
fn random_benchmarks_are_seeded_per_split() {
    for b in Benchmark::ALL {
        let train = b.generate(3, Split::Train);
        assert_eq!(train.samples, b.generate(3, Split::Train).samples);
        let others = [b.generate(4, Split::Train), b.generate(3, Split::Test)];
        for other in others {
            assert_eq!(
                other.samples != train.samples,
                b.recipe().random,
                "{}",
                other.identity
            );
            assert_eq!(other.identity != train.identity, b.recipe().random);
        }
    }
    assert_eq!(
        Benchmark::FourCycles.identity(2, Split::Test),
        "amp-4-cycles(seed=2,split=test)"
    );
    assert_eq!(
        Benchmark::SkipCycles.identity(2, Split::Test),
        "amp-skip-cycles"
    );
}

#[test]
fn one_wl_bounded_models_are_at_the_closed_form_accuracy() {
    for b in Benchmark::ALL {
        let r = b.recipe();
        let Some(closed_form) = r.one_wl_accuracy else {
            continue;
        };
        for seed in 0..2 {
            let test = b.generate(seed, Split::Test).samples;
            let best = match r.level {
                Level::Node => best_node_accuracy(&test, Aggregation::Multiset),
                Level::Graph { pool: Pool::Max } => best_graph_accuracy(&test, Aggregation::Set),
                Level::Graph { .. } => best_graph_accuracy(&test, Aggregation::Multiset),
            };
            assert_eq!(best, closed_form, "{} seed {seed}", r.name);
            // Chance: the best map does no better than the largest class.
            let classes: Vec<usize> = test.iter().flat_map(|s| labels(s).to_vec()).collect();
            let largest = (0..r.classes).map(|c| count(&classes, c)).max().unwrap();
            if r.level == Level::Node {
                assert_eq!(best, largest as f64 / classes.len() as f64);
            }
        }
    }
    // Every MAX star gives the same colour set, while multisets tell them all apart (so the
    // check above can fail).
    let stars = Benchmark::Max.generate(0, Split::Test).samples;
    assert_eq!(best_graph_accuracy(&stars, Aggregation::Multiset), 1.0);
    let sets: BTreeSet<Vec<usize>> = colours(&stars, Aggregation::Set)
        .into_iter()
        .map(|c| c.into_iter().collect::<BTreeSet<_>>().into_iter().collect())
        .collect();
    assert_eq!(sets.len(), 1);
}

#[test]
fn one_wl_cannot_tell_nodes_of_a_regular_constant_graph_apart() {
    // Triangles and LCC have no closed-form cell, but a 1-WL model predicts one class for
    // every node of them: all nodes share one colour.
    for b in [Benchmark::Triangles, Benchmark::Lcc] {
        let d = b.generate(0, Split::Test);
        let all: BTreeSet<usize> = colours(&d.samples, Aggregation::Multiset)
            .into_iter()
            .flatten()
            .collect();
        assert_eq!(all.len(), 1, "{}", d.identity);
    }
    // A Limits1 whose octagon is cut into a path is told apart (the helper can separate).
    let mut cut = Benchmark::Limits1.generate(0, Split::Train).samples[0].clone();
    let mut pairs: Vec<(usize, usize)> = simple_edges(&cut).into_iter().collect();
    pairs.retain(|&p| p != (8, 15));
    cut.graph = Graph::undirected(16, &pairs).unwrap();
    assert!(best_node_accuracy(&[cut], Aggregation::Multiset) > 0.5);
}

#[test]
fn random_regular_is_uniform_on_six_nodes() {
    // Labelled simple cubic graphs on 6 nodes: 60 prisms (two triangles) and 10 copies of
    // K3,3 (none), so a uniform draw is a prism with probability 6/7.
    let mut rng = stream("test/random-regular");
    let draws = 7000;
    let prisms = (0..draws)
        .filter(|_| {
            let pairs = random::random_regular(6, 3, &mut rng);
            let has = |a: usize, b: usize| pairs.contains(&(a.min(b), a.max(b)));
            (0..6).any(|a| {
                (a + 1..6).any(|b| (b + 1..6).any(|c| has(a, b) && has(b, c) && has(a, c)))
            })
        })
        .count();
    assert!((5850..6150).contains(&prisms), "{prisms} prisms of {draws}");
}

#[test]
fn limits1_snapshot() {
    let s = &Benchmark::Limits1.generate(0, Split::Train).samples[0];
    let edges: Vec<String> = simple_edges(s)
        .into_iter()
        .map(|(a, b)| format!("{a}-{b}"))
        .collect();
    let text = format!(
        "edges {}\nfeatures {}\ntargets {:?}",
        edges.join(" "),
        s.features,
        s.targets
    );
    insta::assert_snapshot!(text);
}

proptest::proptest! {
    #![proptest_config(proptest::test_runner::Config {
        cases: 64,
        rng_seed: proptest::test_runner::RngSeed::Fixed(28),
        failure_persistence: None,
        ..proptest::test_runner::Config::default()
    })]

    #[test]
    fn random_regular_graphs_are_simple_and_regular(
        half_n in 2usize..30,
        degree in 1usize..5,
        seed in proptest::prelude::any::<u64>(),
    ) {
        // An even n admits every degree below it.
        let n = 2 * half_n;
        proptest::prop_assume!(degree < n);
        let pairs = random::random_regular(n, degree, &mut stream(&format!("test/{seed}")));
        let s = sample(n, &pairs, Array2::ones((n, 1)), vec![0; n]);
        proptest::prop_assert_eq!(simple_edges(&s).len(), n * degree / 2);
        proptest::prop_assert!(degrees(&s).iter().all(|&d| d == degree));
    }
}
