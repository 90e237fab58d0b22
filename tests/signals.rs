//! SIGTERM and SIGINT on a running job (what `docker stop`, a stopped
//! processing job and Ctrl-C send): the job stops at once, writes its
//! failure message, exits with 128 + the signal's number, and leaves no
//! `analysis.json`, state file or temporary file behind.

mod common;

use common::*;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Sends `signal` (`TERM`, `INT`) to `child` with kill(1), once the job
/// has had `after` to start and send its first request.
fn signal(child: &Child, signal: &str, after: Duration) {
    std::thread::sleep(after);
    let sent = Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
}

/// Waits for `child` to exit, at most `limit`; returns its exit code.
fn exit_code_within(child: &mut Child, limit: Duration) -> Option<i32> {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code();
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            panic!("the job did not stop within {limit:?} of the signal");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn job(subcommand: &str, dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_openclarify"));
    command
        .arg(subcommand)
        .args(args)
        .args(["--failure-file", dir.join("message").to_str().unwrap()])
        .env("OPENCLARIFY_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    command
}

/// `run` waiting on a slow model: SIGTERM gives 143, SIGINT 130, each with
/// the message, and nothing left in (or beside) the output folder.
#[test]
fn a_signal_stops_run_cleanly_with_its_message() {
    let slow = DemoModel::start(&["--delay-ms", "30000"]);
    for (name, code, number) in [("TERM", 143, 15), ("INT", 130, 2)] {
        let dir = tempfile::tempdir().unwrap();
        let config = demo_config(dir.path(), &["pre_training_bias", "post_training_bias"]);
        let out = dir.path().join("out");
        let german = fixtures().join("german.csv");
        let mut child = job(
            "run",
            dir.path(),
            &[
                "--config",
                config.to_str().unwrap(),
                "--data",
                german.to_str().unwrap(),
                "--output",
                out.to_str().unwrap(),
                "--endpoint-url",
                &slow.url,
            ],
        )
        .spawn()
        .unwrap();
        signal(&child, name, Duration::from_millis(1500));
        let code_seen = exit_code_within(&mut child, Duration::from_secs(5));
        assert_eq!(code_seen, Some(code), "SIG{name}");
        let message = std::fs::read_to_string(dir.path().join("message")).unwrap();
        assert!(
            message.starts_with(&format!(
                "ClientError: Signal {number} received (SIG{name})"
            )),
            "{message}"
        );
        assert_eq!(files_under(&out), [], "SIG{name}");
    }
}

/// `partial` in its SHAP stage: SIGTERM gives 143 and no state file.
#[test]
fn sigterm_stops_partial_without_a_state_file() {
    let slow = DemoModel::start(&["--delay-ms", "30000"]);
    let dir = tempfile::tempdir().unwrap();
    let config = demo_config(dir.path(), &["shap"]);
    let german = fixtures().join("german.csv");
    let plan = dir.path().join("job.plan");
    plan_german(&config, &plan);
    let state = dir.path().join("states/0.state");
    let mut child = job(
        "partial",
        dir.path(),
        &[
            "--config",
            config.to_str().unwrap(),
            "--plan",
            plan.to_str().unwrap(),
            "--data",
            german.to_str().unwrap(),
            "--output",
            state.to_str().unwrap(),
            "--endpoint-url",
            &slow.url,
        ],
    )
    .spawn()
    .unwrap();
    signal(&child, "TERM", Duration::from_millis(1500));
    assert_eq!(
        exit_code_within(&mut child, Duration::from_secs(5)),
        Some(143)
    );
    let message = std::fs::read_to_string(dir.path().join("message")).unwrap();
    assert!(
        message.starts_with("ClientError: Signal 15 received"),
        "{message}"
    );
    assert_eq!(
        files_under(&dir.path().join("states")),
        Vec::<(String, Vec<u8>)>::new()
    );
}
