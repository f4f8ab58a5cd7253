//! The interface every model implements, and the training loop.

use crate::params::{Adam, Params, TrainConfig};
use hogwild_graph::{Batch, Graph, Sample};
use ndarray::{s, Array2};
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use std::collections::HashMap;

/// Errors raised by models.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ModelError {
    /// A setting is outside its valid range (its key relative to the model's section).
    #[error(transparent)]
    Setting(#[from] hogwild_settings::InvalidSetting),
    /// The input does not fit the model.
    #[error("model {model}: {why}")]
    BadInput {
        /// Model name.
        model: &'static str,
        /// What is wrong.
        why: String,
    },
}

/// The sizes a model's memory depends on: feature widths, and the nodes and edges of the
/// largest batch it trains or evaluates on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProblemSize {
    /// Node feature width.
    pub in_dim: u64,
    /// Edge feature width.
    pub edge_dim: u64,
    /// Output width.
    pub out_dim: u64,
    /// Nodes of the largest batch.
    pub nodes: u64,
    /// Directed edges of the largest batch.
    pub edges: u64,
}

/// Each training graph's last solution of an iterative solve, by sample id: the start of
/// its next solve (warm starts across epochs). The solves it serves converge to a unique
/// solution, so a start changes the cost, and the result only within the solver's tolerance.
#[derive(Debug, Clone, Default)]
pub struct WarmStarts {
    by_id: HashMap<usize, Array2<f64>>,
}

impl WarmStarts {
    /// The start for `batch` (`n_nodes × width`): each named sample's last solution where
    /// there is one of the right shape, zeros elsewhere; `None` when the batch names no
    /// samples.
    pub fn start(&self, batch: &Batch, width: usize) -> Option<Array2<f64>> {
        let ids = batch.ids.as_ref()?;
        let mut start = Array2::zeros((batch.n_nodes(), width));
        for (id, nodes) in ids.iter().zip(batch.sample_ranges()) {
            match self.by_id.get(id) {
                Some(w) if w.dim() == (nodes.len(), width) => {
                    start.slice_mut(s![nodes, ..]).assign(w);
                }
                _ => {}
            }
        }
        Some(start)
    }

    /// Keeps each named sample's rows of `solution` (nothing when the batch names none).
    pub fn store(&mut self, batch: &Batch, solution: &Array2<f64>) {
        if let Some(ids) = &batch.ids {
            for (&id, nodes) in ids.iter().zip(batch.sample_ranges()) {
                self.by_id
                    .insert(id, solution.slice(s![nodes, ..]).to_owned());
            }
        }
    }
}

/// How old an asynchronous execution's reads can be: at most `missed_updates` of a
/// neighbour's latest updates are invisible to a read (0: every read is of the latest
/// version, as in the synchronous schedule).
///
/// ```
/// use hogwild_models::Staleness;
/// assert_eq!(Staleness::SYNCHRONOUS.missed_updates, 0);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Staleness {
    /// The largest number of a neighbour's updates a read can miss.
    pub missed_updates: usize,
}

impl Staleness {
    /// Every read is of the latest version.
    pub const SYNCHRONOUS: Staleness = Staleness { missed_updates: 0 };
}

/// Counters of the iterative solves a model ran (zero for explicit models).
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SolverStats {
    /// Forward solves run.
    pub forward_solves: u64,
    /// Total forward iterations.
    pub forward_iterations: u64,
    /// Forward solves that stopped at their iteration cap.
    pub forward_unconverged: u64,
    /// Backward (adjoint) solves run.
    pub backward_solves: u64,
    /// Total backward iterations (for the energy GNN: Hessian-vector products, one per
    /// conjugate-gradient iteration or `products()` per assembled factor).
    pub backward_iterations: u64,
    /// Backward solves that stopped at their iteration cap.
    pub backward_unconverged: u64,
}

impl SolverStats {
    /// Counts one forward solve of `iterations` iterations.
    pub fn record_forward(&mut self, iterations: usize, converged: bool) {
        self.forward_solves += 1;
        self.forward_iterations += iterations as u64;
        self.forward_unconverged += u64::from(!converged);
    }

    /// Counts one backward (adjoint) solve of `iterations` iterations.
    pub fn record_backward(&mut self, iterations: usize, converged: bool) {
        self.backward_solves += 1;
        self.backward_iterations += iterations as u64;
        self.backward_unconverged += u64::from(!converged);
    }
}

/// How the asynchronous simulator must run a [`LocalRule`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Execution {
    /// Every node performs exactly this many updates (one per layer), then stops.
    Explicit {
        /// Updates per node (the number of layers).
        updates: usize,
    },
    /// Nodes keep updating until [`LocalRule::residual`] falls below the simulator's tolerance.
    Implicit,
}

