//! `methods.asymmetric_shapley_value` end to end, against the demo
//! forecaster (`demo-model --forecast`), whose forecasts are known in
//! closed form (src/demo_model/forecaster.rs, restated here as the reference):
//!
//! ```text
//! f_k = (1 + k) + Σ_t 0.5^(ℓ+1)·(1 + 0.1k)·y_t + Σ_{j,t} (j + 1)/(10·(1 + |t − (L + k)|))·r_{j,t}
//!               + Σ_s 0.5·(s + 1)·s_s                      [+ 0.01·Σy·Σr_0 + 0.1·y_{L−1}·s_0]
//! ```
//!
//! For the linear forecaster every order gives each value the same
//! marginal contribution, so the asymmetric Shapley value of a value is its
//! coefficient times its distance from the baseline, for every direction
//! and granularity. The quadratic one is checked against a brute force over
//! every admissible order, written here.

mod common;

use common::*;
use serde_json::{json, Value as Json};
use std::path::{Path, PathBuf};

/// One item of the fixtures.
#[derive(Clone)]
struct Item {
    id: Json,
    timestamps: Vec<String>,
    /// Target over all rows; `None` on the horizon.
    target: Vec<Option<f64>>,
    related: Vec<Vec<f64>>,
    statics: Vec<f64>,
}

/// Three items of different lengths and horizons, two related series, two statics.
fn items() -> Vec<Item> {
    let item = |id: Json, rows: usize, history: usize, seed: f64| Item {
        id,
        timestamps: (0..rows)
            .map(|t| format!("2024-01-01 {:02}:00:00", t))
            .collect(),
        target: (0..rows)
            .map(|t| (t < history).then(|| ((t as f64 + seed) * 1.3).sin() * 10.0 + 20.0))
            .collect(),
        related: (0..2)
            .map(|j| {
                (0..rows)
                    .map(|t| ((t * (j + 2)) as f64 + seed).cos() * 3.0)
                    .collect()
            })
            .collect(),
        statics: vec![seed, 2.0 * seed - 1.0],
    };
    vec![
        item(json!("seattle"), 7, 4, 0.5),
        item(json!(17), 5, 2, 1.5),
        item(json!("sanjose"), 6, 5, 2.5),
    ]
}

const HEADERS: [&str; 7] = [
    "item_id",
    "timestamp",
    "target_value",
    "dyn_1",
    "dyn_2",
    "static_1",
    "static_2",
];

/// The items as one of the three dataset formats, with its JMESPaths.
fn dataset(items: &[Item], format: &str) -> (Json, Json) {
    let with_statics = |mut object: Json, i: &Item| {
        for (k, s) in i.statics.iter().enumerate() {
            object[format!("static_{}", k + 1)] = json!(s);
        }
        object
    };
    let row = |i: &Item, t: usize| {
        let row = json!({"item_id": i.id, "timestamp": i.timestamps[t], "target_value": i.target[t],
               "dyn_1": i.related[0][t], "dyn_2": i.related[1][t]});
        with_statics(row, i)
    };
    match format {
        "timestamp_records" => {
            let rows: Vec<Json> = items
                .iter()
                .flat_map(|i| (0..i.timestamps.len()).map(move |t| row(i, t)))
                .collect();
            let paths = json!({"dataset_format": format, "item_id": "[].item_id", "timestamp": "[].timestamp",
                "target_time_series": "[].target_value", "related_time_series": ["[].dyn_1", "[].dyn_2"],
                "static_covariates": ["[].static_1", "[].static_2"]});
            (Json::Array(rows), paths)
        }
        "columns" => {
            let rows: Vec<Json> = items
                .iter()
                .flat_map(|i| (0..i.timestamps.len()).map(move |t| row(i, t)))
                .collect();
            let mut doc = serde_json::Map::new();
            for h in HEADERS.iter().filter(|h| rows[0].get(**h).is_some()) {
                doc.insert(h.to_string(), rows.iter().map(|r| r[*h].clone()).collect());
            }
            let paths = json!({"dataset_format": format, "item_id": "item_id", "timestamp": "timestamp",
                "target_time_series": "target_value", "related_time_series": ["dyn_1", "dyn_2"],
                "static_covariates": ["static_1", "static_2"]});
            (Json::Object(doc), paths)
        }
        _ => {
            let docs: Vec<Json> = items
                .iter()
                .map(|i| {
                    let series: Vec<Json> = (0..i.timestamps.len())
                        .map(|t| {
                            json!({"timestamp": i.timestamps[t], "target_value": i.target[t],
                                        "dyn_1": i.related[0][t], "dyn_2": i.related[1][t]})
                        })
                        .collect();
                    with_statics(json!({"item_id": i.id, "series": series}), i)
                })
                .collect();
            let paths = json!({"dataset_format": "item_records", "item_id": "[*].item_id",
                "timestamp": "[*].series[].timestamp", "target_time_series": "[*].series[].target_value",
                "related_time_series": ["[*].series[].dyn_1", "[*].series[].dyn_2"],
                "static_covariates": ["[*].static_1", "[*].static_2"]});
            (Json::Array(docs), paths)
        }
    }
}

