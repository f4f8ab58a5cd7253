//! The energy's batched passes over a whole batch: its value and gradients
//! ([`EnergyGnn::evaluate`]) and its Hessian as an operator ([`EnergyGnn::hessian_at`],
//! [`Hessian::apply`]).
//!
//! On batches of at least [`PARALLEL_MIN_ROWS`] nodes the passes run in blocks of
//! [`CHUNK_ROWS`] consecutive nodes on the current rayon pool. Edges are stored by target,
//! so a block's in-edges are consecutive and its messages, their aggregation and the update
//! network need nothing from another block: every row is computed by the same arithmetic
//! as in one block. What crosses blocks runs after them in node order, as in one block: the
//! energy's sum, and the scatter of each message's input gradient to its source. So the
//! bits are the same on any number of threads, and the same as unsplit. A pass that
//! accumulates parameter gradients (training) sums over rows and runs as one block.

use super::{EnergyContext, EnergyGnn};
use crate::linalg::{lift, Scalar};
use hogwild_graph::out_edges::OutEdges;
use hogwild_graph::par::{map_blocks, CHUNK_ROWS, PARALLEL_MIN_ROWS};
use hogwild_graph::Graph;
use ndarray::{s, Array2, ArrayView2, Axis};
use std::ops::Range;

use super::picnn::{PicnnContext, PicnnLinearisation, PicnnTape};

/// Consecutive nodes and their in-edges, which are consecutive too.
#[derive(Debug, Clone)]
pub(super) struct Block {
    pub(super) nodes: Range<usize>,
    pub(super) edges: Range<usize>,
}

/// `g`'s nodes in blocks of [`CHUNK_ROWS`] when `split` and the graph has at least
/// [`PARALLEL_MIN_ROWS`] nodes, else one block.
fn blocks(g: &Graph, split: bool) -> Vec<Block> {
    let n = g.n_nodes();
    let edge_start = |i: usize| {
        if i < n {
            g.in_edges(i).start
        } else {
            g.n_edges()
        }
    };
    let size = if split && n >= PARALLEL_MIN_ROWS {
        CHUNK_ROWS
    } else {
        n.max(1)
    };
    (0..n.max(1))
        .step_by(size)
        .map(|a| {
            let b = (a + size).min(n);
            Block {
                nodes: a..b,
                edges: edge_start(a)..edge_start(b),
            }
        })
        .collect()
}

/// The blocks' rows stacked in order.
fn stack<T: Clone>(parts: Vec<Array2<T>>) -> Array2<T> {
    if parts.len() == 1 {
        return parts.into_iter().next().expect("one part");
    }
    let views: Vec<_> = parts.iter().map(|p| p.view()).collect();
    ndarray::concatenate(Axis(0), &views).expect("blocks of equal width")
}

/// `m_i = Σ_{j→i} w_e msg_e` for the block's nodes, `msg` its edges' messages, `weights` one
/// per edge of the graph.
fn aggregate<T: Scalar>(g: &Graph, weights: &[f64], block: &Block, msg: &Array2<T>) -> Array2<T> {
    let d_m = msg.ncols();
    let mut m = Array2::from_elem((block.nodes.len(), d_m), T::zero());
    for (r, i) in block.nodes.clone().enumerate() {
        for e in g.in_edges(i) {
            let a = weights[e];
            for c in 0..d_m {
                m[[r, c]] += msg[[e - block.edges.start, c]] * a;
            }
        }
    }
    m
}

/// `w_e ∂/∂m_i` for every in-edge `e = j → i` of the block's nodes, `dm` their rows: the
/// adjoint of [`aggregate`].
fn spread<T: Scalar>(g: &Graph, weights: &[f64], block: &Block, dm: &Array2<T>) -> Array2<T> {
    let d_m = dm.ncols();
    let mut dmsg = Array2::from_elem((block.edges.len(), d_m), T::zero());
    for (r, i) in block.nodes.clone().enumerate() {
        for e in g.in_edges(i) {
            let a = weights[e];
            for c in 0..d_m {
                dmsg[[e - block.edges.start, c]] = dm[[r, c]] * a;
            }
        }
    }
    dmsg
}

