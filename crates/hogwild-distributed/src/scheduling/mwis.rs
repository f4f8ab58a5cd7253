//! Maximum-weight independent set heuristics on a conflict graph: the distributed local
//! greedy search (LGS) that turns the actor's scaled utilities into a schedule, and the
//! centralized greedy search the approximation ratio is measured against.

use hogwild_graph::Graph;

/// Whether `v` goes before `u`: the larger weight, ties to the smaller id.
fn beats(weights: &[f64], v: usize, u: usize) -> bool {
    weights[v] > weights[u] || (weights[v] == weights[u] && v < u)
}

/// Local greedy search: in synchronous rounds, every remaining node whose weight beats the
/// weights of all its remaining neighbours (ties to the smaller id) joins the set, and it
/// and its neighbours leave. Returns the set in increasing id order; it is independent (two
/// neighbours cannot both beat each other) and maximal (a node leaves only by joining or
/// beside a node that joined).
///
/// ```
/// use hogwild_distributed::scheduling::mwis::local_greedy;
/// let path = hogwild_graph::Graph::path(4); // 0 - 1 - 2 - 3
/// assert_eq!(local_greedy(&path, &[0.5, 0.9, 0.8, 0.1]), [1, 3]);
/// assert_eq!(local_greedy(&path, &[1.0, 1.0, 1.0, 1.0]), [0, 2]);
/// ```
pub fn local_greedy(graph: &Graph, weights: &[f64]) -> Vec<usize> {
    let n = graph.n_nodes();
    assert_eq!(weights.len(), n, "one weight per node");
    let mut remaining = vec![true; n];
    let mut chosen = vec![false; n];
    let mut left = n;
    while left > 0 {
        let joining: Vec<usize> = (0..n)
            .filter(|&v| {
                remaining[v]
                    && graph
                        .neighbours(v)
                        .all(|(u, _)| u == v || !remaining[u] || beats(weights, v, u))
            })
            .collect();
        debug_assert!(!joining.is_empty(), "the best remaining node always joins");
        for v in joining {
            chosen[v] = true;
            for u in std::iter::once(v).chain(graph.neighbours(v).map(|(u, _)| u)) {
                if remaining[u] {
                    remaining[u] = false;
                    left -= 1;
                }
            }
        }
    }
    (0..n).filter(|&v| chosen[v]).collect()
}

/// Greedy search: nodes in decreasing weight order (ties to the smaller id), each taken
/// unless a neighbour was taken before. Returns the set in increasing id order.
///
/// ```
/// use hogwild_distributed::scheduling::mwis::greedy;
/// let star = hogwild_graph::Graph::undirected(4, &[(0, 1), (0, 2), (0, 3)]).unwrap();
/// assert_eq!(greedy(&star, &[1.0, 0.4, 0.4, 0.4]), [0]);
/// assert_eq!(greedy(&star, &[0.5, 0.4, 0.6, 0.4]), [1, 2, 3]);
/// ```
pub fn greedy(graph: &Graph, weights: &[f64]) -> Vec<usize> {
    let n = graph.n_nodes();
    assert_eq!(weights.len(), n, "one weight per node");
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| weights[b].total_cmp(&weights[a]).then(a.cmp(&b)));
    let mut blocked = vec![false; n];
    let mut chosen = vec![false; n];
    for v in order {
        if blocked[v] {
            continue;
        }
        chosen[v] = true;
        for (u, _) in graph.neighbours(v) {
            blocked[u] = true;
        }
    }
    (0..n).filter(|&v| chosen[v]).collect()
}

/// Total weight of `set`.
pub fn set_weight(set: &[usize], weights: &[f64]) -> f64 {
    set.iter().map(|&v| weights[v]).sum()
}

/// Whether no two members of `set` are neighbours.
pub fn is_independent(graph: &Graph, set: &[usize]) -> bool {
    let mut member = vec![false; graph.n_nodes()];
    set.iter().for_each(|&v| member[v] = true);
    set.iter()
        .all(|&v| graph.neighbours(v).all(|(u, _)| u == v || !member[u]))
}

/// Whether every node outside `set` has a neighbour in it (no node can be added).
pub fn is_maximal(graph: &Graph, set: &[usize]) -> bool {
    let mut member = vec![false; graph.n_nodes()];
    set.iter().for_each(|&v| member[v] = true);
    (0..graph.n_nodes()).all(|v| member[v] || graph.neighbours(v).any(|(u, _)| member[u]))
}
