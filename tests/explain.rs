//! `methods.shap` and `methods.pdp` end to end, against the synthetic demo
//! model, whose answers are known in closed form.
//!
//! `demo-model --synthetic 4` is a logistic regression without intercept,
//! `f(x) = sigmoid(Σ w_i x_i)` with `w_i = (−1)^i / (i + 1)`. In log-odds
//! (`use_logit: true`) with a one-row baseline `b` the coalition values are
//! linear, so the exact Shapley values are `w_i (x_i − b_i)` and the expected
//! value is `Σ w_i b_i`. With 4 features the default budget (2·4 + 2048)
//! exceeds 2^4 − 2, so every coalition is enumerated and the values must be
//! exact to rounding.

mod common;

use common::*;
use serde_json::{json, Value as Json};
use std::path::{Path, PathBuf};

const FEATURES: [&str; 4] = ["feature_0", "feature_1", "feature_2", "feature_3"];
const BASELINE: [f64; 4] = [0.5, 0.0, 1.0, -1.0];

/// The synthetic model's weights (src/demo_model/training.rs).
fn weight(i: usize) -> f64 {
    let sign = if i.is_multiple_of(2) { 1.0 } else { -1.0 };
    sign / (i + 1) as f64
}

/// The fixture's rows as numbers.
fn fixture_rows() -> Vec<Vec<f64>> {
    let text = std::fs::read_to_string(fixtures().join("explain/synthetic4.csv")).unwrap();
    text.lines()
        .skip(1)
        .map(|line| line.split(',').map(|v| v.parse().unwrap()).collect())
        .collect()
}

/// A processing folder: the fixture under `input/data/`, the config, and
/// `extra` files relative to `input/`. Returns (config, data folder, output).
fn processing_folder(root: &Path, config: &Json, extra: &[(&str, &str)]) -> [PathBuf; 3] {
    let data = root.join("input/data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::copy(
        fixtures().join("explain/synthetic4.csv"),
        data.join("synthetic4.csv"),
    )
    .unwrap();
    for (relative, text) in extra {
        let path = root.join("input").join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    let config_path = root.join("input/config/analysis_config.json");
    std::fs::create_dir_all(config_path.parent().unwrap()).unwrap();
    std::fs::write(&config_path, config.to_string()).unwrap();
    [config_path, data, root.join("output")]
}

/// Runs `methods` on the fixture against `model`; panics with the failure
/// message if the job fails.
fn run_ok(
    model: &DemoModel,
    methods: Json,
    extra: &[(&str, &str)],
) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let config = config_with(methods);
    let [config, data, out] = processing_folder(dir.path(), &config, extra);
    let run = run_job_with(&config, &data, &out, &["--endpoint-url", &model.url]);
    let message = std::fs::read_to_string(dir.path().join("message")).unwrap_or_default();
    assert!(run.status.success(), "job failed: {message}");
    (dir, out)
}

fn config_with(methods: Json) -> Json {
    json!({
        "dataset_type": "text/csv",
        "headers": FEATURES,
        "methods": methods,
        "predictor": {"endpoint_name": "synthetic", "content_type": "text/csv", "accept_type": "text/csv"}
    })
}

/// `out.csv` as its header and rows of numbers.
fn local_values(out: &Path) -> (Vec<String>, Vec<Vec<f64>>) {
    let text = std::fs::read_to_string(out.join("explanations_shap/out.csv")).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap().split(',').map(String::from).collect();
    let rows = lines
        .map(|line| line.split(',').map(|v| v.parse().unwrap()).collect())
        .collect();
    (header, rows)
}

fn assert_near(got: f64, want: f64, what: &str) {
    assert!((got - want).abs() <= 1e-9, "{what}: {got} != {want}");
}

/// Checks out.csv and `kernel_shap` against `w_i (x_i − b_i)` for the
/// explained features `explained`.
fn assert_closed_form(out: &Path, explained: &[usize]) {
    let rows = fixture_rows();
    let (header, local) = local_values(out);
    let names: Vec<String> = explained
        .iter()
        .map(|&i| format!("{}_label0", FEATURES[i]))
        .collect();
    assert_eq!(header, names);
    assert_eq!(local.len(), rows.len());
    for (r, (x, phi)) in rows.iter().zip(&local).enumerate() {
        for (&i, &value) in explained.iter().zip(phi) {
            let want = weight(i) * (x[i] - BASELINE[i]);
            assert_near(value, want, &format!("row {r} {}", FEATURES[i]));
        }
    }
    let analysis = read_json(&out.join("analysis.json"));
    let label0 = &analysis["explanations"]["kernel_shap"]["label0"];
    let expected: f64 = (0..4).map(|i| weight(i) * BASELINE[i]).sum();
    assert_near(
        label0["expected_value"].as_f64().unwrap(),
        expected,
        "expected_value",
    );
    let global = label0["global_shap_values"].as_object().unwrap();
    let keys: Vec<&str> = global.keys().map(String::as_str).collect();
    let want_keys: Vec<&str> = explained.iter().map(|&i| FEATURES[i]).collect();
    assert_eq!(keys, want_keys, "features in feature order");
    for &i in explained {
        let mean_abs = rows
            .iter()
            .map(|x| (weight(i) * (x[i] - BASELINE[i])).abs())
            .sum::<f64>()
            / rows.len() as f64;
        assert_near(global[FEATURES[i]].as_f64().unwrap(), mean_abs, FEATURES[i]);
    }
}