/// A model's node-local update rule on one batch, as run by the asynchronous simulator.
///
/// Node `i` owns a state vector of [`LocalRule::state_len`] numbers. When it updates, it sees
/// its own latest state and, for each in-edge `e` of [`LocalRule::graph`] (in storage order),
/// a possibly stale view of the source node's state; for a self-loop the view is its own
/// latest state.
pub trait LocalRule: Sync {
    /// The communication graph: node `i` reads the sources of its in-edges.
    fn graph(&self) -> &Graph;
    /// How the rule is to be run.
    fn execution(&self) -> Execution;
    /// Length of node `i`'s state.
    fn state_len(&self, i: usize) -> usize;
    /// Writes node `i`'s initial state.
    fn init(&self, i: usize, out: &mut [f64]);
    /// Node `i`'s update number `count` (0-based) from its own state and its in-edge views.
    /// Must write every entry of `out`: its previous contents are unspecified (the
    /// simulator reuses buffers).
    fn update(&self, i: usize, count: usize, own: &[f64], views: &[&[f64]], out: &mut [f64]);
    /// A hint that node `i` updates soon: prefetch ([`hogwild_graph::prefetch`]) what its
    /// update reads besides the states and the graph, which the simulator prefetches itself.
    /// Must not change any result (default: nothing).
    fn prefetch(&self, _i: usize) {}
    /// Distance of the (fresh, global) state from the model's fixed point; an observer's
    /// measurement used only to stop implicit execution (and zero for explicit rules).
    fn residual(&self, states: &[Vec<f64>]) -> f64;
    /// [`LocalRule::residual`] for the map restricted to the nodes `frozen` does not mark,
    /// the marked ones held at their states (crashed nodes: the observer counts them as
    /// done). Default: the residual over every node, which counts the frozen nodes' own
    /// distance too, so a run with frozen nodes converges only if they happen to sit at
    /// their part of the fixed point.
    fn residual_with_frozen(&self, states: &[Vec<f64>], frozen: &[bool]) -> f64 {
        let _ = frozen;
        self.residual(states)
    }
    /// Model outputs (rows = nodes) from the final states.
    fn readout(&self, states: &[Vec<f64>]) -> Array2<f64>;
}

/// A GNN with synchronous batched execution and a node-local rule.
pub trait Model: Send {
    /// Short name (`gcn`, `ignn`, `energy`).
    fn name(&self) -> &'static str;
    /// The trainable parameters.
    fn params(&self) -> &Params;
    /// The trainable parameters, mutably.
    fn params_mut(&mut self) -> &mut Params;
    /// Synchronous outputs for every node of `batch` (rows = nodes).
    fn predict(&mut self, batch: &Batch) -> Result<Array2<f64>, ModelError>;
    /// Training loss on `batch` (cross-entropy or squared error, by target type) and its
    /// gradient for every parameter, aligned with [`Model::params`].
    fn loss_and_grads(&mut self, batch: &Batch) -> Result<(f64, Vec<Array2<f64>>), ModelError>;
    /// Restores parameter constraints after an optimiser step (default: none).
    fn project(&mut self) {}
    /// How the model's node-local rules run (the same for every batch).
    fn execution(&self) -> Execution;
    /// The node-local rule that computes the same function as [`Model::predict`] on `batch`,
    /// for an execution whose reads are at most `staleness` old (a rule may size its steps
    /// by it; most ignore it).
    fn local_rule<'a>(
        &'a self,
        batch: &'a Batch,
        staleness: Staleness,
    ) -> Result<Box<dyn LocalRule + 'a>, ModelError>;
    /// Solver counters accumulated so far.
    fn stats(&self) -> SolverStats {
        SolverStats::default()
    }
    /// The quantity an implicit model's forward solver stops on (its residual), at every
    /// iteration of the last forward solve (empty for explicit models).
    fn forward_trace(&self) -> &[f64] {
        &[]
    }
}

/// The states of nodes that each hold `width` numbers, as the rows of a matrix.
pub fn states_matrix(states: &[Vec<f64>], width: usize) -> Array2<f64> {
    let mut out = vec![0.0; states.len() * width];
    hogwild_graph::par::fill_rows(&mut out, width, |first, chunk| {
        for (row, state) in chunk.chunks_exact_mut(width).zip(&states[first..]) {
            row.copy_from_slice(&state[..width]);
        }
    });
    Array2::from_shape_vec((states.len(), width), out).expect("n × width")
}

/// What training did.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainLog {
    /// Loss at every epoch (before that epoch's step; with mini-batches, the mean over the
    /// epoch's steps).
    pub losses: Vec<f64>,
}

