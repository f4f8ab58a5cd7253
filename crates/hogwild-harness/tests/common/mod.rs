//! Fixtures shared by the harness's integration tests.

#![allow(dead_code)]

/// A TU dataset TOY of 8 graphs: 4 triangles (class "a", node label 1) and 4 three-node
/// paths (class "b", node label 2), with edge labels.
pub fn toy_files() -> Vec<(&'static str, String)> {
    let (mut a, mut indicator, mut labels, mut node_labels, mut edge_labels) = (
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
    );
    for g in 0..8 {
        let base = 3 * g + 1;
        let triangle = g % 2 == 0;
        let mut edges = vec![(0, 1), (1, 2)];
        if triangle {
            edges.push((0, 2));
        }
        for (u, v) in edges {
            for (s, t) in [(u, v), (v, u)] {
                a += &format!("{}, {}\n", base + s, base + t);
                edge_labels += if triangle { "0\n" } else { "1\n" };
            }
        }
        for _ in 0..3 {
            indicator += &format!("{}\n", g + 1);
            node_labels += if triangle { "1\n" } else { "2\n" };
        }
        labels += if triangle { "-1\n" } else { "1\n" };
    }
    vec![
        ("A", a),
        ("graph_indicator", indicator),
        ("graph_labels", labels),
        ("node_labels", node_labels),
        ("edge_labels", edge_labels),
    ]
}
