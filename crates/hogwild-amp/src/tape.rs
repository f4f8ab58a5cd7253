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
//!
//! A run keeps state only for the nodes it has touched (received a message at), in the
//! order it touched them; every other node still holds its encoding (and the initial cell
//! state, mass and accumulator), read from the shared encoded states. A run with a budget of
//! `B` messages thus costs O(B × H) however large the graph, plus one index per node.

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

/// Marks a node the run has not touched in [`AmpRun::slots`].
const UNTOUCHED: u32 = u32::MAX;

/// The state of one run.
pub(crate) struct AmpRun<'m> {
    model: &'m AmpModel,
    /// Every node's encoding, `n × H`: the state of the nodes the run has not touched.
    encoded: &'m [f64],
    /// Per node, its slot in the touched nodes' states, or [`UNTOUCHED`].
    slots: Vec<u32>,
    /// The touched nodes, by slot (in the order the run first touched them).
    touched: Vec<u32>,
    /// Touched nodes' states, `slots × H`.
    h: Vec<f64>,
    /// Touched nodes' LSTM cell states, `slots × H` (empty otherwise).
    c: Vec<f64>,
    /// Touched nodes' ACT/Iter accumulators `o`, `slots × H` (empty otherwise).
    acc: Vec<f64>,
    /// Touched nodes' ACT mass `A` or Iter confidence `r` (empty otherwise).
    mass: Vec<f64>,
    /// `H` zeros: the accumulator of an untouched node.
    zeros: Vec<f64>,
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
    pub fn new(model: &'m AmpModel, encoded: &'m [f64], record: bool) -> AmpRun<'m> {
        let cfg = &model.config;
        let n = encoded.len() / cfg.hidden;
        AmpRun {
            model,
            encoded,
            slots: vec![UNTOUCHED; n],
            touched: Vec::new(),
            h: Vec::new(),
            c: Vec::new(),
            acc: Vec::new(),
            mass: Vec::new(),
            zeros: vec![0.0; cfg.hidden],
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
        let nodes = messages.min(self.slots.len());
        self.touched.reserve(nodes);
        self.h.reserve(nodes * cfg.hidden);
        if self.record {
            self.steps.reserve(messages);
            self.floats.reserve(messages * self.stride());
        }
    }

    /// Node `v`'s slot, if the run has touched it.
    fn slot(&self, v: usize) -> Option<usize> {
        let s = self.slots[v];
        (s != UNTOUCHED).then_some(s as usize)
    }

    /// Node `v`'s slot, giving it one (with its initial state) if it has none.
    fn touch(&mut self, v: usize) -> usize {
        if let Some(s) = self.slot(v) {
            return s;
        }
        let cfg = &self.model.config;
        let hd = cfg.hidden;
        let s = self.touched.len();
        self.slots[v] = s as u32;
        self.touched.push(v as u32);
        self.h
            .extend_from_slice(&self.encoded[v * hd..(v + 1) * hd]);
        if cfg.update == crate::model::Update::Lstm {
            self.c.resize(self.c.len() + hd, 0.0);
        }
        match cfg.halting {
            Halting::None => {}
            Halting::Act => {
                self.acc.resize(self.acc.len() + hd, 0.0);
                self.mass.push(0.0);
            }
            Halting::Iter => {
                self.acc.resize(self.acc.len() + hd, 0.0);
                self.mass.push(1.0);
            }
        }
        s
    }

    /// Keeps the states of `start`, the run's start node, for [`AmpRun::skip_output`].
    pub fn track_start(&mut self, start: usize) {
        let hd = self.model.config.hidden;
        self.history = Some(StartHistory {
            start,
            states: self.encoded[start * hd..(start + 1) * hd].to_vec(),
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
        let halting = self.model.config.halting != Halting::None;
        match self.slot(v) {
            Some(s) if halting => &self.acc[s * h..(s + 1) * h],
            Some(s) => &self.h[s * h..(s + 1) * h],
            None if halting => &self.zeros,
            None => &self.encoded[v * h..(v + 1) * h],
        }
    }

    fn stride(&self) -> usize {
        let cfg = &self.model.config;
        2 * cfg.hidden + cfg.message + cells::cache_len(cfg.update, cfg.hidden)
    }

    /// Reverse mode over the tape. `g_output` is the loss gradient with respect to the nodes'
    /// readout states ([`AmpRun::output`]) and `g_skip` with respect to the skip readout
    /// ([`AmpRun::skip_output`], `4H`; empty: zero); parameter gradients are added to
    /// `grads`, none of whose entries may be −0 (see [`outer_add_sparse`]; a buffer that
    /// starts at zero and only has gradients added to it has none).
    pub fn backward(
        &self,
        features: &Array2<f64>,
        g_output: OutputGrad,
        g_skip: &[f64],
        grads: &mut [Array2<f64>],
    ) {
        assert!(self.record, "backward needs the tape");
        let skip_slots = if g_skip.is_empty() {
            Vec::new()
        } else {
            self.skip_slots()
        };
        let model = self.model;
        let ids = &model.ids;
        let (hd, md) = (model.config.hidden, model.config.message);
        let halting = model.config.halting;
        // Gradient w.r.t. each touched node's current state h, cell state c, halting mass;
        // fixed gradient w.r.t. the accumulators (they are sums of per-step terms). By slot.
        let mut g_touched = vec![0.0; self.h.len()];
        for (s, &v) in self.touched.iter().enumerate() {
            if let Some(g) = g_output.row(v as usize, hd) {
                g_touched[s * hd..(s + 1) * hd].copy_from_slice(g);
            }
        }
        let (mut g_h, g_acc) = match halting {
            Halting::None => (g_touched, Vec::new()),
            _ => (vec![0.0; self.h.len()], g_touched),
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
            let v = self.slots[step.node as usize] as usize;
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
        // The skip readout's encoding entry: a gradient on the start node's encoding.
        let skip_start = skip_slots
            .iter()
            .find(|(s, _)| s.is_none())
            .map(|&(_, slot)| {
                let start = self.history.as_ref().expect("slots come from it").start;
                (start, &g_skip[slot * hd..(slot + 1) * hd])
            });
        if let Some((start, g)) = skip_start {
            if let Some(s) = self.slot(start) {
                add(&mut g_h[s * hd..(s + 1) * hd], g);
            }
        }
        // Encoder: h_v = W_enc x_v + b_enc, in ascending node order. Only touched nodes, the
        // nodes `g_output` names and the skip readout's start can have a nonzero gradient
        // w.r.t. their encoding; every other node's is zero and adds nothing.
        let mut nodes: Vec<usize> = match g_output {
            OutputGrad::Dense(_) => (0..self.slots.len()).collect(),
            _ => self.touched.iter().map(|&v| v as usize).collect(),
        };
        nodes.extend(g_output.node());
        nodes.extend(skip_start.map(|(start, _)| start));
        nodes.sort_unstable();
        nodes.dedup();
        let mut untouched = vec![0.0; hd];
        for v in nodes {
            let g = match self.slot(v) {
                Some(s) => &g_h[s * hd..(s + 1) * hd],
                None => {
                    // The gradient an untouched node's state keeps from the readout.
                    untouched.iter_mut().for_each(|x| *x = 0.0);
                    if halting == Halting::None {
                        if let Some(g) = g_output.row(v, hd) {
                            untouched.copy_from_slice(g);
                        }
                    }
                    if let Some((_, g)) = skip_start.filter(|&(start, _)| start == v) {
                        add(&mut untouched, g);
                    }
                    &untouched[..]
                }
            };
            if g.iter().any(|&x| x != 0.0) {
                let row = features.row(v);
                let owned;
                let x = match row.as_slice() {
                    Some(x) => x,
                    None => {
                        owned = row.to_vec();
                        &owned[..]
                    }
                };
                outer_add_sparse(grads[ids.enc_w].as_slice_mut().unwrap(), g, x);
                add(grads[ids.enc_b].as_slice_mut().unwrap(), g);
            }
        }
    }
}

/// [`outer_add`] that skips the columns where `x` is zero (one-hot features): with finite
/// `g`, each skipped term is a zero, and adding a zero leaves every entry of `w` as it is as
/// long as none is −0 (a gradient that starts at +0 and only ever has numbers added to it
/// never is: in round-to-nearest a sum is −0 only when both terms are). With a non-finite
/// `g` (whose products with zero are NaN), every column.
fn outer_add_sparse(w: &mut [f64], g: &[f64], x: &[f64]) {
    if !g.iter().all(|a| a.is_finite()) {
        outer_add(w, g, x);
        return;
    }
    let cols = x.len();
    for (j, &xj) in x.iter().enumerate() {
        if xj != 0.0 {
            for (&gi, row) in g.iter().zip(w.chunks_exact_mut(cols)) {
                if gi != 0.0 {
                    row[j] += gi * xj;
                }
            }
        }
    }
}

/// The loss gradient w.r.t. a run's readout states ([`AmpRun::output`]).
#[derive(Debug, Clone, Copy)]
pub(crate) enum OutputGrad<'a> {
    /// Zero everywhere.
    Zero,
    /// Zero except at one node: `(node, its H entries)`.
    Row(usize, &'a [f64]),
    /// Every node's, `n × H`.
    Dense(&'a [f64]),
}

impl OutputGrad<'_> {
    /// The gradient at node `v` (`H` entries), or `None` where it is zero.
    fn row(&self, v: usize, hd: usize) -> Option<&[f64]> {
        match *self {
            OutputGrad::Zero => None,
            OutputGrad::Row(u, g) => (u == v).then_some(g),
            OutputGrad::Dense(g) => Some(&g[v * hd..(v + 1) * hd]),
        }
    }

    /// The node of a [`OutputGrad::Row`].
    fn node(&self) -> Option<usize> {
        match *self {
            OutputGrad::Row(v, _) => Some(v),
            _ => None,
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
        let node = delivery.receiver;
        // The receiver's slot in the touched nodes' states.
        let v = self.touch(node);
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
        if let Some(history) = self.history.as_mut().filter(|h| h.start == node) {
            history.states.extend_from_slice(h_new);
            history.steps.push(self.steps.len());
        }
        if self.record {
            self.steps.push(Step {
                node: node as u32,
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
