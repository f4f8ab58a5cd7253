//! Partially input-convex networks (Amos, Xu & Kolter 2017) with a monotone input.
//!
//! Rows are samples. Layer `k` maps `(z_k, y, x)` to
//! `z_{k+1} = g(Wz (z_k ∘ [x Wzu + bzu]_+) + Wy (y ∘ (x Wyu + byu)) + x Wu + b)`
//! with `Wz ≥ 0` and `g` a convex non-decreasing [`Activation`] on hidden layers, identity
//! on the last. The output is
//! convex in `y`, and convex and non-decreasing in `z_0` (the monotone input, used for the
//! aggregated message of the update network; empty for the message network). The features
//! `x` feed every layer directly (no separate feature-path layers).
//!
//! The layer is defined once, here: a sum of *gated inputs* `(v ∘ s(x)) W`, one per
//! [`Source`] (which input `v` is, whether its scale `s` is clipped at 0 and its weights
//! kept non-negative), plus the affine term `x Wu + b`. Every pass walks that description
//! ([`Layer::inputs`]) and owns only its arithmetic: the batched passes ([`passes`]: value
//! and gradient, generic over [`Scalar`](crate::linalg::Scalar) so that dual numbers give
//! exact directional derivatives, and the tangent passes of Hessian-vector products) and
//! the few-row passes of the simulator ([`RowNet`], register-blocked). The parameters, the
//! feature-only terms and the row layout are built from the same description.
//!
//! Everything that depends only on `x` is precomputed in a [`PicnnContext`].

mod passes;

pub use passes::{PicnnLinearisation, PicnnTangent, PicnnTape};

use super::rows::{Offsets, RowLayer, RowNet, AFFINE};
#[cfg(test)]
use crate::linalg::mm;
use crate::linalg::Scalar;
use crate::params::{ParamId, Params};
use ndarray::{s, Array2, ArrayView2};
use rand_chacha::ChaCha8Rng;
use std::ops::Range;

/// The entries of a matrix built in standard (row-major) layout, as every parameter and
/// context matrix here is.
fn contiguous(a: &Array2<f64>) -> &[f64] {
    a.as_slice().expect("standard layout")
}

/// The hidden-layer activation: convex and non-decreasing, as a PICNN needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Activation {
    /// `ln(1 + eᵃ)`: grows linearly, so the energy is bounded only by β far from the kinks.
    Softplus,
    /// `softplus(a)²`: grows quadratically, so the network itself keeps the minimiser at
    /// a moderate scale and β only has to add strong convexity.
    SoftplusSquared,
}

impl Activation {
    /// `(g(a), g'(a), g''(a))` from `softplus(a)`, `σ(a)` and `1 − σ(a)`: the activation's
    /// one formula, which every pass evaluates (in `f64` or on dual numbers).
    #[inline(always)]
    fn evaluate<T: Scalar>(self, softplus: T, sigmoid: T, complement: T) -> (T, T, T) {
        // σ' = σ (1 − σ), with 1 − σ computed without cancellation.
        let dsigmoid = sigmoid * complement;
        match self {
            Activation::Softplus => (softplus, sigmoid, dsigmoid),
            Activation::SoftplusSquared => (
                softplus * softplus,
                softplus * sigmoid * 2.0,
                (sigmoid * sigmoid + softplus * dsigmoid) * 2.0,
            ),
        }
    }

    /// `(g(a), g'(a), g''(a))`, from one softplus and sigmoid (in `f64`, one exponential).
    fn derivatives<T: Scalar>(self, a: T) -> (T, T, T) {
        let (softplus, sigmoid, complement) = a.softplus_sigmoid();
        self.evaluate(softplus, sigmoid, complement)
    }

    /// `g(a)` into `value` and `g'(a)` into `slope` for every entry of `a`, in `f64`, for
    /// the row passes ([`RowNet`]): four at a time
    /// ([`softplus_sigmoid_lanes`](crate::elementary::softplus_sigmoid_lanes)). Always
    /// inlined, so the row passes' AVX2 clone has its own.
    #[inline(always)]
    pub(super) fn values_and_slopes(self, a: &[f64], value: &mut [f64], slope: &mut [f64]) {
        let lanes = a.len() / 4 * 4;
        let (a4, a1) = a.split_at(lanes);
        let (v4, v1) = value.split_at_mut(lanes);
        let (s4, s1) = slope.split_at_mut(lanes);
        for ((a, v), s) in a4
            .chunks_exact(4)
            .zip(v4.chunks_exact_mut(4))
            .zip(s4.chunks_exact_mut(4))
        {
            self.lanes::<4>(a.try_into().expect("4"), v, s);
        }
        for ((&a, v), s) in a1.iter().zip(v1).zip(s1) {
            self.lanes::<1>([a], std::slice::from_mut(v), std::slice::from_mut(s));
        }
    }

