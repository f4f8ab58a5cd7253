//! The schemas of `runs.*` and `curves.*`: the same columns in every table, each declared
//! once here with its type and meaning, from which the frames and `results/schema.md` are
//! made.
//!
//! `runs` has one row per evaluation of a run (its synchronous evaluation, then each
//! asynchronous ordering); `curves` one row per point of a run's curves. Values that do not
//! apply are null (a synchronous row has no ordering; an explicit model has no
//! convergence). Wall times are in `timings.csv`, joined on `run_id`, so that `runs.*` and
//! `curves.*` stay byte-identical across machines and thread counts.

use super::frame::{Frame, Values};
use crate::config::TableConfig;
use crate::curve::Curve;
use crate::sweep::{Evaluation, Mode, PlannedRun, RunResult};

/// A column's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// UTF-8 text.
    Text,
    /// Unsigned integer.
    UInt,
    /// 64-bit float.
    Float,
    /// Boolean.
    Bool,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Text => "string",
            Kind::UInt => "uint64",
            Kind::Float => "float64",
            Kind::Bool => "bool",
        }
    }
}

/// One value of a row.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// Text.
    Text(Option<String>),
    /// Unsigned integer.
    UInt(Option<u64>),
    /// Float.
    Float(Option<f64>),
    /// Boolean.
    Bool(Option<bool>),
}

/// A column: its name, type, meaning, and how a row gives its value.
pub struct ColumnSpec<R> {
    /// Name.
    pub name: &'static str,
    /// Type.
    pub kind: Kind,
    /// Meaning, for `schema.md`.
    pub doc: &'static str,
    get: fn(&R) -> Cell,
}

pub(super) const fn col<R>(
    name: &'static str,
    kind: Kind,
    doc: &'static str,
    get: fn(&R) -> Cell,
) -> ColumnSpec<R> {
    ColumnSpec {
        name,
        kind,
        doc,
        get,
    }
}

/// The frame of `rows` under `specs`.
pub(super) fn frame<R>(specs: &[ColumnSpec<R>], rows: &[R]) -> Frame {
    let mut f = Frame::default();
    for spec in specs {
        let cells = rows.iter().map(|r| (spec.get)(r));
        let values = match spec.kind {
            Kind::Text => Values::Text(
                cells
                    .map(|c| match c {
                        Cell::Text(v) => v,
                        _ => unreachable!("{} is text", spec.name),
                    })
                    .collect(),
            ),
            Kind::UInt => Values::UInt(
                cells
                    .map(|c| match c {
                        Cell::UInt(v) => v,
                        _ => unreachable!("{} is an integer", spec.name),
                    })
                    .collect(),
            ),
            Kind::Float => Values::Float(
                cells
                    .map(|c| match c {
                        Cell::Float(v) => v,
                        _ => unreachable!("{} is a float", spec.name),
                    })
                    .collect(),
            ),
            Kind::Bool => Values::Bool(
                cells
                    .map(|c| match c {
                        Cell::Bool(v) => v,
                        _ => unreachable!("{} is a boolean", spec.name),
                    })
                    .collect(),
            ),
        };
        f.push(spec.name, values);
    }
    f
}

pub(super) fn text(s: impl Into<String>) -> Cell {
    Cell::Text(Some(s.into()))
}

pub(super) fn uint(n: impl TryInto<u64>) -> Cell {
    Cell::UInt(n.try_into().ok())
}

/// One evaluation of one run, with what it belongs to.
pub struct RunRow<'a> {
    /// The run's table.
    pub table: &'a TableConfig,
    /// The run as planned (id and key).
    pub planned: &'a PlannedRun,
    /// What it produced.
    pub result: &'a RunResult,
    /// This evaluation.
    pub eval: &'a Evaluation,
}

