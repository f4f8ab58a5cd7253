//! Runs the link-scheduling experiment and prints, per actor optimiser, the test
//! approximation ratio against greedy at every evaluation, the best one, the rounds per
//! update and the wall time of its training run.
//!
//! ```sh
//! cargo run --release -p hogwild-distributed --example scheduling -- [EPOCHS] [--quick] [--mimic-bug] [--seed S] [--lr A] [--critic-lr C] [--live F]
//! ```

use hogwild_distributed::scheduling::{train_actor, SchedulingConfig, SchedulingData};
use std::time::Instant;

fn main() {
    let mut cfg = SchedulingConfig::paper();
    let (mut epochs, mut seed, mut lr, mut critic_lr, mut live) = (None, None, None, None, None);
    let mut mimic = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |what: &str| args.next().unwrap_or_else(|| panic!("{arg} {what}"));
        match arg.as_str() {
            "--quick" => cfg = SchedulingConfig::quick(),
            "--mimic-bug" => mimic = true,
            "--seed" => seed = Some(value("S").parse().expect("a seed")),
            "--lr" => lr = Some(value("A").parse().expect("a step size")),
            "--live" => live = Some(value("F").parse().expect("a fraction")),
            "--critic-lr" => critic_lr = Some(value("C").parse().expect("a step size")),
            e => epochs = Some(e.parse().expect("EPOCHS is a whole number")),
        }
    }
    if let Some(e) = epochs {
        cfg.epochs = e;
    }
    if let Some(s) = seed {
        cfg.seed = s;
    }
    if let Some(a) = lr {
        cfg.optimisers.iter_mut().for_each(|o| o.lr = a);
    }
    cfg.mimic_epoch_boundary_discard = mimic;
    if let Some(f) = live {
        cfg.live_start_fraction = f;
    }
    if let Some(c) = critic_lr {
        cfg.critic_lr = c;
    }
    cfg.check().expect("a valid setting");
    let start = Instant::now();
    let data = SchedulingData::generate(&cfg);
    println!(
        "{} training and {} test graphs of {} links in {:.2} s",
        data.train.len(),
        data.test.len(),
        cfg.nodes,
        start.elapsed().as_secs_f64()
    );
    for spec in &cfg.optimisers {
        let start = Instant::now();
        let run = train_actor(&cfg, &data, spec);
        let secs = start.elapsed().as_secs_f64();
        println!(
            "\n{} ({:?}, lr {}; start: draw {}, live at {:.3} of the training links)",
            run.name, run.kind, spec.lr, run.start_draws, run.start_live_fraction
        );
        println!(
            "point  test ratio  train ratio  actor objective  critic loss  mean z  copy spread"
        );
        for k in 0..run.test_ratio.len() {
            println!(
                "{:5}  {:10.4}  {:11.4}  {:15.5}  {:11.5}  {:6.3}  {:11.3e}",
                k + 1,
                run.test_ratio[k],
                run.train_ratio[k],
                run.actor_objective[k],
                run.critic_loss[k],
                run.mean_factor[k],
                run.copy_spread[k]
            );
        }
        let (best_k, best) = run
            .test_ratio
            .iter()
            .enumerate()
            .fold((0, f64::MIN), |b, (k, &r)| if r > b.1 { (k, r) } else { b });
        let updates = run.test_ratio.len().max(1) as u64;
        println!(
            "final {:.4}, best {:.4} at point {}; {} rounds per update; {:.1} s",
            run.test_ratio.last().copied().unwrap_or(f64::NAN),
            best,
            best_k + 1,
            run.rounds.last().copied().unwrap_or(0) / updates,
            secs
        );
    }
}