    /// [`Activation::values_and_slopes`] of `N` entries (the curvature is not used, so
    /// not computed).
    #[inline(always)]
    fn lanes<const N: usize>(self, a: [f64; N], value: &mut [f64], slope: &mut [f64]) {
        let [softplus, sigmoid, complement] = crate::elementary::softplus_sigmoid_lanes(a);
        for q in 0..N {
            (value[q], slope[q], _) = self.evaluate(softplus[q], sigmoid[q], complement[q]);
        }
    }
}

/// Sizes of a PICNN.
#[derive(Debug, Clone, PartialEq)]
pub struct PicnnShape {
    /// Width of the monotone input `z_0` (0 for none).
    pub z_in: usize,
    /// Width of the convex input `y`.
    pub y_dim: usize,
    /// Width of the unconstrained input `x`.
    pub x_dim: usize,
    /// Output width of each layer; the last is the network's output width.
    pub widths: Vec<usize>,
    /// Activation of the hidden layers (the last layer is linear).
    pub activation: Activation,
}

/// What a gated input of a layer multiplies: every layer reads both, in this order
/// ([`Source::ALL`]), and every pass sums them in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Source {
    /// `z_k`: the network's monotone input for layer 0, the previous layer's output after.
    /// Its scale is a gate `[x Wzu + bzu]_+ ≥ 0` and its weights `Wz ≥ 0`, so the output
    /// is convex and non-decreasing in it. Only layer `k` reads `z_k`.
    Monotone,
    /// `y`, the convex input, read by every layer: its scale `x Wyu + byu` and weights `Wy`
    /// are unconstrained (the output is affine in `y` before each activation).
    Convex,
}

impl Source {
    /// The sources of every layer's gated inputs, in summation order.
    pub(super) const ALL: [Source; 2] = [Source::Monotone, Source::Convex];

    /// Whether its scale is clipped at 0 (a gate) and its weights kept non-negative: what
    /// keeps the network convex and non-decreasing in a monotone input.
    pub(super) fn monotone(self) -> bool {
        self == Source::Monotone
    }
}

/// One gated input of a layer, `(v ∘ s) W` with `v` the values of `source` (`width`
/// columns), `s = x W_s + b_s` (clipped at 0 for a monotone source) and `W` (`width` × the
/// layer's width).
#[derive(Debug, Clone, Copy)]
struct Gated {
    source: Source,
    width: usize,
    w: ParamId,
    scale_w: ParamId,
    scale_b: ParamId,
}

/// One layer's parameters (named as in the module documentation).
#[derive(Debug, Clone)]
struct Layer {
    z_in: usize,
    y_dim: usize,
    wz: ParamId,
    wzu: ParamId,
    bzu: ParamId,
    wy: ParamId,
    wyu: ParamId,
    byu: ParamId,
    wu: ParamId,
    b: ParamId,
}

impl Layer {
    /// Its gated inputs, in [`Source::ALL`] order: what every pass walks.
    fn inputs(&self) -> [Gated; 2] {
        Source::ALL.map(|source| match source {
            Source::Monotone => Gated {
                source,
                width: self.z_in,
                w: self.wz,
                scale_w: self.wzu,
                scale_b: self.bzu,
            },
            Source::Convex => Gated {
                source,
                width: self.y_dim,
                w: self.wy,
                scale_w: self.wyu,
                scale_b: self.byu,
            },
        })
    }
}

/// A PICNN whose parameters live in a shared [`Params`] list.
#[derive(Debug, Clone)]
pub struct Picnn {
    layers: Vec<Layer>,
    shape: PicnnShape,
}

/// The feature-only quantities of every layer for a fixed `x`: per row, each layer's
/// scales (gate `[x Wzu + bzu]_+`, coefficients `x Wyu + byu`) and affine term `x Wu + b`,
/// side by side in one contiguous row ([`FeatureMap::terms`]).
#[derive(Debug, Clone)]
pub struct PicnnContext {
    x: Array2<f64>,
    terms: Array2<f64>,
    /// Where each layer's scales and affine term start in a row of `terms`.
    offsets: Vec<Offsets>,
}

