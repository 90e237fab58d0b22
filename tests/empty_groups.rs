//! A facet or label value that selects no rows: the job still writes what
//! smclarify writes for it (metrics saying `Facet set is empty`), but the
//! log names the facet, the value and the values the column holds, and
//! `check` says NOT READY.

mod common;

use common::*;
use serde_json::{json, Value as Json};
use std::path::{Path, PathBuf};

/// The demo config, pre-training bias only, with `facet` and `label_values`.
fn config(dir: &Path, facet: Json, label_values: Json) -> PathBuf {
    let mut config = read_json(&demo_config(dir, &["pre_training_bias"]));
    config["facet"] = facet;
    config["label_values_or_threshold"] = label_values;
    let path = dir.join("analysis_config.json");
    std::fs::write(&path, config.to_string()).unwrap();
    path
}

const SEX_VALUES: &str = "the column's values are female (310), male (690)";

#[test]
fn run_names_a_facet_value_that_selects_no_rows_and_writes_smclarifys_output() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(
        dir.path(),
        json!([{"name_or_index": "sex", "value_or_threshold": [0.5]}]),
        json!([1]),
    );
    let out_dir = dir.path().join("out");
    let out = run_job(&config, &fixtures().join("german.csv"), &out_dir);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "facet sex: value 0.5 selects no rows; {SEX_VALUES}"
        )),
        "{stderr}"
    );
    let want = read_json(&fixtures().join("expected/german_empty_facet.smclarify.json"));
    let got = read_json(&out_dir.join("analysis.json"));
    assert_close(
        &got["pre_training_bias_metrics"],
        &want["pre_training_bias_metrics"],
        "pre_training_bias_metrics",
    );
}

#[test]
fn run_names_a_label_value_that_selects_no_rows() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(
        dir.path(),
        json!([{"name_or_index": "sex", "value_or_threshold": ["female"]}]),
        json!([5]),
    );
    let out = run_job(
        &config,
        &fixtures().join("german.csv"),
        &dir.path().join("out"),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "label risk: value 5 selects no rows; the column's values are 0 (300), 1 (700)"
        ),
        "{stderr}"
    );
}

#[test]
fn check_calls_an_empty_facet_value_not_ready() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(
        dir.path(),
        json!([
            {"name_or_index": "sex", "value_or_threshold": [0.5]},
            {"name_or_index": "age", "value_or_threshold": [40]}
        ]),
        json!([1]),
    );
    let out = openclarify(&[
        "check",
        "--config",
        config.to_str().unwrap(),
        "--data",
        fixtures().join("german.csv").to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "pre_training_bias  NOT READY: facet sex: value 0.5 selects no rows; {SEX_VALUES}"
        )),
        "{stdout}"
    );
    // The facet whose threshold selects rows is not named.
    assert!(!stdout.contains("facet age:"), "{stdout}");
}
