//! Run records: one file per finished run, written atomically (temporary file + rename) as
//! soon as the run ends, so that an interrupted sweep resumes where it stopped and a finished
//! run is never computed twice.
//!
//! A record lives at `<out>/<table>/records/<id>.toml`. Its id is the SHA-256 of the run's
//! [`RunKey`]: everything its numbers depend on — the code version, the run's label (which
//! names its random streams), the dataset's identity, the model's resolved settings, the
//! resolved asynchrony model, the metric, the folds and the number of orderings. A change to
//! any of them gives a new id, so a stale record is never picked up. The file holds the key,
//! the raw results and the environment (RNG, threads, compiler, wall time); its last line is
//! the SHA-256 of everything above it, so a truncated or altered record is detected,
//! reported and recomputed, never used.
//!
//! Floats are written as TOML floats in Rust's shortest round-trip form, so a result read
//! back is bit-identical to the one computed (tested), and tables made from records are
//! byte-identical to tables made from fresh runs.

use crate::config::{Config, Metric, TableConfig};
use crate::curve::Curve;
use crate::sweep::{Evaluation, RunResult, RunSpec, RNG_ALGORITHM};
use anyhow::Context;
use hogwild_models::SolverStats;
use hogwild_sim::AsyncConfig;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Version of the record layout; part of every id. 2: curves (training losses, solver and
/// observer residuals) and whether the model is implicit.
pub const FORMAT: u32 = 2;

const CHECKSUM_PREFIX: &str = "# sha256 ";

/// `body` followed by its checksum line.
pub(crate) fn with_checksum(body: &str) -> String {
    format!("{body}{CHECKSUM_PREFIX}{}\n", sha256_hex(body.as_bytes()))
}

/// The body of a text written by [`with_checksum`], if its checksum holds.
pub(crate) fn checked_body(text: &str) -> Result<&str, String> {
    let at = text
        .rfind(CHECKSUM_PREFIX)
        .ok_or("has no checksum line (truncated?)")?;
    let (body, line) = text.split_at(at);
    let sum = line[CHECKSUM_PREFIX.len()..]
        .strip_suffix('\n')
        .ok_or("checksum line is cut short (truncated?)")?;
    if sha256_hex(body.as_bytes()) != sum {
        return Err("checksum does not match its contents (altered or truncated)".into());
    }
    Ok(body)
}

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The code the numbers come from: the commit the binary was built from. A binary built
/// from a modified tree adds the SHA-256 of its own executable, so records made by
/// uncommitted code are reused only by that very binary.
pub fn code_version() -> &'static str {
    static VERSION: OnceLock<String> = OnceLock::new();
    VERSION.get_or_init(|| {
        let commit = env!("HOGWILD_GIT_COMMIT");
        if env!("HOGWILD_GIT_DIRTY") != "true" {
            return commit.to_string();
        }
        let exe = std::env::current_exe()
            .and_then(std::fs::read)
            .map(|b| sha256_hex(&b))
            .unwrap_or_else(|_| "unreadable".into());
        format!("{commit}-dirty-{}", &exe[..exe.len().min(16)])
    })
}

/// Everything a run's numbers depend on; its SHA-256 is the run id.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunKey {
    /// [`FORMAT`].
    pub format: u32,
    /// [`code_version`].
    pub code: String,
    /// The run's label, the root of its random streams.
    pub label: String,
    /// The dataset's identity (its kind, settings and seed).
    pub dataset: String,
    /// Whether the model sees no node features in this column.
    pub featureless: bool,
    /// The metric.
    pub metric: Metric,
    /// k of k-fold cross-validation (absent: train and evaluate on every graph).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub folds: Option<usize>,
    /// At most this many graphs of the held-out fold evaluated (absent: all).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_graphs: Option<usize>,
    /// Asynchronous orderings of this model.
    pub orderings: usize,
    /// The asynchrony model, with the column's changes applied.
    #[serde(rename = "async")]
    pub async_: AsyncConfig,
    /// The model's settings, with the table's changes applied.
    pub model: toml::Value,
}

impl RunKey {
    /// The key of `spec`, a run of `table`, whose column's dataset has identity `dataset`.
    pub fn new(
        config: &Config,
        table: &TableConfig,
        spec: &RunSpec,
        dataset: &str,
    ) -> anyhow::Result<RunKey> {
        let column = &table.columns[spec.column];
        let models = toml::Value::try_from(config.models_for_column(&spec.table, spec.column))?;
        let model = models
            .get(&spec.model)
            .with_context(|| format!("no settings for model {:?}", spec.model))?
            .clone();
        Ok(RunKey {
            format: FORMAT,
            code: code_version().to_string(),
            label: spec.label(),
            dataset: dataset.to_string(),
            featureless: column.featureless.contains(&spec.model),
            metric: table.metric_of(spec.column),
            folds: table.folds,
            test_graphs: table.test_graphs,
            orderings: table.orderings_of(&spec.model),
            async_: column.async_.apply(&config.async_),
            model,
        })
    }

