//! Small dense kernels with a fixed summation order.
//!
//! We do not call BLAS-style kernels (`ndarray::dot`) in model numerics: their SIMD paths
//! are chosen per CPU, which can change the last bits of a result between machines. These
//! loops are plain, so the same inputs give the same bits everywhere; the row-wise
//! products ([`mm`], [`mm_nt`]) split many rows across threads
//! ([`hogwild_graph::par::fill_rows`]), each row still computed in the same order.
//! They are generic over a [`Scalar`] so the same code runs on `f64` and on dual numbers.

use hogwild_graph::par::fill_rows;
use ndarray::{Array2, ArrayView2};
use num_dual::{Dual64, DualNum, DualStruct};

/// A real number (`f64`) or a forward-mode dual number over it (`Dual64`).
pub trait Scalar: DualNum<Primitive = f64> + DualStruct<Real = f64> + Copy + Send + Sync {
    /// The real part.
    fn real(self) -> f64;

    /// `(softplus(x), σ(x), 1 − σ(x))`, `softplus(x) = ln(1 + eˣ)` and `σ(x) = 1/(1 + e⁻ˣ)`
    /// its derivative, from one exponential ([`crate::elementary::softplus_sigmoid`]).
    fn softplus_sigmoid(self) -> (Self, Self, Self);
}

impl Scalar for f64 {
    fn real(self) -> f64 {
        self
    }

    #[inline(always)]
    fn softplus_sigmoid(self) -> (f64, f64, f64) {
        crate::elementary::softplus_sigmoid(self)
    }
}

impl Scalar for Dual64 {
    fn real(self) -> f64 {
        self.re
    }

    /// The real parts are the `f64` values; the tangents are `σ ε`, `σ (1 − σ) ε` and its
    /// negative.
    fn softplus_sigmoid(self) -> (Dual64, Dual64, Dual64) {
        let (s, g, c) = self.re.softplus_sigmoid();
        let slope = g * c * self.eps;
        (
            Dual64::new(s, g * self.eps),
            Dual64::new(g, slope),
            Dual64::new(c, -slope),
        )
    }
}

/// Several directional derivatives at once (the energy GNN's block rules: curvature in a few
/// directions per pass).
impl<const N: usize> Scalar for num_dual::DualSVec64<N> {
    fn real(self) -> f64 {
        self.re
    }

    /// As for [`Dual64`], lane by lane.
    fn softplus_sigmoid(self) -> (Self, Self, Self) {
        let (s, g, c) = self.re.softplus_sigmoid();
        let slope = self.eps * (g * c);
        (
            Self::new(s, self.eps * g),
            Self::new(g, slope),
            Self::new(c, -slope),
        )
    }
}

