//! Bad configs fail at load, before any run, naming the file, the key and the value.

use hogwild_harness::config::{Config, DEFAULT_PROFILE};
use std::path::Path;

const HARNESS: &str = include_str!("../../../harness.toml");

fn load(text: &str) -> Result<Config, String> {
    Config::parse(text, Path::new("my/harness.toml"), DEFAULT_PROFILE).map_err(|e| e.to_string())
}

/// The committed config with the first `from` (which must be there) replaced by `to`.
fn edited(from: &str, to: &str) -> String {
    assert!(
        HARNESS.contains(from),
        "harness.toml no longer contains {from:?}"
    );
    HARNESS.replacen(from, to, 1)
}

fn expect_error(text: &str, needles: &[&str]) {
    let err = load(text).expect_err("config should be rejected");
    assert!(
        err.starts_with("my/harness.toml"),
        "error does not name the file: {err}"
    );
    for n in needles {
        assert!(err.contains(n), "error lacks {n:?}: {err}");
    }
}

#[test]
fn the_committed_config_and_its_quick_profile_load() {
    let full = load(HARNESS).unwrap();
    assert_eq!(full.tables["chains"].seeds, vec![0, 1, 2]);
    let quick = Config::parse(HARNESS, Path::new("harness.toml"), "quick").unwrap();
    assert!(quick.tables["chains"].columns.len() < full.tables["chains"].columns.len());
    assert_eq!(
        quick.models.gcn.hidden, full.models.gcn.hidden,
        "profiles overlay, they do not replace"
    );
}

