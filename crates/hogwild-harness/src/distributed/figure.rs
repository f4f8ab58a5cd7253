//! `curves.svg` of a distributed experiment: each optimiser's test metric, the mean over
//! seeds, against epochs (left) and against counted message rounds (right), with the
//! authors' values at the table's epochs as open circles in the same colour.

use super::DistributedTable;
use crate::report::figures::{
    chart, decades, extent, no_extra, number, padded, svg, Labels, Series,
};
use plotters::prelude::*;

/// One optimiser's mean curve over its runs: `(epoch, rounds, value)` per epoch.
fn mean_curve(runs: &[(&str, &[f64], &[u64])], name: &str) -> Vec<(f64, f64, f64)> {
    let mine: Vec<_> = runs.iter().filter(|(n, _, _)| *n == name).collect();
    let epochs = mine.first().map_or(0, |(_, v, _)| v.len());
    (0..epochs)
        .map(|e| {
            let k = mine.len() as f64;
            let value = mine.iter().map(|(_, v, _)| v[e]).sum::<f64>() / k;
            let rounds = mine.iter().map(|(_, _, r)| r[e] as f64).sum::<f64>() / k;
            (e as f64 + 1.0, rounds, value)
        })
        .collect()
}

/// The figure; `metric` names the y axis, `log` draws it on a log scale.
pub(crate) fn curves_svg(
    table: &DistributedTable,
    runs: &[(&str, &[f64], &[u64])],
    metric: &str,
    log: bool,
) -> anyhow::Result<String> {
    let mut panels: [Vec<Series>; 2] = [vec![], vec![]];
    for (i, name) in table.optimiser_names().iter().enumerate() {
        let curve = mean_curve(runs, name);
        for (p, series) in panels.iter_mut().enumerate() {
            let x = |c: &(f64, f64, f64)| if p == 0 { c.0 } else { c.1 };
            series.push(Series {
                label: name.clone(),
                colour: i,
                points: curve.iter().map(|c| (x(c), c.2)).collect(),
                line: true,
                filled: true,
            });
            if let Some(paper) = table.paper.get(name) {
                series.push(Series {
                    label: String::new(),
                    colour: i,
                    points: table
                        .epochs
                        .iter()
                        .zip(paper)
                        .filter_map(|(&e, &v)| curve.get(e - 1).map(|c| (x(c), v)))
                        .collect(),
                    line: false,
                    filled: false,
                });
            }
        }
    }
    let seeds = table.seeds.len();
    let titles = [
        format!("test {metric}, mean of {seeds} seed(s); circles: the authors' run"),
        format!("test {metric} against counted message rounds"),
    ];
    let axes = [table.unit(), "message rounds"];
    svg(2, &|p, area| {
        let series = &panels[p];
        let xs = extent(series.iter().flat_map(|s| s.points.iter().map(|q| q.0)));
        let ys = extent(series.iter().flat_map(|s| s.points.iter().map(|q| q.1)));
        let x = 0.0..xs.1.max(1.0);
        let labels = Labels {
            title: &titles[p],
            x: axes[p],
            y: metric,
            legend_left: !log,
        };
        if log {
            chart(
                area,
                &labels,
                x,
                decades(ys).log_scale(),
                &number,
                series,
                &no_extra,
            )
        } else {
            chart(area, &labels, x, padded(ys), &number, series, &no_extra)
        }
    })
}