    /// The run id: SHA-256 (hex) of the key as TOML.
    pub fn id(&self) -> String {
        sha256_hex(
            toml::to_string(self)
                .expect("a run key serialises")
                .as_bytes(),
        )
    }
}

/// Where the run was computed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Environment {
    rng: String,
    threads: usize,
    rustc: String,
    seconds: f64,
    train_seconds: f64,
}

/// One record file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct RunRecord {
    format: u32,
    id: String,
    spec: RunSpec,
    final_loss: f64,
    stats: SolverStats,
    implicit: bool,
    environment: Environment,
    evaluations: Vec<Evaluation>,
    train_losses: Curve,
    sync_trace: Curve,
    key: toml::Value,
}

/// What [`RunStore::load`] found.
#[derive(Debug)]
pub enum Lookup {
    /// No record: the run has to be computed.
    Missing,
    /// A valid record of this run.
    Found(Box<RunResult>),
    /// A record that cannot be used (truncated, altered, or of another run), and why.
    Corrupt(String),
}

/// The run records of one output directory.
#[derive(Debug, Clone)]
pub struct RunStore {
    out: PathBuf,
}

impl RunStore {
    /// The records under `out` (`out/<table>/records/`).
    pub fn new(out: &Path) -> RunStore {
        RunStore {
            out: out.to_path_buf(),
        }
    }

    /// The file of run `id` of table `table`.
    pub fn path(&self, table: &str, id: &str) -> PathBuf {
        self.out
            .join(table)
            .join("records")
            .join(format!("{id}.toml"))
    }

    /// The record of run `spec` with id `id`, if there is a usable one.
    pub fn load(&self, spec: &RunSpec, id: &str) -> Lookup {
        let path = self.path(&spec.table, id);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Lookup::Missing,
            Err(e) => return Lookup::Corrupt(format!("cannot be read: {e}")),
        };
        match parse(&text, spec, id) {
            Ok(r) => Lookup::Found(Box::new(r)),
            Err(why) => Lookup::Corrupt(why),
        }
    }

    /// Writes the record of `result` (run `id`, key `key`) atomically
    /// ([`crate::outdir::write_atomic`]).
    pub fn save(
        &self,
        key: &RunKey,
        id: &str,
        result: &RunResult,
        threads: usize,
    ) -> anyhow::Result<PathBuf> {
        let record = RunRecord {
            format: FORMAT,
            id: id.to_string(),
            spec: result.spec.clone(),
            final_loss: result.final_loss,
            stats: result.stats,
            implicit: result.implicit,
            environment: Environment {
                rng: RNG_ALGORITHM.into(),
                threads,
                rustc: env!("HOGWILD_RUSTC_VERSION").into(),
                seconds: result.seconds,
                train_seconds: result.train_seconds,
            },
            evaluations: result.evaluations.clone(),
            train_losses: result.train_losses.clone(),
            sync_trace: result.sync_trace.clone(),
            key: toml::Value::try_from(key)?,
        };
        let body = toml::to_string(&record)?;
        let text = with_checksum(&body);
        let path = self.path(&result.spec.table, id);
        let dir = path.parent().expect("records live in a directory");
        std::fs::create_dir_all(dir)
            .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
        crate::outdir::write_atomic(&path, text.as_bytes())?;
        Ok(path)
    }
}

