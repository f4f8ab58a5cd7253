//! The scaling report (`hogwild scaling`): how the cost of one synchronous solver iteration
//! and of one asynchronous sweep grows with the number of nodes, for every model on chains
//! and on random geometric graphs, and how long each table's reproduction took.
//!
//! Timings are measurements of this machine, not deterministic outputs: the report records
//! what ran (code version, threads) beside them. Models are untrained (seeded initial
//! parameters) with `[models]` of the config, except that the energy GNN solves its linear
//! systems by conjugate gradients: the assembled Hessian's envelope grows faster than
//! linearly on 2-D graphs ([`hogwild_models::energy::hessian`]).

use crate::config::Config;
use crate::experiment::pool;
use crate::records::code_version;
use anyhow::Context;
use hogwild_graph::Batch;
use hogwild_models::Execution;
use hogwild_sim::{initial_states, simulate, workload, Unobserved};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

/// One measured (graph, size, model) point.
#[derive(Debug, Clone)]
pub struct Point {
    /// `chain` or `geometric` (mean degree 6).
    pub graph: &'static str,
    /// Number of nodes.
    pub nodes: usize,
    /// Model label (`energy-h16`: the energy GNN with hidden size 16).
    pub model: String,
    /// Building the node-local rule (the energy GNN solves for its step size here).
    pub setup_seconds: f64,
    /// One synchronous application of an implicit model's map over the whole graph (the
    /// observer's residual evaluation: the fixed-point map, or the energy's gradient); none
    /// for explicit models, whose sweeps are their layers. On one thread.
    pub iteration_seconds: Option<f64>,
    /// The same iteration on `parallel_threads` threads (rows split across them:
    /// [`hogwild_graph::par`]).
    pub parallel_iteration_seconds: Option<f64>,
    /// Threads of [`Point::parallel_iteration_seconds`].
    pub parallel_threads: usize,
    /// One asynchronous round (every node updated once).
    pub sweep_seconds: f64,
}

impl Point {
    /// Node updates per second in the asynchronous simulator.
    pub fn updates_per_second(&self) -> f64 {
        self.nodes as f64 / self.sweep_seconds
    }
}

/// Each sweep or iteration measurement is the fastest of this many identical ones.
const REPEATS: usize = 3;

/// An iteration's time is taken over batches of calls lasting at least this many seconds.
const ITERATION_BATCH_SECONDS: f64 = 0.1;

/// Node counts from 10² to `max_nodes` by decades.
pub fn sizes(max_nodes: usize) -> Vec<usize> {
    std::iter::successors(Some(100usize), |n| n.checked_mul(10))
        .take_while(|&n| n <= max_nodes)
        .collect()
}

/// Seconds per call of `f`: after one untimed call (which pays the first touch of its
/// memory), the fastest of [`REPEATS`] batches, each of calls repeated until at least
/// `min_seconds` have passed (at least one call). The machine's noise only ever adds time.
fn time_per_call(min_seconds: f64, mut f: impl FnMut()) -> f64 {
    f();
    (0..REPEATS)
        .map(|_| {
            let start = Instant::now();
            let mut calls = 0u32;
            while calls == 0 || start.elapsed().as_secs_f64() < min_seconds {
                f();
                calls += 1;
            }
            start.elapsed().as_secs_f64() / f64::from(calls)
        })
        .fold(f64::INFINITY, f64::min)
}

/// Measures every model on chains and geometric graphs of [`sizes`]`(max_nodes)`, calling
/// `progress` after each point: everything on one thread, and each implicit model's
/// iteration also on `threads` threads.
pub fn measure(
    config: &Config,
    max_nodes: usize,
    threads: usize,
    mut progress: impl FnMut(&Point) + Send,
) -> anyhow::Result<Vec<Point>> {
    let (one, many) = (pool(1)?, pool(threads)?);
    one.install(|| measure_on_one_thread(config, max_nodes, &many, &mut progress))
}

