//! Simulated partially asynchronous inference (Bertsekas & Tsitsiklis 1989; Hogwild paper §4).
//!
//! Time advances in *ticks*. Under [`Schedule::RandomSweeps`] one node updates per tick and
//! the ticks are grouped in *rounds*, each a fresh random permutation of the nodes, so every
//! node's update count stays within one of every other's. A node updating at tick `t` uses
//! its own latest state and, for each in-neighbour `j`, the latest version of `j`'s state
//! written at or before tick `t − 1 − d`, with the delay `d` drawn uniformly from
//! `0..B` (B = [`AsyncConfig::staleness_bound`]) or always `B − 1` ([`Delay`]): staleness
//! `t − τ` lies in `1..=B`. Under
//! [`Schedule::Synchronous`] every node updates at every tick from the previous tick's
//! states (Jacobi), which is exactly layer-by-layer synchronous execution.
//!
//! Explicit rules run exactly their number of updates per node; implicit rules run whole
//! rounds until the observer's residual ([`LocalRule::residual`], evaluated every
//! [`AsyncConfig::residual_every`] rounds) is below [`AsyncConfig::tol`],
//! [`AsyncConfig::max_rounds`] is reached, or the residual stops being finite (divergence,
//! reported as not converged).

use hogwild_models::{Execution, LocalRule};
use ndarray::Array2;
use rand::seq::SliceRandom;
use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// Who updates when.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Schedule {
    /// All nodes every tick, reading the previous tick (no asynchrony).
    Synchronous,
    /// One node per tick, rounds of random permutations, random bounded delays.
    RandomSweeps,
}

/// How stale each read is, within the staleness bound B.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Delay {
    /// `d` uniform in `0..B`: staleness uniform in `1..=B` ticks.
    #[default]
    Uniform,
    /// `d = B − 1` always: every read is as stale as the bound allows (the worst case).
    Max,
}

impl Delay {
    fn is_uniform(&self) -> bool {
        *self == Delay::Uniform
    }
}

/// Simulator settings (`[async]` in `harness.toml`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AsyncConfig {
    /// The schedule.
    pub schedule: Schedule,
    /// Staleness bound B ≥ 1 in ticks: reads are at most B ticks old.
    pub staleness_bound: usize,
    /// How stale each read is within the bound (default `uniform`; not serialised when
    /// default, so configs that predate it keep their hash).
    #[serde(default, skip_serializing_if = "Delay::is_uniform")]
    pub delay: Delay,
    /// Implicit rules stop once the residual is below this.
    pub tol: f64,
    /// Implicit rules stop after this many rounds even if not converged.
    pub max_rounds: usize,
    /// Implicit rules evaluate the residual every this many rounds (and after the last);
    /// the check is a global observer's, as costly as a round, and not part of the rule.
    pub residual_every: usize,
}

/// Changes to [`AsyncConfig`] for one table column: how a table sweeps the asynchrony model.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AsyncOverrides {
    /// Replaces [`AsyncConfig::schedule`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<Schedule>,
    /// Replaces [`AsyncConfig::staleness_bound`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub staleness_bound: Option<usize>,
    /// Replaces [`AsyncConfig::delay`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay: Option<Delay>,
    /// Replaces [`AsyncConfig::max_rounds`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_rounds: Option<usize>,
    /// Replaces [`AsyncConfig::tol`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tol: Option<f64>,
}

impl AsyncOverrides {
    /// Whether nothing is overridden.
    pub fn is_empty(&self) -> bool {
        *self == AsyncOverrides::default()
    }

    /// `base` with these changes.
    pub fn apply(&self, base: &AsyncConfig) -> AsyncConfig {
        AsyncConfig {
            schedule: self.schedule.unwrap_or(base.schedule),
            staleness_bound: self.staleness_bound.unwrap_or(base.staleness_bound),
            delay: self.delay.unwrap_or(base.delay),
            max_rounds: self.max_rounds.unwrap_or(base.max_rounds),
            tol: self.tol.unwrap_or(base.tol),
            ..base.clone()
        }
    }
}

/// Errors for impossible settings.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SimError {
    /// A setting is out of range.
    #[error("async.{setting} = {value} is invalid ({why})")]
    InvalidSetting {
        /// Setting name.
        setting: &'static str,
        /// The value.
        value: String,
        /// What is required.
        why: &'static str,
    },
}

impl AsyncConfig {
    /// Checks the settings.
    pub fn validate(&self) -> Result<(), SimError> {
        if self.staleness_bound == 0 {
            return Err(SimError::InvalidSetting {
                setting: "staleness_bound",
                value: "0".into(),
                why: "must be at least 1 tick",
            });
        }
        if self.tol.is_nan() || self.tol <= 0.0 {
            return Err(SimError::InvalidSetting {
                setting: "tol",
                value: self.tol.to_string(),
                why: "must be positive",
            });
        }
        if self.max_rounds == 0 {
            return Err(SimError::InvalidSetting {
                setting: "max_rounds",
                value: "0".into(),
                why: "must be at least 1",
            });
        }
        if self.residual_every == 0 {
            return Err(SimError::InvalidSetting {
                setting: "residual_every",
                value: "0".into(),
                why: "must be at least 1 round",
            });
        }
        Ok(())
    }
}

