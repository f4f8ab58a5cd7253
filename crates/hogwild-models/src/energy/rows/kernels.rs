//! The register-blocked kernels of the row passes ([`RowNet`](super::RowNet)): one layer's
//! pre-activations and backward step on a chunk of R rows, walking the layer's gated inputs
//! ([`RowLayer::inputs`]) with generic helpers for `acc += (v · s) · W` ([`add_terms`]) and
//! `Σ_o da_o W_jo` ([`products_t`]). Every sum runs in the order the parent module
//! documents, whatever R is.

use super::{Offsets, RowGated, RowLayer, AFFINE};
use crate::energy::picnn::Source;

/// Outputs per register block.
const LANES: usize = 4;

/// The first R rows of `data`, `len` entries each, `stride` apart.
#[inline(always)]
fn rows_of<const R: usize>(data: &[f64], stride: usize, len: usize) -> [&[f64]; R] {
    std::array::from_fn(|r| &data[r * stride..r * stride + len])
}

/// [`rows_of`] for writing (`stride == len`).
#[inline(always)]
fn rows_of_mut<const R: usize>(mut data: &mut [f64], len: usize) -> [&mut [f64]; R] {
    std::array::from_fn(|_| {
        let (row, rest) = std::mem::take(&mut data).split_at_mut(len);
        data = rest;
        row
    })
}

/// Pre-activations `a` (R rows × width) of layer `l` for R rows with context rows `terms`
/// (`stride` apart), inputs `z` (R × z_in) and `y` (R × y_dim): the affine term, then each
/// gated input's terms ([`RowLayer::inputs`]) in order.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(super) fn forward_chunk<const R: usize>(
    l: &RowLayer,
    y_dim: usize,
    terms: &[f64],
    stride: usize,
    offsets: Offsets,
    z: &[f64],
    y: &[f64],
    a: &mut [f64],
) {
    let width = l.width;
    let affines: [&[f64]; R] = rows_of(&terms[offsets[AFFINE]..], stride, width);
    // Per gated input: its values and scales (R rows each) and its weights.
    let [first, second] = l.inputs(y_dim);
    let gated = [
        gated_rows::<R>(first, z, y, &terms[offsets[0]..], stride, width),
        gated_rows::<R>(second, z, y, &terms[offsets[1]..], stride, width),
    ];
    let outs: [&mut [f64]; R] = rows_of_mut(a, width);
    let blocks = width / LANES * LANES;
    for start in (0..blocks).step_by(LANES) {
        let mut acc: [[f64; LANES]; R] =
            std::array::from_fn(|r| affines[r][start..start + LANES].try_into().expect("4"));
        let [(v0, s0, w0), (v1, s1, w1)] = &gated;
        add_terms(&mut acc, v0, s0, w0, width, start);
        add_terms(&mut acc, v1, s1, w1, width, start);
        for r in 0..R {
            outs[r][start..start + LANES].copy_from_slice(&acc[r]);
        }
    }
    for o in blocks..width {
        let mut acc: [[f64; 1]; R] = std::array::from_fn(|r| [affines[r][o]]);
        let [(v0, s0, w0), (v1, s1, w1)] = &gated;
        add_terms(&mut acc, v0, s0, w0, width, o);
        add_terms(&mut acc, v1, s1, w1, width, o);
        for r in 0..R {
            outs[r][o] = acc[r][0];
        }
    }
}

/// The values (from `z` or `y`) and scales (from `terms`, `stride` apart) of `input` on R
/// rows, and its weights for a layer of `width` outputs.
#[inline(always)]
fn gated_rows<'a, const R: usize>(
    input: RowGated<'a>,
    z: &'a [f64],
    y: &'a [f64],
    terms: &'a [f64],
    stride: usize,
    width: usize,
) -> ([&'a [f64]; R], [&'a [f64]; R], &'a [f64]) {
    let values = match input.source {
        Source::Monotone => z,
        Source::Convex => y,
    };
    (
        rows_of(values, input.width, input.width),
        rows_of(terms, stride, input.width),
        &input.w[..input.width * width],
    )
}