/// [`measure`] on the current (one-thread) pool, with `many` for the parallel iterations.
fn measure_on_one_thread(
    config: &Config,
    max_nodes: usize,
    many: &rayon::ThreadPool,
    progress: &mut impl FnMut(&Point),
) -> anyhow::Result<Vec<Point>> {
    let mut points = vec![];
    for n in sizes(max_nodes) {
        for graph in workload::GRAPHS {
            let sample = workload::sample(graph, n);
            let batch = Batch::single(&sample);
            for variant in workload::variants(graph, &config.models)? {
                let label = variant.label.clone();
                let model = variant
                    .build(&sample)
                    .with_context(|| format!("building {label}"))?;
                let start = Instant::now();
                let rule = model
                    .local_rule(&batch, config.async_.staleness(n as u64))
                    .with_context(|| format!("local rule of {label} on a {graph} of {n} nodes"))?;
                let setup_seconds = start.elapsed().as_secs_f64();
                let states = initial_states(rule.as_ref());
                let implicit = rule.execution() == Execution::Implicit;
                let iteration = || {
                    time_per_call(ITERATION_BATCH_SECONDS, || {
                        std::hint::black_box(rule.residual(&states));
                    })
                };
                let iteration_seconds = implicit.then(iteration);
                let parallel_iteration_seconds = implicit.then(|| many.install(iteration));
                // An implicit model's sweep is the difference between runs of 2R and R rounds
                // (about 10⁶ node updates per R) with the observer switched off: what every
                // run does once (initial states, the readout) cancels. An explicit model runs
                // its layers: a sweep is one of them.
                let rounds = workload::rounds(n);
                let rule = Unobserved(rule.as_ref());
                let run = |rounds: usize| -> anyhow::Result<(f64, usize)> {
                    let async_cfg = workload::sweep_config(&config.async_, rounds);
                    // The fastest of `REPEATS` identical simulations: the machine's noise only
                    // ever adds time.
                    let (mut elapsed, mut ran) = (f64::INFINITY, 0);
                    for _ in 0..REPEATS {
                        let start = Instant::now();
                        let o = simulate(&rule, &async_cfg, &mut ChaCha8Rng::seed_from_u64(0))?;
                        elapsed = elapsed.min(start.elapsed().as_secs_f64());
                        ran = o.rounds;
                        anyhow::ensure!(
                            !implicit || ran == rounds,
                            "{label}: {ran} of {rounds} rounds ran"
                        );
                    }
                    Ok((elapsed, ran))
                };
                let sweep_seconds = if implicit {
                    let (once, twice) = (run(rounds)?.0, run(2 * rounds)?.0);
                    let difference = (twice - once) / rounds as f64;
                    if difference > 0.0 {
                        difference
                    } else {
                        // Noise on a loaded machine can leave the longer run no slower:
                        // then the longer run's time per round, once-per-run costs included.
                        twice / (2 * rounds) as f64
                    }
                } else {
                    let (elapsed, layers) = run(rounds)?;
                    elapsed / layers as f64
                };
                let point = Point {
                    graph,
                    nodes: n,
                    model: label,
                    setup_seconds,
                    iteration_seconds,
                    parallel_iteration_seconds,
                    parallel_threads: many.current_num_threads(),
                    sweep_seconds: sweep_seconds.max(f64::MIN_POSITIVE),
                };
                progress(&point);
                points.push(point);
            }
        }
    }
    Ok(points)
}

/// `scaling.csv`: one row per point.
pub fn csv(points: &[Point]) -> String {
    let mut out = String::from(
        "graph,nodes,model,setup_seconds,iteration_seconds,parallel_threads,\
         parallel_iteration_seconds,sweep_seconds,updates_per_second\n",
    );
    let optional = |t: Option<f64>| t.map_or(String::new(), |t| format!("{t:.6e}"));
    for p in points {
        let _ = writeln!(
            out,
            "{},{},{},{:.6e},{},{},{},{:.6e},{:.6e}",
            p.graph,
            p.nodes,
            p.model,
            p.setup_seconds,
            optional(p.iteration_seconds),
            p.parallel_threads,
            optional(p.parallel_iteration_seconds),
            p.sweep_seconds,
            p.updates_per_second()
        );
    }
    out
}

