//! One AMP run as a node program, with the tape of processed messages and reverse mode over it.
//!
//! A run starts from the encoded states (every node reset to `W_enc x_v + b_enc`; LSTM cell
//! states 0; ACT mass 0 and Iter confidence 1; accumulators 0). Messages live in an arena;
//! the queue carries only their index, and all copies of one broadcast share it. When the tape
//! is on, every processed message appends a step: the receiver, the incoming and outgoing
//! message indices (which message fed which), the old and new state, the cell's cache, and the
//! halting scalars. Backward walks the steps in reverse, keeping per node the gradient with
//! respect to its current state (and cell state, halting mass), and per message the gradient
//! with respect to it, which is complete when its producing step is reached because every
//! consumer was processed later. Memory is O(messages × H) (note §1.5).

use crate::cells::{self, add, StepGrads};
use crate::engine::{Delivery, Process, Reaction};
use crate::model::{
    dot, matvec_add, matvec_split_add, matvec_t_add, outer_add, sigmoid, AmpModel, Halting,
    HALT_EPSILON, SKIP_STATES,
};
use ndarray::Array2;

/// Index of a message in the run's arena (0 is the initial message).
pub(crate) type MessageId = u32;

#[derive(Debug, Clone, Copy)]
struct Step {
    node: u32,
    message_in: MessageId,
    message_out: MessageId,
    /// ACT: the halting probability after clamping; Iter: the confidence `c`.
    halt: f64,
    /// ACT: mass before; Iter: remaining confidence before.
    mass_before: f64,
    /// ACT: whether `p` was clamped to `1 − A`.
    clamped: bool,
}

/// The state of one run.
pub(crate) struct AmpRun<'m> {
    model: &'m AmpModel,
    /// Node states, `n × H`.
    pub h: Vec<f64>,
    /// LSTM cell states, `n × H` (empty otherwise).
    c: Vec<f64>,
    /// ACT/Iter accumulators `o`, `n × H` (empty otherwise).
    acc: Vec<f64>,
    /// ACT mass `A` or Iter confidence `r` per node (empty otherwise).
    mass: Vec<f64>,
    /// Message arena, `M` floats each.
    messages: Vec<f64>,
    record: bool,
    steps: Vec<Step>,
    /// Per step: `[h_old ‖ m]` (H + M), `h_new` (H), the cell cache.
    floats: Vec<f64>,
    /// Scratch: `[h_old ‖ m]`, the cell cache and the gates of the current step.
    hm: Vec<f64>,
    cache: Vec<f64>,
    gates: Vec<f64>,
    /// The skip readout's record of the start node: its states in order (the encoding
    /// first), and the step that made each later one.
    history: Option<StartHistory>,
}

/// The states of a run's start node, for the skip readout.
struct StartHistory {
    start: usize,
    /// `entries × H`: the encoding, then the state after each of the start node's updates.
    states: Vec<f64>,
    /// The tape step of entry `i + 1`.
    steps: Vec<usize>,
}