/// The entries of `a` in row-major order (a copy only if `a` is not in standard layout).
fn row_major<A: Clone>(a: ArrayView2<'_, A>) -> ndarray::CowArray<'_, A, ndarray::Ix2> {
    if a.is_standard_layout() {
        a.into()
    } else {
        a.as_standard_layout().into_owned().into()
    }
}

/// `a · w` (T × f64 → T).
pub fn mm<T: Scalar>(a: ArrayView2<'_, T>, w: ArrayView2<'_, f64>) -> Array2<T> {
    assert_eq!(
        a.ncols(),
        w.nrows(),
        "mm: shapes {:?} x {:?}",
        a.dim(),
        w.dim()
    );
    let (r, k, c) = (a.nrows(), a.ncols(), w.ncols());
    let (a, w) = (row_major(a), row_major(w));
    let (a, w) = (
        a.as_slice().expect("row-major"),
        w.as_slice().expect("row-major"),
    );
    let mut out = vec![T::zero(); r * c];
    fill_rows(&mut out, c, |first, out| {
        let a = &a[first * k..];
        match c {
            1 => mm_fixed::<T, 1>(out, a, w, k),
            4 => mm_fixed::<T, 4>(out, a, w, k),
            8 => mm_fixed::<T, 8>(out, a, w, k),
            16 => mm_fixed::<T, 16>(out, a, w, k),
            _ => {
                for (orow, arow) in out.chunks_exact_mut(c).zip(a.chunks_exact(k.max(1))) {
                    for (p, &aip) in arow.iter().enumerate().take(k) {
                        for (o, &wpj) in orow.iter_mut().zip(&w[p * c..(p + 1) * c]) {
                            *o += aip * wpj;
                        }
                    }
                }
            }
        }
    });
    Array2::from_shape_vec((r, c), out).expect("r × c")
}

/// [`mm`] for `C` output columns, the row held in registers: the same terms in the same
/// order, so the same bits (the widths of the energy GNN's networks and of IGNN).
#[inline(always)]
fn mm_fixed<T: Scalar, const C: usize>(out: &mut [T], a: &[T], w: &[f64], k: usize) {
    for (orow, arow) in out.chunks_exact_mut(C).zip(a.chunks_exact(k.max(1))) {
        let mut acc = [T::zero(); C];
        for (&aip, wp) in arow.iter().zip(w.chunks_exact(C)) {
            for q in 0..C {
                acc[q] += aip * wp[q];
            }
        }
        orow.copy_from_slice(&acc);
    }
}

/// `a · wᵀ` (T × f64 → T).
pub fn mm_nt<T: Scalar>(a: ArrayView2<'_, T>, w: ArrayView2<'_, f64>) -> Array2<T> {
    assert_eq!(
        a.ncols(),
        w.ncols(),
        "mm_nt: shapes {:?} x {:?}ᵀ",
        a.dim(),
        w.dim()
    );
    let (r, k, c) = (a.nrows(), a.ncols(), w.nrows());
    let (a, w) = (row_major(a), row_major(w));
    let (a, w) = (
        a.as_slice().expect("row-major"),
        w.as_slice().expect("row-major"),
    );
    let mut out = vec![T::zero(); r * c];
    fill_rows(&mut out, c, |first, out| {
        let a = &a[first * k..];
        match k {
            4 => mm_nt_fixed::<T, 4>(out, a, w, c),
            8 => mm_nt_fixed::<T, 8>(out, a, w, c),
            16 => mm_nt_fixed::<T, 16>(out, a, w, c),
            _ => {
                for (i, orow) in out.chunks_exact_mut(c).enumerate() {
                    let arow = &a[i * k..(i + 1) * k];
                    for (j, o) in orow.iter_mut().enumerate() {
                        let mut acc = T::zero();
                        for (&aip, &wjp) in arow.iter().zip(&w[j * k..(j + 1) * k]) {
                            acc += aip * wjp;
                        }
                        *o = acc;
                    }
                }
            }
        }
    });
    Array2::from_shape_vec((r, c), out).expect("r × c")
}

/// [`mm_nt`] for an inner dimension `K`: the same terms in the same order.
#[inline(always)]
fn mm_nt_fixed<T: Scalar, const K: usize>(out: &mut [T], a: &[T], w: &[f64], c: usize) {
    if c == 0 {
        return;
    }
    for (orow, arow) in out.chunks_exact_mut(c).zip(a.chunks_exact(K)) {
        let arow: &[T; K] = arow.try_into().expect("K");
        for (o, wj) in orow.iter_mut().zip(w.chunks_exact(K)) {
            let mut acc = T::zero();
            for q in 0..K {
                acc += arow[q] * wj[q];
            }
            *o = acc;
        }
    }
}

/// `xᵀ · d` (f64 × T → T): the weight gradient of a layer with input `x`.
pub fn mm_tn<T: Scalar>(x: ArrayView2<'_, f64>, d: ArrayView2<'_, T>) -> Array2<T> {
    assert_eq!(
        x.nrows(),
        d.nrows(),
        "mm_tn: shapes {:?}ᵀ x {:?}",
        x.dim(),
        d.dim()
    );
    let (rows, p_n, c) = (x.nrows(), x.ncols(), d.ncols());
    let (x, d) = (row_major(x), row_major(d));
    let (x, d) = (
        x.as_slice().expect("row-major"),
        d.as_slice().expect("row-major"),
    );
    let mut out = vec![T::zero(); p_n * c];
    for r in 0..rows {
        let drow = &d[r * c..(r + 1) * c];
        for (p, &xrp) in x[r * p_n..(r + 1) * p_n].iter().enumerate() {
            if xrp == 0.0 {
                continue;
            }
            for (o, &drj) in out[p * c..(p + 1) * c].iter_mut().zip(drow) {
                *o += drj * xrp;
            }
        }
    }
    Array2::from_shape_vec((p_n, c), out).expect("p × c")
}

/// `aᵀ · d` (T × T → T).
pub fn mm_tn_tt<T: Scalar>(a: ArrayView2<'_, T>, d: ArrayView2<'_, T>) -> Array2<T> {
    assert_eq!(
        a.nrows(),
        d.nrows(),
        "mm_tn_tt: shapes {:?}ᵀ x {:?}",
        a.dim(),
        d.dim()
    );
    let (rows, p_n, c) = (a.nrows(), a.ncols(), d.ncols());
    let (a, d) = (row_major(a), row_major(d));
    let (a, d) = (
        a.as_slice().expect("row-major"),
        d.as_slice().expect("row-major"),
    );
    let mut out = vec![T::zero(); p_n * c];
    for r in 0..rows {
        let drow = &d[r * c..(r + 1) * c];
        for (p, &arp) in a[r * p_n..(r + 1) * p_n].iter().enumerate() {
            for (o, &drj) in out[p * c..(p + 1) * c].iter_mut().zip(drow) {
                *o += arp * drj;
            }
        }
    }
    Array2::from_shape_vec((p_n, c), out).expect("p × c")
}

/// Column sums as a `1 × c` row (fixed row order).
pub fn col_sums<T: Scalar>(d: ArrayView2<'_, T>) -> Array2<T> {
    let mut out = Array2::from_elem((1, d.ncols()), T::zero());
    for r in 0..d.nrows() {
        for j in 0..d.ncols() {
            out[[0, j]] += d[[r, j]];
        }
    }
    out
}

/// Adds the `1 × c` row `b` to every row of `a`.
pub fn add_row<T: Scalar>(a: &mut Array2<T>, b: ArrayView2<'_, f64>) {
    for mut row in a.rows_mut() {
        for (x, &bj) in row.iter_mut().zip(b.row(0)) {
            *x += bj;
        }
    }
}

/// `x W + b`: [`mm`], then [`add_row`] of the `1 × c` bias (the same bits as the two calls).
pub fn affine(
    x: ArrayView2<'_, f64>,
    w: ArrayView2<'_, f64>,
    b: ArrayView2<'_, f64>,
) -> Array2<f64> {
    let mut out = mm(x, w);
    add_row(&mut out, b);
    out
}

/// `x` with zero columns appended up to `width` (explicit models' layer-0 embeddings: the
/// features padded to the one width every layer has).
pub fn pad_columns(x: ArrayView2<'_, f64>, width: usize) -> Array2<f64> {
    let mut h = Array2::zeros((x.nrows(), width));
    h.slice_mut(ndarray::s![.., ..x.ncols()]).assign(&x);
    h
}

/// `Σ a ∘ b` over all entries, in row-major order.
pub fn dot_all(a: ArrayView2<'_, f64>, b: ArrayView2<'_, f64>) -> f64 {
    assert_eq!(a.dim(), b.dim());
    a.iter().zip(b.iter()).map(|(x, y)| x * y).sum()
}

/// Largest absolute entry; `+∞` if any entry is not finite (so a diverged iterate never
/// passes a tolerance test).
pub fn max_abs(a: ArrayView2<'_, f64>) -> f64 {
    // Any order will do: the maximum does not depend on it.
    let a = match a.as_slice_memory_order() {
        Some(s) => std::borrow::Cow::Borrowed(s),
        None => std::borrow::Cow::Owned(a.iter().copied().collect()),
    };
    max_abs_of(&a, &a, |x, _| x)
}

/// [`max_abs`] of `a − b`, without forming it.
pub fn max_abs_diff(a: ArrayView2<'_, f64>, b: ArrayView2<'_, f64>) -> f64 {
    assert_eq!(a.dim(), b.dim(), "max_abs_diff: shapes");
    let (a, b) = (row_major(a), row_major(b));
    let (a, b) = (
        a.as_slice().expect("row-major"),
        b.as_slice().expect("row-major"),
    );
    max_abs_of(a, b, |x, y| x - y)
}

/// The largest `|f(a[i], b[i])|`, or `+∞` if any is not finite. The maximum does not depend
/// on the order of the values, so four running maxima (independent, for speed) give the
/// same result.
#[inline(always)]
fn max_abs_of(a: &[f64], b: &[f64], f: impl Fn(f64, f64) -> f64) -> f64 {
    let (mut lanes, mut finite) = ([0.0_f64; 4], true);
    let mut take = |lane: &mut f64, v: f64| {
        finite &= v.is_finite();
        if v.abs() > *lane {
            *lane = v.abs();
        }
    };
    let (ca, cb) = (a.chunks_exact(4), b.chunks_exact(4));
    let tail = ca.remainder().iter().zip(cb.remainder());
    for (x, y) in ca.zip(cb) {
        for (q, lane) in lanes.iter_mut().enumerate() {
            take(lane, f(x[q], y[q]));
        }
    }
    for (&x, &y) in tail {
        take(&mut lanes[0], f(x, y));
    }
    if finite {
        lanes.iter().fold(0.0, |m: f64, &x| m.max(x))
    } else {
        f64::INFINITY
    }
}

/// Lifts a real matrix into `T`.
pub fn lift<T: Scalar>(a: ArrayView2<'_, f64>) -> Array2<T> {
    a.mapv(T::from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn kernels_match_definitions() {
        let a = array![[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]];
        let w = array![[1.0, -1.0, 0.5], [2.0, 0.0, 1.0]];
        assert_eq!(
            mm(a.view(), w.view()),
            array![[5.0, -1.0, 2.5], [11.0, -3.0, 5.5], [17.0, -5.0, 8.5]]
        );
        assert_eq!(
            mm_nt(a.view(), a.view()),
            array![[5.0, 11.0, 17.0], [11.0, 25.0, 39.0], [17.0, 39.0, 61.0]]
        );
        assert_eq!(
            mm_tn(a.view(), a.view()),
            array![[35.0, 44.0], [44.0, 56.0]]
        );
        assert_eq!(
            mm_tn_tt(a.view(), a.view()),
            array![[35.0, 44.0], [44.0, 56.0]]
        );
        assert_eq!(col_sums(a.view()), array![[9.0, 12.0]]);
        assert_eq!(max_abs(array![[1.0, -3.0]].view()), 3.0);
        assert_eq!(max_abs(array![[1.0, f64::NAN]].view()), f64::INFINITY);
        assert_eq!(max_abs(array![[f64::NAN, 1.0]].view()), f64::INFINITY);
        assert_eq!(max_abs(array![[1.0, -3.0], [2.0, 0.5]].t()), 3.0);
        let (p, q) = (
            array![[1.0, -3.0], [2.0, 0.5]],
            array![[0.5, 1.0], [2.0, -1.0]],
        );
        assert_eq!(max_abs_diff(p.view(), q.view()), 4.0);
        assert_eq!(max_abs_diff(p.t(), q.t()), 4.0);
        assert_eq!(
            max_abs_diff(p.view(), array![[1.0, f64::INFINITY], [0.0, 0.0]].view()),
            f64::INFINITY
        );
    }

    #[test]
    fn fixed_width_paths_give_the_bits_of_the_plain_loops() {
        // Widths with a register path (1, 4, 8, 16) and without (3): every entry must equal
        // the sum of its terms in index order, bit for bit.
        let entry = |i: usize, j: usize| ((i * 31 + j * 17) % 23) as f64 / 7.0 - 1.3;
        for inner in [0, 3, 4, 8, 16] {
            for outer in [1, 3, 4, 8, 16] {
                let a = Array2::from_shape_fn((5, inner), |(i, j)| entry(i, j));
                let w = Array2::from_shape_fn((inner, outer), |(i, j)| entry(j + 3, i));
                let wt = w.t().as_standard_layout().into_owned();
                let (ab, abt) = (mm(a.view(), w.view()), mm_nt(a.view(), wt.view()));
                for i in 0..5 {
                    for j in 0..outer {
                        let mut acc = 0.0;
                        for p in 0..inner {
                            acc += a[[i, p]] * w[[p, j]];
                        }
                        assert_eq!(ab[[i, j]].to_bits(), acc.to_bits(), "mm {inner}x{outer}");
                        assert_eq!(
                            abt[[i, j]].to_bits(),
                            acc.to_bits(),
                            "mm_nt {inner}x{outer}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn products_over_many_rows_have_the_same_bits_on_any_number_of_threads() {
        // Enough rows to split across threads; each row must be the bits of the same
        // product computed alone (one row: the sequential path).
        use hogwild_graph::par::{on_threads, CHUNK_ROWS, PARALLEL_MIN_ROWS};
        let rows = PARALLEL_MIN_ROWS + 2 * CHUNK_ROWS + 5;
        let entry = |i: usize, j: usize| ((i * 31 + j * 17) % 23) as f64 / 7.0 - 1.3;
        for (inner, outer) in [(4, 16), (16, 4), (3, 5)] {
            let a = Array2::from_shape_fn((rows, inner), |(i, j)| entry(i, j));
            let w = Array2::from_shape_fn((inner, outer), |(i, j)| entry(j + 3, i));
            let wt = w.t().as_standard_layout().into_owned();
            let on = |threads: usize| {
                on_threads(threads, || {
                    (mm(a.view(), w.view()), mm_nt(a.view(), wt.view()))
                })
            };
            let bits = |x: &Array2<f64>| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            let (one, one_t) = on(1);
            for threads in [2, 3] {
                let (many, many_t) = on(threads);
                assert_eq!(
                    bits(&one),
                    bits(&many),
                    "mm {inner}x{outer}, {threads} threads"
                );
                assert_eq!(bits(&one_t), bits(&many_t), "mm_nt {inner}x{outer}");
            }
            for i in [0, CHUNK_ROWS - 1, CHUNK_ROWS, rows - 1] {
                let row = a.slice(ndarray::s![i..i + 1, ..]);
                assert_eq!(
                    bits(&mm(row, w.view())),
                    bits(&one.row(i).to_owned().insert_axis(ndarray::Axis(0)))
                );
                assert_eq!(
                    bits(&mm_nt(row, wt.view())),
                    bits(&one_t.row(i).to_owned().insert_axis(ndarray::Axis(0)))
                );
            }
        }
    }

    #[test]
    fn dual_softplus_and_sigmoid_carry_the_f64_values_and_their_derivatives() {
        for x in [-800.0, -40.0, -1.5, -0.0, 0.0, 0.3, 35.0, 800.0] {
            let (s, g, c) = x.softplus_sigmoid();
            let (sd, gd, cd) = Dual64::new(x, 2.0).softplus_sigmoid();
            assert_eq!((sd.re, gd.re, cd.re), (s, g, c), "{x}");
            // Central differences of the f64 values (step 1e-5: truncation ~1e-11).
            if x.abs() > 100.0 {
                // Central differences would only measure rounding at this magnitude.
                assert_eq!(
                    (sd.eps, gd.eps, cd.eps),
                    (2.0 * g, 2.0 * g * c, -2.0 * g * c)
                );
                continue;
            }
            let h = 1e-5;
            let (sp, gp, cp) = (x + h).softplus_sigmoid();
            let (sm, gm, cm) = (x - h).softplus_sigmoid();
            let fd = |p: f64, m: f64| 2.0 * (p - m) / (2.0 * h);
            assert!((sd.eps - fd(sp, sm)).abs() < 1e-9, "softplus' ({x})");
            assert!((gd.eps - fd(gp, gm)).abs() < 1e-9, "sigmoid' ({x})");
            assert!((cd.eps - fd(cp, cm)).abs() < 1e-9, "(1 - sigmoid)' ({x})");
        }
    }
}
