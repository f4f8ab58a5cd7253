//! Named parameter matrices, seeded initialisation and the Adam optimiser.

use hogwild_settings::{at_least, non_negative, positive, Bytes, InvalidSetting};
use ndarray::Array2;
use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// Index of a parameter inside a [`Params`] list.
pub type ParamId = usize;

/// An ordered list of named parameter matrices (biases are `1 × c` rows).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Params {
    names: Vec<String>,
    values: Vec<Array2<f64>>,
}

impl Params {
    /// Adds a parameter and returns its id.
    pub fn push(&mut self, name: impl Into<String>, value: Array2<f64>) -> ParamId {
        self.names.push(name.into());
        self.values.push(value);
        self.values.len() - 1
    }

    /// Adds a Glorot-uniform `rows × cols` matrix.
    pub fn glorot(
        &mut self,
        name: &str,
        rows: usize,
        cols: usize,
        rng: &mut ChaCha8Rng,
    ) -> ParamId {
        let a = (6.0 / (rows + cols).max(1) as f64).sqrt();
        let value = Array2::from_shape_simple_fn((rows, cols), || rng.random_range(-a..a));
        self.push(name, value)
    }

    /// Adds a zero `1 × cols` bias.
    pub fn bias(&mut self, name: &str, cols: usize) -> ParamId {
        self.push(name, Array2::zeros((1, cols)))
    }

    /// Number of parameter matrices.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Total number of scalars.
    pub fn n_scalars(&self) -> usize {
        self.values.iter().map(|v| v.len()).sum()
    }

    /// Parameter `id`.
    pub fn get(&self, id: ParamId) -> &Array2<f64> {
        &self.values[id]
    }

    /// Parameter `id`, mutably.
    pub fn get_mut(&mut self, id: ParamId) -> &mut Array2<f64> {
        &mut self.values[id]
    }

    /// Name of parameter `id`.
    pub fn name(&self, id: ParamId) -> &str {
        &self.names[id]
    }

    /// Zero gradients shaped like the parameters.
    pub fn zeros_like(&self) -> Vec<Array2<f64>> {
        self.values
            .iter()
            .map(|v| Array2::zeros(v.raw_dim()))
            .collect()
    }
}

/// Training settings shared by every model (`[models.NAME.train]` in `harness.toml`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    /// Epochs (passes over the training graphs).
    pub epochs: usize,
    /// Graphs per optimiser step, drawn without replacement in a fresh random order every
    /// epoch; absent: one full-batch step per epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_graphs: Option<usize>,
    /// Adam learning rate.
    pub lr: f64,
    /// L2 weight decay added to the gradient (Adam, not AdamW, as in PyTorch's `Adam`).
    #[serde(default)]
    pub weight_decay: f64,
    /// Rescale each parameter's gradient to at most this Frobenius norm (0 = off).
    #[serde(default)]
    pub grad_clip: f64,
    /// How the learning rate changes over the run (default `constant`; not serialised when
    /// default, so configs that predate it keep their hash).
    #[serde(default, skip_serializing_if = "LrSchedule::is_constant")]
    pub lr_schedule: LrSchedule,
}

impl TrainConfig {
    /// Checks the settings; keys are relative to the `train` section (`lr`).
    pub fn check(&self) -> Result<(), InvalidSetting> {
        at_least("epochs", self.epochs as u64, 1)?;
        if let Some(b) = self.batch_graphs {
            at_least("batch_graphs", b as u64, 1).map_err(|e| InvalidSetting {
                why: "a step needs at least one graph (omit the key for full batches)".into(),
                ..e
            })?;
        }
        positive("lr", self.lr)?;
        non_negative("weight_decay", self.weight_decay)?;
        non_negative("grad_clip", self.grad_clip)?;
        if let LrSchedule::Halving { every } = self.lr_schedule {
            at_least("lr_schedule.halving.every", every as u64, 1)?;
        }
        Ok(())
    }

