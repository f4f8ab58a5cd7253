//! Every node's out-edges, for passes that gather what a scatter over in-edges would add.

use crate::Graph;

/// For every node `j`, the edges `j → i` it sends on, as `(i, e)` (target, edge index) in
/// increasing edge order, which is increasing target order: the order in which a loop over
/// targets and their in-edges meets them. A pass that scatters each in-edge's value to its
/// source can then be computed row by row, each row adding the same terms in the same order.
///
/// ```
/// use hogwild_graph::{out_edges::OutEdges, Graph};
/// let g = Graph::undirected(3, &[(0, 1), (1, 2)]).unwrap();
/// let out = OutEdges::new(&g);
/// let targets: Vec<usize> = out.of(1).iter().map(|&(i, _)| i).collect();
/// assert_eq!(targets, [0, 2]);
/// for &(i, e) in out.of(1) {
///     assert_eq!(g.edge(e).0, 1);
///     assert!(g.in_edges(i).contains(&e));
/// }
/// ```
#[derive(Debug, Clone)]
pub struct OutEdges {
    ptr: Vec<usize>,
    edges: Vec<(usize, usize)>,
}

impl OutEdges {
    /// `g`'s out-edges (one pass over its edges).
    pub fn new(g: &Graph) -> OutEdges {
        let n = g.n_nodes();
        let mut ptr = vec![0; n + 1];
        for e in 0..g.n_edges() {
            ptr[g.edge(e).0 + 1] += 1;
        }
        for j in 0..n {
            ptr[j + 1] += ptr[j];
        }
        let mut next = ptr.clone();
        let mut edges = vec![(0, 0); g.n_edges()];
        for i in 0..n {
            for e in g.in_edges(i) {
                let j = g.edge(e).0;
                edges[next[j]] = (i, e);
                next[j] += 1;
            }
        }
        OutEdges { ptr, edges }
    }

    /// Node `j`'s out-edges `(target, edge)`, by increasing edge index.
    pub fn of(&self, j: usize) -> &[(usize, usize)] {
        &self.edges[self.ptr[j]..self.ptr[j + 1]]
    }
}