/// What a simulation produced.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// Model outputs from the final states (rows = nodes).
    pub outputs: Array2<f64>,
    /// Rounds run (ticks, for the synchronous schedule).
    pub rounds: usize,
    /// Node updates performed.
    pub updates: u64,
    /// Final residual (0 for explicit rules).
    pub residual: f64,
    /// Whether an implicit rule reached the tolerance (always true for explicit rules).
    pub converged: bool,
}

/// Versions of one node's state, oldest first, each with the tick that wrote it.
struct History(VecDeque<(u64, Vec<f64>)>);

impl History {
    fn latest(&self) -> &[f64] {
        &self.0.back().expect("never empty").1
    }
    /// The latest version written at or before `tau`.
    fn at(&self, tau: u64) -> &[f64] {
        let k = self.0.partition_point(|(t, _)| *t <= tau);
        &self.0[k.saturating_sub(1)].1
    }
    /// Records a version and forgets those no read can reach any more (reads at later
    /// ticks ask for `tau ≥ tick + 1 − bound`), handing their buffers to `spare`.
    fn push(&mut self, tick: u64, state: Vec<f64>, bound: u64, spare: &mut Vec<Vec<f64>>) {
        self.0.push_back((tick, state));
        while self.0.len() >= 2 && self.0[1].0 + bound <= tick + 1 {
            spare.extend(self.0.pop_front().map(|(_, s)| s));
        }
    }
}

/// Runs `rule` under `cfg`, drawing the schedule and delays from `rng`.
pub fn simulate(
    rule: &dyn LocalRule,
    cfg: &AsyncConfig,
    rng: &mut ChaCha8Rng,
) -> Result<Outcome, SimError> {
    cfg.validate()?;
    let graph = rule.graph();
    let n = graph.n_nodes();
    let mut states: Vec<Vec<f64>> = (0..n)
        .map(|i| {
            let mut s = vec![0.0; rule.state_len(i)];
            rule.init(i, &mut s);
            s
        })
        .collect();
    let explicit = match rule.execution() {
        Execution::Explicit { updates } => Some(updates),
        Execution::Implicit => None,
    };
    let max_rounds = explicit.unwrap_or(cfg.max_rounds);
    let mut counts = vec![0usize; n];
    let mut updates = 0u64;
    let mut rounds = 0;
    let mut residual = if explicit.is_some() {
        0.0
    } else {
        rule.residual(&states)
    };
    // Stop when converged, or when the iteration has diverged (a residual that is not
    // finite never comes back).
    let done = |residual: f64| explicit.is_none() && (residual < cfg.tol || !residual.is_finite());
    // The observer looks every `residual_every` rounds, and always after the last one.
    let check = |rounds: usize| {
        explicit.is_none() && (rounds.is_multiple_of(cfg.residual_every) || rounds == max_rounds)
    };
    match cfg.schedule {
        Schedule::Synchronous => {
            while rounds < max_rounds && !done(residual) {
                let next: Vec<Vec<f64>> = (0..n)
                    .map(|i| {
                        let views: Vec<&[f64]> = graph
                            .in_edges(i)
                            .map(|e| &states[graph.edge(e).0][..])
                            .collect();
                        let mut out = vec![0.0; states[i].len()];
                        rule.update(i, counts[i], &states[i], &views, &mut out);
                        out
                    })
                    .collect();
                states = next;
                counts.iter_mut().for_each(|c| *c += 1);
                updates += n as u64;
                rounds += 1;
                if check(rounds) {
                    residual = rule.residual(&states);
                }
            }
        }
        Schedule::RandomSweeps => {
            let bound = cfg.staleness_bound as u64;
            let mut history: Vec<History> = states
                .iter()
                .map(|s| History(VecDeque::from([(0, s.clone())])))
                .collect();
            let mut order: Vec<usize> = (0..n).collect();
            let mut tick = 0u64;
            // Buffers of forgotten versions, reused for new ones.
            let mut spare: Vec<Vec<f64>> = vec![];
            while rounds < max_rounds && !done(residual) {
                order.shuffle(rng);
                for &i in &order {
                    tick += 1;
                    let views: Vec<&[f64]> = graph
                        .in_edges(i)
                        .map(|e| {
                            let j = graph.edge(e).0;
                            if j == i {
                                history[i].latest()
                            } else {
                                let delay = match cfg.delay {
                                    Delay::Uniform => rng.random_range(0..bound),
                                    Delay::Max => bound - 1,
                                };
                                history[j].at((tick - 1).saturating_sub(delay))
                            }
                        })
                        .collect();
                    let mut out = spare.pop().unwrap_or_default();
                    out.resize(rule.state_len(i), 0.0);
                    rule.update(i, counts[i], history[i].latest(), &views, &mut out);
                    history[i].push(tick, out, bound, &mut spare);
                    counts[i] += 1;
                    updates += 1;
                }
                rounds += 1;
                if check(rounds) {
                    states = history.iter().map(|h| h.latest().to_vec()).collect();
                    residual = rule.residual(&states);
                }
            }
            states = history.iter().map(|h| h.latest().to_vec()).collect();
        }
    }
    Ok(Outcome {
        outputs: rule.readout(&states),
        rounds,
        updates,
        residual,
        converged: explicit.is_some() || residual < cfg.tol,
    })
}