impl PicnnContext {
    /// The scales of layer `k`'s gated input `i` ([`Layer::inputs`]) on `rows`.
    fn scale(&self, k: usize, i: usize, rows: &Range<usize>) -> ArrayView2<'_, f64> {
        let offsets = self.offsets[k];
        self.terms
            .slice(s![rows.clone(), offsets[i]..offsets[i + 1]])
    }

    /// Layer `k`'s gates on `rows`.
    #[cfg(test)]
    fn gate(&self, k: usize, rows: &Range<usize>) -> ArrayView2<'_, f64> {
        self.scale(k, 0, rows)
    }

    /// Layer `k`'s coefficients of `y` on `rows`.
    #[cfg(test)]
    fn coef(&self, k: usize, rows: &Range<usize>) -> ArrayView2<'_, f64> {
        self.scale(k, 1, rows)
    }

    /// Layer `k`'s affine terms on `rows`.
    fn affine(&self, k: usize, rows: &Range<usize>) -> ArrayView2<'_, f64> {
        let offsets = self.offsets[k];
        self.terms
            .slice(s![rows.clone(), offsets[AFFINE]..offsets[AFFINE + 1]])
    }

    /// What passes of a [`RowNet`] on the contiguous rows `rows` read: the stored terms
    /// while every row's terms take at most [`COMPUTE_TERMS_ABOVE_BYTES`], else the
    /// features, from which the passes compute the terms (same bits).
    pub fn row_inputs(&self, rows: Range<usize>) -> RowInputs<'_> {
        if std::mem::size_of_val(contiguous(&self.terms)) > COMPUTE_TERMS_ABOVE_BYTES {
            let width = self.x.ncols();
            RowInputs::Features(&contiguous(&self.x)[rows.start * width..rows.end * width])
        } else {
            let width = self.terms.ncols();
            RowInputs::Terms(&contiguous(&self.terms)[rows.start * width..rows.end * width])
        }
    }

    /// Rows `rows` both ways, whatever the context's size: stored terms, then features.
    #[cfg(test)]
    pub(super) fn both_inputs(&self, rows: Range<usize>) -> [RowInputs<'_>; 2] {
        let (t, x) = (self.terms.ncols(), self.x.ncols());
        [
            RowInputs::Terms(&contiguous(&self.terms)[rows.start * t..rows.end * t]),
            RowInputs::Features(&contiguous(&self.x)[rows.start * x..rows.end * x]),
        ]
    }
}

/// Stored terms (all rows' together, in bytes) above which the row passes compute each
/// row's terms from its features ([`PicnnContext::row_inputs`]): a hidden-16 energy GNN
/// stores 76 terms per edge against 4 features. Measured on the project's machine
/// (asynchronous simulator, chains, hidden 16): 10⁴ nodes (12 MB of terms, within the
/// 32 MiB last-level cache) 21-24 % faster reading them, 10⁵ nodes 4-9 % and 10⁶ nodes
/// 14 % faster computing them.
pub const COMPUTE_TERMS_ABOVE_BYTES: usize = 32 << 20;

/// The rows a pass of a [`RowNet`] runs on, as [`PicnnContext::row_inputs`] gives them.
#[derive(Debug, Clone, Copy)]
pub enum RowInputs<'a> {
    /// Their stored terms (rows × terms), row-major.
    Terms(&'a [f64]),
    /// Their features (rows × features), row-major.
    Features(&'a [f64]),
}

impl RowInputs<'_> {
    /// Prefetches ([`hogwild_graph::prefetch`]) what a pass will read.
    pub fn prefetch(&self) {
        match self {
            RowInputs::Terms(v) | RowInputs::Features(v) => hogwild_graph::prefetch::prefetch(v),
        }
    }
}

/// The map from a row of features `x` to its row of terms (every layer's gate, coefficients
/// and affine term, side by side): `x W + b` with the gate columns clipped at 0, each entry
/// summed from 0 over the features in order, then the bias added (what `mm` and `add_row`
/// do, to the bit). [`Picnn::context`] applies it to every row once; the row passes
/// ([`RowNet`]) apply it to the rows they run on when the context is too large to stay in
/// the caches ([`PicnnContext::row_inputs`]).
#[derive(Debug, Clone)]
pub(super) struct FeatureMap {
    /// Features per row.
    x_dim: usize,
    /// `W` (features × terms), row-major.
    w: Vec<f64>,
    /// `b` (terms).
    b: Vec<f64>,
    /// Where each layer's scales (one per gated input) and affine term start in a row of
    /// terms, and where they end.
    offsets: Vec<Offsets>,
    /// The columns clipped at 0: the scales of monotone inputs (gates).
    gates: Vec<Range<usize>>,
}

