//! Figures written beside each table, as SVG (plotters' SVG backend: text is written as SVG
//! text elements, so no font is read, and the bytes depend only on the data).
//!
//! - `cells.svg`: every cell (mean ± std) against the table's columns, one series per row;
//! - `sync_vs_async.svg`: every run's asynchronous values against its synchronous value, one
//!   colour per model, with the line y = x (the paper's claim: implicit models on it);
//! - `residuals.svg`: residual against iterations (synchronous solve) and against rounds
//!   (asynchronous observer), log scale, implicit models;
//! - `training.svg`: the training loss against epochs, log scale.
//!
//! The curve figures draw one run per column and model (the first seed and fold), so that
//! the lines stay readable; `curves.parquet` holds every run's.

use super::TableReport;
use crate::config::DEGRADATION_ROW;
use crate::curve::Curve;
use crate::sweep::{Mode, RunResult};
use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::prelude::*;

/// Figure size in pixels.
const SIZE: (u32, u32) = (760, 440);
/// The smallest value a log-scale axis shows (exact zeros are drawn there).
const LOG_FLOOR: f64 = 1e-16;

/// The colour of the `i`-th model (Okabe–Ito, distinguishable with colour blindness).
pub fn colour(i: usize) -> RGBColor {
    const PALETTE: [RGBColor; 7] = [
        RGBColor(0, 114, 178),
        RGBColor(213, 94, 0),
        RGBColor(0, 158, 115),
        RGBColor(204, 121, 167),
        RGBColor(230, 159, 0),
        RGBColor(86, 180, 233),
        RGBColor(0, 0, 0),
    ];
    PALETTE[i % PALETTE.len()]
}

/// A line (and its points) of a figure.
#[derive(Debug, Clone)]
pub struct Series {
    /// Legend text (empty: not in the legend).
    pub label: String,
    /// Colour index.
    pub colour: usize,
    /// The points.
    pub points: Vec<(f64, f64)>,
    /// Whether to join the points with a line (else points only).
    pub line: bool,
    /// Whether the points are filled.
    pub filled: bool,
}

/// Axis descriptions and title of a figure.
pub struct Labels<'a> {
    /// Caption.
    pub title: &'a str,
    /// x axis.
    pub x: &'a str,
    /// y axis.
    pub y: &'a str,
    /// Whether the legend goes in the upper left corner (else the upper right), where the
    /// data leave room.
    pub legend_left: bool,
}

/// `lo..hi` widened by 5 % on each side (or by 1 when empty).
pub fn padded((lo, hi): (f64, f64)) -> std::ops::Range<f64> {
    if !(lo.is_finite() && hi.is_finite()) {
        return 0.0..1.0;
    }
    let pad = if hi > lo { (hi - lo) * 0.05 } else { 1.0 };
    lo - pad..hi + pad
}

/// `lo..hi` widened to whole decades, for a log axis.
pub fn decades((lo, hi): (f64, f64)) -> std::ops::Range<f64> {
    let lo = lo.max(LOG_FLOOR);
    let hi = hi.max(lo * 10.0);
    10f64.powf(lo.log10().floor())..10f64.powf(hi.log10().ceil())
}

/// The smallest and largest of `values` (NaNs ignored).
pub fn extent(values: impl Iterator<Item = f64>) -> (f64, f64) {
    values
        .filter(|v| !v.is_nan())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        })
}

/// A panel of a figure.
pub type Area<'a> = DrawingArea<SVGBackend<'a>, plotters::coord::Shift>;
/// A chart on axes `X` × `Y`.
pub type Chart<'a, 'b, X, Y> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<X, Y>>;
/// What a figure draws on its chart besides the series (error bars, a diagonal).
pub type Extra<'f, X, Y> = &'f dyn Fn(&mut Chart<'_, '_, X, Y>) -> anyhow::Result<()>;

