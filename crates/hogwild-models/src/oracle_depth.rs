//! GIN, GCN and GAT with the oracle depth: the baselines of AMP's Table 3 (Faber &
//! Wattenhofer, arXiv 2205.12245) as the authors' code runs them (`models/longrange/{gin,gcn,
//! gat}.py` in lukasjf/gwac; in their result files, not in the paper's table).
//!
//! A linear encoder maps the node features to the hidden width, then ONE layer, its
//! parameters shared, is applied `depth` times, where `depth` is given per graph (the code's
//! "diameter": the origin's eccentricity, so exactly enough steps for the origin to reach
//! every node), then a linear head gives the class logits of every node. Training minimises
//! the mean cross-entropy over every node of the batch.
//!
//! | what | choice | source |
//! |---|---|---|
//! | encoder | `h⁰ = x Wₑ + bₑ`, no nonlinearity | code (`nn.Linear`) |
//! | GIN layer | `h' = (hᵢ + maxⱼ hⱼ) W + b`: GINConv with ε = 0 (not trained), max aggregation over the in-neighbours (element-wise), its MLP a single linear map; no activation; a node without neighbours aggregates 0 (torch-scatter's empty max) | code |
//! | GIN's max gradient | to the first maximal in-neighbour in CSR order (ascending id) | ours (torch-scatter leaves ties unspecified) |
//! | GCN layer | `h' = Â h W + b`, `Â = D̃^{-1/2}(A + 2I)D̃^{-1/2}`, `D̃` the row sums of `A + 2I` (GCNConv with `improved = True`); edge weights and any self-loops of the graph ignored; no activation | code |
//! | GAT layer | GATConv with one head (its default; concatenation of one head is the head): `z = h W`, `e_ij = LeakyReLU(a_src·z_j + a_dst·z_i, 0.2)` over the in-neighbours `j` of `i` and `i` itself (one added self-loop), `h'_i = Σ_j softmax_j(e_ij) z_j + b`; no dropout, no activation | code (PyG 1.7.2 defaults) |
//! | head | `logits = h^depth W_d + b_d`, no nonlinearity; log-softmax and NLL, mean over every node of the batch | code |
//! | initialisation | `nn.Linear`'s U(±1/√fan_in) for the encoder, GIN's linear map and the head (weights and biases); Glorot-uniform for GCN's and GAT's weights and GAT's attention vectors (bound √(6/(1 + H)) for a `1 × H` vector, PyG's `glorot`), zero biases for GCN and GAT; drawn in parameter order (encoder, layer, head), each matrix row-major in our `in × out` layout, from the caller's stream | code (distributions), ours (order) |
//! | numerics | f64, sums in fixed order ([`crate::linalg`]); softmax's exponential from [`crate::elementary`] | ours |
//!
//! It lives here beside GIN, GCN and GAT because it is one of their kind, reusing
//! [`crate::linalg`], [`Params`] and the cross-entropy of [`crate::loss`]; it is not a
//! registry [`crate::Model`], since its depth is a property of each graph rather than a fixed
//! number of layers (and it has no node-local asynchronous rule). The caller trains it with
//! [`crate::params::Adam`].
//!
//! The forward pass needs no tape when it only predicts ([`OracleDepthGnn::logits`]);
//! training records one step's values per step (a few `n × H` arrays).

use crate::elementary::exp_nonpositive;
use crate::linalg::{affine, col_sums, mm, mm_nt, mm_tn};
use crate::loss::cross_entropy;
use crate::params::{ParamId, Params};
use hogwild_graph::Graph;
use ndarray::{Array2, ArrayView2};
use rand::RngExt;
use rand_chacha::ChaCha8Rng;

/// The shared layer's kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LayerKind {
    /// GINConv with max aggregation and a single linear map as its MLP.
    Gin,
    /// GCNConv with `improved = True` (self-loops of weight 2).
    Gcn,
    /// GATConv with one head.
    Gat,
}