impl FeatureMap {
    /// Terms per row.
    pub(super) fn width(&self) -> usize {
        self.b.len()
    }

    /// Features per row.
    pub(super) fn x_dim(&self) -> usize {
        self.x_dim
    }

    /// Layer `k`'s offsets in a row of terms: its gated inputs' scales, affine term, end.
    pub(super) fn offsets(&self, k: usize) -> Offsets {
        self.offsets[k]
    }

    /// The terms of the row of features `x` into `out` (one row of terms). Always inlined,
    /// so the row passes' AVX2 clone has its own.
    #[inline(always)]
    pub(super) fn terms(&self, x: &[f64], out: &mut [f64]) {
        let width = self.width();
        debug_assert_eq!(x.len(), self.x_dim);
        let out = &mut out[..width];
        out.fill(0.0);
        for (p, &xp) in x.iter().enumerate() {
            for (o, &w) in out.iter_mut().zip(&self.w[p * width..(p + 1) * width]) {
                *o += xp * w;
            }
        }
        for (o, &b) in out.iter_mut().zip(&self.b) {
            *o += b;
        }
        for gates in &self.gates {
            for g in &mut out[gates.clone()] {
                *g = g.max(0.0);
            }
        }
    }
}

impl Picnn {
    /// Creates the parameters (`name.Lk.*`): kernels Glorot-uniform, `Wz = |Glorot| / 10`
    /// (the reference initialisation), gate biases `bzu = byu = 1` so featureless nodes start
    /// with open gates, other biases 0.
    pub fn new(name: &str, shape: PicnnShape, params: &mut Params, rng: &mut ChaCha8Rng) -> Picnn {
        let mut layers = Vec::new();
        let mut z_in = shape.z_in;
        for (k, &out) in shape.widths.iter().enumerate() {
            let p = |s: &str| format!("{name}.L{k}.{s}");
            let [z, y] = Source::ALL.map(|source| {
                let (v, width) = match source {
                    Source::Monotone => ("z", z_in),
                    Source::Convex => ("y", shape.y_dim),
                };
                let w = params.glorot(&p(&format!("W{v}")), width, out, rng);
                if source.monotone() {
                    params.get_mut(w).mapv_inplace(|v| v.abs() / 10.0);
                }
                let scale_w = params.glorot(&p(&format!("W{v}u")), shape.x_dim, width, rng);
                let scale_b = params.push(p(&format!("b{v}u")), Array2::ones((1, width)));
                (w, scale_w, scale_b)
            });
            let wu = params.glorot(&p("Wu"), shape.x_dim, out, rng);
            let b = params.bias(&p("b"), out);
            layers.push(Layer {
                z_in,
                y_dim: shape.y_dim,
                wz: z.0,
                wzu: z.1,
                bzu: z.2,
                wy: y.0,
                wyu: y.1,
                byu: y.2,
                wu,
                b,
            });
            z_in = out;
        }
        Picnn { layers, shape }
    }

    /// The sizes.
    pub fn shape(&self) -> &PicnnShape {
        &self.shape
    }

    /// Clips the weights of every monotone input (`Wz`) to be non-negative (keeps the
    /// network convex and monotone).
    pub fn project(&self, params: &mut Params) {
        for input in self.layers.iter().flat_map(Layer::inputs) {
            if input.source.monotone() {
                params.get_mut(input.w).mapv_inplace(|v| v.max(0.0));
            }
        }
    }

