//! Text explanations (`methods.shap.text_config`) end to end, against the
//! demo's review model (`demo-model --reviews`).
//!
//! The model's log-odds are `−0.2 + Σ weight(word) + 0.4 · verified` over
//! the review's lower-cased Unicode words, with the weights of
//! `test-fixtures/text/lexicon.csv` (0 for an unknown word). In log-odds
//! (`use_logit: true`) it is additive over words, so a unit's exact Shapley
//! value is the weight of its words minus the weight of the baseline's
//! (`<UNK>` is the word `unk`). In probabilities it is not additive, and
//! the reference is the Shapley formula over every coalition of units,
//! each coalition's text made here from `partial_text` / `start_idx` and
//! scored by the model over HTTP.

mod common;

use common::*;
use serde_json::{json, Value as Json};
use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use unicode_segmentation::UnicodeSegmentation;

const HEADERS: [&str; 3] = ["sentiment", "review", "verified"];

/// Short reviews (at most 10 tokens, so every coalition is enumerated)
/// with ellipses, abbreviations, non-Latin scripts, emoji and an empty one.
const SHORT_REVIEWS: &str = "sentiment,review,verified
1,I love it... great value!,1
0,\"Dr. Smith: not good, broke.\",0
1,我 好 喜欢。 رائع 🌞!,1
0,,1
1,\"Excellent. Never slow.\",0
";

/// The lexicon's weight of every word.
fn lexicon() -> HashMap<String, f64> {
    let text = std::fs::read_to_string(fixtures().join("text/lexicon.csv")).unwrap();
    text.lines()
        .skip(1)
        .map(|line| {
            let (word, weight) = line.split_once(',').unwrap();
            (word.to_string(), weight.parse().unwrap())
        })
        .collect()
}

/// The sum of the lexicon weights of `text`'s words.
fn bag(lexicon: &HashMap<String, f64>, text: &str) -> f64 {
    text.unicode_words()
        .map(|w| lexicon.get(&w.to_lowercase()).copied().unwrap_or(0.0))
        .sum()
}

fn config(granularity: &str, shap: Json) -> Json {
    let mut shap_config = json!({
        "baseline": [["<UNK>", 1]],
        "num_samples": 5000,
        "save_local_shap_values": true,
        "text_config": {"granularity": granularity, "language": "english"},
    });
    shap_config
        .as_object_mut()
        .unwrap()
        .extend(shap.as_object().unwrap().clone());
    json!({
        "dataset_type": "text/csv",
        "headers": HEADERS,
        "label": "sentiment",
        "methods": {"shap": shap_config},
        "predictor": {"endpoint_name": "reviews", "content_type": "text/csv", "accept_type": "text/csv"}
    })
}

/// Writes the config and the data into a processing folder under `root`.
/// Returns (config, data, output).
fn folder(root: &Path, config: &Json, data: &str) -> [PathBuf; 3] {
    let data_dir = root.join("input/data");
    std::fs::create_dir_all(&data_dir).unwrap();
    std::fs::write(data_dir.join("reviews.csv"), data).unwrap();
    let config_path = root.join("analysis_config.json");
    std::fs::write(&config_path, config.to_string()).unwrap();
    [config_path, data_dir, root.join("output")]
}

/// Runs a job that must succeed; returns the output folder's parent.
fn run_ok(model: &DemoModel, config: &Json, data: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let [config, data, out] = folder(dir.path(), config, data);
    let run = run_job_with(&config, &data, &out, &["--endpoint-url", &model.url]);
    let message = std::fs::read_to_string(dir.path().join("message")).unwrap_or_default();
    assert!(run.status.success(), "job failed: {message}");
    (dir, out)
}

/// Runs a job that must fail; returns its failure message.
fn run_failing(model: &DemoModel, config: &Json, data: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let [config, data, out] = folder(dir.path(), config, data);
    let run = run_job_with(&config, &data, &out, &["--endpoint-url", &model.url]);
    assert!(!run.status.success(), "the job should fail");
    std::fs::read_to_string(dir.path().join("message")).unwrap()
}

fn local_values(out: &Path) -> Vec<Json> {
    read_json_lines(&out.join("explanations_shap/out.jsonl"))
}

/// The data rows of a CSV text with a header, as (review, verified).
fn rows(data: &str) -> Vec<(String, f64)> {
    csv::Reader::from_reader(data.as_bytes())
        .records()
        .map(|r| {
            let r = r.unwrap();
            (r[1].to_string(), r[2].parse().unwrap())
        })
        .collect()
}

