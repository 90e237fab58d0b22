//! The program's log writer and signs of life during long model runs.
//!
//! Every log line goes through [`Stderr`], which shares the terminal with
//! the progress bars. During model calls a reporter writes a line at a steady interval
//! with requests sent and in flight, predictions per second, retries so
//! far and, when the number of records to predict is known (SHAP), an ETA.
//! On a terminal a progress bar (indicatif) shows the same instead.
//!
//! The predictor only bumps atomic counters; a reporter thread reads them,
//! so the request path never waits on logging or drawing.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

/// How often a progress line is logged: often enough to show the job is
/// alive, rarely enough not to flood CloudWatch.
pub const EVERY: Duration = Duration::from_secs(5);

/// How often a progress bar is redrawn.
const REDRAW: Duration = Duration::from_millis(200);

/// Whether progress goes to a bar rather than to log lines.
static BARS: AtomicBool = AtomicBool::new(false);

/// The bar being drawn, so that log lines can clear it while they print.
static DRAWN: Mutex<Option<ProgressBar>> = Mutex::new(None);

/// Shows progress as a bar on stderr instead of log lines: for a person at
/// a terminal, not for log files or CloudWatch.
pub fn draw_bars(on: bool) {
    BARS.store(on, Ordering::Relaxed);
}

/// Runs `write` (a log line going to stderr) with the bar, if one is drawn,
/// cleared first and redrawn after, so that neither overwrites the other.
pub fn suspend<R>(write: impl FnOnce() -> R) -> R {
    let bar = DRAWN.lock().ok().and_then(|drawn| drawn.clone());
    match bar {
        Some(bar) => bar.suspend(write),
        None => write(),
    }
}

/// stderr for log lines, making way for the progress bar.
pub struct Stderr;

impl std::io::Write for Stderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        suspend(|| std::io::stderr().write(buf))
    }

    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        suspend(|| std::io::stderr().write_all(buf))
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

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
        let bar = BARS
            .load(Ordering::Relaxed)
            .then(|| new_bar(what, expected));
        if let (Some(bar), Ok(mut drawn)) = (&bar, DRAWN.lock()) {
            *drawn = Some(bar.clone());
        }
        let interval = if bar.is_some() { REDRAW } else { EVERY };
        let thread = std::thread::Builder::new()
            .name("progress".into())
            .spawn(move || {
                while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(interval) {
                    let now = Snapshot::of(&counters, started.elapsed());
                    match &bar {
                        Some(bar) => now.draw(bar),
                        None => now.log(what, expected),
                    }
                }
                if let Some(bar) = bar {
                    bar.finish_and_clear();
                    if let Ok(mut drawn) = DRAWN.lock() {
                        *drawn = None;
                    }
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

/// A bar of `expected` records, or a spinner when the total is unknown.
fn new_bar(what: &str, expected: Option<u64>) -> ProgressBar {
    let (bar, template) = match expected {
        Some(total) => (
            ProgressBar::new(total),
            "{prefix} [{bar:20}] {percent:>3}% ETA {eta:>3} {wide_msg}",
        ),
        None => (ProgressBar::new_spinner(), "{prefix} {spinner} {wide_msg}"),
    };
    bar.set_draw_target(ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.with_prefix(what.to_string())
}

/// The counters at one moment.
#[derive(Debug, Clone, Copy)]
struct Snapshot {
    requests: u64,
    in_flight: u64,
    records: u64,
    retries: u64,
    rate: f64,
}

impl Snapshot {
    fn of(counters: &Counters, elapsed: Duration) -> Snapshot {
        let records = counters.records();
        Snapshot {
            requests: counters.requests(),
            in_flight: counters.in_flight.load(Ordering::Relaxed),
            records,
            retries: counters.retries.load(Ordering::Relaxed),
            rate: records as f64 / elapsed.as_secs_f64().max(1e-9),
        }
    }

    /// Most telling first: `{wide_msg}` cuts the end on a narrow terminal.
    fn draw(&self, bar: &ProgressBar) {
        bar.set_position(self.records);
        bar.set_message(format!(
            "{:.0}/s, {} predictions, {} requests ({} in flight), {} retries",
            self.rate, self.records, self.requests, self.in_flight, self.retries
        ));
        bar.tick();
    }

    fn log(&self, what: &str, expected: Option<u64>) {
        let Snapshot {
            requests,
            in_flight,
            records,
            retries,
            rate,
        } = *self;
        let predictions_per_sec = rate.round() as u64;
        match eta(records, expected, rate) {
            Some(eta) => tracing::info!(
                requests,
                in_flight,
                predictions = records,
                predictions_per_sec,
                retries,
                eta = %format_duration(eta),
                "{what}: {:.0}% of the model calls done",
                100.0 * records as f64 / expected.unwrap_or(1).max(1) as f64
            ),
            None => tracing::info!(
                requests,
                in_flight,
                predictions = records,
                predictions_per_sec,
                retries,
                "{what}: calling the model"
            ),
        }
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

/// Logs rows read and throughput every [`EVERY`] during long reads, and a
/// last line when the read is done. Shared by the threads folding chunks.
pub struct ReadProgress {
    rows: AtomicU64,
    started: Instant,
    last: Mutex<Instant>,
}

impl ReadProgress {
    /// Starts counting now.
    pub fn new() -> Self {
        let now = Instant::now();
        ReadProgress {
            rows: AtomicU64::new(0),
            started: now,
            last: Mutex::new(now),
        }
    }

    /// Counts `n` more rows read, logging when a line is due.
    pub fn add(&self, n: u64) {
        let rows = self.rows.fetch_add(n, Ordering::Relaxed) + n;
        let mut last = self.last.lock().expect("progress lock");
        if last.elapsed() >= EVERY {
            *last = Instant::now();
            let secs = self.started.elapsed().as_secs_f64();
            tracing::info!(
                rows,
                rows_per_sec = (rows as f64 / secs) as u64,
                "reading dataset"
            );
        }
    }

    /// Logs the rows read and the overall throughput.
    pub fn finish(&self) {
        let rows = self.rows.load(Ordering::Relaxed);
        let secs = self.started.elapsed().as_secs_f64().max(1e-9);
        tracing::info!(
            rows,
            rows_per_sec = (rows as f64 / secs) as u64,
            "dataset read"
        );
    }
}

impl Default for ReadProgress {
    fn default() -> Self {
        Self::new()
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
