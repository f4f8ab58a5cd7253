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

/// The committed sweep definition.
pub const HARNESS: &str = include_str!("../../../../harness.toml");

/// `text` loaded as `my/harness.toml` (the full profile), or its error as printed.
pub fn load(text: &str) -> Result<hogwild_harness::config::Config, String> {
    hogwild_harness::config::Config::parse(
        text,
        std::path::Path::new("my/harness.toml"),
        hogwild_harness::config::DEFAULT_PROFILE,
    )
    .map_err(|e| e.to_string())
}

/// The committed config with the first `from` (which must be there) replaced by `to`.
pub fn edited(from: &str, to: &str) -> String {
    assert!(
        HARNESS.contains(from),
        "harness.toml no longer contains {from:?}"
    );
    HARNESS.replacen(from, to, 1)
}

/// Asserts that `text` is refused with an error naming the file and containing `needles`.
pub fn expect_error(text: &str, needles: &[&str]) {
    let err = load(text).expect_err("config should be rejected");
    assert!(
        err.starts_with("my/harness.toml"),
        "error does not name the file: {err}"
    );
    for n in needles {
        assert!(err.contains(n), "error lacks {n:?}: {err}");
    }
}
