//! The chains dataset (Hogwild paper §6.1): `p` undirected paths of `l` nodes, one per class
//! `k`; the first node of chain `k` has feature `e_k`, every other node has zero features;
//! every node is labelled `k`. Deterministic: there is nothing random in it.

use crate::{Dataset, DatasetError, DatasetSize, Task};
use hogwild_graph::{Graph, Sample, Targets};
use hogwild_settings::{at_least, InvalidSetting};
use ndarray::Array2;

/// Checks the settings of [`generate`].
pub fn check(length: usize, classes: usize) -> Result<(), InvalidSetting> {
    at_least("length", length as u64, 1)?;
    at_least("classes", classes as u64, 2)
}

/// The size of [`generate`]'s dataset.
pub fn size(length: usize, classes: usize) -> DatasetSize {
    let (l, c) = (length as u64, classes as u64);
    DatasetSize {
        graphs: c,
        nodes: l.saturating_mul(c),
        edges: l.saturating_sub(1).saturating_mul(2).saturating_mul(c),
        feature_dim: c,
        edge_feature_dim: 0,
        target_dim: 1,
    }
}

/// Generates `classes` chains of `length` nodes.
pub fn generate(length: usize, classes: usize) -> Result<Dataset, DatasetError> {
    check(length, classes)?;
    let samples = (0..classes)
        .map(|k| {
            let mut features = Array2::zeros((length, classes));
            features[[0, k]] = 1.0;
            Sample {
                graph: Graph::path(length),
                features,
                targets: Targets::Classes(vec![k; length]),
            }
        })
        .collect();
    Ok(Dataset {
        identity: format!("chains(length={length},classes={classes})"),
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
    }
}
