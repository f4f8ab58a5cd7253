//! Runs the node-regression experiment and prints, per optimiser, the test MSE at a few
//! epochs, the rounds per mini-batch and the wall time of its training run.
//!
//! ```sh
//! cargo run --release -p hogwild-distributed --example regression -- [EPOCHS] [--mimic-test-bug] [--mh] [--only NAME]...
//! ```

use hogwild_distributed::optim::MixingRule;
use hogwild_distributed::regression::{
    measure_ledger, train_optimiser, RegressionConfig, RegressionData,
};
use std::time::Instant;

fn main() {
    let mut cfg = RegressionConfig::paper();
    let mut only = Vec::new();
    let mut mh = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--mimic-test-bug" => cfg.mimic_test_one_hot_bug = true,
            "--mh" => mh = true,
            "--only" => only.push(args.next().expect("--only NAME")),
            e => cfg.epochs = e.parse().expect("EPOCHS is a whole number"),
        }
    }
    if mh {
        for o in cfg
            .optimisers
            .iter_mut()
            .filter(|o| o.kind.is_distributed())
        {
            o.mixing = Some(MixingRule::MetropolisHastings);
        }
    }
    if !only.is_empty() {
        cfg.optimisers.retain(|o| only.contains(&o.name));
    }
    cfg.check().expect("the paper's setting is valid");
    let data = RegressionData::generate(&cfg);
    for row in measure_ledger(&cfg, &data, 1) {
        println!("ledger {:<22} {:?}", row.scheme.name(), row.per_minibatch);
    }
    let batches = cfg.train_samples.div_ceil(cfg.batch_size) as u64;
    for spec in &cfg.optimisers {
        let start = Instant::now();
        let c = train_optimiser(&cfg, &data, spec);
        let secs = start.elapsed().as_secs_f64();
        let spread = |e: usize| c.copy_spread.get(e - 1).copied().unwrap_or(f64::NAN);
        let at = |e: usize| c.test_mse.get(e - 1).copied().unwrap_or(f64::NAN);
        let (argmin, min) =
            c.test_mse
                .iter()
                .enumerate()
                .fold((0, f64::INFINITY), |best, (e, &m)| {
                    if m < best.1 {
                        (e + 1, m)
                    } else {
                        best
                    }
                });
        let reach = |t: f64| {
            c.test_mse
                .iter()
                .position(|&m| m <= t)
                .map_or("never".to_string(), |e| {
                    format!("epoch {} ({} rounds)", e + 1, c.rounds[e])
                })
        };
        println!(
            "{:<10} {:>7.2} s  rounds/mini-batch {:>4}  test MSE: 1 {:.4}  10 {:.4}  50 {:.4}  100 {:.4}  200 {:.4}  500 {:.4}  last {:.4}  min {:.4} (epoch {})  train last {:.4}  spread {:.2e} (epoch 10 {:.2e}, 100 {:.2e}, 500 {:.2e})  <= 0.012: {}  <= 0.011: {}",
            c.name,
            secs,
            c.ledger.rounds / (batches * cfg.epochs as u64),
            at(1),
            at(10),
            at(50),
            at(100),
            at(200),
            at(500),
            c.test_mse.last().unwrap(),
            min,
            argmin,
            c.train_mse.last().unwrap(),
            c.copy_spread.last().unwrap(),
            spread(10),
            spread(100),
            spread(500),
            reach(0.012),
            reach(0.011),
        );
    }
}
