//! 1-WL colour refinement and the best accuracy a colour-bounded classifier can reach, for
//! the tests' closed-form checks (a model bounded by 1-WL predicts equal outputs for equal
//! colours, so its accuracy is at most that of the best colour → class map).

use super::graph_class;
use hogwild_graph::{Sample, Targets};
use std::collections::BTreeMap;

/// What a node sees of its neighbours' colours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Aggregation {
    /// Their multiset (sum aggregation; 1-WL proper).
    Multiset,
    /// Their set (max aggregation).
    Set,
}

/// The stable colours of every node of every sample, refined jointly (one palette for all
/// graphs), starting from the feature rows.
pub(super) fn colours(samples: &[Sample], aggregation: Aggregation) -> Vec<Vec<usize>> {
    let mut palette = BTreeMap::new();
    let mut current: Vec<Vec<usize>> = samples
        .iter()
        .map(|s| {
            (0..s.graph.n_nodes())
                .map(|v| {
                    let key: Vec<u64> = s.features.row(v).iter().map(|x| x.to_bits()).collect();
                    let fresh = palette.len();
                    *palette.entry(key).or_insert(fresh)
                })
                .collect()
        })
        .collect();
    let mut count = palette.len();
    loop {
        let mut palette = BTreeMap::new();
        let next: Vec<Vec<usize>> = samples
            .iter()
            .zip(&current)
            .map(|(s, colour)| {
                (0..s.graph.n_nodes())
                    .map(|v| {
                        let mut seen: Vec<usize> =
                            s.graph.neighbours(v).map(|(u, _)| colour[u]).collect();
                        seen.sort_unstable();
                        if aggregation == Aggregation::Set {
                            seen.dedup();
                        }
                        let fresh = palette.len();
                        *palette.entry((colour[v], seen)).or_insert(fresh)
                    })
                    .collect()
            })
            .collect();
        current = next;
        // Each round refines the last (the key holds the old colour): stable when no class
        // splits.
        if palette.len() == count {
            return current;
        }
        count = palette.len();
    }
}

/// The fraction of `items` a classifier reaches at best when it must give items of one key
/// one class.
fn best_by_key<K: Ord>(items: impl Iterator<Item = (K, usize)>) -> f64 {
    let mut counts: BTreeMap<K, BTreeMap<usize, usize>> = BTreeMap::new();
    let mut total = 0;
    for (key, class) in items {
        *counts.entry(key).or_default().entry(class).or_default() += 1;
        total += 1;
    }
    let best: usize = counts
        .values()
        .map(|c| c.values().copied().max().unwrap_or(0))
        .sum();
    best as f64 / total as f64
}

/// Best node accuracy of a map from a node's 1-WL colour to a class.
pub(super) fn best_node_accuracy(samples: &[Sample], aggregation: Aggregation) -> f64 {
    let colours = colours(samples, aggregation);
    best_by_key(samples.iter().zip(&colours).flat_map(|(s, c)| {
        let Targets::Classes(labels) = &s.targets else {
            panic!("class targets")
        };
        c.iter().copied().zip(labels.iter().copied())
    }))
}

/// Best graph accuracy of a map from a graph's pooled 1-WL colours (their multiset for
/// [`Aggregation::Multiset`], their set for [`Aggregation::Set`]) to a class.
pub(super) fn best_graph_accuracy(samples: &[Sample], aggregation: Aggregation) -> f64 {
    let colours = colours(samples, aggregation);
    best_by_key(samples.iter().zip(colours).map(|(s, mut c)| {
        c.sort_unstable();
        if aggregation == Aggregation::Set {
            c.dedup();
        }
        (c, graph_class(s).expect("a graph-level sample"))
    }))
}
