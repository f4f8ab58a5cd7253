//! What the faults of `async.faults` did in one asynchronous evaluation, summed over its
//! graphs ([`FaultTotals`]); written to `faults.csv` and summarised under the table
//! ([`crate::report::faults`]).

use hogwild_sim::FaultCounts;
use serde::{Deserialize, Serialize};

/// The fault counts of one asynchronous evaluation (every evaluated graph's simulation).
///
/// ```
/// use hogwild_harness::faults::FaultTotals;
/// use hogwild_sim::FaultCounts;
///
/// let mut totals = FaultTotals::default();
/// totals.add(&FaultCounts { lost_reads: 3, corruption_round: Some(2), rounds_to_reconverge: Some(40), ..Default::default() });
/// totals.add(&FaultCounts { lost_reads: 1, corruption_round: Some(2), ..Default::default() });
/// assert_eq!((totals.graphs, totals.lost_reads, totals.corrupted_graphs, totals.reconverged_graphs), (2, 4, 2, 1));
/// assert_eq!(totals.most_rounds_to_reconverge, Some(40));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultTotals {
    /// Graphs simulated.
    pub graphs: u64,
    /// Neighbour reads lost (the reader used the version it last received).
    pub lost_reads: u64,
    /// Neighbour reads over a failed link.
    pub failed_link_reads: u64,
    /// Nodes that crashed.
    pub crashed_nodes: u64,
    /// Links that failed.
    pub failed_links: u64,
    /// Node updates whose written state was corrupted.
    pub corrupted_nodes: u64,
    /// Graphs whose corruption round was within the rounds run.
    pub corrupted_graphs: u64,
    /// Of those, the graphs an implicit model brought back to the tolerance.
    pub reconverged_graphs: u64,
    /// Rounds from the corruption to convergence, summed over the re-converged graphs.
    pub rounds_to_reconverge: u64,
    /// The most rounds from the corruption to convergence over the re-converged graphs.
    pub most_rounds_to_reconverge: Option<u64>,
}

impl FaultTotals {
    /// Adds one graph's simulation.
    pub fn add(&mut self, counts: &FaultCounts) {
        self.graphs += 1;
        self.lost_reads += counts.lost_reads;
        self.failed_link_reads += counts.failed_link_reads;
        self.crashed_nodes += counts.crashed_nodes as u64;
        self.failed_links += counts.failed_links as u64;
        self.corrupted_nodes += counts.corrupted_nodes as u64;
        self.corrupted_graphs += u64::from(counts.corruption_round.is_some());
        if let Some(r) = counts.rounds_to_reconverge {
            let r = r as u64;
            self.reconverged_graphs += 1;
            self.rounds_to_reconverge += r;
            self.most_rounds_to_reconverge =
                Some(self.most_rounds_to_reconverge.map_or(r, |m| m.max(r)));
        }
    }
}
