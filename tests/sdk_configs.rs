//! The analysis configs the SageMaker Python SDK writes
//! (`test-fixtures/sdk-configs/`, made by `scripts/gen-sdk-configs.py`) are
//! all run unchanged: the bias ones against the demo model reproduce
//! smclarify's numbers (on the same predictions).
//!
//! The explainability ones run Kernel SHAP and PDP against the German demo
//! model (over CSV or JSON Lines, with a given or a computed baseline): the
//! local values must add up to `f(x) − expected_value` on every row, with
//! `f` the same model evaluated in-process, and a second run with the same
//! seed must write a byte-identical `out.csv`.

mod common;

use common::*;
use openclarify::demo_model::RawValue;
use serde_json::Value as Json;
use std::path::{Path, PathBuf};

/// How a job on one SDK config is expected to end.
enum Outcome {
    /// Succeeds; `pre_training_bias_metrics` equal this smclarify fixture.
    MatchesSmclarify(&'static str),
    /// Succeeds with `explanations` (SHAP and PDP) that are additive and
    /// reproducible; its bias sections, if any, equal this smclarify fixture.
    Explains(Option<&'static str>),
}
use Outcome::*;

/// Every file in `test-fixtures/sdk-configs/` and what running it on
/// german.csv must give.
const OUTCOMES: &[(&str, Outcome)] = &[
    (
        "german_pre.json",
        MatchesSmclarify("expected/german_pre.smclarify.json"),
    ),
    // The demo model's predictions; the same facets as the demo config.
    (
        "german_post.json",
        MatchesSmclarify("demo/expected.smclarify.json"),
    ),
    (
        "german_bias.json",
        MatchesSmclarify("demo/expected.smclarify.json"),
    ),
    (
        "german_bias_jsonlines.json",
        MatchesSmclarify("demo/expected.smclarify.json"),
    ),
    ("german_shap.json", Explains(None)),
    // No baseline: 10 k-prototypes centres are computed and saved.
    ("german_shap_clusters.json", Explains(None)),
    // The model speaks JSON Lines (`{"features":[...]}` in, `score` out).
    ("german_shap_jsonlines.json", Explains(None)),
    (
        "german_bias_shap.json",
        Explains(Some("demo/expected.smclarify.json")),
    ),
];

fn sdk_configs() -> PathBuf {
    fixtures().join("sdk-configs")
}

/// A new generated config must be given an expected outcome here.
#[test]
fn every_sdk_config_has_an_expected_outcome() {
    let mut on_disk: Vec<String> = std::fs::read_dir(sdk_configs())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = OUTCOMES.iter().map(|(f, _)| f.to_string()).collect();
    listed.sort();
    assert_eq!(on_disk, listed);
}

/// Runs every SDK config on german.csv and checks its outcome; reports all
/// failed runs and bias mismatches at once.
#[test]
fn sdk_configs_run_and_match_their_references() {
    let german = fixtures().join("german.csv");
    let model = DemoModel::start(&[]);
    let mut problems = Vec::new();
    for (file, outcome) in OUTCOMES {
        let dir = tempfile::tempdir().unwrap();
        let out_dir = dir.path().join("out");
        let config = sdk_configs().join(file);
        let out = run_job_with(&config, &german, &out_dir, &["--endpoint-url", &model.url]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        if !out.status.success() {
            problems.push(format!("{file}: failed: {stderr}"));
            continue;
        }
        let got = read_json(&out_dir.join("analysis.json"));
        let smclarify = match outcome {
            MatchesSmclarify(expected) => Some(*expected),
            Explains(expected) => *expected,
        };
        if let Some(expected) = smclarify {
            let want = read_json(&fixtures().join(expected));
            let sections = bias_sections(&read_json(&config));
            assert!(
                !sections.is_empty(),
                "{file}: a bias reference but no bias method"
            );
            for section in sections {
                let context = format!("{file}: {section}");
                // A section the config asks for must be in the output and
                // in the reference: one left out is a failure, not a pass.
                assert!(got.get(section).is_some(), "{context}: not in the output");
                assert!(want.get(section).is_some(), "{context}: not in {expected}");
                assert_close(&got[section], &want[section], &context);
            }
        }
        if let Explains(_) = outcome {
            check_explanations(&got, &out_dir, &german, &config, &model);
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The `analysis.json` bias sections `config` asks for.
fn bias_sections(config: &Json) -> Vec<&'static str> {
    [
        ("pre_training_bias", "pre_training_bias_metrics"),
        ("post_training_bias", "post_training_bias_metrics"),
    ]
    .into_iter()
    .filter(|(method, _)| config["methods"].get(method).is_some())
    .map(|(_, section)| section)
    .collect()
}

/// Checks the `kernel_shap` and `pdp` shapes, additivity of out.csv against
/// the demo model evaluated in-process, and that a second run with the same
/// seed writes the same out.csv byte for byte.
fn check_explanations(got: &Json, out_dir: &Path, data: &Path, config: &Path, model: &DemoModel) {
    let explanations = &got["explanations"];
    let label0 = &explanations["kernel_shap"]["label0"];
    let global: Vec<&str> = label0["global_shap_values"]
        .as_object()
        .expect("global_shap_values")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(global, GERMAN_FEATURES);
    let expected_value = label0["expected_value"].as_f64().expect("expected_value");
    let pdp: Vec<&str> = explanations["pdp"]
        .as_array()
        .expect("pdp")
        .iter()
        .map(|c| c["feature_name"].as_str().unwrap())
        .collect();
    assert_eq!(pdp, ["credit_amount", "duration"]);

    let german = openclarify::demo_model::load_model(&Default::default()).unwrap();
    let local = std::fs::read(out_dir.join("explanations_shap/out.csv")).unwrap();
    let text = String::from_utf8(local.clone()).unwrap();
    let mut data_rows = csv::Reader::from_path(data).unwrap();
    let mut lines = text.lines();
    let header: Vec<String> = GERMAN_FEATURES
        .iter()
        .map(|f| format!("{f}_label0"))
        .collect();
    assert_eq!(lines.next().unwrap(), header.join(","));
    let mut rows = 0;
    for (record, line) in data_rows.records().zip(lines) {
        let record = record.unwrap();
        let encoded: Vec<f64> = record
            .iter()
            .skip(1) // the label, `risk`
            .enumerate()
            .map(|(i, v)| german.encode(i, RawValue::Text(v)).unwrap())
            .collect();
        let f = german.predict(&encoded).score;
        let sum: f64 = line.split(',').map(|v| v.parse::<f64>().unwrap()).sum();
        assert!(
            (sum + expected_value - f).abs() < 1e-9,
            "row {rows}: Σφ + E[f] = {} but f(x) = {f}",
            sum + expected_value
        );
        rows += 1;
    }
    assert_eq!(rows, 1000);

    // A computed baseline has `num_clusters` rows of every feature.
    let num_clusters = read_json(config)["methods"]["shap"]["num_clusters"].as_u64();
    let baseline = std::fs::read_to_string(out_dir.join("explanations_shap/baseline.csv"));
    match (num_clusters, baseline) {
        (Some(k), Ok(text)) => {
            assert_eq!(text.lines().count() as u64, k, "{text}");
            assert!(text
                .lines()
                .all(|l| l.split(',').count() == GERMAN_FEATURES.len()));
        }
        (None, Err(_)) => {}
        (k, b) => panic!("num_clusters {k:?} but baseline.csv {b:?}"),
    }

    let again = out_dir.with_file_name("again");
    let rerun = run_job_with(config, data, &again, &["--endpoint-url", &model.url]);
    assert!(rerun.status.success());
    let second = std::fs::read(again.join("explanations_shap/out.csv")).unwrap();
    assert!(local == second, "a second run with the same seed differs");
}
