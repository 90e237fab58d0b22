//! Every dataset format Clarify reads gives the same result: the German
//! credit records as JSON Lines, a JSON document, Parquet, CSV without a
//! header row and gzipped CSV part files (`test-fixtures/formats/`, made by
//! `scripts/gen-format-fixtures.py`) give exactly the plain CSV run's
//! `pre_training_bias_metrics`, which in turn match smclarify's.

mod common;

use common::*;
use serde_json::Value as Json;
use std::path::Path;

/// The cases in `test-fixtures/formats/`; each holds `analysis_config.json`
/// and `data` (a file or a folder of part files).
const CASES: &[&str] = &[
    "csv_gzip_parts",
    "csv_no_header",
    "json",
    "jsonlines",
    #[cfg(feature = "parquet")]
    "parquet",
];

/// Runs a job and returns its `pre_training_bias_metrics`.
fn pre_training_metrics(config: &Path, data: &Path) -> Json {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    let out = run_job(config, data, &out_dir);
    assert!(
        out.status.success(),
        "{}: {}",
        config.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    read_json(&out_dir.join("analysis.json"))["pre_training_bias_metrics"].take()
}

/// No case folder goes untested (or silently disappears).
#[test]
fn every_format_case_is_listed() {
    let mut on_disk: Vec<String> = std::fs::read_dir(fixtures().join("formats"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| cfg!(feature = "parquet") || name != "parquet")
        .collect();
    on_disk.sort();
    assert_eq!(on_disk, CASES);
}

/// Each format's metrics equal the CSV run's bit for bit, and smclarify's.
#[test]
fn every_format_gives_the_csv_result() {
    let dir = tempfile::tempdir().unwrap();
    let csv = pre_training_metrics(
        &demo_config(dir.path(), &["pre_training_bias"]),
        &fixtures().join("german.csv"),
    );
    let smclarify = read_json(&fixtures().join("demo/expected.smclarify.json"));
    assert_close(
        &csv,
        &smclarify["pre_training_bias_metrics"],
        "csv: pre_training_bias_metrics",
    );
    let mut differ = Vec::new();
    for case in CASES {
        let dir = fixtures().join("formats").join(case);
        let got = pre_training_metrics(&dir.join("analysis_config.json"), &dir.join("data"));
        if got != csv {
            differ.push(format!(
                "{case}:\n{}",
                serde_json::to_string_pretty(&got).unwrap()
            ));
        }
    }
    assert!(
        differ.is_empty(),
        "differ from the CSV run:\n{}",
        differ.join("\n")
    );
}