/// The energy evaluated at one `H`: value, gradients, and both networks' forward tapes,
/// one per block.
pub(super) struct Point<T> {
    pub(super) energy: T,
    pub(super) grad: Array2<T>,
    pub(super) theta: Option<Vec<Array2<T>>>,
    blocks: Vec<Block>,
    message: Vec<PicnnTape<T>>,
    update: Vec<PicnnTape<T>>,
}

impl EnergyGnn {
    /// [`EnergyGnn::energy_grads`], keeping both networks' forward tapes (what a Hessian at
    /// the same point needs: [`EnergyGnn::hessian_at`]).
    pub(super) fn evaluate<T: Scalar>(
        &self,
        ctx: &EnergyContext<'_>,
        h: ArrayView2<'_, T>,
        theta: bool,
    ) -> Point<T> {
        let g = ctx.graph;
        let blocks = blocks(g, !theta);
        let tapes = map_blocks(blocks.len(), |b| {
            let block = &blocks[b];
            let y = self.wiring.inputs(g, h, block.nodes.clone());
            let empty = Array2::from_elem((block.edges.len(), 0), T::zero());
            let mtape = self.message.forward(
                &self.params,
                &ctx.message,
                block.edges.clone(),
                empty,
                y.view(),
            );
            let m = aggregate(g, &ctx.weights, block, &mtape.out);
            let own = h.slice(s![block.nodes.clone(), ..]);
            let utape = self
                .update
                .forward(&self.params, &ctx.update, block.nodes.clone(), m, own);
            (mtape, utape)
        });
        let (message, update): (Vec<_>, Vec<_>) = tapes.into_iter().unzip();
        let mut energy = T::zero();
        for v in update.iter().flat_map(|t| t.out.iter()) {
            energy += *v;
        }
        for v in h.iter() {
            energy += *v * *v * (0.5 * self.cfg.beta);
        }
        let mut grads = theta.then(|| {
            self.params
                .zeros_like()
                .into_iter()
                .map(|a| lift(a.view()))
                .collect::<Vec<_>>()
        });
        let parts = match grads.as_deref_mut() {
            Some(grads) => {
                assert_eq!(blocks.len(), 1, "parameter gradients run as one block");
                vec![self.backward_block(ctx, &blocks[0], &message[0], &update[0], Some(grads))]
            }
            None => map_blocks(blocks.len(), |b| {
                self.backward_block(ctx, &blocks[b], &message[b], &update[b], None)
            }),
        };
        let (dh, dy): (Vec<_>, Vec<_>) = parts.into_iter().unzip();
        let (mut dh, dy) = (stack(dh), stack(dy));
        self.wiring
            .add_input_grads(g, ctx.out_edges.as_ref(), &dy, &mut dh);
        debug_assert_eq!(dh.ncols(), self.cfg.hidden);
        dh.zip_mut_with(&h, |d, &v| *d += v * self.cfg.beta);
        Point {
            energy,
            grad: dh,
            theta: grads,
            blocks,
            message,
            update,
        }
    }

    /// The backward pass of one block from `∂E/∂u = 1`: `(∂/∂H` through the update network,
    /// `∂/∂` the message inputs of its edges), adding parameter gradients to `grads` when
    /// given (then the block is the whole batch).
    fn backward_block<T: Scalar>(
        &self,
        ctx: &EnergyContext<'_>,
        block: &Block,
        mtape: &PicnnTape<T>,
        utape: &PicnnTape<T>,
        mut grads: Option<&mut [Array2<T>]>,
    ) -> (Array2<T>, Array2<T>) {
        let g = ctx.graph;
        let ones = Array2::from_elem((block.nodes.len(), 1), T::one());
        let (dm, dh) =
            self.update
                .backward(&self.params, &ctx.update, utape, ones, grads.as_deref_mut());
        if let (Some(attention), Some(a), Some(grads)) =
            (&ctx.attention, self.attention, grads.as_deref_mut())
        {
            attention.add_grad(g, &ctx.weights, &dm, &mtape.out, &mut grads[a]);
        }
        let (_, dy) = self.message.backward(
            &self.params,
            &ctx.message,
            mtape,
            spread(g, &ctx.weights, block, &dm),
            grads,
        );
        (dh, dy)
    }