/// LeakyReLU's slope below zero in GAT's scores (PyG's default).
const NEGATIVE_SLOPE: f64 = 0.2;

/// GIN's arg-max of a node without in-neighbours (it aggregates 0 and passes no gradient).
const NO_NEIGHBOUR: u32 = u32::MAX;

/// One graph to train on or predict: its features, its oracle depth and (for training) one
/// class per node.
#[derive(Debug, Clone, Copy)]
pub struct OracleExample<'a> {
    /// The graph (row `i` of its CSR lists `i`'s in-neighbours).
    pub graph: &'a Graph,
    /// One row of features per node.
    pub features: ArrayView2<'a, f64>,
    /// How many times the shared layer is applied (AMP's Table 3: the origin's eccentricity).
    pub depth: usize,
    /// One class per node (may be empty when only predicting).
    pub labels: &'a [usize],
}

/// The parameter ids of the shared layer.
#[derive(Debug, Clone, Copy)]
struct LayerIds {
    w: ParamId,
    b: ParamId,
    /// GAT: the source and destination attention vectors (`1 × H` each).
    att: Option<(ParamId, ParamId)>,
}

/// An encoder, one shared layer applied a per-graph number of times, and a linear head.
#[derive(Debug, Clone)]
pub struct OracleDepthGnn {
    kind: LayerKind,
    hidden: usize,
    /// The parameters, in the order they were drawn (encoder, layer, head).
    pub params: Params,
    enc: (ParamId, ParamId),
    layer: LayerIds,
    dec: (ParamId, ParamId),
}

/// A graph's neighbourhoods as the layer reads them, computed once per pass.
struct Structure {
    /// Per node `i`, `offsets[i]..offsets[i + 1]` indexes `members`: `i`'s in-neighbours
    /// (CSR order; a self-loop of the graph left out for GCN and GAT) and, for GAT, `i`
    /// itself last (the added self-loop).
    offsets: Vec<usize>,
    members: Vec<usize>,
    /// GCN: the weight of each member (`1/√(d̃ᵢ d̃ⱼ)`) and each node's self-loop weight
    /// (`2/d̃ᵢ`).
    coef: Vec<f64>,
    self_coef: Vec<f64>,
}

impl Structure {
    fn new(kind: LayerKind, graph: &Graph) -> Structure {
        let n = graph.n_nodes();
        let mut offsets = Vec::with_capacity(n + 1);
        let mut members = Vec::with_capacity(graph.n_edges() + n);
        offsets.push(0);
        for i in 0..n {
            for (j, _) in graph.neighbours(i) {
                if kind == LayerKind::Gin || j != i {
                    members.push(j);
                }
            }
            if kind == LayerKind::Gat {
                members.push(i);
            }
            offsets.push(members.len());
        }
        let (mut coef, mut self_coef) = (vec![], vec![]);
        if kind == LayerKind::Gcn {
            let deg: Vec<f64> = (0..n)
                .map(|i| (offsets[i + 1] - offsets[i]) as f64 + 2.0)
                .collect();
            for i in 0..n {
                for &j in &members[offsets[i]..offsets[i + 1]] {
                    coef.push(1.0 / (deg[i] * deg[j]).sqrt());
                }
                self_coef.push(2.0 / deg[i]);
            }
        }
        Structure {
            offsets,
            members,
            coef,
            self_coef,
        }
    }

    fn range(&self, i: usize) -> std::ops::Range<usize> {
        self.offsets[i]..self.offsets[i + 1]
    }
}

/// What one application of the layer keeps for the backward pass.
enum StepTape {
    /// GIN: the aggregate `h + max` and, per node and dimension, the winning neighbour.
    Gin { agg: Array2<f64>, arg: Vec<u32> },
    /// GCN: the layer's input.
    Gcn { input: Array2<f64> },
    /// GAT: the input, `z = h W`, and per member its score before LeakyReLU and its weight.
    Gat {
        input: Array2<f64>,
        z: Array2<f64>,
        scores: Vec<f64>,
        alpha: Vec<f64>,
    },
}

