//! The ICLR tables' config features: a table of tasks whose columns train with their own
//! recipes (`columns[c].model_settings`), a table written `like` another, held-out folds and
//! test graphs chosen (`test_folds`, `test_graphs`) and paper cells with a mean only; and
//! their errors, named by file, key, line and value before any run.

use hogwild_harness::config::Config;
use hogwild_harness::{Plan, ReproduceOptions};

mod common;
use common::{edited, expect_error, load, HARNESS};

/// `epochs` of `model` in column `c` of `table`.
fn epochs(config: &Config, table: &str, c: usize, model: &str) -> usize {
    config
        .models_for_column(table, c)
        .train_config(model)
        .unwrap()
        .epochs
}

#[test]
fn each_task_trains_with_its_recipe_and_the_async_table_inherits_them() {
    let config = load(HARNESS).unwrap();
    let sync = &config.tables["iclr-sync"];
    let asynchronous = &config.tables["iclr-async"];
    let labels = |t: &hogwild_harness::config::TableConfig| -> Vec<String> {
        t.columns.iter().map(|c| c.label.clone()).collect()
    };
    assert_eq!(
        labels(sync),
        ["CHAINS", "COUNT", "SUM", "COORDINATES", "MNIST"]
    );
    assert_eq!(labels(asynchronous), labels(sync));
    assert_eq!(asynchronous.models, sync.models);
    assert_eq!(
        (
            asynchronous.seeds.clone(),
            asynchronous.test_folds.clone(),
            asynchronous.test_graphs,
            asynchronous.orderings
        ),
        (vec![0], Some(vec![0]), Some(10), 5)
    );
    assert_eq!((sync.test_folds.clone(), sync.test_graphs), (None, None));
    // Each column's recipe is its per-task table's; CHAINS keeps [models].
    for (c, per_task) in [
        (1, "iclr-counting"),
        (2, "iclr-counting"),
        (3, "iclr-localisation"),
    ] {
        for m in &sync.models {
            assert_eq!(
                config.models_for_column("iclr-sync", c).train_config(m),
                config.models_for(per_task).train_config(m),
                "column {c}, {m}"
            );
        }
    }
    assert_eq!(
        epochs(&config, "iclr-sync", 0, "gcn"),
        config.models.train_config("gcn").unwrap().epochs
    );
    assert_eq!(
        epochs(&config, "iclr-sync", 4, "energy"),
        epochs(&config, "iclr-mnist", 0, "energy")
    );
    for c in 0..sync.columns.len() {
        for m in &sync.models {
            assert_eq!(
                config.models_for_column("iclr-async", c).train_config(m),
                config.models_for_column("iclr-sync", c).train_config(m)
            );
        }
    }
    // A paper cell with a mean only.
    assert_eq!(sync.columns[0].paper["ignn-sync"], vec![26.9]);
}

#[test]
fn a_column_recipe_is_checked_and_named_by_its_key_and_line() {
    let count_gcn =
        r#"gcn = { train = { batch_graphs = 1, epochs = 100, lr_schedule = "cosine" } }"#;
    expect_error(
        &edited(count_gcn, &count_gcn.replace("epochs", "epochz")),
        &[
            "tables.iclr-sync.columns[1].model_settings",
            "epochz",
            "line",
        ],
    );
    expect_error(
        &edited(count_gcn, &count_gcn.replace("epochs = 100", "epochs = 0")),
        &[
            "tables.iclr-sync.columns[1].model_settings.gcn.train.epochs",
            "line",
            "0",
        ],
    );
    expect_error(
        &edited(count_gcn, &format!("{count_gcn}\ngin = {{ layers = 2 }}")),
        &[
            "tables.iclr-sync.columns[1].model_settings",
            "\"gin\"",
            "not one of this table's models",
        ],
    );
}