/// Training with Adam on `samples`: one full-batch step per epoch, or, with
/// `batch_graphs`, steps on consecutive chunks of a fresh random order of the graphs (drawn
/// from `rng`) every epoch. Calls [`Model::project`] after every step.
pub fn train(
    model: &mut dyn Model,
    samples: &[&Sample],
    cfg: &TrainConfig,
    rng: &mut ChaCha8Rng,
) -> Result<TrainLog, ModelError> {
    train_observed(model, samples, cfg, rng, &mut |_, _| Ok(()))
}

/// [`train`], calling `after_epoch(model, epoch)` (1-based) once every epoch's steps are
/// taken: for curves evaluated during training. An error from it stops training.
///
/// ```
/// use hogwild_graph::{Graph, Sample, Targets};
/// use hogwild_models::{gcn::GcnConfig, train_observed, Dims, ModelSpec, TrainConfig};
/// use rand::SeedableRng;
///
/// let sample = Sample {
///     graph: Graph::path(2),
///     features: ndarray::array![[1.0], [0.0]],
///     targets: Targets::Classes(vec![0, 1]),
/// };
/// let train = TrainConfig {
///     epochs: 3,
///     batch_graphs: None,
///     lr: 0.01,
///     weight_decay: 0.0,
///     grad_clip: 0.0,
///     lr_schedule: Default::default(),
/// };
/// let settings = GcnConfig { hidden: 4, layers: 2, train: train.clone() };
/// let dims = Dims { in_dim: 1, edge_dim: 0, out_dim: 2 };
/// let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
/// let mut model = settings.build(dims, &mut rng).unwrap();
/// let mut seen = vec![];
/// let log = train_observed(model.as_mut(), &[&sample], &train, &mut rng, &mut |_, epoch| {
///     seen.push(epoch);
///     Ok(())
/// })
/// .unwrap();
/// assert_eq!(seen, [1, 2, 3]);
/// assert_eq!(log.losses.len(), 3);
/// ```
pub fn train_observed(
    model: &mut dyn Model,
    samples: &[&Sample],
    cfg: &TrainConfig,
    rng: &mut ChaCha8Rng,
    after_epoch: &mut dyn FnMut(&mut dyn Model, usize) -> Result<(), ModelError>,
) -> Result<TrainLog, ModelError> {
    cfg.check().map_err(|e| e.under("train"))?;
    let steps_per_epoch = match cfg.batch_graphs {
        None => 1,
        Some(size) => samples.len().div_ceil(size.max(1)),
    };
    let mut adam = Adam::new(model.params(), cfg, cfg.epochs * steps_per_epoch);
    let mut losses = Vec::with_capacity(cfg.epochs);
    let mut step = |model: &mut dyn Model, batch: &Batch, epoch: usize| {
        let (loss, grads) = model.loss_and_grads(batch)?;
        if !loss.is_finite() {
            return Err(ModelError::BadInput {
                model: model.name(),
                why: format!("training loss became {loss} at epoch {epoch}"),
            });
        }
        adam.step(model.params_mut(), grads);
        model.project();
        Ok(loss)
    };
    model.project();
    match cfg.batch_graphs {
        None => {
            let batch = Batch::new(samples).with_ids((0..samples.len()).collect());
            for epoch in 0..cfg.epochs {
                losses.push(step(model, &batch, epoch)?);
                after_epoch(model, epoch + 1)?;
            }
        }
        Some(size) => {
            let size = size.max(1);
            let mut order: Vec<usize> = (0..samples.len()).collect();
            // One-graph batches recur every epoch: build each once, so its derived matrices
            // (GCN normalisation, spectral radius) are computed once, not once per step.
            let singles: Vec<Batch> = if size == 1 {
                let single = |(g, s): (usize, &&Sample)| Batch::single(s).with_ids(vec![g]);
                samples.iter().enumerate().map(single).collect()
            } else {
                vec![]
            };
            for epoch in 0..cfg.epochs {
                order.shuffle(rng);
                let mut total = 0.0;
                let chunks = order.chunks(size);
                let n_chunks = chunks.len();
                for chunk in chunks {
                    if size == 1 {
                        total += step(model, &singles[chunk[0]], epoch)?;
                        continue;
                    }
                    let part: Vec<&Sample> = chunk.iter().map(|&g| samples[g]).collect();
                    let batch = Batch::new(&part).with_ids(chunk.to_vec());
                    total += step(model, &batch, epoch)?;
                }
                losses.push(total / n_chunks.max(1) as f64);
                after_epoch(model, epoch + 1)?;
            }
        }
    }
    Ok(TrainLog { losses })
}
