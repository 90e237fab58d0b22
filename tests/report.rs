//! The report files end to end: the demo writes all three, a full
//! `analysis.json` (every section, two SHAP labels, PDP) renders in every
//! format, and a report that cannot be written leaves the job successful.
//! `scripts/check-report.sh` adds the checks that need Python or poppler.

mod common;

use common::*;
use openclarify::config::ReportConfig;
use openclarify::report::{write_reports, RunSummary};
use std::path::Path;
use std::time::{Duration, SystemTime};

/// Asserts the page loads nothing: no scripts, stylesheets, fonts or
/// images from anywhere, and no URL but the SVG namespace.
fn assert_self_contained(html: &str) {
    for fetch in [
        "<script", "<link", "src=", "@import", "url(", "<iframe", "<img",
    ] {
        assert!(!html.contains(fetch), "the page contains {fetch}");
    }
    let urls = html.matches("http://").count() + html.matches("https://").count();
    let namespaces = html.matches("http://www.w3.org/2000/svg").count();
    assert_eq!(urls, namespaces, "only SVG namespaces may be URLs");
}

fn assert_notebook(path: &Path) -> serde_json::Value {
    let notebook = read_json(path);
    assert_eq!(notebook["nbformat"], 4);
    assert!(notebook["cells"].as_array().is_some_and(|c| !c.is_empty()));
    notebook
}

fn assert_pdf(path: &Path) {
    let pdf = std::fs::read(path).unwrap();
    assert!(pdf.starts_with(b"%PDF-"), "not a PDF");
    assert!(pdf.windows(5).any(|w| w == b"%%EOF"), "PDF is truncated");
}

/// `openclarify demo` (its config has `methods.report`) writes the three
/// report files next to analysis.json.
#[test]
fn demo_writes_html_notebook_and_pdf() {
    let dir = tempfile::tempdir().unwrap();
    let out = openclarify(&["demo", "--output", dir.path().to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let output = dir.path().join("output");
    let html = std::fs::read_to_string(output.join("report.html")).unwrap();
    assert_self_contained(&html);
    assert!(html.contains("openclarify demo: German credit"));
    assert!(html.contains("sex = female vs all others") && html.contains("<svg"));
    assert!(
        html.contains("age &gt; 40 (up to 75) vs age ≤ 40"),
        "a threshold facet reads as a comparison"
    );
    // Findings first, then groups and performance from the job's counts.
    let order: Vec<usize> = [
        "id=\"findings\"",
        "id=\"groups\"",
        "id=\"model-performance\"",
        "id=\"pre-training-bias\"",
        "id=\"configuration\"",
        "id=\"guide\"",
    ]
    .iter()
    .map(|id| html.find(id).unwrap_or_else(|| panic!("no {id}")))
    .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}");
    assert!(
        html.contains("records in sex = female vs"),
        "group sizes under each facet heading"
    );
    assert!(
        html.contains("HTTP endpoint http:&#x2f;&#x2f;127.0.0.1:")
            && html.contains("(config endpoint_name openclarify-demo-model)"),
        "the model actually called is named"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("report.html") && stdout.contains("report.pdf"),
        "{stdout}"
    );
    assert!(
        html.contains("Partial dependence"),
        "the demo explains with PDP, so the report shows it"
    );
    assert_notebook(&output.join("report.ipynb"));
    assert_pdf(&output.join("report.pdf"));
}

/// Every section of `analysis.json` (bias, SHAP, PDP) renders, from a fixture shaped like real
/// Clarify output, including local SHAP values from out.csv.
#[test]
fn full_analysis_renders_every_section_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = fixtures().join("report");
    let analysis = read_json(&fixture.join("analysis_full.json"));
    let summary = RunSummary {
        dataset: "s3://bucket/german/train.csv".into(),
        rows: 1000,
        label: Some("risk".into()),
        positive_label_values: Some("1".into()),
        facets: vec![
            "sex (female)".into(),
            "housing (each value against the rest)".into(),
        ],
        endpoint: Some("SageMaker endpoint german-xgb".into()),
        started: SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
        elapsed: Duration::from_secs(42),
        version: "test".into(),
        groups: Vec::new(),
        histories: Vec::new(),
        parameters: Vec::new(),
    };
    let config = ReportConfig {
        name: "full".into(),
        title: Some("Everything".into()),
    };
    let local = fixture.join("explanations_shap/out.csv");
    let written =
        write_reports(&analysis, Some(&local), None, &summary, &config, dir.path()).unwrap();
    let names: Vec<_> = written
        .iter()
        .map(|p| p.file_name().unwrap().to_str().unwrap())
        .collect();
    assert_eq!(names, ["full.html", "full.ipynb", "full.pdf"]);

    let html = std::fs::read_to_string(dir.path().join("full.html")).unwrap();
    assert_self_contained(&html);
    for id in [
        "pre-training-bias",
        "post-training-bias",
        "feature-importance",
        "partial-dependence",
    ] {
        assert!(html.contains(&format!("id=\"{id}\"")), "no section {id}");
    }
    assert!(
        html.contains("housing = own vs all others")
            && html.contains("housing = rent vs all others")
    );
    assert!(
        html.contains("FlipTest does not support non-numeric columns"),
        "metric errors are shown"
    );
    assert!(html.contains("Global SHAP, label0") && html.contains("Global SHAP, label1"));
    assert!(
        html.contains("Local SHAP values, label1"),
        "box plot from out.csv"
    );
    assert!(
        html.contains("SHAP values per record, label0")
            && html.contains("(highest score), label1")
            && html.contains("(lowest score), label1"),
        "a beeswarm and example records from out.csv"
    );
    // The extremes as found by summing each row's label0 columns in Python.
    assert!(
        html.contains("Record 82 (highest score), label0")
            && html.contains("Record 133 (lowest score), label0")
    );
    assert!(
        !html.contains("e-5") && !html.contains("e-4"),
        "no scientific notation"
    );
    assert!(html.contains("Detected data type is not supported for PDP"));
    assert!(html.contains(">∞</td>"), "TE's \"Infinity\" reads as ∞");

    let notebook = assert_notebook(&dir.path().join("full.ipynb"));
    let svgs = notebook["cells"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["outputs"].as_array().cloned().unwrap_or_default())
        .filter(|o| o["data"]["image/svg+xml"].is_string())
        .count();
    // Bias: 3 pre + 1 post; SHAP: one chart for both labels, and per label
    // a box plot, a beeswarm and the waterfalls of the lowest and highest
    // score; PDP: 2.
    assert_eq!(svgs, 4 + 1 + 2 * 4 + 2);
    assert_pdf(&dir.path().join("full.pdf"));
}

