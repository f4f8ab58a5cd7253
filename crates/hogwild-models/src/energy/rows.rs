//! Forward and backward passes of a frozen PICNN on a few rows at once, in `f64`: the
//! asynchronous simulator's inner loop (one node's update runs the message network on each
//! of its in-edges and the update network on the node itself).
//!
//! The passes compute what [`Picnn::forward`](super::picnn::Picnn::forward) and
//! [`Picnn::backward`](super::picnn::Picnn::backward) do, row by row, with every sum in a
//! fixed order that does not depend on how many rows run together (the tests pin it):
//!
//! - a row's feature-only terms are read from the context or, on large graphs, computed from
//!   its features ([`RowInputs`]; [`FeatureMap::terms`] gives the bits of
//!   [`Picnn::context`](super::picnn::Picnn::context)): a few features per row instead of
//!   many terms to bring from memory;
//! - a pre-activation starts from the affine term and adds the terms of each gated input of
//!   the layer ([`RowLayer::inputs`], the description the batched passes walk too: `z`,
//!   then `y`), in input order, each as `(input · gate or coefficient) · weight`;
//! - a backward product `Σ_o da_o · W_{jo}` starts from 0 and adds in output order, and is
//!   then scaled by the input's coefficient (added to `∂/∂y`) or gate (`∂/∂z`).
//!
//! Rows run in chunks of up to four, four outputs at a time, with every (row, output) sum in
//! its own register lane: a sum is one chain of dependent additions, so a single row leaves
//! the floating-point units waiting on it; several rows fill them, and share each weight load.
//!
//! The passes are compiled twice, for the x86-64 baseline (SSE2) and for AVX2, and the
//! second runs where the processor has it (`multiversion`, detected once): its registers
//! hold four lanes instead of two. Both run the same IEEE operations in the same order, with
//! no fused multiply-add (Rust never contracts `a * b + c`), so they give the same bits.

mod kernels;

use super::picnn::{FeatureMap, RowInputs, Source};
use kernels::{backward_chunk, forward_chunk};
use multiversion::multiversion;

/// Rows per chunk, at most.
const CHUNK: usize = 4;

/// A PICNN with frozen parameters, laid out for passes over a few rows ([`RowNet::forward`],
/// [`RowNet::backward`]); made by [`Picnn::row_net`](super::picnn::Picnn::row_net).
#[derive(Debug, Clone)]
pub struct RowNet {
    layers: Vec<RowLayer>,
    /// Features to feature-only terms.
    features: FeatureMap,
    y_dim: usize,
    activation: super::picnn::Activation,
}

/// One layer's weights, as stored and transposed.
#[derive(Debug, Clone)]
pub(super) struct RowLayer {
    /// Width of the layer's `z` input.
    pub(super) z_in: usize,
    /// Its output width.
    pub(super) width: usize,
    /// `Wz` (`z_in × width`) and `Wy` (`y_dim × width`), row-major: for the forward pass (an
    /// input's outputs contiguous).
    pub(super) wz: Vec<f64>,
    /// See `wz`.
    pub(super) wy: Vec<f64>,
    /// Their transposes, for the backward pass (an output's inputs contiguous, so every
    /// input's gradient sums in its own lane).
    pub(super) wz_t: Vec<f64>,
    /// See `wz_t`.
    pub(super) wy_t: Vec<f64>,
}

/// One gated input of a [`RowLayer`]: its source, width, and weights as stored and
/// transposed.
#[derive(Debug, Clone, Copy)]
struct RowGated<'a> {
    source: Source,
    width: usize,
    w: &'a [f64],
    w_t: &'a [f64],
}

impl RowLayer {
    /// Its gated inputs, in [`Source::ALL`] order, for convex input width `y_dim`: what the
    /// passes walk (as the batched ones walk the network's layers).
    /// (Written out rather than mapped over [`Source::ALL`]: the simulator's inner loop
    /// calls it, and array maps are not inlined.)
    #[inline(always)]
    fn inputs(&self, y_dim: usize) -> [RowGated<'_>; 2] {
        let [first, second] = Source::ALL;
        [self.input(first, y_dim), self.input(second, y_dim)]
    }

    /// Its gated input from `source`.
    #[inline(always)]
    fn input(&self, source: Source, y_dim: usize) -> RowGated<'_> {
        match source {
            Source::Monotone => RowGated {
                source,
                width: self.z_in,
                w: &self.wz,
                w_t: &self.wz_t,
            },
            Source::Convex => RowGated {
                source,
                width: y_dim,
                w: &self.wy,
                w_t: &self.wy_t,
            },
        }
    }
}

