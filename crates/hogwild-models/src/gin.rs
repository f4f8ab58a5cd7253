//! GIN (Xu et al. 2019, "How powerful are graph neural networks?"): every layer aggregates
//! a node's own embedding with its in-neighbours' and passes the result through a two-layer
//! perceptron, `h' = ReLU(W₂ ReLU(W₁ agg + b₁) + b₂)`, then a linear readout.
//!
//! The aggregation is a setting, as the AMP paper's baselines need (its MAX benchmark forces
//! max aggregation, MEAN mean aggregation, the others sum):
//! - `sum`: `(1 + ε) hᵢ + Σⱼ hⱼ` with a fixed ε (`eps`; 0 is Xu et al.'s GIN-0);
//! - `mean`: `(hᵢ + Σⱼ hⱼ) / (dᵢ + 1)`;
//! - `max`: the element-wise maximum of `hᵢ` and every `hⱼ` (the gradient goes to the first
//!   maximum, the node's own embedding before its neighbours in edge order).
//!
//! Edge weights are ignored (the raw graph's neighbours count once each). As for GCN, every
//! layer has the same width `k = max(hidden, input width)` and `H⁽⁰⁾` is the features
//! zero-padded to `k`, so asynchronously a node can combine neighbour embeddings of any
//! layer; a node performs exactly `layers` updates (an explicit model).

use crate::linalg::{affine, col_sums, mm_nt, mm_tn, pad_columns};
use crate::loss::task_loss;
use crate::model::{
    states_matrix, Execution, LocalRule, Model, ModelError, ProblemSize, Staleness,
};
use crate::params::{ParamId, Params, TrainConfig};
use crate::registry::{Dims, ModelSpec};
use hogwild_graph::{Batch, Graph};
use hogwild_settings::{at_least, Bytes, InvalidSetting};
use ndarray::Array2;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// How a GIN layer combines a node's embedding with its neighbours'.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Aggregation {
    /// `(1 + ε) hᵢ + Σⱼ hⱼ`.
    #[default]
    Sum,
    /// `(hᵢ + Σⱼ hⱼ) / (dᵢ + 1)`.
    Mean,
    /// Element-wise maximum over the node and its neighbours.
    Max,
}

/// GIN settings (`[models.gin]`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GinConfig {
    /// Embedding width of every layer (raised to the input width if smaller).
    pub hidden: usize,
    /// Number of message-passing layers.
    pub layers: usize,
    /// The aggregation (default `sum`).
    #[serde(default)]
    pub aggregation: Aggregation,
    /// ε of the sum aggregation (fixed, not learned; default 0: GIN-0).
    #[serde(default)]
    pub eps: f64,
    /// Optimiser settings.
    pub train: TrainConfig,
}

impl ModelSpec for GinConfig {
    const NAME: &'static str = "gin";
    const DISPLAY: &'static str = "GIN";
    const COST: f64 = 2.0;

    /// Checks the settings; keys are relative to `[models.gin]`.
    fn check(&self) -> Result<(), InvalidSetting> {
        at_least("hidden", self.hidden as u64, 1)?;
        at_least("layers", self.layers as u64, 1)?;
        if !self.eps.is_finite() {
            return Err(InvalidSetting::new(
                "eps",
                self.eps,
                "must be a finite number",
            ));
        }
        self.train.check().map_err(|e| e.under("train"))
    }

    /// The largest allocations of training on (or evaluating) a batch of `size`.
    fn memory(&self, size: &ProblemSize) -> Bytes {
        let width = (self.hidden as u64).max(size.in_dim);
        let layers = self.layers as u64;
        let params = layers
            .saturating_mul(2)
            .saturating_mul(width.saturating_mul(width).saturating_add(width))
            .saturating_add(width.saturating_mul(size.out_dim));
        // Each layer's tape holds the aggregate, two pre-activations and the hidden layer;
        // max aggregation its arg-maxes; the backward pass as much again.
        let tape = Bytes::f64s(size.nodes.saturating_mul(width)).times(layers.saturating_mul(10));
        Bytes::f64s(params)
            .plus(self.train.optimiser_memory(params))
            .plus(tape)
    }

