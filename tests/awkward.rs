//! The awkward-input catalogue (`test-fixtures/awkward/`, described in its
//! README): every case runs through the real binary and must end as its
//! `expect.json` says — the same bias sections as smclarify gave (stored by
//! `scripts/gen-awkward-expected.sh`), or exit code 1 with a message that
//! names the problem. All cases run before anything fails, so one run lists
//! every mismatch.

mod common;

use common::*;
use serde_json::Value as Json;
use std::path::Path;

/// The sections of `analysis.json` that smclarify computes.
const BIAS_SECTIONS: [&str; 2] = ["pre_training_bias_metrics", "post_training_bias_metrics"];

#[test]
fn every_case_ends_as_its_manifest_says() {
    let catalogue = fixtures().join("awkward");
    let mut cases: Vec<_> = std::fs::read_dir(&catalogue)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.join("expect.json").is_file())
        .collect();
    cases.sort();
    assert!(cases.len() >= 40, "only {} cases", cases.len());
    let problems: Vec<String> = cases
        .iter()
        .flat_map(|case| {
            let name = case.file_name().unwrap().to_string_lossy().into_owned();
            check_case(case)
                .into_iter()
                .map(move |problem| format!("{name}: {problem}"))
        })
        .collect();
    assert!(
        problems.is_empty(),
        "{} of {} cases went wrong:\n{}",
        problems.len(),
        cases.len(),
        problems.join("\n")
    );
}

/// Runs one case and returns what differs from its manifest (empty: as expected).
fn check_case(case: &Path) -> Vec<String> {
    let expect = read_json(&case.join("expect.json"));
    let work = tempfile::tempdir().unwrap();
    let out_dir = work.path().join("out");
    let data = case.join(expect["data"].as_str().expect("expect.json names its data"));
    let run = run_job(&case.join("analysis_config.json"), &data, &out_dir);
    let stderr = String::from_utf8_lossy(&run.stderr);
    let analysis = out_dir.join("analysis.json");
    match expect["outcome"].as_str() {
        Some("matches smclarify") => {
            if !run.status.success() {
                return vec![format!("failed ({}): {stderr}", run.status)];
            }
            let got = read_json(&analysis);
            let want = read_json(&case.join("expected.smclarify.json"));
            BIAS_SECTIONS
                .iter()
                .filter(|section| want.get(section).is_some())
                .flat_map(|section| json_differences(&got[section], &want[section], section))
                .collect()
        }
        Some("fails") => {
            let wanted = expect["message"]
                .as_str()
                .expect("a failing case names its message");
            let message = std::fs::read_to_string(work.path().join("message")).unwrap_or_default();
            let mut problems = Vec::new();
            if run.status.code() != Some(1) {
                problems.push(format!(
                    "exit status {} (want 1); stderr: {stderr}",
                    run.status
                ));
            }
            if !message.starts_with("ClientError: ") || !message.contains(wanted) {
                problems.push(format!("message {message:?} lacks {wanted:?}"));
            }
            if analysis.exists() {
                problems.push("left an analysis.json behind".into());
            }
            problems
        }
        other => vec![format!("unknown outcome {other:?} in expect.json")],
    }
}

/// The manifest and the stored smclarify output agree: a case that must
/// match smclarify has its expected output, and no failing case has one.
#[test]
fn expected_outputs_are_stored_for_exactly_the_matching_cases() {
    for entry in std::fs::read_dir(fixtures().join("awkward")).unwrap() {
        let case = entry.unwrap().path();
        if !case.is_dir() {
            continue;
        }
        let expect: Json = read_json(&case.join("expect.json"));
        let matches = expect["outcome"] == "matches smclarify";
        assert_eq!(
            case.join("expected.smclarify.json").exists(),
            matches,
            "{}: run scripts/gen-awkward-expected.sh",
            case.display()
        );
    }
}