    /// [`EnergyGnn::hessian`] at an evaluated point (its forward tapes, not recomputed).
    pub(super) fn hessian_at<'s>(
        &'s self,
        ctx: &'s EnergyContext<'_>,
        point: &Point<f64>,
    ) -> Hessian<'s> {
        let g = ctx.graph;
        let blocks = &point.blocks;
        let linearised = map_blocks(blocks.len(), |b| {
            let block = &blocks[b];
            let (update, dm) = self.update.linearise(
                &self.params,
                &ctx.update,
                &point.update[b],
                Array2::ones((block.nodes.len(), 1)),
            );
            let (message, _) = self.message.linearise(
                &self.params,
                &ctx.message,
                &point.message[b],
                spread(g, &ctx.weights, block, &dm),
            );
            (message, update)
        });
        let (message, update) = linearised.into_iter().unzip();
        Hessian {
            model: self,
            graph: g,
            weights: &ctx.weights,
            message_ctx: &ctx.message,
            update_ctx: &ctx.update,
            out_edges: ctx.out_edges.as_ref(),
            blocks: blocks.clone(),
            message,
            update,
        }
    }
}

/// `∇²E(H)` at a fixed `H` ([`EnergyGnn::hessian`]).
pub struct Hessian<'s> {
    model: &'s EnergyGnn,
    graph: &'s Graph,
    weights: &'s [f64],
    message_ctx: &'s PicnnContext,
    update_ctx: &'s PicnnContext,
    out_edges: Option<&'s OutEdges>,
    blocks: Vec<Block>,
    message: Vec<PicnnLinearisation>,
    update: Vec<PicnnLinearisation>,
}

impl Hessian<'_> {
    /// `∇²E(H) · V`: the tangent of the gradient pass along `V`, exact (no differencing).
    pub fn apply(&self, v: ArrayView2<'_, f64>) -> Array2<f64> {
        let (model, g) = (self.model, self.graph);
        let parts = map_blocks(self.blocks.len(), |b| self.apply_block(b, v));
        let (hv, dy): (Vec<_>, Vec<_>) = parts.into_iter().unzip();
        let (mut hv, dy) = (stack(hv), stack(dy));
        model
            .wiring
            .add_input_grads(g, self.out_edges, &dy, &mut hv);
        hv.zip_mut_with(&v, |d, &x| *d += x * model.cfg.beta);
        hv
    }

    /// Block `b`'s part of [`Hessian::apply`]: its nodes' tangent through the update network
    /// and its edges' tangent gradient with respect to the message inputs.
    fn apply_block(&self, b: usize, v: ArrayView2<'_, f64>) -> (Array2<f64>, Array2<f64>) {
        let (model, g, block) = (self.model, self.graph, &self.blocks[b]);
        let params = &model.params;
        // An affine update network (one layer, as in every table) has no curvature and
        // passes a zero tangent back to the messages: its tangents are skipped, and so is
        // the message network's output tangent, which only it reads.
        let affine_update = model.update.is_affine();
        let mt = model.message.tangent_forward(
            params,
            self.message_ctx,
            &self.message[b],
            Array2::zeros((block.edges.len(), 0)),
            model.wiring.inputs(g, v, block.nodes.clone()).view(),
            !affine_update,
        );
        let (hv, d_msg) = if affine_update {
            (Array2::zeros((block.nodes.len(), v.ncols())), None)
        } else {
            let ut = model.update.tangent_forward(
                params,
                self.update_ctx,
                &self.update[b],
                aggregate(g, self.weights, block, mt.out.as_ref().expect("asked for")),
                v.slice(s![block.nodes.clone(), ..]),
                false,
            );
            // The update network's output gradient is the constant 1: its tangent is zero.
            let (dm, hv) =
                model
                    .update
                    .tangent_backward(params, self.update_ctx, &self.update[b], &ut, None);
            (hv, Some(spread(g, self.weights, block, &dm)))
        };
        let (_, dy) =
            model
                .message
                .tangent_backward(params, self.message_ctx, &self.message[b], &mt, d_msg);
        (hv, dy)
    }
}

#[cfg(test)]
mod tests {
    use super::super::config::test_config;
    use super::super::variants::Wiring;
    use super::super::{EnergyConfig, LinearSolver};
    use super::*;
    use crate::registry::Dims;
    use hogwild_graph::par::on_threads;
    use hogwild_graph::Batch;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn bits(a: &Array2<f64>) -> Vec<u64> {
        a.iter().map(|v| v.to_bits()).collect()
    }

