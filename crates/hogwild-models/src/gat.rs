//! GAT (Veličković et al., "Graph attention networks", ICLR 2018), with PyTorch Geometric's
//! `GATConv` semantics: per layer and head `k`, `z_j = h_j W` (the head's slice),
//! `e_ij = LeakyReLU(a_srcᵏ · z_jᵏ + a_dstᵏ · z_iᵏ, 0.2)` over the in-neighbours `j` of `i`
//! and `i` itself (a self-loop is added; edge weights are not read), `α_ij = softmax_j e_ij`,
//! and the heads' `Σ_j α_ij z_jᵏ` concatenated, plus a bias; ReLU between layers (as our
//! GCN), then a linear readout.
//!
//! Every layer has the same width (the heads times their width, at least the hidden width
//! and the input width), and the input is the node features zero-padded to it, so that a
//! node running asynchronously can combine neighbour embeddings from any layer, as GCN's.
//! Asynchronously each node performs exactly L updates from whatever neighbour states it
//! reads. Softmax's exponential is [`crate::elementary::exp_nonpositive`] (the same bits on
//! every machine).

use crate::elementary::exp_nonpositive;
use crate::linalg::{add_row, affine, col_sums, mm, mm_nt, mm_tn, pad_columns};
use crate::loss::task_loss;
use crate::model::{
    states_matrix, Execution, LocalRule, Model, ModelError, ProblemSize, Staleness,
};
use crate::params::{ParamId, Params, TrainConfig};
use crate::registry::{Dims, ModelSpec};
use hogwild_graph::{Batch, Graph};
use hogwild_settings::{at_least, non_negative, Bytes, InvalidSetting};
use ndarray::{Array2, ArrayView2};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

fn default_negative_slope() -> f64 {
    0.2
}

/// GAT settings (`[models.gat]`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GatConfig {
    /// Embedding width of every layer (raised to the input width if smaller, then to a
    /// multiple of `heads`).
    pub hidden: usize,
    /// Attention heads per layer, concatenated.
    pub heads: usize,
    /// Number of attention layers.
    pub layers: usize,
    /// LeakyReLU's slope of the attention scores below zero (default 0.2, as PyG).
    #[serde(default = "default_negative_slope")]
    pub negative_slope: f64,
    /// Optimiser settings.
    pub train: TrainConfig,
}

impl GatConfig {
    /// The width of every layer for `in_dim` features.
    fn width(&self, in_dim: usize) -> usize {
        let heads = self.heads.max(1);
        self.hidden.max(in_dim).div_ceil(heads) * heads
    }
}

impl ModelSpec for GatConfig {
    const NAME: &'static str = "gat";
    const DISPLAY: &'static str = "GAT";
    const COST: f64 = 3.0;

    fn check(&self) -> Result<(), InvalidSetting> {
        at_least("hidden", self.hidden as u64, 1)?;
        at_least("heads", self.heads as u64, 1)?;
        at_least("layers", self.layers as u64, 1)?;
        non_negative("negative_slope", self.negative_slope)?;
        self.train.check().map_err(|e| e.under("train"))
    }

    fn train(&self) -> &TrainConfig {
        &self.train
    }

    fn memory(&self, size: &ProblemSize) -> Bytes {
        let width = self.width(size.in_dim as usize) as u64;
        let (layers, heads) = (self.layers as u64, self.heads as u64);
        let params = layers
            .saturating_mul(
                width
                    .saturating_mul(width)
                    .saturating_add(width.saturating_mul(3)),
            )
            .saturating_add(width.saturating_mul(size.out_dim));
        // Per layer: its input, Z, the pre-activation and the backward's as much again; per
        // (edge or self-loop, head): the score and the weight.
        let per_layer = Bytes::f64s(size.nodes.saturating_mul(width))
            .times(6)
            .plus(Bytes::f64s(
                size.edges
                    .saturating_add(size.nodes)
                    .saturating_mul(heads)
                    .saturating_mul(2),
            ));
        Bytes::f64s(params)
            .plus(self.train.optimiser_memory(params))
            .plus(per_layer.times(layers))
    }

