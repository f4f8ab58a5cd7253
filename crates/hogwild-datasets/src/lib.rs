//! Datasets for the hogwild experiments.
//!
//! A [`Dataset`] is a named list of [`Sample`]s with a [`Task`]. Generators are
//! deterministic functions of their parameters (and of a named seed where they are random),
//! so a dataset is identified by its name and parameters ([`Dataset::identity`]).
//! Adding a dataset means adding a module with a generator and a [`DatasetSpec`] variant.

use hogwild_graph::Sample;

pub mod chains;
pub mod synthetic;

/// What the model predicts for every node.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Task {
    /// Node classification into `classes` classes; metric: accuracy.
    Classification {
        /// Number of classes.
        classes: usize,
    },
    /// Node regression of `dim` real outputs.
    Regression {
        /// Output width.
        dim: usize,
    },
}

impl Task {
    /// Width of the model output for this task.
    pub fn output_dim(&self) -> usize {
        match *self {
            Task::Classification { classes } => classes,
            Task::Regression { dim } => dim,
        }
    }
}

/// A generated or loaded dataset.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// Stable identity: generator name and parameters, e.g. `chains(l=10,classes=2)`.
    pub identity: String,
    /// The task.
    pub task: Task,
    /// The graphs.
    pub samples: Vec<Sample>,
}

impl Dataset {
    /// Width of the node features.
    pub fn feature_dim(&self) -> usize {
        self.samples.first().map_or(0, |s| s.features.ncols())
    }

    /// Total number of nodes.
    pub fn n_nodes(&self) -> usize {
        self.samples.iter().map(|s| s.graph.n_nodes()).sum()
    }
}

/// Errors for impossible dataset parameters.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum DatasetError {
    /// A parameter is out of its valid range.
    #[error("dataset {dataset}: {param} = {value} is invalid ({why})")]
    InvalidParameter {
        /// Dataset name.
        dataset: &'static str,
        /// Parameter name.
        param: &'static str,
        /// The offending value.
        value: String,
        /// What is required.
        why: &'static str,
    },
}

/// A dataset request, as written in `harness.toml` (`{ kind = "chains", length = 10, classes = 2 }`).
#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum DatasetSpec {
    /// The chains dataset of Gu et al. / the Hogwild paper.
    Chains {
        /// Nodes per chain.
        length: usize,
        /// Number of classes (one chain per class).
        classes: usize,
    },
}

impl DatasetSpec {
    /// Generates the dataset.
    pub fn build(&self) -> Result<Dataset, DatasetError> {
        match *self {
            DatasetSpec::Chains { length, classes } => chains::generate(length, classes),
        }
    }
}
