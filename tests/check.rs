//! `openclarify check` against the demo model: a correct config is ready
//! (exit 0); each usual wiring mistake is diagnosed in the printed report
//! (exit 1). And a real run stops on the first batch for a config the
//! model's answers can never satisfy, instead of after the whole dataset.

mod common;

use common::*;
use serde_json::{json, Value as Json};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The demo config with every method but the report, and `edit` applied.
fn config(dir: &Path, edit: impl FnOnce(&mut Json)) -> PathBuf {
    let path = demo_config(
        dir,
        &["pre_training_bias", "post_training_bias", "shap", "pdp"],
    );
    let mut config = read_json(&path);
    edit(&mut config);
    std::fs::write(&path, config.to_string()).unwrap();
    path
}

/// `openclarify check` on german credit; returns stdout and the exit code.
fn check(edit: impl FnOnce(&mut Json), url: &str, extra: &[&str]) -> (String, Option<i32>) {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), edit);
    let data = fixtures().join("german.csv");
    let mut args = vec![
        "check",
        "--config",
        config.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
        "--endpoint-url",
        url,
    ];
    args.extend_from_slice(extra);
    let out = openclarify(&args);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    (stdout, out.status.code())
}

/// [`check`] expecting exit code 1; returns the report.
fn not_ready(edit: impl FnOnce(&mut Json), url: &str, extra: &[&str]) -> String {
    let (report, code) = check(edit, url, extra);
    assert_eq!(code, Some(1), "{report}");
    report
}

fn assert_has(report: &str, wanted: &[&str]) {
    for w in wanted {
        assert!(report.contains(w), "missing {w:?} in:\n{report}");
    }
}

#[test]
fn a_correct_config_is_ready() {
    let model = DemoModel::start(&[]);
    let (report, code) = check(|_| {}, &model.url, &[]);
    assert_has(
        &report,
        &[
            "config  ",
            "  ok",
            "label           \"risk\" (column 0)",
            "group variable  \"job\" (column 2)",
            "sent to model   sex, job, housing",
            "facet[0] \"sex\": categorical",
            "value(s) female select",
            "facet[1] \"age\": continuous",
            "Content-Type: text/csv  Accept: text/csv  (10 records)",
            "request body:\n    male,2,own,not_known,little,1169,6,radio/TV,67",
            "record 0: label - score ",
            "-> predicted label ",
            "pre_training_bias  ready",
            "post_training_bias ready",
            "shap               ready",
            "pdp                ready",
        ],
    );
    assert_eq!(code, Some(0), "{report}");
}

#[test]
fn a_wrong_accept_type_shows_the_answer_and_where_the_scores_are() {
    let model = DemoModel::start(&[]);
    let report = not_ready(
        |c| c["predictor"]["accept_type"] = json!("application/json"),
        &model.url,
        &[],
    );
    assert_has(
        &report,
        &[
            "Accept: application/json",
            "response body:\n    {\"predictions\":[{",
            "expected a list of 10 predictions",
            "predictions[*].score",
            "post_training_bias NOT READY",
            "shap               NOT READY",
        ],
    );
}

#[test]
fn a_jmespath_that_selects_nothing_is_named_with_the_keys_there_are() {
    let model = DemoModel::start(&[]);
    let report = not_ready(
        |c| {
            c["predictor"]["accept_type"] = json!("application/jsonlines");
            c["predictor"]["probability"] = json!("probability");
        },
        &model.url,
        &[],
    );
    assert_has(
        &report,
        &[
            "predictor.probability = \"probability\"",
            "JMESPath \"probability\" selects nothing in the response",
            "could be: predicted_label, score",
            "pdp                NOT READY",
        ],
    );
}

#[test]
fn a_threshold_under_which_nothing_is_positive_is_diagnosed() {
    let model = DemoModel::start(&[]);
    let report = not_ready(|c| c["probability_threshold"] = json!(1.0), &model.url, &[]);
    assert_has(
        &report,
        &[
            "probability_threshold = 1",
            "post_training_bias NOT READY: none of the first 10 predicted labels is positive (predicted 0: 10; positive label values [1])",
            "check probability_threshold",
            "pre_training_bias  ready",
            "shap               ready",
        ],
    );
}

