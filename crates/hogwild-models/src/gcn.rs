//! GCN (Kipf & Welling 2017): `H⁽ˡ⁺¹⁾ = ReLU(Â H⁽ˡ⁾ Wₗ + bₗ)`, `Â = D̃^{-1/2}(A + I)D̃^{-1/2}`,
//! then a linear readout.
//!
//! Every layer has the same width `k = max(hidden, input width)` and `H⁽⁰⁾` is the node
//! features zero-padded to `k`, so a node running asynchronously can combine neighbour
//! embeddings from any layer (the paper's §4 assumption of a fixed embedding width).

use crate::linalg::{add_row, affine, col_sums, mm, mm_nt, mm_tn, pad_columns};
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

/// GCN settings (`[models.gcn]`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GcnConfig {
    /// Embedding width of every layer (raised to the input width if smaller).
    pub hidden: usize,
    /// Number of message-passing layers.
    pub layers: usize,
    /// Optimiser settings.
    pub train: TrainConfig,
}

impl ModelSpec for GcnConfig {
    const NAME: &'static str = "gcn";
    const DISPLAY: &'static str = "GCN";
    const COST: f64 = 1.0;

    /// Checks the settings; keys are relative to `[models.gcn]`.
    fn check(&self) -> Result<(), InvalidSetting> {
        at_least("hidden", self.hidden as u64, 1)?;
        at_least("layers", self.layers as u64, 1)?;
        self.train.check().map_err(|e| e.under("train"))
    }

    /// The largest allocations of training on (or evaluating) a batch of `size`.
    fn memory(&self, size: &ProblemSize) -> Bytes {
        let width = (self.hidden as u64).max(size.in_dim);
        let layers = self.layers as u64;
        let params = layers
            .saturating_mul(width.saturating_mul(width).saturating_add(width))
            .saturating_add(width.saturating_mul(size.out_dim));
        // Each layer's tape holds Â H and the pre-activation; the backward pass as much again.
        let tape = Bytes::f64s(size.nodes.saturating_mul(width)).times(layers.saturating_mul(4));
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
        Ok(Box::new(Gcn::new(self, dims.in_dim, dims.out_dim, rng)?))
    }
}

/// A GCN with a linear readout.
#[derive(Debug, Clone)]
pub struct Gcn {
    params: Params,
    width: usize,
    layers: Vec<(ParamId, ParamId)>,
    readout: (ParamId, ParamId),
}

struct Tape {
    /// Â H⁽ˡ⁾ for every layer.
    agg: Vec<Array2<f64>>,
    /// Pre-activations of every layer.
    pre: Vec<Array2<f64>>,
    last: Array2<f64>,
}

impl Gcn {
    /// A seeded GCN for `in_dim` features and `out_dim` outputs.
    pub fn new(
        cfg: &GcnConfig,
        in_dim: usize,
        out_dim: usize,
        rng: &mut ChaCha8Rng,
    ) -> Result<Gcn, ModelError> {
        cfg.check()?;
        let width = cfg.hidden.max(in_dim);
        let mut params = Params::default();
        let layers = (0..cfg.layers)
            .map(|l| {
                (
                    params.glorot(&format!("W{l}"), width, width, rng),
                    params.bias(&format!("b{l}"), width),
                )
            })
            .collect();
        let readout = (
            params.glorot("W_out", width, out_dim, rng),
            params.bias("b_out", out_dim),
        );
        Ok(Gcn {
            params,
            width,
            layers,
            readout,
        })
    }

    fn forward(&self, batch: &Batch) -> (Array2<f64>, Tape) {
        let a = batch.gcn_adjacency();
        let mut h = pad_columns(batch.features.view(), self.width);
        let (mut agg, mut pre) = (vec![], vec![]);
        for &(w, b) in &self.layers {
            let ah = a.spmm(h.view());
            let mut z = mm(ah.view(), self.params.get(w).view());
            add_row(&mut z, self.params.get(b).view());
            h = z.mapv(|v| v.max(0.0));
            agg.push(ah);
            pre.push(z);
        }
        let (w, b) = self.readout;
        let out = affine(
            h.view(),
            self.params.get(w).view(),
            self.params.get(b).view(),
        );
        (out, Tape { agg, pre, last: h })
    }
}

impl Model for Gcn {
    fn execution(&self) -> Execution {
        Execution::Explicit {
            updates: self.layers.len(),
        }
    }
    fn name(&self) -> &'static str {
        "gcn"
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
        let (out, tape) = self.forward(batch);
        let (loss, d_out) = task_loss(&out, batch);
        let mut grads = self.params.zeros_like();
        let (wo, bo) = self.readout;
        grads[wo] = mm_tn(tape.last.view(), d_out.view());
        grads[bo] = col_sums(d_out.view());
        let mut dh = mm_nt(d_out.view(), self.params.get(wo).view());
        let at = batch.gcn_adjacency_transpose();
        for (l, &(w, b)) in self.layers.iter().enumerate().rev() {
            let mut dz = dh;
            dz.zip_mut_with(&tape.pre[l], |d, &z| {
                if z <= 0.0 {
                    *d = 0.0
                }
            });
            grads[w] = mm_tn(tape.agg[l].view(), dz.view());
            grads[b] = col_sums(dz.view());
            dh = at.spmm(mm_nt(dz.view(), self.params.get(w).view()).view());
        }
        Ok((loss, grads))
    }

    fn local_rule<'a>(
        &'a self,
        batch: &'a Batch,
        _staleness: Staleness,
    ) -> Result<Box<dyn LocalRule + 'a>, ModelError> {
        Ok(Box::new(GcnRule {
            gcn: self,
            batch,
            graph: batch.gcn_adjacency(),
        }))
    }
}

struct GcnRule<'a> {
    gcn: &'a Gcn,
    batch: &'a Batch,
    graph: &'a Graph,
}

impl LocalRule for GcnRule<'_> {
    fn graph(&self) -> &Graph {
        self.graph
    }
    fn execution(&self) -> Execution {
        self.gcn.execution()
    }
    fn state_len(&self, _i: usize) -> usize {
        self.gcn.width
    }
    fn init(&self, i: usize, out: &mut [f64]) {
        out.fill(0.0);
        for (o, &x) in out.iter_mut().zip(self.batch.features.row(i)) {
            *o = x;
        }
    }
    fn update(&self, i: usize, count: usize, _own: &[f64], views: &[&[f64]], out: &mut [f64]) {
        let (w, b) = self.gcn.layers[count];
        let (w, b) = (self.gcn.params.get(w), self.gcn.params.get(b));
        let mut agg = vec![0.0; self.gcn.width];
        for (e, view) in self.graph.in_edges(i).zip(views) {
            let weight = self.graph.edge(e).1;
            agg.iter_mut()
                .zip(view.iter())
                .for_each(|(a, v)| *a += weight * v);
        }
        for (c, o) in out.iter_mut().enumerate() {
            let mut z = 0.0;
            for (p, a) in agg.iter().enumerate() {
                z += a * w[[p, c]];
            }
            *o = (z + b[[0, c]]).max(0.0);
        }
    }
    fn residual(&self, _states: &[Vec<f64>]) -> f64 {
        0.0
    }
    fn readout(&self, states: &[Vec<f64>]) -> Array2<f64> {
        let h = states_matrix(states, self.gcn.width);
        let (w, b) = self.gcn.readout;
        let params = &self.gcn.params;
        affine(h.view(), params.get(w).view(), params.get(b).view())
    }
}