#[test]
fn a_table_like_another_names_an_existing_table_one_level_deep() {
    let like = r#"like = "iclr-sync""#;
    expect_error(
        &edited(like, r#"like = "iclr-snyc""#),
        &[
            "tables.iclr-async.like",
            "\"iclr-snyc\"",
            "no [tables.iclr-snyc]",
            "line",
        ],
    );
    expect_error(
        &edited(like, r#"like = "iclr-async""#),
        &["tables.iclr-async.like", "cannot be like itself"],
    );
    let chained = edited(
        "[tables.iclr-sync]\n",
        "[tables.iclr-sync]\nlike = \"iclr-mnist\"\n",
    );
    expect_error(
        &chained,
        &["tables.iclr-async.like", "itself like another table"],
    );
    expect_error(
        &edited(like, "like = 3"),
        &[
            "tables.iclr-async.like",
            "3",
            "must be the name of another",
            "line",
        ],
    );
}

#[test]
fn held_out_folds_and_test_graphs_are_checked() {
    let folds = "test_folds = [0]";
    expect_error(
        &edited(folds, "test_folds = [10]"),
        &[
            "tables.iclr-async.test_folds",
            "10",
            "numbered 0 to 9",
            "line",
        ],
    );
    expect_error(
        &edited(folds, "test_folds = [0, 0]"),
        &["tables.iclr-async.test_folds", "listed twice"],
    );
    expect_error(
        &edited(folds, "test_folds = []"),
        &["tables.iclr-async.test_folds", "at least one"],
    );
    expect_error(
        &edited("test_graphs = 10 ", "test_graphs = 0 "),
        &["tables.iclr-async.test_graphs", "0"],
    );
    // Table 1 trains and evaluates on every graph: there is no held-out fold to choose.
    let chains = "[tables.chains]\n";
    expect_error(
        &edited(chains, "[tables.chains]\ntest_folds = [1]\n"),
        &["tables.chains.test_folds", "needs folds"],
    );
    expect_error(
        &edited(chains, "[tables.chains]\ntest_graphs = 3\n"),
        &["tables.chains.test_graphs", "needs folds"],
    );
}

#[test]
fn a_paper_cell_is_a_mean_and_std_or_a_mean() {
    expect_error(
        &edited("ignn-sync = [26.9]", "ignn-sync = [26.9, 1.0, 2.0]"),
        &["paper.ignn-sync", "[mean, std] or [mean]"],
    );
    expect_error(
        &edited("ignn-sync = [26.9]", "ignn-sync = []"),
        &["paper.ignn-sync", "[mean, std] or [mean]"],
    );
}

/// A workspace whose `cols` profile narrows Table 2 to two small COUNT columns, the second
/// with its own GCN recipe.
fn workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let config = HARNESS.to_string()
        + r#"
[profiles.cols]
claims = []
[profiles.cols.tables.counting]
seeds = [0]
folds = 2
test_folds = [1]
test_graphs = 1
orderings = 1
models = ["gcn"]
model_orderings = {}
columns = [
  { label = "A", dataset = { kind = "count", max_nodes = 4, graphs = 8 } },
  { label = "B", dataset = { kind = "count", max_nodes = 4, graphs = 8 }, model_settings = { gcn = { train = { epochs = 2 } } } },
]
"#;
    std::fs::write(dir.path().join("harness.toml"), config).unwrap();
    dir
}

#[test]
fn a_column_recipe_reaches_its_own_runs_only() {
    let dir = workspace();
    let opts = ReproduceOptions {
        config: dir.path().join("harness.toml"),
        profile: "cols".into(),
        tables: vec!["counting".into()],
        out: dir.path().join("out"),
        threads: 1,
        force: false,
        verbosity: hogwild_harness::progress::Verbosity::Quiet,
        overrides: Default::default(),
    };
    let plan = Plan::load(&opts).unwrap();
    let table_epochs = plan
        .config
        .models_for("counting")
        .train_config("gcn")
        .unwrap()
        .epochs;
    assert_ne!(table_epochs, 2);
    for run in &plan.runs {
        let want = if run.spec.column == 1 {
            2
        } else {
            table_epochs
        };
        assert_eq!(
            run.key.model["train"]["epochs"].as_integer(),
            Some(want as i64)
        );
    }
    // Fold 1 only: one run per column, told apart by the recipe alone (same data, seed).
    assert_eq!(plan.runs.len(), 2);
    assert!(plan.runs.iter().all(|r| r.spec.fold == Some(1)));
    assert_ne!(plan.runs[0].id, plan.runs[1].id);
    let reports = hogwild_harness::reproduce(&opts).unwrap();
    assert_eq!(reports[0].cells[0].len(), 2);
    let md = std::fs::read_to_string(dir.path().join("out/counting/table.md")).unwrap();
    assert!(
        md.contains("1 seed × held-out fold 1 of 2 (train on the other, evaluate on the first graph of the held-out fold)"),
        "{md}"
    );
}
