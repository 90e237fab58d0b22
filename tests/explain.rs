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

/// The demo model of `--synthetic N`, in-process: the same code and so the
/// same bits as the server's answers.
fn synthetic_model(features: usize) -> openclarify::demo_model::Model {
    use clap::Parser;
    let options = openclarify::demo_model::DemoModelOptions::parse_from([
        "demo-model",
        "--synthetic",
        &features.to_string(),
    ]);
    openclarify::demo_model::load_model(&options).unwrap()
}

/// A sampled run (6 of the 14 coalitions, a baseline whose rows share
/// values, so identical synthetic records are common) gives, to the bit,
/// the values of the same explainer run in-process on every synthetic record
/// with no de-duplication; and `out_stderr.csv` has out.csv's columns.
#[test]
fn identical_records_sent_once_give_the_values_of_sending_every_one() {
    let server = DemoModel::start(&["--synthetic", "4"]);
    let baseline = [
        [0.5, -1.0, 2.0, 0.0],
        [0.5, -1.0, 1.0, 0.0],
        [0.5, 0.0, 2.0, 0.0],
    ];
    let methods = json!({"shap": {
        "baseline": baseline, "num_samples": 6, "seed": 5, "save_local_shap_values": true
    }});
    let (_dir, out) = run_ok(&server, methods, &[]);

    let model = synthetic_model(4);
    let score = |z: &[f64]| model.predict(z).score;
    let baseline: Vec<Vec<f64>> = baseline.iter().map(|b| b.to_vec()).collect();
    let explainer = openclarify::explain::KernelShap::new(
        baseline.clone(),
        openclarify::explain::KernelShapSettings {
            num_samples: Some(6),
            link: openclarify::explain::Link::Identity,
            seed: 5,
        },
    );
    let baseline_answers = vec![baseline.iter().map(|b| score(b)).collect::<Vec<f64>>()];
    let (header, local) = local_values(&out);
    let stderr_text =
        std::fs::read_to_string(out.join("explanations_shap/out_stderr.csv")).unwrap();
    assert_eq!(stderr_text.lines().next().unwrap(), header.join(","));
    for (r, (row, values)) in fixture_rows().iter().zip(&local).enumerate() {
        let plan = explainer.plan(row, r as u64);
        let answers: Vec<f64> = explainer
            .synthetic_rows(row, &plan)
            .iter()
            .map(|z| score(z))
            .collect();
        let want = explainer.solve(&plan, &[answers], &[score(row)], &baseline_answers);
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(values), bits(&want.values[0]), "row {r}");
        let errors: Vec<f64> = stderr_text
            .lines()
            .nth(r + 1)
            .unwrap()
            .split(',')
            .map(|v| v.parse().unwrap())
            .collect();
        assert_eq!(bits(&errors), bits(&want.stderr[0]), "row {r} stderr");
    }
}

