//! Failing well under real operations: an endpoint that cannot be
//! reached, refuses the caller, does not exist or keeps throttling ends the
//! job within the retry budget, naming the endpoint and the cause, never a
//! row, and without the per-record fallback; a model that fails on records
//! still names the row. Every stage that calls the model (`run` with bias,
//! SHAP and PDP, `partial`, `check`) is driven as a user does, and its wall
//! time asserted.

mod common;

use common::*;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// The retry budget the tests give (`--retry-budget`), in seconds.
const BUDGET: f64 = 3.0;
/// Start-up, reading the data and the last attempt, on top of the budget
/// (generous: the machine is shared with other builds).
const SLACK: Duration = Duration::from_secs(4);

/// Runs `command` and returns its output and wall time.
fn timed(command: &mut Command) -> (Output, Duration) {
    let started = Instant::now();
    let out = command.env("OPENCLARIFY_LOG", "info").output().unwrap();
    (out, started.elapsed())
}

/// `openclarify run` of the demo config reduced to `methods` against `url`.
fn run(dir: &Path, methods: &[&str], url: &str, extra: &[&str]) -> (Output, Duration, String) {
    let config = demo_config(dir, methods);
    if !methods.contains(&"shap") {
        // PDP without SHAP needs its features named.
        let mut json = read_json(&config);
        if let Some(pdp) = json["methods"].get_mut("pdp") {
            pdp["features"] = serde_json::json!(["credit_amount", "age"]);
        }
        std::fs::write(&config, json.to_string()).unwrap();
    }
    let out_dir = dir.join("out");
    let message = dir.join("message");
    let (out, took) = timed(
        Command::new(env!("CARGO_BIN_EXE_openclarify"))
            .args(["run", "--config", config.to_str().unwrap()])
            .args(["--data", fixtures().join("german.csv").to_str().unwrap()])
            .args(["--output", out_dir.to_str().unwrap()])
            .args(["--failure-file", message.to_str().unwrap()])
            .args(["--endpoint-url", url])
            .args(extra),
    );
    assert!(!out_dir.join("analysis.json").exists());
    let message = std::fs::read_to_string(message).unwrap_or_default();
    (out, took, message)
}

/// Asserts that a job failed with exit 1 in at most `limit`, with a message
/// that names `url`'s endpoint and contains `cause`, and no row, and that
/// no record was sent on its own.
fn assert_endpoint_failure(
    (out, took, message): &(Output, Duration, String),
    url: &str,
    cause: &str,
    limit: Duration,
) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        message.starts_with("ClientError: ")
            && message.contains(&format!("{url}/invocations"))
            && message.contains(cause),
        "{message}"
    );
    assert!(!message.contains("row"), "blames a row: {message}");
    assert!(
        !stderr.contains("Fallback to per-record"),
        "falls back per record: {stderr}"
    );
    assert!(*took <= limit, "took {took:?} (limit {limit:?}): {message}");
    eprintln!("{took:.1?}: {message}");
}

fn budget_flags() -> Vec<&'static str> {
    vec!["--retry-budget", "3"]
}

fn within_budget() -> Duration {
    Duration::from_secs_f64(BUDGET) + SLACK
}

fn closed_port_url() -> String {
    format!("http://127.0.0.1:{}", free_port())
}

#[test]
fn an_unreachable_endpoint_ends_run_within_the_budget_naming_it() {
    let url = closed_port_url();
    let dir = tempfile::tempdir().unwrap();
    let failed = run(
        dir.path(),
        &["pre_training_bias", "post_training_bias"],
        &url,
        &budget_flags(),
    );
    assert_endpoint_failure(&failed, &url, "Cannot reach the model at", within_budget());
    assert!(failed.2.contains("Connection refused"), "{}", failed.2);
    // It was retried until the budget was spent, not given up at once.
    assert!(
        failed.1 >= Duration::from_secs_f64(BUDGET * 0.7),
        "{:?}",
        failed.1
    );
}

/// With the default budget (60 s) and attempts (8), an unreachable
/// endpoint ends the job in about a minute at most.
#[test]
fn an_unreachable_endpoint_ends_within_the_default_budget() {
    let url = closed_port_url();
    let dir = tempfile::tempdir().unwrap();
    let failed = run(dir.path(), &["post_training_bias"], &url, &[]);
    assert_endpoint_failure(
        &failed,
        &url,
        "Cannot reach the model at",
        Duration::from_secs(60) + SLACK,
    );
}