    fn state_width(&self, in_dim: u64, _max_degree: u64) -> u64 {
        self.width(in_dim as usize) as u64
    }

    fn build(&self, dims: Dims, rng: &mut ChaCha8Rng) -> Result<Box<dyn Model>, ModelError> {
        Ok(Box::new(Gat::new(self, dims.in_dim, dims.out_dim, rng)?))
    }
}

/// One attention layer's parameters.
#[derive(Debug, Clone, Copy)]
struct Layer {
    w: ParamId,
    a_src: ParamId,
    a_dst: ParamId,
    b: ParamId,
}

/// A GAT with a linear readout.
#[derive(Debug, Clone)]
pub struct Gat {
    params: Params,
    width: usize,
    heads: usize,
    slope: f64,
    layers: Vec<Layer>,
    readout: (ParamId, ParamId),
}

/// Each node's attention neighbourhood: itself first, then its in-neighbours in storage
/// order (self-loops of the graph left out: the added one stands for them).
fn neighbourhoods(graph: &Graph) -> Vec<Vec<usize>> {
    (0..graph.n_nodes())
        .map(|i| {
            std::iter::once(i)
                .chain(graph.neighbours(i).map(|(j, _)| j).filter(|&j| j != i))
                .collect()
        })
        .collect()
}

/// One layer's values on a batch, for the backward pass.
struct LayerTape {
    input: Array2<f64>,
    z: Array2<f64>,
    /// Per node, per neighbourhood member and head (member-major): the score before
    /// LeakyReLU and the attention weight.
    scores: Vec<Vec<f64>>,
    alpha: Vec<Vec<f64>>,
    pre: Array2<f64>,
}

impl Gat {
    /// A seeded GAT for `in_dim` features and `out_dim` outputs.
    pub fn new(
        cfg: &GatConfig,
        in_dim: usize,
        out_dim: usize,
        rng: &mut ChaCha8Rng,
    ) -> Result<Gat, ModelError> {
        cfg.check()?;
        let width = cfg.width(in_dim);
        let per_head = width / cfg.heads;
        let mut params = Params::default();
        let layers = (0..cfg.layers)
            .map(|l| Layer {
                w: params.glorot(&format!("W{l}"), width, width, rng),
                a_src: params.glorot(&format!("a_src{l}"), cfg.heads, per_head, rng),
                a_dst: params.glorot(&format!("a_dst{l}"), cfg.heads, per_head, rng),
                b: params.bias(&format!("b{l}"), width),
            })
            .collect();
        let readout = (
            params.glorot("W_out", width, out_dim, rng),
            params.bias("b_out", out_dim),
        );
        Ok(Gat {
            params,
            width,
            heads: cfg.heads,
            slope: cfg.negative_slope,
            layers,
            readout,
        })
    }

    fn per_head(&self) -> usize {
        self.width / self.heads
    }

    /// Head `k`'s score of a row of Z against attention vector `a` (its row `k`).
    fn score(&self, z: &[f64], a: ArrayView2<'_, f64>, k: usize) -> f64 {
        let f = self.per_head();
        z[k * f..(k + 1) * f]
            .iter()
            .zip(a.row(k))
            .map(|(x, y)| x * y)
            .sum()
    }

