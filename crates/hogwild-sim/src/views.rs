//! What every schedule with faults or messages keeps per edge: the version of the source's
//! state last received over it, and which links failed.

use hogwild_graph::Graph;

/// One state per edge of a graph, the source's, in one flat buffer: the version last
/// received over each edge (a reader's view), or the one a link's message carries.
#[derive(Debug, Clone)]
pub(crate) struct EdgeStates {
    /// Edge `e`'s state is `values[at[e]..at[e + 1]]`.
    at: Vec<usize>,
    values: Vec<f64>,
}

impl EdgeStates {
    /// Every edge holding its source's state in `states` (before anything is received: the
    /// initial states, which every node knows locally).
    pub(crate) fn new(graph: &Graph, states: &[Vec<f64>]) -> EdgeStates {
        let mut at = Vec::with_capacity(graph.n_edges() + 1);
        let mut values = vec![];
        for i in 0..graph.n_nodes() {
            for e in graph.in_edges(i) {
                debug_assert_eq!(e, at.len());
                at.push(values.len());
                values.extend_from_slice(&states[graph.edge(e).0]);
            }
        }
        at.push(values.len());
        EdgeStates { at, values }
    }

    /// Edge `e`'s state.
    pub(crate) fn get(&self, e: usize) -> &[f64] {
        &self.values[self.at[e]..self.at[e + 1]]
    }

    /// Replaces edge `e`'s state.
    pub(crate) fn set(&mut self, e: usize, state: &[f64]) {
        self.values[self.at[e]..self.at[e + 1]].copy_from_slice(state);
    }
}

/// The links (unordered pairs of distinct nodes joined by an edge in either direction) whose
/// edges `failed` marks, each counted once: by its edge into the larger id, or its only edge.
pub(crate) fn failed_links(graph: &Graph, failed: impl Fn(usize) -> bool) -> usize {
    (0..graph.n_nodes())
        .flat_map(|i| graph.in_edges(i).map(move |e| (i, e)))
        .filter(|&(i, e)| {
            let j = graph.edge(e).0;
            failed(e) && j != i && (i > j || graph.find_edge(j, i).is_none())
        })
        .count()
}
