//! Every node's state in shared memory, one sequence lock per node, no `unsafe`.
//!
//! Node `i`'s record is `1 + len` consecutive [`AtomicU64`]s: a sequence number, then its
//! state as f64 bits. Each node has exactly one writer (the thread owning its range:
//! [`SharedStates::split`] hands out disjoint [`Owned`] ranges, and only an [`Owned`] can
//! write), so writers never race each other and need no read-modify-write. Every access is
//! atomic, so there is no data race in Rust's sense whatever the interleaving; the sequence
//! number makes a reader's copy one version the writer published, never a mix of two.
//!
//! The orderings (Boehm, "Can seqlocks get along with programming language memory
//! models?", 2012):
//!
//! - writer: `seq ← s + 1` (relaxed), release fence, the values (relaxed), `seq ← s + 2`
//!   (release);
//! - reader: `s₁ ← seq` (acquire; retry while odd), the values (relaxed), acquire fence,
//!   `s₂ ← seq` (relaxed); the copy is version `s₁ / 2` if `s₂ = s₁`, else retry.
//!
//! If the acquire load of `s₁` reads the release store that ended version `s₁ / 2`, every
//! value store of that version happens before the reader's value loads, so they return that
//! version or a later one. If any returned a later one, its store follows the writer's
//! release fence of that later write, and the reader's acquire fence follows the load that
//! saw it, so the fences synchronise and the write `seq ← s₁ + 1` happens before the load of
//! `s₂`, which therefore reads `s₁ + 1` or later: the copy is discarded. On x86 every one of
//! these operations is a plain load or store; the fences only restrain the compiler.

use hogwild_graph::prefetch::prefetch;
use std::ops::Range;
use std::sync::atomic::{fence, AtomicU64, Ordering};

/// Spins on a sequence number held odd (a write in progress) before yielding the core: on
/// a machine with more runnable threads than cores the writer may have been descheduled
/// mid-write, and spinning then only delays it.
const SPINS_BEFORE_YIELD: u32 = 64;

/// Every node's latest published state behind a per-node sequence lock.
#[derive(Debug)]
pub struct SharedStates {
    words: Vec<AtomicU64>,
    /// Node `i`'s record is `words[record[i]..record[i + 1]]`: its sequence number, then its
    /// state.
    record: Vec<usize>,
}

/// What a checked read found: the version copied and how often it had to start again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Read {
    /// Updates the node had published when its state was copied.
    pub version: u64,
    /// Attempts discarded because a write overlapped them (or was in progress).
    pub retries: u64,
}

impl SharedStates {
    /// Every node's state, at version 0.
    pub fn new(initial: &[Vec<f64>]) -> SharedStates {
        let mut record = Vec::with_capacity(initial.len() + 1);
        let mut words = Vec::with_capacity(initial.iter().map(|s| 1 + s.len()).sum());
        for state in initial {
            record.push(words.len());
            words.push(AtomicU64::new(0));
            words.extend(state.iter().map(|v| AtomicU64::new(v.to_bits())));
        }
        record.push(words.len());
        SharedStates { words, record }
    }

    /// Every record, one after another (for its size).
    pub fn words(&self) -> &[AtomicU64] {
        &self.words
    }

    /// Number of nodes.
    pub fn n_nodes(&self) -> usize {
        self.record.len() - 1
    }

    /// Length of node `i`'s state.
    pub fn state_len(&self, i: usize) -> usize {
        self.record[i + 1] - self.record[i] - 1
    }

    fn seq(&self, i: usize) -> &AtomicU64 {
        &self.words[self.record[i]]
    }

    fn values(&self, i: usize) -> &[AtomicU64] {
        &self.words[self.record[i] + 1..self.record[i + 1]]
    }

    /// Prefetches node `i`'s record (where it lies, then the record: the first is a cache
    /// miss of its own on large graphs, so this runs best a step after
    /// [`SharedStates::prefetch_offset`]). Changes nothing.
    pub fn prefetch(&self, i: usize) {
        prefetch(&self.words[self.record[i]..self.record[i + 1]]);
    }

    /// Prefetches where node `i`'s record lies.
    pub fn prefetch_offset(&self, i: usize) {
        prefetch(&self.record[i..i + 2]);
    }

    /// Updates node `i` has published so far (a write in progress not counted). A
    /// measurement only: nothing read through the states depends on it.
    pub fn version(&self, i: usize) -> u64 {
        self.seq(i).load(Ordering::Relaxed) / 2
    }

    /// Copies the latest version node `i` published into `out` (its length), whoever
    /// writes it, and says which version that was.
    pub fn read(&self, i: usize, out: &mut [f64]) -> Read {
        let (seq, values) = (self.seq(i), self.values(i));
        let mut retries = 0;
        loop {
            let before = seq.load(Ordering::Acquire);
            if before % 2 == 1 {
                retries += 1;
                if retries % u64::from(SPINS_BEFORE_YIELD) == 0 {
                    std::thread::yield_now();
                } else {
                    std::hint::spin_loop();
                }
                continue;
            }
            for (o, v) in out.iter_mut().zip(values) {
                *o = f64::from_bits(v.load(Ordering::Relaxed));
            }
            fence(Ordering::Acquire);
            if seq.load(Ordering::Relaxed) == before {
                return Read {
                    version: before / 2,
                    retries,
                };
            }
            retries += 1;
        }
    }

