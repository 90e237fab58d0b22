//! `openclarify run` and `demo` end to end: results against smclarify's,
//! and every job-level failure ending with exit code 1, one clear sentence
//! and no `analysis.json`.

mod common;

use common::*;
use std::io::Write;
use std::path::Path;

/// The demo runs with no setup (its model starts in-process) and reproduces
/// smclarify's numbers. The expected file is smclarify_reference.py run on
/// the demo config with the predicted labels `--save-predictions` wrote.
/// It also explains the model (SHAP values are checked in tests/explain.rs
/// and tests/sdk_configs.rs; here only that they are there).
#[test]
fn demo_matches_smclarify() {
    let dir = tempfile::tempdir().unwrap();
    let out = openclarify(&["demo", "--output", dir.path().to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("analysis.json"), "{stdout}");
    let got = read_json(&dir.path().join("output/analysis.json"));
    let want = read_json(&fixtures().join("demo/expected.smclarify.json"));
    assert_eq!(got["version"], "1.0");
    assert_close(
        &got["pre_training_bias_metrics"],
        &want["pre_training_bias_metrics"],
        "pre_training_bias_metrics",
    );
    assert_close(
        &got["post_training_bias_metrics"],
        &want["post_training_bias_metrics"],
        "post_training_bias_metrics",
    );
    let explanations = &got["explanations"];
    assert!(explanations["kernel_shap"]["label0"]["expected_value"].is_f64());
    assert_eq!(explanations["pdp"].as_array().map(Vec::len), Some(3));
    let local = dir.path().join("output/explanations_shap/out.csv");
    assert_eq!(
        std::fs::read_to_string(local).unwrap().lines().count(),
        1001
    );
}

/// A folder of part files, one of them gzipped, gives the single file's result.
#[test]
fn part_files_and_gzip_read_as_one_dataset() {
    let dir = tempfile::tempdir().unwrap();
    let german = std::fs::read_to_string(fixtures().join("german.csv")).unwrap();
    let lines: Vec<&str> = german.lines().collect();
    let data = dir.path().join("data");
    std::fs::create_dir_all(data.join("more")).unwrap();
    std::fs::write(data.join("part-0.csv"), lines[..301].join("\n")).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    // Each part file may repeat the header row; CRLF endings are fine too.
    gz.write_all(format!("{}\r\n{}\r\n", lines[0], lines[301..700].join("\r\n")).as_bytes())
        .unwrap();
    std::fs::write(data.join("part-1.csv.gz"), gz.finish().unwrap()).unwrap();
    std::fs::write(
        data.join("more/part-2.csv"),
        format!("\u{feff}{}\n", lines[700..].join("\n")),
    )
    .unwrap();
    let out_dir = dir.path().join("out");
    let out = run_job(
        &demo_config(dir.path(), &["pre_training_bias"]),
        &data,
        &out_dir,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let want = read_json(&fixtures().join("demo/expected.smclarify.json"));
    let got = read_json(&out_dir.join("analysis.json"));
    assert_close(
        &got["pre_training_bias_metrics"],
        &want["pre_training_bias_metrics"],
        "pre",
    );
}

/// Runs a job expected to fail; returns its failure message after checking
/// the exit code, stderr and that no analysis.json was left.
fn failing(config: &str, data: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let config_path = dir.path().join("analysis_config.json");
    if !config.is_empty() {
        std::fs::write(&config_path, config).unwrap();
    }
    let data_path = dir.path().join("data.csv");
    std::fs::write(&data_path, data).unwrap();
    let out_dir = dir.path().join("out");
    let out = run_job(&config_path, &data_path, &out_dir);
    assert_eq!(
        out.status.code(),
        Some(1),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out_dir.join("analysis.json").exists());
    let message = std::fs::read_to_string(dir.path().join("message")).unwrap();
    assert!(message.starts_with("ClientError: "), "{message}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(&message),
        "stderr lacks the message"
    );
    message
}

const CONFIG: &str = r#"{"dataset_type":"text/csv","label":"y","label_values_or_threshold":[1],
  "facet":[{"name_or_index":"f","value_or_threshold":["a"]}],"methods":{"pre_training_bias":{"methods":"all"}}}"#;
const DATA: &str = "f,x,y\na,1.5,1\nb,2.5,0\na,3.5,0\n";

#[test]
fn missing_config_names_the_path() {
    let m = failing("", DATA);
    assert!(
        m.contains("Analysis configuration file not found at")
            && m.contains("analysis_config.json"),
        "{m}"
    );
}

#[test]
fn invalid_json_config() {
    let m = failing("{\"dataset_type\": ", DATA);
    assert!(
        m.contains("Unable to load analysis configuration as JSON."),
        "{m}"
    );
}

#[test]
fn unknown_dataset_type() {
    let m = failing(
        &CONFIG.replace("text/csv", "text/tab-separated-values"),
        DATA,
    );
    assert!(
        m.contains("dataset_type: unknown dataset type \"text/tab-separated-values\""),
        "{m}"
    );
}

#[test]
fn label_not_in_data() {
    let m = failing(
        &CONFIG.replace(r#""label":"y""#, r#""label":"target""#),
        DATA,
    );
    assert!(
        m.contains("Headers must contain label.")
            && m.contains("no column named \"target\"")
            && m.contains("f, x, y"),
        "{m}"
    );
}

#[test]
fn facet_not_in_data() {
    let m = failing(
        &CONFIG.replace(r#""name_or_index":"f""#, r#""name_or_index":"gender""#),
        DATA,
    );
    assert!(
        m.contains("Unable to locate the facet.") && m.contains("facet[0].name_or_index"),
        "{m}"
    );
}

#[test]
fn ragged_row_names_file_and_line() {
    let m = failing(CONFIG, "f,x,y\na,1.5,1\nb,2.5\na,3.5,0\n");
    assert!(
        m.contains("data.csv: line 3 has 2 fields but the dataset has 3 columns"),
        "{m}"
    );
}

#[test]
fn non_numeric_threshold_on_continuous_facet() {
    let config = CONFIG.replace(
        r#""name_or_index":"f","value_or_threshold":["a"]"#,
        r#""name_or_index":"x","value_or_threshold":["high"]"#,
    );
    let m = failing(&config, DATA);
    assert!(
        m.contains(
            "Facet/label value provided must be a single numeric threshold for continuous data"
        ) && m.contains("\"x\""),
        "{m}"
    );
}

#[test]
fn empty_dataset() {
    let m = failing(CONFIG, "f,x,y\n");
    assert!(m.contains("Dataset is empty"), "{m}");
    let m = failing(CONFIG, "");
    assert!(
        m.contains("Dataset is empty") || m.contains("No data files"),
        "{m}"
    );
}

#[test]
fn unknown_key_is_named_with_a_suggestion() {
    let m = failing(&CONFIG.replace("\"facet\"", "\"facets\""), DATA);
    assert!(
        m.contains("facets: unknown key; did you mean \"facet\"?"),
        "{m}"
    );
}

/// Without a subcommand the binary prints help (and exits non-zero).
#[test]
fn no_subcommand_prints_help() {
    let out = openclarify(&[]);
    let text =
        String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Usage:") && text.contains("run") && text.contains("demo"),
        "{text}"
    );
}

/// Writes a small dataset and config, returning the analysis.
fn analyse(config: &str, data: &str) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("c.json"), config).unwrap();
    std::fs::write(dir.path().join("d.csv"), data).unwrap();
    let out_dir = dir.path().join("out");
    let out = run_job(
        &dir.path().join("c.json"),
        &dir.path().join("d.csv"),
        &out_dir,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    read_json(Path::new(&out_dir.join("analysis.json")))
}

/// A facet value selecting no row becomes per-metric error entries, and
/// the job still succeeds (as smclarify reports it).
#[test]
fn empty_facet_group_gives_metric_errors() {
    let a = analyse(&CONFIG.replace(r#"["a"]"#, r#"["zzz"]"#), DATA);
    let metrics = &a["pre_training_bias_metrics"]["facets"]["f"][0]["metrics"];
    let ci = metrics
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "CI")
        .unwrap();
    assert_eq!(ci["value"], serde_json::Value::Null);
    assert_eq!(
        ci["error"],
        "CI: facet set is empty. Check that x[facet] has non-zero length."
    );
    let cddl = metrics
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "CDDL")
        .unwrap();
    assert_eq!(cddl["error"], "Group variable is empty or not provided");
}