    #[test]
    fn passes_split_into_blocks_have_the_bits_of_one_block_on_any_number_of_threads() {
        // Enough nodes for several blocks, and a last block shorter than the others. A pass
        // with parameter gradients runs as one block: its `grad` is the unsplit reference.
        let n = PARALLEL_MIN_ROWS + CHUNK_ROWS / 2 + 3;
        let sample = hogwild_datasets::synthetic::geometric_sample(n, 6.0, 2, 5);
        let batch = Batch::single(&sample);
        assert!(blocks(&batch.graph, true).len() > 4);
        let dims = Dims {
            in_dim: 2,
            edge_dim: batch.graph.edge_feature_dim(),
            out_dim: 2,
        };
        let cases = [
            ("edge-wise, curved update", Wiring::EDGE, vec![4, 1]),
            ("node-wise, affine update", Wiring::NODE, vec![1]),
            ("attention, curved update", Wiring::ATTENTION, vec![4, 1]),
        ];
        for (case, wiring, update_widths) in cases {
            // Conjugate gradients: the context then assembles no Hessian pattern.
            let cfg = EnergyConfig {
                linear_solver: LinearSolver::Cg,
                ..test_config(update_widths)
            };
            let mut rng = ChaCha8Rng::seed_from_u64(1);
            let model = EnergyGnn::variant(&cfg, "energy", wiring, dims, &mut rng).unwrap();
            let ctx = model.context(&batch).unwrap();
            let at = |i: usize, c: usize| ((i * 7 + c * 3) % 13) as f64 / 5.0 - 1.2;
            let h = Array2::from_shape_fn((n, cfg.hidden), |(i, c)| at(i, c));
            let v = Array2::from_shape_fn((n, cfg.hidden), |(i, c)| at(i + 5, c + 1));
            let whole = model.evaluate(&ctx, h.view(), true);
            let want_hv = model.hessian_at(&ctx, &whole).apply(v.view());
            for threads in [1, 2, 3] {
                let (split, hv) = on_threads(threads, || {
                    let split = model.evaluate(&ctx, h.view(), false);
                    let hv = model.hessian_at(&ctx, &split).apply(v.view());
                    (split, hv)
                });
                assert_eq!(split.blocks.len(), blocks(&batch.graph, true).len());
                assert_eq!(split.energy.to_bits(), whole.energy.to_bits(), "{case}");
                assert_eq!(bits(&split.grad), bits(&whole.grad), "{case}: gradient");
                assert_eq!(bits(&hv), bits(&want_hv), "{case}: Hessian-vector product");
            }
        }
    }

    #[test]
    fn input_gradients_gathered_by_rows_have_the_bits_of_the_scatter() {
        // Directed edges, self-loops and nodes without out-edges: every term reaches its
        // row in the scatter's order.
        let n = PARALLEL_MIN_ROWS + 700;
        let mut edges = vec![];
        for i in 0..n {
            for step in [1, 7, 4099] {
                if (i * step) % 5 != 0 {
                    edges.push(((i + step) % n, i, 1.0));
                }
            }
            if i % 3 == 0 {
                edges.push((i, i, 1.0));
            }
        }
        let g = Graph::from_weighted_edges(n, &edges, None).unwrap();
        let out = OutEdges::new(&g);
        let k = 3;
        let value = |a: usize, b: usize| ((a * 31 + b * 17) % 29) as f64 / 7.0 - 2.0;
        for wiring in [Wiring::EDGE, Wiring::NODE] {
            let dy = Array2::from_shape_fn((g.n_edges(), wiring.ends() * k), |(e, c)| value(e, c));
            let dh0 = Array2::from_shape_fn((n, k), |(i, c)| value(i + 3, c + 1) * 1e-3);
            let mut want = dh0.clone();
            wiring.add_input_grads(&g, None, &dy, &mut want);
            for threads in [1, 2, 3] {
                let mut got = dh0.clone();
                on_threads(threads, || {
                    wiring.add_input_grads(&g, Some(&out), &dy, &mut got)
                });
                assert_eq!(
                    bits(&got),
                    bits(&want),
                    "{} ends, {threads} threads",
                    wiring.ends()
                );
            }
        }
    }
}
