//! Experiment 2 (power allocation with an unrolled WMMSE): the reverse mode against finite
//! differences, the distributed gradients against the centralized one, WMMSE's monotone
//! sum-rate, the counted rounds, settings errors, determinism and a quick training run.

use hogwild_distributed::network::Ledger;
use hogwild_distributed::optim::{OptimiserKind, OptimiserSpec};
use hogwild_distributed::power::channel::{draw_minibatch, interference_links};
use hogwild_distributed::power::uwmmse::{Rounds, Uwmmse};
use hogwild_distributed::power::wmmse::wmmse_sum_rates;
use hogwild_distributed::power::{run_power, PowerConfig};
use hogwild_distributed::stream;
use ndarray::Array2;
use rand::RngExt;

/// A small system with gains of order 1 (so every path of the gradient matters), one
/// direct link and a few cross links switched off as thresholding would.
fn synthetic(n: usize, label: &str) -> (Uwmmse, Array2<f64>) {
    let mut rng = stream(label);
    let mut gain = Array2::from_shape_fn((n, n), |(j, i)| {
        let g: f64 = rng.random::<f64>();
        if i == j {
            1.0 + g
        } else {
            0.6 * g
        }
    });
    gain[[0, 2]] = 0.0;
    gain[[3, 1]] = 0.0;
    gain[[n - 1, n - 1]] = 0.0;
    let model = Uwmmse {
        layers: 3,
        hidden: 3,
        max_power: 100.0,
        noise: 0.3,
    };
    (model, gain)
}

fn loss(model: &Uwmmse, copies: &Array2<f64>, gain: &Array2<f64>) -> f64 {
    -model.sum_rate(copies.view(), gain)
}

fn gradient(model: &Uwmmse, copies: &Array2<f64>, gain: &Array2<f64>) -> Array2<f64> {
    let mut none = Rounds {
        ledger: None,
        links: 0,
    };
    let trace = model.forward(copies.view(), gain, &mut none);
    let mut grads = Array2::zeros(copies.dim());
    model.backward(copies.view(), gain, &trace, 1.0, &mut grads, &mut none);
    grads
}

fn check_against_differences(model: &Uwmmse, copies: &Array2<f64>, gain: &Array2<f64>) {
    let grads = gradient(model, copies, gain);
    let step = 1e-6;
    let mut checked = 0;
    for r in 0..copies.nrows() {
        for k in 0..copies.ncols() {
            let (mut up, mut down) = (copies.clone(), copies.clone());
            up[[r, k]] += step;
            down[[r, k]] -= step;
            let fd = (loss(model, &up, gain) - loss(model, &down, gain)) / (2.0 * step);
            let g = grads[[r, k]];
            assert!(
                (fd - g).abs() <= 1e-6 * (1.0 + g.abs()),
                "copy {r}, parameter {k}: finite difference {fd}, reverse mode {g}"
            );
            checked += usize::from(g != 0.0);
        }
    }
    // dead ReLU units and clipped amplitudes leave some gradients at exactly 0
    assert!(
        checked > copies.len() / 3,
        "enough gradients are non-zero: {checked} of {}",
        copies.len()
    );
}

#[test]
fn reverse_mode_matches_finite_differences_for_shared_and_per_pair_copies() {
    let (model, gain) = synthetic(6, "test/power/fd");
    let shared = model.initial_copies(1, &mut stream("test/power/fd/start"));
    check_against_differences(&model, &shared, &gain);
    // copies that differ from pair to pair
    let mut rng = stream("test/power/fd/jitter");
    let mut copies = model.initial_copies(6, &mut stream("test/power/fd/start"));
    copies.mapv_inplace(|x| x + 0.3 * (rng.random::<f64>() - 0.5));
    check_against_differences(&model, &copies, &gain);
}

#[test]
fn pair_gradients_sum_to_the_centralized_gradient_when_copies_agree() {
    let cfg = PowerConfig::quick();
    let model = cfg.model();
    for gain in draw_minibatch(&cfg, "train", 0).iter().take(4) {
        let shared = model.initial_copies(1, &mut stream("test/power/sum"));
        let tiled = model.initial_copies(cfg.pairs, &mut stream("test/power/sum"));
        let central = gradient(&model, &shared, gain);
        let summed = gradient(&model, &tiled, gain).sum_axis(ndarray::Axis(0));
        let biggest = central.iter().fold(0.0f64, |m, g| m.max(g.abs()));
        assert!(biggest > 0.0);
        for (a, b) in central.row(0).iter().zip(summed.iter()) {
            assert!(
                (a - b).abs() <= 1e-12 * biggest,
                "{a} against {b} (largest {biggest})"
            );
        }
    }
}

#[test]
fn wmmse_sum_rate_never_falls_from_one_iteration_to_the_next() {
    let cfg = PowerConfig::quick();
    let model = cfg.model();
    for gain in draw_minibatch(&cfg, "test", 0).iter().take(8) {
        let rates = wmmse_sum_rates(gain, model.noise, cfg.max_power, 60);
        for pair in rates.windows(2) {
            assert!(pair[1] >= pair[0] - 1e-9 * pair[0], "{rates:?}");
        }
    }
    let (model, gain) = synthetic(6, "test/power/monotone");
    let rates = wmmse_sum_rates(&gain, model.noise, model.max_power, 60);
    assert!(rates.windows(2).all(|p| p[1] >= p[0] - 1e-12));
}

