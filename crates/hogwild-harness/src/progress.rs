//! Progress of a sweep, on stderr only (stdout and the result files stay byte-stable).
//!
//! On a terminal, a bar that ticks every second (the elapsed time never freezes between
//! runs), fits 80 columns, and shows an ETA once a run has finished. Off a terminal (a log
//! file, a Slurm job), one line per finished run,
//! `[17/792] chains · l = 20 · gcn · seed 1 · 2.4 s · ETA 6 min`, and a summary line at the
//! end. The ETA is the elapsed time scaled by the expected cost still to run over the cost
//! run so far (each run's cost is the plan's estimate).

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How much a command prints on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Verbosity {
    /// Warnings and errors only.
    Quiet,
    /// Progress (a bar on a terminal, a line per run off one) and a summary.
    #[default]
    Normal,
    /// Also every run taken from its record, and a line per run on a terminal too.
    Verbose,
}

/// `seconds` for people: `< 1 min`, `6 min`, `1 h 20 min`.
pub fn duration_text(seconds: f64) -> String {
    let minutes = (seconds / 60.0).round() as u64;
    match minutes {
        0 => "< 1 min".into(),
        m if m < 60 => format!("{m} min"),
        m => format!("{} h {} min", m / 60, m % 60),
    }
}

struct State {
    done: usize,
    done_cost: f64,
}

/// The progress of the runs of one sweep still to compute.
pub struct Progress {
    bar: Option<indicatif::ProgressBar>,
    verbosity: Verbosity,
    runs: usize,
    total_cost: f64,
    start: Instant,
    state: Mutex<State>,
}

impl Progress {
    /// Progress over runs of expected `costs`.
    pub fn new(costs: &[f64], verbosity: Verbosity) -> Progress {
        let target = indicatif::ProgressDrawTarget::stderr();
        let bar = (verbosity != Verbosity::Quiet && !target.is_hidden()).then(|| {
            let bar = indicatif::ProgressBar::with_draw_target(Some(1000), target);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{elapsed_precise} [{bar:24}] {percent:>3}% {wide_msg}",
                )
                .expect("a valid template")
                .progress_chars("=> "),
            );
            bar.set_message(format!("0/{} runs", costs.len()));
            bar.enable_steady_tick(Duration::from_secs(1));
            bar
        });
        Progress {
            bar,
            verbosity,
            runs: costs.len(),
            total_cost: costs.iter().sum(),
            start: Instant::now(),
            state: Mutex::new(State {
                done: 0,
                done_cost: 0.0,
            }),
        }
    }

    /// The estimated time left when `done_cost` of the expected cost has run.
    fn eta(&self, done_cost: f64) -> Option<f64> {
        (done_cost > 0.0).then(|| {
            let elapsed = self.start.elapsed().as_secs_f64();
            elapsed * (self.total_cost - done_cost).max(0.0) / done_cost
        })
    }

    /// The run described by `what` (`chains · l = 20 · gcn · seed 1`), of expected `cost`,
    /// finished in `seconds`.
    pub fn finished(&self, what: &str, cost: f64, seconds: f64) {
        let mut state = self.state.lock().expect("never poisoned");
        state.done += 1;
        state.done_cost += cost;
        let eta = self.eta(state.done_cost);
        let line = format!(
            "[{}/{}] {what} · {seconds:.1} s{}",
            state.done,
            self.runs,
            eta.map_or(String::new(), |e| format!(" · ETA {}", duration_text(e)))
        );
        match &self.bar {
            Some(bar) => {
                if self.verbosity == Verbosity::Verbose {
                    bar.println(&line);
                }
                let share = if self.total_cost > 0.0 {
                    state.done_cost / self.total_cost
                } else {
                    1.0
                };
                bar.set_position((share * 1000.0).round() as u64);
                bar.set_message(format!(
                    "{}/{} runs{}",
                    state.done,
                    self.runs,
                    eta.map_or(String::new(), |e| format!(", ETA {}", duration_text(e)))
                ));
            }
            None if self.verbosity != Verbosity::Quiet => eprintln!("{line}"),
            None => {}
        }
    }

    /// Removes the bar.
    pub fn clear(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_people_say_them() {
        assert_eq!(duration_text(12.0), "< 1 min");
        assert_eq!(duration_text(360.0), "6 min");
        assert_eq!(duration_text(4800.0), "1 h 20 min");
    }

    #[test]
    fn there_is_no_eta_before_a_run_has_finished() {
        let p = Progress::new(&[1.0, 3.0], Verbosity::Quiet);
        assert_eq!(p.eta(0.0), None);
        std::thread::sleep(Duration::from_millis(20));
        let eta = p.eta(1.0).unwrap();
        assert!(eta > 0.0 && eta < 10.0, "{eta}");
        assert_eq!(p.eta(4.0), Some(0.0));
    }
}