/// A record's text checked (checksum, id, run) and turned back into its result.
fn parse(text: &str, spec: &RunSpec, id: &str) -> Result<RunResult, String> {
    let body = checked_body(text)?;
    let record: RunRecord = toml::from_str(body).map_err(|e| format!("does not parse: {e}"))?;
    if record.format != FORMAT || record.id != id || &record.spec != spec {
        return Err(format!(
            "belongs to another run (format {}, id {}, run {})",
            record.format,
            record.id,
            record.spec.label()
        ));
    }
    Ok(RunResult {
        spec: record.spec,
        final_loss: record.final_loss,
        stats: record.stats,
        implicit: record.implicit,
        train_losses: record.train_losses,
        sync_trace: record.sync_trace,
        evaluations: record.evaluations,
        seconds: record.environment.seconds,
        train_seconds: record.environment.train_seconds,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sweep::Mode;

    fn result(values: [f64; 3]) -> RunResult {
        RunResult {
            spec: RunSpec {
                table: "t".into(),
                column: 1,
                model: "energy".into(),
                seed: 2,
                fold: Some(3),
            },
            final_loss: values[0],
            stats: SolverStats {
                forward_solves: 7,
                ..Default::default()
            },
            implicit: true,
            train_losses: Curve::indexed(&[values[0] * 2.0, values[0]]),
            sync_trace: Curve::indexed(&[1.0, 1e-3, 1e-9]),
            evaluations: vec![
                Evaluation {
                    mode: Mode::Sync,
                    ordering: None,
                    value: values[1],
                    converged: true,
                    rounds: 0,
                    residual: 0.0,
                    reads: 0,
                    stale_reads: 0,
                    trace: Curve::default(),
                    faults: None,
                },
                Evaluation {
                    mode: Mode::Async,
                    ordering: Some(0),
                    value: values[2],
                    converged: false,
                    rounds: 50_000,
                    residual: 4.9e-5,
                    reads: 900,
                    stale_reads: 400,
                    trace: Curve::of([(0, 1.0), (10, 0.5), (50_000, 4.9e-5)]),
                    faults: Some(crate::faults::FaultTotals {
                        lost_reads: 12,
                        corrupted_graphs: 2,
                        reconverged_graphs: 1,
                        rounds_to_reconverge: 30,
                        most_rounds_to_reconverge: Some(30),
                        ..Default::default()
                    }),
                },
            ],
            seconds: 1.25,
            train_seconds: 0.5,
        }
    }

    fn key() -> RunKey {
        RunKey {
            format: FORMAT,
            code: "abc".into(),
            label: "t/col1/energy/seed2/fold3".into(),
            dataset: "d".into(),
            featureless: false,
            metric: Metric::RelativeRmse,
            folds: Some(10),
            test_graphs: None,
            orderings: 1,
            async_: toml::from_str(
                "schedule = \"random-sweeps\"\nstaleness_bound = 20\ndelay = \"uniform\"\n\
                 tol = 1e-6\nmax_rounds = 50000\nresidual_every = 10",
            )
            .unwrap(),
            model: toml::Value::Integer(1),
        }
    }

    #[test]
    fn results_come_back_bit_for_bit() {
        let dir = tempfile::tempdir().unwrap();
        let store = RunStore::new(dir.path());
        for values in [
            [0.1 + 0.2, 1.0 / 3.0, 5e-324],
            [1e300, -0.0, 123456.789e-20],
            [f64::MAX, f64::MIN_POSITIVE, 2.0f64.sqrt()],
        ] {
            let r = result(values);
            let id = key().id();
            store.save(&key(), &id, &r, 2).unwrap();
            let Lookup::Found(back) = store.load(&r.spec, &id) else {
                panic!("record not found")
            };
            assert_eq!(*back, r);
            for (a, b) in back.evaluations.iter().zip(&r.evaluations) {
                assert_eq!(a.value.to_bits(), b.value.to_bits());
            }
        }
    }

    #[test]
    fn truncated_altered_and_foreign_records_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = RunStore::new(dir.path());
        let r = result([0.5, 50.0, 49.0]);
        let id = key().id();
        let path = store.save(&key(), &id, &r, 1).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let corrupt = |t: &str| {
            std::fs::write(&path, t).unwrap();
            match store.load(&r.spec, &id) {
                Lookup::Corrupt(why) => why,
                other => panic!("accepted: {other:?}"),
            }
        };
        assert!(corrupt(&text[..text.len() / 2]).contains("truncated"));
        assert!(corrupt(&text[..text.len() - 1]).contains("truncated"));
        assert!(corrupt(&text.replacen("50.0", "51.0", 1)).contains("altered"));
        std::fs::write(&path, &text).unwrap();
        let mut other = r.spec.clone();
        other.seed = 9;
        match store.load(&other, &id) {
            Lookup::Corrupt(why) => assert!(why.contains("another run"), "{why}"),
            x => panic!("{x:?}"),
        }
        assert!(matches!(store.load(&r.spec, "0000"), Lookup::Missing));
        // No temporary files are left behind.
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from(format!("{id}.toml"))]);
    }

    #[test]
    fn ids_change_with_anything_the_numbers_depend_on() {
        let base = key().id();
        assert_eq!(base.len(), 64);
        assert_eq!(base, key().id());
        let mut k = key();
        k.code = "abd".into();
        assert_ne!(k.id(), base);
        let mut k = key();
        k.async_.staleness_bound = 5;
        assert_ne!(k.id(), base);
        let mut k = key();
        k.model = toml::Value::Integer(2);
        assert_ne!(k.id(), base);
        let mut k = key();
        k.label = "t/col1/energy/seed2/fold4".into();
        assert_ne!(k.id(), base);
    }
}