/// A report that cannot be written is logged with its name; analysis.json
/// is complete and the job exits 0.
#[test]
fn unwritable_report_is_logged_and_the_job_succeeds() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    // A folder where report.html should go makes that one write fail.
    std::fs::create_dir_all(out_dir.join("report.html")).unwrap();
    let out = run_job(
        &demo_config(dir.path(), &["pre_training_bias", "report"]),
        &fixtures().join("german.csv"),
        &out_dir,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(read_json(&out_dir.join("analysis.json"))["pre_training_bias_metrics"].is_object());
    assert!(
        stderr.contains("report not written") && stderr.contains("report.html"),
        "{stderr}"
    );
    assert!(
        out_dir.join("report.pdf").is_file(),
        "the other formats are still written"
    );
}

/// With `global_shap_values_stderr` (the standard errors of the global SHAP
/// estimates) the bars get ±1 standard error whiskers and the table the
/// errors; without it, neither. The analysis.json is written by hand.
#[test]
fn standard_errors_of_global_shap_values_are_drawn_when_present() {
    let with_errors = serde_json::json!({"version": "1.0", "explanations": {"kernel_shap": {"label0": {
        "global_shap_values": {"duration": 0.05, "age": 0.02},
        "global_shap_values_stderr": {"duration": 0.004, "age": 0.001},
        "expected_value": 0.7}}}});
    let mut without = with_errors.clone();
    without["explanations"]["kernel_shap"]["label0"]
        .as_object_mut()
        .unwrap()
        .remove("global_shap_values_stderr");
    let render = |analysis: &serde_json::Value| {
        let dir = tempfile::tempdir().unwrap();
        let config = ReportConfig {
            name: "r".into(),
            title: None,
        };
        let summary = RunSummary {
            dataset: "german.csv".into(),
            rows: 1000,
            label: Some("risk".into()),
            positive_label_values: Some("1".into()),
            facets: Vec::new(),
            endpoint: None,
            started: SystemTime::UNIX_EPOCH,
            elapsed: Duration::from_secs(1),
            version: "test".into(),
            groups: Vec::new(),
            histories: Vec::new(),
            parameters: Vec::new(),
        };
        write_reports(analysis, None, None, &summary, &config, dir.path()).unwrap();
        assert_pdf(&dir.path().join("r.pdf"));
        let notebook = assert_notebook(&dir.path().join("r.ipynb"));
        let html = std::fs::read_to_string(dir.path().join("r.html")).unwrap();
        (html, notebook.to_string())
    };
    let (html, notebook) = render(&with_errors);
    assert!(html.contains(">0.05 ± 0.004</td>") && html.contains(">0.02 ± 0.001</td>"));
    assert!(html.contains("Whiskers span ±1 standard error"));
    assert!(
        notebook.contains("0.05 ± 0.004"),
        "the notebook's stored table"
    );
    let (html, _) = render(&without);
    assert!(!html.contains('±') && !html.contains("Whiskers"));
}
