//! Deterministic row parallelism for passes over many nodes.
//!
//! A pass whose output rows each depend only on their own index and on read-only inputs
//! (a sparse product's row, a dense product's row) computes every row with the same code
//! and the same operation order whether it runs on one thread or many, so splitting its
//! rows across threads cannot change a bit, and neither can taking a maximum over rows in
//! any order ([`max_over_rows`]). [`fill_rows`] does that split on the current
//! rayon pool (a sweep's worker pool inside `hogwild reproduce`, the global pool
//! elsewhere) for outputs of at least [`PARALLEL_MIN_ROWS`] rows, in fixed chunks of
//! [`CHUNK_ROWS`]; smaller outputs stay on the calling thread, where the tables' graphs and
//! batches already keep every core busy with whole runs. Sums over rows are not split
//! here: their order would depend on the chunking.

use rayon::prelude::*;

/// Outputs with fewer rows are filled on the calling thread.
pub const PARALLEL_MIN_ROWS: usize = 4096;

/// Rows per parallel task: large enough that a task's work dwarfs its scheduling.
pub const CHUNK_ROWS: usize = 1024;

/// Fills `out`, rows of `width` entries, by `fill(first_row, chunk)` over consecutive
/// chunks of whole rows (`chunk` starts at row `first_row`); in parallel when `out` has at
/// least [`PARALLEL_MIN_ROWS`] rows. `fill` must write each row from its index and
/// read-only inputs alone, so the result is the same whatever the thread count.
///
/// ```
/// let mut out = vec![0.0; 3 * 2];
/// hogwild_graph::par::fill_rows(&mut out, 2, |first, chunk| {
///     for (r, row) in chunk.chunks_exact_mut(2).enumerate() {
///         row.fill((first + r) as f64);
///     }
/// });
/// assert_eq!(out, [0.0, 0.0, 1.0, 1.0, 2.0, 2.0]);
/// ```
pub fn fill_rows<T: Send>(out: &mut [T], width: usize, fill: impl Fn(usize, &mut [T]) + Sync) {
    if width == 0 || out.is_empty() {
        return;
    }
    if out.len() / width < PARALLEL_MIN_ROWS {
        fill(0, out);
    } else {
        out.par_chunks_mut(CHUNK_ROWS * width)
            .enumerate()
            .for_each(|(c, chunk)| fill(c * CHUNK_ROWS, chunk));
    }
}

/// `[f(0), …, f(count − 1)]`, the calls on the current rayon pool when there are several
/// (one runs on the calling thread). For passes split into fixed blocks of rows, each
/// block's result computed by `f` from its index and read-only inputs alone: the results,
/// and whatever is then done with them in block order, are the same on any pool.
///
/// ```
/// let squares = hogwild_graph::par::map_blocks(4, |b| b * b);
/// assert_eq!(squares, [0, 1, 4, 9]);
/// ```
pub fn map_blocks<R: Send>(count: usize, f: impl Fn(usize) -> R + Sync + Send) -> Vec<R> {
    if count == 1 {
        vec![f(0)]
    } else {
        (0..count).into_par_iter().map(f).collect()
    }
}

/// `f()` on a new rayon pool of `threads` threads: how tests show that a pass's bits do
/// not depend on the thread count.
///
/// # Panics
///
/// If the pool's threads cannot be started.
///
/// ```
/// assert_eq!(hogwild_graph::par::on_threads(3, rayon::current_num_threads), 3);
/// ```
pub fn on_threads<R: Send>(threads: usize, f: impl FnOnce() -> R + Send) -> R {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("the pool's threads start")
        .install(f)
}

/// The largest of `value(i)` over rows `0..rows` (0 for none; NaN if any is NaN), on the
/// current rayon pool when there are at least [`PARALLEL_MIN_ROWS`] rows. A maximum is the
/// same whatever the order it is taken in, so the result is the same on any pool.
///
/// ```
/// let x = [0.5, 3.0, 2.0];
/// assert_eq!(hogwild_graph::par::max_over_rows(3, |i| x[i]), 3.0);
/// assert!(hogwild_graph::par::max_over_rows(2, |i| [1.0, f64::NAN][i]).is_nan());
/// ```
pub fn max_over_rows(rows: usize, value: impl Fn(usize) -> f64 + Sync + Send) -> f64 {
    if rows < PARALLEL_MIN_ROWS {
        (0..rows).map(value).fold(0.0, nan_max)
    } else {
        (0..rows)
            .into_par_iter()
            .with_min_len(CHUNK_ROWS)
            .map(value)
            .reduce(|| 0.0, nan_max)
    }
}

/// `max(a, b)`, NaN if either is (`f64::max` drops a NaN).
pub fn nan_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.max(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filled(rows: usize, threads: usize) -> Vec<f64> {
        let mut out = vec![f64::NAN; rows * 3];
        on_threads(threads, || {
            fill_rows(&mut out, 3, |first, chunk| {
                for (r, row) in chunk.chunks_exact_mut(3).enumerate() {
                    let i = (first + r) as f64;
                    row.copy_from_slice(&[i, i.sqrt(), i.sin()]);
                }
            })
        });
        out
    }

    #[test]
    fn a_maximum_over_many_rows_is_the_same_on_any_pool_and_keeps_a_nan() {
        let rows = PARALLEL_MIN_ROWS + 5 * CHUNK_ROWS + 3;
        let value = |i: usize| ((i * 7919) % 10007) as f64 / 3.0;
        let want = (0..rows).map(value).fold(0.0, f64::max);
        for threads in [1, 2, 3] {
            assert_eq!(on_threads(threads, || max_over_rows(rows, value)), want);
            let with_nan = |i: usize| if i == rows - 2 { f64::NAN } else { value(i) };
            assert!(on_threads(threads, || max_over_rows(rows, with_nan)).is_nan());
        }
        assert_eq!(max_over_rows(0, value), 0.0);
    }

    #[test]
    fn every_row_is_filled_once_from_its_own_index_on_any_pool() {
        for rows in [
            0,
            1,
            PARALLEL_MIN_ROWS - 1,
            PARALLEL_MIN_ROWS,
            3 * CHUNK_ROWS * 4 + 7,
        ] {
            let one = filled(rows, 1);
            for (i, row) in one.chunks_exact(3).enumerate() {
                assert_eq!(row[0], i as f64, "{rows} rows: row {i}");
            }
            for threads in [2, 3] {
                let many = filled(rows, threads);
                let same = one
                    .iter()
                    .zip(&many)
                    .all(|(a, b)| a.to_bits() == b.to_bits());
                assert!(same, "{rows} rows: 1 and {threads} threads differ");
            }
        }
    }
}
