//! Table 4's graphs as AMP reads them (code): a TU dataset filtered and featurised by its
//! [`TuDataset`] settings, each graph with its class.

use super::config::TuDataset;
use hogwild_datasets::expressiveness::graph_class;
use hogwild_datasets::DatasetError;
use hogwild_graph::Graph;
use hogwild_settings::{InvalidSetting, MemoryBudget};
use ndarray::Array2;
use std::path::Path;

/// What Table 4's jobs read besides their settings: every dataset's graphs, and the
/// baselines' registry settings (`[models.NAME]` of every baseline row).
#[derive(Debug, Clone)]
pub struct TuData {
    /// The datasets, in the order of the settings.
    pub datasets: Vec<TuGraphs>,
    /// `[models]` of the baseline rows only (their `hidden` and `train` are the table's).
    pub models: hogwild_models::ModelsConfig,
}

/// One dataset's graphs after the filters.
#[derive(Debug, Clone)]
pub struct TuGraphs {
    /// The files' identity (`tu(name=…,sha256=…)`) and the filters applied.
    pub identity: String,
    /// The graphs kept, in file order.
    pub graphs: Vec<Graph>,
    /// Node features, one matrix per graph.
    pub features: Vec<Array2<f64>>,
    /// Each graph's class, numbered from 0 in sorted label order.
    pub classes: Vec<usize>,
    /// Number of classes.
    pub n_classes: usize,
    /// Graphs in the files.
    pub in_files: usize,
}

impl TuGraphs {
    /// Node-feature width.
    pub fn feature_width(&self) -> usize {
        self.features.first().map_or(0, |f| f.ncols())
    }

    /// Nodes over all graphs.
    pub fn nodes(&self) -> usize {
        self.graphs.iter().map(Graph::n_nodes).sum()
    }
}

/// Reads `spec`'s files from `data_dir` and applies its filters and features.
pub fn load(
    data_dir: &Path,
    spec: &TuDataset,
    budget: &MemoryBudget,
) -> Result<TuGraphs, DatasetError> {
    let data =
        hogwild_datasets::tu::load_within(data_dir, &spec.name, spec.sha256.as_deref(), budget)?;
    let in_files = data.samples.len();
    let mut kept: Vec<_> = data
        .samples
        .into_iter()
        .filter(|s| {
            let (n, edges) = (s.graph.n_nodes(), s.graph.n_edges() / 2);
            spec.max_nodes.is_none_or(|m| n <= m) && !spec.drop_shapes.contains(&[n, edges])
        })
        .collect();
    if let Some(first) = spec.first_graphs {
        kept.truncate(first);
    }
    let mut features = Vec::with_capacity(kept.len());
    for s in &kept {
        features.push(match spec.degree_features {
            None => s.features.clone(),
            Some(width) => one_hot_degrees(&s.graph, width)?,
        });
    }
    let classes: Vec<usize> = kept
        .iter()
        .map(|s| graph_class(s).expect("a TU graph's nodes carry its class"))
        .collect();
    let n_classes = classes.iter().max().map_or(0, |&c| c + 1);
    let identity = format!(
        "{}|max_nodes={:?}|drop_shapes={:?}|degree_features={:?}|first_graphs={:?}",
        data.identity, spec.max_nodes, spec.drop_shapes, spec.degree_features, spec.first_graphs
    );
    if n_classes < 2 || kept.is_empty() {
        return Err(DatasetError::Setting(InvalidSetting::new(
            "max_nodes",
            format!("{:?}", spec.max_nodes),
            format!(
                "{} graphs of {in_files} are left after the filters, with {n_classes} class(es): classification needs two",
                kept.len()
            ),
        )));
    }
    Ok(TuGraphs {
        identity,
        graphs: kept.into_iter().map(|s| s.graph).collect(),
        features,
        classes,
        n_classes,
        in_files,
    })
}

/// PyTorch's `one_hot(degree, num_classes = width)` (code, IMDB).
fn one_hot_degrees(graph: &Graph, width: usize) -> Result<Array2<f64>, DatasetError> {
    let mut x = Array2::zeros((graph.n_nodes(), width));
    for v in 0..graph.n_nodes() {
        let d = graph.degree(v);
        if d >= width {
            return Err(DatasetError::Setting(InvalidSetting::new(
                "degree_features",
                width,
                format!("a node has degree {d}: one-hot degrees need at least {} classes (or a smaller max_nodes)", d + 1),
            )));
        }
        x[(v, d)] = 1.0;
    }
    Ok(x)
}