impl RunRow<'_> {
    /// A setting of the column's dataset, from its `harness.toml` spelling.
    fn dataset_setting(&self, key: &str) -> Option<toml::Value> {
        let spec = &self.table.columns[self.result.spec.column].dataset;
        toml::Value::try_from(spec).ok()?.get(key).cloned()
    }

    fn dataset_uint(&self, key: &str) -> Cell {
        Cell::UInt(
            self.dataset_setting(key)
                .and_then(|v| v.as_integer())
                .map(|i| i as u64),
        )
    }

    fn is_async(&self) -> bool {
        self.eval.mode == Mode::Async
    }

    fn implicit_async(&self) -> bool {
        self.is_async() && self.result.implicit
    }

    fn implicit_count(&self, n: u64) -> Cell {
        Cell::UInt(self.result.implicit.then_some(n))
    }
}

/// The run schema, in column order.
pub fn run_columns<'a>() -> Vec<ColumnSpec<RunRow<'a>>> {
    use Kind::*;
    vec![
        col("run_id", Text, "SHA-256 of everything the run's numbers depend on; its record is `records/<run_id>.toml`", |r| text(&r.planned.id)),
        col("table_name", Text, "table name (`[tables.NAME]` in `harness.toml`)", |r| text(&r.result.spec.table)),
        col("column_label", Text, "the column's label", |r| text(&r.table.columns[r.result.spec.column].label)),
        col("column_index", UInt, "0-based position of the column in its table", |r| uint(r.result.spec.column)),
        col("dataset", Text, "dataset identity: kind, settings and seed, or a hash of the files read", |r| text(&r.planned.key.dataset)),
        col("dataset_kind", Text, "`chains`, `count`, `sum`, `lattice`, `random`, `tu` or `mnist-terrain`", |r| Cell::Text(r.dataset_setting("kind").and_then(|v| v.as_str().map(str::to_string)))),
        col("length", UInt, "chains: nodes per chain", |r| r.dataset_uint("length")),
        col("classes", UInt, "chains: classes (one chain each)", |r| r.dataset_uint("classes")),
        col("max_nodes", UInt, "count: the largest chain", |r| r.dataset_uint("max_nodes")),
        col("graphs", UInt, "count, sum, lattice, random, mnist-terrain: graphs in the dataset (mnist-terrain: images)", |r| r.dataset_uint("graphs")),
        col("nodes", UInt, "sum, lattice, random, mnist-terrain: nodes per graph (mnist-terrain: agents)", |r| r.dataset_uint("nodes")),
        col("radius", Float, "random: connection radius (unit square); mnist-terrain: in pixels", |r| Cell::Float(r.dataset_setting("radius").and_then(|v| v.as_float()))),
        col("dataset_seed", UInt, "seed of a random dataset", |r| r.dataset_uint("seed")),
        col("dataset_name", Text, "tu: the dataset's name", |r| Cell::Text(r.dataset_setting("name").and_then(|v| v.as_str().map(str::to_string)))),
        col("schedule", Text, "asynchrony: `random-sweeps` or `synchronous` (the column's `[async]`, overrides applied)", |r| text(toml::Value::try_from(r.planned.key.async_.schedule).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default())),
        col("staleness_bound", UInt, "asynchrony: the staleness bound B, in `staleness_unit`s", |r| uint(r.planned.key.async_.staleness_bound)),
        col("staleness_unit", Text, "asynchrony: `ticks` (one node update each) or `rounds` (n ticks each)", |r| text(toml::Value::try_from(r.planned.key.async_.staleness_unit).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default())),
        col("delay", Text, "asynchrony: `uniform` (staleness uniform in 1..=B) or `max` (always B)", |r| text(toml::Value::try_from(r.planned.key.async_.delay).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default())),
        col("async_tol", Float, "asynchrony: an implicit model stops when the observer's residual is below this", |r| Cell::Float(Some(r.planned.key.async_.tol))),
        col("max_rounds", UInt, "asynchrony: an implicit model gives up after this many rounds", |r| uint(r.planned.key.async_.max_rounds)),
        col("model", Text, "model name (`[models.NAME]`)", |r| text(&r.result.spec.model)),
        col("implicit", Bool, "whether the model is implicit (run to a fixed point) rather than explicit (a fixed number of layers)", |r| Cell::Bool(Some(r.result.implicit))),
        col("featureless", Bool, "whether the model saw no node features in this column", |r| Cell::Bool(Some(r.planned.key.featureless))),
        col("seed", UInt, "parameter seed", |r| uint(r.result.spec.seed)),
        col("folds", UInt, "k of k-fold cross-validation (null: trained and evaluated on every graph)", |r| Cell::UInt(r.planned.key.folds.map(|k| k as u64))),
        col("fold", UInt, "the held-out fold the run is evaluated on (null without cross-validation)", |r| Cell::UInt(r.result.spec.fold.map(|f| f as u64))),
        col("orderings", UInt, "asynchronous orderings evaluated for this run", |r| uint(r.planned.key.orderings)),
        col("mode", Text, "`sync` (batched synchronous inference) or `async` (simulated asynchronous inference)", |r| text(r.eval.mode.as_str())),
        col("ordering", UInt, "which asynchronous ordering (null for sync rows)", |r| Cell::UInt(r.eval.ordering.map(|o| o as u64))),
        col("metric", Text, "`accuracy`, `error` (100 − accuracy), `graph-accuracy`, `relative-rmse` or `distance-relative-rmse`", |r| text(toml::Value::try_from(r.planned.key.metric).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default())),
        col("unit", Text, "unit of `value` (`%`)", |_| text("%")),
        col("higher_is_better", Bool, "whether a larger `value` is better", |r| Cell::Bool(Some(r.planned.key.metric.higher_is_better()))),
        col("value", Float, "the metric on the evaluated graphs", |r| Cell::Float(Some(r.eval.value))),
        col("converged", Bool, "implicit models, async: whether every graph's simulation reached `async_tol` (null otherwise)", |r| Cell::Bool(r.implicit_async().then_some(r.eval.converged))),
        col("rounds", UInt, "async: most rounds over the evaluated graphs (an explicit model: its layers; null for sync)", |r| Cell::UInt(r.is_async().then_some(r.eval.rounds as u64))),
        col("residual", Float, "implicit models, async: largest final observer residual over the graphs (null otherwise)", |r| Cell::Float(r.implicit_async().then_some(r.eval.residual))),
        col("reads", UInt, "async: neighbour-state reads over the evaluated graphs' simulations (null for sync)", |r| Cell::UInt(r.is_async().then_some(r.eval.reads))),
        col("stale_reads", UInt, "async: reads that missed the neighbour's latest version (stale_reads / reads: the share of stale reads; null for sync)", |r| Cell::UInt(r.is_async().then_some(r.eval.stale_reads))),
        col("final_train_loss", Float, "training loss at the last epoch", |r| Cell::Float(Some(r.result.final_loss))),
        col("train_forward_iterations", UInt, "implicit models: forward-solver iterations in training and synchronous evaluation (null otherwise)", |r| r.implicit_count(r.result.stats.forward_iterations)),
        col("train_backward_iterations", UInt, "implicit models: backward-solver iterations (Hessian-vector products for the energy GNN; null otherwise)", |r| r.implicit_count(r.result.stats.backward_iterations)),
        col("train_unconverged_solves", UInt, "implicit models: solves that stopped at their iteration cap (null otherwise)", |r| r.implicit_count(r.result.stats.forward_unconverged + r.result.stats.backward_unconverged)),
    ]
}

