//! Every number the README quotes from `results/` is checked against `results/`, so a
//! regenerated table cannot leave a stale figure behind.
//!
//! A quoted number follows a marker naming its source (invisible in rendered Markdown):
//!
//! | marker | the quoted text |
//! |---|---|
//! | `<!-- results: cell TABLE ROW "COLUMN" -->` | `mean ± std` of a cell (`table.csv`); `mean` alone where the std is 0 |
//! | `<!-- results: gap TABLE[,TABLE] MODEL -->` | the largest \|async − sync\| (`table.md`) |
//! | `<!-- results: unconverged TABLE[,TABLE] MODEL -->` | asynchronous evaluations that did not converge (`runs.csv`) |
//! | `<!-- results: minutes TABLE -->` | the sweep's wall time in minutes (`record.toml`) |
//! | `<!-- results: runs TABLE[,TABLE] -->` | the number of runs (`record.toml`) |
//! | `<!-- results: commit TABLE -->` | the code version's first 7 characters (`record.toml`; `scaling`: `scaling.md`) |
//! | `<!-- results: scaling GRAPH NODES MODEL FIELD SCALE -->` | a field of `scaling.csv` divided by SCALE |
//!
//! A number written with d decimals must be its source rounded to d decimals. Every
//! `x ± y` in the README must carry a marker.

use polars::prelude::*;
use std::path::{Path, PathBuf};

const README: &str = include_str!("../../../README.md");
const MARKER: &str = "<!-- results: ";

fn results() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../results")
}

/// Whitespace-separated words, double quotes grouping.
fn words(text: &str) -> Vec<String> {
    let mut out = vec![];
    let mut rest = text.trim();
    while !rest.is_empty() {
        if let Some(quoted) = rest.strip_prefix('"') {
            let end = quoted.find('"').expect("a closing quote");
            out.push(quoted[..end].to_string());
            rest = quoted[end + 1..].trim_start();
        } else {
            let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            out.push(rest[..end].to_string());
            rest = rest[end..].trim_start();
        }
    }
    out
}

