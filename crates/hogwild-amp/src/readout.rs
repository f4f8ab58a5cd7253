//! Runs, readouts, the loss and its gradient over a batch of graphs (note §1.4–1.5).
//!
//! - [`Task::Node`]: one run per node `i`, started at `i`; node `i`'s prediction is decoded
//!   from its own state at the end of *its own* run (paper and code).
//! - [`Task::Graph`]: one run from every node; the start nodes' final states are pooled
//!   ([`Pooling`]) and decoded (paper and code).
//! - [`Task::LongRange`]: one run from the origin; every node is decoded (code).
//!
//! ACT and Iter read their accumulators instead of the states. Predictions are
//! `log_softmax(W_dec y + b_dec)`; the loss is the NLL averaged over all predictions of the
//! batch (nodes for node tasks, graphs for graph tasks). Runs are independent: they run in
//! parallel on the current rayon pool, each with its own RNG seeded from a `u64` drawn in
//! order from the caller's stream before any run starts, and per-run gradients are summed in
//! run order, so results do not depend on the number of threads (ours).

use crate::delays::{Budget, Delays};
use crate::engine::Engine;
use crate::model::{matvec_add, matvec_t_add, outer_add, AmpModel};
use crate::scratch::GradBuffers;
use crate::tape::{encode, AmpRun, OutputGrad};
use hogwild_graph::Graph;
use hogwild_models::loss::cross_entropy;
use ndarray::Array2;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// How the start nodes' final states are combined in a graph task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Pooling {
    /// Sum (TU and most of Table 2).
    Sum,
    /// Element-wise maximum, first start node on ties (Table 2's MAX).
    Max,
    /// Mean (Table 2's MEAN).
    Mean,
}

/// What is predicted from which runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Task {
    /// One class per node, each from its own run.
    Node,
    /// One class per graph, from runs started at every node.
    Graph(Pooling),
    /// One class per node, all from one run started at `origin`.
    LongRange { origin: usize },
}

/// One graph with its features, task and labels.
#[derive(Debug, Clone, Copy)]
pub struct Example<'a> {
    /// The graph (undirected: both directions stored).
    pub graph: &'a Graph,
    /// Node features, `n × F`.
    pub features: &'a Array2<f64>,
    /// What to predict.
    pub task: Task,
    /// One label per node ([`Task::Node`], [`Task::LongRange`]) or one for the graph.
    pub labels: &'a [usize],
}

/// The delay model and budget of every run.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RunSettings {
    /// Message delays.
    pub delays: Delays,
    /// Messages per run.
    pub budget: Budget,
}

impl Example<'_> {
    fn starts(&self) -> Vec<usize> {
        match self.task {
            Task::Node | Task::Graph(_) => (0..self.graph.n_nodes()).collect(),
            Task::LongRange { origin } => vec![origin],
        }
    }

    fn predictions(&self) -> usize {
        match self.task {
            Task::Graph(_) => 1,
            _ => self.graph.n_nodes(),
        }
    }
}

/// The runs of one example and the decoder inputs they give.
struct Forward<'m> {
    runs: Vec<AmpRun<'m>>,
    /// Decoder inputs, one row per prediction.
    readout: Array2<f64>,
    /// Max pooling: which run gave each coordinate.
    argmax: Vec<usize>,
}

