//! The committed `results/`: every table has its files, its Parquet files have the
//! documented schema (read with arrow-rs's `parquet` reader), every table's runs have the
//! same columns, and what is derived from other committed files (`schema.md`, the scaling
//! figure) is what the code makes of them.

use hogwild_harness::report::schema::{curve_columns, run_columns, schema_markdown, Kind};
use hogwild_harness::report::DETERMINISTIC_FILES;
use parquet::basic::{LogicalType, Type as Physical};
use parquet::file::reader::{FileReader, SerializedFileReader};
use std::path::{Path, PathBuf};

fn results() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../results")
}

/// Every table directory under `results/` (those with a `table.md`) but the distributed
/// experiments' and AMP's tables'.
fn tables() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(results())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("table.md").is_file() && !is_distributed(p) && amp_kind(p).is_none())
        .collect();
    v.sort();
    v
}

/// Whether `dir` holds a distributed experiment's results (its record says so).
fn is_distributed(dir: &Path) -> bool {
    std::fs::read_to_string(dir.join("record.toml"))
        .is_ok_and(|r| r.contains("experiment = \"distributed-"))
}

/// The experiment of an AMP table's results in `dir` (`amp-expressiveness`, …), if any.
fn amp_kind(dir: &Path) -> Option<String> {
    let record: toml::Table =
        toml::from_str(&std::fs::read_to_string(dir.join("record.toml")).ok()?).ok()?;
    let kind = record.get("experiment")?.as_str()?;
    kind.starts_with("amp-").then(|| kind.to_string())
}

#[test]
fn every_committed_amp_table_has_its_files_and_config() {
    let config = hogwild_harness::config::Config::load(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../harness.toml"),
        hogwild_harness::config::DEFAULT_PROFILE,
    )
    .unwrap();
    for (name, table) in &config.amp {
        let dir = results().join(name);
        if !dir.exists() {
            continue;
        }
        assert_eq!(
            amp_kind(&dir).as_deref(),
            Some(table.experiment().kind()),
            "results/{name}: no AMP record of its kind"
        );
        for file in ["table.md", "table.csv", "runs.csv", "curves.csv"] {
            assert!(dir.join(file).is_file(), "results/{name}/{file}");
        }
        let record: toml::Table =
            toml::from_str(&std::fs::read_to_string(dir.join("record.toml")).unwrap()).unwrap();
        assert_eq!(
            record["config_sha256"].as_str().unwrap(),
            hogwild_harness::experiment::config_hash(table),
            "results/{name} was made from other settings than harness.toml's: regenerate it"
        );
    }
}

#[test]
fn every_distributed_experiment_has_its_files_and_config() {
    let config = hogwild_harness::config::Config::load(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../harness.toml"),
        hogwild_harness::config::DEFAULT_PROFILE,
    )
    .unwrap();
    for (name, table) in &config.distributed {
        let dir = results().join(name);
        assert!(
            is_distributed(&dir),
            "results/{name}: no distributed record"
        );
        let files: &[&str] = if table.power.is_some() {
            &[
                "table.md",
                "table.csv",
                "curves.csv",
                "curves.svg",
                "wmmse.csv",
            ]
        } else if table.ledger.is_some() {
            &["table.md", "table.csv", "ledger.csv"]
        } else {
            &["table.md", "table.csv", "curves.csv", "curves.svg"]
        };
        for file in files {
            assert!(dir.join(file).is_file(), "results/{name}/{file}");
        }
        let record: toml::Table =
            toml::from_str(&std::fs::read_to_string(dir.join("record.toml")).unwrap()).unwrap();
        assert_eq!(
            record["config_sha256"].as_str().unwrap(),
            hogwild_harness::distributed::config_hash(table),
            "results/{name} was made from other settings than harness.toml's: regenerate it"
        );
    }
}