/// An SVG of `SIZE`, split into `panels` side by side, each drawn by `draw`.
pub fn svg(
    panels: usize,
    draw: &dyn Fn(usize, &Area<'_>) -> anyhow::Result<()>,
) -> anyhow::Result<String> {
    let mut svg = String::new();
    {
        let root =
            SVGBackend::with_string(&mut svg, (SIZE.0 * panels as u32, SIZE.1)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| anyhow::anyhow!("{e}"))?;
        for (i, area) in root.split_evenly((1, panels)).iter().enumerate() {
            draw(i, area)?;
        }
        root.present().map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    Ok(svg)
}

/// Draws `series` on axes `x` × `y` in `area`; `extra` draws more on the chart (error
/// bars, a diagonal) before the series.
pub fn chart<X, Y>(
    area: &Area<'_>,
    labels: &Labels<'_>,
    x: X,
    y: Y,
    x_label: &dyn Fn(&f64) -> String,
    series: &[Series],
    extra: Extra<'_, X::CoordDescType, Y::CoordDescType>,
) -> anyhow::Result<()>
where
    X: AsRangedCoord<Value = f64>,
    Y: AsRangedCoord<Value = f64>,
    X::CoordDescType: ValueFormatter<f64>,
    Y::CoordDescType: ValueFormatter<f64>,
{
    let mut c = ChartBuilder::on(area)
        .caption(labels.title, ("sans-serif", 15))
        .margin(12)
        .x_label_area_size(44)
        .y_label_area_size(64)
        .build_cartesian_2d(x, y)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    c.configure_mesh()
        .x_desc(labels.x)
        .y_desc(labels.y)
        .x_label_formatter(x_label)
        .y_label_formatter(&number)
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    extra(&mut c)?;
    let mut legend = false;
    for s in series {
        let style = colour(s.colour).stroke_width(2);
        let marker = if s.filled { style.filled() } else { style };
        if s.line {
            c.draw_series(LineSeries::new(s.points.clone(), style))
                .map_err(|e| anyhow::anyhow!("{e}"))?;
        }
        // Markers where they can be told apart; a long curve is a line.
        let size = if s.line && s.points.len() > 30 { 0 } else { 3 };
        let anno = c
            .draw_series(s.points.iter().map(|&p| Circle::new(p, size, marker)))
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        if !s.label.is_empty() {
            legend = true;
            anno.label(s.label.clone()).legend(move |(x, y)| {
                EmptyElement::at((x, y))
                    + PathElement::new(vec![(-8, 0), (8, 0)], style)
                    + Circle::new((0, 0), 3, marker)
            });
        }
    }
    if legend {
        c.configure_series_labels()
            .position(if labels.legend_left {
                SeriesLabelPosition::UpperLeft
            } else {
                SeriesLabelPosition::UpperRight
            })
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.4))
            .draw()
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    Ok(())
}

pub(crate) fn no_extra<X, Y>(_: &mut Chart<'_, '_, X, Y>) -> anyhow::Result<()>
where
    X: plotters::coord::ranged1d::Ranged,
    Y: plotters::coord::ranged1d::Ranged,
{
    Ok(())
}

/// A tick label: `1e-6` or `2.5e5` for small and large values (log axes, long runs), else
/// at most three decimals without trailing zeros.
pub(crate) fn number(x: &f64) -> String {
    if *x != 0.0 && (x.abs() < 1e-2 || x.abs() >= 1e5) {
        let exponent = x.abs().log10().floor();
        let mantissa = x / 10f64.powf(exponent);
        if (mantissa - mantissa.round()).abs() < 1e-6 {
            format!("{:.0}e{exponent}", mantissa.round())
        } else {
            format!("{mantissa:.1}e{exponent}")
        }
    } else {
        let s = format!("{x:.3}");
        let s = s.trim_end_matches('0').trim_end_matches('.');
        if s == "-0" {
            "0".into()
        } else {
            s.to_string()
        }
    }
}

/// The index of each model of the table (its colour).
fn model_index(report: &TableReport, model: &str) -> usize {
    report
        .config
        .models
        .iter()
        .position(|m| m == model)
        .unwrap_or(0)
}

/// `cells.svg`: every row's cells (mean, with ± std bars) against the columns.
pub fn cells(report: &TableReport) -> anyhow::Result<String> {
    let c = &report.config;
    let n = c.columns.len();
    // Degradation rows are a change in percent, not the metric: they stay in table.md.
    let plotted = |key: &str| !key.ends_with(&format!("-{DEGRADATION_ROW}"));
    let rows = report
        .rows
        .iter()
        .filter(|(key, _)| plotted(key))
        .count()
        .max(1);
    // Rows side by side within a column: sync and async of one model next to each other.
    let offset = |r: usize| (r as f64 - (rows as f64 - 1.0) / 2.0) * (0.5 / rows as f64);
    let mut series = vec![];
    let mut bars = vec![];
    let rows_plotted = report
        .rows
        .iter()
        .zip(&report.cells)
        .filter(|((key, _), _)| plotted(key));
    for (r, ((key, display), cells)) in rows_plotted.enumerate() {
        let model = key.rsplit_once('-').map_or(key.as_str(), |(m, _)| m);
        let points: Vec<(f64, f64)> = cells
            .iter()
            .enumerate()
            .map(|(j, cell)| (j as f64 + offset(r), cell.mean))
            .collect();
        for (j, cell) in cells.iter().enumerate() {
            bars.push((
                j as f64 + offset(r),
                cell.mean,
                cell.std,
                model_index(report, model),
            ));
        }
        // Columns are categories (datasets, settings): no line joins them.
        series.push(Series {
            label: display.clone(),
            colour: model_index(report, model),
            points,
            line: false,
            filled: key.ends_with("-sync"),
        });
    }
    let (lo, hi) = extent(bars.iter().flat_map(|b| [b.1 - b.2, b.1 + b.2]));
    // Head room for the legend (about 20 pixels a row of a 340-pixel plot) above the data.
    let share = (20.0 * rows as f64 / 340.0).min(0.5);
    let y = (lo, hi + (hi - lo).max(1.0) * share / (1.0 - share));
    let labels: Vec<String> = c.columns.iter().map(|col| col.label.clone()).collect();
    let x_label = move |x: &f64| {
        let j = x.round();
        if (x - j).abs() < 1e-9 && j >= 0.0 && (j as usize) < labels.len() {
            labels[j as usize].clone()
        } else {
            String::new()
        }
    };
    let metrics: Vec<_> = (0..n).map(|j| c.metric_of(j)).collect();
    let unit = if metrics.iter().any(|&m| m != c.metric) {
        "metric (%)"
    } else if c.metric.higher_is_better() {
        "accuracy (%)"
    } else {
        "error (%)"
    };
    svg(1, &|_, area| {
        chart(
            area,
            &Labels {
                title: &c.title,
                x: "column",
                y: unit,
                legend_left: false,
            },
            -0.5..n as f64 - 0.5,
            padded(y),
            &x_label,
            &series,
            &|chart| {
                chart
                    .draw_series(bars.iter().map(|&(x, m, s, k)| {
                        ErrorBar::new_vertical(
                            x,
                            m - s,
                            m,
                            m + s,
                            colour(k).mix(0.6).stroke_width(1),
                            6,
                        )
                    }))
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                Ok(())
            },
        )
    })
}

/// `sync_vs_async.svg`: each run's asynchronous values (one per ordering) against its
/// synchronous value.
pub fn sync_vs_async(report: &TableReport, results: &[&RunResult]) -> anyhow::Result<String> {
    let mut series: Vec<Series> = report
        .config
        .models
        .iter()
        .enumerate()
        .map(|(i, m)| Series {
            label: super::display_name(m).to_string(),
            colour: i,
            points: vec![],
            line: false,
            filled: false,
        })
        .collect();
    for r in results {
        let Some(sync) = r.evaluations.iter().find(|e| e.mode == Mode::Sync) else {
            continue;
        };
        let i = model_index(report, &r.spec.model);
        for e in r.evaluations.iter().filter(|e| e.mode == Mode::Async) {
            series[i].points.push((sync.value, e.value));
        }
    }
    let range = padded(extent(
        series
            .iter()
            .flat_map(|s| s.points.iter().flat_map(|p| [p.0, p.1])),
    ));
    let diagonal = vec![(range.start, range.start), (range.end, range.end)];
    let title = format!(
        "{}: asynchronous against synchronous, every run and ordering",
        report.name
    );
    svg(1, &|_, area| {
        chart(
            area,
            &Labels {
                title: &title,
                x: "synchronous value (%)",
                y: "asynchronous value (%)",
                legend_left: true,
            },
            range.clone(),
            range.clone(),
            &number,
            &series,
            &|chart| {
                chart
                    .draw_series(LineSeries::new(diagonal.clone(), BLACK.mix(0.3)))
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                Ok(())
            },
        )
    })
}

/// The runs a curve figure draws: per column and model, the first seed's first fold.
fn first_runs<'a>(report: &TableReport, results: &[&'a RunResult]) -> Vec<&'a RunResult> {
    let first_seed = report.config.seeds.first().copied();
    results
        .iter()
        .filter(|r| Some(r.spec.seed) == first_seed && r.spec.fold.unwrap_or(0) == 0)
        .copied()
        .collect()
}