#[test]
fn rounds_per_sample_are_counted_over_the_samples_links() {
    let cfg = PowerConfig::quick();
    let model = cfg.model();
    let gain = &draw_minibatch(&cfg, "train", 1)[0];
    let links = interference_links(gain);
    let copies = model.initial_copies(cfg.pairs, &mut stream("test/power/rounds"));
    let mut ledger = Ledger::default();
    let mut counted = Rounds {
        ledger: Some(&mut ledger),
        links,
    };
    let trace = model.forward(copies.view(), gain, &mut counted);
    let forward = 2 * cfg.layers as u64 + 2;
    assert_eq!(counted.ledger.as_ref().unwrap().rounds, forward);
    let mut grads = Array2::zeros(copies.dim());
    model.backward(copies.view(), gain, &trace, 1.0, &mut grads, &mut counted);
    assert_eq!(ledger.rounds, 2 * forward);
    assert_eq!(ledger.messages, 2 * forward * links);
    // the first round carries every GCN's first-layer message and the received power
    assert_eq!(
        ledger.widest_message,
        (model.gcns() * model.hidden + 1) as u64
    );
}

fn tiny() -> PowerConfig {
    PowerConfig {
        batch_size: 4,
        train_batches: 3,
        test_batches: 2,
        epochs: 2,
        ..PowerConfig::quick()
    }
}

#[test]
fn runs_are_deterministic_and_count_their_rounds() {
    let cfg = tiny();
    let a = run_power(&cfg).unwrap();
    assert_eq!(a, run_power(&cfg).unwrap());
    let per_sample = 2 * cfg.layers as u64 + 2;
    let samples = (cfg.epochs * cfg.train_batches * cfg.batch_size) as u64;
    assert_eq!(a.runs[0].ledger.rounds, samples * per_sample);
    assert_eq!(a.runs[1].ledger.rounds, samples * (2 * per_sample + 1));
    assert_eq!(a.runs[0].copy_spread, vec![0.0; cfg.epochs]);
    let mut bug = cfg.clone();
    bug.mimic_consensus_shuffle_bug = true;
    let b = run_power(&bug).unwrap();
    assert_eq!(
        a.runs[0], b.runs[0],
        "the bug touches distributed runs only"
    );
    assert_ne!(a.runs[1].test_sum_rate, b.runs[1].test_sum_rate);
}

#[test]
fn centralized_sgd_trains_too() {
    let mut cfg = tiny();
    cfg.epochs = 4;
    cfg.optimisers = vec![OptimiserSpec::new("SGD", OptimiserKind::Sgd, 1e-2)];
    let curves = run_power(&cfg).unwrap();
    let run = &curves.runs[0];
    assert!(run.test_sum_rate.iter().all(|r| r.is_finite()));
    assert!(run.train_sum_rate.last() > run.train_sum_rate.first());
}

#[test]
fn settings_errors_name_their_key_and_value() {
    let err = |cfg: PowerConfig| cfg.check().unwrap_err().to_string();
    assert!(err(PowerConfig { pairs: 1, ..tiny() }).starts_with("pairs = 1"));
    assert!(err(PowerConfig {
        max_power: 0.0,
        ..tiny()
    })
    .starts_with("max_power = 0"));
    assert!(err(PowerConfig {
        full_wmmse_iterations: 2,
        ..tiny()
    })
    .starts_with("full_wmmse_iterations = 2"));
    let mut cfg = tiny();
    cfg.optimisers[1] = OptimiserSpec::new("D-SGD", OptimiserKind::DSgd, 1e-2);
    assert!(
        err(cfg).starts_with("optimisers[1].kind"),
        "names the optimiser"
    );
    let mut cfg = tiny();
    cfg.optimisers[1].name = cfg.optimisers[0].name.clone();
    assert!(err(cfg).starts_with("optimisers[1].name"));
    let mut text = toml::to_string(&PowerConfig::paper()).unwrap();
    assert_eq!(
        toml::from_str::<PowerConfig>(&text).unwrap(),
        PowerConfig::paper()
    );
    text.push_str("\nlayer = 4\n");
    assert!(
        toml::from_str::<PowerConfig>(&text).is_err(),
        "unknown keys are refused"
    );
    PowerConfig::paper().check().unwrap();
    PowerConfig::quick().check().unwrap();
}

#[test]
fn quick_training_beats_truncated_wmmse_centralized_and_distributed() {
    let curves = run_power(&PowerConfig::quick()).unwrap();
    assert!(curves.full_wmmse > curves.truncated_wmmse);
    for run in &curves.runs {
        let last = *run.test_sum_rate.last().unwrap();
        assert!(
            last > curves.truncated_wmmse && last > run.initial_sum_rate,
            "{}: {last} against truncated WMMSE {} (untrained {})",
            run.name,
            curves.truncated_wmmse,
            run.initial_sum_rate
        );
    }
}

/// The issue's targets on the default reproduction size (100 training mini-batches, 200
/// epochs): distributed and centralized within 1 % of each other, both between truncated
/// and full WMMSE. Minutes of work, so only on request (`--ignored`).
#[test]
#[ignore = "paper size: minutes"]
fn paper_size_meets_the_issues_targets() {
    let curves = run_power(&PowerConfig::paper()).unwrap();
    let last = |i: usize| *curves.runs[i].test_sum_rate.last().unwrap();
    let (central, distributed) = (last(0), last(1));
    assert!(
        (central - distributed).abs() <= 0.01 * central,
        "{central} against {distributed}"
    );
    for rate in [central, distributed] {
        assert!(curves.truncated_wmmse < rate && rate < curves.full_wmmse);
    }
}