#[test]
fn an_unreachable_endpoint_says_so() {
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", free.local_addr().unwrap());
    drop(free);
    let report = not_ready(|_| {}, &url, &["--request-timeout", "5"]);
    assert_has(
        &report,
        &[
            "problem: no usable answer: Cannot reach the model at",
            "Is the model server running and reachable from here?",
            "pre_training_bias  ready",
            "post_training_bias NOT READY: the model cannot be called",
        ],
    );
}

#[test]
fn every_config_problem_is_listed_at_once() {
    let report = not_ready(
        |c| {
            c["lable"] = json!("risk");
            c["probability_threshold"] = json!("high");
            c["methods"]["shap"]["agg_method"] = json!("max");
        },
        "http://127.0.0.1:1",
        &[],
    );
    assert_has(
        &report,
        &[
            "problem: Analysis configuration schema validation error: lable: unknown key; did you mean \"label\"?",
            "problem: Analysis configuration schema validation error: probability_threshold: invalid type",
            "methods.shap.agg_method: \"max\" is not one of",
            "verdict: not ready",
        ],
    );
}

#[test]
fn show_config_fills_in_the_defaults() {
    let (printed, code) = check(
        |c| {
            c.as_object_mut().unwrap().remove("probability_threshold");
        },
        "http://localhost:8080",
        &["--show-config"],
    );
    assert_eq!(code, Some(0), "{printed}");
    let effective: Json = serde_json::from_str(&printed).unwrap();
    assert_eq!(effective["probability_threshold"], json!(0.5));
    assert_eq!(effective["version"], json!("1.0"));
    assert_eq!(effective["methods"]["shap"]["use_logit"], json!(false));
    assert_eq!(
        effective["predictor"]["endpoint_url"],
        json!("http://localhost:8080")
    );
}

/// `openclarify run` with info logs (they carry the request count).
fn run_logged(config: &Path, data: &Path, out: &Path, url: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_openclarify"))
        .args(["run", "--config", config.to_str().unwrap()])
        .args(["--data", data.to_str().unwrap()])
        .args(["--output", out.to_str().unwrap()])
        .args(["--endpoint-url", url])
        .env("OPENCLARIFY_LOG", "info")
        .output()
        .unwrap()
}

/// German credit repeated: 30 000 rows, 30 requests of 1000 records.
fn large_dataset(dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(fixtures().join("german.csv")).unwrap();
    let (header, rows) = text.split_once('\n').unwrap();
    let path = dir.join("large.csv");
    std::fs::write(&path, format!("{header}\n{}", rows.repeat(30))).unwrap();
    path
}

/// Runs post-training bias on 30 000 rows with `edit` applied to the
/// demo config, expecting a failure; returns stderr.
fn first_batch_failure(edit: impl FnOnce(&mut Json)) -> String {
    let model = DemoModel::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), |c| {
        c["methods"] = json!({"post_training_bias": {"methods": "all"}});
        edit(c);
    });
    let data = large_dataset(dir.path());
    let out = run_logged(&config, &data, &dir.path().join("out"), &model.url);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    stderr
}

#[test]
fn a_probability_that_selects_nothing_fails_on_the_first_batch() {
    let stderr = first_batch_failure(|c| {
        c["predictor"]["accept_type"] = json!("application/jsonlines");
        c["predictor"]["probability"] = json!("probability");
    });
    assert_has(
        &stderr,
        &[
            "predictor.probability finds nothing in the model's first answer",
            "JMESPath \"probability\" selects nothing",
            "model calls done requests=1\n",
        ],
    );
}

#[test]
fn predicted_labels_that_can_never_match_fail_on_the_first_batch() {
    let stderr = first_batch_failure(|c| c["label_values_or_threshold"] = json!(["good"]));
    assert_has(
        &stderr,
        &[
            "The model predicts numbers (",
            "but label_values_or_threshold is text ([good])",
            "model calls done requests=1\n",
        ],
    );
}