fn curve_points(c: &Curve) -> Vec<(f64, f64)> {
    c.steps
        .iter()
        .zip(&c.values)
        .map(|(&s, &v)| (s as f64, v.max(LOG_FLOOR)))
        .collect()
}

/// The line of `curve` in the colour of model `i` (named `model`), in the legend only the
/// first time the model is drawn (`labelled` keeps count).
fn curve_series(
    labelled: &mut [bool],
    i: usize,
    model: &str,
    curve: &Curve,
    filled: bool,
) -> Series {
    let label = if labelled[i] {
        String::new()
    } else {
        labelled[i] = true;
        super::display_name(model).to_string()
    };
    Series {
        label,
        colour: i,
        points: curve_points(curve),
        line: true,
        filled,
    }
}

/// A log-scale panel of `series` against their steps.
fn curve_panel(
    area: &Area<'_>,
    title: &str,
    x: &str,
    y: &str,
    series: &[Series],
) -> anyhow::Result<()> {
    let xs = extent(series.iter().flat_map(|s| s.points.iter().map(|p| p.0)));
    let ys = extent(series.iter().flat_map(|s| s.points.iter().map(|p| p.1)));
    let x_range = if xs.0.is_finite() {
        0.0..xs.1.max(1.0)
    } else {
        0.0..1.0
    };
    let y_range = if ys.0.is_finite() {
        decades(ys)
    } else {
        1e-3..1.0
    };
    chart(
        area,
        &Labels {
            title,
            x,
            y,
            legend_left: false,
        },
        x_range,
        y_range.log_scale(),
        &number,
        series,
        &no_extra,
    )
}