impl<'m> AmpRun<'m> {
    /// A run from the encoded states `encoded` (`n × H`); `record` turns the tape on.
    pub fn new(model: &'m AmpModel, encoded: &[f64], record: bool) -> AmpRun<'m> {
        let cfg = &model.config;
        let n_h = encoded.len();
        let lstm = cfg.update == crate::model::Update::Lstm;
        let n = n_h / cfg.hidden;
        let (acc, mass) = match cfg.halting {
            Halting::None => (Vec::new(), Vec::new()),
            Halting::Act => (vec![0.0; n_h], vec![0.0; n]),
            Halting::Iter => (vec![0.0; n_h], vec![1.0; n]),
        };
        AmpRun {
            model,
            h: encoded.to_vec(),
            c: if lstm { vec![0.0; n_h] } else { Vec::new() },
            acc,
            mass,
            messages: cfg.initial_message.clone(),
            record,
            steps: Vec::new(),
            floats: Vec::new(),
            hm: Vec::with_capacity(cfg.hidden + cfg.message),
            cache: vec![0.0; cells::cache_len(cfg.update, cfg.hidden)],
            gates: Vec::new(),
            history: None,
        }
    }

    /// Makes room for `messages` processed messages (the run's budget), so that the message
    /// arena and the tape grow without copying themselves.
    pub fn reserve(&mut self, messages: usize) {
        let cfg = &self.model.config;
        self.messages.reserve(messages * cfg.message);
        if self.record {
            self.steps.reserve(messages);
            self.floats.reserve(messages * self.stride());
        }
    }

    /// Keeps the states of `start`, the run's start node, for [`AmpRun::skip_output`].
    pub fn track_start(&mut self, start: usize) {
        let hd = self.model.config.hidden;
        self.history = Some(StartHistory {
            start,
            states: self.h[start * hd..(start + 1) * hd].to_vec(),
            steps: Vec::new(),
        });
    }

    /// The skip readout: the start node's last [`SKIP_STATES`] states, oldest first, with
    /// zeros in front when it has fewer (`4H`; code). Needs [`AmpRun::track_start`].
    pub fn skip_output(&self) -> Vec<f64> {
        let hd = self.model.config.hidden;
        let history = self.history.as_ref().expect("track_start before the run");
        let mut out = vec![0.0; SKIP_STATES * hd];
        let kept = history.states.len().min(SKIP_STATES * hd);
        let len = out.len();
        out[len - kept..].copy_from_slice(&history.states[history.states.len() - kept..]);
        out
    }

    /// `(tape step or None for the encoding, slot in the skip readout)` of the start
    /// node's states that the skip readout reads.
    fn skip_slots(&self) -> Vec<(Option<usize>, usize)> {
        let Some(history) = &self.history else {
            return Vec::new();
        };
        let entries = history.steps.len() + 1;
        (entries.saturating_sub(SKIP_STATES)..entries)
            .map(|e| {
                let step = e.checked_sub(1).map(|i| history.steps[i]);
                (step, e + SKIP_STATES - entries)
            })
            .collect()
    }

    /// The state the readout uses at node `v`: the accumulator for ACT/Iter, else `h_v`.
    pub fn output(&self, v: usize) -> &[f64] {
        let h = self.model.config.hidden;
        let states = if self.acc.is_empty() {
            &self.h
        } else {
            &self.acc
        };
        &states[v * h..(v + 1) * h]
    }

    fn stride(&self) -> usize {
        let cfg = &self.model.config;
        2 * cfg.hidden + cfg.message + cells::cache_len(cfg.update, cfg.hidden)
    }

    /// Reverse mode over the tape. `g_output` is the loss gradient with respect to every node's
    /// readout state ([`AmpRun::output`], `n × H`; empty: zero) and `g_skip` with respect to
    /// the skip readout ([`AmpRun::skip_output`], `4H`; empty: zero); parameter gradients
    /// are added to `grads`.
    pub fn backward(
        &self,
        features: &Array2<f64>,
        g_output: &[f64],
        g_skip: &[f64],
        grads: &mut [Array2<f64>],
    ) {
        assert!(self.record, "backward needs the tape");
        let zeros;
        let g_output = if g_output.is_empty() {
            zeros = vec![0.0; self.h.len()];
            &zeros[..]
        } else {
            g_output
        };
        let skip_slots = if g_skip.is_empty() {
            Vec::new()
        } else {
            self.skip_slots()
        };
        let model = self.model;
        let ids = &model.ids;
        let (hd, md) = (model.config.hidden, model.config.message);
        let halting = model.config.halting;
        // Gradient w.r.t. each node's current state h, cell state c, halting mass; fixed
        // gradient w.r.t. the accumulators (they are sums of per-step terms).
        let (mut g_h, g_acc) = match halting {
            Halting::None => (g_output.to_vec(), Vec::new()),
            _ => (vec![0.0; g_output.len()], g_output.to_vec()),
        };
        let mut g_c = vec![0.0; self.c.len()];
        let mut g_mass = vec![0.0; self.mass.len()];
        let mut g_msg = vec![0.0; self.messages.len()];
        let stride = self.stride();
        // Scratch, reused by every step: d/d h_new, d/d [h_old ‖ m], [h_new ‖ m], gates.
        let mut gh_new = vec![0.0; hd];
        let mut g_hm = vec![0.0; hd + md];
        let mut hn_m = vec![0.0; hd + md];
        let mut gates = Vec::new();
        for (k, step) in self.steps.iter().enumerate().rev() {
            let v = step.node as usize;
            let rec = &self.floats[k * stride..(k + 1) * stride];
            let (hm, rest) = rec.split_at(hd + md);
            let (h_new, cache) = rest.split_at(hd);
            gh_new.copy_from_slice(&g_h[v * hd..(v + 1) * hd]);
            if let Some(&(_, slot)) = skip_slots.iter().find(|(s, _)| *s == Some(k)) {
                add(&mut gh_new, &g_skip[slot * hd..(slot + 1) * hd]);
            }
            g_hm.iter_mut().for_each(|x| *x = 0.0);
            // Outgoing message m' = W_m [h_new ‖ m] + b_m: its gradient is complete (every
            // consumer was processed later).
            let out = step.message_out as usize * md;
            let g_out = &g_msg[out..out + md];
            hn_m[..hd].copy_from_slice(h_new);
            hn_m[hd..].copy_from_slice(&hm[hd..]);
            outer_add(grads[ids.msg_w].as_slice_mut().unwrap(), g_out, &hn_m);
            add(grads[ids.msg_b].as_slice_mut().unwrap(), g_out);
            for (i, &g) in g_out.iter().enumerate() {
                if g != 0.0 {
                    let row = &model.slice(ids.msg_w)[i * (hd + md)..(i + 1) * (hd + md)];
                    gh_new
                        .iter_mut()
                        .zip(&row[..hd])
                        .for_each(|(a, w)| *a += g * w);
                    g_hm[hd..]
                        .iter_mut()
                        .zip(&row[hd..])
                        .for_each(|(a, w)| *a += g * w);
                }
            }
            // Halting: gradient w.r.t. the pre-sigmoid halting score.
            let g_score = match halting {
                Halting::None => 0.0,
                Halting::Act => {
                    let g_o = &g_acc[v * hd..(v + 1) * hd];
                    let p = step.halt;
                    let g_p = dot(g_o, h_new) + g_mass[v];
                    gh_new.iter_mut().zip(g_o).for_each(|(a, b)| *a += p * b);
                    if step.clamped {
                        // p = 1 − A_before: A_after = 1 no longer depends on A_before.
                        g_mass[v] -= g_p;
                        0.0
                    } else {
                        g_p * p * (1.0 - p)
                    }
                }
                Halting::Iter => {
                    let g_o = &g_acc[v * hd..(v + 1) * hd];
                    let (c, r) = (step.halt, step.mass_before);
                    let g_oh = dot(g_o, h_new);
                    gh_new
                        .iter_mut()
                        .zip(g_o)
                        .for_each(|(a, b)| *a += r * c * b);
                    let g_c = r * g_oh - r * g_mass[v];
                    g_mass[v] = c * g_oh + (1.0 - c) * g_mass[v];
                    g_c * c * (1.0 - c)
                }
            };
            if let Some((w, b)) = ids.halt {
                if g_score != 0.0 {
                    outer_add(grads[w].as_slice_mut().unwrap(), &[g_score], hm);
                    grads[b][(0, 0)] += g_score;
                    matvec_t_add(&mut g_hm, model.slice(w), &[g_score]);
                }
            }
            // The cell.
            let c_range = if g_c.is_empty() {
                0..0
            } else {
                v * hd..(v + 1) * hd
            };
            cells::backward(
                model,
                hm,
                h_new,
                cache,
                StepGrads {
                    params: grads,
                    h_new: &mut gh_new,
                    c: &mut g_c[c_range],
                    hm: &mut g_hm,
                    gates: &mut gates,
                },
            );
            g_h[v * hd..(v + 1) * hd].copy_from_slice(&g_hm[..hd]);
            let input = step.message_in as usize * md;
            add(&mut g_msg[input..input + md], &g_hm[hd..]);
        }
        if let Some(&(_, slot)) = skip_slots.iter().find(|(s, _)| s.is_none()) {
            let start = self.history.as_ref().expect("slots come from it").start;
            add(
                &mut g_h[start * hd..(start + 1) * hd],
                &g_skip[slot * hd..(slot + 1) * hd],
            );
        }
        // Encoder: h_v = W_enc x_v + b_enc.
        for (v, x) in features.rows().into_iter().enumerate() {
            let g = &g_h[v * hd..(v + 1) * hd];
            if g.iter().any(|&x| x != 0.0) {
                let x = x.to_vec();
                outer_add(grads[ids.enc_w].as_slice_mut().unwrap(), g, &x);
                add(grads[ids.enc_b].as_slice_mut().unwrap(), g);
            }
        }
    }
}

/// Encodes every node: row `v` of the result (flattened, `n × H`) is `W_enc x_v + b_enc`.
pub(crate) fn encode(model: &AmpModel, features: &Array2<f64>) -> Vec<f64> {
    let hd = model.config.hidden;
    assert_eq!(features.ncols(), model.config.features, "feature width");
    let mut out = Vec::with_capacity(features.nrows() * hd);
    for x in features.rows() {
        let x = x.to_vec();
        let start = out.len();
        out.extend_from_slice(model.slice(model.ids.enc_b));
        matvec_add(&mut out[start..], model.slice(model.ids.enc_w), &x);
    }
    out
}

impl Process for AmpRun<'_> {
    type Message = MessageId;