    /// The longest state of a node in the simulator (one layer's embedding).
    fn state_width(&self, in_dim: u64, _max_degree: u64) -> u64 {
        (self.hidden as u64).max(in_dim)
    }

    fn train(&self) -> &TrainConfig {
        &self.train
    }

    fn build(&self, dims: Dims, rng: &mut ChaCha8Rng) -> Result<Box<dyn Model>, ModelError> {
        Ok(Box::new(Gin::new(self, dims.in_dim, dims.out_dim, rng)?))
    }
}

/// One GIN layer's parameters: the perceptron's two linear maps.
#[derive(Debug, Clone, Copy)]
struct Layer {
    w1: ParamId,
    b1: ParamId,
    w2: ParamId,
    b2: ParamId,
}

/// A GIN with a linear readout.
#[derive(Debug, Clone)]
pub struct Gin {
    params: Params,
    width: usize,
    aggregation: Aggregation,
    eps: f64,
    layers: Vec<Layer>,
    readout: (ParamId, ParamId),
}

/// What one layer's forward pass keeps for the backward pass.
struct LayerTape {
    /// The aggregate.
    agg: Array2<f64>,
    /// Max aggregation: for every node and dimension, the node whose embedding is the
    /// maximum (empty otherwise).
    arg_max: Vec<usize>,
    /// The perceptron's two pre-activations and its hidden layer.
    pre1: Array2<f64>,
    hidden: Array2<f64>,
    pre2: Array2<f64>,
}

impl Gin {
    /// A seeded GIN for `in_dim` features and `out_dim` outputs.
    pub fn new(
        cfg: &GinConfig,
        in_dim: usize,
        out_dim: usize,
        rng: &mut ChaCha8Rng,
    ) -> Result<Gin, ModelError> {
        cfg.check()?;
        let width = cfg.hidden.max(in_dim);
        let mut params = Params::default();
        let layers = (0..cfg.layers)
            .map(|l| Layer {
                w1: params.glorot(&format!("W{l}a"), width, width, rng),
                b1: params.bias(&format!("b{l}a"), width),
                w2: params.glorot(&format!("W{l}b"), width, width, rng),
                b2: params.bias(&format!("b{l}b"), width),
            })
            .collect();
        let readout = (
            params.glorot("W_out", width, out_dim, rng),
            params.bias("b_out", out_dim),
        );
        Ok(Gin {
            params,
            width,
            aggregation: cfg.aggregation,
            eps: cfg.eps,
            layers,
            readout,
        })
    }

    /// Node `i`'s aggregate of its own embedding `own` and its in-neighbours' `views` (in
    /// edge order) into `out`; for max aggregation, also the winner of every dimension
    /// (0: the node itself, `1 + k`: its `k`-th in-neighbour) into `winner`.
    fn aggregate(&self, own: &[f64], views: &[&[f64]], out: &mut [f64], winner: &mut [usize]) {
        match self.aggregation {
            Aggregation::Sum | Aggregation::Mean => {
                let own_weight = match self.aggregation {
                    Aggregation::Sum => 1.0 + self.eps,
                    _ => 1.0,
                };
                for (o, &v) in out.iter_mut().zip(own) {
                    *o = own_weight * v;
                }
                for view in views {
                    for (o, &v) in out.iter_mut().zip(*view) {
                        *o += v;
                    }
                }
                if self.aggregation == Aggregation::Mean {
                    let n = (views.len() + 1) as f64;
                    out.iter_mut().for_each(|o| *o /= n);
                }
            }
            Aggregation::Max => {
                out.copy_from_slice(own);
                winner.fill(0);
                for (k, view) in views.iter().enumerate() {
                    for ((o, w), &v) in out.iter_mut().zip(winner.iter_mut()).zip(*view) {
                        if v > *o {
                            *o = v;
                            *w = k + 1;
                        }
                    }
                }
            }
        }
    }