/// The runs frame of one table: one row per evaluation, runs in plan order.
pub fn runs(table: &TableConfig, runs: &[(&PlannedRun, &RunResult)]) -> Frame {
    let rows: Vec<RunRow<'_>> = runs
        .iter()
        .flat_map(|&(planned, result)| {
            result.evaluations.iter().map(move |eval| RunRow {
                table,
                planned,
                result,
                eval,
            })
        })
        .collect();
    frame(&run_columns(), &rows)
}

/// One point of one curve of one run.
pub struct CurveRow<'a> {
    /// The run's table.
    pub table: &'a TableConfig,
    /// The run as planned.
    pub planned: &'a PlannedRun,
    /// What it produced.
    pub result: &'a RunResult,
    /// Which curve.
    pub curve: &'static str,
    /// The asynchronous ordering (async residual curves).
    pub ordering: Option<usize>,
    /// The step.
    pub step: u64,
    /// The value.
    pub value: f64,
}

/// The curve schema, in column order.
pub fn curve_columns<'a>() -> Vec<ColumnSpec<CurveRow<'a>>> {
    use Kind::*;
    vec![
        col("run_id", Text, "the run (as in `runs`)", |r| text(&r.planned.id)),
        col("table_name", Text, "table name", |r| text(&r.result.spec.table)),
        col("column_label", Text, "the column's label", |r| text(&r.table.columns[r.result.spec.column].label)),
        col("column_index", UInt, "0-based position of the column", |r| uint(r.result.spec.column)),
        col("model", Text, "model name", |r| text(&r.result.spec.model)),
        col("seed", UInt, "parameter seed", |r| uint(r.result.spec.seed)),
        col("fold", UInt, "held-out fold (null without cross-validation)", |r| Cell::UInt(r.result.spec.fold.map(|f| f as u64))),
        col("curve", Text, "`train-loss` (per epoch), `sync-residual` (the forward solver's stopping quantity per iteration of the synchronous evaluation: a certified bound on the distance to the fixed point: on max |h − h*| for IGNN and GSDGNN, ‖∇E‖₂ / β on ‖h − h*‖₂ for the energy GNN) or `async-residual` (the observer's residual per check, of the evaluated graph that took the most rounds)", |r| text(r.curve)),
        col("ordering", UInt, "the asynchronous ordering (async-residual only)", |r| Cell::UInt(r.ordering.map(|o| o as u64))),
        col("step", UInt, "epoch, solver iteration or round", |r| uint(r.step)),
        col("value", Float, "loss or residual", |r| Cell::Float(Some(r.value))),
    ]
}