/// Checks every unit against the additive model's exact Shapley value.
fn assert_exact_bag_of_words(granularity: &str) {
    let model = DemoModel::start(&["--reviews"]);
    let (_dir, out) = run_ok(
        &model,
        &config(granularity, json!({"use_logit": true})),
        SHORT_REVIEWS,
    );
    let lexicon = lexicon();
    let unk = bag(&lexicon, "<UNK>");
    let records = local_values(&out);
    let rows = rows(SHORT_REVIEWS);
    assert_eq!(records.len(), rows.len());
    for (record, (review, verified)) in records.iter().zip(&rows) {
        let explanations = record["explanations"].as_array().unwrap();
        assert_eq!(explanations.len(), 2, "{record}");
        let text = &explanations[0];
        assert_eq!(text["feature_name"], "review");
        assert_eq!(text["data_type"], "free_text");
        let code_points: Vec<char> = review.chars().collect();
        for unit in text["attributions"].as_array().unwrap() {
            let partial_text = unit["description"]["partial_text"].as_str().unwrap();
            let start = unit["description"]["start_idx"].as_u64().unwrap() as usize;
            let slice: String = code_points[start..start + partial_text.chars().count()]
                .iter()
                .collect();
            assert_eq!(slice, partial_text, "start_idx of {partial_text:?}");
            let got = unit["attribution"][0].as_f64().unwrap();
            let want = bag(&lexicon, partial_text) - unk;
            assert!(
                (got - want).abs() < 1e-9,
                "{partial_text:?}: {got} != {want}"
            );
        }
        let tabular = &explanations[1];
        assert_eq!(tabular["data_type"], "numerical");
        assert!(tabular["attributions"][0].get("description").is_none());
        let got = tabular["attributions"][0]["attribution"][0]
            .as_f64()
            .unwrap();
        assert!(
            (got - 0.4 * (verified - 1.0)).abs() < 1e-9,
            "verified: {got}"
        );
    }
    // The empty review has no units and is explained all the same.
    assert_eq!(records[3]["explanations"][0]["attributions"], json!([]));
}

#[test]
fn tokens_of_an_additive_model_get_their_weights_exactly() {
    assert_exact_bag_of_words("token");
}

#[test]
fn sentences_of_an_additive_model_get_their_weights_exactly() {
    assert_exact_bag_of_words("sentence");
}

