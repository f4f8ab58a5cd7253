//! Experiment 3, link scheduling (`[distributed.NAME.scheduling]`): the GCN actor trained
//! centralized and distributed against the centralized critic with every seed, the test
//! approximation ratio against greedy before every update.

use super::{cells_table, serde_name, ColumnDoc, DistributedTable, Written};
use crate::report::frame::{Frame, Values};
use hogwild_distributed::scheduling::{
    train_actor, SchedulingConfig, SchedulingData, SchedulingRun,
};

/// `curves.csv`'s columns.
pub(super) const CURVE_COLUMNS: &[ColumnDoc] = &[
    ("seed", "uint64", "the run's seed"),
    ("optimiser", "string", "the optimiser's name (a row of `table.csv`)"),
    ("kind", "string", "`sgd`, `adam` (centralized) or `local-adam` (distributed)"),
    ("evaluation", "uint64", "1-based: evaluation K comes before the K-th update, after its mini-batch of graphs"),
    ("rounds", "uint64", "the actor's message rounds up to this evaluation, counted (centralized: forward rounds only)"),
    ("test_ratio", "float64", "mean over the test graphs of the utility of GCN + LGS over greedy's, each link with its own copy"),
    ("train_ratio", "float64", "the same ratio (noise-free actor) on the mini-batch's training graphs"),
    ("actor_objective", "float64", "mean actor objective over the mini-batch's graphs"),
    ("critic_loss", "float64", "mean critic loss over the mini-batch's graphs"),
    ("mean_factor", "float64", "mean scaling factor z with its exploration noise over the mini-batch's links"),
    ("copy_spread", "float64", "root-mean-square distance of the actor copies from their mean (0: centralized)"),
];

/// Every (seed, optimiser) run (`runs`) of `table`, made by [`super::sweep`].
type SchedulingResults = super::Sweep<SchedulingConfig, SchedulingData, SchedulingRun>;

/// Runs every seed and optimiser.
fn run(table: &DistributedTable, settings: &SchedulingConfig) -> SchedulingResults {
    super::sweep(
        &table.seeds,
        settings.optimisers.len(),
        |seed| SchedulingConfig {
            seed,
            ..settings.clone()
        },
        SchedulingData::generate,
        |cfg, data, o| train_actor(cfg, data, &cfg.optimisers[o]),
    )
}

/// `curves.csv`: one row per (seed, optimiser, evaluation).
fn curves_frame(results: &SchedulingResults) -> Frame {
    let (mut seed, mut name, mut kind, mut evaluation) = (vec![], vec![], vec![], vec![]);
    let (mut rounds, mut test, mut train, mut objective) = (vec![], vec![], vec![], vec![]);
    let (mut critic, mut factor, mut spread) = (vec![], vec![], vec![]);
    for (s, r) in &results.runs {
        for k in 0..r.test_ratio.len() {
            seed.push(Some(*s));
            name.push(Some(r.name.clone()));
            kind.push(Some(serde_name(&r.kind)));
            evaluation.push(Some(k as u64 + 1));
            rounds.push(Some(r.rounds[k]));
            test.push(Some(r.test_ratio[k]));
            train.push(Some(r.train_ratio[k]));
            objective.push(Some(r.actor_objective[k]));
            critic.push(Some(r.critic_loss[k]));
            factor.push(Some(r.mean_factor[k]));
            spread.push(Some(r.copy_spread[k]));
        }
    }
    let mut f = Frame::default();
    f.push("seed", Values::UInt(seed));
    f.push("optimiser", Values::Text(name));
    f.push("kind", Values::Text(kind));
    f.push("evaluation", Values::UInt(evaluation));
    f.push("rounds", Values::UInt(rounds));
    f.push("test_ratio", Values::Float(test));
    f.push("train_ratio", Values::Float(train));
    f.push("actor_objective", Values::Float(objective));
    f.push("critic_loss", Values::Float(critic));
    f.push("mean_factor", Values::Float(factor));
    f.push("copy_spread", Values::Float(spread));
    f
}

/// `table.md` (optimisers by evaluations, then every seed's untrained and final ratio),
/// `table.csv` and `curves.csv` of `table`'s runs.
pub(crate) fn write(table: &DistributedTable, s: &SchedulingConfig) -> anyhow::Result<Written> {
    let results = run(table, s);
    let runs: Vec<(&str, &[f64], &[u64])> = results
        .runs
        .iter()
        .map(|(_, r)| (r.name.as_str(), &r.test_ratio[..], &r.rounds[..]))
        .collect();
    let (mut md, cells) = cells_table(table, &runs, 4);
    let evaluations = results.runs.first().map_or(0, |(_, r)| r.test_ratio.len());
    md.push_str(&format!(
        "\nTest approximation ratio against greedy (higher is better; above 1: better than greedy), mean ± std (ddof {}) over {} seed(s), the authors' single run in parentheses; mini-batch K is the evaluation after the K-th mini-batch of {} graphs, before its update ({} in all; the first is the untrained actor's). N = {} links, {} training and {} test graphs, {} epochs; every seed draws its own graphs and test set.\n\n#### Every seed: untrained and last ratio\n\n| seed | untrained |",
        table.ddof(),
        table.seeds.len(),
        s.batch_graphs,
        evaluations,
        s.nodes,
        s.train_graph_count(),
        s.test_graphs.iter().map(|g| g.graphs).sum::<usize>(),
        s.epochs,
    ));
    let names = table.optimiser_names();
    for name in &names {
        md.push_str(&format!(" {name}, last |"));
    }
    md.push_str("\n|---|---|");
    md.push_str(&"---|".repeat(names.len()));
    md.push('\n');
    let mut above = vec![0usize; names.len()];
    for &seed in &table.seeds {
        let mine: Vec<&SchedulingRun> = results
            .runs
            .iter()
            .filter(|(s, _)| *s == seed)
            .map(|(_, r)| r)
            .collect();
        let untrained = mine.first().map_or(f64::NAN, |r| r.test_ratio[0]);
        md.push_str(&format!("| {seed} | {untrained:.4} |"));
        for (i, r) in mine.iter().enumerate() {
            let last = *r.test_ratio.last().unwrap_or(&f64::NAN);
            above[i] += usize::from(last > 1.0);
            md.push_str(&format!(" {last:.4} |"));
        }
        md.push('\n');
    }
    md.push_str("| above greedy | |");
    for count in &above {
        md.push_str(&format!(" {count} of {} |", table.seeds.len()));
    }
    md.push_str("\n\nPer-evaluation curves of every seed and optimiser (with the training ratio, the actor objective, the critic loss and the mean scaling factor): `curves.csv` (drawn in `curves.svg`); tidy cells: `table.csv`; how this was made: `record.toml`. Every choice: `docs/PROTOCOL.md`, \"Fully distributed training\", in the hogwild repository.\n");
    Ok(Written {
        files: vec![
            ("table.md", md.into_bytes()),
            ("table.csv", cells.to_csv()?),
            ("curves.csv", curves_frame(&results).to_csv()?),
            (
                "curves.svg",
                super::figure::curves_svg(table, &runs, "approximation ratio", false)?.into_bytes(),
            ),
        ],
        run_seconds: results.seconds.iter().sum(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn its_files_have_the_documented_columns() {
        let empty = SchedulingResults {
            configs: vec![],
            data: vec![],
            runs: vec![],
            seconds: vec![],
        };
        assert!(super::super::documented(
            &curves_frame(&empty),
            CURVE_COLUMNS
        ));
    }
}
