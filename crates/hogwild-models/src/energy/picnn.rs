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
//! Everything that depends only on `x` is precomputed in a [`PicnnContext`]; forward and
//! backward passes are generic over [`Scalar`], so running them on dual numbers gives exact
//! directional derivatives of the gradient.

use super::rows::{Offsets, RowLayer, RowNet};
use crate::linalg::{col_sums, mm, mm_nt, mm_tn, mm_tn_tt, Scalar};
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
    /// `(g(a), g'(a), g''(a))`, from one softplus and sigmoid (in `f64`, one exponential).
    fn derivatives<T: Scalar>(self, a: T) -> (T, T, T) {
        let (softplus, sigmoid, complement) = a.softplus_sigmoid();
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

    #[inline(always)]
    fn lanes<const N: usize>(self, a: [f64; N], value: &mut [f64], slope: &mut [f64]) {
        let [softplus, sigmoid, _] = crate::elementary::softplus_sigmoid_lanes(a);
        for q in 0..N {
            (value[q], slope[q]) = match self {
                Activation::Softplus => (softplus[q], sigmoid[q]),
                Activation::SoftplusSquared => {
                    (softplus[q] * softplus[q], softplus[q] * sigmoid[q] * 2.0)
                }
            };
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

#[derive(Debug, Clone)]
struct Layer {
    z_in: usize,
    wz: ParamId,
    wzu: ParamId,
    bzu: ParamId,
    wy: ParamId,
    wyu: ParamId,
    byu: ParamId,
    wu: ParamId,
    b: ParamId,
}

/// A PICNN whose parameters live in a shared [`Params`] list.
#[derive(Debug, Clone)]
pub struct Picnn {
    layers: Vec<Layer>,
    shape: PicnnShape,
}

/// The feature-only quantities of every layer for a fixed `x`: per row, each layer's gate
/// `[x Wzu + bzu]_+`, coefficients `x Wyu + byu` and affine term `x Wu + b`, side by side in
/// one contiguous row ([`FeatureMap::terms`]).
#[derive(Debug, Clone)]
pub struct PicnnContext {
    x: Array2<f64>,
    terms: Array2<f64>,
    /// Where each layer's gate, coefficients and affine term start in a row of `terms`.
    offsets: Vec<Offsets>,
}

impl PicnnContext {
    /// Layer `k`'s gates on `rows`.
    fn gate(&self, k: usize, rows: &Range<usize>) -> ArrayView2<'_, f64> {
        let [gate, coef, _, _] = self.offsets[k];
        self.terms.slice(s![rows.clone(), gate..coef])
    }

    /// Layer `k`'s coefficients of `y` on `rows`.
    fn coef(&self, k: usize, rows: &Range<usize>) -> ArrayView2<'_, f64> {
        let [_, coef, affine, _] = self.offsets[k];
        self.terms.slice(s![rows.clone(), coef..affine])
    }

    /// Layer `k`'s affine terms on `rows`.
    fn affine(&self, k: usize, rows: &Range<usize>) -> ArrayView2<'_, f64> {
        let [_, _, affine, end] = self.offsets[k];
        self.terms.slice(s![rows.clone(), affine..end])
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
    /// Where each layer's gate, coefficients and affine term start in a row of terms, and
    /// where they end.
    offsets: Vec<Offsets>,
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

    /// Layer `k`'s offsets in a row of terms: gate, coefficients, affine term, end.
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
        for &[gate, coef, _, _] in &self.offsets {
            for g in &mut out[gate..coef] {
                *g = g.max(0.0);
            }
        }
    }
}

/// What a forward pass keeps for the backward pass.
#[derive(Debug, Clone)]
pub struct PicnnTape<T> {
    /// The context rows the pass ran on.
    rows: Range<usize>,
    /// The convex input.
    y: Array2<T>,
    /// Input `z_k` of every layer.
    z: Vec<Array2<T>>,
    /// Activation slope `g'(a)` of every hidden layer.
    slope: Vec<Array2<T>>,
    /// Activation curvature `g''(a)` of every hidden layer (what [`Picnn::linearise`] needs).
    curvature: Vec<Array2<T>>,
    /// The output.
    pub out: Array2<T>,
}