    /// The perceptron of `layer` on one row: `ReLU(W₂ ReLU(W₁ a + b₁) + b₂)` into `out`.
    fn perceptron_row(&self, layer: &Layer, agg: &[f64], out: &mut [f64]) {
        let affine = |x: &[f64], w: ParamId, b: ParamId, out: &mut [f64]| {
            let (w, b) = (self.params.get(w), self.params.get(b));
            for (c, o) in out.iter_mut().enumerate() {
                let mut z = 0.0;
                for (p, &v) in x.iter().enumerate() {
                    z += v * w[[p, c]];
                }
                *o = (z + b[[0, c]]).max(0.0);
            }
        };
        let mut hidden = vec![0.0; self.width];
        affine(agg, layer.w1, layer.b1, &mut hidden);
        affine(&hidden, layer.w2, layer.b2, out);
    }

    fn forward(&self, batch: &Batch) -> (Array2<f64>, Vec<LayerTape>, Array2<f64>) {
        let graph = &batch.graph;
        let n = graph.n_nodes();
        let mut h = pad_columns(batch.features.view(), self.width);
        let mut tapes = Vec::with_capacity(self.layers.len());
        for layer in &self.layers {
            let mut agg = Array2::zeros((n, self.width));
            let mut arg_max = match self.aggregation {
                Aggregation::Max => vec![0; n * self.width],
                _ => vec![],
            };
            let row = |j: usize| h.row(j).to_slice().expect("standard layout");
            let mut winner = vec![0; self.width];
            for i in 0..n {
                let sources: Vec<usize> = graph.in_edges(i).map(|e| graph.edge(e).0).collect();
                let views: Vec<&[f64]> = sources.iter().map(|&j| row(j)).collect();
                let out = agg.row_mut(i).into_slice().expect("standard layout");
                self.aggregate(row(i), &views, out, &mut winner);
                if !arg_max.is_empty() {
                    // The winner's node: the node itself or an in-neighbour.
                    for (d, &w) in winner.iter().enumerate() {
                        arg_max[i * self.width + d] = if w == 0 { i } else { sources[w - 1] };
                    }
                }
            }
            let p = |id: ParamId| self.params.get(id).view();
            let pre1 = affine(agg.view(), p(layer.w1), p(layer.b1));
            let hidden = pre1.mapv(|v| v.max(0.0));
            let pre2 = affine(hidden.view(), p(layer.w2), p(layer.b2));
            h = pre2.mapv(|v| v.max(0.0));
            tapes.push(LayerTape {
                agg,
                arg_max,
                pre1,
                hidden,
                pre2,
            });
        }
        let (w, b) = self.readout;
        let out = affine(
            h.view(),
            self.params.get(w).view(),
            self.params.get(b).view(),
        );
        (out, tapes, h)
    }

    /// `∂/∂H` of a layer's input from `∂/∂agg`.
    fn aggregate_back(&self, graph: &Graph, tape: &LayerTape, d_agg: &Array2<f64>) -> Array2<f64> {
        let n = graph.n_nodes();
        let mut dh = Array2::zeros((n, self.width));
        match self.aggregation {
            Aggregation::Sum | Aggregation::Mean => {
                for i in 0..n {
                    let scale = match self.aggregation {
                        Aggregation::Mean => 1.0 / (graph.in_edges(i).len() + 1) as f64,
                        _ => 1.0,
                    };
                    let own = match self.aggregation {
                        Aggregation::Sum => 1.0 + self.eps,
                        _ => scale,
                    };
                    for d in 0..self.width {
                        dh[[i, d]] += own * d_agg[[i, d]];
                    }
                    for e in graph.in_edges(i) {
                        let j = graph.edge(e).0;
                        for d in 0..self.width {
                            dh[[j, d]] += scale * d_agg[[i, d]];
                        }
                    }
                }
            }
            Aggregation::Max => {
                for i in 0..n {
                    for d in 0..self.width {
                        dh[[tape.arg_max[i * self.width + d], d]] += d_agg[[i, d]];
                    }
                }
            }
        }
        dh
    }
}

