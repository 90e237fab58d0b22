//! The model client end to end: `openclarify run` against the demo model
//! (and, for shapes the demo model does not answer, a scripted server),
//! for each content/accept type, under injected faults, and when the model
//! cannot be reached. Every successful run must give exactly the
//! post-training metrics of a fault-free CSV run: nothing lost or shifted.

mod common;

use common::*;
use serde_json::{json, Value as Json};
use std::path::{Path, PathBuf};
use std::process::Output;

/// The demo config (pre and post bias) with its predictor replaced.
fn config_with(dir: &Path, predictor: Json) -> PathBuf {
    let path = demo_config(dir, &["pre_training_bias", "post_training_bias"]);
    let mut config = read_json(&path);
    config["predictor"] = predictor;
    let path = dir.join("analysis_config.json");
    std::fs::write(&path, config.to_string()).unwrap();
    path
}

/// Runs the german job with `predictor` against `url` and extra flags;
/// returns the temporary folder (kept alive), the output folder and the
/// process output.
fn german_job(predictor: Json, url: &str, extra: &[&str]) -> (tempfile::TempDir, PathBuf, Output) {
    let dir = tempfile::tempdir().unwrap();
    let config = config_with(dir.path(), predictor);
    let out_dir = dir.path().join("out");
    let mut args = vec!["--endpoint-url", url];
    args.extend_from_slice(extra);
    let out = run_job_with(&config, &fixtures().join("german.csv"), &out_dir, &args);
    (dir, out_dir, out)
}

/// Runs the german job against `url` with extra flags; returns the
/// analysis, or panics with stderr.
fn analysis(predictor: Json, url: &str, extra: &[&str]) -> Json {
    let (_dir, out_dir, out) = german_job(predictor, url, extra);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    read_json(&out_dir.join("analysis.json"))
}

/// Runs a job expected to fail and returns its failure message.
fn failure(predictor: Json, url: &str, extra: &[&str]) -> String {
    let (dir, out_dir, out) = german_job(predictor, url, extra);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out_dir.join("analysis.json").exists());
    std::fs::read_to_string(dir.path().join("message")).unwrap()
}

fn csv_predictor() -> Json {
    json!({"endpoint_name": "m", "content_type": "text/csv", "accept_type": "text/csv"})
}

/// smclarify's post-training values on the demo model's predictions.
fn expected_post() -> Json {
    read_json(&fixtures().join("demo/expected.smclarify.json"))["post_training_bias_metrics"]
        .clone()
}