/// The item's key in a static-covariate baseline map.
fn key(id: &Json) -> String {
    id.as_str().map_or_else(|| id.to_string(), str::to_string)
}

/// The static covariates' baseline of each item.
fn static_baseline(items: &[Item]) -> Json {
    items
        .iter()
        .map(|i| (key(&i.id), json!([1.0, -0.5])))
        .collect::<serde_json::Map<_, _>>()
        .into()
}

/// A config as the SDK writes it, for DeepAR-style records sent many per request.
fn config(paths: &Json, asv: Json) -> Json {
    config_with(
        paths,
        asv,
        "{\"instances\": $records}",
        "predictions[*].mean",
    )
}

/// [`config`] with another content template and forecast locator.
fn config_with(paths: &Json, asv: Json, content_template: &str, forecast: &str) -> Json {
    json!({
        "dataset_type": "application/json",
        "headers": HEADERS,
        "methods": {"asymmetric_shapley_value": asv, "report": {"name": "report", "title": "Analysis Report"}},
        "predictor": {"accept_type": "application/json", "content_type": "application/json",
            "content_template": content_template, "endpoint_name": "forecaster",
            "record_template": "{\"start\": $start_time, \"target\": $target_time_series, \"dynamic_feat\": $related_time_series, \"cat\": $static_covariates}",
            "time_series_predictor_config": {"forecast": forecast}},
        "time_series_data_config": paths,
    })
}

/// Runs a job on `items` in `format`; returns the output folder, or panics
/// with the failure message.
fn run(dir: &Path, model: &DemoModel, items: &[Item], format: &str, asv: Json) -> PathBuf {
    let (doc, paths) = dataset(items, format);
    let data = dir.join("data.json");
    std::fs::write(&data, doc.to_string()).unwrap();
    let config_path = dir.join("analysis_config.json");
    std::fs::write(&config_path, config(&paths, asv).to_string()).unwrap();
    let out = dir.join("output");
    run_job_ok(&config_path, &data, &out, &["--endpoint-url", &model.url]);
    out
}

/// The output lines by item id.
fn lines(out: &Path, folder: &str) -> Vec<Json> {
    read_json_lines(
        &out.join("asymmetric_shapley_value")
            .join(folder)
            .join("out.jsonl"),
    )
}

/// A record's values: history, related series, statics.
struct Record {
    target: Vec<f64>,
    related: Vec<Vec<f64>>,
    statics: Vec<f64>,
}