fn closed_form_shap(baseline: Json) -> Json {
    json!({"shap": {
        "baseline": baseline,
        "use_logit": true,
        "save_local_shap_values": true,
        "agg_method": "mean_abs",
        "seed": 7
    }})
}

#[test]
fn shap_values_equal_the_closed_form_at_the_enumeration_cap() {
    let model = DemoModel::start(&["--synthetic", "4"]);
    let (_dir, out) = run_ok(&model, closed_form_shap(json!([BASELINE])), &[]);
    assert_closed_form(&out, &[0, 1, 2, 3]);
    // No baseline was computed, so none is saved.
    assert!(!out.join("explanations_shap/baseline.csv").exists());
}

#[test]
fn a_baseline_file_in_the_processing_input_gives_the_same_values() {
    let model = DemoModel::start(&["--synthetic", "4"]);
    let line = BASELINE.map(|b| b.to_string()).join(",");
    let (_dir, out) = run_ok(
        &model,
        closed_form_shap(json!("baseline/baseline.csv")),
        &[("baseline/baseline.csv", &format!("{line}\n"))],
    );
    assert_closed_form(&out, &[0, 1, 2, 3]);
}

/// Features left out of `features_to_explain` stay at each row's value, so
/// the explained ones still get `w_i (x_i − b_i)` in log-odds.
#[test]
fn features_to_explain_keep_the_others_at_the_row_values() {
    let model = DemoModel::start(&["--synthetic", "4"]);
    let mut methods = closed_form_shap(json!([BASELINE]));
    methods["shap"]["features_to_explain"] = json!(["feature_3", 1]);
    let (_dir, out) = run_ok(&model, methods, &[]);
    assert_closed_form(&out, &[3, 1]);
}

/// The partial dependence of `sigmoid(Σ w_i x_i)` on feature i rises with
/// positive `w_i` and falls with negative ones; features are ranked by SHAP
/// when `pdp.features` is absent, with a baseline computed and saved.
#[test]
fn pdp_curves_follow_the_sign_of_the_weights() {
    let model = DemoModel::start(&["--synthetic", "4"]);
    let methods = json!({
        "shap": {"num_samples": 10, "seed": 3, "save_local_shap_values": false},
        "pdp": {"grid_resolution": 5, "top_k_features": 4}
    });
    let (_dir, out) = run_ok(&model, methods, &[]);
    assert!(!out.join("explanations_shap/out.csv").exists());
    let baseline = std::fs::read_to_string(out.join("explanations_shap/baseline.csv")).unwrap();
    assert!(
        baseline.lines().all(|l| l.split(',').count() == 4),
        "{baseline}"
    );

    let analysis = read_json(&out.join("analysis.json"));
    let curves = analysis["explanations"]["pdp"].as_array().unwrap();
    let mut plotted: Vec<&str> = curves
        .iter()
        .map(|c| c["feature_name"].as_str().unwrap())
        .collect();
    plotted.sort();
    assert_eq!(plotted, FEATURES);
    for curve in curves {
        let name = curve["feature_name"].as_str().unwrap();
        let i = FEATURES.iter().position(|f| *f == name).unwrap();
        assert_eq!(curve["data_type"], "numerical");
        assert_eq!(curve["label_headers"], json!(["label0"]));
        let grid: Vec<f64> = values(&curve["feature_values"]);
        let predictions: Vec<f64> = values(&curve["model_predictions"][0]);
        assert_eq!(grid.len(), 5);
        assert_eq!(predictions.len(), 5);
        let shares: f64 = values(&curve["data_distribution"]).iter().sum();
        assert_near(shares, 1.0, "data_distribution sums to 1");
        for pair in predictions.windows(2) {
            let step = pair[1] - pair[0];
            assert!(step * weight(i) > 0.0, "{name}: {predictions:?}");
        }
    }
}

fn values(list: &Json) -> Vec<f64> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect()
}

#[test]
fn a_baseline_of_the_wrong_width_names_the_key_and_the_counts() {
    let model = DemoModel::start(&["--synthetic", "4"]);
    let dir = tempfile::tempdir().unwrap();
    let config = config_with(closed_form_shap(json!([[1, 2, 3]])));
    let [config, data, out] = processing_folder(dir.path(), &config, &[]);
    let run = run_job_with(&config, &data, &out, &["--endpoint-url", &model.url]);
    assert_eq!(run.status.code(), Some(1));
    let message = std::fs::read_to_string(dir.path().join("message")).unwrap();
    assert!(
        message.contains("methods.shap.baseline") && message.contains("expected 4, got 3"),
        "{message}"
    );
    assert!(!out.join("analysis.json").exists());
}
