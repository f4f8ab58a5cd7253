//! Theorem 4.1 as a test: the Table 1 node program on the event engine computes synchronous
//! sGIN exactly, from every start node, under constant and random delays.

use hogwild_amp::sgin::{synchronous_sgin, SginLayer, SginSimulation, Signal};
use hogwild_amp::{Budget, DelayDistribution, Delays, Engine};
use hogwild_graph::Graph;
use ndarray::{Array1, Array2};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn uniform(rows: usize, cols: usize, rng: &mut ChaCha8Rng) -> Array2<f64> {
    Array2::from_shape_simple_fn((rows, cols), || rng.random_range(-1.0..1.0))
}

fn layers(d: usize, count: usize, rng: &mut ChaCha8Rng) -> Vec<SginLayer> {
    (0..count)
        .map(|_| SginLayer {
            weight: uniform(d, d, rng) * 0.6,
            bias: Array1::from_shape_simple_fn(d, || rng.random_range(-0.2..0.2)),
        })
        .collect()
}

fn cycle(n: usize) -> Graph {
    let pairs: Vec<_> = (0..n).map(|i| (i, (i + 1) % n)).collect();
    Graph::undirected(n, &pairs).unwrap()
}

/// G(n, p), redrawn until connected.
fn connected_random_graph(n: usize, p: f64, rng: &mut ChaCha8Rng) -> Graph {
    loop {
        let mut pairs = Vec::new();
        for a in 0..n {
            for b in a + 1..n {
                if rng.random::<f64>() < p {
                    pairs.push((a, b));
                }
            }
        }
        let graph = Graph::undirected(n, &pairs).unwrap();
        let mut seen = vec![false; n];
        let mut stack = vec![0];
        seen[0] = true;
        while let Some(v) = stack.pop() {
            for (x, _) in graph.neighbours(v) {
                if !seen[x] {
                    seen[x] = true;
                    stack.push(x);
                }
            }
        }
        if seen.iter().all(|&s| s) {
            return graph;
        }
    }
}

fn check(graph: &Graph, name: &str) {
    let mut rng = ChaCha8Rng::seed_from_u64(41);
    let (d, depth) = (3, 4);
    let features = uniform(graph.n_nodes(), d, &mut rng);
    let layers = layers(d, depth, &mut rng);
    let expected = synchronous_sgin(graph, &features, &layers);
    let schedules = [
        Delays::Constant,
        Delays::Random(DelayDistribution::CODE),
        Delays::Random(DelayDistribution::PAPER),
    ];
    for delays in schedules {
        for start in 0..graph.n_nodes() {
            let mut engine = Engine::new(delays, Budget::Absolute(1_000_000));
            let mut sim = SginSimulation::new(graph, &features, &layers);
            let mut run_rng = ChaCha8Rng::seed_from_u64(start as u64);
            let stats = engine.run(graph, &mut sim, start, vec![Signal::Origin], &mut run_rng);
            assert_eq!(stats.left_in_queue, 0, "{name} {delays:?} start {start}");
            assert!(sim.finished(), "{name} {delays:?} start {start}: {stats:?}");
            let got = sim.states();
            let err = (&got - &expected)
                .iter()
                .fold(0.0f64, |m, e| m.max(e.abs()));
            assert!(err <= 1e-12, "{name} {delays:?} start {start}: error {err}");
        }
    }
    // The layers are not trivial: some state is non-zero and differs from the features.
    assert!(expected.iter().any(|&x| x > 0.0), "{name}");
}

#[test]
fn table1_rule_reproduces_sgin_on_a_path() {
    check(&Graph::path(6), "path");
}

#[test]
fn table1_rule_reproduces_sgin_on_a_cycle() {
    check(&cycle(7), "cycle");
}

#[test]
fn table1_rule_reproduces_sgin_on_a_random_graph() {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    check(&connected_random_graph(12, 0.3, &mut rng), "random");
}

#[test]
fn table1_rule_on_a_single_edge() {
    check(&Graph::path(2), "edge");
}

/// The paper's Table 1 read literally: state `(s, w, u, l)`, the first matching row applies,
/// every message carries the sender's state before the update and exactly one bit.
struct LiteralTable1<'a> {
    graph: &'a Graph,
    layers: &'a [SginLayer],
    s: Vec<Array1<f64>>,
    w: Vec<i64>,
    u: Vec<i64>,
    l: Vec<usize>,
}

#[derive(Clone, Copy, PartialEq)]
enum Bit {
    Origin,
    Pulse,
    Safe,
}

impl hogwild_amp::Process for LiteralTable1<'_> {
    type Message = (Array1<f64>, Bit);

    fn on_message(
        &mut self,
        d: hogwild_amp::Delivery,
        (m, bit): &(Array1<f64>, Bit),
    ) -> hogwild_amp::Reaction<(Array1<f64>, Bit)> {
        use hogwild_amp::Reaction::Processed;
        let v = d.receiver;
        let degree = self.graph.degree(v) as i64;
        let old = self.s[v].clone();
        if self.l[v] == 0 {
            Processed(None)
        } else if *bit == Bit::Origin {
            self.w[v] = degree - 1;
            self.u[v] = degree;
            Processed(Some((old, Bit::Pulse)))
        } else if self.u[v] == 0 {
            self.s[v] = m.clone();
            self.w[v] = degree - 2;
            self.u[v] = degree;
            Processed(Some((old, Bit::Pulse)))
        } else if *bit == Bit::Safe {
            self.u[v] -= 1;
            Processed(None)
        } else if self.w[v] == 0 {
            let k = self.layers.len() - self.l[v];
            let layer = &self.layers[k];
            self.s[v] = (layer.weight.dot(&(&old + m)) + &layer.bias).mapv(|z| z.max(0.0));
            self.u[v] -= 1;
            self.l[v] -= 1;
            Processed(Some((old, Bit::Safe)))
        } else {
            self.s[v] = &old + m;
            self.w[v] -= 1;
            Processed(None)
        }
    }
}

#[test]
fn table1_as_printed_does_not_compute_sgin() {
    // A negative control for the repairs documented in `sgin`: on these graphs the literal
    // table either leaves layers uncomputed or computes other states, from every start node.
    let mut rng = ChaCha8Rng::seed_from_u64(41);
    let graphs = [Graph::path(6), cycle(7)];
    for graph in &graphs {
        let n = graph.n_nodes();
        let features = uniform(n, 3, &mut rng);
        let layers = layers(3, 4, &mut rng);
        let expected = synchronous_sgin(graph, &features, &layers);
        for start in 0..n {
            let mut literal = LiteralTable1 {
                graph,
                layers: &layers,
                s: features.rows().into_iter().map(|r| r.to_owned()).collect(),
                w: vec![0; n],
                u: vec![0; n],
                l: vec![layers.len(); n],
            };
            let mut engine = Engine::new(Delays::Constant, Budget::Absolute(100_000));
            let initial = (Array1::zeros(3), Bit::Origin);
            engine.run(graph, &mut literal, start, initial, &mut rng);
            let finished = literal.l.iter().all(|&l| l == 0);
            let err = (0..n)
                .flat_map(|v| (&literal.s[v] - &expected.row(v)).to_vec())
                .fold(0.0f64, |m, e| m.max(e.abs()));
            assert!(!finished || err > 1e-6, "start {start}: error {err}");
        }
    }
}
