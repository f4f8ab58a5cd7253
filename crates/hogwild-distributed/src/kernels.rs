//! The node-local products of the filter's passes, every node with its own row of
//! parameters: `x_i W_i`, `δ_i W_iᵀ` and the gradient's `x_iᵀ δ_i`.
//!
//! A single shared row (a centralized model) is read by every node, and its gradient sums
//! every node's product, node by node. The loops are compiled for the x86-64 baseline and
//! for AVX2, and the second runs where the processor has it (`multiversion`, detected once);
//! common widths get loops of known length. Every variant runs the same IEEE operations in
//! the same order (Rust never fuses a multiply and an add), so they give the same bits on
//! every machine.

use multiversion::multiversion;
use ndarray::{Array2, ArrayView2, ArrayViewMut2};

/// Parameter rows as the kernels read them: row `i`, or the single shared row.
#[derive(Clone, Copy)]
struct Rows<'a> {
    data: &'a [f64],
    len: usize,
    shared: bool,
}

impl<'a> Rows<'a> {
    fn of(copies: &'a ArrayView2<'a, f64>) -> Rows<'a> {
        Rows {
            data: copies.to_slice().expect("copies are in standard layout"),
            len: copies.ncols(),
            shared: copies.nrows() == 1,
        }
    }

    /// The `size` scalars at `offset` in node `i`'s row.
    fn block(self, i: usize, offset: usize, size: usize) -> &'a [f64] {
        let r = if self.shared { 0 } else { i };
        &self.data[r * self.len + offset..r * self.len + offset + size]
    }
}

/// `out_i (+)= x_i · W_i`, where `W_i` is node `i`'s `d_in × d_out` block at `offset`.
pub fn node_matmul(
    copies: ArrayView2<'_, f64>,
    offset: usize,
    x: ArrayView2<'_, f64>,
    mut out: ArrayViewMut2<'_, f64>,
    accumulate: bool,
) {
    let (d_in, d_out) = (x.ncols(), out.ncols());
    let x = x.to_slice().expect("standard layout");
    let out = out.as_slice_mut().expect("standard layout");
    matmul_kernel(Rows::of(&copies), offset, d_in, d_out, x, out, accumulate);
}

/// Calls `$fixed::<D>(args)` for the common widths `D` (loops of known length, which the
/// compiler unrolls into whole vector registers), `$general(args)` otherwise; both do the
/// same arithmetic in the same order.
macro_rules! by_width {
    ($width:expr, $fixed:ident, $general:ident, ($($arg:expr),*)) => {
        match $width {
            1 => $fixed::<1>($($arg),*),
            2 => $fixed::<2>($($arg),*),
            4 => $fixed::<4>($($arg),*),
            5 => $fixed::<5>($($arg),*),
            8 => $fixed::<8>($($arg),*),
            10 => $fixed::<10>($($arg),*),
            16 => $fixed::<16>($($arg),*),
            32 => $fixed::<32>($($arg),*),
            _ => $general($($arg),*),
        }
    };
}

#[multiversion(targets("x86_64+avx2+avx"))]
fn matmul_kernel(
    rows: Rows,
    offset: usize,
    d_in: usize,
    d_out: usize,
    x: &[f64],
    out: &mut [f64],
    accumulate: bool,
) {
    /// Output width `D`: a node's sums stay in registers.
    #[inline(always)]
    fn fixed<const D: usize>(
        r: Rows,
        offset: usize,
        d_in: usize,
        _d_out: usize,
        x: &[f64],
        out: &mut [f64],
        acc_in: bool,
    ) {
        for (i, (xi, o)) in x
            .chunks_exact(d_in)
            .zip(out.chunks_exact_mut(D))
            .enumerate()
        {
            let w = r.block(i, offset, d_in * D);
            let mut acc = [0.0; D];
            if acc_in {
                acc.copy_from_slice(o);
            }
            for (&xk, wk) in xi.iter().zip(w.chunks_exact(D)) {
                let wk: &[f64; D] = wk.try_into().expect("width D");
                for j in 0..D {
                    acc[j] += xk * wk[j];
                }
            }
            o.copy_from_slice(&acc);
        }
    }
    #[inline(always)]
    fn general(
        r: Rows,
        offset: usize,
        d_in: usize,
        d_out: usize,
        x: &[f64],
        out: &mut [f64],
        acc_in: bool,
    ) {
        for (i, (xi, o)) in x
            .chunks_exact(d_in)
            .zip(out.chunks_exact_mut(d_out))
            .enumerate()
        {
            let w = r.block(i, offset, d_in * d_out);
            if !acc_in {
                o.fill(0.0);
            }
            for (&xk, wk) in xi.iter().zip(w.chunks_exact(d_out)) {
                axpy(o, xk, wk);
            }
        }
    }
    by_width!(
        d_out,
        fixed,
        general,
        (rows, offset, d_in, d_out, x, out, accumulate)
    )
}

