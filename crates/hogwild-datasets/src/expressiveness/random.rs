//! The random benchmarks of Table 2: Triangles, LCC and 4-cycles.

use super::{is_connected, sample};
use hogwild_graph::{Graph, Sample};
use ndarray::Array2;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

/// Nodes of the Triangles graph (code).
pub(super) const TRIANGLES_NODES: usize = 60;
/// Fewest nodes of each class in the Triangles graph (code).
pub(super) const TRIANGLES_MIN_PER_CLASS: usize = 20;
/// Graphs of an LCC set (code).
pub(super) const LCC_GRAPHS: usize = 6;
/// Nodes of an LCC graph (code).
pub(super) const LCC_NODES: usize = 10;
/// Fewest nodes of each label (0, 1, 2) in an LCC set (code).
pub(super) const LCC_MIN_PER_LABEL: usize = 10;
/// Nodes in each of the four groups A, B, C, D of a 4-cycles graph (code: p = 4).
pub(super) const FOUR_CYCLES_GROUP: usize = 4;
/// Graphs of each class in a 4-cycles set (code).
pub(super) const FOUR_CYCLES_PER_CLASS: usize = 25;

/// A uniformly random simple `degree`-regular graph on `n` nodes as sorted pairs `(a, b)`,
/// `a < b`: the configuration model (every node `degree` stubs, a uniform perfect matching
/// of the stubs), redrawn until it has no loop and no multi-edge (ours; this is exactly
/// uniform over labelled simple regular graphs, where the code's networkx
/// `random_degree_sequence_graph` is only nearly so).
pub(crate) fn random_regular(n: usize, degree: usize, rng: &mut ChaCha8Rng) -> Vec<(usize, usize)> {
    assert!(
        degree < n && (n * degree).is_multiple_of(2),
        "no simple {degree}-regular graph on {n} nodes"
    );
    let mut stubs: Vec<usize> = (0..n)
        .flat_map(|v| std::iter::repeat_n(v, degree))
        .collect();
    let mut adjacent = vec![false; n * n];
    'draw: loop {
        stubs.shuffle(rng);
        adjacent.iter_mut().for_each(|a| *a = false);
        let mut pairs = Vec::with_capacity(n * degree / 2);
        for stub in stubs.chunks_exact(2) {
            let (a, b) = (stub[0].min(stub[1]), stub[0].max(stub[1]));
            if a == b || adjacent[a * n + b] {
                continue 'draw;
            }
            adjacent[a * n + b] = true;
            pairs.push((a, b));
        }
        pairs.sort_unstable();
        return pairs;
    }
}

/// For every node, the number of edges among its neighbours.
fn edges_among_neighbours(n: usize, pairs: &[(usize, usize)]) -> Vec<usize> {
    let mut adjacent = vec![false; n * n];
    let mut neighbours = vec![vec![]; n];
    for &(a, b) in pairs {
        adjacent[a * n + b] = true;
        adjacent[b * n + a] = true;
        neighbours[a].push(b);
        neighbours[b].push(a);
    }
    neighbours
        .iter()
        .map(|nb| {
            let mut edges = 0;
            for (i, &u) in nb.iter().enumerate() {
                edges += nb[i + 1..].iter().filter(|&&w| adjacent[u * n + w]).count();
            }
            edges
        })
        .collect()
}

/// Triangles (code): a random 3-regular graph on 60 nodes (connected or not), label 1 when
/// the node has two adjacent neighbours (lies on a triangle); redrawn until each class has
/// at least 20 nodes. Constant features.
pub(super) fn triangles(rng: &mut ChaCha8Rng) -> Sample {
    let n = TRIANGLES_NODES;
    loop {
        let pairs = random_regular(n, 3, rng);
        let labels: Vec<usize> = edges_among_neighbours(n, &pairs)
            .into_iter()
            .map(|e| usize::from(e > 0))
            .collect();
        let ones = labels.iter().sum::<usize>();
        if ones >= TRIANGLES_MIN_PER_CLASS && n - ones >= TRIANGLES_MIN_PER_CLASS {
            return sample(n, &pairs, Array2::ones((n, 1)), labels);
        }
    }
}

/// LCC (code): six connected random 3-regular graphs on 10 nodes, label = the number of
/// edges among the node's three neighbours (0, 1 or 2; 3 would need a K4 component, which a
/// connected 10-node graph cannot have); the whole set is redrawn until each label has at
/// least 10 nodes. Constant features.
pub(super) fn lcc(rng: &mut ChaCha8Rng) -> Vec<Sample> {
    let n = LCC_NODES;
    loop {
        let set: Vec<Sample> = (0..LCC_GRAPHS)
            .map(|_| loop {
                let pairs = random_regular(n, 3, rng);
                let graph = Graph::undirected(n, &pairs).expect("valid pairs");
                if is_connected(&graph) {
                    let labels = edges_among_neighbours(n, &pairs);
                    return sample(n, &pairs, Array2::ones((n, 1)), labels);
                }
            })
            .collect();
        let mut counts = [0; 3];
        for s in &set {
            if let hogwild_graph::Targets::Classes(labels) = &s.targets {
                labels.iter().for_each(|&l| counts[l] += 1);
            }
        }
        if counts.iter().all(|&c| c >= LCC_MIN_PER_LABEL) {
            return set;
        }
    }
}

/// 4-cycles (code): groups A, B, C, D of p = 4 nodes (A = 0…3, B = 4…7, C = 8…11,
/// D = 12…15), fixed edges A_i–C_i and B_i–D_i, and for uniform permutations π and σ the
/// edges A_i–B_π(i) and C_i–D_σ(i). Every node has degree 2, so the graph is a union of
/// cycles whose lengths are multiples of 4; it has a 4-cycle (label 1) iff π(i) = σ(i) for
/// some i. Drawn by rejection until 25 of each label; the positives come first (code).
/// Constant features.
pub(super) fn four_cycles(rng: &mut ChaCha8Rng) -> Vec<Sample> {
    let p = FOUR_CYCLES_GROUP;
    let n = 4 * p;
    let (mut positive, mut negative) = (vec![], vec![]);
    while positive.len() < FOUR_CYCLES_PER_CLASS || negative.len() < FOUR_CYCLES_PER_CLASS {
        let mut pi: Vec<usize> = (0..p).collect();
        let mut sigma = pi.clone();
        pi.shuffle(rng);
        sigma.shuffle(rng);
        let label = usize::from((0..p).any(|i| pi[i] == sigma[i]));
        let set = if label == 1 {
            &mut positive
        } else {
            &mut negative
        };
        if set.len() == FOUR_CYCLES_PER_CLASS {
            continue;
        }
        let mut pairs = vec![];
        for i in 0..p {
            pairs.extend([(i, 2 * p + i), (p + i, 3 * p + i)]);
            pairs.extend([(i, p + pi[i]), (2 * p + i, 3 * p + sigma[i])]);
        }
        set.push(sample(n, &pairs, Array2::ones((n, 1)), vec![label; n]));
    }
    positive.extend(negative);
    positive
}