/// The demo forecaster, restated.
fn forecaster(r: &Record, quadratic: bool) -> Vec<f64> {
    let l = r.target.len();
    let horizon = r.related[0].len() - l;
    (0..horizon)
        .map(|k| {
            let kf = k as f64;
            let mut f = 1.0 + kf;
            for (t, y) in r.target.iter().enumerate() {
                f += 0.5f64.powi((l - t) as i32) * (1.0 + 0.1 * kf) * y;
            }
            for (j, series) in r.related.iter().enumerate() {
                for (t, x) in series.iter().enumerate() {
                    f += (j + 1) as f64 / (10.0 * (1.0 + (t as f64 - (l + k) as f64).abs())) * x;
                }
            }
            for (s, c) in r.statics.iter().enumerate() {
                f += 0.5 * (s + 1) as f64 * c;
            }
            if quadratic {
                f += 0.01 * r.target.iter().sum::<f64>() * r.related[0].iter().sum::<f64>();
                f += 0.1 * r.target[l - 1] * r.statics[0];
            }
            f
        })
        .collect()
}

fn history(i: &Item) -> Vec<f64> {
    i.target.iter().map_while(|v| *v).collect()
}

fn assert_close(got: &Json, want: &[f64], what: &str) {
    let got: Vec<f64> = got
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(got.len(), want.len(), "{what}: {got:?} vs {want:?}");
    for (g, w) in got.iter().zip(want) {
        assert!((g - w).abs() < 1e-9, "{what}: {got:?} vs {want:?}");
    }
}

#[test]
fn linear_forecaster_values_are_the_closed_form_for_every_direction_and_granularity() {
    let model = DemoModel::start(&["--forecast", "linear"]);
    let items = items();
    let statics = static_baseline(&items);
    let cases = [
        ("timewise", "chronological", json!(null)),
        ("timewise", "anti_chronological", json!(null)),
        ("timewise", "bidirectional", json!(null)),
        ("fine_grained", "chronological", json!(5)),
    ];
    for (granularity, direction, num_samples) in cases {
        for mean in [false, true] {
            let dir = tempfile::tempdir().unwrap();
            let rule = if mean { "mean" } else { "zero" };
            let mut asv = json!({"direction": direction, "granularity": granularity,
                "baseline": {"target_time_series": rule, "related_time_series": rule, "static_covariates": statics}});
            if !num_samples.is_null() {
                asv["num_samples"] = num_samples.clone();
            }
            let out = run(dir.path(), &model, &items, "timestamp_records", asv);
            let analysis = read_json(&out.join("analysis.json"));
            let block = &analysis["explanations"]["asymmetric_shapley_value"];
            assert_eq!(block["direction"], direction);
            assert_eq!(block["granularity"], granularity);
            let folder = format!("{granularity}_{direction}");
            assert!(block["explanation_results_path"]
                .as_str()
                .unwrap()
                .ends_with(&format!("{folder}/out.jsonl")));
            let lines = lines(&out, &folder);
            assert_eq!(lines.len(), items.len());
            for (item, line) in items.iter().zip(&lines) {
                check_linear(item, line, granularity, mean);
            }
        }
    }
}

