//! The batched passes of a [`Picnn`] on rows of a [`PicnnContext`]: value and gradients
//! ([`Picnn::forward`], [`Picnn::backward`]: generic over [`Scalar`], so that dual numbers
//! give exact directional derivatives), and the tangent passes of Hessian-vector products
//! ([`Picnn::linearise`], [`Picnn::tangent_forward`], [`Picnn::tangent_backward`]: linear
//! passes in `f64` around a point).
//!
//! A layer's arithmetic is written once for all of them, over its gated inputs
//! ([`Layer::inputs`](super::Layer::inputs)): [`Picnn::pre_activation`] sums `(v ∘ s) W`
//! (and the affine term, except in a tangent), and [`Picnn::backward_walk`] runs the
//! layers in reverse, passing `(da Wᵀ) ∘ s` back to each input. The passes differ only in
//! what turns a layer's output gradient into its pre-activation's (the slope, plus a
//! curvature term in a tangent) and in what they keep.
//!
//! Each product `(v ∘ s) W` or `da Wᵀ` is formed on its own (from 0, in input order) and
//! then added: a sum of two products has the same bits in either order.

use super::{Picnn, PicnnContext, Source};
use crate::linalg::{col_sums, mm, mm_nt, mm_tn, mm_tn_tt, Scalar};
use crate::params::Params;
use ndarray::{s, Array2, ArrayView2, CowArray, Ix2};
use std::ops::Range;

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

/// The values each gated input of a layer reads, in [`Source::ALL`] order: the layer's
/// monotone input `z` and the convex input `y`.
fn by_source<'a, T>(z: CowArray<'a, T, Ix2>, y: ArrayView2<'a, T>) -> [CowArray<'a, T, Ix2>; 2] {
    let mut z = Some(z);
    Source::ALL.map(|source| match source {
        Source::Monotone => z.take().expect("one monotone input"),
        Source::Convex => y.into(),
    })
}

/// Layer `k`'s pre-activation gradient from its output's, in a backward walk
/// ([`Picnn::backward_walk`]); `None` stands for zero.
type PreGradient<'f, T> = dyn FnMut(usize, Option<Array2<T>>) -> Option<Array2<T>> + 'f;

/// Sees layer `k`'s pre-activation gradient and each gated input's product `da Wᵀ` before
/// its scale, in a backward walk ([`Picnn::backward_walk`]).
type LayerVisit<'f, T> = dyn FnMut(usize, &Array2<T>, &[Array2<T>; 2]) + 'f;