/// `out_i = δ_i · W_iᵀ`, where `W_i` is node `i`'s `d_in × d_out` block at `offset`.
pub fn node_matmul_t(
    copies: ArrayView2<'_, f64>,
    offset: usize,
    delta: ArrayView2<'_, f64>,
    mut out: ArrayViewMut2<'_, f64>,
) {
    let (d_out, d_in) = (delta.ncols(), out.ncols());
    let delta = delta.to_slice().expect("standard layout");
    let out = out.as_slice_mut().expect("standard layout");
    let rows = Rows::of(&copies);
    if rows.shared && delta.len() > d_out {
        // One block read by every node: transposed once, every node's products become
        // row updates `out_i += δ_ij W[·, j]` over j in order, the same sums as the dots.
        let w = rows.block(0, offset, d_in * d_out);
        let mut transposed = vec![0.0; d_in * d_out];
        for (k, row) in w.chunks_exact(d_out).enumerate() {
            for (j, &x) in row.iter().enumerate() {
                transposed[j * d_in + k] = x;
            }
        }
        let shared = Rows {
            data: &transposed,
            len: d_in * d_out,
            shared: true,
        };
        matmul_kernel(shared, 0, d_out, d_in, delta, out, false);
        return;
    }
    matmul_t_kernel(rows, offset, d_in, d_out, delta, out);
}

#[multiversion(targets("x86_64+avx2+avx"))]
fn matmul_t_kernel(
    rows: Rows,
    offset: usize,
    d_in: usize,
    d_out: usize,
    delta: &[f64],
    out: &mut [f64],
) {
    /// Output width of the forward product `D`: a node's `δ` stays in registers.
    #[inline(always)]
    fn fixed<const D: usize>(
        r: Rows,
        offset: usize,
        d_in: usize,
        _d_out: usize,
        delta: &[f64],
        out: &mut [f64],
    ) {
        for (i, (d, o)) in delta
            .chunks_exact(D)
            .zip(out.chunks_exact_mut(d_in))
            .enumerate()
        {
            let d: &[f64; D] = d.try_into().expect("width D");
            dot_rows(o, r.block(i, offset, d_in * D), d);
        }
    }
    #[inline(always)]
    fn general(r: Rows, offset: usize, d_in: usize, d_out: usize, delta: &[f64], out: &mut [f64]) {
        for (i, (d, o)) in delta
            .chunks_exact(d_out)
            .zip(out.chunks_exact_mut(d_in))
            .enumerate()
        {
            dot_rows(o, r.block(i, offset, d_in * d_out), d);
        }
    }
    by_width!(
        d_out,
        fixed,
        general,
        (rows, offset, d_in, d_out, delta, out)
    )
}

/// `grads_i[offset..] += x_iᵀ δ_i` (row `i` of `grads`, or row 0 if it has one row).
pub fn node_outer_accumulate(
    grads: &mut Array2<f64>,
    offset: usize,
    x: ArrayView2<'_, f64>,
    delta: ArrayView2<'_, f64>,
) {
    let (d_in, d_out) = (x.ncols(), delta.ncols());
    // A single shared row sums every node's product into itself, node by node.
    let stride = if grads.nrows() == 1 { 0 } else { grads.ncols() };
    let g = grads.as_slice_mut().expect("standard layout");
    let x = x.to_slice().expect("standard layout");
    let delta = delta.to_slice().expect("standard layout");
    outer_kernel(g, stride, offset, d_in, d_out, x, delta);
}

