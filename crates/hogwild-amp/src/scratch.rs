//! Gradient buffers reused across runs, examples and training steps.
//!
//! Every run's gradient and every example's gradient is summed into one buffer of the
//! parameters' shapes before it is added to its total (`readout`). Allocating and zeroing a
//! fresh buffer each time dominates small runs, so buffers come from a shared pool and go
//! back to it when dropped; whoever takes one overwrites it (or zeroes it) before reading it.

use hogwild_models::Params;
use ndarray::Array2;
use std::sync::Mutex;

/// Buffers kept in the pool at most (any shape); more are freed when given back.
const POOL_CAPACITY: usize = 256;

/// Idle buffers, one array per parameter each.
static POOL: Mutex<Vec<Vec<Array2<f64>>>> = Mutex::new(Vec::new());

/// Buffers of the parameters' shapes, each with arbitrary contents; back to the pool on drop.
pub(crate) struct GradBuffers {
    buffers: Vec<Vec<Array2<f64>>>,
}

impl GradBuffers {
    /// How many runs or examples to compute in parallel before summing them in order: enough
    /// to keep every thread of the current rayon pool busy.
    pub(crate) fn chunk_len() -> usize {
        4 * rayon::current_num_threads()
    }

    /// `count` buffers shaped like `params`, from the pool where it has them.
    pub(crate) fn take(params: &Params, count: usize) -> GradBuffers {
        let fits = |b: &Vec<Array2<f64>>| {
            b.len() == params.len()
                && b.iter()
                    .enumerate()
                    .all(|(i, a)| a.dim() == params.get(i).dim())
        };
        let mut buffers = Vec::with_capacity(count);
        {
            let mut pool = POOL.lock().unwrap_or_else(|e| e.into_inner());
            let mut i = pool.len();
            while i > 0 && buffers.len() < count {
                i -= 1;
                if fits(&pool[i]) {
                    buffers.push(pool.swap_remove(i));
                }
            }
        }
        while buffers.len() < count {
            buffers.push(params.zeros_like());
        }
        GradBuffers { buffers }
    }

    /// The buffers.
    pub(crate) fn buffers_mut(&mut self) -> &mut [Vec<Array2<f64>>] {
        &mut self.buffers
    }
}

impl Drop for GradBuffers {
    fn drop(&mut self) {
        let mut pool = POOL.lock().unwrap_or_else(|e| e.into_inner());
        let room = POOL_CAPACITY.saturating_sub(pool.len());
        let keep = self.buffers.len().min(room);
        pool.extend(self.buffers.drain(..keep));
    }
}
