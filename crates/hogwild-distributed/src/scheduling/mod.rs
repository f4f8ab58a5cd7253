//! Experiment 3: link scheduling by reinforcement learning with a digital-twin critic.
//! Links of a wireless network conflict along an Erdős–Rényi conflict graph; a schedule is
//! an independent set, and its utility the sum of its links' utilities `w`. A GCN actor
//! scales every utility (`z_v w_v`) before local greedy search (LGS) picks the set, and is
//! trained against a critic GCN that predicts, from `z`, each link's share under LGS. The
//! actor is trained centralized (one shared copy, Adam) and distributed (a copy per link,
//! gradients mixed per graph over its conflict graph, then local Adam); the critic is
//! centralized in both, as in the reference code. The metric is the approximation ratio of
//! GCN + LGS against greedy on the test graphs.
//!
//! ```
//! use hogwild_distributed::scheduling::{run_scheduling, SchedulingConfig};
//! let mut cfg = SchedulingConfig::quick();
//! cfg.epochs = 1;
//! let curves = run_scheduling(&cfg).unwrap();
//! assert_eq!(curves.runs.len(), 2);
//! // one evaluation per update, the first before any
//! assert_eq!(curves.runs[0].test_ratio.len(), cfg.updates());
//! assert_eq!(curves.runs[0].test_ratio[0], curves.runs[1].test_ratio[0]);
//! ```

pub mod cheb;
pub mod data;
pub mod models;
pub mod mwis;
mod train;

pub use data::{ErShare, SchedulingData};
pub use train::{
    initial_actor, live_fraction, test_ratio, train_actor, SchedulingRun, MAX_START_DRAWS,
};

use crate::optim::{OptimiserKind, OptimiserSpec};
use hogwild_settings::{at_least, non_negative, positive, InvalidSetting, Key};
use serde::{Deserialize, Serialize};

/// The experiment's settings (`[distributed.fdt-scheduling.scheduling]`);
/// [`SchedulingConfig::paper`] is the reference code's setting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchedulingConfig {
    /// Links `N` per conflict graph (every graph has the same size: the distributed actor
    /// has one copy per link).
    pub nodes: usize,
    /// The training graphs: Erdős–Rényi mixes of edge probabilities.
    pub train_graphs: Vec<ErShare>,
    /// The test graphs (utilities fixed).
    pub test_graphs: Vec<ErShare>,
    /// Actor layers.
    pub actor_layers: usize,
    /// Actor hidden width.
    pub actor_hidden: usize,
    /// Critic layers.
    pub critic_layers: usize,
    /// Critic hidden width.
    pub critic_hidden: usize,
    /// Weight `c` of the critic's kernel L2 term `c Σ W²`.
    pub critic_l2: f64,
    /// Critic Adam step size.
    pub critic_lr: f64,
    /// Half-width of the uniform exploration noise added to the actor's output.
    pub exploration: f64,
    /// Half-width of the uniform jitter of the critic's sample.
    pub critic_jitter: f64,
    /// Graphs per update (and kept gradients replayed per update).
    pub batch_graphs: usize,
    /// Passes over the training graphs.
    pub epochs: usize,
    /// Draw the actor's start again until its untrained output is positive at this fraction
    /// of the training graphs' links (0: the first draw, as the reference code). The output
    /// layer is a ReLU: where it is 0 at every link, the actor's gradient is 0 and a
    /// centralized actor never learns; the authors' start was live (ratio 0.984 before
    /// training).
    pub live_start_fraction: f64,
    /// Reproduce the reference code's epoch boundary: the count of graphs per update
    /// restarts every epoch but the kept gradients do not, so the first update of an epoch
    /// draws `batch_graphs` of the kept gradients and drops the rest (40 of 140 at the
    /// paper's size). Off: the count runs on across epochs and every gradient is used.
    #[serde(default)]
    pub mimic_epoch_boundary_discard: bool,
    /// Seed of the graphs, the starts, the utilities, the noise and the shuffles.
    pub seed: u64,
    /// The actor's curves: `adam` or `sgd` (centralized), `local-adam` (distributed).
    pub optimisers: Vec<OptimiserSpec>,
}

impl Default for SchedulingConfig {
    fn default() -> Self {
        SchedulingConfig::paper()
    }
}

impl SchedulingConfig {
    /// The reference code's setting: N = 100, its 1140 training graphs' mix and its 10 test
    /// graphs' recipe, actor 3 layers of 32, critic 5 layers of 64 with L2 5e-4 and Adam
    /// 1e-4, exploration ±0.03, critic jitter ±0.075, 100 graphs per update, 5 epochs, the
    /// actor's Adam 5e-5 centralized and distributed, seed 41; and ours: the actor's start
    /// drawn until live at 90 % of the training links.
    pub fn paper() -> SchedulingConfig {
        let lr = 5e-5;
        SchedulingConfig {
            nodes: 100,
            train_graphs: data::paper_training_mix(),
            test_graphs: data::paper_test_mix(),
            actor_layers: 3,
            actor_hidden: 32,
            critic_layers: 5,
            critic_hidden: 64,
            critic_l2: 5e-4,
            critic_lr: 1e-4,
            exploration: 0.03,
            critic_jitter: 0.075,
            batch_graphs: 100,
            epochs: 5,
            live_start_fraction: 0.9,
            mimic_epoch_boundary_discard: false,
            seed: 41,
            optimisers: vec![
                OptimiserSpec::new("GCN (Adam)", OptimiserKind::Adam, lr),
                OptimiserSpec::new("D-GCN (local Adam)", OptimiserKind::LocalAdam, lr),
            ],
        }
    }