impl AmpModel {
    /// The runs of `example` from its encoded states `encoded` ([`encode`]).
    fn forward<'m>(
        &'m self,
        example: &Example,
        encoded: &'m [f64],
        settings: &RunSettings,
        seeds: &[u64],
        record: bool,
    ) -> Forward<'m> {
        let hd = self.config.hidden;
        let skip = self.config.skip_readout;
        assert_eq!(
            example.features.nrows(),
            example.graph.n_nodes(),
            "one row per node"
        );
        assert!(
            !skip || matches!(example.task, Task::Graph(_)),
            "the skip readout is for graph tasks"
        );
        let starts = example.starts();
        let runs: Vec<AmpRun> = starts
            .par_iter()
            .zip(seeds)
            .map(|(&start, &seed)| {
                let mut run = AmpRun::new(self, encoded, record);
                run.reserve(settings.budget.messages(example.graph.n_nodes()));
                if skip {
                    run.track_start(start);
                }
                let mut engine = Engine::new(settings.delays, settings.budget);
                let mut rng = ChaCha8Rng::seed_from_u64(seed);
                engine.run(example.graph, &mut run, start, 0, &mut rng);
                run
            })
            .collect();
        let n = example.graph.n_nodes();
        let mut argmax = Vec::new();
        let readout = match example.task {
            Task::Node => Array2::from_shape_fn((n, hd), |(i, j)| runs[i].output(i)[j]),
            Task::LongRange { .. } => Array2::from_shape_fn((n, hd), |(v, j)| runs[0].output(v)[j]),
            Task::Graph(pooling) => {
                let vectors: Vec<Vec<f64>> = runs
                    .iter()
                    .enumerate()
                    .map(|(i, r)| {
                        if skip {
                            r.skip_output()
                        } else {
                            r.output(i).to_vec()
                        }
                    })
                    .collect();
                let width = self.config.readout_width();
                let mut pooled = Array2::zeros((1, width));
                for j in 0..width {
                    let values = vectors.iter().map(|v| v[j]);
                    pooled[(0, j)] = match pooling {
                        Pooling::Sum => values.sum(),
                        Pooling::Mean => values.sum::<f64>() / n as f64,
                        Pooling::Max => {
                            let (best, value) = values.enumerate().fold(
                                (0, f64::NEG_INFINITY),
                                |(b, m), (i, x)| if x > m { (i, x) } else { (b, m) },
                            );
                            argmax.push(best);
                            value
                        }
                    };
                }
                pooled
            }
        };
        Forward {
            runs,
            readout,
            argmax,
        }
    }

    fn decode(&self, readout: &Array2<f64>) -> Array2<f64> {
        let (w, b) = (self.slice(self.ids.dec_w), self.slice(self.ids.dec_b));
        let mut logits = Array2::zeros((readout.nrows(), self.config.classes));
        for (y, mut row) in readout.rows().into_iter().zip(logits.rows_mut()) {
            let row = row.as_slice_mut().expect("contiguous");
            row.copy_from_slice(b);
            matvec_add(row, w, &y.to_vec());
        }
        logits
    }

    fn draw_seeds(batch: &[Example], rng: &mut ChaCha8Rng) -> Vec<Vec<u64>> {
        batch
            .iter()
            .map(|e| e.starts().iter().map(|_| rng.random::<u64>()).collect())
            .collect()
    }

    /// Log-probabilities, one row per prediction of `example` (forward only, no tape).
    pub fn log_probs(
        &self,
        example: &Example,
        settings: &RunSettings,
        rng: &mut ChaCha8Rng,
    ) -> Array2<f64> {
        let seeds = Self::draw_seeds(std::slice::from_ref(example), rng);
        let encoded = encode(self, example.features);
        let fwd = self.forward(example, &encoded, settings, &seeds[0], false);
        log_softmax(&self.decode(&fwd.readout))
    }

    /// Mean NLL over all predictions of `batch` and its gradient, one array per parameter
    /// (in [`AmpModel::params`] order). Draws one seed per run from `rng`, in order.
    pub fn loss_and_grad(
        &self,
        batch: &[Example],
        settings: &RunSettings,
        rng: &mut ChaCha8Rng,
    ) -> (f64, Vec<Array2<f64>>) {
        let seeds = Self::draw_seeds(batch, rng);
        let total: usize = batch.iter().map(Example::predictions).sum();
        let mut loss = 0.0;
        let mut grads = self.params.zeros_like();
        // Examples in parallel, a chunk at a time, each into its own reused buffer; the
        // chunk's losses and gradients are then added in example order.
        let chunk = GradBuffers::chunk_len();
        let mut heads = GradBuffers::take(&self.params, chunk.min(batch.len()));
        for (examples, seeds) in batch.chunks(chunk).zip(seeds.chunks(chunk)) {
            let heads = &mut heads.buffers_mut()[..examples.len()];
            let losses: Vec<f64> = heads
                .par_iter_mut()
                .zip(examples)
                .zip(seeds)
                .map(|((head, example), seeds)| {
                    self.example_loss_and_grad(example, settings, seeds, total, head)
                })
                .collect();
            for (l, g) in losses.into_iter().zip(heads.iter()) {
                loss += l;
                for (acc, x) in grads.iter_mut().zip(g) {
                    *acc += x;
                }
            }
        }
        (loss, grads)
    }

    /// Mean NLL over all predictions of `batch` (forward only; same seeds as
    /// [`AmpModel::loss_and_grad`] from the same stream).
    pub fn loss(&self, batch: &[Example], settings: &RunSettings, rng: &mut ChaCha8Rng) -> f64 {
        let seeds = Self::draw_seeds(batch, rng);
        let total: usize = batch.iter().map(Example::predictions).sum();
        let losses: Vec<f64> = batch
            .par_iter()
            .zip(&seeds)
            .map(|(example, seeds)| {
                let encoded = encode(self, example.features);
                let fwd = self.forward(example, &encoded, settings, seeds, false);
                let (l, _) = cross_entropy(&self.decode(&fwd.readout), example.labels);
                l * example.predictions() as f64 / total as f64
            })
            .collect();
        losses.iter().sum()
    }

    /// The loss of `example` (weighted by its share of the batch's predictions) and,
    /// written to `head` (one array per parameter, overwritten), its gradient.
    fn example_loss_and_grad(
        &self,
        example: &Example,
        settings: &RunSettings,
        seeds: &[u64],
        total: usize,
        head: &mut [Array2<f64>],
    ) -> f64 {
        let n = example.graph.n_nodes();
        let encoded = encode(self, example.features);
        let fwd = self.forward(example, &encoded, settings, seeds, true);
        let logits = self.decode(&fwd.readout);
        assert_eq!(
            logits.nrows(),
            example.labels.len(),
            "one label per prediction"
        );
        let (loss, mut g_logits) = cross_entropy(&logits, example.labels);
        let weight = example.predictions() as f64 / total as f64;
        g_logits *= weight;
        // Decoder.
        head.iter_mut().for_each(|a| a.fill(0.0));
        let mut g_readout = Array2::<f64>::zeros(fwd.readout.raw_dim());
        for ((gl, y), mut gy) in g_logits
            .rows()
            .into_iter()
            .zip(fwd.readout.rows())
            .zip(g_readout.rows_mut())
        {
            let gl = gl.to_vec();
            outer_add(
                head[self.ids.dec_w].as_slice_mut().unwrap(),
                &gl,
                &y.to_vec(),
            );
            crate::cells::add(head[self.ids.dec_b].as_slice_mut().unwrap(), &gl);
            matvec_t_add(gy.as_slice_mut().unwrap(), self.slice(self.ids.dec_w), &gl);
        }
        // Readout: the gradient w.r.t. each run's output states (zero but at the nodes
        // read) or, with the skip readout, its skip vector (`4H`).
        let skip = self.config.skip_readout;
        let pooled: Vec<Vec<f64>> = match example.task {
            Task::Graph(pooling) => (0..n)
                .map(|i| {
                    (0..self.config.readout_width())
                        .map(|j| match pooling {
                            Pooling::Sum => g_readout[(0, j)],
                            Pooling::Mean => g_readout[(0, j)] / n as f64,
                            Pooling::Max if fwd.argmax[j] == i => g_readout[(0, j)],
                            Pooling::Max => 0.0,
                        })
                        .collect()
                })
                .collect(),
            _ => Vec::new(),
        };
        let g_outputs: Vec<(OutputGrad, &[f64])> = match example.task {
            Task::Node => (0..n)
                .map(|i| {
                    let row = g_readout.row(i).to_slice().expect("contiguous");
                    (OutputGrad::Row(i, row), &[][..])
                })
                .collect(),
            Task::LongRange { .. } => vec![(
                OutputGrad::Dense(g_readout.as_slice().expect("contiguous")),
                &[][..],
            )],
            Task::Graph(_) if skip => pooled.iter().map(|g| (OutputGrad::Zero, &g[..])).collect(),
            Task::Graph(_) => pooled
                .iter()
                .enumerate()
                .map(|(i, g)| (OutputGrad::Row(i, g), &[][..]))
                .collect(),
        };
        // Runs in parallel, a chunk at a time, each into its own zeroed buffer; the chunk's
        // gradients are then added to `head` in run order.
        let chunk = GradBuffers::chunk_len();
        let mut buffers = GradBuffers::take(&self.params, chunk.min(fwd.runs.len()));
        for (runs, g_outputs) in fwd.runs.chunks(chunk).zip(g_outputs.chunks(chunk)) {
            let buffers = &mut buffers.buffers_mut()[..runs.len()];
            buffers.par_iter_mut().zip(runs).zip(g_outputs).for_each(
                |((g, run), &(g_states, g_skip))| {
                    g.iter_mut().for_each(|a| a.fill(0.0));
                    run.backward(example.features, g_states, g_skip, g);
                },
            );
            for g in buffers.iter() {
                for (acc, x) in head.iter_mut().zip(g) {
                    *acc += x;
                }
            }
        }
        loss * weight
    }
}

/// Row-wise `log_softmax`.
pub fn log_softmax(logits: &Array2<f64>) -> Array2<f64> {
    use hogwild_models::elementary::{exp_nonpositive, ln_at_least_one};
    let mut out = logits.clone();
    for mut row in out.rows_mut() {
        let max = row.iter().fold(f64::NEG_INFINITY, |m, &x| m.max(x));
        let z: f64 = row.iter().map(|&x| exp_nonpositive(x - max)).sum();
        let log_z = ln_at_least_one(z) + max;
        row.mapv_inplace(|x| x - log_z);
    }
    out
}

/// Share of rows whose largest entry is at the label (first on ties).
pub fn accuracy(log_probs: &Array2<f64>, labels: &[usize]) -> f64 {
    assert_eq!(log_probs.nrows(), labels.len(), "one label per row");
    let correct = log_probs
        .rows()
        .into_iter()
        .zip(labels)
        .filter(|(row, &label)| {
            let best = row
                .iter()
                .enumerate()
                .fold(
                    (0, f64::NEG_INFINITY),
                    |(b, m), (i, &x)| if x > m { (i, x) } else { (b, m) },
                );
            best.0 == label
        })
        .count();
    correct as f64 / labels.len().max(1) as f64
}