/// The curves frame of one table: every run's curves, each at most
/// [`crate::curve::MAX_POINTS`] points (evenly subsampled, first and last kept).
pub fn curves(table: &TableConfig, runs: &[(&PlannedRun, &RunResult)]) -> Frame {
    let mut rows = vec![];
    for &(planned, result) in runs {
        let mut add = |curve: &'static str, ordering: Option<usize>, c: &Curve| {
            for (&step, &value) in c.steps.iter().zip(&c.values) {
                rows.push(CurveRow {
                    table,
                    planned,
                    result,
                    curve,
                    ordering,
                    step,
                    value,
                });
            }
        };
        add("train-loss", None, &result.train_losses);
        add("sync-residual", None, &result.sync_trace);
        for e in &result.evaluations {
            add("async-residual", e.ordering, &e.trace);
        }
    }
    frame(&curve_columns(), &rows)
}

pub(super) fn markdown_table<R>(title: &str, about: &str, specs: &[ColumnSpec<R>]) -> String {
    let mut s = format!("## {title}\n\n{about}\n\n| column | type | meaning |\n|---|---|---|\n");
    for c in specs {
        s.push_str(&format!(
            "| `{}` | {} | {} |\n",
            c.name,
            c.kind.name(),
            c.doc
        ));
    }
    s
}