    /// A small version of [`SchedulingConfig::paper`] for quick runs and tests: 30 links,
    /// 100 training graphs (25 each of p = 0.05, 0.1, 0.2, 0.3) and 20 test graphs, actor
    /// hidden 8, critic 3 layers of 16, 20 graphs per update, 10 epochs, and step sizes
    /// 1e-3 for the actor and the critic, so that it learns in a fraction of a second.
    pub fn quick() -> SchedulingConfig {
        let mut cfg = SchedulingConfig {
            nodes: 30,
            train_graphs: [0.05, 0.1, 0.2, 0.3]
                .map(|p| ErShare { p, graphs: 25 })
                .to_vec(),
            test_graphs: [0.05, 0.1, 0.2, 0.3]
                .map(|p| ErShare { p, graphs: 5 })
                .to_vec(),
            critic_layers: 3,
            critic_hidden: 16,
            actor_hidden: 8,
            batch_graphs: 20,
            epochs: 10,
            critic_lr: 1e-3,
            ..SchedulingConfig::paper()
        };
        cfg.optimisers.iter_mut().for_each(|o| o.lr = 1e-3);
        cfg
    }

    /// Training graphs in all.
    pub fn train_graph_count(&self) -> usize {
        self.train_graphs.iter().map(|s| s.graphs).sum()
    }

    /// Updates (and evaluations, one before each update) in the whole run.
    pub fn updates(&self) -> usize {
        if self.mimic_epoch_boundary_discard {
            self.epochs * (self.train_graph_count() / self.batch_graphs)
        } else {
            self.epochs * self.train_graph_count() / self.batch_graphs
        }
    }

    /// Checks the settings; keys are relative to the experiment's table.
    pub fn check(&self) -> Result<(), InvalidSetting> {
        at_least("nodes", self.nodes as u64, 2)?;
        for (name, mix) in [
            ("train_graphs", &self.train_graphs),
            ("test_graphs", &self.test_graphs),
        ] {
            if mix.is_empty() {
                return Err(InvalidSetting::new(
                    name,
                    "[]",
                    "name at least one share of graphs",
                ));
            }
            for (i, share) in mix.iter().enumerate() {
                let here = Key::new().name(name).index(i);
                if !(0.0..=1.0).contains(&share.p) {
                    return Err(InvalidSetting::new(
                        here.name("p"),
                        share.p,
                        "an edge probability lies in [0, 1]",
                    ));
                }
                at_least("graphs", share.graphs as u64, 1).map_err(|e| e.under(here))?;
            }
        }
        at_least("actor_layers", self.actor_layers as u64, 1)?;
        at_least("actor_hidden", self.actor_hidden as u64, 1)?;
        at_least("critic_layers", self.critic_layers as u64, 1)?;
        at_least("critic_hidden", self.critic_hidden as u64, 1)?;
        non_negative("critic_l2", self.critic_l2)?;
        positive("critic_lr", self.critic_lr)?;
        non_negative("exploration", self.exploration)?;
        non_negative("critic_jitter", self.critic_jitter)?;
        at_least("batch_graphs", self.batch_graphs as u64, 1)?;
        at_least(
            "batch_graphs",
            self.train_graph_count() as u64,
            self.batch_graphs as u64,
        )
        .map_err(|_| {
            InvalidSetting::new(
                "batch_graphs",
                self.batch_graphs,
                format!(
                    "more than the {} training graphs: no update would happen",
                    self.train_graph_count()
                ),
            )
        })?;
        at_least("epochs", self.epochs as u64, 1)?;
        if !(0.0..=1.0).contains(&self.live_start_fraction) {
            return Err(InvalidSetting::new(
                "live_start_fraction",
                self.live_start_fraction,
                "a fraction of the links lies in [0, 1]",
            ));
        }
        crate::optim::check_optimisers(&self.optimisers, |kind| {
            kind.mixes_copies().then_some(
                "the scheduling experiment mixes gradients, not copies: use sgd, adam or local-adam",
            )
        })
    }

    /// The label of one of this configuration's random streams.
    fn label(&self, what: &str) -> String {
        format!("fdt-scheduling/{}/{what}", self.seed)
    }
}

/// Every curve of the experiment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SchedulingCurves {
    /// One per optimiser, in the order of `optimisers`.
    pub runs: Vec<SchedulingRun>,
}

/// Checks `cfg`, generates its graphs and trains every optimiser's actor.
pub fn run_scheduling(cfg: &SchedulingConfig) -> Result<SchedulingCurves, InvalidSetting> {
    cfg.check()?;
    let data = SchedulingData::generate(cfg);
    let runs = cfg
        .optimisers
        .iter()
        .map(|spec| train_actor(cfg, &data, spec))
        .collect();
    Ok(SchedulingCurves { runs })
}