    /// The map from a row of features to its row of terms, under `params`.
    pub(super) fn feature_map(&self, params: &Params) -> FeatureMap {
        let x_dim = self.shape.x_dim;
        // Columns of W and b, layer by layer: each gated input's scale, the affine term.
        let mut columns: Vec<(ParamId, ParamId)> = vec![];
        let mut offsets = Vec::with_capacity(self.layers.len());
        let mut gates = vec![];
        let mut width = 0;
        for (l, &out) in self.layers.iter().zip(&self.shape.widths) {
            let mut layer_offsets: Offsets = [0; 4];
            for (i, input) in l.inputs().iter().enumerate() {
                layer_offsets[i] = width;
                if input.source.monotone() {
                    gates.push(width..width + input.width);
                }
                width += input.width;
                columns.push((input.scale_w, input.scale_b));
            }
            layer_offsets[AFFINE] = width;
            width += out;
            layer_offsets[AFFINE + 1] = width;
            offsets.push(layer_offsets);
            columns.push((l.wu, l.b));
        }
        let mut w = Vec::with_capacity(x_dim * width);
        for p in 0..x_dim {
            for &(wk, _) in &columns {
                w.extend(params.get(wk).row(p));
            }
        }
        let b = columns
            .iter()
            .flat_map(|&(_, bk)| params.get(bk).row(0).to_vec())
            .collect();
        FeatureMap {
            x_dim,
            w,
            b,
            offsets,
            gates,
        }
    }

    /// Precomputes the feature-only terms for the rows of `x`.
    pub fn context(&self, params: &Params, x: Array2<f64>) -> PicnnContext {
        assert_eq!(x.ncols(), self.shape.x_dim, "picnn: feature width");
        // Row-major, so that rows of features are contiguous (`row_inputs`).
        let x = x.as_standard_layout().into_owned();
        let map = self.feature_map(params);
        let mut terms = Array2::zeros((x.nrows(), map.width()));
        let (d, w) = (x.ncols(), map.width());
        let (xs, ts) = (contiguous(&x), terms.as_slice_mut().expect("new"));
        for r in 0..x.nrows() {
            map.terms(&xs[r * d..(r + 1) * d], &mut ts[r * w..(r + 1) * w]);
        }
        PicnnContext {
            x,
            terms,
            offsets: map.offsets,
        }
    }

    /// This network with `params` frozen, laid out for passes on a few rows at a time.
    pub fn row_net(&self, params: &Params) -> RowNet {
        let copy = |id: ParamId| contiguous(params.get(id)).to_vec();
        let transposed = |id: ParamId| {
            let w = params.get(id);
            w.t().iter().copied().collect::<Vec<f64>>()
        };
        let layers = self
            .layers
            .iter()
            .zip(&self.shape.widths)
            .map(|(l, &width)| RowLayer {
                z_in: l.z_in,
                width,
                wz: copy(l.wz),
                wy: copy(l.wy),
                wz_t: transposed(l.wz),
                wy_t: transposed(l.wy),
            })
            .collect();
        RowNet::new(
            layers,
            self.feature_map(params),
            self.shape.y_dim,
            self.shape.activation,
        )
    }

    /// Whether the network is one (linear) layer, so affine in `(z0, y)`: its second
    /// derivatives vanish.
    pub fn is_affine(&self) -> bool {
        self.layers.len() == 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linalg::add_row;
    use rand::{RngExt, SeedableRng};

    /// Every row of a context holds, to the bit, each layer's `[x Wzu + bzu]_+`,
    /// `x Wyu + byu` and `x Wu + b` as matrix products compute them.
    #[test]
    fn context_terms_are_the_feature_products() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let shape = PicnnShape {
            z_in: 3,
            y_dim: 6,
            x_dim: 5,
            widths: vec![5, 4, 1],
            activation: Activation::Softplus,
        };
        let mut params = Params::default();
        let net = Picnn::new("u", shape, &mut params, &mut rng);
        // Biases away from their initial values, so that every term of the map is tested.
        for id in 0..params.len() {
            params
                .get_mut(id)
                .mapv_inplace(|v| v + rng.random_range(-1.0..1.0));
        }
        let x = Array2::from_shape_fn((9, 5), |_| rng.random_range(-2.0..2.0));
        let ctx = net.context(&params, x.clone());
        let product = |w: ParamId, b: ParamId| {
            let mut t = mm(x.view(), params.get(w).view());
            add_row(&mut t, params.get(b).view());
            t
        };
        let rows = 0..x.nrows();
        for (k, l) in net.layers.iter().enumerate() {
            let gate = product(l.wzu, l.bzu).mapv(|v| v.max(0.0));
            for (want, got) in [
                (gate, ctx.gate(k, &rows)),
                (product(l.wyu, l.byu), ctx.coef(k, &rows)),
                (product(l.wu, l.b), ctx.affine(k, &rows)),
            ] {
                let bits =
                    |a: ArrayView2<'_, f64>| a.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(got), bits(want.view()), "layer {k}");
            }
        }
    }
}
