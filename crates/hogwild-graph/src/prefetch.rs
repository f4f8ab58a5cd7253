//! Software prefetching: a hint that data will be read soon, so its cache lines start
//! loading while other work runs. It never changes a result. The asynchronous simulator
//! visits nodes in random order, which the hardware prefetcher cannot predict, but it knows
//! the next nodes of each round: it prefetches what their updates will read.

/// Bytes per cache line (x86-64 and most ARM cores).
const LINE: usize = 64;

/// Starts loading every cache line of `data` into the L1 cache (a no-op on targets other
/// than x86-64).
#[inline]
pub fn prefetch<T>(data: &[T]) {
    #[cfg(target_arch = "x86_64")]
    {
        let size = std::mem::size_of::<T>();
        if size == 0 || data.is_empty() {
            return;
        }
        // One element per line, and the last one, which may start a line of its own.
        let step = (LINE / size).max(1);
        for x in data.iter().step_by(step) {
            safe_arch::prefetch_t0(x);
        }
        safe_arch::prefetch_t0(&data[data.len() - 1]);
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = data;
}

/// [`prefetch`] of the single value `x`.
#[inline]
pub fn prefetch_one<T>(x: &T) {
    prefetch(std::slice::from_ref(x));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefetching_accepts_any_slice_and_changes_nothing() {
        let v: Vec<f64> = (0..100).map(f64::from).collect();
        let before = v.clone();
        prefetch(&v[3..97]);
        prefetch(&v[..0]);
        prefetch(&[(); 4]);
        prefetch_one(&v[50]);
        assert_eq!(v, before);
    }
}