/// One line against the closed form of the linear forecaster.
fn check_linear(item: &Item, line: &Json, granularity: &str, mean: bool) {
    assert_eq!(line["item_id"], item.id);
    let y = history(item);
    let (l, steps) = (y.len(), item.timestamps.len());
    let base = |series: &[f64]| {
        if mean {
            series.iter().sum::<f64>() / series.len() as f64
        } else {
            0.0
        }
    };
    let (y_base, r_base) = (
        base(&y),
        item.related.iter().map(|s| base(s)).collect::<Vec<_>>(),
    );
    let s_base = [1.0, -0.5];
    let actual = Record {
        target: y.clone(),
        related: item.related.clone(),
        statics: item.statics.clone(),
    };
    let baseline = Record {
        target: vec![y_base; l],
        related: r_base.iter().map(|b| vec![*b; steps]).collect(),
        statics: s_base.to_vec(),
    };
    let horizon = steps - l;
    let offset = forecaster(&baseline, false);
    assert_close(&line["offset"], &offset, "offset");
    let a = |k: usize, t: usize| 0.5f64.powi((l - t) as i32) * (1.0 + 0.1 * k as f64);
    let b = |k: usize, j: usize, t: usize| {
        (j + 1) as f64 / (10.0 * (1.0 + (t as f64 - (l + k) as f64).abs()))
    };
    let target_score = |t: usize| {
        (0..horizon)
            .map(|k| a(k, t) * (y[t] - y_base))
            .collect::<Vec<_>>()
    };
    let related_score = |j: usize, t: usize| {
        (0..horizon)
            .map(|k| b(k, j, t) * (item.related[j][t] - r_base[j]))
            .collect::<Vec<_>>()
    };
    let static_score =
        |s: usize| vec![0.5 * (s + 1) as f64 * (item.statics[s] - s_base[s]); horizon];
    let mut expected: Vec<(String, Option<String>, Vec<f64>)> = Vec::new();
    if granularity == "timewise" {
        for t in 0..steps {
            let mut score = vec![0.0; horizon];
            let parts = (t < l)
                .then(|| target_score(t))
                .into_iter()
                .chain((0..2).map(|j| related_score(j, t)));
            for part in parts {
                for (s, p) in score.iter_mut().zip(part) {
                    *s += p;
                }
            }
            expected.push(("time_step".into(), Some(item.timestamps[t].clone()), score));
        }
    } else {
        for t in 0..l {
            expected.push((
                "target_value".into(),
                Some(item.timestamps[t].clone()),
                target_score(t),
            ));
        }
        for (j, name) in ["dyn_1", "dyn_2"].iter().enumerate() {
            for t in 0..steps {
                expected.push((
                    name.to_string(),
                    Some(item.timestamps[t].clone()),
                    related_score(j, t),
                ));
            }
        }
    }
    for (s, name) in ["static_1", "static_2"].iter().enumerate() {
        expected.push((name.to_string(), None, static_score(s)));
    }
    let entries = line["explanations"].as_array().unwrap();
    assert_eq!(entries.len(), expected.len());
    for (entry, (name, timestamp, scores)) in entries.iter().zip(&expected) {
        assert_eq!(entry["feature_name"], json!(name));
        match timestamp {
            Some(t) => assert_eq!(entry["timestamp"], json!(t)),
            None => assert!(entry.get("timestamp").is_none()),
        }
        assert_close(&entry["scores"], scores, &format!("{name} {timestamp:?}"));
    }
    // Efficiency: offset + Σ scores = the forecast of the item itself.
    let forecast = forecaster(&actual, false);
    for k in 0..horizon {
        let total = offset[k]
            + entries
                .iter()
                .map(|e| e["scores"][k].as_f64().unwrap())
                .sum::<f64>();
        assert!(
            (total - forecast[k]).abs() < 1e-9,
            "efficiency at step {k}: {total} vs {}",
            forecast[k]
        );
    }
}

/// Every permutation of `items`.
fn permutations(items: &[usize]) -> Vec<Vec<usize>> {
    if items.len() <= 1 {
        return vec![items.to_vec()];
    }
    (0..items.len())
        .flat_map(|i| {
            let mut rest = items.to_vec();
            let first = rest.remove(i);
            permutations(&rest).into_iter().map(move |mut p| {
                p.insert(0, first);
                p
            })
        })
        .collect()
}

