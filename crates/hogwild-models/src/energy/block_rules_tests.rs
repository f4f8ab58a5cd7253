//! The block rules' local derivatives against the assembled energy's and against finite
//! differences, for every variant, on an undirected graph and on one with unequal two-way
//! weights, with an affine and a deeper update network.

use super::*;
use crate::energy::config::test_config as config;
use crate::energy::variants::Wiring;
use crate::registry::{Dims, ModelSpec};
use hogwild_graph::{Batch, Sample, Targets};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Two-way edges with unequal weights (the asynchronous rules need every edge's reverse).
fn two_way_sample() -> Sample {
    let edges = [
        (0, 1, 1.0),
        (1, 0, 0.3),
        (1, 2, 0.5),
        (2, 1, 2.0),
        (2, 3, 1.0),
        (3, 2, 1.0),
        (3, 4, 0.7),
        (4, 3, 1.6),
        (4, 5, 1.3),
        (5, 4, 0.2),
        (0, 5, 0.4),
        (5, 0, 0.9),
    ];
    let mut r = ChaCha8Rng::seed_from_u64(9);
    Sample {
        graph: Graph::from_weighted_edges(6, &edges, None).unwrap(),
        features: Array2::from_shape_fn((6, 2), |_| r.random_range(-1.0..1.0)),
        targets: Targets::Classes(vec![0, 1, 0, 1, 0, 1]),
    }
}

/// For each in-edge `e = j → i`, the position of `i → j` among `j`'s in-edges.
fn reverse(g: &Graph) -> Vec<usize> {
    let mut reverse = vec![0; g.n_edges()];
    for i in 0..g.n_nodes() {
        for e in g.in_edges(i) {
            let j = g.edge(e).0;
            reverse[e] = g.find_edge(j, i).unwrap() - g.in_edges(j).start;
        }
    }
    reverse
}

fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * (1.0 + a.abs().max(b.abs()))
}

#[test]
fn local_blocks_and_messages_match_the_energy_and_finite_differences() {
    let samples = [
        (
            hogwild_datasets::synthetic::random_sample(7, 0.3, 2, 2, true, 4),
            1,
        ),
        (two_way_sample(), 0),
    ];
    // Widths 3 and 6: curvature directions fill part of one dual pass, and more than one.
    for (wiring, hidden) in [Wiring::EDGE, Wiring::NODE, Wiring::ATTENTION]
        .into_iter()
        .flat_map(|w| [(w, 3), (w, 6)])
    {
        for widths in [vec![1], vec![4, 1]] {
            for (sample, edge_dim) in &samples {
                let dims = Dims {
                    in_dim: 2,
                    edge_dim: *edge_dim,
                    out_dim: 2,
                };
                let mut r = ChaCha8Rng::seed_from_u64(3);
                let cfg = EnergyConfig {
                    hidden,
                    ..config(widths.clone())
                };
                let model = EnergyGnn::variant(&cfg, "energy", wiring, dims, &mut r).unwrap();
                let batch = Batch::single(sample);
                let g = &batch.graph;
                let rule = BlockRule::new(&model, model.context(&batch).unwrap(), reverse(g), 1.0);
                check_node_derivatives(&model, &rule, &mut r);
            }
        }
    }
}

