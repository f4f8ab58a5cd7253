//! Table 4's two statistics, from the per-epoch curves of every job.
//!
//! - **The paper's** (the GIN protocol; note §4): average the folds' test-accuracy curves
//!   of every grid point, take the single (grid point, epoch) with the best mean ("the
//!   best model version"), and report mean ± std over the folds at it. Both choices look
//!   at the test folds, so the number is optimistic.
//! - **Inner validation** (ours): in every split, the (grid point, epoch) with the most
//!   correct validation graphs (ties: the lower validation NLL, then the earlier point and
//!   epoch) is chosen, and that split's test accuracy there is reported; mean ± std over
//!   the folds. The test folds choose nothing.
//!
//! With several seeds, a fold's value is the mean over its seeds. Every row (AMP-RNN and
//! each baseline) chooses among its own grid points only.

use super::config::{GridPoint, TuSettings};
use super::run::{TuJob, TuOutcome};
use crate::amp::AmpRow;
use crate::report::mean_std;

/// A reported accuracy (%) and where it was read.
#[derive(Debug, Clone, PartialEq)]
pub struct Chosen {
    /// Mean over folds.
    pub mean: f64,
    /// Std over folds.
    pub std: f64,
    /// Each fold's value.
    pub per_fold: Vec<f64>,
    /// Each (fold, seed)'s `(grid point, epoch)`, in job order: one entry for the paper's
    /// statistic (the same for every split).
    pub at: Vec<(GridPoint, usize)>,
}

/// One grid point's summary: its best-mean epoch and the last epoch.
#[derive(Debug, Clone, PartialEq)]
pub struct PointSummary {
    /// The grid point.
    pub point: GridPoint,
    /// The epoch with the best mean test accuracy over the folds (1-based).
    pub best_epoch: usize,
    /// Mean and std over folds at that epoch.
    pub best: (f64, f64),
    /// Mean and std over folds at the last epoch.
    pub last: (f64, f64),
    /// Mean wall seconds of its jobs.
    pub seconds: f64,
}

/// Both statistics of one row on one dataset and its grid points' summaries.
#[derive(Debug, Clone, PartialEq)]
pub struct DatasetStats {
    /// The paper's statistic.
    pub paper: Chosen,
    /// The inner-validation statistic (`None` without inner validation).
    pub validated: Option<Chosen>,
    /// Every grid point, in grid order.
    pub points: Vec<PointSummary>,
}

fn percent(correct: u32, graphs: u32) -> f64 {
    100.0 * f64::from(correct) / f64::from(graphs.max(1))
}

/// The statistics of `row` on dataset `d` from `outcomes` (one per job of `jobs`, same
/// order).
pub fn dataset_stats(
    tu: &TuSettings,
    seeds: usize,
    ddof: u8,
    (jobs, outcomes): (&[TuJob], &[TuOutcome]),
    d: usize,
    row: AmpRow,
) -> DatasetStats {
    let grid = tu.grid(d, row);
    let folds = tu.folds;
    // runs[point][fold] = the (seed) outcomes of that split.
    let mut runs: Vec<Vec<Vec<&TuOutcome>>> = vec![vec![Vec::new(); folds]; grid.len()];
    for (job, outcome) in jobs.iter().zip(outcomes) {
        if job.dataset == d && job.point.row == row {
            let p = grid
                .iter()
                .position(|g| *g == job.point)
                .expect("a grid point");
            runs[p][job.fold].push(outcome);
        }
    }
    let epochs = runs[0][0][0].test_correct.len();
    // fold_acc[p][f][e]: test accuracy averaged over seeds.
    let fold_acc: Vec<Vec<Vec<f64>>> = runs
        .iter()
        .map(|per_fold| {
            per_fold
                .iter()
                .map(|outs| {
                    (0..epochs)
                        .map(|e| {
                            outs.iter()
                                .map(|o| percent(o.test_correct[e], o.graphs[2]))
                                .sum::<f64>()
                                / outs.len() as f64
                        })
                        .collect()
                })
                .collect()
        })
        .collect();
    let at_epoch =
        |p: usize, e: usize| -> Vec<f64> { (0..folds).map(|f| fold_acc[p][f][e]).collect() };
    let mut points = Vec::with_capacity(grid.len());
    let mut best: Option<(f64, usize, usize)> = None;
    for (p, point) in grid.iter().enumerate() {
        let means: Vec<f64> = (0..epochs)
            .map(|e| at_epoch(p, e).iter().sum::<f64>() / folds as f64)
            .collect();
        let mut e_best = 0;
        for e in 1..epochs {
            if means[e] > means[e_best] {
                e_best = e;
            }
        }
        if best.is_none_or(|(m, _, _)| means[e_best] > m) {
            best = Some((means[e_best], p, e_best));
        }
        let seconds = runs[p].iter().flatten().map(|o| o.seconds).sum::<f64>()
            / (folds * seeds.max(1)) as f64;
        points.push(PointSummary {
            point: *point,
            best_epoch: e_best + 1,
            best: mean_std(&at_epoch(p, e_best), ddof),
            last: mean_std(&at_epoch(p, epochs - 1), ddof),
            seconds,
        });
    }
    let (_, p_star, e_star) = best.expect("a grid has a point");
    let per_fold = at_epoch(p_star, e_star);
    let (mean, std) = mean_std(&per_fold, ddof);
    let paper = Chosen {
        mean,
        std,
        per_fold,
        at: vec![(grid[p_star], e_star + 1)],
    };
    let validated = tu.inner_validation.then(|| {
        let mut per_fold = Vec::with_capacity(folds);
        let mut at = Vec::new();
        for f in 0..folds {
            let mut values = Vec::new();
            for s in 0..runs[0][f].len() {
                // (correct, nll, point, epoch) of the best validation result so far.
                let mut choice: Option<(u32, f64, usize, usize)> = None;
                for (p, per_fold) in runs.iter().enumerate() {
                    let o = per_fold[f][s];
                    for e in 0..epochs {
                        let (c, nll) = (o.val_correct[e], o.val_nll[e]);
                        let better =
                            choice.is_none_or(|(bc, bn, _, _)| c > bc || (c == bc && nll < bn));
                        if better {
                            choice = Some((c, nll, p, e));
                        }
                    }
                }
                let (_, _, p, e) = choice.expect("a grid has a point");
                let o = runs[p][f][s];
                values.push(percent(o.test_correct[e], o.graphs[2]));
                at.push((grid[p], e + 1));
            }
            per_fold.push(values.iter().sum::<f64>() / values.len() as f64);
        }
        let (mean, std) = mean_std(&per_fold, ddof);
        Chosen {
            mean,
            std,
            per_fold,
            at,
        }
    });
    DatasetStats {
        paper,
        validated,
        points,
    }
}