/// Buffers of the passes of one [`RowNet`] over up to `capacity` rows, made once by
/// [`RowNet::tape`] and reused, so the simulator's inner loop does not allocate. Every
/// buffer is row-major (row `r` of a width-`w` buffer is `[r w, (r + 1) w)`).
#[derive(Debug, Clone)]
pub struct RowTape {
    /// Rows of the last forward pass.
    rows: usize,
    /// Their feature-only terms (rows × the feature map's width).
    terms: Vec<f64>,
    /// Input `z_k` of every layer.
    z: Vec<Vec<f64>>,
    /// Pre-activation of every layer.
    a: Vec<Vec<f64>>,
    /// Activation slope `g'(a)` of every hidden layer.
    slope: Vec<Vec<f64>>,
    /// Backward buffers: the gradient flowing into the current layer, and into the one below.
    dz: Vec<f64>,
    dz_prev: Vec<f64>,
    /// The network's output width.
    out_width: usize,
    /// Rows a pass may take, at most.
    capacity: usize,
}

impl RowTape {
    /// The output of the last forward pass (rows × output width).
    pub fn out(&self) -> &[f64] {
        let a = self.a.last().expect("at least one layer");
        &a[..self.rows * self.out_width]
    }
}

impl RowNet {
    /// The network from its layers and feature map (convex input width `y_dim`).
    pub(super) fn new(
        layers: Vec<RowLayer>,
        features: FeatureMap,
        y_dim: usize,
        activation: super::picnn::Activation,
    ) -> RowNet {
        assert!(!layers.is_empty(), "at least one layer");
        assert!(y_dim > 0, "a convex input (it gives the number of rows)");
        RowNet {
            layers,
            features,
            y_dim,
            activation,
        }
    }

    /// The network's output width.
    pub fn out_width(&self) -> usize {
        self.layers.last().expect("at least one layer").width
    }

    /// Buffers for passes over up to `capacity` rows.
    pub fn tape(&self, capacity: usize) -> RowTape {
        let capacity = capacity.max(1);
        let widest = self
            .layers
            .iter()
            .flat_map(|l| [l.z_in, l.width])
            .max()
            .unwrap_or(0);
        RowTape {
            rows: 0,
            terms: vec![0.0; capacity * self.features.width()],
            z: self
                .layers
                .iter()
                .map(|l| vec![0.0; capacity * l.z_in])
                .collect(),
            a: self
                .layers
                .iter()
                .map(|l| vec![0.0; capacity * l.width])
                .collect(),
            slope: self
                .layers
                .iter()
                .map(|l| vec![0.0; capacity * l.width])
                .collect(),
            dz: vec![0.0; capacity * widest],
            dz_prev: vec![0.0; capacity * widest],
            out_width: self.out_width(),
            capacity,
        }
    }

    /// The forward pass on rows `inputs` (at most the tape's capacity;
    /// [`PicnnContext::row_inputs`](super::picnn::PicnnContext::row_inputs)) with monotone
    /// inputs `z0` (rows × `z_in`) and convex inputs `y` (rows × `y_dim`), into `tape`
    /// (output: [`RowTape::out`]).
    pub fn forward(&self, inputs: RowInputs<'_>, z0: &[f64], y: &[f64], tape: &mut RowTape) {
        forward_pass(self, inputs, z0, y, tape)
    }

    /// The backward pass of the last [`RowNet::forward`] from `d_out` (rows × output width;
    /// no parameter gradients): adds `∂/∂y` to `dy` (rows × `y_dim`) and returns `∂/∂z0`
    /// (rows × `z_in`).
    pub fn backward<'t>(&self, tape: &'t mut RowTape, d_out: &[f64], dy: &mut [f64]) -> &'t [f64] {
        backward_pass(self, tape, d_out, dy)
    }
}

