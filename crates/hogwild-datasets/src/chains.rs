//! The chains dataset (Hogwild paper §6.1): `p` undirected paths of `l` nodes, one per class
//! `k`; the first node of chain `k` has feature `e_k`, every other node has zero features;
//! every node is labelled `k`. Deterministic: there is nothing random in it.

use crate::{Dataset, DatasetError, DatasetSize, Task};
use hogwild_graph::{Graph, Sample, Targets};
use hogwild_settings::{at_least, InvalidSetting};
use ndarray::Array2;

/// Checks the settings of [`generate`] and [`generate_lengths`] (`min_length` defaults to
/// `length`).
pub fn check(
    length: usize,
    classes: usize,
    min_length: Option<usize>,
) -> Result<(), InvalidSetting> {
    at_least("length", length as u64, 1)?;
    at_least("classes", classes as u64, 2)?;
    match min_length {
        Some(0) => at_least("min_length", 0, 1),
        Some(m) if m > length => Err(InvalidSetting::new(
            "min_length",
            m,
            format!("must be at most length ({length})"),
        )),
        _ => Ok(()),
    }
}

/// The size of [`generate_lengths`]'s dataset.
pub fn size(length: usize, classes: usize, min_length: Option<usize>) -> DatasetSize {
    let (l, c) = (length as u64, classes as u64);
    let m = min_length.map_or(l, |m| m as u64).clamp(1, l.max(1));
    let lengths = l + 1 - m;
    // Sum of m..=l, and of the edges (2 per link) of those chains.
    let nodes = (m + l).saturating_mul(lengths) / 2;
    DatasetSize {
        graphs: c.saturating_mul(lengths),
        nodes: nodes.saturating_mul(c),
        edges: nodes
            .saturating_sub(lengths)
            .saturating_mul(2)
            .saturating_mul(c),
        feature_dim: c,
        edge_feature_dim: 0,
        target_dim: 1,
    }
}

/// Generates `classes` chains of `length` nodes.
pub fn generate(length: usize, classes: usize) -> Result<Dataset, DatasetError> {
    generate_lengths(length, length, classes)
}

/// Generates one chain per class of every length in `min_length..=length`, shortest first
/// (all classes of one length side by side): many chains, so that cross-validation holds
/// out whole chains, of lengths the training folds do not contain.
///
/// ```
/// let d = hogwild_datasets::chains::generate_lengths(3, 5, 2).unwrap();
/// assert_eq!(d.samples.len(), 6);
/// assert_eq!(d.identity, "chains(lengths=3..=5,classes=2)");
/// assert_eq!(hogwild_datasets::chains::generate(5, 2).unwrap().identity, "chains(length=5,classes=2)");
/// ```
pub fn generate_lengths(
    min_length: usize,
    length: usize,
    classes: usize,
) -> Result<Dataset, DatasetError> {
    check(length, classes, Some(min_length))?;
    let samples = (min_length..=length)
        .flat_map(|l| (0..classes).map(move |k| (l, k)))
        .map(|(l, k)| {
            let mut features = Array2::zeros((l, classes));
            features[[0, k]] = 1.0;
            Sample {
                graph: Graph::path(l),
                features,
                targets: Targets::Classes(vec![k; l]),
            }
        })
        .collect();
    let identity = if min_length == length {
        format!("chains(length={length},classes={classes})")
    } else {
        format!("chains(lengths={min_length}..={length},classes={classes})")
    };
    Ok(Dataset {
        identity,
        task: Task::Classification { classes },
        samples,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chains_have_class_on_first_node_only() {
        let d = generate(5, 3).unwrap();
        assert_eq!(d.samples.len(), 3);
        assert_eq!(d.n_nodes(), 15);
        assert_eq!(d.feature_dim(), 3);
        let s = &d.samples[2];
        assert_eq!(s.features.row(0).to_vec(), vec![0.0, 0.0, 1.0]);
        assert_eq!(s.features.sum(), 1.0);
        assert_eq!(s.targets, Targets::Classes(vec![2; 5]));
        assert!(s.graph.is_symmetric());
        assert_eq!(s.graph.n_edges(), 8);
    }

    #[test]
    fn impossible_parameters_are_errors() {
        let err = generate(0, 2).unwrap_err();
        assert!(err.to_string().contains("length = 0"), "{err}");
        assert!(generate(3, 1).is_err());
        let err = generate_lengths(4, 3, 2).unwrap_err();
        assert!(err.to_string().contains("min_length = 4"), "{err}");
        assert!(generate_lengths(0, 3, 2).is_err());
    }

    #[test]
    fn a_range_of_lengths_gives_one_chain_per_length_and_class() {
        let d = generate_lengths(2, 4, 3).unwrap();
        let lengths: Vec<usize> = d.samples.iter().map(|s| s.graph.n_nodes()).collect();
        assert_eq!(lengths, vec![2, 2, 2, 3, 3, 3, 4, 4, 4]);
        for (i, s) in d.samples.iter().enumerate() {
            assert_eq!(s.targets, Targets::Classes(vec![i % 3; s.graph.n_nodes()]));
            assert_eq!(s.features[[0, i % 3]], 1.0);
            assert_eq!(s.features.sum(), 1.0);
        }
        let size = size(4, 3, Some(2));
        assert_eq!(size.graphs, 9);
        assert_eq!(size.nodes, d.n_nodes() as u64);
        let edges: usize = d.samples.iter().map(|s| s.graph.n_edges()).sum();
        assert_eq!(size.edges, edges as u64);
        assert_eq!(super::size(5, 2, None).nodes, 10);
    }
}