/// `acc[r][q] += (inputs[r][i] · scales[r][i]) · w[i width + start + q]` for every input `i`
/// in order: the terms of `L` outputs from `start` on, for R rows.
#[inline(always)]
fn add_terms<const R: usize, const L: usize>(
    acc: &mut [[f64; L]; R],
    inputs: &[&[f64]; R],
    scales: &[&[f64]; R],
    w: &[f64],
    width: usize,
    start: usize,
) {
    for i in 0..inputs[0].len() {
        let w: &[f64; L] = w[i * width + start..][..L].try_into().expect("L");
        for r in 0..R {
            let v = inputs[r][i] * scales[r][i];
            for q in 0..L {
                acc[r][q] += v * w[q];
            }
        }
    }
}

/// Layer `l`'s backward step for R rows from `da` (R × width, slopes applied): for each
/// gated input ([`RowLayer::inputs`]), `(Σ_o da_o W_jo) · s_j` is added to `dy` (R × y_dim)
/// for the convex input and written to `dz` (R × z_in) for the monotone one.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(super) fn backward_chunk<const R: usize>(
    l: &RowLayer,
    y_dim: usize,
    terms: &[f64],
    stride: usize,
    offsets: Offsets,
    da: &[f64],
    dy: &mut [f64],
    dz: &mut [f64],
) {
    let das: [&[f64]; R] = rows_of(da, l.width, l.width);
    let [first, second] = l.inputs(y_dim);
    back_to_input(&das, first, &terms[offsets[0]..], stride, dy, dz);
    back_to_input(&das, second, &terms[offsets[1]..], stride, dy, dz);
}

/// `(Σ_o da_o W_jo) · s_j` of gated input `input` for R rows (scales from `terms`, `stride`
/// apart): added to `dy` for the convex input, written to `dz` for the monotone one.
#[inline(always)]
fn back_to_input<const R: usize>(
    das: &[&[f64]; R],
    input: RowGated<'_>,
    terms: &[f64],
    stride: usize,
    dy: &mut [f64],
    dz: &mut [f64],
) {
    let scales: [&[f64]; R] = rows_of(terms, stride, input.width);
    match input.source {
        Source::Monotone => {
            let mut dzs: [&mut [f64]; R] = rows_of_mut(dz, input.width);
            products_t(das, input.w_t, input.width, |r, j, s| {
                dzs[r][j] = s * scales[r][j]
            });
        }
        Source::Convex => {
            let mut dys: [&mut [f64]; R] = rows_of_mut(dy, input.width);
            products_t(das, input.w_t, input.width, |r, j, s| {
                dys[r][j] += s * scales[r][j]
            });
        }
    }
}

/// Calls `done(r, j, Σ_o da[r][o] · w_t[o n + j])` for every row `r < R` and `j < n`, where
/// `w_t` holds `Wᵀ` for a matrix `W` of `n` rows: each sum from 0 in the order of `o`, four
/// `j` of every row at a time in registers.
#[inline(always)]
fn products_t<const R: usize>(
    da: &[&[f64]; R],
    w_t: &[f64],
    n: usize,
    mut done: impl FnMut(usize, usize, f64),
) {
    let width = da[0].len();
    let w_t = &w_t[..width * n];
    let blocks = n / LANES * LANES;
    for j in (0..blocks).step_by(LANES) {
        for (r, acc) in products_from::<R, LANES>(da, w_t, n, j).iter().enumerate() {
            for (q, &s) in acc.iter().enumerate() {
                done(r, j + q, s);
            }
        }
    }
    for j in blocks..n {
        for (r, [s]) in products_from::<R, 1>(da, w_t, n, j).into_iter().enumerate() {
            done(r, j, s);
        }
    }
}

/// `Σ_o da[r][o] · w_t[o n + j + q]` for `q < L` and every row `r < R`, each from 0 in the
/// order of `o`.
#[inline(always)]
fn products_from<const R: usize, const L: usize>(
    da: &[&[f64]; R],
    w_t: &[f64],
    n: usize,
    j: usize,
) -> [[f64; L]; R] {
    std::array::from_fn(|r| {
        let mut acc = [0.0; L];
        for (o, &d) in da[r].iter().enumerate() {
            let w: &[f64; L] = w_t[o * n + j..][..L].try_into().expect("L");
            for q in 0..L {
                acc[q] += d * w[q];
            }
        }
        acc
    })
}
