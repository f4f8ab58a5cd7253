//! The regression experiment's synthetic data: a Barabási–Albert graph, node features of
//! mixed types, and a teacher filter whose noisy outputs are the labels.

use super::RegressionConfig;
use crate::filter::{predict, Activation, Architecture};
use crate::stream;
use crate::topology::{barabasi_albert, normalised_laplacian};
use hogwild_graph::Graph;
use ndarray::Array2;
use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal, StandardNormal};

/// Feature columns per node: U(0, 1), N(0, 1), an integer in 0…5, Bernoulli(0.25),
/// Bernoulli(0.75), and a one-hot of a class in 0…4.
pub const FEATURES: usize = 10;
/// Classes of the one-hot feature block.
const CLASSES: usize = 5;

/// Node features and targets of one sample, one row per node.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// `N × 10` features.
    pub x: Array2<f64>,
    /// `N × 1` noisy teacher outputs.
    pub y: Array2<f64>,
}

/// Everything a run of the experiment reads.
#[derive(Debug, Clone)]
pub struct RegressionData {
    /// The communication (and data) graph.
    pub comm: Graph,
    /// Its normalised Laplacian, the filter's shift operator.
    pub shift: Graph,
    /// The filter of teacher and student: `10 → hidden → 1`, sigmoid after each layer.
    pub arch: Architecture,
    /// The teacher's parameters (one shared row).
    pub teacher: Array2<f64>,
    /// The preset training samples.
    pub train: Vec<Sample>,
    /// The test samples.
    pub test: Vec<Sample>,
}

impl RegressionData {
    /// Draws the graph, the teacher and both sample sets from `cfg`'s named streams.
    pub fn generate(cfg: &RegressionConfig) -> RegressionData {
        let comm = barabasi_albert(
            cfg.nodes,
            cfg.attachment,
            &mut stream(&format!("fdt-regression/graph/{}", cfg.graph_seed)),
        );
        let shift = normalised_laplacian(&comm);
        let arch = Architecture {
            widths: vec![FEATURES, cfg.hidden, 1],
            activations: vec![Activation::Sigmoid; 2],
        };
        let teacher = teacher_parameters(&arch, &mut stream(&cfg.label("teacher")));
        let mut data = RegressionData {
            comm,
            shift,
            arch,
            teacher,
            train: Vec::new(),
            test: Vec::new(),
        };
        data.train = data.training_samples(cfg, &mut stream(&cfg.label("train")));
        let test_classes = if cfg.mimic_test_one_hot_bug {
            2 * CLASSES
        } else {
            CLASSES
        };
        data.test = data.samples(
            cfg,
            cfg.test_samples,
            test_classes,
            &mut stream(&cfg.label("test")),
        );
        data
    }

    /// A fresh training set of `cfg.train_samples` samples.
    pub fn training_samples(&self, cfg: &RegressionConfig, rng: &mut ChaCha8Rng) -> Vec<Sample> {
        self.samples(cfg, cfg.train_samples, CLASSES, rng)
    }

    /// `count` fresh samples whose one-hot class is drawn from `0..classes` (a class of
    /// `CLASSES` or more leaves the one-hot block all zero, as the reference code's test set).
    pub fn samples(
        &self,
        cfg: &RegressionConfig,
        count: usize,
        classes: usize,
        rng: &mut ChaCha8Rng,
    ) -> Vec<Sample> {
        let noise = Normal::new(0.0, cfg.noise_std).expect("a finite, non-negative std");
        (0..count)
            .map(|_| {
                let x = features(cfg.nodes, classes, rng);
                let mut y = predict(&self.arch, &self.shift, self.teacher.view(), x.view());
                y.mapv_inplace(|v| v + noise.sample(rng));
                Sample { x, y }
            })
            .collect()
    }
}

/// One sample's `n × 10` feature matrix, drawn row by row.
fn features(n: usize, classes: usize, rng: &mut ChaCha8Rng) -> Array2<f64> {
    let mut x = Array2::zeros((n, FEATURES));
    for mut row in x.rows_mut() {
        row[0] = rng.random::<f64>();
        row[1] = StandardNormal.sample(rng);
        row[2] = rng.random_range(0..=5) as f64;
        row[3] = f64::from(u8::from(rng.random::<f64>() < 0.25));
        row[4] = f64::from(u8::from(rng.random::<f64>() < 0.75));
        let class = rng.random_range(0..classes);
        if class < CLASSES {
            row[5 + class] = 1.0;
        }
    }
    x
}

/// The teacher: `W0 ~ U(0, 1)` and `W1 ~ U(0, 2)` in every layer.
fn teacher_parameters(arch: &Architecture, rng: &mut ChaCha8Rng) -> Array2<f64> {
    let layout = arch.layout();
    let mut theta = Array2::zeros((1, layout.len));
    for slots in &layout.layers {
        let size = slots.d_in * slots.d_out;
        for k in 0..size {
            theta[[0, slots.w0 + k]] = rng.random::<f64>();
        }
        for k in 0..size {
            theta[[0, slots.w1 + k]] = 2.0 * rng.random::<f64>();
        }
    }
    theta
}

/// The student's start, `U(0, 1)` everywhere, tiled to `rows` identical copies.
pub fn student_parameters(len: usize, rows: usize, rng: &mut ChaCha8Rng) -> Array2<f64> {
    let one: Vec<f64> = (0..len).map(|_| rng.random::<f64>()).collect();
    Array2::from_shape_fn((rows, len), |(_, k)| one[k])
}