/// [`RowNet::forward`], compiled for every target of [`multiversion`] (see the module
/// documentation): what it calls is inlined, so each clone has its own.
#[multiversion(targets("x86_64+avx2+avx"))]
fn forward_pass<'i>(
    net: &RowNet,
    inputs: RowInputs<'i>,
    z0: &[f64],
    y: &[f64],
    tape: &mut RowTape,
) {
    let y_dim = net.y_dim;
    let n = y.len() / y_dim;
    assert!(
        n <= tape.capacity,
        "{n} rows exceed the tape's {}",
        tape.capacity
    );
    assert_eq!(y.len() % y_dim, 0, "convex inputs");
    let z_in = net.layers[0].z_in;
    assert_eq!(z0.len(), n * z_in, "monotone inputs");
    tape.z[0][..n * z_in].copy_from_slice(z0);
    let stride = net.features.width();
    let terms = &mut tape.terms[..n * stride];
    match inputs {
        RowInputs::Terms(stored) => {
            assert_eq!(stored.len(), n * stride, "terms");
            terms.copy_from_slice(stored);
        }
        RowInputs::Features(x) => {
            let x_dim = net.features.x_dim();
            assert_eq!(x.len(), n * x_dim, "features");
            for r in 0..n {
                let t = &mut terms[r * stride..(r + 1) * stride];
                net.features.terms(&x[r * x_dim..(r + 1) * x_dim], t);
            }
        }
    }
    let terms = &tape.terms[..n * stride];
    let last = net.layers.len() - 1;
    for (k, l) in net.layers.iter().enumerate() {
        let offsets = net.features.offsets(k);
        let z = &tape.z[k][..n * l.z_in];
        let a = &mut tape.a[k][..n * l.width];
        let mut r = 0;
        while r < n {
            let take = chunk(n - r);
            let t = &terms[r * stride..];
            let (zr, yr) = (&z[r * l.z_in..], &y[r * y_dim..]);
            let ar = &mut a[r * l.width..];
            match take {
                4 => forward_chunk::<4>(l, y_dim, t, stride, offsets, zr, yr, ar),
                2 => forward_chunk::<2>(l, y_dim, t, stride, offsets, zr, yr, ar),
                _ => forward_chunk::<1>(l, y_dim, t, stride, offsets, zr, yr, ar),
            }
            r += take;
        }
        if k != last {
            let next = &mut tape.z[k + 1][..n * l.width];
            let slope = &mut tape.slope[k][..n * l.width];
            net.activation.values_and_slopes(a, next, slope);
        }
    }
    tape.rows = n;
}

/// [`RowNet::backward`], compiled as [`forward_pass`] is.
#[multiversion(targets("x86_64+avx2+avx"))]
fn backward_pass<'t>(
    net: &RowNet,
    tape: &'t mut RowTape,
    d_out: &[f64],
    dy: &mut [f64],
) -> &'t [f64] {
    let n = tape.rows;
    let y_dim = net.y_dim;
    let last = net.layers.len() - 1;
    assert_eq!(d_out.len(), n * net.layers[last].width, "output gradients");
    assert_eq!(dy.len(), n * y_dim, "convex-input gradients");
    let stride = net.features.width();
    let terms = &tape.terms[..n * stride];
    tape.dz[..d_out.len()].copy_from_slice(d_out);
    for (k, l) in net.layers.iter().enumerate().rev() {
        let offsets = net.features.offsets(k);
        let da = &mut tape.dz[..n * l.width];
        if k != last {
            for (d, &g) in da.iter_mut().zip(&tape.slope[k][..n * l.width]) {
                *d *= g;
            }
        }
        let dz_prev = &mut tape.dz_prev[..n * l.z_in];
        let mut r = 0;
        while r < n {
            let take = chunk(n - r);
            let t = &terms[r * stride..];
            let dar = &da[r * l.width..];
            let (dyr, dzr) = (&mut dy[r * y_dim..], &mut dz_prev[r * l.z_in..]);
            match take {
                4 => backward_chunk::<4>(l, y_dim, t, stride, offsets, dar, dyr, dzr),
                2 => backward_chunk::<2>(l, y_dim, t, stride, offsets, dar, dyr, dzr),
                _ => backward_chunk::<1>(l, y_dim, t, stride, offsets, dar, dyr, dzr),
            }
            r += take;
        }
        std::mem::swap(&mut tape.dz, &mut tape.dz_prev);
    }
    &tape.dz[..n * net.layers[0].z_in]
}

/// How many of `left` rows the next chunk takes: 4, 2 or 1.
fn chunk(left: usize) -> usize {
    if left >= CHUNK {
        CHUNK
    } else if left >= 2 {
        2
    } else {
        1
    }
}

/// Where a layer's terms lie in a context row: the scale of each gated input (in
/// [`Source::ALL`] order), the affine term, the end.
pub(super) type Offsets = [usize; 4];

/// Where a layer's affine term lies in its [`Offsets`] (after the scales).
pub(super) const AFFINE: usize = Source::ALL.len();