    /// Adam's state for `params` numbers: the gradient and two moment estimates.
    pub fn optimiser_memory(&self, params: u64) -> Bytes {
        Bytes::f64s(params).times(3)
    }
}

/// The learning rate over a training run of `T` optimiser steps.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LrSchedule {
    /// `lr` at every step.
    #[default]
    Constant,
    /// Cosine annealing without restarts (Loshchilov & Hutter 2017): step `t = 0..T` uses
    /// `lr · (1 + cos(π t / T)) / 2`, from `lr` down towards 0.
    Cosine,
    /// Step `t` uses `lr · 0.5^⌊t / every⌋`: PyTorch's `StepLR` with `gamma = 0.5`, as the
    /// GIN protocol's "halved every 50 epochs" (`{ halving = { every = 50 } }`).
    Halving {
        /// Steps between halvings.
        every: usize,
    },
}

impl LrSchedule {
    fn is_constant(&self) -> bool {
        *self == LrSchedule::Constant
    }

    /// The factor on `lr` at step `t` (0-based) of `total`.
    pub fn factor(self, t: usize, total: usize) -> f64 {
        match self {
            LrSchedule::Constant => 1.0,
            LrSchedule::Cosine => {
                0.5 * (1.0 + (std::f64::consts::PI * t as f64 / total.max(1) as f64).cos())
            }
            LrSchedule::Halving { every } => {
                0.5f64.powi(i32::try_from(t / every.max(1)).unwrap_or(i32::MAX))
            }
        }
    }
}

/// Adam (Kingma & Ba) with PyTorch's defaults β = (0.9, 0.999), ε = 1e-8.
#[derive(Debug, Clone)]
pub struct Adam {
    lr: f64,
    schedule: LrSchedule,
    total_steps: usize,
    weight_decay: f64,
    grad_clip: f64,
    t: i32,
    m: Vec<Array2<f64>>,
    v: Vec<Array2<f64>>,
}

impl Adam {
    /// A fresh optimiser for `params`, for a run of `total_steps` steps (read by the
    /// learning-rate schedule).
    pub fn new(params: &Params, cfg: &TrainConfig, total_steps: usize) -> Adam {
        Adam {
            lr: cfg.lr,
            schedule: cfg.lr_schedule,
            total_steps,
            weight_decay: cfg.weight_decay,
            grad_clip: cfg.grad_clip,
            t: 0,
            m: params.zeros_like(),
            v: params.zeros_like(),
        }
    }