    fn on_message(&mut self, delivery: Delivery, &message: &MessageId) -> Reaction<MessageId> {
        let model = self.model;
        let ids = &model.ids;
        let (hd, md) = (model.config.hidden, model.config.message);
        let v = delivery.receiver;
        let halting = model.config.halting;
        match halting {
            Halting::Act if self.mass[v] > 1.0 - HALT_EPSILON => {
                return Reaction::Dropped {
                    counts_against_budget: true,
                }
            }
            Halting::Iter if self.mass[v] < HALT_EPSILON => {
                return Reaction::Dropped {
                    counts_against_budget: false,
                }
            }
            _ => {}
        }
        let input = message as usize * md;
        let mut hm = std::mem::take(&mut self.hm);
        hm.clear();
        hm.extend_from_slice(&self.h[v * hd..(v + 1) * hd]);
        hm.extend_from_slice(&self.messages[input..input + md]);
        let halt_score = ids.halt.map(|(w, b)| {
            let mut s = [model.slice(b)[0]];
            matvec_add(&mut s, model.slice(w), &hm);
            sigmoid(s[0])
        });
        let c_state = if self.c.is_empty() {
            &mut self.c[0..0]
        } else {
            &mut self.c[v * hd..(v + 1) * hd]
        };
        let h_new = &mut self.h[v * hd..(v + 1) * hd];
        cells::forward(model, &hm, c_state, h_new, &mut self.cache, &mut self.gates);
        // Outgoing message W_m [h_new ‖ m] + b_m.
        let out_id = (self.messages.len() / md) as MessageId;
        let start = self.messages.len();
        self.messages.extend_from_slice(model.slice(ids.msg_b));
        matvec_split_add(
            &mut self.messages[start..],
            model.slice(ids.msg_w),
            h_new,
            &hm[hd..],
        );
        let mass_before = self.mass.get(v).copied().unwrap_or(0.0);
        let (mut halt, mut clamped) = (0.0, false);
        if let Some(s) = halt_score {
            let acc = &mut self.acc[v * hd..(v + 1) * hd];
            if halting == Halting::Act {
                halt = s;
                if mass_before + s > 1.0 {
                    halt = 1.0 - mass_before;
                    clamped = true;
                }
                acc.iter_mut()
                    .zip(&*h_new)
                    .for_each(|(o, x)| *o += halt * x);
                self.mass[v] = mass_before + halt;
            } else {
                halt = s;
                let weight = mass_before * s;
                acc.iter_mut()
                    .zip(&*h_new)
                    .for_each(|(o, x)| *o += weight * x);
                self.mass[v] = mass_before * (1.0 - s);
            }
        }
        if let Some(history) = self.history.as_mut().filter(|h| h.start == v) {
            history.states.extend_from_slice(h_new);
            history.steps.push(self.steps.len());
        }
        if self.record {
            self.steps.push(Step {
                node: v as u32,
                message_in: message,
                message_out: out_id,
                halt,
                mass_before,
                clamped,
            });
            self.floats.extend_from_slice(&hm);
            self.floats.extend_from_slice(h_new);
            self.floats.extend_from_slice(&self.cache);
        }
        self.hm = hm;
        Reaction::Processed(Some(out_id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delays::{Budget, Delays};
    use crate::engine::{Engine, RunStats};
    use crate::model::{AmpConfig, Update};
    use hogwild_graph::Graph;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    /// A run of a halting model whose halting score is pushed to σ(5) ≈ 0.993.
    fn halting_run(halting: Halting) -> (RunStats, usize) {
        let config = AmpConfig {
            features: 1,
            hidden: 3,
            message: 2,
            classes: 2,
            update: Update::Rnn,
            halting,
            initial_message: vec![1.0, 1.0],
            skip_readout: false,
        };
        let mut model = AmpModel::new(config, &mut ChaCha8Rng::seed_from_u64(1));
        let (_, bias) = model.ids.halt.unwrap();
        model.params.get_mut(bias)[(0, 0)] = 5.0;
        let pairs: Vec<_> = (0..6).map(|i| (i, (i + 1) % 6)).collect();
        let graph = Graph::undirected(6, &pairs).unwrap();
        let encoded = encode(&model, &Array2::ones((6, 1)));
        let mut run = AmpRun::new(&model, &encoded, true);
        let mut engine = Engine::new(Delays::Constant, Budget::PerNode(10));
        let stats = engine.run(&graph, &mut run, 0, 0, &mut ChaCha8Rng::seed_from_u64(0));
        (stats, run.steps.len())
    }

    #[test]
    fn act_drops_count_against_the_budget() {
        let (stats, steps) = halting_run(Halting::Act);
        // p ≈ 0.993, then clamped to 1 − A: every node halts after two updates.
        assert_eq!(stats.processed, steps);
        assert!(steps <= 12, "{stats:?}");
        assert!(stats.dropped > 0);
        // Halted nodes send nothing, so the queue empties before the budget of 60.
        assert_eq!(stats.counted, stats.processed + stats.dropped);
        assert!(stats.counted < 60 && stats.left_in_queue == 0, "{stats:?}");
    }

    #[test]
    fn iter_drops_do_not_count_against_the_budget() {
        let (stats, steps) = halting_run(Halting::Iter);
        // r shrinks by ≈ 0.0067 per update: below 1e-7 after four updates per node, so the
        // queue empties before the budget is spent.
        assert_eq!(stats.processed, steps);
        assert!(stats.dropped > 0);
        assert_eq!(stats.counted, stats.processed);
        assert!(stats.counted < 60 && stats.left_in_queue == 0, "{stats:?}");
    }
}
