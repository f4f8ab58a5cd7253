//! COUNT and SUM (Hogwild paper §6.2): every node of an undirected chain predicts a property
//! of its whole graph.
//!
//! - COUNT(`max_nodes`, `graphs`): chains of sizes `1..=max_nodes`; every node predicts its
//!   graph's number of nodes. The graphs carry no features of their own; the node features
//!   are one-hot node degrees (0, 1 or 2), which the paper gives to GCN and IGNN (a table
//!   can withhold them from a model). Without `graphs`, one chain per size: cross-validation
//!   then holds out sizes never seen in training (an extrapolation test). With `graphs`,
//!   that many chains, sizes `1..=max_nodes` in turn: two chains of one size are the same
//!   graph, so test sizes are seen in training and the task is to find, by message passing,
//!   the size of one's own chain.
//! - SUM(`graphs`, `nodes`): `graphs` chains of `nodes` nodes with binary node features,
//!   each 0 or 1 with probability ½ from the dataset's own random stream; every node predicts
//!   the sum of its graph's features.

use crate::{stream, Dataset, DatasetError, DatasetSize, Task};
use hogwild_graph::{Graph, Sample, Targets};
use hogwild_settings::{at_least, InvalidSetting};
use ndarray::Array2;
use rand::RngExt;

/// Checks the settings of [`count`].
pub fn check_count(max_nodes: usize, graphs: Option<usize>) -> Result<(), InvalidSetting> {
    if max_nodes < 2 {
        return Err(InvalidSetting::new(
            "max_nodes",
            max_nodes,
            "at least two graph sizes are needed",
        ));
    }
    match graphs.filter(|&g| g < max_nodes) {
        Some(g) => Err(InvalidSetting::new(
            "graphs",
            g,
            "every size 1..=max_nodes needs a graph: graphs must be at least max_nodes",
        )),
        None => Ok(()),
    }
}

/// The size of [`count`]'s dataset (at most).
pub fn count_size(max_nodes: usize, graphs: Option<usize>) -> DatasetSize {
    let g = graphs.unwrap_or(max_nodes) as u64;
    let nodes = g.saturating_mul(max_nodes as u64);
    DatasetSize {
        graphs: g,
        nodes,
        edges: nodes.saturating_mul(2),
        feature_dim: 3,
        edge_feature_dim: 0,
        target_dim: 1,
    }
}

/// COUNT: chains of sizes `1..=max_nodes` (one per size, or `graphs` of them with the sizes
/// in turn), one-hot degree features, target = size.
pub fn count(max_nodes: usize, graphs: Option<usize>) -> Result<Dataset, DatasetError> {
    check_count(max_nodes, graphs)?;
    let identity = match graphs {
        None => format!("count(max_nodes={max_nodes})"),
        Some(g) => format!("count(graphs={g},max_nodes={max_nodes})"),
    };
    let samples = (0..graphs.unwrap_or(max_nodes))
        .map(|g| {
            let n = 1 + g % max_nodes;
            let graph = Graph::path(n);
            let features =
                Array2::from_shape_fn((n, 3), |(i, d)| f64::from(u8::from(graph.degree(i) == d)));
            Sample {
                graph,
                features,
                targets: Targets::Values(Array2::from_elem((n, 1), n as f64)),
            }
        })
        .collect();
    Ok(Dataset {
        identity,
        task: Task::Regression { dim: 1 },
        samples,
    })
}

/// Checks the settings of [`sum`].
pub fn check_sum(graphs: usize, nodes: usize) -> Result<(), InvalidSetting> {
    at_least("graphs", graphs as u64, 2)?;
    at_least("nodes", nodes as u64, 1)
}

/// The size of [`sum`]'s dataset.
pub fn sum_size(graphs: usize, nodes: usize) -> DatasetSize {
    let n = (graphs as u64).saturating_mul(nodes as u64);
    DatasetSize {
        graphs: graphs as u64,
        nodes: n,
        edges: n.saturating_mul(2),
        feature_dim: 1,
        edge_feature_dim: 0,
        target_dim: 1,
    }
}

/// SUM: `graphs` chains of `nodes` nodes, binary features, target = the graph's feature sum.
pub fn sum(graphs: usize, nodes: usize, seed: u64) -> Result<Dataset, DatasetError> {
    check_sum(graphs, nodes)?;
    let identity = format!("sum(graphs={graphs},nodes={nodes},seed={seed})");
    let mut rng = stream(&identity);
    let samples = (0..graphs)
        .map(|_| {
            let features =
                Array2::from_shape_fn((nodes, 1), |_| f64::from(u8::from(rng.random::<bool>())));
            let total = features.sum();
            Sample {
                graph: Graph::path(nodes),
                features,
                targets: Targets::Values(Array2::from_elem((nodes, 1), total)),
            }
        })
        .collect();
    Ok(Dataset {
        identity,
        task: Task::Regression { dim: 1 },
        samples,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn count_has_one_chain_per_size_with_degree_features() {
        let d = count(4, None).unwrap();
        assert_eq!(d.samples.len(), 4);
        assert_eq!(d.n_nodes(), 10);
        let s = &d.samples[2];
        assert_eq!(s.targets, Targets::Values(Array2::from_elem((3, 1), 3.0)));
        // degrees 1, 2, 1 as one-hot rows
        assert_eq!(s.features.row(0).to_vec(), vec![0.0, 1.0, 0.0]);
        assert_eq!(s.features.row(1).to_vec(), vec![0.0, 0.0, 1.0]);
        assert_eq!(d.samples[0].features.row(0).to_vec(), vec![1.0, 0.0, 0.0]);
        assert!(count(1, None).is_err());
        assert_eq!(d.identity, "count(max_nodes=4)");
    }

    #[test]
    fn count_with_graphs_takes_the_sizes_in_turn() {
        let d = count(4, Some(10)).unwrap();
        let sizes: Vec<usize> = d.samples.iter().map(|s| s.graph.n_nodes()).collect();
        assert_eq!(sizes, vec![1, 2, 3, 4, 1, 2, 3, 4, 1, 2]);
        for s in &d.samples {
            let n = s.graph.n_nodes();
            assert_eq!(
                s.targets,
                Targets::Values(Array2::from_elem((n, 1), n as f64))
            );
        }
        assert_eq!(d.identity, "count(graphs=10,max_nodes=4)");
        assert_eq!(
            count(4, Some(4)).unwrap().samples,
            count(4, None).unwrap().samples
        );
        let err = count(4, Some(3)).unwrap_err().to_string();
        assert!(err.contains("graphs") && err.contains('3'), "{err}");
    }

    #[test]
    fn sum_is_seeded_and_targets_the_feature_sum() {
        let d = sum(20, 10, 0).unwrap();
        assert_eq!(d.samples.len(), 20);
        assert_eq!(d.samples, sum(20, 10, 0).unwrap().samples);
        assert_ne!(d.samples, sum(20, 10, 1).unwrap().samples);
        for s in &d.samples {
            let total = s.features.sum();
            assert!(s.features.iter().all(|&x| x == 0.0 || x == 1.0));
            assert_eq!(
                s.targets,
                Targets::Values(Array2::from_elem((10, 1), total))
            );
        }
        let totals: Vec<f64> = d.samples.iter().map(|s| s.features.sum()).collect();
        assert!(totals.iter().any(|&t| t != totals[0]), "features vary");
        assert!(sum(1, 10, 0).is_err() && sum(5, 0, 0).is_err());
    }
}
