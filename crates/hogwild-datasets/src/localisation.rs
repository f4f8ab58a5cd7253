//! LATTICE and RANDOM (Hogwild paper §6.3): relative localisation. Every node predicts a
//! position in the plane; only distances within a graph matter
//! ([`Targets::Positions`]). Node features are one-hot node ids; each directed edge carries
//! the distance between its end points as its one edge feature.
//!
//! - LATTICE(`nodes`): every graph is the same patch of a triangular lattice (`rows × cols`
//!   nodes, `rows` the largest divisor of `nodes` not above √`nodes`: 2 × 5 for 10 nodes,
//!   4 × 5 for 20; odd rows shifted by half a spacing; edges between nodes one spacing
//!   apart), scaled into the unit square; graphs differ only in the random permutation that
//!   assigns the one-hot ids to the nodes.
//! - RANDOM(`nodes`, `radius`): points uniform in the unit square, an edge between points
//!   closer than `radius`; a draw whose graph is disconnected is discarded and drawn again
//!   (a disconnected graph cannot be localised relative to itself). Ids follow draw order.

use crate::{stream, Dataset, DatasetError, DatasetSize, Task};
use hogwild_graph::{Graph, Sample, Targets};
use hogwild_settings::{at_least, InvalidSetting};
use ndarray::Array2;
use rand::seq::SliceRandom;
use rand::RngExt;

/// A graph on `pos` with an edge (both ways) between every pair `adjacent` accepts, the
/// distance as edge feature, and one-hot id features `ids[v]` for node `v`.
fn geometric_sample(
    pos: &[(f64, f64)],
    adjacent: impl Fn(f64) -> bool,
    ids: &[usize],
) -> Option<Sample> {
    let n = pos.len();
    let dist =
        |a: usize, b: usize| ((pos[a].0 - pos[b].0).powi(2) + (pos[a].1 - pos[b].1).powi(2)).sqrt();
    let mut edges = vec![];
    let mut feats = vec![];
    for a in 0..n {
        for b in a + 1..n {
            let d = dist(a, b);
            if adjacent(d) {
                edges.extend([(a, b, 1.0), (b, a, 1.0)]);
                feats.extend([d, d]);
            }
        }
    }
    let m = edges.len();
    let graph = Graph::from_weighted_edges(
        n,
        &edges,
        Some(Array2::from_shape_vec((m, 1), feats).expect("one feature per edge")),
    )
    .expect("valid edges");
    if !is_connected(&graph) {
        return None;
    }
    let features = Array2::from_shape_fn((n, n), |(v, c)| f64::from(u8::from(ids[v] == c)));
    let targets = Targets::Positions(Array2::from_shape_fn((n, 2), |(v, c)| {
        if c == 0 {
            pos[v].0
        } else {
            pos[v].1
        }
    }));
    Some(Sample {
        graph,
        features,
        targets,
    })
}

pub(crate) fn is_connected(g: &Graph) -> bool {
    let n = g.n_nodes();
    let mut seen = vec![false; n];
    let mut stack = vec![0];
    seen[0] = true;
    while let Some(i) = stack.pop() {
        for (j, _) in g.neighbours(i) {
            if !seen[j] {
                seen[j] = true;
                stack.push(j);
            }
        }
    }
    seen.iter().all(|&s| s)
}

/// Checks the settings of [`lattice`] and [`random_geometric`] (`radius` for the latter).
pub fn check(nodes: usize, graphs: usize, radius: Option<f64>) -> Result<(), InvalidSetting> {
    if nodes < 3 {
        return Err(InvalidSetting::new(
            "nodes",
            nodes,
            "localisation needs at least three nodes",
        ));
    }
    at_least("graphs", graphs as u64, 2)?;
    match radius {
        Some(r) if !(r > 0.0 && r <= 2f64.sqrt()) => {
            Err(InvalidSetting::new("radius", r, "must lie in (0, √2]"))
        }
        _ => Ok(()),
    }
}

/// The size of a [`lattice`] or [`random_geometric`] dataset (at most: one-hot id features,
/// so `nodes` features per node; a lattice node has at most 6 neighbours, a random one up
/// to every other node).
pub fn size(nodes: usize, graphs: usize, radius: Option<f64>) -> DatasetSize {
    let (n, g) = (nodes as u64, graphs as u64);
    let degree = if radius.is_some() {
        n.saturating_sub(1)
    } else {
        6
    };
    let all = n.saturating_mul(g);
    DatasetSize {
        graphs: g,
        nodes: all,
        edges: all.saturating_mul(degree),
        feature_dim: n,
        edge_feature_dim: 1,
        target_dim: 2,
    }
}

/// Draws of RANDOM graphs per graph asked for before a radius that gives disconnected graphs
/// is refused: a radius at which a draw is connected with probability 1 % passes.
const DRAWS_PER_GRAPH: usize = 1000;

/// The triangular-lattice positions of `nodes` nodes, scaled into the unit square, and the
/// lattice spacing after scaling.
pub fn lattice_positions(nodes: usize) -> (Vec<(f64, f64)>, f64) {
    let rows = (1..=nodes)
        .filter(|r| nodes.is_multiple_of(*r) && r * r <= nodes)
        .max()
        .expect("1 divides");
    let cols = nodes / rows;
    let h = 3f64.sqrt() / 2.0;
    let raw: Vec<(f64, f64)> = (0..rows)
        .flat_map(|r| (0..cols).map(move |c| (c as f64 + 0.5 * (r % 2) as f64, r as f64 * h)))
        .collect();
    let width = raw.iter().map(|p| p.0).fold(0.0, f64::max);
    let height = raw.iter().map(|p| p.1).fold(0.0, f64::max);
    let scale = 1.0 / width.max(height);
    (
        raw.iter().map(|&(x, y)| (x * scale, y * scale)).collect(),
        scale,
    )
}

