//! SIGTERM and SIGINT: a stopped job ends cleanly and says why.
//!
//! In the processing image the binary is PID 1, and the kernel gives PID 1
//! no default signal handling: without a handler, the SIGTERM of
//! `docker stop`, `StopProcessingJob` or `MaxRuntimeInSeconds` is ignored
//! and the job is killed 10 seconds later with SIGKILL (exit 137), with no
//! message. [`install`] watches both signals on a thread of its own; when
//! one arrives it
//!
//! 1. marks the process as [`stopping`], so no further model request is sent;
//! 2. lets an output being written land, and lets no other write start
//!    ([`crate::staging::freeze`]), so no temporary file is left behind and
//!    `analysis.json` exists only if it is complete;
//! 3. runs the cleanup registered with [`on_signal`] (deleting a shadow
//!    endpoint);
//! 4. writes the failure message (`ClientError: Signal 15 received ...`)
//!    and exits with 128 + the signal's number: 143 for SIGTERM, 130 for
//!    SIGINT.

use crate::error::{JobError, Result};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;

/// Set once a signal has arrived.
static STOPPING: AtomicBool = AtomicBool::new(false);

/// Cleanup to run when a signal arrives, by registration id.
type Cleanup = Box<dyn FnOnce() + Send>;
static HOOKS: Mutex<Vec<(u64, Cleanup)>> = Mutex::new(Vec::new());
static NEXT_HOOK: AtomicU64 = AtomicU64::new(0);

/// Whether a SIGTERM or SIGINT has arrived and the process is ending.
pub fn stopping() -> bool {
    STOPPING.load(Ordering::SeqCst)
}

/// A cleanup registered with [`on_signal`]; dropping it unregisters the
/// cleanup (the resource it cleans is gone).
#[must_use = "the cleanup is unregistered when the guard drops"]
pub struct OnSignal(u64);

impl Drop for OnSignal {
    fn drop(&mut self) {
        hooks().retain(|(id, _)| *id != self.0);
    }
}

/// Runs `cleanup` if a signal arrives while the returned guard lives. It
/// runs on the signal thread, outside any async runtime, before the
/// process exits.
pub fn on_signal(cleanup: impl FnOnce() + Send + 'static) -> OnSignal {
    let id = NEXT_HOOK.fetch_add(1, Ordering::Relaxed);
    hooks().push((id, Box::new(cleanup)));
    OnSignal(id)
}

fn hooks() -> std::sync::MutexGuard<'static, Vec<(u64, Cleanup)>> {
    HOOKS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Watches SIGTERM and SIGINT for the rest of the process's life. On
/// either, the job stops as the module documentation says, writing its
/// reason to `failure_file` when there is one.
pub fn install(failure_file: Option<PathBuf>) -> Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .map_err(|e| JobError::algorithm(format!("Cannot watch for signals: {e}")))?;
    // Registered here, before this function returns, so that a signal
    // arriving at any later moment is caught.
    let (mut term, mut int) = {
        let _context = runtime.enter();
        let listen = |kind| {
            signal(kind)
                .map_err(|e| JobError::algorithm(format!("Cannot watch for SIGTERM/SIGINT: {e}")))
        };
        (
            listen(SignalKind::terminate())?,
            listen(SignalKind::interrupt())?,
        )
    };
    std::thread::Builder::new()
        .name("openclarify-signals".into())
        .spawn(move || {
            let number = runtime.block_on(async {
                tokio::select! {
                    _ = term.recv() => 15,
                    _ = int.recv() => 2,
                }
            });
            stop(number, failure_file.as_deref())
        })
        .map_err(|e| JobError::algorithm(format!("Cannot watch for signals: {e}")))?;
    Ok(())
}

/// Everything after signal `number` arrived; never returns.
fn stop(number: i32, failure_file: Option<&std::path::Path>) -> ! {
    STOPPING.store(true, Ordering::SeqCst);
    let error = stopped(number);
    tracing::warn!("{}; cleaning up", error.message);
    crate::staging::freeze();
    let cleanups: Vec<(u64, Cleanup)> = std::mem::take(&mut *hooks());
    for (_, cleanup) in cleanups {
        cleanup();
    }
    eprintln!("{error}");
    if let Some(path) = failure_file {
        crate::layout::write_failure(path, &error);
    }
    std::process::exit(128 + number)
}

/// The failure a signal ends the job with.
fn stopped(number: i32) -> JobError {
    let name = match number {
        15 => "SIGTERM",
        2 => "SIGINT",
        _ => "a signal",
    };
    JobError::client(format!(
        "Signal {number} received ({name}): the job was stopped before it finished, and no partial output was kept."
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_names_the_signal() {
        assert_eq!(
            stopped(15).to_string(),
            "ClientError: Signal 15 received (SIGTERM): the job was stopped before it finished, and no partial output was kept."
        );
        assert!(stopped(2).message.contains("(SIGINT)"));
    }

    #[test]
    fn a_dropped_guard_unregisters_its_cleanup() {
        let before = hooks().len();
        let guard = on_signal(|| {});
        assert_eq!(hooks().len(), before + 1);
        drop(guard);
        assert_eq!(hooks().len(), before);
    }
}