/// `residuals.svg`: the implicit models' residuals for one run per column and model: the
/// synchronous solve's against its iterations (left) and the asynchronous observer's
/// against rounds, every ordering (right).
pub fn residuals(report: &TableReport, results: &[&RunResult]) -> anyhow::Result<String> {
    let runs = first_runs(report, results);
    let mut panels: [Vec<Series>; 2] = [vec![], vec![]];
    for (p, series) in panels.iter_mut().enumerate() {
        let mut labelled = vec![false; report.config.models.len()];
        for r in &runs {
            let i = model_index(report, &r.spec.model);
            let curves: Vec<&Curve> = if p == 0 {
                vec![&r.sync_trace]
            } else {
                r.evaluations.iter().map(|e| &e.trace).collect()
            };
            for c in curves.into_iter().filter(|c| !c.is_empty()) {
                series.push(curve_series(&mut labelled, i, &r.spec.model, c, p == 0));
            }
        }
    }
    let which = if report.config.folds.is_some() {
        "first seed and fold"
    } else {
        "first seed"
    };
    let titles = [
        format!("{}: synchronous solve ({which})", report.name),
        format!("{}: asynchronous observer ({which})", report.name),
    ];
    let axes = [("solver iteration", "residual"), ("rounds", "residual")];
    svg(2, &|p, area| {
        curve_panel(area, &titles[p], axes[p].0, axes[p].1, &panels[p])
    })
}

/// `training.svg`: the training loss against epochs, one run per column and model.
pub fn training(report: &TableReport, results: &[&RunResult]) -> anyhow::Result<String> {
    let mut series = vec![];
    let mut labelled = vec![false; report.config.models.len()];
    for r in first_runs(report, results) {
        let i = model_index(report, &r.spec.model);
        series.push(curve_series(
            &mut labelled,
            i,
            &r.spec.model,
            &r.train_losses,
            false,
        ));
    }
    let title = format!(
        "{}: training loss (first seed{}, every column)",
        report.name,
        if report.config.folds.is_some() {
            " and fold"
        } else {
            ""
        }
    );
    svg(1, &|_, area| {
        curve_panel(area, &title, "epoch", "training loss", &series)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tick_labels_are_short_and_distinct() {
        let labels: Vec<String> = [0.0, 0.5, 12.25, 1e-6, 1e-3, 1e5, 1.5e5, 2e5, 2.5e5, -3e-4]
            .iter()
            .map(number)
            .collect();
        assert_eq!(
            labels,
            ["0", "0.5", "12.25", "1e-6", "1e-3", "1e5", "1.5e5", "2e5", "2.5e5", "-3e-4"]
        );
    }
}
