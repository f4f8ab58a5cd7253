//! `hogwild scaling`: the scaling report, at the smallest size.

use std::path::Path;
use std::process::Command;

#[test]
fn scaling_report_measures_every_model_and_collects_table_times() {
    let out = tempfile::tempdir().unwrap();
    // Two tables written by one sweep: its wall time counts once in the total. The optional
    // tu table is listed, not counted in the default reproduction's total.
    for (name, runs) in [("chains", 200.0), ("counting", 40.0), ("tu", 1000.0)] {
        let dir = out.path().join(name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("record.toml"),
            format!(
                "table = \"{name}\"\nwall_seconds = 123.4\nrun_seconds = {runs:?}\nthreads = 2\ncode_version = \"abc\"\n"
            ),
        )
        .unwrap();
    }
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../harness.toml");
    let o = Command::new(env!("CARGO_BIN_EXE_hogwild"))
        .args(["scaling", "--max-nodes", "100", "--config"])
        .arg(&config)
        .arg("--out")
        .arg(out.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let csv = std::fs::read_to_string(out.path().join("scaling/scaling.csv")).unwrap();
    let rows: Vec<Vec<&str>> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    let mut seen: Vec<String> = rows.iter().map(|r| format!("{}/{}", r[0], r[2])).collect();
    seen.sort();
    // Every model harness.toml sets, on both graphs, and the variants its settings type
    // adds (the energy GNN's hidden-16 run on chains).
    let doc: toml::Table = toml::from_str(&std::fs::read_to_string(&config).unwrap()).unwrap();
    let models =
        hogwild_models::ModelsConfig::from_table(doc["models"].as_table().unwrap()).unwrap();
    let mut want: Vec<String> = hogwild_sim::workload::GRAPHS
        .iter()
        .flat_map(|graph| {
            hogwild_sim::workload::variants(graph, &models)
                .unwrap()
                .into_iter()
                .map(move |v| format!("{graph}/{}", v.label))
        })
        .collect();
    want.sort();
    assert_eq!(seen, want);
    for label in [
        "chain/energy-h16",
        "geometric/energy-block-minimise",
        "chain/gcn",
        "geometric/ignn",
        "geometric/gat",
    ] {
        assert!(seen.iter().any(|s| s == label), "{label}: {seen:?}");
    }
    let explicit: Vec<&str> = models
        .names()
        .into_iter()
        .filter(|name| {
            let kind = hogwild_models::registry::kind(name).unwrap();
            let settings = models.get(kind.name).unwrap();
            let dims = hogwild_models::Dims {
                in_dim: 1,
                edge_dim: 0,
                out_dim: 1,
            };
            let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(0);
            let model = settings.build(dims, &mut rng).unwrap();
            model.execution() != hogwild_models::Execution::Implicit
        })
        .collect();
    assert_eq!(explicit, ["gcn", "gat", "gin"]);
    for r in &rows {
        assert_eq!(r[1], "100");
        let updates: f64 = r[8].parse().unwrap();
        assert!(updates.is_finite() && updates > 0.0, "{r:?}");
        // Explicit models have no solver iteration; implicit models do, on one thread and on
        // the default two.
        assert_eq!(r[4].is_empty(), explicit.contains(&r[2]), "{r:?}");
        assert_eq!(r[6].is_empty(), explicit.contains(&r[2]), "{r:?}");
        assert_eq!(r[5], "2", "{r:?}");
    }
    // The csv reads back as it was written (but the derived updates/s, recomputed from the
    // rounded sweep time).
    let points =
        hogwild_harness::scaling::read_csv(&out.path().join("scaling/scaling.csv")).unwrap();
    let measured = |text: &str| -> Vec<String> {
        text.lines()
            .map(|l| l.rsplit_once(',').unwrap().0.to_string())
            .collect()
    };
    assert_eq!(
        measured(&hogwild_harness::scaling::csv(&points)),
        measured(&csv)
    );
    let md = std::fs::read_to_string(out.path().join("scaling/scaling.md")).unwrap();
    assert!(md.contains("## energy-h16 on chain graphs"), "{md}");
    assert!(md.contains("also on 2 threads"), "{md}");
    assert!(md.contains("| chains | 200 | 123 | 2 | abc |"), "{md}");
    assert!(md.contains("| counting | 40 | 123 | 2 | abc |"), "{md}");
    assert!(
        md.contains("| tu (optional) | 1000 | 123 | 2 | abc |"),
        "{md}"
    );
    assert!(
        md.contains("| all but optional tables (`hogwild reproduce`) | 240 | 123 | | |"),
        "{md}"
    );
    // The report also goes to stdout.
    assert_eq!(String::from_utf8(o.stdout).unwrap(), md);
}

#[test]
fn scaling_below_the_first_size_is_refused_before_measuring() {
    let out = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_hogwild"))
        .args(["scaling", "--max-nodes", "99", "--config"])
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../harness.toml"))
        .arg("--out")
        .arg(out.path())
        .output()
        .unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8(o.stderr).unwrap();
    assert!(err.contains("--max-nodes = 99"), "{err}");
    assert!(!out.path().join("scaling").exists());
}
