//! Bad configs fail at load, before any run, naming the file, the key and the value.

use hogwild_harness::config::{Config, DEFAULT_PROFILE};
use hogwild_settings::MemoryBudget;
use std::path::Path;

mod common;
use common::{edited, expect_error, load, HARNESS};

/// The start of Table 3's second column.
const LATTICE_20: &str = "{ label = \"LATTICE (20)\", async = { max_rounds = 50000, tol = 1e-6 }";

#[test]
fn the_committed_config_and_its_quick_profile_load() {
    let full = load(HARNESS).unwrap();
    assert_eq!(full.tables["chains"].seeds, vec![0, 1, 2]);
    let quick = Config::parse(HARNESS, Path::new("harness.toml"), "quick").unwrap();
    assert!(quick.tables["chains"].columns.len() < full.tables["chains"].columns.len());
    assert_eq!(
        quick.models.to_table()["gcn"]["hidden"],
        full.models.to_table()["gcn"]["hidden"],
        "profiles overlay, they do not replace"
    );
}

#[test]
fn unknown_keys_are_named_with_their_line() {
    let text = edited(
        "staleness_bound = 20",
        "staleness_bound = 20\nstaleness_bond = 3",
    );
    expect_error(
        &text,
        &["staleness_bond", "line", "did you mean `staleness_bound`?"],
    );
    let text = edited("kappa = 0.9 ", "kapa = 0.9 ");
    expect_error(&text, &["kapa", "line", "did you mean `kappa`?"]);
    let text = edited(r#"delay = "uniform" "#, r#"delay = "maxx" "#);
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
            LATTICE_20,
            &LATTICE_20.replace("max_rounds", "staleness_bound = 0, max_rounds"),
        ),
        &["tables.localisation.columns[1].async.staleness_bound = 0"],
    );
    // They may change the asynchrony model and its stopping rule, not the observer's
    // cadence, and say where they are wrong.
    expect_error(
        &edited(
            LATTICE_20,
            &LATTICE_20.replace("max_rounds", "residual_every = 1, max_rounds"),
        ),
        &["unknown field `residual_every`", "line"],
    );
    expect_error(
        &edited(LATTICE_20, &LATTICE_20.replace("tol = 1e-6", "tol = -1.0")),
        &["tables.localisation.columns[1].async.tol = -1"],
    );
    expect_error(
        &edited(r#"delay = "uniform" "#, r#"delay = "maximal" "#),
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
            LATTICE_20,
            &LATTICE_20.replace("max_rounds", "staleness_bound = 0, max_rounds"),
        ),
        &[&line_of(LATTICE_20)],
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
            "models.energy.cg_tol = -0.0000000001",
            "must be a finite number above 0",
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
            "models = [\"gcn\", \"sage\"]",
        ),
        &["tables.chains.models", "sage"],
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
            "tables.counting.model_settings.energy.train.batch_graphs = 0",
            "at least one graph",
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
fn column_metrics_and_degradation_rows_are_checked() {
    // A column's own metric must fit its dataset, and the error names the column's key.
    expect_error(
        &edited(
            r#"{ label = "SUM (10)", async = { max_rounds = 50000, tol = 1e-6 }, dataset = { kind = "sum", graphs = 100, nodes = 10 }, paper"#,
            r#"{ label = "SUM (10)", metric = "error", async = { max_rounds = 50000, tol = 1e-6 }, dataset = { kind = "sum", graphs = 100, nodes = 10 }, paper"#,
        ),
        &["tables.counting.columns[2].metric", "Error", "sum("],
    );
    load(&edited(
        r#"{ label = "SUM (10)", async = { max_rounds = 50000, tol = 1e-6 }, dataset = { kind = "sum", graphs = 100, nodes = 10 }, paper"#,
        r#"{ label = "SUM (10)", metric = "relative-rmse", async = { max_rounds = 50000, tol = 1e-6 }, dataset = { kind = "sum", graphs = 100, nodes = 10 }, paper"#,
    ))
    .expect("a column may name its table's metric");
    // Degradation rows exist only in tables that ask for them.
    expect_error(
        &HARNESS.replacen("gcn-sync = [65.0", "gcn-degradation = [5.0", 1),
        &[
            "tables.chains.columns[0].paper",
            "gcn-degradation",
            "MODEL-async",
        ],
    );
    let iclr = "degradation = true ";
    assert!(HARNESS.contains(iclr), "the ICLR tables report degradation");
    expect_error(
        &HARNESS.replacen(iclr, "degradation = false ", 1),
        &[
            "tables.iclr-chains.columns[0].paper",
            "-degradation",
            "MODEL-sync or MODEL-async with",
        ],
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

/// The line of the first line of the committed config containing `start`, as errors print it.
fn line_of(text: &str, start: &str) -> String {
    let n = text.lines().position(|l| l.contains(start)).unwrap() + 1;
    format!("my/harness.toml, line {n}: ")
}

/// `load` with a fixed memory budget, so that size errors do not depend on the machine.
fn load_within(text: &str, budget: u64) -> Result<Config, String> {
    Config::parse_within(
        text,
        Path::new("my/harness.toml"),
        DEFAULT_PROFILE,
        MemoryBudget::of(budget),
    )
    .map_err(|e| e.to_string())
}

#[test]
fn impossible_settings_of_every_kind_are_refused_at_load() {
    // (from, to, what the error must say)
    let cases: &[(&str, &str, &[&str])] = &[
        (
            "orderings = 10               # paper: 10 random orderings",
            "orderings = 0",
            &["tables.chains.orderings = 0", "at least one"],
        ),
        (
            "tol = 1e-8                   # implicit",
            "tol = inf #",
            &["async.tol = inf", "finite"],
        ),
        (
            "tol = 1e-8                   # implicit",
            "tol = nan #",
            &["async.tol = NaN"],
        ),
        (
            "seeds = [0, 1, 2]            # paper: 3",
            "seeds = [0, 1, 1] #",
            &["tables.chains.seeds = 1", "listed twice"],
        ),
        ("lr = 0.01 ", "lr = nan ", &["models.gcn.train.lr = NaN"]),
        (
            "lr = 0.01 ",
            "lr = -0.01 ",
            &["models.gcn.train.lr = -0.01"],
        ),
        (
            "weight_decay = 5e-4",
            "weight_decay = -5e-4",
            &["models.ignn.train.weight_decay = -0.0005"],
        ),
        (
            "grad_clip = 0.5",
            "grad_clip = nan",
            &["models.ignn.train.grad_clip = NaN"],
        ),
        (
            "epochs = 500 ",
            "epochs = 0 ",
            &["models.gcn.train.epochs = 0"],
        ),
        (
            "models = [\"gcn\", \"ignn\", \"energy\"]\nstd_ddof = 0                 # ours",
            "models = []\nstd_ddof = 0                 # ours",
            &["tables.chains.models = []", "at least one model"],
        ),
        (
            "models = [\"gcn\", \"ignn\"]",
            "models = [\"gcn\", \"gcn\"]",
            &["tables.asynchrony.models = \"gcn\"", "twice"],
        ),
        (
            "radius = 0.5 }, paper = { gcn-sync = [27.1",
            "radius = 0.001 }, paper = { gcn-sync = [27.1",
            &[
                "tables.localisation.columns[2].dataset.radius = 0.001",
                "connected",
            ],
        ),
        (
            "{ label = \"LATTICE (10)\"",
            "{ label = \"LATTICE (20)\"",
            &[
                "tables.localisation.columns[1].label = \"LATTICE (20)\"",
                "another column",
            ],
        ),
        (
            "gcn-sync = [65.0, 0.0]",
            "gcn-sync = [nan, 0.0]",
            &["tables.chains.columns[0].paper.gcn-sync", "finite"],
        ),
    ];
    for (from, to, needles) in cases {
        let text = edited(from, to);
        let err = load(&text).expect_err(to);
        for n in *needles {
            assert!(err.contains(n), "{to}: error lacks {n:?}: {err}");
        }
        // The line of the changed text (of its last occurrence in the edited table: a
        // repeated label is blamed where it is repeated).
        let first = to.lines().next().unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let edit = HARNESS[..HARNESS.find(from).unwrap()]
            .lines()
            .count()
            .max(1)
            - 1;
        let table_end = (edit + 1..lines.len())
            .find(|&i| lines[i].starts_with('['))
            .unwrap_or(lines.len());
        let n = lines[..table_end]
            .iter()
            .rposition(|l| l.contains(first))
            .unwrap()
            + 1;
        assert!(
            err.contains(&format!("my/harness.toml, line {n}: ")),
            "{to}: {err}"
        );
    }
    // A config without tables.
    let no_tables = &HARNESS[..HARNESS.find("[tables.chains]").unwrap()];
    let err = load(no_tables).unwrap_err();
    assert!(err.contains("tables: no tables"), "{err}");
}

#[test]
fn sizes_that_cannot_fit_in_memory_are_refused_before_allocating() {
    const GIB: u64 = 1 << 30;
    load_within(HARNESS, 8 * GIB).expect("the committed config fits in 8 GiB");
    let cases: &[(&str, &str, &[&str])] = &[
        (
            "length = 10,",
            "length = 1000000000,",
            &[
                "tables.chains.columns[0].dataset.length = 1000000000",
                "the dataset needs about",
            ],
        ),
        (
            "hidden = 16                  # IGNN reference / PyG",
            "hidden = 1000000 #",
            &[
                "models.gcn.hidden",
                "a run of gcn on tables.asynchrony.columns[0] (\"B = 1\"",
                "model 58.2 TiB",
            ],
        ),
        (
            "staleness_bound = 20 ",
            "staleness_bound = 1000000000 ",
            &[
                "async.staleness_bound",
                "simulator",
                "more than the budget of 8.0 GiB",
            ],
        ),
        (
            "staleness_bound = 20 ",
            "staleness_bound = 9223372036854775807 ",
            &["async.staleness_bound", "more than 16 EiB"],
        ),
        (
            "orderings = 10               # paper: 10 random orderings",
            "orderings = 1000000000 #",
            &["tables.chains.orderings = 1000000000", "the plan"],
        ),
    ];
    for (from, to, needles) in cases {
        let text = edited(from, to);
        let err = load_within(&text, 8 * GIB).expect_err(to);
        for n in *needles {
            assert!(err.contains(n), "{to}: error lacks {n:?}: {err}");
        }
        assert!(err.contains(&line_of(&text, to)), "{to}: {err}");
    }
    // A million seeds: the plan alone would need tens of GiB.
    let seeds: Vec<String> = (0..1_000_000).map(|s| s.to_string()).collect();
    let text = edited(
        "seeds = [0, 1, 2]            # paper: 3",
        &format!("seeds = [{}] #", seeds.join(", ")),
    );
    let err = load_within(&text, 8 * GIB).unwrap_err();
    assert!(
        err.contains("tables.chains.seeds = [1000000 seeds]") && err.contains("the plan"),
        "{}",
        &err[..err.len().min(500)]
    );
}

#[test]
fn errors_inside_profiles_name_their_key_and_line() {
    let profile = "[profiles.quick.tables.chains]\nseeds = [0, 1]\norderings = 2";
    let quick = |text: &str| {
        Config::parse(text, Path::new("my/harness.toml"), "quick")
            .map(|_| ())
            .unwrap_err()
            .to_string()
    };
    // A table the profile adds without a title.
    let text = edited(
        profile,
        &format!("[profiles.quick.tables.extra]\nseeds = [0]\n\n{profile}"),
    );
    let err = quick(&text);
    for n in [
        &line_of(&text, "[profiles.quick.tables.extra]") as &str,
        "tables.extra",
        "missing field `title`",
        "(set by [profiles.quick])",
    ] {
        assert!(err.contains(n), "lacks {n:?}: {err}");
    }
    // A wrong type, an unknown key and an impossible value inside the profile.
    for (to, needles) in [
        (
            "orderings = \"two\"",
            &["tables.chains.orderings", "invalid type"] as &[&str],
        ),
        (
            "orderngs = 2",
            &["tables.chains.orderngs", "did you mean `orderings`?"],
        ),
        (
            "orderings = 0",
            &["tables.chains.orderings = 0", "(set by [profiles.quick])"],
        ),
    ] {
        let text = edited(profile, &profile.replace("orderings = 2", to));
        let err = quick(&text);
        assert!(err.contains(&line_of(&text, to)), "{to}: {err}");
        for n in needles {
            assert!(err.contains(n), "{to}: lacks {n:?}: {err}");
        }
    }
    // The same mistake in the file's own table is located there, not in the profile.
    let text = edited(
        "hidden = 16                  # IGNN reference / PyG",
        "hidden = 0 #",
    );
    let err = quick(&text);
    assert!(err.contains(&line_of(&text, "hidden = 0 #")), "{err}");
    assert!(err.contains("models.gcn.hidden = 0"), "{err}");
    assert!(!err.contains("set by"), "{err}");
}

#[test]
fn table_names_are_identifiers_and_labels_single_line_text() {
    for name in ["\"../x\"", "\"/tmp/x\"", "\"a b\"", "scaling", "\"\""] {
        // A copy of the chains table under the name.
        let text = format!(
            "{HARNESS}\n[tables.{name}]\ntitle = \"t\"\nmetric = \"accuracy\"\nseeds = [0]\n\
             orderings = 1\nmodels = [\"gcn\"]\nstd_ddof = 0\n\
             columns = [{{ label = \"c\", dataset = {{ kind = \"chains\", length = 3, classes = 2 }} }}]\n"
        );
        let err = load(&text).expect_err(name);
        assert!(
            err.contains(&line_of(&text, &format!("[tables.{name}]"))),
            "{name}: {err}"
        );
        assert!(
            err.contains("identifiers") || err.contains("reserved"),
            "{name}: {err}"
        );
    }
    for (label, bad) in [
        ("B = 1\\n\\\\end{tabular}", "'\\n' (U+000A)"),
        ("B = 1 \\u0007", "'\\u{7}' (U+0007)"),
        ("B = 1 😀", "(U+1F600)"),
        ("", "must not be empty"),
    ] {
        let text = edited(
            "{ label = \"LATTICE (10)\"",
            &format!("{{ label = \"{label}\""),
        );
        let err = load(&text).expect_err(label);
        assert!(
            err.contains("tables.localisation.columns[0].label") && err.contains(bad),
            "{label}: {err}"
        );
    }
    // Greek letters and ℓ are written as LaTeX commands (see the report's tests).
    load(&edited(
        "{ label = \"LATTICE (10)\"",
        "{ label = \"ℓ = 20, β = 1 ± 0\"",
    ))
    .unwrap();
}

#[test]
fn model_sections_are_needed_only_for_the_models_tables_use() {
    // A config of GCN alone: [async], [models.gcn] and one table.
    let async_section =
        &HARNESS[HARNESS.find("[async]").unwrap()..HARNESS.find("[models.gcn]").unwrap()];
    let gcn_section =
        &HARNESS[HARNESS.find("[models.gcn]").unwrap()..HARNESS.find("[models.ignn]").unwrap()];
    let table = |models: &str| {
        format!(
            "{async_section}{gcn_section}\n[tables.t]\ntitle = \"t\"\nmetric = \"accuracy\"\n\
             seeds = [0]\norderings = 1\nmodels = {models}\nstd_ddof = 0\n\
             columns = [{{ label = \"c\", dataset = {{ kind = \"chains\", length = 3, classes = 2 }} }}]\n"
        )
    };
    let gcn_only = load(&table("[\"gcn\"]")).unwrap();
    assert_eq!(gcn_only.models.names(), ["gcn"]);
    let err = load(&table("[\"gcn\", \"ignn\"]")).unwrap_err();
    assert!(
        err.contains("tables.t.models = \"ignn\"") && err.contains("no [models.ignn] section"),
        "{err}"
    );
    // One model's setting in another's section is an unknown key, with its line.
    let text = edited(
        "hidden = 16                  # IGNN reference / PyG",
        "hidden = 16\nkappa = 0.9 #",
    );
    expect_error(
        &text,
        &["models.gcn.kappa", "unknown field `kappa`", "line"],
    );
    // A section for a model nobody registered.
    let text = format!("{HARNESS}\n[models.sage]\nhidden = 2\n");
    expect_error(&text, &["models.sage", "unknown model `sage`", "line"]);
}

#[test]
fn distributed_experiments_are_checked() {
    let experiment = "[distributed.fdt-regression";
    for (from, to, needles) in [
        (
            "batch_size = 100             # reference code (B)",
            "batch_size = 5000",
            &[
                "distributed.fdt-regression.regression.batch_size",
                "5000",
                "train_samples",
            ][..],
        ),
        (
            "epochs = [1, 10, 50,",
            "epochs = [10, 1, 50,",
            &["distributed.fdt-regression.epochs[1]", "ascend"],
        ),
        (
            "SGD = [0.0618, 0.0361,",
            "SGD = [0.0361,",
            &[
                "distributed.fdt-regression.paper.SGD",
                "one value per entry of epochs",
            ],
        ),
        (
            "Adam = [0.0611",
            "ADAM = [0.0611",
            &[
                "distributed.fdt-regression.paper.ADAM",
                "no such optimiser",
                "D-AMSGrad",
            ],
        ),
        (
            "hidden = 10                  # reference code",
            "hiden = 10",
            &["hiden", "hidden"],
        ),
        (
            "{ name = \"D-SGD\", kind = \"d-sgd\", lr = 1e-3 }",
            "{ name = \"D-SGD\", kind = \"d-sgd\", lr = -1.0 }",
            &[
                "distributed.fdt-regression.regression.optimisers[2].lr",
                "-1",
            ],
        ),
    ] {
        let text = edited(from, to);
        let err = load(&text).expect_err(to);
        for n in needles {
            assert!(err.contains(n), "{to}: error lacks {n:?}: {err}");
        }
    }
    // The unknown key's line is named.
    let text = edited(
        "hidden = 10                  # reference code",
        "hiden = 10",
    );
    let err = load(&text).unwrap_err();
    let line = text
        .lines()
        .position(|l| l.starts_with("hiden = 10"))
        .unwrap()
        + 1;
    assert!(err.contains(&format!("line {line}")), "{err}");
    // Names are output directories: identifiers, not a table's.
    for (name, needle) in [
        ("\"../x\"", "identifiers"),
        ("chains", "a [tables] entry has this name"),
    ] {
        let text = HARNESS.replace(experiment, &format!("[distributed.{name}"));
        let err = load(&text).expect_err(name);
        assert!(err.contains(needle), "{name}: {err}");
    }
}

#[test]
fn a_distributed_experiment_names_exactly_one_experiment_with_its_own_keys() {
    for (from, to, needles) in [
        (
            "seeds = [0, 1, 2]            # ours: the authors report one run",
            "seeds = []",
            &["distributed.fdt-regression.seeds", "at least one seed"][..],
        ),
        (
            "epochs = [1, 10, 50, 100, 200, 500, 1000]",
            "epochs = []",
            &["distributed.fdt-regression.epochs", "at least one epoch"],
        ),
        (
            "[distributed.fdt-regression.regression]",
            "[distributed.fdt-regression.elsewhere]",
            &["unknown field `elsewhere`", "regression", "power"],
        ),
        (
            "layers = 4                   # reference code",
            "layers = 0",
            &["distributed.fdt-power.power.layers", "0"],
        ),
        (
            "full_wmmse_iterations = 100  # reference code's comments",
            "full_wmmse_iterations = 100\nhiden = 3",
            &["unknown field `hiden`", "line"],
        ),
        (
            "paper_references = { untrained = 15.684, truncated-wmmse",
            "paper_references = { untrained = 15.684, wmmse = 1.0, truncated-wmmse",
            &[
                "distributed.fdt-power.paper_references.wmmse",
                "no such reference",
                "truncated-wmmse",
            ],
        ),
        (
            "epochs = [1, 10, 30, 60, 200]",
            "epochs = [1, 10, 30, 60, 201]",
            &["distributed.fdt-power.epochs[4]", "1..=200"],
        ),
        (
            "epochs = [1, 11, 22, 33, 44, 55]",
            "epochs = [1, 11, 22, 33, 44, 58]",
            &[
                "distributed.fdt-scheduling.epochs[5]",
                "1..=57",
                "mini-batch",
            ],
        ),
        (
            "batch_graphs = 100           # reference code",
            "batch_graphs = 0",
            &["distributed.fdt-scheduling.scheduling.batch_graphs", "0"],
        ),
    ] {
        expect_error(&edited(from, to), needles);
    }
    // Both experiments' settings, or none.
    let start = HARNESS.find("[distributed.fdt-power.power]").unwrap();
    let block = &HARNESS[start..start + HARNESS[start..].find("\n\n").unwrap()];
    let both = format!(
        "{HARNESS}\n{}\n",
        block.replace("fdt-power.power", "fdt-regression.power")
    );
    expect_error(&both, &["distributed.fdt-regression.power", "not several"]);
    let start = HARNESS
        .find("[distributed.fdt-regression.regression]")
        .unwrap();
    let end = start + HARNESS[start..].find("\n\n").unwrap();
    let none = format!("{}{}", &HARNESS[..start], &HARNESS[end..]);
    expect_error(
        &none,
        &["distributed.fdt-regression.regression", "[.power]"],
    );
    // Reference lines belong to the power experiment.
    let text = edited(
        "std_ddof = 0\nepochs = [1, 10, 50",
        "std_ddof = 0\npaper_references = { untrained = 1.0 }\nepochs = [1, 10, 50",
    );
    expect_error(
        &text,
        &[
            "distributed.fdt-regression.paper_references.untrained",
            "only the power experiment",
        ],
    );
    // A trained experiment needs its std's ddof; the ledger trains nothing and refuses
    // seeds, epochs and the std's ddof rather than ignoring them.
    let text = HARNESS.replacen(
        "seeds = [0, 1, 2]            # ours: the authors report one run\nstd_ddof = 0\n",
        "seeds = [0, 1, 2]\n",
        1,
    );
    assert_ne!(text, HARNESS);
    expect_error(&text, &["distributed.fdt-regression.std_ddof", "missing"]);
    for (key, value) in [("seeds", "[0]"), ("epochs", "[1]"), ("std_ddof", "0")] {
        let text = edited(
            "[distributed.fdt-ledger.ledger]",
            &format!("{key} = {value}\n[distributed.fdt-ledger.ledger]"),
        );
        expect_error(
            &text,
            &[&format!("distributed.fdt-ledger.{key}"), "trains nothing"],
        );
    }
    expect_error(
        &edited(
            "consensus_rounds = [1, 2, 5]",
            "consensus_rounds = [1, 2, 2]",
        ),
        &[
            "distributed.fdt-ledger.ledger.consensus_rounds[2]",
            "distinct",
        ],
    );
}

#[test]
fn amp_tables_are_checked() {
    for (from, to, needles) in [
        (
            "datasets = [\"Limits1\", \"Limits2\",",
            "datasets = [\"Limits1\", \"Limits3\",",
            &[
                "amp.amp-expressiveness.expressiveness.datasets[1]",
                "\"Limits3\"",
                "no such benchmark",
                "Skip-Cycles",
            ][..],
        ),
        (
            "models = [\"amp-rnn\", \"gin\"]",
            "models = [\"amp-rnn\", \"amp-rnn\"]",
            &["amp.amp-expressiveness.models[1]", "listed twice"],
        ),
        (
            "models = [\"amp-rnn\", \"gin\"]",
            "models = [\"amp-rnn\", \"amp-gin\"]",
            &["amp-gin", "unknown variant", "line"],
        ),
        (
            "paper = { amp-rnn = [[100, 0], [100, 0], [100, 1],",
            "paper = { amp-rnn = [[100, 0], [100], [100, 1],",
            &["amp.amp-expressiveness.paper.amp-rnn[1]", "[mean, std]"],
        ),
        (
            "paper = { amp-rnn = [[96, 2], [85, 5],",
            "paper = { amp-rnn = [[85, 5],",
            &[
                "amp.amp-extrapolation.paper.amp-rnn",
                "[7 cells]",
                "one [mean, std] or [] per column (8)",
            ],
        ),
        (
            "paper = { amp-rnn = [[96, 2],",
            "paper = { amp-rnm = [[96, 2],",
            &[
                "amp.amp-extrapolation.paper.amp-rnm",
                "no such row",
                "reference",
            ],
        ),
        (
            "test_sizes = [10, 25, 50,",
            "test_sizes = [10, 50, 25,",
            &[
                "amp.amp-extrapolation.extrapolation.test_sizes[2]",
                "ascend",
            ],
        ),
        (
            "models = [\"amp-rnn\", \"amp-gru\",",
            "models = [\"gin\", \"amp-gru\",",
            &[
                "amp.amp-extrapolation.models[0]",
                "Table 4's GIN",
                "gin-oracle",
            ],
        ),
        (
            "models = [\"amp-rnn\", \"gin\"]",
            "models = [\"amp-rnn\", \"gat-oracle\"]",
            &[
                "amp.amp-expressiveness.models[1]",
                "gat-oracle",
                "Table 3's baseline",
                "extrapolation] only",
            ],
        ),
        (
            "hidden = 30                  # paper",
            "hidden = 0",
            &["amp.amp-extrapolation.extrapolation.hidden", "at least 1"],
        ),
        (
            "lr = 0.01                    # paper\nmodels = [\"amp-rnn\", \"gin\"]",
            "lr = -0.01\nmodels = [\"amp-rnn\", \"gin\"]",
            &["amp.amp-expressiveness.lr", "-0.01", "positive"],
        ),
        (
            "[amp.amp-extrapolation.extrapolation]",
            "[amp.amp-extrapolation.expressiveness]",
            &[
                "line",
                "unknown field",
                "expected `datasets` or `gin_layers`",
            ],
        ),
        (
            "message_sizes = [\"H/2\", \"10\"]",
            "message_sizes = [\"H/2\", \"half\"]",
            &["amp.amp-tu.tu.message_sizes[1]", "\"half\"", "\"H/2\""],
        ),
        (
            "budgets = [15, 25]",
            "budgets = [15, 15]",
            &["amp.amp-tu.tu.budgets[1]", "listed twice"],
        ),
        (
            "models = [\"amp-rnn\", \"gcn\", \"gat\", \"gin\"]",
            "models = [\"amp-rnn\", \"amp-gru\"]",
            &["amp.amp-tu.models[1]", "Table 4 runs AMP-RNN"],
        ),
        (
            "models = [\"amp-rnn\", \"gcn\", \"gat\", \"gin\"]",
            "models = [\"amp-rnn\", \"gcn-oracle\"]",
            &["amp.amp-tu.models[1]", "Table 3's baseline"],
        ),
        (
            "layers = 4                   # GIN protocol",
            "layers = 0                   # GIN protocol",
            &["models.gin.layers", "at least 1"],
        ),
        (
            "[amp.amp-tu.model_settings.gcn]\nlayers = 4",
            "[amp.amp-tu.model_settings.gcn]\nlayers = 0",
            &["amp.amp-tu.model_settings.gcn.layers", "at least 1"],
        ),
        (
            "[amp.amp-tu.model_settings.gat]\nlayers = 4",
            "[amp.amp-tu.model_settings.gat]\nlayres = 4",
            &["amp.amp-tu.model_settings.gat", "layres", "layers"],
        ),
        (
            "\"GAT (AMP paper, its authors' run)\" = [85.1, 9.3]",
            "\"GAT (AMP paper, its authors' run)\" = [85.1, -9.3]",
            &[
                "tables.tu.columns[0].reference.\"GAT (AMP paper, its authors' run)\"",
                "[85.1, -9.3]",
                "non-negative",
            ],
        ),
        (
            "[amp.amp-extrapolation.extrapolation]",
            "[amp.amp-extrapolation.model_settings.gcn]\nlayers = 4\n[amp.amp-extrapolation.extrapolation]",
            &["amp.amp-extrapolation.model_settings.gcn", "only Table 4"],
        ),
        (
            "[amp.amp-tu.model_settings.gat]\nlayers = 4",
            "[amp.amp-tu.model_settings.ignn]\nhidden = 4",
            &["amp.amp-tu.model_settings.ignn", "names no baseline row"],
        ),
        (
            "[models.gin]\nhidden = 16                  # replaced by Table 4's grid\nlayers = 4                   # GIN protocol (Xu et al.: 5 layers counting the input layer)\n[models.gin.train]\nepochs = 350                 # replaced by Table 4's optimiser\nlr = 0.01\n",
            "",
            &["amp.amp-tu.models[3]", "\"gin\"", "no [models.gin] section"],
        ),
        (
            "delays = \"constant\"          # paper\npaper = { amp-rnn = [[90.4",
            "message = 3\ndelays = \"constant\"\npaper = { amp-rnn = [[90.4",
            &["amp.amp-tu.message", "not read by Table 4"],
        ),
        (
            "hidden = [16, 32] },\n  { label = \"PTC\"",
            "hidden = [] },\n  { label = \"PTC\"",
            &["amp.amp-tu.tu.datasets[0].hidden", "name at least one"],
        ),
        (
            "  { label = \"PTC\", name = \"PTC_MR\"",
            "  { label = \"PTC\", name = \"../PTC_MR\"",
            &["amp.amp-tu.tu.datasets[1].name", "letters, digits"],
        ),
        (
            "\"1-2-3 GNN\" = [[86.1], [60.9]",
            "\"1-2-3 GNN\" = [[86.1, 1, 2], [60.9]",
            &[
                "amp.amp-tu.reference.\"1-2-3 GNN\"[0]",
                "[mean] (its source prints no std)",
            ],
        ),
    ] {
        let text = edited(from, to);
        let err = load(&text).expect_err(to);
        assert!(err.starts_with("my/harness.toml"), "{err}");
        for n in needles {
            assert!(err.contains(n), "{to}: error lacks {n:?}: {err}");
        }
    }
    // Names are output directories, shared with no table or distributed experiment.
    for (name, needle) in [
        ("\"../x\"", "identifiers"),
        ("chains", "a [tables] entry has this name"),
        ("fdt-regression", "a [distributed] entry has this name"),
    ] {
        let text = HARNESS
            .replace("[amp.amp-extrapolation]", &format!("[amp.{name}]"))
            .replace(
                "[amp.amp-extrapolation.extrapolation]",
                &format!("[amp.{name}.extrapolation]"),
            );
        let err = load(&text).expect_err(name);
        assert!(err.contains(needle), "{name}: {err}");
    }
}