fn check_node_derivatives(model: &EnergyGnn, rule: &BlockRule<'_>, r: &mut ChaCha8Rng) {
    let g = rule.ctx.graph;
    let (n, k, stride) = (g.n_nodes(), rule.k(), rule.stride());
    let h = Array2::from_shape_fn((n, k), |_| r.random_range(-1.0..1.0));
    let nb_of = |i: usize, h: &Array2<f64>| -> Vec<f64> {
        g.in_edges(i)
            .flat_map(|e| h.row(g.edge(e).0).to_vec())
            .collect()
    };
    let own = |i: usize| h.row(i).to_vec();
    // Every node's message to each in-neighbour, at the true states.
    let msgs: Vec<Vec<f64>> = (0..n)
        .map(|i| {
            let mut out = vec![0.0; stride * g.degree(i)];
            rule.messages(i, &own(i), &nb_of(i, &h), &mut out);
            out
        })
        .collect();
    let grad = model.energy_grads::<f64>(&rule.ctx, h.view(), false).1;
    let hess = model.hessian(&rule.ctx, h.view());
    let eps = 1e-6;
    for i in 0..n {
        let nb = nb_of(i, &h);
        let (value, own_grad, own_hess) = rule.own_block(i, &own(i), &nb);
        let (mut total_grad, mut total_hess) = (own_grad.clone(), own_hess.clone());
        for e in g.in_edges(i) {
            let j = g.edge(e).0;
            let msg = &msgs[j][stride * rule.reverse[e]..][..stride];
            assert_eq!(&msg[k + k * k..], &own(i)[..], "echo of h_{i} by {j}");
            for c in 0..k {
                total_grad[c] += msg[c];
            }
            for c in 0..k * k {
                total_hess[c] += msg[k + c];
            }
        }
        // Against the assembled energy: the gradient, and the diagonal block of ∇²E.
        for c in 0..k {
            assert!(close(total_grad[c], grad[[i, c]], 1e-10), "∇E[{i},{c}]");
            let mut unit = Array2::zeros((n, k));
            unit[[i, c]] = 1.0;
            let column = hess.apply(unit.view());
            for q in 0..k {
                let want = column[[i, q]];
                assert!(
                    close(total_hess[q * k + c], want, 1e-9),
                    "∇²E block {i}: {q},{c}"
                );
            }
        }
        // Against central differences of e_i's value and of its gradients.
        let terms = |own: &[f64], nb: &[f64]| local_terms::<f64>(model, &rule.ctx, i, own, nb);
        for c in 0..k {
            let (mut plus, mut minus) = (own(i), own(i));
            plus[c] += eps;
            minus[c] -= eps;
            let (tp, tm) = (terms(&plus, &nb), terms(&minus, &nb));
            let fd = (tp.value - tm.value) / (2.0 * eps);
            assert!(
                close(own_grad[c], fd, 1e-6),
                "∂e_{i}/∂h_{i}[{c}]: {} vs {fd}",
                own_grad[c]
            );
            for q in 0..k {
                let fd = (tp.d_self[q] - tm.d_self[q]) / (2.0 * eps);
                assert!(
                    close(own_hess[q * k + c], fd, 1e-6),
                    "∂²e_{i}/∂h_{i}² [{q},{c}]"
                );
            }
        }
        assert!(close(value, terms(&own(i), &nb).value, 1e-12));
        for (p, _) in g.in_edges(i).enumerate() {
            for c in 0..k {
                let (mut plus, mut minus) = (nb.clone(), nb.clone());
                plus[p * k + c] += eps;
                minus[p * k + c] -= eps;
                let (tp, tm) = (terms(&own(i), &plus), terms(&own(i), &minus));
                let msg = &msgs[i][stride * p..][..stride];
                let fd = (tp.value - tm.value) / (2.0 * eps);
                assert!(
                    close(msg[c], fd, 1e-6),
                    "message g of node {i}, in-edge {p}"
                );
                for q in 0..k {
                    let fd = (tp.d_nb[p * k + q] - tm.d_nb[p * k + q]) / (2.0 * eps);
                    let got = msg[k + q * k + c];
                    assert!(
                        close(got, fd, 1e-6),
                        "message C of node {i}, in-edge {p}: {got} vs {fd}"
                    );
                }
            }
        }
    }
}

#[test]
fn blocks_are_solved_exactly() {
    let a = [4.0, 1.0, 0.5, 1.0, 3.0, 0.2, 0.5, 0.2, 2.0];
    let b = [1.0, -2.0, 0.5];
    let x = solve_spd(&a, &b, 3);
    for r in 0..3 {
        let ax: f64 = (0..3).map(|c| a[r * 3 + c] * x[c]).sum();
        assert!((ax - b[r]).abs() < 1e-14);
    }
}

