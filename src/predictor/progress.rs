//! Signs of life during long model runs: a log line at a steady interval
//! with requests sent and in flight, predictions per second, retries so
//! far and, when the number of records to predict is known (SHAP), an ETA.
//!
//! The predictor only bumps atomic counters; a reporter thread reads them,
//! so the request path never waits on logging.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often a progress line is logged: often enough to show the job is
/// alive, rarely enough not to flood CloudWatch.
pub const EVERY: Duration = Duration::from_secs(5);

/// What the predictor has done so far.
#[derive(Debug, Default)]
pub struct Counters {
    requests: AtomicU64,
    in_flight: AtomicU64,
    records: AtomicU64,
    retries: AtomicU64,
}

/// Marks one request in flight until dropped.
pub struct InFlight<'a>(&'a Counters);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Counters {
    /// HTTP requests sent, retries and per-record fallbacks included.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Records the model has answered.
    pub fn records(&self) -> u64 {
        self.records.load(Ordering::Relaxed)
    }

    pub(super) fn add_request(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn add_records(&self, n: u64) {
        self.records.fetch_add(n, Ordering::Relaxed);
    }

    pub(super) fn add_retry(&self) {
        self.retries.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn start_request(&self) -> InFlight<'_> {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(self)
    }
}

/// Logs the counters every [`EVERY`] until dropped.
pub struct Reporter {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Reporter {
    /// Starts logging `what` (e.g. "SHAP"), with an ETA when `expected`
    /// records are to be predicted in all.
    pub fn start(counters: Arc<Counters>, what: &'static str, expected: Option<u64>) -> Reporter {
        let (stop, stopped) = mpsc::channel::<()>();
        let started = Instant::now();
        let thread = std::thread::Builder::new()
            .name("progress".into())
            .spawn(move || {
                while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(EVERY) {
                    log_line(&counters, what, started.elapsed(), expected);
                }
            })
            // Without a thread the job still runs, just without progress lines.
            .ok();
        Reporter {
            stop: Some(stop),
            thread,
        }
    }
}

impl Drop for Reporter {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn log_line(counters: &Counters, what: &str, elapsed: Duration, expected: Option<u64>) {
    let records = counters.records();
    let rate = records as f64 / elapsed.as_secs_f64().max(1e-9);
    let requests = counters.requests();
    let in_flight = counters.in_flight.load(Ordering::Relaxed);
    let retries = counters.retries.load(Ordering::Relaxed);
    match eta(records, expected, rate) {
        Some(eta) => tracing::info!(
            requests,
            in_flight,
            predictions = records,
            predictions_per_sec = rate.round() as u64,
            retries,
            eta = %format_duration(eta),
            "{what}: {:.0}% of the model calls done",
            100.0 * records as f64 / expected.unwrap_or(1).max(1) as f64
        ),
        None => tracing::info!(
            requests,
            in_flight,
            predictions = records,
            predictions_per_sec = rate.round() as u64,
            retries,
            "{what}: calling the model"
        ),
    }
}

/// Time left at the current rate, when the total is known and progress made.
fn eta(done: u64, expected: Option<u64>, rate: f64) -> Option<Duration> {
    let left = expected?.saturating_sub(done);
    (rate > 0.0).then(|| Duration::from_secs_f64(left as f64 / rate))
}

/// `1h02m`, `3m05s` or `42s`.
fn format_duration(d: Duration) -> String {
    let s = d.as_secs();
    match (s / 3600, s / 60 % 60, s % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, s) => format!("{m}m{s:02}s"),
        (h, m, _) => format!("{h}h{m:02}m"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eta_follows_the_rate_and_needs_a_total() {
        assert_eq!(eta(100, Some(1100), 50.0), Some(Duration::from_secs(20)));
        assert_eq!(eta(100, None, 50.0), None);
        assert_eq!(eta(0, Some(10), 0.0), None);
        assert_eq!(format_duration(Duration::from_secs(42)), "42s");
        assert_eq!(format_duration(Duration::from_secs(185)), "3m05s");
        assert_eq!(format_duration(Duration::from_secs(3720)), "1h02m");
    }

    #[test]
    fn in_flight_counts_until_the_guard_drops() {
        let c = Counters::default();
        let guard = c.start_request();
        assert_eq!(c.in_flight.load(Ordering::Relaxed), 1);
        drop(guard);
        assert_eq!(c.in_flight.load(Ordering::Relaxed), 0);
    }
}
