//! Fully distributed online training of graph neural networks (Olshevskyi, Zhao, Chan,
//! Verma, Swami and Segarra, arXiv 2412.06105): every node of a networked system holds its
//! own copy of all parameters, runs the forward and backward passes by exchanging messages
//! with its neighbours, and keeps its copy close to its neighbours' by consensus.
//!
//! - [`topology`]: the Barabási–Albert generator, the shift operator and the consensus
//!   mixing matrices (Metropolis–Hastings, and the reference code's Laplacian step);
//! - [`network`]: the synchronous message simulator and its [`network::Ledger`];
//! - [`schedule`]: which exchanges ride in which round under each scheme of the paper's
//!   Table I (naive, naive with piggybacking, pipelined);
//! - [`filter`]: the order-1 graph filter and its parameter layout;
//! - [`kernels`]: the node-local products, each node with its own copy;
//! - [`minibatch`]: one mini-batch through the network: forward passes, the distributed
//!   backward pass, consensus;
//! - [`optim`]: D-SGD, D-Adam and D-AMSGrad as the reference code has them, the eq. (17)
//!   form with Metropolis–Hastings mixing, local Adam after gradient consensus, and
//!   centralized SGD and Adam;
//! - [`regression`]: the node-regression experiment (teacher network on a
//!   Barabási–Albert graph), from a checked config to per-epoch curves;
//! - [`power`]: the power-allocation experiment (unrolled WMMSE on a wireless interference
//!   channel), its WMMSE references, and centralized against gradient-consensus training;
//! - [`scheduling`]: the link-scheduling experiment (a GCN actor scaling utilities before
//!   local greedy search on Erdős–Rényi conflict graphs, trained against a critic "digital
//!   twin"), centralized against gradient-consensus training of the actor.
//!
//! # Entry points for a results table
//!
//! - node regression: [`regression::RegressionConfig`] (serde, unknown keys rejected,
//!   [`regression::RegressionConfig::check`] names the failing key), then
//!   [`regression::run_regression`] for every optimiser in order, or
//!   [`regression::RegressionData::generate`] once and [`regression::train_optimiser`] per
//!   optimiser (independent runs that may go to different threads; the results do not
//!   depend on it). Each [`regression::OptimiserCurve`] holds per-epoch test and train MSE,
//!   cumulative counted rounds and the copies' spread;
//! - the communication ledger (the paper's Table I): [`regression::measure_ledger`], one
//!   counted mini-batch under every [`schedule::Scheme`];
//! - power allocation: [`power::PowerConfig`] (serde, unknown keys rejected,
//!   [`power::PowerConfig::check`]), then [`power::run_power`], or
//!   [`power::PowerData::generate`] once and [`power::train_optimiser`] per optimiser. The
//!   [`power::PowerCurves`] hold the WMMSE references and, per optimiser, per-epoch test
//!   and train sum-rates and counted rounds;
//! - link scheduling: [`scheduling::SchedulingConfig`] (serde, unknown keys rejected,
//!   [`scheduling::SchedulingConfig::check`]), then [`scheduling::run_scheduling`], or
//!   [`scheduling::SchedulingData::generate`] once and [`scheduling::train_actor`] per
//!   optimiser. Each [`scheduling::SchedulingRun`] holds, per evaluation (before each
//!   update), the test approximation ratio against greedy, the training ratio, the actor's
//!   objective, the critic's loss, counted rounds and the copies' spread.
//!
//! ```
//! use hogwild_distributed::regression::{measure_ledger, RegressionConfig, RegressionData};
//! let mut cfg = RegressionConfig::paper();
//! cfg.train_samples = 100;
//! let rounds: Vec<u64> = measure_ledger(&cfg, &RegressionData::generate(&cfg), 1)
//!     .iter()
//!     .map(|row| row.per_minibatch.rounds)
//!     .collect();
//! assert_eq!(rounds, [200, 400, 202, 201]);
//! ```
//!
//! Every random draw comes from a named stream ([`stream`]), so the same settings give the
//! same bits whatever order or thread the runs are made on.

pub mod filter;
pub mod kernels;
pub mod ledger;
pub mod minibatch;
pub mod network;
pub mod optim;
pub mod power;
pub mod regression;
pub mod schedule;
pub mod scheduling;
pub mod topology;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use sha2::{Digest, Sha256};

/// The random stream named `label`: ChaCha8 seeded with SHA-256 of the label, so every
/// draw depends only on what it is for, never on the order runs are made in.
pub fn stream(label: &str) -> ChaCha8Rng {
    ChaCha8Rng::from_seed(Sha256::digest(label.as_bytes()).into())
}