    /// One node's layer output from its neighbourhood's rows of Z (itself first): the
    /// pre-activation (`out`), and per member and head the score and the weight.
    fn attend(
        &self,
        layer: Layer,
        zs: &[&[f64]],
        out: &mut [f64],
        scores: &mut Vec<f64>,
        alpha: &mut Vec<f64>,
    ) {
        let (a_src, a_dst) = (self.params.get(layer.a_src), self.params.get(layer.a_dst));
        let f = self.per_head();
        let heads = self.heads;
        scores.clear();
        alpha.clear();
        for z in zs {
            for k in 0..heads {
                scores.push(self.score(z, a_src.view(), k));
            }
        }
        let own: Vec<f64> = (0..heads)
            .map(|k| self.score(zs[0], a_dst.view(), k))
            .collect();
        for chunk in scores.chunks_mut(heads) {
            for (s, t) in chunk.iter_mut().zip(&own) {
                *s += t;
            }
        }
        let lrelu = |u: f64| if u > 0.0 { u } else { self.slope * u };
        alpha.extend(scores.iter().map(|&u| lrelu(u)));
        for k in 0..heads {
            let max = (0..zs.len())
                .map(|m| alpha[m * heads + k])
                .fold(f64::NEG_INFINITY, f64::max);
            let mut total = 0.0;
            for m in 0..zs.len() {
                let w = exp_nonpositive(alpha[m * heads + k] - max);
                alpha[m * heads + k] = w;
                total += w;
            }
            for m in 0..zs.len() {
                alpha[m * heads + k] /= total;
            }
        }
        let b = self.params.get(layer.b);
        for (c, o) in out.iter_mut().enumerate() {
            let k = c / f;
            let mut v = 0.0;
            for (m, z) in zs.iter().enumerate() {
                v += alpha[m * heads + k] * z[c];
            }
            *o = v + b[[0, c]];
        }
    }

    fn forward(&self, batch: &Batch) -> (Array2<f64>, Vec<LayerTape>, Array2<f64>) {
        let nbrs = neighbourhoods(&batch.graph);
        let mut h = pad_columns(batch.features.view(), self.width);
        let mut tapes = vec![];
        for &layer in &self.layers {
            let z = mm(h.view(), self.params.get(layer.w).view());
            let n = h.nrows();
            let mut pre = Array2::zeros((n, self.width));
            let (mut scores, mut alpha) = (vec![], vec![]);
            for (i, members) in nbrs.iter().enumerate() {
                let zs: Vec<&[f64]> = members
                    .iter()
                    .map(|&j| z.row(j).to_slice().expect("rows are contiguous"))
                    .collect();
                let (mut s, mut a) = (vec![], vec![]);
                let mut row = vec![0.0; self.width];
                self.attend(layer, &zs, &mut row, &mut s, &mut a);
                pre.row_mut(i).assign(&ndarray::ArrayView1::from(&row));
                scores.push(s);
                alpha.push(a);
            }
            let next = pre.mapv(|v| v.max(0.0));
            tapes.push(LayerTape {
                input: h,
                z,
                scores,
                alpha,
                pre,
            });
            h = next;
        }
        let mut out = mm(h.view(), self.params.get(self.readout.0).view());
        add_row(&mut out, self.params.get(self.readout.1).view());
        (out, tapes, h)
    }
}