/// What Hessian-vector products need of one forward pass and of the backward pass from a
/// fixed `d_out` at the same inputs ([`Picnn::linearise`]): with these, the tangents of both
/// passes along any input direction are linear passes in `f64`
/// ([`Picnn::tangent_forward`], [`Picnn::tangent_backward`]), with no activation to evaluate.
#[derive(Debug, Clone)]
pub struct PicnnLinearisation {
    rows: Range<usize>,
    /// `g'(a_k)` of every hidden layer.
    slope: Vec<Array2<f64>>,
    /// `∂/∂z_{k+1} ∘ g''(a_k)` of every hidden layer: the backward pass's dependence on `a_k`.
    curvature: Vec<Array2<f64>>,
}

/// The tangent of a forward pass ([`Picnn::tangent_forward`]).
#[derive(Debug, Clone)]
pub struct PicnnTangent {
    /// Tangent of every hidden layer's pre-activation.
    pre: Vec<Array2<f64>>,
    /// Tangent of the output, when asked for.
    pub out: Option<Array2<f64>>,
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
            let wz = params.glorot(&p("Wz"), z_in, out, rng);
            params.get_mut(wz).mapv_inplace(|v| v.abs() / 10.0);
            let wzu = params.glorot(&p("Wzu"), shape.x_dim, z_in, rng);
            let bzu = params.push(p("bzu"), Array2::ones((1, z_in)));
            let wy = params.glorot(&p("Wy"), shape.y_dim, out, rng);
            let wyu = params.glorot(&p("Wyu"), shape.x_dim, shape.y_dim, rng);
            let byu = params.push(p("byu"), Array2::ones((1, shape.y_dim)));
            let wu = params.glorot(&p("Wu"), shape.x_dim, out, rng);
            let b = params.bias(&p("b"), out);
            layers.push(Layer {
                z_in,
                wz,
                wzu,
                bzu,
                wy,
                wyu,
                byu,
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

    /// Clips every `Wz` to be non-negative (keeps the network convex and monotone).
    pub fn project(&self, params: &mut Params) {
        for l in &self.layers {
            params.get_mut(l.wz).mapv_inplace(|v| v.max(0.0));
        }
    }

    /// The map from a row of features to its row of terms, under `params`.
    pub(super) fn feature_map(&self, params: &Params) -> FeatureMap {
        let x_dim = self.shape.x_dim;
        // Columns of W and b, layer by layer: gate, coefficients, affine term.
        let mut columns: Vec<(ParamId, ParamId)> = vec![];
        let mut offsets = Vec::with_capacity(self.layers.len());
        let mut width = 0;
        for (l, &out) in self.layers.iter().zip(&self.shape.widths) {
            let gate = width;
            let coef = gate + l.z_in;
            let affine = coef + self.shape.y_dim;
            width = affine + out;
            offsets.push([gate, coef, affine, width]);
            columns.extend([(l.wzu, l.bzu), (l.wyu, l.byu), (l.wu, l.b)]);
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

    /// Forward pass on context rows `rows`, with monotone input `z0` and convex input `y`.
    pub fn forward<T: Scalar>(
        &self,
        params: &Params,
        ctx: &PicnnContext,
        rows: Range<usize>,
        z0: Array2<T>,
        y: ArrayView2<'_, T>,
    ) -> PicnnTape<T> {
        let last = self.layers.len() - 1;
        let (mut zs, mut slopes, mut curvatures) = (
            Vec::with_capacity(self.layers.len()),
            Vec::with_capacity(self.layers.len()),
            Vec::with_capacity(self.layers.len()),
        );
        let mut z = z0;
        for (k, l) in self.layers.iter().enumerate() {
            let mut a: Array2<T> = ctx.affine(k, &rows).mapv(T::from);
            if l.z_in > 0 {
                let mut zg = z.clone();
                zg.zip_mut_with(&ctx.gate(k, &rows), |v, &g| *v *= g);
                a += &mm(zg.view(), params.get(l.wz).view());
            }
            let mut yc = y.to_owned();
            yc.zip_mut_with(&ctx.coef(k, &rows), |v, &c| *v *= c);
            a += &mm(yc.view(), params.get(l.wy).view());
            let next = if k == last {
                a
            } else {
                let mut slope = a.clone();
                let mut curvature = a.clone();
                ndarray::Zip::from(&mut a)
                    .and(&mut slope)
                    .and(&mut curvature)
                    .for_each(|v, d, c| (*v, *d, *c) = self.shape.activation.derivatives(*v));
                slopes.push(slope);
                curvatures.push(curvature);
                a
            };
            zs.push(std::mem::replace(&mut z, next));
        }
        PicnnTape {
            rows,
            y: y.to_owned(),
            z: zs,
            slope: slopes,
            curvature: curvatures,
            out: z,
        }
    }

    /// The second-order quantities of `tape` and of its backward pass from `d_out` (no
    /// parameter gradients); also returns that pass's `∂/∂z0`.
    pub fn linearise(
        &self,
        params: &Params,
        ctx: &PicnnContext,
        tape: &PicnnTape<f64>,
        d_out: Array2<f64>,
    ) -> (PicnnLinearisation, Array2<f64>) {
        let last = self.layers.len() - 1;
        let rows = tape.rows.clone();
        let mut curvature = vec![Array2::zeros((0, 0)); last];
        let mut dz = d_out;
        for (k, l) in self.layers.iter().enumerate().rev() {
            let mut da = dz;
            if k != last {
                let mut c = da.clone();
                c.zip_mut_with(&tape.curvature[k], |d, &g2| *d *= g2);
                curvature[k] = c;
                da.zip_mut_with(&tape.slope[k], |d, &g| *d *= g);
            }
            dz = self.gated_back(params, ctx, &rows, k, l, &da);
        }
        let lin = PicnnLinearisation {
            rows,
            slope: tape.slope.clone(),
            curvature,
        };
        (lin, dz)
    }

    /// `(da Wzᵀ) ∘ gate`: what layer `k` passes back to its monotone input.
    fn gated_back(
        &self,
        params: &Params,
        ctx: &PicnnContext,
        rows: &Range<usize>,
        k: usize,
        l: &Layer,
        da: &Array2<f64>,
    ) -> Array2<f64> {
        if l.z_in == 0 {
            return Array2::zeros((da.nrows(), 0));
        }
        let mut dz = mm_nt(da.view(), params.get(l.wz).view());
        dz.zip_mut_with(&ctx.gate(k, rows), |v, &g| *v *= g);
        dz
    }

    /// Whether the network is one (linear) layer, so affine in `(z0, y)`: its second
    /// derivatives vanish.
    pub fn is_affine(&self) -> bool {
        self.layers.len() == 1
    }

    /// The tangent of the linearised forward pass along `(ż0, ẏ)`; the output's tangent only
    /// `with_out` (the hidden layers' are what the backward tangent needs).
    pub fn tangent_forward(
        &self,
        params: &Params,
        ctx: &PicnnContext,
        lin: &PicnnLinearisation,
        z0: Array2<f64>,
        y: ArrayView2<'_, f64>,
        with_out: bool,
    ) -> PicnnTangent {
        let last = self.layers.len() - 1;
        let rows = lin.rows.clone();
        let mut pre = Vec::with_capacity(last);
        let mut z = z0;
        for (k, l) in self.layers.iter().enumerate() {
            if k == last && !with_out {
                return PicnnTangent { pre, out: None };
            }
            let mut yc = y.to_owned();
            yc.zip_mut_with(&ctx.coef(k, &rows), |v, &c| *v *= c);
            let mut a = mm(yc.view(), params.get(l.wy).view());
            if l.z_in > 0 {
                z.zip_mut_with(&ctx.gate(k, &rows), |v, &g| *v *= g);
                a += &mm(z.view(), params.get(l.wz).view());
            }
            if k == last {
                z = a;
            } else {
                z = a.clone();
                z.zip_mut_with(&lin.slope[k], |v, &g| *v *= g);
                pre.push(a);
            }
        }
        PicnnTangent { pre, out: Some(z) }
    }

    /// The tangent of the linearised backward pass, given the forward tangent and the
    /// tangent of `d_out` (`None`: zero, as when `d_out` is a constant): returns `(∂/∂z0,
    /// ∂/∂y)` tangents. Products with a tangent known to be zero are skipped (they would add
    /// zeros).
    pub fn tangent_backward(
        &self,
        params: &Params,
        ctx: &PicnnContext,
        lin: &PicnnLinearisation,
        tangent: &PicnnTangent,
        d_out: Option<Array2<f64>>,
    ) -> (Array2<f64>, Array2<f64>) {
        let last = self.layers.len() - 1;
        let rows = lin.rows.clone();
        let mut dy = Array2::zeros((rows.len(), self.shape.y_dim));
        let mut dz = d_out;
        // Hidden layer k's pre-activation tangent times its curvature term.
        let curvature = |k: usize| {
            let mut c = tangent.pre[k].clone();
            c.zip_mut_with(&lin.curvature[k], |v, &g| *v *= g);
            c
        };
        for (k, l) in self.layers.iter().enumerate().rev() {
            let da = match dz {
                Some(mut da) if k != last => {
                    da.zip_mut_with(&lin.slope[k], |d, &g| *d *= g);
                    da += &curvature(k);
                    da
                }
                Some(da) => da,
                None if k != last => curvature(k),
                None => continue,
            };
            let mut dyk = mm_nt(da.view(), params.get(l.wy).view());
            dyk.zip_mut_with(&ctx.coef(k, &rows), |v, &c| *v *= c);
            dy += &dyk;
            dz = Some(self.gated_back(params, ctx, &rows, k, l, &da));
        }
        let dz = dz.unwrap_or_else(|| Array2::zeros((rows.len(), self.shape.z_in)));
        (dz, dy)
    }

    /// Backward pass of `tape`: from `d_out` returns `(∂/∂z0, ∂/∂y)`; when `grads` is given
    /// (aligned with the whole [`Params`] list), adds the parameter gradients to it.
    pub fn backward<T: Scalar>(
        &self,
        params: &Params,
        ctx: &PicnnContext,
        tape: &PicnnTape<T>,
        d_out: Array2<T>,
        mut grads: Option<&mut [Array2<T>]>,
    ) -> (Array2<T>, Array2<T>) {
        let last = self.layers.len() - 1;
        let (rows, y) = (tape.rows.clone(), tape.y.view());
        let x = ctx.x.slice(s![rows.clone(), ..]);
        let mut dy = Array2::from_elem(y.raw_dim(), T::zero());
        let mut dz = d_out;
        for (k, l) in self.layers.iter().enumerate().rev() {
            let mut da = dz;
            if k != last {
                da.zip_mut_with(&tape.slope[k], |d, &g| *d *= g);
            }
            let gate = ctx.gate(k, &rows);
            let coef = ctx.coef(k, &rows);
            let z = &tape.z[k];
            // y path
            let dyc = mm_nt(da.view(), params.get(l.wy).view());
            let mut dyk = dyc.clone();
            dyk.zip_mut_with(&coef, |v, &c| *v *= c);
            dy += &dyk;
            // z path
            let dzg = if l.z_in > 0 {
                mm_nt(da.view(), params.get(l.wz).view())
            } else {
                Array2::from_elem(z.raw_dim(), T::zero())
            };
            let mut dz_prev = dzg.clone();
            dz_prev.zip_mut_with(&gate, |v, &g| *v *= g);
            if let Some(g) = grads.as_deref_mut() {
                if l.z_in > 0 {
                    let mut zg = z.clone();
                    zg.zip_mut_with(&gate, |v, &gt| *v *= gt);
                    g[l.wz] += &mm_tn_tt(zg.view(), da.view());
                    let mut dpre = dzg * z;
                    dpre.zip_mut_with(&gate, |v, &gt| {
                        if gt <= 0.0 {
                            *v = T::zero()
                        }
                    });
                    g[l.wzu] += &mm_tn(x, dpre.view());
                    g[l.bzu] += &col_sums(dpre.view());
                }
                let mut yc = y.to_owned();
                yc.zip_mut_with(&coef, |v, &c| *v *= c);
                g[l.wy] += &mm_tn_tt(yc.view(), da.view());
                let dcy = dyc * y;
                g[l.wyu] += &mm_tn(x, dcy.view());
                g[l.byu] += &col_sums(dcy.view());
                g[l.wu] += &mm_tn(x, da.view());
                g[l.b] += &col_sums(da.view());
            }
            dz = dz_prev;
        }
        (dz, dy)
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
