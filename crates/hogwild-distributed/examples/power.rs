//! Runs the power-allocation experiment and prints the WMMSE references, per optimiser the
//! test sum-rate at a few epochs, the rounds per mini-batch and the wall time of its
//! training run.
//!
//! ```sh
//! cargo run --release -p hogwild-distributed --example power -- [EPOCHS] [--quick] [--mimic-bug] [--seed S] [--lr A] [--train-batches N]
//! ```

use hogwild_distributed::power::{train_optimiser, wmmse, PowerConfig, PowerData};
use std::time::Instant;

fn main() {
    let mut cfg = PowerConfig::paper();
    let mut epochs = None;
    let mut lr = None;
    let mut train_batches = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--quick" => cfg = PowerConfig::quick(),
            "--mimic-bug" => cfg.mimic_consensus_shuffle_bug = true,
            "--seed" => cfg.seed = args.next().expect("--seed S").parse().expect("a seed"),
            "--train-batches" => {
                train_batches = Some(
                    args.next()
                        .expect("--train-batches N")
                        .parse()
                        .expect("a count"),
                )
            }
            "--lr" => lr = Some(args.next().expect("--lr A").parse().expect("a step size")),
            e => epochs = Some(e.parse().expect("EPOCHS is a whole number")),
        }
    }
    if let Some(e) = epochs {
        cfg.epochs = e;
    }
    if let Some(k) = train_batches {
        cfg.train_batches = k;
    }
    if let Some(a) = lr {
        cfg.optimisers.iter_mut().for_each(|o| o.lr = a);
    }
    cfg.check().expect("a valid setting");
    let start = Instant::now();
    let data = PowerData::generate(&cfg);
    let curve = wmmse::mean_wmmse_curve(
        data.test.iter().flatten(),
        cfg.model().noise,
        cfg.max_power,
        cfg.full_wmmse_iterations,
    );
    println!(
        "data + WMMSE {:.1} s: truncated ({} it) {:.3}, full ({} it) {:.3}, full power {:.3}",
        start.elapsed().as_secs_f64(),
        cfg.layers,
        curve[cfg.layers],
        cfg.full_wmmse_iterations,
        curve[cfg.full_wmmse_iterations],
        curve[0]
    );
    for spec in &cfg.optimisers {
        let t = Instant::now();
        let run = train_optimiser(&cfg, &data, spec);
        let mut epochs: Vec<usize> = [1, 10, 30, 60, 100, 200]
            .into_iter()
            .filter(|&e| e < cfg.epochs)
            .collect();
        epochs.push(cfg.epochs);
        let marks: Vec<String> = epochs
            .iter()
            .map(|&e| format!("{e}: {:.3}", run.test_sum_rate[e - 1]))
            .collect();
        let best = run.test_sum_rate.iter().cloned().fold(f64::MIN, f64::max);
        println!(
            "{}: untrained {:.3}; {}; best {:.3}; last train {:.3}; rounds/mini-batch {:.1}; spread {:.2e}; {:.1} s",
            run.name,
            run.initial_sum_rate,
            marks.join(", "),
            best,
            run.train_sum_rate.last().unwrap(),
            run.ledger.rounds as f64 / (cfg.epochs * cfg.train_batches) as f64,
            run.copy_spread.last().unwrap(),
            t.elapsed().as_secs_f64()
        );
    }
}