#[test]
fn quadratic_forecaster_matches_brute_force_over_every_admissible_order() {
    let model = DemoModel::start(&["--forecast", "quadratic"]);
    // One item: history 2, rows 3 (horizon 1), two related series, two statics.
    let mut item = items()[1].clone();
    item.timestamps.truncate(3);
    item.target.truncate(3);
    for s in &mut item.related {
        s.truncate(3);
    }
    let items = vec![item.clone()];
    let dir = tempfile::tempdir().unwrap();
    let asv = json!({"direction": "chronological", "granularity": "fine_grained", "num_samples": 40,
        "baseline": {"static_covariates": static_baseline(&items)}});
    let out = run(dir.path(), &model, &items, "item_records", asv);
    let line = &lines(&out, "fine_grained_chronological")[0];
    // Flat values: y0 y1 | r00 r01 r02 | r10 r11 r12 | s0 s1. Blocks: statics, then each step.
    let y = history(&item);
    let actual: Vec<f64> = y
        .iter()
        .chain(item.related.iter().flatten())
        .chain(&item.statics)
        .copied()
        .collect();
    let baseline: Vec<f64> = vec![0.0; 8].into_iter().chain([1.0, -0.5]).collect();
    let record = |v: &[f64]| Record {
        target: v[0..2].to_vec(),
        related: vec![v[2..5].to_vec(), v[5..8].to_vec()],
        statics: v[8..10].to_vec(),
    };
    let blocks: Vec<Vec<usize>> = vec![vec![8, 9], vec![0, 2, 5], vec![1, 3, 6], vec![4, 7]];
    let mut orders: Vec<Vec<usize>> = vec![vec![]];
    for block in &blocks {
        orders = orders
            .iter()
            .flat_map(|prefix| {
                permutations(block)
                    .into_iter()
                    .map(move |p| [prefix.clone(), p].concat())
            })
            .collect();
    }
    assert_eq!(orders.len(), 2 * 6 * 6 * 2);
    let mut values = vec![0.0; 10];
    for order in &orders {
        let mut input = baseline.clone();
        let mut before = forecaster(&record(&input), true)[0];
        for &i in order {
            input[i] = actual[i];
            let now = forecaster(&record(&input), true)[0];
            values[i] += (now - before) / orders.len() as f64;
            before = now;
        }
    }
    // Output order: target steps, dyn_1 steps, dyn_2 steps, statics.
    let entries = line["explanations"].as_array().unwrap();
    assert_eq!(entries.len(), 10);
    for (entry, expected) in entries.iter().zip(&values) {
        assert_close(
            &entry["scores"],
            &[*expected],
            &entry["feature_name"].to_string(),
        );
    }
    assert_close(
        &line["offset"],
        &forecaster(&record(&baseline), true),
        "offset",
    );
}

#[test]
fn the_three_dataset_formats_give_byte_identical_output() {
    let model = DemoModel::start(&["--forecast", "quadratic"]);
    let items = items();
    let asv = json!({"direction": "chronological", "granularity": "fine_grained", "num_samples": 2,
        "baseline": {"target_time_series": "mean", "static_covariates": static_baseline(&items)}});
    let outputs: Vec<Vec<u8>> = ["columns", "item_records", "timestamp_records"]
        .iter()
        .map(|format| {
            let dir = tempfile::tempdir().unwrap();
            let out = run(dir.path(), &model, &items, format, asv.clone());
            std::fs::read(out.join("asymmetric_shapley_value/fine_grained_chronological/out.jsonl"))
                .unwrap()
        })
        .collect();
    assert!(!outputs[0].is_empty());
    assert_eq!(outputs[0], outputs[1]);
    assert_eq!(outputs[0], outputs[2]);
}

