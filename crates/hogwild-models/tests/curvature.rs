//! The per-node curvature of the energy GNN's asynchronous step (`async_curvature =
//! "local"`): absolute row sums of the Hessian, and the Gershgorin bound they give.

mod common;

use common::*;
use hogwild_graph::Batch;
use hogwild_models::energy::hessian::HessianPattern;
use hogwild_models::energy::EnergyGnn;
use ndarray::Array2;

#[test]
fn row_sums_are_the_hessians_and_scale_its_eigenvalues_into_the_unit_interval() {
    for (seed, edge) in [(3, false), (4, true)] {
        let sample = random_sample(9, 2, 2, edge, seed);
        let batch = Batch::single(&sample);
        let m = EnergyGnn::new(&energy_cfg(), 2, usize::from(edge), 2, &mut rng(seed)).unwrap();
        let ctx = m.context(&batch).unwrap();
        let (n, k) = (9, energy_cfg().hidden);
        let (h, _, ok) = m.minimise(&ctx, Array2::zeros((n, k)), &mut vec![]);
        assert!(ok);
        let hess = m.hessian(&ctx, h.view());
        // The dense Hessian, one column per unit direction.
        let mut dense = Array2::<f64>::zeros((n * k, n * k));
        for col in 0..n * k {
            let mut e = Array2::zeros((n, k));
            e[[col / k, col % k]] = 1.0;
            let hv = hess.apply(e.view());
            for row in 0..n * k {
                dense[[row, col]] = hv[[row / k, row % k]];
            }
        }
        let sums = HessianPattern::new(&sample.graph, k).abs_row_sums(|v| hess.apply(v));
        let mut scaled = dense.clone();
        for r in 0..n * k {
            let want: f64 = dense.row(r).iter().map(|x| x.abs()).sum();
            let got = sums[[r / k, r % k]];
            assert!(
                (got - want).abs() <= 1e-12 * want,
                "row {r}: {got} against {want}"
            );
            for c in 0..n * k {
                scaled[[r, c]] /= (got * sums[[c / k, c % k]]).sqrt();
            }
        }
        // Power iteration on D^{-1/2} H D^{-1/2}: its largest eigenvalue is at most 1.
        let mut v = Array2::from_elem((n * k, 1), 1.0);
        let mut lambda = 0.0;
        for _ in 0..2000 {
            let w = scaled.dot(&v);
            let norm = w.iter().map(|x| x * x).sum::<f64>().sqrt();
            lambda = norm / v.iter().map(|x| x * x).sum::<f64>().sqrt();
            v = w / norm;
        }
        assert!(lambda <= 1.0 + 1e-12 && lambda > 0.1, "{lambda}");
    }
}