/// LATTICE: `graphs` copies of one triangular-lattice patch of `nodes` nodes with permuted ids.
pub fn lattice(nodes: usize, graphs: usize, seed: u64) -> Result<Dataset, DatasetError> {
    check(nodes, graphs, None)?;
    let identity = format!("lattice(nodes={nodes},graphs={graphs},seed={seed})");
    let mut rng = stream(&identity);
    let (pos, spacing) = lattice_positions(nodes);
    let mut samples = Vec::with_capacity(graphs);
    for _ in 0..graphs {
        let mut ids: Vec<usize> = (0..nodes).collect();
        ids.shuffle(&mut rng);
        let s = geometric_sample(&pos, |d| (d - spacing).abs() < 1e-9 * spacing, &ids).ok_or_else(
            || InvalidSetting::new("nodes", nodes, "the lattice patch is disconnected"),
        )?;
        samples.push(s);
    }
    Ok(Dataset {
        identity,
        task: Task::Localisation { dim: 2 },
        samples,
    })
}

/// RANDOM: `graphs` connected random geometric graphs of `nodes` uniform points, edges
/// between points closer than `radius`.
pub fn random_geometric(
    nodes: usize,
    graphs: usize,
    radius: f64,
    seed: u64,
) -> Result<Dataset, DatasetError> {
    check(nodes, graphs, Some(radius))?;
    let identity = format!("random(nodes={nodes},graphs={graphs},radius={radius},seed={seed})");
    let mut rng = stream(&identity);
    let ids: Vec<usize> = (0..nodes).collect();
    let mut samples = Vec::with_capacity(graphs);
    let mut draws = 0usize;
    while samples.len() < graphs {
        draws += 1;
        if draws > DRAWS_PER_GRAPH.saturating_mul(graphs) {
            return Err(InvalidSetting::new(
                "radius",
                radius,
                format!(
                    "only {} of {} random graphs of {nodes} nodes were connected; a larger radius connects more",
                    samples.len(),
                    draws - 1
                ),
            )
            .into());
        }
        let pos: Vec<(f64, f64)> = (0..nodes)
            .map(|_| (rng.random::<f64>(), rng.random::<f64>()))
            .collect();
        if let Some(s) = geometric_sample(&pos, |d| d < radius, &ids) {
            samples.push(s);
        }
    }
    Ok(Dataset {
        identity,
        task: Task::Localisation { dim: 2 },
        samples,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lattice_graphs_share_positions_and_differ_in_ids() {
        let d = lattice(10, 5, 0).unwrap();
        assert_eq!(d.samples.len(), 5);
        let (a, b) = (&d.samples[0], &d.samples[1]);
        assert_eq!(a.graph, b.graph);
        assert_eq!(a.targets, b.targets);
        assert_ne!(a.features, b.features);
        // one-hot ids: a permutation matrix
        assert!(a
            .features
            .sum_axis(ndarray::Axis(0))
            .iter()
            .all(|&s| s == 1.0));
        assert!(a
            .features
            .sum_axis(ndarray::Axis(1))
            .iter()
            .all(|&s| s == 1.0));
        // 2 × 5 triangular patch: 4 + 4 horizontal, 5 + 4 diagonal edges, both directions
        assert_eq!(a.graph.n_edges(), 2 * 17);
        assert!(a.graph.is_symmetric());
        let (pos, spacing) = lattice_positions(10);
        assert!(pos
            .iter()
            .all(|p| (0.0..=1.0).contains(&p.0) && (0.0..=1.0).contains(&p.1)));
        assert!(
            (0..a.graph.n_edges()).all(|e| (a.graph.edge_features(e)[0] - spacing).abs() < 1e-12)
        );
        assert_eq!(lattice_positions(20).0.len(), 20);
        assert_eq!(d.samples, lattice(10, 5, 0).unwrap().samples);
    }

    #[test]
    fn random_graphs_are_connected_geometric_and_seeded() {
        let d = random_geometric(10, 30, 0.5, 0).unwrap();
        assert_eq!(d.samples.len(), 30);
        assert_eq!(d.samples, random_geometric(10, 30, 0.5, 0).unwrap().samples);
        for s in &d.samples {
            assert!(is_connected(&s.graph));
            let Targets::Positions(p) = &s.targets else {
                panic!("positions")
            };
            for i in 0..10 {
                for (e, (j, _)) in s.graph.in_edges(i).zip(s.graph.neighbours(i)) {
                    let d =
                        ((p[(i, 0)] - p[(j, 0)]).powi(2) + (p[(i, 1)] - p[(j, 1)]).powi(2)).sqrt();
                    assert!(d < 0.5);
                    assert!((s.graph.edge_features(e)[0] - d).abs() < 1e-15);
                }
            }
        }
        assert!(random_geometric(10, 5, 0.0, 0).is_err());
        // A radius that almost never connects is refused, not drawn for ever.
        let err = random_geometric(50, 2, 0.01, 0).unwrap_err().to_string();
        assert!(err.starts_with("radius = 0.01: only 0 of 2000"), "{err}");
        assert!(lattice(2, 5, 0).is_err());
    }
}