/// The columns of a Parquet file: name, physical type, logical type.
fn columns(path: &Path) -> Vec<(String, Physical, Option<LogicalType>)> {
    let reader = SerializedFileReader::new(std::fs::File::open(path).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let meta = reader.metadata().file_metadata();
    let kv = meta.key_value_metadata().expect("metadata");
    for key in [
        "hogwild.table",
        "hogwild.config_sha256",
        "hogwild.code_version",
        "hogwild.aggregation",
        "hogwild.schema",
    ] {
        assert!(
            kv.iter().any(|k| k.key == key),
            "{}: no {key}",
            path.display()
        );
    }
    let schema = meta.schema_descr();
    (0..schema.num_columns())
        .map(|i| {
            let c = schema.column(i);
            (
                c.name().to_string(),
                c.physical_type(),
                c.logical_type_ref().cloned(),
            )
        })
        .collect()
}

/// Whether a Parquet column stores a value of `kind` as readers expect it.
fn fits(kind: Kind, physical: Physical, logical: &Option<LogicalType>) -> bool {
    match kind {
        Kind::Text => physical == Physical::BYTE_ARRAY && logical == &Some(LogicalType::String),
        Kind::UInt => {
            physical == Physical::INT64
                && matches!(logical, Some(LogicalType::Integer(t)) if t.bit_width == 64 && !t.is_signed)
        }
        Kind::Float => physical == Physical::DOUBLE,
        Kind::Bool => physical == Physical::BOOLEAN,
    }
}

#[test]
fn every_table_has_its_files_and_the_documented_schema() {
    let tables = tables();
    assert!(tables.len() >= 4, "{tables:?}");
    let runs = run_columns();
    let curves = curve_columns();
    for dir in &tables {
        for f in DETERMINISTIC_FILES
            .iter()
            .chain(&["record.toml", "timings.csv"])
        {
            assert!(dir.join(f).is_file(), "{}/{f}", dir.display());
        }
        for (file, specs) in [
            (
                "runs.parquet",
                runs.iter().map(|c| (c.name, c.kind)).collect::<Vec<_>>(),
            ),
            (
                "curves.parquet",
                curves.iter().map(|c| (c.name, c.kind)).collect(),
            ),
        ] {
            let found = columns(&dir.join(file));
            let names: Vec<&str> = found.iter().map(|c| c.0.as_str()).collect();
            let want: Vec<&str> = specs.iter().map(|c| c.0).collect();
            assert_eq!(names, want, "{}/{file}", dir.display());
            for ((name, physical, logical), (_, kind)) in found.iter().zip(&specs) {
                assert!(
                    fits(*kind, *physical, logical),
                    "{}/{file}: {name} is {physical:?} {logical:?}, not {kind:?}",
                    dir.display()
                );
            }
        }
        let csv = std::fs::read_to_string(dir.join("runs.csv")).unwrap();
        let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
        let want: Vec<&str> = runs.iter().map(|c| c.name).collect();
        assert_eq!(header, want, "{}/runs.csv", dir.display());
    }
}

#[test]
fn documents_derived_from_committed_files_are_up_to_date() {
    assert_eq!(
        std::fs::read_to_string(results().join("schema.md")).unwrap(),
        schema_markdown(),
        "results/schema.md is stale: `hogwild reproduce` rewrites it"
    );
    let scaling = results().join("scaling");
    let points = hogwild_harness::scaling::read_csv(&scaling.join("scaling.csv")).unwrap();
    assert_eq!(
        std::fs::read_to_string(scaling.join("scaling.svg")).unwrap(),
        hogwild_harness::scaling::figure(&points).unwrap(),
        "results/scaling/scaling.svg is stale: `hogwild scaling --figure-only` redraws it"
    );
    let config = hogwild_harness::config::Config::load(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../harness.toml"),
        hogwild_harness::config::DEFAULT_PROFILE,
    )
    .unwrap();
    assert_eq!(
        std::fs::read_to_string(results().join("claims.md")).unwrap(),
        hogwild_harness::report::claims::claims_markdown(&config, &results()).unwrap(),
        "results/claims.md is stale: `hogwild reproduce` rewrites it (`hogwild claims` prints it)"
    );
}

#[test]
fn every_committed_table_was_made_from_the_committed_config() {
    let config = hogwild_harness::config::Config::load(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../harness.toml"),
        hogwild_harness::config::DEFAULT_PROFILE,
    )
    .unwrap();
    for dir in tables() {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let record: toml::Table =
            toml::from_str(&std::fs::read_to_string(dir.join("record.toml")).unwrap()).unwrap();
        let table = config
            .tables
            .get(&name)
            .unwrap_or_else(|| panic!("results/{name} has no table in harness.toml"));
        assert_eq!(
            record["config_sha256"].as_str().unwrap(),
            hogwild_harness::config_hash(&config, &name, table),
            "results/{name} was made from other settings than harness.toml's: regenerate it"
        );
    }
}