/// `target_stderr` stops rows early and says how much it saved; a target
/// no row can reach changes nothing, to the bit. Ten features, 200 of the
/// 1022 coalitions: 20 enumerated, about 90 random draws per row, so a row
/// may stop after its first 16.
#[test]
fn target_stderr_stops_sampling_early_and_counts_the_saving() {
    const WIDTH: usize = 10;
    let model = DemoModel::start(&["--synthetic", "10"]);
    let rows: Vec<Vec<f64>> = (0..8)
        .map(|r| {
            (0..WIDTH)
                .map(|j| ((r * 7 + j * 3) % 5) as f64 - 2.0)
                .collect()
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data.csv");
    let names: Vec<String> = (0..WIDTH).map(|j| format!("feature_{j}")).collect();
    let lines: Vec<String> = rows
        .iter()
        .map(|r| {
            r.iter()
                .map(|v| format!("{v:?}"))
                .collect::<Vec<_>>()
                .join(",")
        })
        .collect();
    std::fs::write(
        &data,
        format!("{}\n{}\n", names.join(","), lines.join("\n")),
    )
    .unwrap();
    let run = |name: &str, target: Option<f64>| {
        let mut config = config_with(json!({"shap": {
            "baseline": [vec![0.5; WIDTH]], "num_samples": 200, "seed": 2,
            "save_local_shap_values": true
        }}));
        config["headers"] = json!(names);
        if let Some(target) = target {
            config["methods"]["shap"]["target_stderr"] = json!(target);
        }
        let config_path = dir.path().join(format!("{name}.json"));
        std::fs::write(&config_path, config.to_string()).unwrap();
        let out = dir.path().join(name);
        let ran = run_job_with(&config_path, &data, &out, &["--endpoint-url", &model.url]);
        assert!(ran.status.success(), "{name}: {ran:?}");
        out
    };
    let plain = run("plain", None);
    let strict = run("strict", Some(1e-300));
    let loose = run("loose", Some(10.0));
    let file =
        |out: &Path, name: &str| std::fs::read(out.join("explanations_shap").join(name)).unwrap();
    assert_eq!(file(&plain, "out.csv"), file(&strict, "out.csv"));
    assert_eq!(
        file(&plain, "out_stderr.csv"),
        file(&strict, "out_stderr.csv")
    );
    let records = |out: &Path| {
        read_json(&out.join("analysis.json"))["explanations"]["kernel_shap_model_records"].clone()
    };
    let saved = |out: &Path| records(out)["saved_by_target_stderr"].as_u64().unwrap();
    assert_eq!(saved(&plain), 0);
    assert_eq!(saved(&strict), 0);
    // Every row stops after 16 draws (at most 32 coalitions of the 180
    // sampled ones), each coalition one record with a one-row baseline.
    let budgeted = records(&loose)["budgeted"].as_u64().unwrap();
    assert_eq!(budgeted, (rows.len() * (1 + 200)) as u64);
    assert!(
        saved(&loose) >= (rows.len() * (180 - 32)) as u64,
        "{}",
        records(&loose)
    );
    // Stopped rows still add up to f(x) − E[f].
    let analysis = read_json(&loose.join("analysis.json"));
    let expected_value = analysis["explanations"]["kernel_shap"]["label0"]["expected_value"]
        .as_f64()
        .unwrap();
    let synthetic = synthetic_model(WIDTH);
    for (row, values) in rows.iter().zip(local_values(&loose).1) {
        let f = synthetic.predict(row).score;
        assert_near(values.iter().sum::<f64>() + expected_value, f, "additivity");
    }
}

/// Without `pdp.features`, PDP plots the `top_k_features` features with the
/// largest global SHAP values, largest first: here the closed form's
/// mean |w_i (x_i − b_i)|.
#[test]
fn pdp_plots_the_top_features_by_shap() {
    let model = DemoModel::start(&["--synthetic", "4"]);
    let mut methods = closed_form_shap(json!([BASELINE]));
    methods["pdp"] = json!({"grid_resolution": 3, "top_k_features": 2});
    let (_dir, out) = run_ok(&model, methods, &[]);
    let rows = fixture_rows();
    let mut ranked: Vec<(usize, f64)> = (0..4)
        .map(|i| {
            let mean_abs = rows
                .iter()
                .map(|x| (weight(i) * (x[i] - BASELINE[i])).abs())
                .sum::<f64>();
            (i, mean_abs)
        })
        .collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
    assert!(
        ranked[1].1 > ranked[2].1 * 1.01,
        "a clear top two: {ranked:?}"
    );
    let analysis = read_json(&out.join("analysis.json"));
    let plotted: Vec<&str> = analysis["explanations"]["pdp"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["feature_name"].as_str().unwrap())
        .collect();
    assert_eq!(plotted, [FEATURES[ranked[0].0], FEATURES[ranked[1].0]]);
}

/// The rows of `test-fixtures/german.csv` as (header, text cells).
fn german_rows() -> (Vec<String>, Vec<Vec<String>>) {
    let text = std::fs::read_to_string(fixtures().join("german.csv")).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap().split(',').map(String::from).collect();
    let rows = lines
        .map(|l| l.split(',').map(String::from).collect())
        .collect();
    (header, rows)
}

/// A categorical feature's partial dependence has one point per category:
/// the model's mean answer with that category in every row (the demo
/// model in-process), and the share of rows holding it.
#[test]
fn categorical_pdp_averages_the_model_over_each_category() {
    let model = DemoModel::start(&[]);
    let (header, rows) = german_rows();
    let config = json!({
        "dataset_type": "text/csv",
        "headers": header,
        "label": "risk",
        "methods": {"pdp": {"features": ["purpose", "sex"], "grid_resolution": 4}},
        "predictor": {"endpoint_name": "german", "content_type": "text/csv", "accept_type": "text/csv"}
    });
    let dir = tempfile::tempdir().unwrap();
    let config_path = dir.path().join("config.json");
    std::fs::write(&config_path, config.to_string()).unwrap();
    let out = dir.path().join("out");
    let german = fixtures().join("german.csv");
    let run = run_job_with(&config_path, &german, &out, &["--endpoint-url", &model.url]);
    assert!(run.status.success(), "{run:?}");
    let german_model = openclarify::demo_model::load_model(&Default::default()).unwrap();
    let score = |cells: &[String]| {
        let encoded: Vec<f64> = cells[1..]
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let value = openclarify::demo_model::RawValue::Text(v.as_str());
                german_model.encode(i, value).unwrap()
            })
            .collect();
        german_model.predict(&encoded).score
    };
    let analysis = read_json(&out.join("analysis.json"));
    for curve in analysis["explanations"]["pdp"].as_array().unwrap() {
        let name = curve["feature_name"].as_str().unwrap();
        let column = header.iter().position(|h| h == name).unwrap();
        assert_eq!(curve["data_type"], "categorical", "{name}");
        let categories: Vec<&str> = curve["feature_values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        let mut distinct: Vec<&str> = rows.iter().map(|r| r[column].as_str()).collect();
        distinct.sort_unstable();
        distinct.dedup();
        let mut sorted = categories.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, distinct, "{name}: every category once");
        let predictions = values(&curve["model_predictions"][0]);
        let shares = values(&curve["data_distribution"]);
        for (i, category) in categories.iter().enumerate() {
            let mean = rows
                .iter()
                .map(|r| {
                    let mut changed = r.clone();
                    changed[column] = category.to_string();
                    score(&changed)
                })
                .sum::<f64>()
                / rows.len() as f64;
            assert_near(predictions[i], mean, &format!("{name}={category}"));
            let share =
                rows.iter().filter(|r| r[column] == *category).count() as f64 / rows.len() as f64;
            assert_near(shares[i], share, &format!("{name}={category} share"));
        }
    }
}