#[test]
fn plan_partial_merge_over_item_shards_equals_one_run() {
    let model = DemoModel::start(&["--forecast", "quadratic"]);
    let items = items();
    let asv = json!({"direction": "chronological", "granularity": "fine_grained", "num_samples": 3,
        "baseline": {"static_covariates": static_baseline(&items)}});
    let dir = tempfile::tempdir().unwrap();
    let single = run(dir.path(), &model, &items, "item_records", asv.clone());
    let config = dir.path().join("analysis_config.json");
    let data = dir.path().join("data.json");
    let plan = dir.path().join("plan");
    plan_job(&config, &data, &plan);
    let mut states = Vec::new();
    for (i, shard_items) in [&items[2..], &items[..2]].iter().enumerate() {
        let shard = dir.path().join(format!("shard{i}.json"));
        std::fs::write(&shard, dataset(shard_items, "item_records").0.to_string()).unwrap();
        let state = dir.path().join(format!("state{i}"));
        let endpoint = ["--endpoint-url", model.url.as_str()];
        partial_state(&config, &plan, &shard, &state, &endpoint);
        states.push(state);
    }
    let merged = dir.path().join("merged");
    merge_states(&config, &plan, &states, &merged);
    let file = "asymmetric_shapley_value/fine_grained_chronological/out.jsonl";
    assert_eq!(
        std::fs::read(merged.join(file)).unwrap(),
        std::fs::read(single.join(file)).unwrap()
    );
}

#[test]
fn configs_and_data_the_job_cannot_use_fail_with_a_sentence() {
    let model = DemoModel::start(&["--forecast", "linear"]);
    let items = items();
    let dir = tempfile::tempdir().unwrap();
    let (doc, paths) = dataset(&items, "timestamp_records");
    let data = dir.path().join("data.json");
    std::fs::write(&data, doc.to_string()).unwrap();
    let cases = [
        (
            json!({"direction": "chronological", "granularity": "timewise",
                "baseline": {"static_covariates": {"seattle": [1, 2]}}}),
            "static_covariates has no entry for item 17",
        ),
        (
            json!({"direction": "chronological", "granularity": "timewise"}),
            "Baseline for static_covariates must be set",
        ),
        (
            json!({"direction": "anti_chronological", "granularity": "fine_grained", "num_samples": 3,
                "baseline": {"static_covariates": static_baseline(&items)}}),
            "granularity fine_grained only works with direction chronological",
        ),
    ];
    for (asv, expected) in cases {
        let config_path = dir.path().join("analysis_config.json");
        std::fs::write(&config_path, config(&paths, asv).to_string()).unwrap();
        let out = dir.path().join("output");
        let result = run_job_with(&config_path, &data, &out, &["--endpoint-url", &model.url]);
        assert!(!result.status.success());
        let message = std::fs::read_to_string(dir.path().join("message")).unwrap();
        assert!(
            message.contains(expected),
            "{message}\nexpected: {expected}"
        );
    }
}

#[test]
fn sdk_written_configs_run_unchanged() {
    let model = DemoModel::start(&["--forecast", "quadratic"]);
    // The SDK configs name one static covariate (scripts/gen-sdk-configs.py).
    let items: Vec<Item> = items()
        .into_iter()
        .map(|mut i| {
            i.statics.truncate(1);
            i
        })
        .collect();
    let folder = fixtures().join("sdk-configs-time-series");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert_eq!(files.len(), 6);
    for file in files {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let layout = ["timestamp_records", "item_records", "columns"]
            .into_iter()
            .find(|l| name.contains(l))
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data.json");
        std::fs::write(&data, dataset(&items, layout).0.to_string()).unwrap();
        let out = dir.path().join("output");
        let result = run_job_with(&file, &data, &out, &["--endpoint-url", &model.url]);
        assert!(
            result.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&result.stderr)
        );
        let config = read_json(&file);
        let asv = &config["methods"]["asymmetric_shapley_value"];
        let folder = format!(
            "{}_{}",
            asv["granularity"].as_str().unwrap(),
            asv["direction"].as_str().unwrap()
        );
        for (item, line) in items.iter().zip(lines(&out, &folder)) {
            let actual = Record {
                target: history(item),
                related: item.related.clone(),
                statics: item.statics.clone(),
            };
            let forecast = forecaster(&actual, true);
            let entries = line["explanations"].as_array().unwrap();
            for (k, f) in forecast.iter().enumerate() {
                let total = line["offset"][k].as_f64().unwrap()
                    + entries
                        .iter()
                        .map(|e| e["scores"][k].as_f64().unwrap())
                        .sum::<f64>();
                assert!(
                    (total - f).abs() < 1e-9,
                    "{name}: item {}: {total} vs {f}",
                    item.id
                );
            }
        }
    }
}