#[test]
fn settings_errors_name_their_key_and_defaults_serialise_as_before() {
    let mut cfg = config(vec![1]);
    cfg.async_damping = 0.0;
    assert_eq!(cfg.check().unwrap_err().key.to_string(), "async_damping");
    cfg.async_damping = 1.5;
    assert_eq!(cfg.check().unwrap_err().key.to_string(), "async_damping");
    cfg.async_damping = 0.5;
    cfg.async_curvature = crate::energy::AsyncCurvature::Local;
    assert_eq!(cfg.check().unwrap_err().key.to_string(), "async_curvature");
    cfg.async_rule = AsyncRule::Gradient;
    assert!(
        cfg.check().is_ok(),
        "a local curvature with the gradient rule"
    );
    cfg.async_hessian_every = 10;
    assert_eq!(
        cfg.check().unwrap_err().key.to_string(),
        "async_hessian_every",
        "reused curvature with the gradient rule"
    );
    cfg.async_rule = AsyncRule::BlockMinimise;
    cfg.async_curvature = Default::default();
    assert!(cfg.check().is_ok());
    cfg.async_hessian_every = 0;
    assert_eq!(
        cfg.check().unwrap_err().key.to_string(),
        "async_hessian_every"
    );
    // The paper's rule, undamped: the keys are left out, so recorded configs do not change.
    let written = toml::to_string(&config(vec![1])).unwrap();
    assert!(
        written.contains("async_rule = \"block-newton\""),
        "{written}"
    );
    let mut default = config(vec![1]);
    default.async_rule = AsyncRule::Gradient;
    let written = toml::to_string(&default).unwrap();
    assert!(
        !written.contains("async_rule")
            && !written.contains("async_damping")
            && !written.contains("async_hessian_every")
    );
    let read: EnergyConfig = toml::from_str(&written).unwrap();
    assert_eq!(read, default);
    let bad = written.replace("hidden = 3", "hidden = 3\nasync_rule = \"newton\"");
    let e = toml::from_str::<EnergyConfig>(&bad)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("block-newton") && e.contains("block-minimise"),
        "{e}"
    );
}

#[test]
fn curvature_is_recomputed_on_every_nth_update_and_reused_in_between() {
    let mut cfg = config(vec![1]);
    cfg.async_rule = AsyncRule::BlockMinimise;
    cfg.async_hessian_every = 3;
    let sample = two_way_sample();
    let dims = Dims {
        in_dim: 2,
        edge_dim: 0,
        out_dim: 2,
    };
    let mut r = ChaCha8Rng::seed_from_u64(5);
    let model = EnergyGnn::variant(&cfg, "energy", Wiring::EDGE, dims, &mut r).unwrap();
    let batch = Batch::single(&sample);
    let g = &batch.graph;
    let rule = BlockRule::new(&model, model.context(&batch).unwrap(), reverse(g), 1.0);
    let (k, at) = (rule.k(), rule.messages_at());
    // Every node somewhere away from 0 with its block and messages computed there.
    let states: Vec<Vec<f64>> = (0..g.n_nodes())
        .map(|i| {
            let mut s = vec![0.0; rule.state_len(i)];
            rule.init(i, &mut s);
            s[..k]
                .iter_mut()
                .for_each(|v| *v = r.random_range(-1.0..1.0));
            s
        })
        .collect();
    let i = 1;
    let views: Vec<&[f64]> = g.in_edges(i).map(|e| &states[g.edge(e).0][..]).collect();
    let curvature = |s: &[f64]| -> Vec<f64> {
        let mut c = s[k..at].to_vec();
        for msg in s[at..].chunks_exact(rule.stride()) {
            c.extend_from_slice(&msg[k..k + k * k]);
        }
        c
    };
    let mut out = vec![0.0; rule.state_len(i)];
    for count in 0..4 {
        rule.update(i, count, &states[i], &views, &mut out);
        let (old, new) = (curvature(&states[i]), curvature(&out));
        if count.is_multiple_of(3) {
            assert_ne!(old, new, "update {count} recomputes");
        } else {
            assert_eq!(old, new, "update {count} reuses");
        }
        // Gradients and echoes are always current.
        let mut d_self = vec![0.0; k];
        let mut d_nb = vec![0.0; k * views.len()];
        rule.pass.local_grads(
            &model,
            &rule.ctx,
            i,
            &out[..k],
            &views,
            &mut d_self,
            &mut d_nb,
        );
        for (p, msg) in out[at..].chunks_exact(rule.stride()).enumerate() {
            assert_eq!(&msg[..k], &d_nb[p * k..(p + 1) * k]);
            assert_eq!(&msg[k + k * k..], &views[p][..k]);
        }
    }
}