    /// Every node's state, each a version it published (nodes may be at different
    /// moments if writers are running). Through [`Owned::read`] for the caller's own nodes.
    pub fn snapshot(&self, own: Option<&Owned<'_>>) -> Vec<Vec<f64>> {
        (0..self.n_nodes())
            .map(|i| {
                let mut s = vec![0.0; self.state_len(i)];
                match own {
                    Some(o) if o.owns(i) => o.read(i, &mut s),
                    _ => {
                        self.read(i, &mut s);
                    }
                }
                s
            })
            .collect()
    }

    /// Splits the nodes into `parts` contiguous ranges of sizes within one of each other,
    /// each with the right to write its nodes.
    pub fn split(&self, parts: usize) -> Vec<Owned<'_>> {
        let n = self.n_nodes();
        let parts = parts.max(1);
        (0..parts)
            .map(|p| Owned {
                states: self,
                nodes: p * n / parts..(p + 1) * n / parts,
            })
            .collect()
    }
}

/// The only writer of a range of nodes. [`SharedStates::split`] makes the ranges disjoint,
/// and an `Owned` is not `Clone`, so each node has one writer.
#[derive(Debug)]
pub struct Owned<'s> {
    states: &'s SharedStates,
    nodes: Range<usize>,
}

impl Owned<'_> {
    /// The nodes this writer owns.
    pub fn nodes(&self) -> Range<usize> {
        self.nodes.clone()
    }

    /// Whether node `i` is one of them.
    pub fn owns(&self, i: usize) -> bool {
        self.nodes.contains(&i)
    }

    /// Updates own node `i` has published.
    pub fn version(&self, i: usize) -> u64 {
        debug_assert!(self.owns(i));
        self.states.seq(i).load(Ordering::Relaxed) / 2
    }

    /// Copies own node `i`'s state into `out`. No other thread writes it, so the latest
    /// values are this thread's own last stores (coherence), and no check is needed.
    pub fn read(&self, i: usize, out: &mut [f64]) {
        debug_assert!(self.owns(i));
        for (o, v) in out.iter_mut().zip(self.states.values(i)) {
            *o = f64::from_bits(v.load(Ordering::Relaxed));
        }
    }

    /// Publishes `state` as own node `i`'s next version.
    ///
    /// # Panics
    /// If `i` is not owned, or `state` is not node `i`'s length.
    pub fn write(&self, i: usize, state: &[f64]) {
        assert!(self.owns(i), "node {i} is not in {:?}", self.nodes);
        let (seq, values) = (self.states.seq(i), self.states.values(i));
        assert_eq!(state.len(), values.len(), "node {i}'s state length");
        let s = seq.load(Ordering::Relaxed);
        seq.store(s + 1, Ordering::Relaxed);
        fence(Ordering::Release);
        for (v, x) in values.iter().zip(state) {
            v.store(x.to_bits(), Ordering::Relaxed);
        }
        seq.store(s + 2, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_return_whole_versions_while_a_writer_runs() {
        // The writer publishes states whose entries are all equal to the version number; a
        // torn copy would hold two different numbers.
        let len = 17;
        let states = SharedStates::new(&[vec![0.0; len], vec![0.0; 3]]);
        let owners = states.split(2);
        let writes = 20_000u64;
        std::thread::scope(|scope| {
            let writer = &owners[0];
            scope.spawn(move || {
                for v in 1..=writes {
                    writer.write(0, &vec![v as f64; len]);
                }
            });
            let mut out = vec![0.0; len];
            let mut last = 0;
            while last < writes {
                let read = states.read(0, &mut out);
                assert!(out.iter().all(|&x| x == out[0]), "torn read {out:?}");
                assert_eq!(out[0], read.version as f64, "version and values agree");
                assert!(read.version >= last, "versions never go back");
                last = read.version;
            }
        });
        assert_eq!(states.version(0), writes);
        assert_eq!(states.version(1), 0);
    }

    #[test]
    fn ranges_cover_every_node_once() {
        let states = SharedStates::new(&vec![vec![1.0]; 10]);
        for parts in 1..=12 {
            let owners = states.split(parts);
            let mut seen = vec![0; 10];
            for o in &owners {
                o.nodes().for_each(|i| seen[i] += 1);
            }
            assert!(seen.iter().all(|&c| c == 1), "{parts} parts: {seen:?}");
            let sizes: Vec<usize> = owners.iter().map(|o| o.nodes().len()).collect();
            assert!(sizes.iter().max().unwrap() - sizes.iter().min().unwrap() <= 1);
        }
    }

    #[test]
    #[should_panic(expected = "is not in")]
    fn a_writer_cannot_write_a_node_it_does_not_own() {
        let states = SharedStates::new(&vec![vec![1.0]; 4]);
        let owners = states.split(2);
        owners[0].write(3, &[2.0]);
    }
}