#[test]
fn units_are_split_where_the_docs_say() {
    let model = DemoModel::start(&["--reviews"]);
    let (_dir, out) = run_ok(&model, &config("token", json!({})), SHORT_REVIEWS);
    let units = |record: &Json| -> Vec<String> {
        record["explanations"][0]["attributions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| {
                u["description"]["partial_text"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect()
    };
    let records = local_values(&out);
    assert_eq!(
        units(&records[0]),
        ["I", "love", "it", "...", "great", "value", "!"]
    );
    assert_eq!(
        units(&records[2]),
        ["我", "好", "喜", "欢", "。", "رائع", "🌞", "!"]
    );
    let (_dir, out) = run_ok(&model, &config("sentence", json!({})), SHORT_REVIEWS);
    let records = local_values(&out);
    assert_eq!(units(&records[1]), ["Dr. Smith: not good, broke."]);
    assert_eq!(units(&records[4]), ["Excellent.", "Never slow."]);
}

/// Posts CSV records to the model and reads one score per line.
fn scores(model: &DemoModel, body: &str) -> Vec<f64> {
    let address = model.url.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    write!(
        stream,
        "POST /invocations HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/csv\r\nAccept: text/csv\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    body.lines().map(|l| l.parse().unwrap()).collect()
}

/// A CSV field, quoted.
fn quoted(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
}

#[test]
fn a_non_additive_model_matches_enumeration_of_every_coalition() {
    let model = DemoModel::start(&["--reviews"]);
    let data = "sentiment,review,verified\n1,\"Great fit, not cheap... I love it!\",1\n";
    let (_dir, out) = run_ok(&model, &config("token", json!({})), data);
    let record = &local_values(&out)[0];
    let review = "Great fit, not cheap... I love it!";
    let units: Vec<(usize, usize, f64)> = record["explanations"][0]["attributions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            let start = u["description"]["start_idx"].as_u64().unwrap() as usize;
            let length = u["description"]["partial_text"]
                .as_str()
                .unwrap()
                .chars()
                .count();
            (start, start + length, u["attribution"][0].as_f64().unwrap())
        })
        .collect();
    let m = units.len();
    assert!(m <= 10, "{m} units");
    // Every coalition's text: absent units' spans become "<UNK>".
    let chars: Vec<char> = review.chars().collect();
    let text_of = |coalition: usize| -> String {
        let mut text = String::new();
        let mut at = 0;
        for (i, (start, end, _)) in units.iter().enumerate() {
            text.extend(&chars[at..*start]);
            match coalition & (1 << i) != 0 {
                true => text.extend(&chars[*start..*end]),
                false => text.push_str("<UNK>"),
            }
            at = *end;
        }
        text.extend(&chars[at..]);
        text
    };
    let body: String = (0..1usize << m)
        .map(|c| format!("{},1\n", quoted(&text_of(c))))
        .collect();
    let value = scores(&model, &body);
    let factorial = |n: usize| (1..=n).map(|k| k as f64).product::<f64>();
    for (i, (_, _, got)) in units.iter().enumerate() {
        let mut want = 0.0;
        for coalition in (0..1usize << m).filter(|c| c & (1 << i) == 0) {
            let size = coalition.count_ones() as usize;
            let weight = factorial(size) * factorial(m - size - 1) / factorial(m);
            want += weight * (value[coalition | (1 << i)] - value[coalition]);
        }
        assert!((got - want).abs() < 1e-9, "unit {i}: {got} != {want}");
    }
}

#[test]
fn global_top_units_come_without_local_values() {
    let model = DemoModel::start(&["--reviews"]);
    let data = std::fs::read_to_string(fixtures().join("text/reviews.csv")).unwrap();
    let shap = json!({"save_local_shap_values": false, "text_config": {"granularity": "token", "language": "en", "max_top_tokens": 5}});
    let (_dir, out) = run_ok(&model, &config("token", shap), &data);
    assert!(!out.join("explanations_shap/out.jsonl").exists());
    let analysis = read_json(&out.join("analysis.json"));
    let label = &analysis["explanations"]["kernel_shap"]["label0"];
    let top = label["global_top_shap_text"]["review"].as_object().unwrap();
    assert_eq!(top.len(), 5);
    let values: Vec<f64> = top.values().map(|v| v.as_f64().unwrap()).collect();
    assert!(values.windows(2).all(|w| w[0] >= w[1]), "{values:?}");
    // The strongest words of the lexicon lead (mean |φ| over occurrences).
    assert!(
        top.contains_key("awful") || top.contains_key("Excellent"),
        "{top:?}"
    );
    let global = label["global_shap_values"].as_object().unwrap();
    assert_eq!(global.keys().collect::<Vec<_>>(), ["review", "verified"]);
}

#[test]
fn mistakes_are_explained_in_sentences() {
    let model = DemoModel::start(&["--reviews"]);
    let numbers = "sentiment,review,verified\n1,5,1\n0,3,0\n";
    let message = run_failing(&model, &config("token", json!({})), numbers);
    assert!(
        message.contains("methods.shap.text_config: no feature holds text"),
        "{message}"
    );
    let klingon = json!({"text_config": {"granularity": "token", "language": "klingon"}});
    let message = run_failing(&model, &config("token", klingon), SHORT_REVIEWS);
    assert!(
        message.contains("methods.shap.text_config.language") && message.contains("english/en"),
        "{message}"
    );
    let narrow = json!({"baseline": [["<UNK>"]]});
    let message = run_failing(&model, &config("token", narrow), SHORT_REVIEWS);
    assert!(
        message.contains("methods.shap.baseline") && message.contains("expected 2, got 1"),
        "{message}"
    );
    // The model reads `verified` as a number, so a text there fails on the baseline.
    let unreadable = json!({"baseline": [["<UNK>", "yes"]]});
    let message = run_failing(&model, &config("token", unreadable), SHORT_REVIEWS);
    assert!(message.contains("replaces an absent unit"), "{message}");
}

#[test]
fn shards_merged_give_what_one_run_gives() {
    let model = DemoModel::start(&["--reviews"]);
    let data = std::fs::read_to_string(fixtures().join("text/reviews.csv")).unwrap();
    let config = config("token", json!({"num_samples": 64}));
    let (_single, out) = run_ok(&model, &config, &data);
    let dir = tempfile::tempdir().unwrap();
    let [config_path, data_dir, _] = folder(dir.path(), &config, &data);
    let plan = dir.path().join("plan");
    plan_job(&config_path, &data_dir.join("reviews.csv"), &plan);
    let lines: Vec<&str> = data.lines().collect();
    let mut partials = Vec::new();
    for (i, (range, offset)) in [(1..6, 0), (6..lines.len(), 5)].into_iter().enumerate() {
        let shard = dir.path().join(format!("shard{i}.csv"));
        let body: String = lines[range].iter().map(|l| format!("{l}\n")).collect();
        std::fs::write(&shard, body).unwrap();
        let partial = dir.path().join(format!("partial{i}"));
        let offset = offset.to_string();
        let extra = [
            "--row-offset",
            &offset,
            "--header",
            "no",
            "--endpoint-url",
            &model.url,
        ];
        partial_state(&config_path, &plan, &shard, &partial, &extra);
        partials.push(partial);
    }
    let merged = dir.path().join("merged");
    partials.reverse();
    merge_states(&config_path, &plan, &partials, &merged);
    let local = |dir: &Path| std::fs::read(dir.join("explanations_shap/out.jsonl")).unwrap();
    assert_eq!(local(&merged), local(&out), "out.jsonl");
    let explanations = |dir: &Path| read_json(&dir.join("analysis.json"))["explanations"].clone();
    assert_eq!(explanations(&merged), explanations(&out));
}