#[test]
fn an_unreachable_endpoint_ends_shap_and_pdp_within_the_budget() {
    let url = closed_port_url();
    for method in ["shap", "pdp"] {
        let dir = tempfile::tempdir().unwrap();
        let failed = run(dir.path(), &[method], &url, &budget_flags());
        assert_endpoint_failure(&failed, &url, "Cannot reach the model at", within_budget());
    }
}

#[test]
fn an_unreachable_endpoint_ends_partial_within_the_budget() {
    let url = closed_port_url();
    let dir = tempfile::tempdir().unwrap();
    let config = demo_config(dir.path(), &["post_training_bias", "shap"]);
    let plan = dir.path().join("job.plan");
    let german = fixtures().join("german.csv");
    plan_german(&config, &plan);
    let state = dir.path().join("0.state");
    let message = dir.path().join("message");
    let (out, took) = timed(
        Command::new(env!("CARGO_BIN_EXE_openclarify"))
            .args(["partial", "--config", config.to_str().unwrap()])
            .args(["--plan", plan.to_str().unwrap()])
            .args(["--data", german.to_str().unwrap()])
            .args(["--output", state.to_str().unwrap()])
            .args(["--failure-file", message.to_str().unwrap()])
            .args(["--endpoint-url", &url])
            .args(budget_flags()),
    );
    assert!(!state.exists());
    let message = std::fs::read_to_string(message).unwrap_or_default();
    assert_endpoint_failure(
        &(out, took, message),
        &url,
        "Cannot reach the model at",
        within_budget(),
    );
}

#[test]
fn check_names_an_unreachable_endpoint_at_once() {
    let url = closed_port_url();
    let dir = tempfile::tempdir().unwrap();
    let config = demo_config(dir.path(), &["post_training_bias", "shap"]);
    let (out, took) = timed(
        Command::new(env!("CARGO_BIN_EXE_openclarify"))
            .args(["check", "--config", config.to_str().unwrap()])
            .args(["--data", fixtures().join("german.csv").to_str().unwrap()])
            .args(["--endpoint-url", &url]),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let want = format!("NOT READY: the model cannot be called: Cannot reach the model at {url}/invocations: connection failed");
    assert!(stdout.contains(&want), "{stdout}");
    assert!(took <= SLACK, "took {took:?}");
}

/// The demo model's fault switches for each class that is about the
/// endpoint: the job ends naming it, and not retried where a retry cannot
/// help (401, 403, 404: one request, so well under the budget).
#[test]
fn refused_missing_and_throttled_endpoints_end_the_job_naming_them() {
    let cases: [(&str, &str, Duration); 4] = [
        ("401", "refused the job's credentials: HTTP 401", SLACK),
        ("403", "refused the job's credentials: HTTP 403", SLACK),
        ("404", "does not exist: HTTP 404", SLACK),
        (
            "429",
            "kept throttling the requests: HTTP 429",
            within_budget(),
        ),
    ];
    for (status, cause, limit) in cases {
        let model = DemoModel::start(&["--fail-every", "1", "--fail-status", status]);
        let dir = tempfile::tempdir().unwrap();
        let failed = run(
            dir.path(),
            &["post_training_bias"],
            &model.url,
            &budget_flags(),
        );
        assert_endpoint_failure(&failed, &model.url, cause, limit);
        if status == "429" {
            assert!(
                failed.1 >= Duration::from_secs_f64(BUDGET * 0.7),
                "throttling was not retried: {:?}",
                failed.1
            );
        }
    }
}

/// A model that fails on every request with a server error or rejects the
/// records (400): the batch falls back to one record per request, and the
/// first record that fails alone is named. The fallback shares the batch's
/// budget, so this too ends within it.
#[test]
fn server_errors_and_bad_answers_fall_back_per_record_and_name_the_row() {
    for (status, limit) in [("500", within_budget()), ("400", SLACK)] {
        let model = DemoModel::start(&["--fail-every", "1", "--fail-status", status]);
        let dir = tempfile::tempdir().unwrap();
        let (out, took, message) = run(
            dir.path(),
            &["post_training_bias"],
            &model.url,
            &budget_flags(),
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(
            message.contains("The model failed on dataset row ")
                && message.contains(&format!("HTTP {status}")),
            "{status}: {message}"
        );
        assert!(
            stderr.contains("Fallback to per-record prediction"),
            "{stderr}"
        );
        assert!(took <= limit, "{status}: took {took:?}");
    }
}