impl Model for Gat {
    fn name(&self) -> &'static str {
        GatConfig::NAME
    }
    fn params(&self) -> &Params {
        &self.params
    }
    fn params_mut(&mut self) -> &mut Params {
        &mut self.params
    }
    fn execution(&self) -> Execution {
        Execution::Explicit {
            updates: self.layers.len(),
        }
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
        let nbrs = neighbourhoods(&batch.graph);
        let (heads, f) = (self.heads, self.per_head());
        for (layer, tape) in self.layers.iter().zip(&tapes).rev() {
            let (a_src, a_dst) = (self.params.get(layer.a_src), self.params.get(layer.a_dst));
            let mut d_pre = dh;
            d_pre.zip_mut_with(&tape.pre, |d, &p| {
                if p <= 0.0 {
                    *d = 0.0
                }
            });
            grads[layer.b] = col_sums(d_pre.view());
            let n = tape.z.nrows();
            let mut dz = Array2::zeros((n, self.width));
            let mut ds = Array2::<f64>::zeros((n, heads));
            let mut dt = Array2::<f64>::zeros((n, heads));
            for (i, members) in nbrs.iter().enumerate() {
                let (alpha, scores) = (&tape.alpha[i], &tape.scores[i]);
                for k in 0..heads {
                    let cols = k * f..(k + 1) * f;
                    // ∂ℓ/∂α for every member, then through the softmax and LeakyReLU.
                    let d_alpha: Vec<f64> = members
                        .iter()
                        .map(|&j| {
                            cols.clone()
                                .map(|c| d_pre[[i, c]] * tape.z[[j, c]])
                                .sum::<f64>()
                        })
                        .collect();
                    let mean: f64 = (0..members.len())
                        .map(|m| alpha[m * heads + k] * d_alpha[m])
                        .sum();
                    for (m, &j) in members.iter().enumerate() {
                        let a = alpha[m * heads + k];
                        for c in cols.clone() {
                            dz[[j, c]] += a * d_pre[[i, c]];
                        }
                        let u = scores[m * heads + k];
                        let du = a * (d_alpha[m] - mean) * if u > 0.0 { 1.0 } else { self.slope };
                        ds[[j, k]] += du;
                        dt[[i, k]] += du;
                    }
                }
            }
            // s_j = a_src · z_j, t_i = a_dst · z_i, per head.
            let (mut g_src, mut g_dst) = (Array2::zeros((heads, f)), Array2::zeros((heads, f)));
            for j in 0..n {
                for k in 0..heads {
                    for q in 0..f {
                        let c = k * f + q;
                        g_src[[k, q]] += ds[[j, k]] * tape.z[[j, c]];
                        g_dst[[k, q]] += dt[[j, k]] * tape.z[[j, c]];
                        dz[[j, c]] += ds[[j, k]] * a_src[[k, q]] + dt[[j, k]] * a_dst[[k, q]];
                    }
                }
            }
            grads[layer.a_src] = g_src;
            grads[layer.a_dst] = g_dst;
            grads[layer.w] = mm_tn(tape.input.view(), dz.view());
            dh = mm_nt(dz.view(), self.params.get(layer.w).view());
        }
        Ok((loss, grads))
    }

    fn local_rule<'a>(
        &'a self,
        batch: &'a Batch,
        _staleness: Staleness,
    ) -> Result<Box<dyn LocalRule + 'a>, ModelError> {
        Ok(Box::new(GatRule { gat: self, batch }))
    }
}

/// Node-local GAT: update `count` computes layer `count` from the node's own state and the
/// neighbour states it reads, whichever layer they hold.
struct GatRule<'a> {
    gat: &'a Gat,
    batch: &'a Batch,
}

impl LocalRule for GatRule<'_> {
    fn graph(&self) -> &Graph {
        &self.batch.graph
    }
    fn execution(&self) -> Execution {
        self.gat.execution()
    }
    fn state_len(&self, _i: usize) -> usize {
        self.gat.width
    }
    fn init(&self, i: usize, out: &mut [f64]) {
        out.fill(0.0);
        for (o, &x) in out.iter_mut().zip(self.batch.features.row(i)) {
            *o = x;
        }
    }
    fn update(&self, i: usize, count: usize, own: &[f64], views: &[&[f64]], out: &mut [f64]) {
        let layer = self.gat.layers[count];
        let w = self.gat.params.get(layer.w);
        let graph = &self.batch.graph;
        let project = |h: &[f64]| -> Vec<f64> {
            (0..self.gat.width)
                .map(|c| h.iter().enumerate().map(|(p, x)| x * w[[p, c]]).sum())
                .collect()
        };
        let mut zs = vec![project(own)];
        for (e, view) in graph.in_edges(i).zip(views) {
            if graph.edge(e).0 != i {
                zs.push(project(view));
            }
        }
        let refs: Vec<&[f64]> = zs.iter().map(Vec::as_slice).collect();
        let (mut scores, mut alpha) = (vec![], vec![]);
        self.gat.attend(layer, &refs, out, &mut scores, &mut alpha);
        out.iter_mut().for_each(|o| *o = o.max(0.0));
    }
    fn residual(&self, _states: &[Vec<f64>]) -> f64 {
        0.0
    }
    fn readout(&self, states: &[Vec<f64>]) -> Array2<f64> {
        let h = states_matrix(states, self.gat.width);
        let (w, b) = self.gat.readout;
        let params = &self.gat.params;
        affine(h.view(), params.get(w).view(), params.get(b).view())
    }
}