/// Runs `config` on german credit against `url` with `--save-predictions`;
/// returns the analysis and the saved predictions file's text.
fn run_saving_predictions(config: &Json, url: &str) -> (Json, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.json");
    std::fs::write(&path, config.to_string()).unwrap();
    let predictions = dir.path().join("p.csv");
    let out_dir = dir.path().join("out");
    let out = run_job_with(
        &path,
        &fixtures().join("german.csv"),
        &out_dir,
        &[
            "--endpoint-url",
            url,
            "--save-predictions",
            predictions.to_str().unwrap(),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let saved = std::fs::read_to_string(predictions).unwrap();
    (read_json(&out_dir.join("analysis.json")), saved)
}

/// Small batches so that a 1000-row dataset makes many requests.
const SMALL_BATCHES: &[&str] = &["--max-batch-records", "50", "--retry-base-ms", "1"];

#[test]
fn every_content_and_accept_type_gives_the_same_predictions() {
    let model = DemoModel::start(&[]);
    let predictors = [
        csv_predictor(),
        json!({"endpoint_name": "m", "content_type": "text/csv", "accept_type": "application/jsonlines",
               "label": "predicted_label"}),
        json!({"endpoint_name": "m", "content_type": "application/jsonlines", "accept_type": "application/jsonlines",
               "content_template": "{\"features\":$features}", "probability": "score"}),
        json!({"endpoint_name": "m", "content_type": "application/json", "accept_type": "application/json",
               "content_template": "{\"instances\":$records}", "record_template": "$features_kvp",
               "probability": "predictions[*].score"}),
        json!({"endpoint_name": "m", "content_type": "application/json", "accept_type": "application/jsonlines",
               "content_template": "$record", "record_template": "$features", "probability": "score"}),
    ];
    for predictor in predictors {
        let got = analysis(predictor.clone(), &model.url, SMALL_BATCHES);
        assert_close(
            &got["post_training_bias_metrics"],
            &expected_post(),
            &predictor.to_string(),
        );
    }
}

#[test]
fn a_probability_threshold_moves_the_predicted_labels() {
    let model = DemoModel::start(&[]);
    let mut config = read_json(&fixtures().join("demo/analysis_config.json"));
    config["probability_threshold"] = json!(0.9);
    config["methods"] = json!({"post_training_bias": {"methods": ["DPPL"]}});
    let (_, saved) = run_saving_predictions(&config, &model.url);
    let positives = saved.lines().skip(1).filter(|l| *l == "1").count();
    // At 0.9 far fewer rows are positive than at 0.5 (the demo model gives ~70% positives).
    assert!(
        positives > 0 && positives < 400,
        "{positives} positives at threshold 0.9"
    );
    assert_eq!(saved.lines().count(), 1001);
}

/// How a run under an endpoint fault must end.
enum Outcome {
    /// Exactly the predictions, row by row, of a fault-free run.
    Identical,
    /// Exit code 1, no analysis.json, and a failure message containing this.
    FailsSaying(&'static str),
}

/// One row of the fault matrix: the demo model's fault switches, the
/// client's flags on top of [`SMALL_BATCHES`], and the required outcome.
struct Fault {
    name: &'static str,
    model: &'static [&'static str],
    client: &'static [&'static str],
    outcome: Outcome,
}

/// One request at a time, so that a retry is the very next request the
/// model sees and every fault below hits a known request.
const ONE_AT_A_TIME: &[&str] = &["--concurrency", "1"];

const FAULTS: &[Fault] = &[
    Fault {
        name: "random 500s, 4 requests in flight",
        model: &["--fail-every", "3", "--fail-status", "500"],
        client: &[],
        outcome: Outcome::Identical,
    },
    Fault {
        name: "503 every 3rd request, 4 in flight",
        model: &["--fail-every", "3", "--fail-status", "503"],
        client: &[],
        outcome: Outcome::Identical,
    },
    Fault {
        name: "429 in bursts of 3 out of every 7 requests",
        model: &[
            "--fail-every",
            "7",
            "--fail-burst",
            "3",
            "--fail-status",
            "429",
        ],
        client: ONE_AT_A_TIME,
        outcome: Outcome::Identical,
    },
    Fault {
        name: "every 4th answer later than the timeout",
        model: &["--delay-ms", "1500", "--delay-every", "4"],
        client: &["--concurrency", "1", "--request-timeout", "0.4"],
        outcome: Outcome::Identical,
    },
    Fault {
        name: "every answer later than the timeout",
        model: &["--delay-ms", "1500"],
        client: &["--request-timeout", "0.3", "--max-attempts", "2"],
        outcome: Outcome::FailsSaying("no answer from"),
    },
    Fault {
        name: "connection reset mid-body on every 3rd answer",
        model: &["--reset-every", "3"],
        client: ONE_AT_A_TIME,
        outcome: Outcome::Identical,
    },
    Fault {
        name: "connection reset mid-body on every answer",
        model: &["--reset-every", "1"],
        client: &["--max-attempts", "2"],
        outcome: Outcome::FailsSaying("connection closed before message completed"),
    },
    Fault {
        name: "every 4th answer one line short",
        model: &["--drop-last-line-every", "4"],
        client: ONE_AT_A_TIME,
        outcome: Outcome::Identical,
    },
    Fault {
        name: "every answer one line short",
        model: &["--drop-last-line-every", "1"],
        client: &[],
        outcome: Outcome::FailsSaying(
            "Model response row count (0) does not match request record count (1)",
        ),
    },
];

/// The fault matrix: under every switch of the demo model the job either
/// gives exactly the fault-free predictions (same rows, same order, same
/// metrics) or fails with a reason — never a shorter or shifted dataset.
#[test]
fn every_endpoint_fault_ends_in_identical_results_or_a_clear_failure() {
    let clean_model = DemoModel::start(&[]);
    let (expected, expected_predictions) = run_saving_predictions(
        &read_json(&config_with(
            tempfile::tempdir().unwrap().path(),
            csv_predictor(),
        )),
        &clean_model.url,
    );
    assert_close(
        &expected["post_training_bias_metrics"],
        &expected_post(),
        "fault-free run",
    );
    for fault in FAULTS {
        let model = DemoModel::start(fault.model);
        let dir = tempfile::tempdir().unwrap();
        let predictions = dir.path().join("predictions.csv");
        let mut args = SMALL_BATCHES.to_vec();
        args.extend(fault.client);
        args.extend(["--save-predictions", predictions.to_str().unwrap()]);
        let (job_dir, out_dir, out) = german_job(csv_predictor(), &model.url, &args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        match fault.outcome {
            Outcome::Identical => {
                assert!(out.status.success(), "{}: {stderr}", fault.name);
                let saved = std::fs::read_to_string(&predictions).unwrap();
                assert!(
                    saved == expected_predictions,
                    "{}: predictions differ",
                    fault.name
                );
                let got = read_json(&out_dir.join("analysis.json"));
                assert_close(&got, &expected, fault.name);
            }
            Outcome::FailsSaying(reason) => {
                assert_eq!(out.status.code(), Some(1), "{}: {stderr}", fault.name);
                assert!(!out_dir.join("analysis.json").exists(), "{}", fault.name);
                let message = std::fs::read_to_string(job_dir.path().join("message")).unwrap();
                assert!(
                    message.contains(reason) && message.contains("dataset row"),
                    "{}: {message}",
                    fault.name
                );
            }
        }
    }
}

#[test]
fn an_unreachable_model_fails_with_a_clear_reason() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let message = failure(
        csv_predictor(),
        &format!("http://127.0.0.1:{port}"),
        &["--max-attempts", "2", "--retry-base-ms", "1"],
    );
    assert!(message.starts_with("ClientError: "), "{message}");
    assert!(
        message.contains(&format!(
            "Cannot reach the model at http://127.0.0.1:{port}/invocations"
        )) && message.contains("Is the model server running")
            && !message.contains("row"),
        "{message}"
    );
}

#[test]
fn a_model_answering_html_names_the_row_and_shows_the_body_once() {
    let server =
        Scripted::start(|_body| (200, "<html><body>Service unavailable</body></html>".into()));
    let message = failure(
        json!({"endpoint_name": "m", "content_type": "text/csv", "accept_type": "application/jsonlines", "probability": "score"}),
        &server.url,
        &["--max-batch-records", "1000"],
    );
    assert!(
        message.contains("dataset row 0") && message.matches("<html>").count() == 1,
        "{message}"
    );
}

#[test]
fn multiclass_scores_pick_the_label_header_with_the_highest_score() {
    // Class "1" wins for rows whose first feature is "male" (the sex column).
    let server = Scripted::start(|body| {
        let lines: Vec<String> = body
            .lines()
            .map(|l| {
                if l.starts_with("male") {
                    "[0.1,0.7,0.2]".into()
                } else {
                    "[0.6,0.1,0.3]".into()
                }
            })
            .collect();
        (200, lines.join("\n"))
    });
    let mut config = read_json(&fixtures().join("demo/analysis_config.json"));
    config["methods"] = json!({"post_training_bias": {"methods": ["DPPL"]}});
    config["predictor"] = json!({"endpoint_name": "m", "content_type": "text/csv", "accept_type": "text/csv",
                                 "label_headers": [0, 1, 2]});
    let (analysis, saved) = run_saving_predictions(&config, &server.url);
    let german = std::fs::read_to_string(fixtures().join("german.csv")).unwrap();
    let want: Vec<&str> = german
        .lines()
        .skip(1)
        .map(|row| {
            if row.split(',').nth(1) == Some("male") {
                "1"
            } else {
                "0"
            }
        })
        .collect();
    assert_eq!(saved.lines().skip(1).collect::<Vec<_>>(), want);
    // DPPL on sex=female: every male is predicted positive, no female is.
    let dppl = &analysis["post_training_bias_metrics"]["facets"]["sex"][0]["metrics"][0];
    assert_eq!(dppl["name"], "DPPL");
    assert_eq!(dppl["value"], json!(1.0));
}

/// Credentials in the endpoint URL and `custom_attributes` values stay out
/// of info-level logs and failure messages, whether the job succeeds or not.
#[test]
fn secrets_stay_out_of_logs_and_messages() {
    let model = DemoModel::start(&[]);
    let closed_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut predictor = csv_predictor();
    predictor["custom_attributes"] = json!("attribute-s3cret");
    for url in [model.url.clone(), format!("http://127.0.0.1:{closed_port}")] {
        let with_credentials = url.replace("http://", "http://user:pa55word-s3cret@");
        let dir = tempfile::tempdir().unwrap();
        let config = config_with(dir.path(), predictor.clone());
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_openclarify"))
            .args(["run", "--config", config.to_str().unwrap()])
            .args(["--data", fixtures().join("german.csv").to_str().unwrap()])
            .args(["--output", dir.path().join("out").to_str().unwrap()])
            .args([
                "--failure-file",
                dir.path().join("message").to_str().unwrap(),
            ])
            .args(["--endpoint-url", &with_credentials, "--max-attempts", "1"])
            .env("OPENCLARIFY_LOG", "info")
            .output()
            .unwrap();
        let message = std::fs::read_to_string(dir.path().join("message")).unwrap_or_default();
        let shown = format!("{}{message}", String::from_utf8_lossy(&out.stderr));
        assert!(shown.contains("127.0.0.1"), "{shown}");
        assert!(!shown.contains("s3cret"), "{shown}");
    }
}