#[multiversion(targets("x86_64+avx2+avx"))]
fn outer_kernel(
    g: &mut [f64],
    stride: usize,
    offset: usize,
    d_in: usize,
    d_out: usize,
    x: &[f64],
    delta: &[f64],
) {
    /// Output width `D`: a node's `δ` stays in registers.
    #[inline(always)]
    fn fixed<const D: usize>(
        g: &mut [f64],
        stride: usize,
        offset: usize,
        d_in: usize,
        _d_out: usize,
        x: &[f64],
        delta: &[f64],
    ) {
        for (i, (xi, d)) in x.chunks_exact(d_in).zip(delta.chunks_exact(D)).enumerate() {
            let d: &[f64; D] = d.try_into().expect("width D");
            let block = &mut g[i * stride + offset..i * stride + offset + d_in * D];
            for (&xk, gk) in xi.iter().zip(block.chunks_exact_mut(D)) {
                let gk: &mut [f64; D] = gk.try_into().expect("width D");
                for j in 0..D {
                    gk[j] += xk * d[j];
                }
            }
        }
    }
    #[inline(always)]
    fn general(
        g: &mut [f64],
        stride: usize,
        offset: usize,
        d_in: usize,
        d_out: usize,
        x: &[f64],
        delta: &[f64],
    ) {
        for (i, (xi, d)) in x
            .chunks_exact(d_in)
            .zip(delta.chunks_exact(d_out))
            .enumerate()
        {
            let block = &mut g[i * stride + offset..i * stride + offset + d_in * d_out];
            for (&xk, gk) in xi.iter().zip(block.chunks_exact_mut(d_out)) {
                axpy(gk, xk, d);
            }
        }
    }
    by_width!(
        d_out,
        fixed,
        general,
        (g, stride, offset, d_in, d_out, x, delta)
    )
}

/// `o[k] = Σ_j w[k · width + j] · d[j]` with `width = d.len()`, each sum from 0 in order
/// of `j`. A sum is a chain of dependent additions, so eight (then four, then one) rows
/// are summed side by side: the same operations in the same order per output, several
/// chains in flight.
#[inline(always)]
fn dot_rows(o: &mut [f64], w: &[f64], d: &[f64]) {
    let width = d.len();
    let eight = dot_chains::<8>(o, w, d);
    let four = eight + dot_chains::<4>(&mut o[eight..], &w[eight * width..], d);
    dot_chains::<1>(&mut o[four..], &w[four * width..], d);
}

/// [`dot_rows`] for the first whole groups of `C` outputs; returns how many it wrote.
#[inline(always)]
fn dot_chains<const C: usize>(o: &mut [f64], w: &[f64], d: &[f64]) -> usize {
    let width = d.len();
    let whole = o.len() / C * C;
    for (o, w) in o[..whole]
        .chunks_exact_mut(C)
        .zip(w.chunks_exact(C * width))
    {
        let rows: [&[f64]; C] = std::array::from_fn(|c| &w[c * width..(c + 1) * width]);
        let mut sums = [0.0; C];
        for (j, &dj) in d.iter().enumerate() {
            for (sum, row) in sums.iter_mut().zip(&rows) {
                *sum += row[j] * dj;
            }
        }
        o.copy_from_slice(&sums);
    }
    whole
}