impl Picnn {
    /// Layer `k`'s pre-activation on context rows `rows`: its affine term when `affine`
    /// (a tangent has none), plus `(v ∘ s) W` of each gated input with values `values`
    /// ([`by_source`]), in [`Source::ALL`] order; inputs of width 0 add nothing.
    fn pre_activation<T: Scalar>(
        &self,
        params: &Params,
        ctx: &PicnnContext,
        rows: &Range<usize>,
        k: usize,
        values: [CowArray<'_, T, Ix2>; 2],
        affine: bool,
    ) -> Array2<T> {
        let mut a: Option<Array2<T>> = affine.then(|| ctx.affine(k, rows).mapv(T::from));
        for ((i, input), v) in self.layers[k].inputs().iter().enumerate().zip(values) {
            if input.width == 0 {
                continue;
            }
            let mut v = v.into_owned();
            v.zip_mut_with(&ctx.scale(k, i, rows), |v, &s| *v *= s);
            let product = mm(v.view(), params.get(input.w).view());
            a = Some(match a {
                Some(mut a) => {
                    a += &product;
                    a
                }
                None => product,
            });
        }
        a.expect("a convex input")
    }

    /// The layers in reverse from `d_out`, the gradient of the output (`None`: zero):
    /// `pre(k, ∂/∂z_{k+1})` gives layer `k`'s pre-activation gradient `da` (`None`: zero,
    /// the layer passes nothing back); each gated input gets `(da Wᵀ) ∘ s`, added to `dy`
    /// for the convex input (only when `dy` is given), passed to the layer below for the
    /// monotone one. `visit` (when given) sees every `da` and the products `da Wᵀ` before
    /// their scales. Returns `∂/∂z0` (`None`: zero).
    #[allow(clippy::too_many_arguments)]
    fn backward_walk<T: Scalar>(
        &self,
        params: &Params,
        ctx: &PicnnContext,
        rows: &Range<usize>,
        d_out: Option<Array2<T>>,
        mut dy: Option<&mut Array2<T>>,
        pre: &mut PreGradient<'_, T>,
        mut visit: Option<&mut LayerVisit<'_, T>>,
    ) -> Option<Array2<T>> {
        let mut dz = d_out;
        for (k, l) in self.layers.iter().enumerate().rev() {
            let Some(da) = pre(k, dz.take()) else {
                continue;
            };
            let keep = visit.is_some();
            let mut products = [Array2::zeros((0, 0)), Array2::zeros((0, 0))];
            for (i, input) in l.inputs().iter().enumerate() {
                let product = match input.source {
                    Source::Convex if dy.is_none() => continue,
                    _ if input.width == 0 => Array2::from_elem((da.nrows(), 0), T::zero()),
                    _ => mm_nt(da.view(), params.get(input.w).view()),
                };
                if keep {
                    products[i] = product.clone();
                }
                let mut back = product;
                back.zip_mut_with(&ctx.scale(k, i, rows), |v, &s| *v *= s);
                match input.source {
                    Source::Monotone => dz = Some(back),
                    Source::Convex => *dy.as_deref_mut().expect("asked for") += &back,
                }
            }
            if let Some(visit) = visit.as_deref_mut() {
                visit(k, &da, &products);
            }
        }
        dz
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
        for k in 0..self.layers.len() {
            let values = by_source(z.view().into(), y);
            let mut a = self.pre_activation(params, ctx, &rows, k, values, true);
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

    /// Backward pass of `tape`: from `d_out` returns `(∂/∂z0, ∂/∂y)`; when `grads` is given
    /// (aligned with the whole [`Params`] list), adds the parameter gradients to it.
    pub fn backward<T: Scalar>(
        &self,
        params: &Params,
        ctx: &PicnnContext,
        tape: &PicnnTape<T>,
        d_out: Array2<T>,
        grads: Option<&mut [Array2<T>]>,
    ) -> (Array2<T>, Array2<T>) {
        let last = self.layers.len() - 1;
        let rows = tape.rows.clone();
        let mut dy = Array2::from_elem(tape.y.raw_dim(), T::zero());
        let mut pre = |k: usize, dz: Option<Array2<T>>| {
            let mut da = dz.expect("a gradient reaches every layer");
            if k != last {
                da.zip_mut_with(&tape.slope[k], |d, &g| *d *= g);
            }
            Some(da)
        };
        let mut visit = grads.map(|g| {
            move |k: usize, da: &Array2<T>, products: &[Array2<T>; 2]| {
                self.add_param_grads(ctx, tape, k, da, products, g);
            }
        });
        let dz = self.backward_walk(
            params,
            ctx,
            &rows,
            Some(d_out),
            Some(&mut dy),
            &mut pre,
            visit.as_mut().map(|v| v as &mut LayerVisit<'_, T>),
        );
        (dz.expect("a gradient reaches the input"), dy)
    }

    /// Adds layer `k`'s parameter gradients into `g`, from its pre-activation gradient `da`
    /// and each gated input's product `da Wᵀ` (before its scale): `∂/∂W = (v ∘ s)ᵀ da`, and
    /// through the scale `s = x W_s + b_s` (zero where a gate is clipped) `∂/∂W_s = xᵀ (da
    /// Wᵀ ∘ v)`; the affine term's `∂/∂Wu = xᵀ da`.
    fn add_param_grads<T: Scalar>(
        &self,
        ctx: &PicnnContext,
        tape: &PicnnTape<T>,
        k: usize,
        da: &Array2<T>,
        products: &[Array2<T>; 2],
        g: &mut [Array2<T>],
    ) {
        let rows = &tape.rows;
        let x = ctx.x.slice(s![rows.clone(), ..]);
        let l = &self.layers[k];
        let values = by_source(tape.z[k].view().into(), tape.y.view());
        for (((i, input), v), product) in l.inputs().iter().enumerate().zip(values).zip(products) {
            if input.width == 0 {
                continue;
            }
            let scale = ctx.scale(k, i, rows);
            let mut vs = v.to_owned();
            vs.zip_mut_with(&scale, |v, &s| *v *= s);
            g[input.w] += &mm_tn_tt(vs.view(), da.view());
            let mut d_scale = product * &v;
            if input.source.monotone() {
                d_scale.zip_mut_with(&scale, |v, &s| {
                    if s <= 0.0 {
                        *v = T::zero()
                    }
                });
            }
            g[input.scale_w] += &mm_tn(x, d_scale.view());
            g[input.scale_b] += &col_sums(d_scale.view());
        }
        g[l.wu] += &mm_tn(x, da.view());
        g[l.b] += &col_sums(da.view());
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
        let mut pre = |k: usize, dz: Option<Array2<f64>>| {
            let mut da = dz.expect("a gradient reaches every layer");
            if k != last {
                let mut c = da.clone();
                c.zip_mut_with(&tape.curvature[k], |d, &g2| *d *= g2);
                curvature[k] = c;
                da.zip_mut_with(&tape.slope[k], |d, &g| *d *= g);
            }
            Some(da)
        };
        let dz = self.backward_walk(params, ctx, &rows, Some(d_out), None, &mut pre, None);
        let lin = PicnnLinearisation {
            rows,
            slope: tape.slope.clone(),
            curvature,
        };
        (lin, dz.expect("a gradient reaches the input"))
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
        for k in 0..self.layers.len() {
            if k == last && !with_out {
                return PicnnTangent { pre, out: None };
            }
            let a = self.pre_activation(params, ctx, &rows, k, by_source(z.into(), y), false);
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
        // Hidden layer k's pre-activation tangent times its curvature term.
        let curvature = |k: usize| {
            let mut c = tangent.pre[k].clone();
            c.zip_mut_with(&lin.curvature[k], |v, &g| *v *= g);
            c
        };
        let mut pre = |k: usize, dz: Option<Array2<f64>>| match dz {
            Some(mut da) if k != last => {
                da.zip_mut_with(&lin.slope[k], |d, &g| *d *= g);
                da += &curvature(k);
                Some(da)
            }
            Some(da) => Some(da),
            None if k != last => Some(curvature(k)),
            None => None,
        };
        let dz = self.backward_walk(params, ctx, &rows, d_out, Some(&mut dy), &mut pre, None);
        let dz = dz.unwrap_or_else(|| Array2::zeros((rows.len(), self.shape.z_in)));
        (dz, dy)
    }
}