/// The points of a `scaling.csv` (as [`csv`] writes them, or without the parallel
/// iteration's two columns, as reports made before them were).
pub fn read_csv(path: &Path) -> anyhow::Result<Vec<Point>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
    let mut points = vec![];
    for (i, line) in text.lines().enumerate().skip(1) {
        let bad = || {
            anyhow::anyhow!(
                "{}, line {}: not a scaling point: {line:?}",
                path.display(),
                i + 1
            )
        };
        let f: Vec<&str> = line.split(',').collect();
        let f: Vec<&str> = match f.len() {
            9 => f,
            7 => [&f[..5], &["1", ""], &f[5..]].concat(),
            _ => return Err(bad()),
        };
        let graph = *workload::GRAPHS
            .iter()
            .find(|g| **g == f[0])
            .ok_or_else(bad)?;
        let num = |s: &str| s.parse::<f64>().map_err(|_| bad());
        let optional = |s: &str| (!s.is_empty()).then(|| num(s)).transpose();
        points.push(Point {
            graph,
            nodes: f[1].parse().map_err(|_| bad())?,
            model: f[2].to_string(),
            setup_seconds: num(f[3])?,
            iteration_seconds: optional(f[4])?,
            parallel_threads: f[5].parse().map_err(|_| bad())?,
            parallel_iteration_seconds: optional(f[6])?,
            sweep_seconds: num(f[7])?,
        });
    }
    Ok(points)
}

/// `scaling.svg`: sweep and iteration time against the number of nodes, log-log, one line
/// per model and graph (filled markers: chains; hollow: geometric graphs).
pub fn figure(points: &[Point]) -> anyhow::Result<String> {
    use crate::report::figures::{chart, decades, extent, svg, Labels, Series};
    use plotters::prelude::*;
    let mut models: Vec<&str> = vec![];
    for p in points {
        if !models.contains(&p.model.as_str()) {
            models.push(&p.model);
        }
    }
    let panels: Vec<Vec<Series>> = [false, true]
        .iter()
        .map(|&iteration| {
            let mut series = vec![];
            for graph in workload::GRAPHS {
                for (i, m) in models.iter().enumerate() {
                    let pts: Vec<(f64, f64)> = points
                        .iter()
                        .filter(|p| p.graph == graph && p.model == *m)
                        .filter_map(|p| {
                            let t = if iteration {
                                p.iteration_seconds?
                            } else {
                                p.sweep_seconds
                            };
                            Some((p.nodes as f64, t))
                        })
                        .collect();
                    if !pts.is_empty() {
                        series.push(Series {
                            label: format!("{m}, {graph}"),
                            colour: i,
                            points: pts,
                            line: true,
                            filled: graph == "chain",
                        });
                    }
                }
            }
            series
        })
        .collect();
    let titles = [
        "one asynchronous sweep (every node updated once)",
        "one synchronous iteration (implicit models)",
    ];
    let log_label = |x: &f64| format!("{x:.0e}");
    svg(2, &|p, area| {
        let xs = extent(panels[p].iter().flat_map(|s| s.points.iter().map(|q| q.0)));
        let ys = extent(panels[p].iter().flat_map(|s| s.points.iter().map(|q| q.1)));
        chart(
            area,
            &Labels {
                title: titles[p],
                x: "nodes",
                y: "seconds",
                legend_left: true,
            },
            decades(xs).log_scale(),
            decades(ys).log_scale(),
            &log_label,
            &panels[p],
            &|_| Ok(()),
        )
    })
}

/// Rewrites `<results>/scaling/scaling.svg` from the committed `scaling.csv`, measuring
/// nothing.
pub fn write_figure(results: &Path) -> anyhow::Result<()> {
    let out = crate::outdir::OutputDir::open(results, &["scaling"])?;
    let dir = out.root().join("scaling");
    let points = read_csv(&dir.join("scaling.csv"))?;
    crate::outdir::write_atomic(&dir.join("scaling.svg"), figure(&points)?.as_bytes())
}

/// One table's reproduction time, from its `record.toml`.
#[derive(Debug, Clone, PartialEq)]
pub struct TableTime {
    /// Table name.
    pub table: String,
    /// Its runs' times, summed (one core each).
    pub run_seconds: f64,
    /// Wall time of the sweep that wrote it (a sweep may write several tables).
    pub sweep_wall_seconds: f64,
    /// Parallel runs of that sweep.
    pub threads: i64,
    /// The code that ran.
    pub code_version: String,
    /// Whether the config marks the table optional (not part of a plain `reproduce`).
    pub optional: bool,
}

