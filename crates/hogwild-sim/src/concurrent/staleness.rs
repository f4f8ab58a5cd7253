//! Measured staleness: for every read of a neighbour's state, how many updates that
//! neighbour published between the read and the moment the reader published the state it
//! computed from it.

use serde::Serialize;

/// Reads that missed this many updates or more share the histogram's last bucket.
pub const STALENESS_BUCKETS: usize = 64;

/// The distribution of measured staleness over one run's neighbour reads.
///
/// A read's staleness is the number of updates the neighbour published after the version
/// the reader copied and before the reader published its own new state: how many of the
/// neighbour's updates that new state missed (the simulator's staleness, counted in the
/// neighbour's updates rather than ticks). A neighbour the reading thread owns itself cannot
/// change in between, so its reads have staleness 0.
///
/// ```
/// use hogwild_sim::concurrent::MeasuredStaleness;
/// let mut s = MeasuredStaleness::default();
/// s.record(0);
/// s.record(3);
/// assert_eq!((s.reads, s.stale_reads, s.max), (2, 1, 3));
/// assert_eq!(s.mean(), 1.5);
/// assert_eq!(s.quantile(0.5), 0);
/// assert_eq!(s.quantile(1.0), 3);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MeasuredStaleness {
    /// Reads of an in-neighbour's state (a node's reads of itself not counted).
    pub reads: u64,
    /// Those of a neighbour another thread owns: the only ones that can be stale.
    pub cross_reads: u64,
    /// Reads that missed at least one update.
    pub stale_reads: u64,
    /// The most updates a read missed.
    pub max: u64,
    /// Sum of the updates missed over all reads (for the mean).
    pub missed_total: u64,
    /// `histogram[k]`: reads that missed `k` updates; the last bucket, `k` or more.
    pub histogram: Vec<u64>,
    /// Copies of a neighbour's state discarded and begun again because its writer was
    /// writing (sequence lock retries, spins included).
    pub retries: u64,
}

impl Default for MeasuredStaleness {
    fn default() -> Self {
        MeasuredStaleness {
            reads: 0,
            cross_reads: 0,
            stale_reads: 0,
            max: 0,
            missed_total: 0,
            histogram: vec![0; STALENESS_BUCKETS],
            retries: 0,
        }
    }
}

impl MeasuredStaleness {
    /// Counts one read that missed `missed` updates.
    #[inline]
    pub fn record(&mut self, missed: u64) {
        self.reads += 1;
        self.stale_reads += u64::from(missed > 0);
        self.max = self.max.max(missed);
        self.missed_total += missed;
        let bucket =
            usize::try_from(missed).map_or(STALENESS_BUCKETS - 1, |m| m.min(STALENESS_BUCKETS - 1));
        self.histogram[bucket] += 1;
    }

    /// Counts `reads` reads that cannot be stale (of the reader's own thread's nodes).
    #[inline]
    pub fn record_fresh(&mut self, reads: u64) {
        self.reads += reads;
        self.histogram[0] += reads;
    }

    /// Adds another thread's counts.
    pub fn merge(&mut self, other: &MeasuredStaleness) {
        self.reads += other.reads;
        self.cross_reads += other.cross_reads;
        self.stale_reads += other.stale_reads;
        self.max = self.max.max(other.max);
        self.missed_total += other.missed_total;
        for (a, b) in self.histogram.iter_mut().zip(&other.histogram) {
            *a += b;
        }
        self.retries += other.retries;
    }

    /// Mean updates missed per read (0 without reads).
    pub fn mean(&self) -> f64 {
        if self.reads == 0 {
            0.0
        } else {
            self.missed_total as f64 / self.reads as f64
        }
    }

    /// Share of reads that missed at least one update (0 without reads).
    pub fn stale_share(&self) -> f64 {
        if self.reads == 0 {
            0.0
        } else {
            self.stale_reads as f64 / self.reads as f64
        }
    }

    /// The smallest `k` such that at least a share `q` of reads missed at most `k` updates
    /// (`q` in [0, 1]); reads in the last bucket count as [`MeasuredStaleness::max`].
    pub fn quantile(&self, q: f64) -> u64 {
        let target = (q.clamp(0.0, 1.0) * self.reads as f64).ceil() as u64;
        let mut seen = 0;
        for (k, &count) in self.histogram.iter().enumerate() {
            seen += count;
            if seen >= target.max(1) {
                return if k == STALENESS_BUCKETS - 1 {
                    self.max
                } else {
                    k as u64
                };
            }
        }
        self.max
    }
}