/// `results/schema.md`: every column of `runs.*`, `curves.*` and `faults.csv`, of the
/// distributed experiments' files, and of the AMP tables' `runs.csv`, `curves.csv` and
/// `distances.csv`.
pub fn schema_markdown() -> String {
    format!(
        "# The columns of `runs.*`, `curves.*`, `faults.csv`, the distributed experiments' and the AMP tables' files\n\n\
         Written by `hogwild reproduce` from the code that writes the files \
         (`crates/hogwild-harness/src/report/schema.rs`). Every table's `runs.parquet` \
         and `runs.csv` have the same columns, so `results/*/runs.parquet` reads as one \
         dataset; nulls (empty CSV fields) stand where a value does not apply. Parquet \
         strings are plain UTF-8. Each Parquet file's key-value metadata holds \
         `hogwild.table`, `hogwild.config_sha256`, `hogwild.code_version`, \
         `hogwild.aggregation` (how the table's cells are made from these rows) and \
         `hogwild.schema` (this file). Wall times are not here but in `timings.csv` \
         (`run_id`, `seconds`, `train_seconds`), so that these files are byte-identical \
         across machines and thread counts.\n\n\
         A cell of `table.md` is not the mean of its rows: first each run's asynchronous \
         value is the mean over its orderings, then the cell is the mean ± std over runs \
         (seeds × folds), with the table's `std_ddof`.\n\n{}\n{}\n{}\n{}\n{}",
        markdown_table(
            "runs",
            "One row per evaluation: a run's synchronous evaluation, then each asynchronous ordering.",
            &run_columns()
        ),
        markdown_table(
            "curves",
            &format!(
                "One row per point. A curve keeps at most {} points: longer ones are subsampled at evenly spaced indices, the first and last kept, each point with its true step.",
                crate::curve::MAX_POINTS
            ),
            &curve_columns()
        ),
        super::faults::schema_section(),
        crate::distributed::schema_section(),
        super::amp::schema_section()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_column_is_documented_once() {
        for names in [
            run_columns().iter().map(|c| c.name).collect::<Vec<_>>(),
            curve_columns().iter().map(|c| c.name).collect(),
            super::super::faults::fault_columns()
                .iter()
                .map(|c| c.name)
                .collect(),
        ] {
            let mut sorted = names.clone();
            sorted.sort_unstable();
            sorted.dedup();
            assert_eq!(sorted.len(), names.len(), "repeated column in {names:?}");
        }
        let md = schema_markdown();
        for c in run_columns() {
            assert!(md.contains(&format!("| `{}` |", c.name)), "{}", c.name);
            assert!(!c.doc.is_empty());
        }
        for c in super::super::faults::fault_columns() {
            assert!(md.contains(&format!("| `{}` |", c.name)), "{}", c.name);
        }
    }

    #[test]
    fn every_dataset_setting_has_a_column() {
        let columns: Vec<&str> = run_columns().iter().map(|c| c.name).collect();
        let specs = [
            r#"{ kind = "chains", length = 3, classes = 2 }"#,
            r#"{ kind = "count", max_nodes = 4, graphs = 8 }"#,
            r#"{ kind = "sum", graphs = 2, nodes = 3, seed = 1 }"#,
            r#"{ kind = "lattice", nodes = 4, graphs = 2, seed = 1 }"#,
            r#"{ kind = "random", nodes = 4, graphs = 2, radius = 0.5, seed = 1 }"#,
            r#"{ kind = "tu", name = "MUTAG" }"#,
            r#"{ kind = "mnist-terrain", graphs = 2, nodes = 3, radius = 5.0, seed = 1 }"#,
        ];
        for text in specs {
            let spec: hogwild_datasets::DatasetSpec = toml::from_str(&format!("d = {text}"))
                .map(|t: toml::Table| t["d"].clone().try_into().unwrap())
                .unwrap();
            let value = toml::Value::try_from(&spec).unwrap();
            for key in value.as_table().unwrap().keys() {
                let column = match key.as_str() {
                    "kind" => "dataset_kind",
                    "seed" => "dataset_seed",
                    "name" => "dataset_name",
                    other => other,
                };
                assert!(columns.contains(&column), "{text}: no column for {key}");
            }
        }
    }
}