/// Per-table reproduction times from `<results>/<table>/record.toml`, in table order.
pub fn table_times(results: &Path) -> anyhow::Result<Vec<TableTime>> {
    let mut times = vec![];
    let Ok(entries) = std::fs::read_dir(results) else {
        return Ok(times);
    };
    let mut dirs: Vec<_> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
    dirs.sort();
    for dir in dirs {
        let path = dir.join("record.toml");
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let record: toml::Table =
            toml::from_str(&text).with_context(|| format!("reading {}", path.display()))?;
        let float = |key: &str| record.get(key).and_then(|v| v.as_float());
        let (Some(table), Some(wall), Some(runs)) = (
            record.get("table").and_then(|v| v.as_str()),
            float("wall_seconds"),
            float("run_seconds"),
        ) else {
            continue;
        };
        times.push(TableTime {
            table: table.to_string(),
            run_seconds: runs,
            sweep_wall_seconds: wall,
            threads: record
                .get("threads")
                .and_then(|v| v.as_integer())
                .unwrap_or(0),
            code_version: record
                .get("code_version")
                .and_then(|v| v.as_str())
                .unwrap_or("?")
                .to_string(),
            optional: false,
        });
    }
    Ok(times)
}

/// `scaling.md`: per graph and model, the times against the node count with the growth
/// factor per decade (10 is linear), then the tables' reproduction times.
pub fn markdown(points: &[Point], tables: &[TableTime]) -> String {
    let mut out = String::from("# Scaling report\n\n");
    let _ = writeln!(
        out,
        "Made by `hogwild scaling` at code version {}; each measurement runs on one thread, \
         and each iteration also on {} threads (*parallel*; its rows split across them, the \
         same bits: *speed-up* is the one-thread time over it). Untrained models, \
         `[models]` settings of the config (the energy GNN with conjugate gradients), \
         `[async]` settings. An implicit model's sweep is the time difference between \
         simulations of 2R and R rounds (R n ≈ 10⁶ node updates) with the observer's \
         residual checks switched off, each the fastest of {REPEATS} (if noise leaves the \
         longer one no slower, its time per round); an explicit model's is one of its \
         layers. An implicit model's iteration is one evaluation of its residual on the \
         whole graph (the energy's gradient, or the fixed-point map and its distance to the \
         states): after one untimed call, the fastest of {REPEATS} batches of calls of at \
         least {ITERATION_BATCH_SECONDS} s. *×10* is the time ratio to the previous decade: \
         10 means linear growth; a larger ratio where the working set outgrows the processor's \
         caches is the memory hierarchy, and the ratios after it show whether growth is linear \
         again. Times are of this machine and vary between runs.\n",
        code_version(),
        points.first().map_or(0, |p| p.parallel_threads)
    );
    let mut keys: Vec<(&str, &str)> = points.iter().map(|p| (p.graph, p.model.as_str())).collect();
    keys.sort();
    keys.dedup();
    for (graph, model) in keys {
        let _ = writeln!(out, "## {model} on {graph} graphs\n");
        out.push_str(
            "| nodes | setup (s) | iteration (s) | ×10 | parallel (s) | speed-up | sweep (s) \
             | ×10 | updates/s |\n",
        );
        out.push_str("|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        let mut prev: Option<&Point> = None;
        for p in points
            .iter()
            .filter(|p| p.graph == graph && p.model == model)
        {
            let ratio = |f: fn(&Point) -> Option<f64>| match (prev.and_then(f), f(p)) {
                (Some(before), Some(now)) => format!("{:.1}", now / before),
                _ => String::new(),
            };
            let seconds = |t: Option<f64>| t.map_or("–".into(), |t| format!("{t:.3e}"));
            let speed_up = match (p.iteration_seconds, p.parallel_iteration_seconds) {
                (Some(one), Some(many)) => format!("{:.2}", one / many),
                _ => String::new(),
            };
            let _ = writeln!(
                out,
                "| {} | {:.3e} | {} | {} | {} | {speed_up} | {:.3e} | {} | {:.3e} |",
                p.nodes,
                p.setup_seconds,
                seconds(p.iteration_seconds),
                ratio(|p| p.iteration_seconds),
                seconds(p.parallel_iteration_seconds),
                p.sweep_seconds,
                ratio(|p| Some(p.sweep_seconds)),
                p.updates_per_second()
            );
            prev = Some(p);
        }
        out.push('\n');
    }
    out.push_str("## Reproduction time per table\n\n");
    if tables.is_empty() {
        out.push_str("No `record.toml` found.\n");
    } else {
        out.push_str(
            "| table | its runs (s, summed) | wall time of its sweep (s) | threads | code version |\n\
             |---|---:|---:|---:|---|\n",
        );
        for t in tables {
            let _ = writeln!(
                out,
                "| {}{} | {:.0} | {:.0} | {} | {} |",
                t.table,
                if t.optional { " (optional)" } else { "" },
                t.run_seconds,
                t.sweep_wall_seconds,
                t.threads,
                t.code_version
            );
        }
        // The default reproduction: every table but the optional ones. Tables written by
        // one sweep share its wall time: count each sweep once.
        let default: Vec<&TableTime> = tables.iter().filter(|t| !t.optional).collect();
        let mut sweeps: Vec<(String, u64)> = default
            .iter()
            .map(|t| (t.code_version.clone(), t.sweep_wall_seconds.to_bits()))
            .collect();
        sweeps.sort();
        sweeps.dedup();
        let runs: f64 = default.iter().map(|t| t.run_seconds).sum();
        let wall: f64 = sweeps.iter().map(|s| f64::from_bits(s.1)).sum();
        let _ = writeln!(
            out,
            "| all but optional tables (`hogwild reproduce`) | {runs:.0} | {wall:.0} | | |"
        );
    }
    out
}

/// Measures and writes `<results>/scaling/scaling.csv` and `scaling.md`.
pub fn write_report(
    config: &Config,
    results: &Path,
    max_nodes: usize,
    threads: usize,
) -> anyhow::Result<String> {
    if sizes(max_nodes).is_empty() {
        anyhow::bail!("--max-nodes = {max_nodes}: the report starts at 100 nodes");
    }
    // The output directory is checked (and locked) before the measurements, not after.
    let out = crate::outdir::OutputDir::open(results, &["scaling"])?;
    let points = measure(config, max_nodes, threads, |p| {
        let iteration = match (p.iteration_seconds, p.parallel_iteration_seconds) {
            (Some(one), Some(many)) => format!(
                "; iteration {one:.3e} s, {many:.3e} s on {} threads",
                p.parallel_threads
            ),
            _ => String::new(),
        };
        eprintln!(
            "[hogwild] scaling {} n = {} {}: sweep {:.3e} s ({:.2e} updates/s){iteration}",
            p.graph,
            p.nodes,
            p.model,
            p.sweep_seconds,
            p.updates_per_second()
        );
    })?;
    let mut tables = table_times(results)?;
    for t in &mut tables {
        t.optional = config.tables.get(&t.table).is_some_and(|c| c.optional);
    }
    let dir = out.root().join("scaling");
    let md = markdown(&points, &tables);
    crate::outdir::write_atomic(&dir.join("scaling.csv"), csv(&points).as_bytes())?;
    crate::outdir::write_atomic(&dir.join("scaling.md"), md.as_bytes())?;
    crate::outdir::write_atomic(&dir.join("scaling.svg"), figure(&points)?.as_bytes())?;
    Ok(md)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_time_leaves_out_the_first_call() {
        let mut calls = 0;
        let seconds = time_per_call(0.0, || {
            calls += 1;
            if calls == 1 {
                std::thread::sleep(std::time::Duration::from_millis(200));
            }
        });
        assert_eq!(calls, 1 + REPEATS);
        assert!(seconds < 0.2, "{seconds}");
    }

    #[test]
    fn a_csv_without_the_parallel_columns_reads_as_one_thread_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("scaling.csv");
        std::fs::write(
            &path,
            "graph,nodes,model,setup_seconds,iteration_seconds,sweep_seconds,updates_per_second\n\
             chain,100,ignn,1.0e-5,2.0e-5,3.0e-5,3.3e6\n\
             chain,100,gcn,1.0e-5,,4.0e-5,2.5e6\n",
        )
        .unwrap();
        let points = read_csv(&path).unwrap();
        assert_eq!(points[0].iteration_seconds, Some(2.0e-5));
        assert_eq!(points[0].parallel_iteration_seconds, None);
        assert_eq!(points[0].sweep_seconds, 3.0e-5);
        assert_eq!(points[1].iteration_seconds, None);
        std::fs::write(&path, "header\nchain,100,ignn,1.0e-5\n").unwrap();
        let err = read_csv(&path).unwrap_err().to_string();
        assert!(err.contains("line 2: not a scaling point"), "{err}");
    }

    #[test]
    fn sizes_go_by_decades_up_to_the_cap() {
        assert_eq!(sizes(100), vec![100]);
        assert_eq!(sizes(99_999), vec![100, 1_000, 10_000]);
        assert_eq!(sizes(1_000_000).len(), 5);
    }
}