/// `d` with its entries zeroed where `pre ≤ 0` (ReLU's derivative).
fn relu_back(mut d: Array2<f64>, pre: &Array2<f64>) -> Array2<f64> {
    d.zip_mut_with(pre, |v, &z| {
        if z <= 0.0 {
            *v = 0.0
        }
    });
    d
}

impl Model for Gin {
    fn execution(&self) -> Execution {
        Execution::Explicit {
            updates: self.layers.len(),
        }
    }
    fn name(&self) -> &'static str {
        GinConfig::NAME
    }
    fn params(&self) -> &Params {
        &self.params
    }
    fn params_mut(&mut self) -> &mut Params {
        &mut self.params
    }

    fn predict(&mut self, batch: &Batch) -> Result<Array2<f64>, ModelError> {
        Ok(self.forward(batch).0)
    }

    fn loss_and_grads(&mut self, batch: &Batch) -> Result<(f64, Vec<Array2<f64>>), ModelError> {
        let (out, tapes, last) = self.forward(batch);
        let (loss, d_out) = task_loss(&out, batch);
        let mut grads = self.params.zeros_like();
        let (wo, bo) = self.readout;
        grads[wo] = mm_tn(last.view(), d_out.view());
        grads[bo] = col_sums(d_out.view());
        let mut dh = mm_nt(d_out.view(), self.params.get(wo).view());
        for (layer, tape) in self.layers.iter().zip(&tapes).rev() {
            let d_pre2 = relu_back(dh, &tape.pre2);
            grads[layer.w2] = mm_tn(tape.hidden.view(), d_pre2.view());
            grads[layer.b2] = col_sums(d_pre2.view());
            let d_hidden = mm_nt(d_pre2.view(), self.params.get(layer.w2).view());
            let d_pre1 = relu_back(d_hidden, &tape.pre1);
            grads[layer.w1] = mm_tn(tape.agg.view(), d_pre1.view());
            grads[layer.b1] = col_sums(d_pre1.view());
            let d_agg = mm_nt(d_pre1.view(), self.params.get(layer.w1).view());
            dh = self.aggregate_back(&batch.graph, tape, &d_agg);
        }
        Ok((loss, grads))
    }

    fn local_rule<'a>(
        &'a self,
        batch: &'a Batch,
        _staleness: Staleness,
    ) -> Result<Box<dyn LocalRule + 'a>, ModelError> {
        Ok(Box::new(GinRule { gin: self, batch }))
    }
}

/// GIN as a node-local rule: update `l` of node `i` aggregates its own embedding and the
/// neighbour embeddings it reads, then applies layer `l`'s perceptron.
struct GinRule<'a> {
    gin: &'a Gin,
    batch: &'a Batch,
}

impl LocalRule for GinRule<'_> {
    fn graph(&self) -> &Graph {
        &self.batch.graph
    }
    fn execution(&self) -> Execution {
        self.gin.execution()
    }
    fn state_len(&self, _i: usize) -> usize {
        self.gin.width
    }
    fn init(&self, i: usize, out: &mut [f64]) {
        out.fill(0.0);
        for (o, &x) in out.iter_mut().zip(self.batch.features.row(i)) {
            *o = x;
        }
    }
    fn update(&self, _i: usize, count: usize, own: &[f64], views: &[&[f64]], out: &mut [f64]) {
        let mut agg = vec![0.0; self.gin.width];
        let mut winner = vec![0; self.gin.width];
        self.gin.aggregate(own, views, &mut agg, &mut winner);
        self.gin.perceptron_row(&self.gin.layers[count], &agg, out);
    }
    fn residual(&self, _states: &[Vec<f64>]) -> f64 {
        0.0
    }
    fn readout(&self, states: &[Vec<f64>]) -> Array2<f64> {
        let h = states_matrix(states, self.gin.width);
        let (w, b) = self.gin.readout;
        let params = &self.gin.params;
        affine(h.view(), params.get(w).view(), params.get(b).view())
    }
}
