//! What the energy-GNN variants can compute: how far a node's minimiser reaches.

mod common;

use common::*;
use hogwild_graph::{Batch, Graph, Sample, Targets};
use hogwild_models::energy::variants::Wiring;
use hogwild_models::energy::{EnergyConfig, EnergyGnn};
use hogwild_models::Dims;
use ndarray::Array2;

/// The minimiser on a path of 6 nodes with features `x`.
fn minimiser(m: &EnergyGnn, x: &Array2<f64>) -> Array2<f64> {
    let sample = Sample {
        graph: Graph::path(6),
        features: x.clone(),
        targets: Targets::Classes(vec![0; 6]),
    };
    let batch = Batch::single(&sample);
    let ctx = m.context(&batch).unwrap();
    let (h, _, ok) = m.minimise(&ctx, Array2::zeros((6, 3)), &mut vec![]);
    assert!(ok);
    h
}

#[test]
fn node_wise_messages_with_an_affine_update_reach_one_hop_only() {
    // With a one-layer update network, changing the last node's features moves the
    // minimiser at that node and its neighbour (whose messages it weighs) only, to the
    // bit; with a hidden layer, and with edge-wise messages, farther nodes move too.
    let x = Array2::from_shape_fn((6, 2), |(i, c)| ((i * 3 + c) % 5) as f64 / 5.0);
    let mut far = x.clone();
    far[[5, 0]] += 1.0;
    let dims = Dims {
        in_dim: 2,
        edge_dim: 0,
        out_dim: 2,
    };
    let moved = |update_widths: Vec<usize>, wiring: Wiring| {
        let cfg = EnergyConfig {
            update_widths,
            ..energy_cfg()
        };
        let m = EnergyGnn::variant(&cfg, "energy", wiring, dims, &mut rng(3)).unwrap();
        let (a, b) = (minimiser(&m, &x), minimiser(&m, &far));
        (0..6)
            .map(|i| {
                (0..3)
                    .map(|c| (a[[i, c]] - b[[i, c]]).abs())
                    .fold(0.0, f64::max)
            })
            .collect::<Vec<f64>>()
    };
    let affine = moved(vec![1], Wiring::NODE);
    assert!(affine[..4].iter().all(|&d| d == 0.0), "{affine:?}");
    assert!(affine[4] > 1e-6 && affine[5] > 1e-6, "{affine:?}");
    for (widths, wiring) in [(vec![4, 1], Wiring::NODE), (vec![1], Wiring::EDGE)] {
        let d = moved(widths, wiring);
        // Two and three hops away: moved by far more than the solve's accuracy.
        assert!(d[2] > 1e-9 && d[3] > 1e-9, "{wiring:?}: {d:?}");
    }
}