/// `rows × cols` entries drawn from U(±`bound`), row-major.
fn uniform(rows: usize, cols: usize, bound: f64, rng: &mut ChaCha8Rng) -> Array2<f64> {
    Array2::from_shape_simple_fn((rows, cols), || rng.random_range(-bound..bound))
}

/// An `nn.Linear(fan_in, out)` as `x W + b`: weight `fan_in × out` and bias `1 × out`, both
/// U(±1/√fan_in).
fn torch_linear(
    params: &mut Params,
    name: &str,
    fan_in: usize,
    out: usize,
    rng: &mut ChaCha8Rng,
) -> (ParamId, ParamId) {
    let bound = 1.0 / (fan_in as f64).sqrt();
    let w = params.push(format!("{name}.weight"), uniform(fan_in, out, bound, rng));
    let b = params.push(format!("{name}.bias"), uniform(1, out, bound, rng));
    (w, b)
}

impl OracleDepthGnn {
    /// A freshly initialised model for `features` input columns, `hidden` width and
    /// `classes` outputs, drawn from `rng` (module docs: the distributions).
    pub fn new(
        kind: LayerKind,
        features: usize,
        hidden: usize,
        classes: usize,
        rng: &mut ChaCha8Rng,
    ) -> OracleDepthGnn {
        assert!(
            features > 0 && hidden > 0 && classes > 0,
            "every width must be positive"
        );
        let mut params = Params::default();
        let enc = torch_linear(&mut params, "encoder", features, hidden, rng);
        let layer = match kind {
            LayerKind::Gin => {
                let (w, b) = torch_linear(&mut params, "gin.nn", hidden, hidden, rng);
                LayerIds { w, b, att: None }
            }
            LayerKind::Gcn => LayerIds {
                w: params.glorot("gcn.weight", hidden, hidden, rng),
                b: params.bias("gcn.bias", hidden),
                att: None,
            },
            LayerKind::Gat => {
                let w = params.glorot("gat.weight", hidden, hidden, rng);
                let a_src = params.glorot("gat.att_src", 1, hidden, rng);
                let a_dst = params.glorot("gat.att_dst", 1, hidden, rng);
                LayerIds {
                    w,
                    b: params.bias("gat.bias", hidden),
                    att: Some((a_src, a_dst)),
                }
            }
        };
        let dec = torch_linear(&mut params, "decoder", hidden, classes, rng);
        OracleDepthGnn {
            kind,
            hidden,
            params,
            enc,
            layer,
            dec,
        }
    }

    /// The shared layer's kind.
    pub fn kind(&self) -> LayerKind {
        self.kind
    }