/// Three scores per record: softmax(x₀, x₁, x₂·x₃), answered as a JSON list
/// per CSV line.
fn softmax_model(x: &[f64]) -> Vec<f64> {
    let logits = [x[0], x[1], x[2] * x[3]];
    let total: f64 = logits.iter().map(|l| l.exp()).sum();
    logits.iter().map(|l| l.exp() / total).collect()
}

/// A multiclass model gets one PDP curve per label (named by
/// `label_headers`) and one `kernel_shap` block per label.
#[test]
fn multiclass_pdp_has_a_curve_per_label() {
    let server = Scripted::start(|body| {
        let lines: Vec<String> = body
            .lines()
            .map(|line| {
                let x: Vec<f64> = line.split(',').map(|v| v.parse().unwrap()).collect();
                let p = softmax_model(&x);
                format!("[{},{},{}]", p[0], p[1], p[2])
            })
            .collect();
        (200, lines.join("\n"))
    });
    let mut config = config_with(json!({
        "shap": {"baseline": [BASELINE], "seed": 1},
        "pdp": {"features": ["feature_2", "feature_0"], "grid_resolution": 4}
    }));
    config["predictor"]["label_headers"] = json!(["low", "mid", "high"]);
    let dir = tempfile::tempdir().unwrap();
    let [config, data, out] = processing_folder(dir.path(), &config, &[]);
    let run = run_job_with(&config, &data, &out, &["--endpoint-url", &server.url]);
    assert!(run.status.success(), "{run:?}");
    let analysis = read_json(&out.join("analysis.json"));
    let labels: Vec<&String> = analysis["explanations"]["kernel_shap"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(labels, ["low", "mid", "high"]);
    let rows = fixture_rows();
    for curve in analysis["explanations"]["pdp"].as_array().unwrap() {
        let name = curve["feature_name"].as_str().unwrap();
        let j = FEATURES.iter().position(|f| *f == name).unwrap();
        assert_eq!(curve["label_headers"], json!(["low", "mid", "high"]));
        let grid = values(&curve["feature_values"]);
        let predictions = curve["model_predictions"].as_array().unwrap();
        assert_eq!(predictions.len(), 3, "{name}: one curve per label");
        for (k, curve_k) in predictions.iter().enumerate() {
            for (g, got) in grid.iter().zip(values(curve_k)) {
                let mean = rows
                    .iter()
                    .map(|x| {
                        let mut z = x.clone();
                        z[j] = *g;
                        softmax_model(&z)[k]
                    })
                    .sum::<f64>()
                    / rows.len() as f64;
                assert_near(got, mean, &format!("{name}={g} label {k}"));
            }
        }
    }
}

/// With `joinsource_name_or_index`, out.csv and out_stderr.csv start with
/// that column, holding each row's value, and the model never sees it.
#[test]
fn out_csv_starts_with_the_join_source_column() {
    let model = DemoModel::start(&["--synthetic", "4"]);
    let dir = tempfile::tempdir().unwrap();
    let mut config = config_with(closed_form_shap(json!([BASELINE])));
    config["headers"] = json!(["id", "feature_0", "feature_1", "feature_2", "feature_3"]);
    config["joinsource_name_or_index"] = json!("id");
    let [config, data, out] = processing_folder(dir.path(), &config, &[]);
    let text = std::fs::read_to_string(data.join("synthetic4.csv")).unwrap();
    let with_ids: String = text
        .lines()
        .enumerate()
        .map(|(i, line)| match i {
            0 => format!("id,{line}\n"),
            _ => format!("row-{i},{line}\n"),
        })
        .collect();
    std::fs::write(data.join("synthetic4.csv"), with_ids).unwrap();
    let run = run_job_with(&config, &data, &out, &["--endpoint-url", &model.url]);
    assert!(run.status.success(), "{run:?}");
    for name in ["out.csv", "out_stderr.csv"] {
        let text = std::fs::read_to_string(out.join("explanations_shap").join(name)).unwrap();
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next().unwrap().split(',').collect();
        assert_eq!(header[0], "id", "{name}");
        assert_eq!(header.len(), 5, "{name}");
        let ids: Vec<String> = lines
            .map(|l| l.split(',').next().unwrap().to_string())
            .collect();
        let want: Vec<String> = (1..=fixture_rows().len())
            .map(|i| format!("row-{i}"))
            .collect();
        assert_eq!(ids, want, "{name}");
    }
    // The values after the id column are the closed form, and exact: error 0.
    let text = std::fs::read_to_string(out.join("explanations_shap/out_stderr.csv")).unwrap();
    assert!(
        text.lines()
            .skip(1)
            .all(|l| l.split(',').skip(1).all(|v| v == "0.0")),
        "{text}"
    );
}