#[test]
fn unknown_keys_are_named_with_their_line() {
    let text = edited("staleness_bound = 20", "staleness_bound = 20\nstalenes = 3");
    expect_error(
        &text,
        &["stalenes", "line", "did you mean `staleness_bound`?"],
    );
    let text = edited("kappa = 0.9 ", "kapa = 0.9 ");
    expect_error(&text, &["kapa", "line", "did you mean `kappa`?"]);
    let text = edited(r#"delay = "max""#, r#"delay = "maxx""#);
    expect_error(&text, &["maxx", "did you mean `max`?"]);
}

#[test]
fn wrong_types_are_named() {
    let text = edited("staleness_bound = 20", "staleness_bound = \"twenty\"");
    expect_error(&text, &["staleness_bound", "line"]);
}

#[test]
fn impossible_values_are_named() {
    // A column's [async] overrides are checked as the merged settings.
    expect_error(
        &edited(
            "async = { staleness_bound = 5 }",
            "async = { staleness_bound = 0 }",
        ),
        &["tables.asynchrony.columns[1].async", "staleness_bound = 0"],
    );
    // They may change the asynchrony model and its stopping rule, not the observer's
    // cadence, and say where they are wrong.
    expect_error(
        &edited(
            "async = { staleness_bound = 5 }",
            "async = { residual_every = 1 }",
        ),
        &["unknown field `residual_every`", "line"],
    );
    expect_error(
        &edited("async = { staleness_bound = 5 }", "async = { tol = -1.0 }"),
        &["tables.asynchrony.columns[1].async", "tol"],
    );
    expect_error(
        &edited(r#"delay = "max""#, r#"delay = "maximal""#),
        &["maximal", "uniform", "max"],
    );
    expect_error(
        &edited("staleness_bound = 20", "staleness_bound = 0"),
        &["staleness_bound = 0"],
    );
    expect_error(
        &edited("staleness_bound = 20", "staleness_bound = -1"),
        &["staleness_bound"],
    );
    // Impossible values name their line too.
    let line_of = |start: &str| {
        let n = HARNESS.lines().position(|l| l.contains(start)).unwrap() + 1;
        format!("my/harness.toml, line {n}: ")
    };
    expect_error(
        &edited("kappa = 0.9 ", "kappa = 1.0 "),
        &["models.ignn", "kappa = 1", &line_of("kappa = 0.9 ")],
    );
    expect_error(
        &edited(
            "async = { staleness_bound = 5 }",
            "async = { staleness_bound = 0 }",
        ),
        &[&line_of("async = { staleness_bound = 5 }")],
    );
    expect_error(
        &edited("folds = 10 ", "folds = 1 "),
        &[&line_of("folds = 10 ")],
    );
    expect_error(
        &edited("beta = 0.01 ", "beta = 0.0 "),
        &["models.energy", "beta = 0"],
    );
    expect_error(
        &edited("cg_tol = 1e-10 ", "cg_tol = -1e-10 "),
        &[
            "models.energy",
            "cg_tol = -0.0000000001",
            "must be positive",
        ],
    );
    expect_error(
        &edited("newton_forcing_max = 0.01 ", "newton_forcing_max = 1.0 "),
        &["models.energy", "newton_forcing_max = 1", "(0, 1)"],
    );
    expect_error(
        &edited("seeds = [0, 1, 2]", "seeds = []"),
        &["tables.chains.seeds"],
    );
    expect_error(
        &edited("std_ddof = 0", "std_ddof = 2"),
        &["tables.chains.std_ddof = 2"],
    );
    // Sync rows have one value per seed: a sample std needs two seeds.
    let one_seed =
        edited("std_ddof = 0", "std_ddof = 1").replacen("seeds = [0, 1, 2]", "seeds = [0]", 1);
    expect_error(&one_seed, &["tables.chains.std_ddof = 1", "two seeds"]);
    expect_error(
        &edited(
            "models = [\"gcn\", \"ignn\", \"energy\"]",
            "models = [\"gcn\", \"gat\"]",
        ),
        &["tables.chains.models", "gat"],
    );
    expect_error(
        &HARNESS.replacen("length = 10,", "length = 0,", 1),
        &["tables.chains.columns[0].dataset", "length = 0"],
    );
    expect_error(
        &HARNESS.replacen("gcn-sync = [65.0", "gcn-snyc = [65.0", 1),
        &["columns[0].paper", "gcn-snyc"],
    );
}

#[test]
fn unknown_profiles_and_tables_are_named() {
    let err = Config::parse(HARNESS, Path::new("h.toml"), "quik")
        .unwrap_err()
        .to_string();
    assert!(err.contains("quik") && err.contains("quick"), "{err}");
    let config = load(HARNESS).unwrap();
    let err = config.select(&["chain".into()]).unwrap_err();
    assert!(err.contains("\"chain\"") && err.contains("chains"), "{err}");
}

#[test]
fn cross_validation_regression_and_table_settings_are_checked() {
    expect_error(
        &edited("folds = 10 ", "folds = 1 "),
        &["tables.counting.folds", "at least 2 folds"],
    );
    expect_error(
        &edited("folds = 10 ", "folds = 0 "),
        &["tables.counting.folds"],
    );
    // COUNT (10) with one chain per size has ten graphs: eleven folds cannot be made.
    let one_per_size = edited(
        "kind = \"count\", max_nodes = 10, graphs = 100 }",
        "kind = \"count\", max_nodes = 10 }",
    );
    load(&one_per_size).expect("one chain per size is a valid COUNT");
    expect_error(
        &one_per_size.replacen("folds = 10 ", "folds = 11 ", 1),
        &["tables.counting.folds", "11"],
    );
    expect_error(
        &edited(
            "max_nodes = 10, graphs = 100 }",
            "max_nodes = 10, graphs = 5 }",
        ),
        &[
            "tables.counting.columns[0]",
            "graphs",
            "5",
            "at least max_nodes",
        ],
    );
    expect_error(
        &edited(
            r#"featureless = ["energy"], paper = { gcn-sync = [61.8"#,
            r#"featureless = ["gat"], paper = { gcn-sync = [61.8"#,
        ),
        &["tables.counting.columns[0].featureless", "gat"],
    );
    expect_error(
        &edited(r#"metric = "relative-rmse""#, r#"metric = "accuracy""#),
        &["tables.counting.metric", "count"],
    );
    // A table's model settings overlay [models] and are checked like them.
    expect_error(
        &edited(
            "[tables.counting.model_settings.energy.train]\nbatch_graphs = 1\n",
            "[tables.counting.model_settings.energy.train]\nbatch_graphs = 0\n",
        ),
        &[
            "models.energy (with tables.counting.model_settings)",
            "batch_graphs",
        ],
    );
    expect_error(
        &edited(
            "[tables.counting.model_settings.energy]\n",
            "[tables.counting.model_settings.energy]\nhiden = 3\n",
        ),
        &["tables.counting.model_settings", "hiden"],
    );
}

#[test]
fn per_model_orderings_name_table_models() {
    let from = "model_orderings = { ignn = 2, energy = 1 }";
    expect_error(
        &edited(from, "model_orderings = { gat = 2 }"),
        &["tables.counting.model_orderings", "gat"],
    );
    expect_error(
        &edited(from, "model_orderings = { energy = 0 }"),
        &["tables.counting.model_orderings", "energy = 0"],
    );
}