#[cfg(test)]
mod tests {
    use super::super::picnn::{Activation, Picnn, PicnnContext, PicnnShape};
    use super::*;
    use crate::elementary::softplus_sigmoid;
    use crate::params::Params;
    use ndarray::Array2;
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// A network whose widths exercise every path: a block of four outputs and a remainder
    /// (5), a block alone (4), a lone output (1); `y` and `z` of 6 and 3 inputs.
    fn network(activation: Activation, rng: &mut ChaCha8Rng) -> (Picnn, Params, PicnnContext) {
        let shape = PicnnShape {
            z_in: 3,
            y_dim: 6,
            x_dim: 2,
            widths: vec![5, 4, 1],
            activation,
        };
        let mut params = Params::default();
        let net = Picnn::new("u", shape, &mut params, rng);
        let x = Array2::from_shape_fn((9, 2), |_| rng.random_range(-1.0..1.0));
        let ctx = net.context(&params, x);
        (net, params, ctx)
    }

    /// One row's passes written plainly in the order the module documents, on the row's
    /// stored terms `t`: (output, `∂/∂z0`, `∂/∂y` from zero).
    fn reference(
        net: &RowNet,
        t: &[f64],
        z0: &[f64],
        y: &[f64],
        d_out: &[f64],
    ) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
        let mut z = z0.to_vec();
        let mut slopes = vec![];
        let last = net.layers.len() - 1;
        for (k, l) in net.layers.iter().enumerate() {
            let [g, c, a, _] = net.features.offsets(k);
            let pre: Vec<f64> = (0..l.width)
                .map(|o| {
                    let mut s = t[a + o];
                    for i in 0..l.z_in {
                        s += z[i] * t[g + i] * l.wz[i * l.width + o];
                    }
                    for j in 0..net.y_dim {
                        s += y[j] * t[c + j] * l.wy[j * l.width + o];
                    }
                    s
                })
                .collect();
            if k == last {
                z = pre;
            } else {
                let (v, d): (Vec<f64>, Vec<f64>) = pre
                    .iter()
                    .map(|&p| {
                        let (sp, sg, _) = softplus_sigmoid(p);
                        match net.activation {
                            Activation::Softplus => (sp, sg),
                            Activation::SoftplusSquared => (sp * sp, sp * sg * 2.0),
                        }
                    })
                    .unzip();
                z = v;
                slopes.push(d);
            }
        }
        let out = z;
        let mut dz = d_out.to_vec();
        let mut dy = vec![0.0; net.y_dim];
        for (k, l) in net.layers.iter().enumerate().rev() {
            let [g, c, _, _] = net.features.offsets(k);
            if k != last {
                for (d, &s) in dz.iter_mut().zip(&slopes[k]) {
                    *d *= s;
                }
            }
            for (j, dy) in dy.iter_mut().enumerate() {
                let mut s = 0.0;
                for (o, &d) in dz.iter().enumerate() {
                    s += d * l.wy[j * l.width + o];
                }
                *dy += s * t[c + j];
            }
            dz = (0..l.z_in)
                .map(|i| {
                    let mut s = 0.0;
                    for (o, &d) in dz.iter().enumerate() {
                        s += d * l.wz[i * l.width + o];
                    }
                    s * t[g + i]
                })
                .collect();
        }
        (out, dz, dy)
    }

    #[test]
    fn passes_match_the_batched_ones() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for activation in [Activation::Softplus, Activation::SoftplusSquared] {
            let (net, params, ctx) = network(activation, &mut rng);
            let rows_net = net.row_net(&params);
            let mut tape = rows_net.tape(7);
            for n in 1..=7 {
                let rows = 1..1 + n;
                let z0 = Array2::from_shape_fn((n, 3), |_| rng.random_range(-1.0..1.0));
                let y = Array2::from_shape_fn((n, 6), |_| rng.random_range(-1.0..1.0));
                let d_out = Array2::from_shape_fn((n, 1), |(i, _)| 1.0 + i as f64);
                let batched = net.forward(&params, &ctx, rows.clone(), z0.clone(), y.view());
                let (dz0, dy) = net.backward(&params, &ctx, &batched, d_out.clone(), None);
                let flat = |a: &Array2<f64>| a.iter().copied().collect::<Vec<f64>>();
                for inputs in ctx.both_inputs(rows.clone()) {
                    rows_net.forward(inputs, &flat(&z0), &flat(&y), &mut tape);
                    for (a, b) in tape.out().iter().zip(&batched.out) {
                        assert!((a - b).abs() < 1e-12, "{n} rows: output {a} vs {b}");
                    }
                    assert_eq!(tape.out().len(), n);
                    let mut dy_rows = vec![0.5; n * 6];
                    let dz = rows_net
                        .backward(&mut tape, &flat(&d_out), &mut dy_rows)
                        .to_vec();
                    for (a, b) in dz.iter().zip(&flat(&dz0)) {
                        assert!((a - b).abs() < 1e-12, "{n} rows: dz0 {a} vs {b}");
                    }
                    for (a, b) in dy_rows.iter().zip(&flat(&dy)) {
                        // The backward pass adds to what is there (0.5).
                        assert!((a - 0.5 - b).abs() < 1e-12, "{n} rows: dy {a} vs {b}");
                    }
                }
            }
        }
    }

    /// The bits do not depend on how many rows run together, nor on whether the terms are
    /// read or computed from the features: every row of a pass over 1..=7 rows (chunks of
    /// 4, 2, 1) equals the plain reference on the stored terms to the last bit.
    #[test]
    fn every_row_has_the_reference_bits_whatever_the_chunking() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        for activation in [Activation::Softplus, Activation::SoftplusSquared] {
            let (net, params, ctx) = network(activation, &mut rng);
            let rows_net = net.row_net(&params);
            let mut tape = rows_net.tape(7);
            for n in 1..=7 {
                let z0: Vec<f64> = (0..n * 3).map(|_| rng.random_range(-2.0..2.0)).collect();
                let y: Vec<f64> = (0..n * 6).map(|_| rng.random_range(-2.0..2.0)).collect();
                let d_out: Vec<f64> = (0..n).map(|_| rng.random_range(-2.0..2.0)).collect();
                for inputs in ctx.both_inputs(2..2 + n) {
                    rows_net.forward(inputs, &z0, &y, &mut tape);
                    let out = tape.out().to_vec();
                    let mut dy = vec![0.0; n * 6];
                    let dz = rows_net.backward(&mut tape, &d_out, &mut dy).to_vec();
                    for r in 0..n {
                        let RowInputs::Terms(t) = ctx.both_inputs(2 + r..3 + r)[0] else {
                            unreachable!("stored terms first")
                        };
                        let (o, z, g) = reference(
                            &rows_net,
                            t,
                            &z0[r * 3..(r + 1) * 3],
                            &y[r * 6..(r + 1) * 6],
                            &d_out[r..r + 1],
                        );
                        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<u64>>();
                        assert_eq!(bits(&out[r..r + 1]), bits(&o), "{n} rows, row {r}: output");
                        assert_eq!(
                            bits(&dz[r * 3..(r + 1) * 3]),
                            bits(&z),
                            "{n} rows, row {r}: dz0"
                        );
                        assert_eq!(
                            bits(&dy[r * 6..(r + 1) * 6]),
                            bits(&g),
                            "{n} rows, row {r}: dy"
                        );
                    }
                }
            }
        }
    }

    /// Small contexts give their stored terms, large ones (above
    /// [`COMPUTE_TERMS_ABOVE_BYTES`](super::super::picnn::COMPUTE_TERMS_ABOVE_BYTES)) their
    /// features.
    #[test]
    fn large_contexts_give_features() {
        use super::super::picnn::COMPUTE_TERMS_ABOVE_BYTES;
        let shape = PicnnShape {
            z_in: 0,
            y_dim: 1,
            x_dim: 1,
            widths: vec![1],
            activation: Activation::Softplus,
        };
        let mut params = Params::default();
        let net = Picnn::new("m", shape, &mut params, &mut ChaCha8Rng::seed_from_u64(0));
        // Two terms per row (coefficient, affine term): 16 bytes.
        let rows_at_bound = COMPUTE_TERMS_ABOVE_BYTES / 16;
        for (rows, features) in [(rows_at_bound, false), (rows_at_bound + 1, true)] {
            let ctx = net.context(&params, Array2::zeros((rows, 1)));
            let inputs = ctx.row_inputs(3..5);
            assert_eq!(
                matches!(inputs, RowInputs::Features(_)),
                features,
                "{rows} rows"
            );
            let len = match inputs {
                RowInputs::Terms(v) | RowInputs::Features(v) => v.len(),
            };
            assert_eq!(len, if features { 2 } else { 4 });
        }
    }
}