    /// One update of `params` with `grads` (consumed: clipped and decayed in place).
    pub fn step(&mut self, params: &mut Params, mut grads: Vec<Array2<f64>>) {
        const B1: f64 = 0.9;
        const B2: f64 = 0.999;
        self.t += 1;
        let (c1, c2) = (1.0 - B1.powi(self.t), 1.0 - B2.powi(self.t));
        let lr = self.lr * self.schedule.factor(self.t as usize - 1, self.total_steps);
        for (id, g) in grads.iter_mut().enumerate() {
            if self.grad_clip > 0.0 {
                let norm = g.iter().map(|x| x * x).sum::<f64>().sqrt();
                if norm > self.grad_clip {
                    g.mapv_inplace(|x| x * self.grad_clip / norm);
                }
            }
            let p = params.get_mut(id);
            if self.weight_decay > 0.0 {
                g.zip_mut_with(p, |gi, &pi| *gi += self.weight_decay * pi);
            }
            let (m, v) = (&mut self.m[id], &mut self.v[id]);
            ndarray::Zip::from(p)
                .and(m)
                .and(v)
                .and(&*g)
                .for_each(|p, m, v, &g| {
                    *m = B1 * *m + (1.0 - B1) * g;
                    *v = B2 * *v + (1.0 - B2) * g * g;
                    *p -= lr * (*m / c1) / ((*v / c2).sqrt() + 1e-8);
                });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    /// Adam with lr 0.1 and nothing else but `lr_schedule`.
    fn adam_config(lr_schedule: LrSchedule) -> TrainConfig {
        TrainConfig {
            batch_graphs: None,
            epochs: 0,
            lr: 0.1,
            weight_decay: 0.0,
            grad_clip: 0.0,
            lr_schedule,
        }
    }

    #[test]
    fn adam_minimises_a_quadratic() {
        let mut p = Params::default();
        let id = p.push("x", Array2::from_elem((1, 2), 3.0));
        let mut adam = Adam::new(&p, &adam_config(LrSchedule::Constant), 500);
        for _ in 0..500 {
            let g = p.get(id).mapv(|x| 2.0 * (x - 1.0));
            adam.step(&mut p, vec![g]);
        }
        assert!(
            p.get(id).iter().all(|x| (x - 1.0).abs() < 1e-3),
            "{:?}",
            p.get(id)
        );
    }

    #[test]
    fn cosine_schedule_anneals_from_lr_towards_zero() {
        let total = 8;
        let f: Vec<f64> = (0..total)
            .map(|t| LrSchedule::Cosine.factor(t, total))
            .collect();
        assert_eq!(f[0], 1.0);
        assert!((f[4] - 0.5).abs() < 1e-15, "{f:?}");
        assert!(f.windows(2).all(|w| w[1] < w[0]), "{f:?}");
        assert!(f[total - 1] > 0.0 && f[total - 1] < 0.05, "{f:?}");
        assert_eq!(LrSchedule::Constant.factor(7, total), 1.0);
        // The factor reaches Adam's step: the same gradients move a parameter less late in
        // a cosine run than in a constant one.
        let moved = |schedule| {
            let mut p = Params::default();
            let id = p.push("x", Array2::zeros((1, 1)));
            let mut adam = Adam::new(&p, &adam_config(schedule), total);
            for _ in 0..total {
                adam.step(&mut p, vec![Array2::ones((1, 1))]);
            }
            -p.get(id)[(0, 0)]
        };
        let (constant, cosine) = (moved(LrSchedule::Constant), moved(LrSchedule::Cosine));
        assert!((constant - 0.8).abs() < 1e-6, "{constant}");
        assert!(
            (cosine - 0.1 * f.iter().sum::<f64>()).abs() < 1e-6,
            "{cosine}"
        );
    }

    #[test]
    fn halving_schedule_is_pytorchs_step_lr() {
        // StepLR(step_size = 50, gamma = 0.5) stepped once per epoch: epochs 1-50 at lr,
        // 51-100 at lr / 2, ...
        let halving = LrSchedule::Halving { every: 50 };
        assert_eq!(halving.factor(0, 350), 1.0);
        assert_eq!(halving.factor(49, 350), 1.0);
        assert_eq!(halving.factor(50, 350), 0.5);
        assert_eq!(halving.factor(349, 350), 0.5f64.powi(6));
        let mut config = TrainConfig {
            epochs: 1,
            ..adam_config(LrSchedule::Halving { every: 0 })
        };
        let refused = config.check().unwrap_err().to_string();
        assert!(refused.contains("lr_schedule.halving.every"), "{refused}");
        config.lr_schedule = halving;
        assert!(config.check().is_ok());
        let parsed: TrainConfig =
            toml::from_str("epochs = 350\nlr = 0.01\nlr_schedule = { halving = { every = 50 } }")
                .unwrap();
        assert_eq!(parsed.lr_schedule, halving);
    }

    #[test]
    fn glorot_is_seeded() {
        let make = |s| {
            let mut p = Params::default();
            p.glorot("w", 3, 4, &mut ChaCha8Rng::seed_from_u64(s));
            p
        };
        assert_eq!(make(1), make(1));
        assert_ne!(make(1), make(2));
        assert!(make(1)
            .get(0)
            .iter()
            .all(|x| x.abs() <= (6.0f64 / 7.0).sqrt()));
    }
}