#[test]
fn one_record_per_request_with_record_reads_a_bare_forecast() {
    let model = DemoModel::start(&["--forecast", "linear"]);
    let items = items();
    let dir = tempfile::tempdir().unwrap();
    let (doc, paths) = dataset(&items, "columns");
    let data = dir.path().join("data.json");
    std::fs::write(&data, doc.to_string()).unwrap();
    let asv = json!({"direction": "anti_chronological", "granularity": "timewise",
        "baseline": {"static_covariates": static_baseline(&items)}});
    let config_path = dir.path().join("analysis_config.json");
    std::fs::write(
        &config_path,
        config_with(&paths, asv, "$record", "predictions.mean").to_string(),
    )
    .unwrap();
    let out = dir.path().join("output");
    let result = run_job_with(&config_path, &data, &out, &["--endpoint-url", &model.url]);
    assert!(
        result.status.success(),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    for (item, line) in items.iter().zip(lines(&out, "timewise_anti_chronological")) {
        check_linear(item, &line, "timewise", false);
    }
}

#[test]
fn a_baseline_dataset_gives_each_items_baseline() {
    let model = DemoModel::start(&["--forecast", "quadratic"]);
    let items = items();
    // The same items with every series at zero and the statics at [1, -0.5]:
    // the values must be those of the zero rule with that static baseline.
    let zeros: Vec<Item> = items
        .iter()
        .map(|i| Item {
            target: i.target.iter().map(|v| v.map(|_| 0.0)).collect(),
            related: i.related.iter().map(|s| vec![0.0; s.len()]).collect(),
            statics: vec![1.0, -0.5],
            ..i.clone()
        })
        .collect();
    let by_rule = tempfile::tempdir().unwrap();
    let asv = json!({"direction": "bidirectional", "granularity": "timewise",
        "baseline": {"static_covariates": static_baseline(&items)}});
    let rule = run(by_rule.path(), &model, &items, "item_records", asv);
    let by_file = tempfile::tempdir().unwrap();
    std::fs::write(
        by_file.path().join("baseline.json"),
        dataset(&zeros, "item_records").0.to_string(),
    )
    .unwrap();
    let asv = json!({"direction": "bidirectional", "granularity": "timewise", "baseline": "baseline.json"});
    let file = run(by_file.path(), &model, &items, "item_records", asv);
    let out = "asymmetric_shapley_value/timewise_bidirectional/out.jsonl";
    let read = |dir: &Path| std::fs::read_to_string(dir.join(out)).unwrap();
    assert_eq!(read(&file), read(&rule));
}

#[test]
fn check_reads_the_items_and_says_forecasts_are_not_probed() {
    let items = items();
    let dir = tempfile::tempdir().unwrap();
    let (doc, paths) = dataset(&items, "timestamp_records");
    let data = dir.path().join("data.json");
    std::fs::write(&data, doc.to_string()).unwrap();
    let asv = json!({"direction": "chronological", "granularity": "timewise",
        "baseline": {"static_covariates": static_baseline(&items)}});
    let config_path = dir.path().join("analysis_config.json");
    std::fs::write(&config_path, config(&paths, asv).to_string()).unwrap();
    let result = openclarify(&[
        "check",
        "--config",
        config_path.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
    ]);
    let shown = String::from_utf8_lossy(&result.stdout);
    assert!(shown.contains("3 items of 5 to 7 timestamps; the first, \"seattle\", has 4 history values, 2 related series and 2 static covariates"), "{shown}");
    assert!(
        shown.contains(
            "asymmetric_shapley_value NOT READY: check does not send forecast requests yet"
        ),
        "{shown}"
    );
    assert!(!result.status.success());
}