fn csv(path: &Path) -> DataFrame {
    CsvReadOptions::default()
        .with_has_header(true)
        .try_into_reader_with_file_path(Some(path.to_path_buf()))
        .unwrap()
        .finish()
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn text_column(df: &DataFrame, name: &str) -> Vec<String> {
    let c = df.column(name).unwrap().cast(&DataType::String).unwrap();
    let s = c.str().unwrap();
    (0..s.len())
        .map(|i| s.get(i).unwrap_or("").to_string())
        .collect()
}

fn number_column(df: &DataFrame, name: &str) -> Vec<f64> {
    let c = df.column(name).unwrap().cast(&DataType::Float64).unwrap();
    let s = c.f64().unwrap();
    (0..s.len()).map(|i| s.get(i).unwrap_or(f64::NAN)).collect()
}

fn record(table: &str) -> toml::Table {
    let path = results().join(table).join("record.toml");
    toml::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn display_name(model: &str) -> &str {
    hogwild_harness::report::display_name(model)
}

/// The source values a marker names (one, or two for a cell), or its text (a commit).
enum Source {
    Numbers(Vec<f64>),
    Text(String),
}

fn source(args: &[String]) -> Source {
    let tables = |i: usize| args[i].split(',').map(str::to_string).collect::<Vec<_>>();
    match args[0].as_str() {
        "cell" => {
            let df = csv(&results().join(&args[1]).join("table.csv"));
            let (rows, cols) = (text_column(&df, "row"), text_column(&df, "column_label"));
            let (mean, std) = (number_column(&df, "mean"), number_column(&df, "std"));
            let i = (0..rows.len())
                .find(|&i| rows[i] == args[2] && cols[i] == args[3])
                .unwrap_or_else(|| panic!("no cell {args:?}"));
            Source::Numbers(vec![mean[i], std[i]])
        }
        "gap" => {
            let name = display_name(&args[2]);
            let largest = tables(1)
                .iter()
                .map(|t| {
                    let md = std::fs::read_to_string(results().join(t).join("table.md")).unwrap();
                    let section = &md[md.find("#### Synchronous vs asynchronous").unwrap()..];
                    let line = section
                        .lines()
                        .find(|l| l.starts_with(&format!("| {name} |")))
                        .unwrap_or_else(|| panic!("no gap of {name} in {t}"));
                    line.split('|')
                        .nth(2)
                        .unwrap()
                        .trim()
                        .parse::<f64>()
                        .unwrap()
                })
                .fold(0.0, f64::max);
            Source::Numbers(vec![largest])
        }
        "unconverged" => {
            let n: usize = tables(1)
                .iter()
                .map(|t| {
                    let df = csv(&results().join(t).join("runs.csv"));
                    let (model, mode) = (text_column(&df, "model"), text_column(&df, "mode"));
                    let converged = text_column(&df, "converged");
                    (0..model.len())
                        .filter(|&i| model[i] == args[2] && mode[i] == "async")
                        .filter(|&i| converged[i] == "false")
                        .count()
                })
                .sum();
            Source::Numbers(vec![n as f64])
        }
        "minutes" => {
            let wall = record(&args[1])["wall_seconds"].as_float().unwrap();
            Source::Numbers(vec![wall / 60.0])
        }
        "runs" => {
            let n: usize = tables(1)
                .iter()
                .map(|t| record(t)["run_seconds_by_label"].as_table().unwrap().len())
                .sum();
            Source::Numbers(vec![n as f64])
        }
        "commit" if args[1] == "scaling" => {
            let md = std::fs::read_to_string(results().join("scaling/scaling.md")).unwrap();
            let at = md
                .find("at code version ")
                .expect("the report names its code")
                + 16;
            Source::Text(md[at..at + 7].to_string())
        }
        "commit" => {
            let version = record(&args[1])["code_version"]
                .as_str()
                .unwrap()
                .to_string();
            Source::Text(version[..7].to_string())
        }
        "scaling" => {
            let df = csv(&results().join("scaling/scaling.csv"));
            let (graph, model) = (text_column(&df, "graph"), text_column(&df, "model"));
            let (nodes, field) = (number_column(&df, "nodes"), number_column(&df, &args[4]));
            let want_nodes: f64 = args[2].parse().unwrap();
            let i = (0..graph.len())
                .find(|&i| graph[i] == args[1] && nodes[i] == want_nodes && model[i] == args[3])
                .unwrap_or_else(|| panic!("no scaling row {args:?}"));
            Source::Numbers(vec![field[i] / args[5].parse::<f64>().unwrap()])
        }
        other => panic!("unknown marker kind {other:?}"),
    }
}

/// The numbers at the start of `text`: `x`, or `x ± y`, each with its decimals.
fn quoted_numbers(text: &str) -> Vec<(f64, usize)> {
    let number = |t: &str| -> Option<(f64, usize, usize)> {
        let end = t
            .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-'))
            .unwrap_or(t.len());
        let word = t[..end].trim_end_matches('.');
        let decimals = word.split_once('.').map_or(0, |(_, d)| d.len());
        word.parse().ok().map(|v| (v, decimals, word.len()))
    };
    let (first, d, len) = number(text).unwrap_or_else(|| panic!("no number at {text:.40?}"));
    let mut out = vec![(first, d)];
    if let Some(rest) = text[len..].strip_prefix(" ± ") {
        let (second, d, _) = number(rest).expect("a number after ±");
        out.push((second, d));
    }
    out
}

#[test]
fn every_number_the_readme_quotes_from_results_is_what_results_holds() {
    let mut checked = 0;
    for (at, _) in README.match_indices(MARKER) {
        let body = &README[at + MARKER.len()..];
        let end = body.find("-->").expect("a closed marker");
        let args = words(&body[..end]);
        let quoted = &body[end + 3..];
        match source(&args) {
            Source::Text(want) => {
                assert!(
                    quoted.starts_with(&want),
                    "{args:?}: README has {quoted:.20?}, results {want}"
                );
            }
            Source::Numbers(mut want) => {
                let got = quoted_numbers(quoted);
                // A cell whose std is 0 (a count) may be quoted by its mean alone.
                if args[0] == "cell" && got.len() == 1 && want[1] == 0.0 {
                    want.truncate(1);
                }
                assert_eq!(got.len(), want.len(), "{args:?}: {quoted:.30?}");
                for ((value, decimals), source) in got.iter().zip(&want) {
                    let scale = 10f64.powi(*decimals as i32);
                    assert_eq!(
                        (source * scale).round(),
                        (value * scale).round(),
                        "{args:?}: the README says {value}, results/ hold {source}"
                    );
                }
            }
        }
        checked += 1;
    }
    assert!(checked >= 8, "only {checked} markers");
}

#[test]
fn every_mean_and_std_in_the_readme_names_its_source() {
    for (at, _) in README.match_indices(" ± ") {
        let before = &README[..at];
        let start = before
            .rfind(|c: char| !(c.is_ascii_digit() || c == '.'))
            .map_or(0, |i| i + 1);
        if start == at {
            continue; // prose such as "within its ± range"
        }
        assert!(
            before[..start].ends_with("-->"),
            "an unmarked cell in README.md: {:?}",
            &README[start.saturating_sub(30)..at + 10]
        );
    }
}

#[test]
fn markers_are_read_as_written() {
    assert_eq!(
        words(r#"cell chains energy-async "l = 100" "#),
        ["cell", "chains", "energy-async", "l = 100"]
    );
    assert_eq!(quoted_numbers("87.3 ± 17.9 at"), [(87.3, 1), (17.9, 1)]);
    assert_eq!(quoted_numbers("792 runs"), [(792.0, 0)]);
    assert_eq!(quoted_numbers("9.6. Next"), [(9.6, 1)]);
}