    fn p(&self, id: ParamId) -> ArrayView2<'_, f64> {
        self.params.get(id).view()
    }

    /// The class logits of every node of `example` (forward only, no tape).
    pub fn logits(&self, example: &OracleExample) -> Array2<f64> {
        self.forward(example, None).0
    }

    /// The encoder, `depth` applications of the layer (recorded in `tape` when given), and
    /// the head: the logits and the head's input.
    fn forward(
        &self,
        example: &OracleExample,
        mut tape: Option<&mut Vec<StepTape>>,
    ) -> (Array2<f64>, Array2<f64>) {
        let n = example.graph.n_nodes();
        assert_eq!(example.features.nrows(), n, "one feature row per node");
        assert!(n < NO_NEIGHBOUR as usize, "node ids fit in u32");
        let structure = Structure::new(self.kind, example.graph);
        let (ew, eb) = self.enc;
        let mut h = affine(example.features, self.p(ew), self.p(eb));
        for _ in 0..example.depth {
            h = self.step(&structure, h, tape.as_deref_mut());
        }
        let logits = affine(h.view(), self.p(self.dec.0), self.p(self.dec.1));
        (logits, h)
    }

    /// One application of the layer to `h`.
    fn step(&self, s: &Structure, h: Array2<f64>, tape: Option<&mut Vec<StepTape>>) -> Array2<f64> {
        let hd = self.hidden;
        let n = h.nrows();
        let (w, b) = (self.p(self.layer.w), self.p(self.layer.b));
        match self.kind {
            LayerKind::Gin => {
                let mut agg = h.clone();
                let record = tape.is_some();
                let mut arg = if record {
                    vec![NO_NEIGHBOUR; n * hd]
                } else {
                    vec![]
                };
                let hs = h.as_slice().expect("row-major");
                let out = agg.as_slice_mut().expect("row-major");
                let (mut best, mut winner) = (vec![0.0; hd], vec![0u32; hd]);
                for i in 0..n {
                    let range = s.range(i);
                    if range.is_empty() {
                        continue;
                    }
                    let first = s.members[range.start];
                    best.copy_from_slice(&hs[first * hd..(first + 1) * hd]);
                    winner.fill(first as u32);
                    for &j in &s.members[range.start + 1..range.end] {
                        let row = &hs[j * hd..(j + 1) * hd];
                        for d in 0..hd {
                            if row[d] > best[d] {
                                best[d] = row[d];
                                winner[d] = j as u32;
                            }
                        }
                    }
                    for (o, &m) in out[i * hd..(i + 1) * hd].iter_mut().zip(&best) {
                        *o += m;
                    }
                    if record {
                        arg[i * hd..(i + 1) * hd].copy_from_slice(&winner);
                    }
                }
                let next = affine(agg.view(), w, b);
                if let Some(tape) = tape {
                    tape.push(StepTape::Gin { agg, arg });
                }
                next
            }
            LayerKind::Gcn => {
                let z = mm(h.view(), w);
                let zs = z.as_slice().expect("row-major");
                let mut next = Array2::zeros((n, hd));
                let out = next.as_slice_mut().expect("row-major");
                let bias = b.as_slice().expect("row-major");
                for i in 0..n {
                    let o = &mut out[i * hd..(i + 1) * hd];
                    for k in s.range(i) {
                        let (j, c) = (s.members[k], s.coef[k]);
                        for (o, &v) in o.iter_mut().zip(&zs[j * hd..(j + 1) * hd]) {
                            *o += c * v;
                        }
                    }
                    let c = s.self_coef[i];
                    for ((o, &v), &bv) in o.iter_mut().zip(&zs[i * hd..(i + 1) * hd]).zip(bias) {
                        *o += c * v;
                        *o += bv;
                    }
                }
                if let Some(tape) = tape {
                    tape.push(StepTape::Gcn { input: h });
                }
                next
            }
            LayerKind::Gat => {
                let (a_src, a_dst) = self.layer.att.expect("GAT has attention vectors");
                let (a_src, a_dst) = (self.p(a_src), self.p(a_dst));
                let (a_src, a_dst) = (
                    a_src.as_slice().expect("row-major"),
                    a_dst.as_slice().expect("row-major"),
                );
                let z = mm(h.view(), w);
                let zs = z.as_slice().expect("row-major");
                let dot = |x: &[f64], a: &[f64]| x.iter().zip(a).map(|(x, y)| x * y).sum::<f64>();
                let src: Vec<f64> = zs.chunks_exact(hd).map(|r| dot(r, a_src)).collect();
                let dst: Vec<f64> = zs.chunks_exact(hd).map(|r| dot(r, a_dst)).collect();
                let mut scores = Vec::with_capacity(s.members.len());
                let mut alpha = Vec::with_capacity(s.members.len());
                let mut next = Array2::zeros((n, hd));
                let out = next.as_slice_mut().expect("row-major");
                let bias = b.as_slice().expect("row-major");
                for i in 0..n {
                    let range = s.range(i);
                    let mut max = f64::NEG_INFINITY;
                    for &j in &s.members[range.clone()] {
                        let u = src[j] + dst[i];
                        scores.push(u);
                        let e = if u > 0.0 { u } else { NEGATIVE_SLOPE * u };
                        alpha.push(e);
                        max = max.max(e);
                    }
                    let mut total = 0.0;
                    for a in &mut alpha[range.clone()] {
                        *a = exp_nonpositive(*a - max);
                        total += *a;
                    }
                    let o = &mut out[i * hd..(i + 1) * hd];
                    for k in range {
                        alpha[k] /= total;
                        let (a, j) = (alpha[k], s.members[k]);
                        for (o, &v) in o.iter_mut().zip(&zs[j * hd..(j + 1) * hd]) {
                            *o += a * v;
                        }
                    }
                    for (o, &bv) in o.iter_mut().zip(bias) {
                        *o += bv;
                    }
                }
                if let Some(tape) = tape {
                    tape.push(StepTape::Gat {
                        input: h,
                        z,
                        scores,
                        alpha,
                    });
                }
                next
            }
        }
    }

    /// `∂ℓ/∂h` of one application's input from `g = ∂ℓ/∂h'` of its output, adding the
    /// layer's parameter gradients to `grads`.
    fn step_back(
        &self,
        s: &Structure,
        tape: &StepTape,
        g: Array2<f64>,
        grads: &mut [Array2<f64>],
    ) -> Array2<f64> {
        let hd = self.hidden;
        let n = g.nrows();
        let (wid, bid) = (self.layer.w, self.layer.b);
        grads[bid] += &col_sums(g.view());
        match tape {
            StepTape::Gin { agg, arg } => {
                grads[wid] += &mm_tn(agg.view(), g.view());
                let d_agg = mm_nt(g.view(), self.p(wid));
                // ∂/∂hᵢ of hᵢ + maxⱼ hⱼ: 1 to itself, 1 to each dimension's winner.
                let mut dh = d_agg.clone();
                let d = d_agg.as_slice().expect("row-major");
                let out = dh.as_slice_mut().expect("row-major");
                for (k, (&j, &v)) in arg.iter().zip(d).enumerate() {
                    if j != NO_NEIGHBOUR {
                        out[j as usize * hd + k % hd] += v;
                    }
                }
                dh
            }
            StepTape::Gcn { input } => {
                // h' = Â z + b with z = h W: ∂z = Âᵀ g.
                let gs = g.as_slice().expect("row-major");
                let mut dz = Array2::zeros((n, hd));
                let out = dz.as_slice_mut().expect("row-major");
                for i in 0..n {
                    let gi = &gs[i * hd..(i + 1) * hd];
                    for k in s.range(i) {
                        let (j, c) = (s.members[k], s.coef[k]);
                        for (o, &v) in out[j * hd..(j + 1) * hd].iter_mut().zip(gi) {
                            *o += c * v;
                        }
                    }
                    let c = s.self_coef[i];
                    for (o, &v) in out[i * hd..(i + 1) * hd].iter_mut().zip(gi) {
                        *o += c * v;
                    }
                }
                grads[wid] += &mm_tn(input.view(), dz.view());
                mm_nt(dz.view(), self.p(wid))
            }
            StepTape::Gat {
                input,
                z,
                scores,
                alpha,
            } => {
                let (src_id, dst_id) = self.layer.att.expect("GAT has attention vectors");
                let (a_src, a_dst) = (self.p(src_id), self.p(dst_id));
                let (a_src, a_dst) = (
                    a_src.as_slice().expect("row-major"),
                    a_dst.as_slice().expect("row-major"),
                );
                let (gs, zs) = (
                    g.as_slice().expect("row-major"),
                    z.as_slice().expect("row-major"),
                );
                let mut dz = Array2::zeros((n, hd));
                let dzs = dz.as_slice_mut().expect("row-major");
                // ∂ℓ/∂(a_src · z_j) and ∂ℓ/∂(a_dst · z_i).
                let (mut d_src, mut d_dst) = (vec![0.0; n], vec![0.0; n]);
                let mut d_alpha = vec![];
                for i in 0..n {
                    let range = s.range(i);
                    let gi = &gs[i * hd..(i + 1) * hd];
                    d_alpha.clear();
                    d_alpha.extend(s.members[range.clone()].iter().map(|&j| {
                        gi.iter()
                            .zip(&zs[j * hd..(j + 1) * hd])
                            .map(|(x, y)| x * y)
                            .sum::<f64>()
                    }));
                    let mean: f64 = alpha[range.clone()]
                        .iter()
                        .zip(&d_alpha)
                        .map(|(a, d)| a * d)
                        .sum();
                    for (m, k) in range.enumerate() {
                        let (a, j, u) = (alpha[k], s.members[k], scores[k]);
                        for (o, &v) in dzs[j * hd..(j + 1) * hd].iter_mut().zip(gi) {
                            *o += a * v;
                        }
                        let slope = if u > 0.0 { 1.0 } else { NEGATIVE_SLOPE };
                        let du = a * (d_alpha[m] - mean) * slope;
                        d_src[j] += du;
                        d_dst[i] += du;
                    }
                }
                let (mut g_src, mut g_dst) = (Array2::zeros((1, hd)), Array2::zeros((1, hd)));
                {
                    let (gsr, gds) = (
                        g_src.as_slice_mut().expect("row-major"),
                        g_dst.as_slice_mut().expect("row-major"),
                    );
                    for j in 0..n {
                        let zj = &zs[j * hd..(j + 1) * hd];
                        let dzj = &mut dzs[j * hd..(j + 1) * hd];
                        for q in 0..hd {
                            gsr[q] += d_src[j] * zj[q];
                            gds[q] += d_dst[j] * zj[q];
                            dzj[q] += d_src[j] * a_src[q] + d_dst[j] * a_dst[q];
                        }
                    }
                }
                grads[src_id] += &g_src;
                grads[dst_id] += &g_dst;
                grads[wid] += &mm_tn(input.view(), dz.view());
                mm_nt(dz.view(), self.p(wid))
            }
        }
    }

    /// Mean cross-entropy over every node of `batch` and its gradient, one array per
    /// parameter (in [`OracleDepthGnn::params`] order). Graphs are taken in order and their
    /// gradients summed in that order.
    pub fn loss_and_grads(&self, batch: &[OracleExample]) -> (f64, Vec<Array2<f64>>) {
        let total: usize = batch.iter().map(|e| e.labels.len()).sum();
        let mut grads = self.params.zeros_like();
        let mut loss = 0.0;
        let mut tape = vec![];
        for example in batch {
            tape.clear();
            let (logits, last) = self.forward(example, Some(&mut tape));
            let (l, mut d_logits) = cross_entropy(&logits, example.labels);
            let weight = example.labels.len() as f64 / total.max(1) as f64;
            loss += l * weight;
            d_logits *= weight;
            let (dw, db) = self.dec;
            grads[dw] += &mm_tn(last.view(), d_logits.view());
            grads[db] += &col_sums(d_logits.view());
            let mut g = mm_nt(d_logits.view(), self.p(dw));
            let structure = Structure::new(self.kind, example.graph);
            for step in tape.iter().rev() {
                g = self.step_back(&structure, step, g, &mut grads);
            }
            let (ew, eb) = self.enc;
            grads[ew] += &mm_tn(example.features, g.view());
            grads[eb] += &col_sums(g.view());
        }
        (loss, grads)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    const KINDS: [LayerKind; 3] = [LayerKind::Gin, LayerKind::Gcn, LayerKind::Gat];

    fn rng(seed: u64) -> ChaCha8Rng {
        ChaCha8Rng::seed_from_u64(seed)
    }

    #[test]
    fn depth_steps_reach_exactly_depth_hops_from_the_origin() {
        // On the path 0 - 1 - … - 7, with the origin at node 0: after `depth` steps a node
        // at distance d > depth has not heard of the origin, so changing the origin's
        // features leaves its logits bit for bit; the node at distance `depth` has heard.
        let graph = Graph::path(8);
        let mut r = rng(1);
        let features = Array2::from_shape_simple_fn((8, 5), || r.random_range(-1.0..1.0));
        let mut moved = features.clone();
        moved.row_mut(0).mapv_inplace(|v| v + 3.0);
        for kind in KINDS {
            let model = OracleDepthGnn::new(kind, 5, 6, 2, &mut rng(2));
            for depth in [0, 1, 3, 5] {
                let logits = |x: &Array2<f64>| {
                    model.logits(&OracleExample {
                        graph: &graph,
                        features: x.view(),
                        depth,
                        labels: &[],
                    })
                };
                let (before, after) = (logits(&features), logits(&moved));
                for v in 0..8 {
                    let same = before.row(v) == after.row(v);
                    if v > depth {
                        assert!(same, "{kind:?} depth {depth}: node {v} heard of the origin");
                    } else if v == depth {
                        assert!(!same, "{kind:?} depth {depth}: node {v} did not hear");
                    }
                }
            }
        }
    }

    #[test]
    fn a_node_without_neighbours_aggregates_nothing() {
        // One isolated node: GIN adds a max of 0, GCN's Â is 2/2 = 1, GAT attends to itself.
        let graph = Graph::path(1);
        let x = Array2::from_elem((1, 5), 1.0);
        for kind in KINDS {
            let model = OracleDepthGnn::new(kind, 5, 4, 2, &mut rng(3));
            let example = OracleExample {
                graph: &graph,
                features: x.view(),
                depth: 2,
                labels: &[1],
            };
            let h0 = affine(x.view(), model.p(model.enc.0), model.p(model.enc.1));
            // Every kind's step is then h W + b.
            let step =
                |h: Array2<f64>| affine(h.view(), model.p(model.layer.w), model.p(model.layer.b));
            let expected = affine(
                step(step(h0)).view(),
                model.p(model.dec.0),
                model.p(model.dec.1),
            );
            let got = model.logits(&example);
            for (a, b) in got.iter().zip(&expected) {
                assert!((a - b).abs() < 1e-12, "{kind:?}: {got} vs {expected}");
            }
            let (loss, grads) = model.loss_and_grads(&[example]);
            assert!(loss.is_finite() && grads.iter().all(|g| g.iter().all(|v| v.is_finite())));
        }
    }

    #[test]
    fn initialisation_follows_the_reference_distributions() {
        for kind in KINDS {
            let model = OracleDepthGnn::new(kind, 5, 30, 2, &mut rng(4));
            let p = &model.params;
            let within = |id: ParamId, bound: f64| p.get(id).iter().all(|v| v.abs() <= bound);
            assert!(
                within(model.enc.0, 1.0 / 5f64.sqrt()) && within(model.enc.1, 1.0 / 5f64.sqrt())
            );
            assert!(within(model.dec.0, 1.0 / 30f64.sqrt()));
            assert_eq!(p.get(model.enc.0).dim(), (5, 30));
            assert_eq!(p.get(model.dec.0).dim(), (30, 2));
            match kind {
                LayerKind::Gin => assert!(within(model.layer.b, 1.0 / 30f64.sqrt())),
                _ => assert!(p.get(model.layer.b).iter().all(|&v| v == 0.0)),
            }
            if let Some((s, d)) = model.layer.att {
                assert!(within(s, (6.0 / 31.0f64).sqrt()) && within(d, (6.0 / 31.0f64).sqrt()));
            }
        }
        let a = OracleDepthGnn::new(LayerKind::Gat, 5, 8, 2, &mut rng(5));
        let b = OracleDepthGnn::new(LayerKind::Gat, 5, 8, 2, &mut rng(5));
        assert_eq!(a.params, b.params);
    }
}