/// `y += a · x`. Common widths get a loop of known length, which the compiler unrolls
/// into whole vector registers; the arithmetic is the same either way.
#[inline(always)]
pub(crate) fn axpy(y: &mut [f64], a: f64, x: &[f64]) {
    #[inline(always)]
    fn fixed<const D: usize>(y: &mut [f64], a: f64, x: &[f64]) {
        let y: &mut [f64; D] = y.try_into().expect("width D");
        let x: &[f64; D] = x.try_into().expect("width D");
        for j in 0..D {
            y[j] += a * x[j];
        }
    }
    match y.len() {
        1 => fixed::<1>(y, a, x),
        2 => fixed::<2>(y, a, x),
        4 => fixed::<4>(y, a, x),
        5 => fixed::<5>(y, a, x),
        8 => fixed::<8>(y, a, x),
        10 => fixed::<10>(y, a, x),
        16 => fixed::<16>(y, a, x),
        32 => fixed::<32>(y, a, x),
        _ => {
            for (yj, &xj) in y.iter_mut().zip(x) {
                *yj += a * xj;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngExt;

    /// The unrolled widths and the general loop against plain loops, bit for bit.
    #[test]
    fn kernels_match_plain_loops_at_every_width() {
        let mut rng = crate::stream("filter/kernels");
        let mut uniform = |shape: (usize, usize)| {
            Array2::from_shape_fn(shape, |_| 2.0 * rng.random::<f64>() - 1.0)
        };
        let n = 7;
        for (d_in, d_out) in [(3, 1), (10, 10), (4, 3), (2, 12), (5, 32), (13, 64), (9, 7)] {
            let offset = 3;
            let copies = uniform((n, offset + d_in * d_out + 2));
            let w = |i: usize, k: usize, j: usize| copies[[i, offset + k * d_out + j]];
            let x = uniform((n, d_in));
            let delta = uniform((n, d_out));
            let start = uniform((n, d_out));

            let mut out = start.clone();
            node_matmul(copies.view(), offset, x.view(), out.view_mut(), true);
            let mut t = Array2::zeros((n, d_in));
            node_matmul_t(copies.view(), offset, delta.view(), t.view_mut());
            let mut grads = copies.clone();
            node_outer_accumulate(&mut grads, offset, x.view(), delta.view());
            // one shared row: every node reads it, and its gradient sums node by node
            let shared = copies.slice(ndarray::s![0..1, ..]).to_owned();
            let mut out_shared = Array2::zeros((n, d_out));
            node_matmul(
                shared.view(),
                offset,
                x.view(),
                out_shared.view_mut(),
                false,
            );
            let mut t_shared = Array2::zeros((n, d_in));
            node_matmul_t(shared.view(), offset, delta.view(), t_shared.view_mut());
            let mut grad_shared = shared.clone();
            node_outer_accumulate(&mut grad_shared, offset, x.view(), delta.view());
            for k in 0..d_in {
                for j in 0..d_out {
                    let mut acc = w(0, k, j);
                    for i in 0..n {
                        acc += x[[i, k]] * delta[[i, j]];
                    }
                    let got = grad_shared[[0, offset + k * d_out + j]];
                    assert_eq!(
                        got.to_bits(),
                        acc.to_bits(),
                        "shared xᵀ δ at {d_in}x{d_out}"
                    );
                }
            }
            for i in 0..n {
                for j in 0..d_out {
                    let mut acc = 0.0;
                    for k in 0..d_in {
                        acc += x[[i, k]] * w(0, k, j);
                    }
                    assert_eq!(out_shared[[i, j]].to_bits(), acc.to_bits(), "shared x W");
                }
                for k in 0..d_in {
                    let mut acc = 0.0;
                    for j in 0..d_out {
                        acc += w(0, k, j) * delta[[i, j]];
                    }
                    assert_eq!(t_shared[[i, k]].to_bits(), acc.to_bits(), "shared δ Wᵀ");
                }
            }
            for i in 0..n {
                for j in 0..d_out {
                    let mut acc = start[[i, j]];
                    for k in 0..d_in {
                        acc += x[[i, k]] * w(i, k, j);
                    }
                    assert_eq!(
                        out[[i, j]].to_bits(),
                        acc.to_bits(),
                        "x W at {d_in}x{d_out}"
                    );
                }
                for k in 0..d_in {
                    let mut acc = 0.0;
                    for j in 0..d_out {
                        acc += w(i, k, j) * delta[[i, j]];
                    }
                    assert_eq!(t[[i, k]].to_bits(), acc.to_bits(), "δ Wᵀ at {d_in}x{d_out}");
                    for j in 0..d_out {
                        let expect = w(i, k, j) + x[[i, k]] * delta[[i, j]];
                        let got = grads[[i, offset + k * d_out + j]];
                        assert_eq!(got.to_bits(), expect.to_bits(), "xᵀ δ at {d_in}x{d_out}");
                    }
                }
            }
        }
    }
}
