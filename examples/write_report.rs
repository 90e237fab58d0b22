//! Writes the three report files for an existing `analysis.json`, to look
//! at a report without running a job (e.g. the fixture with every section):
//!
//! ```text
//! cargo run --release --example write_report -- test-fixtures/report/analysis_full.json out/ \
//!     test-fixtures/report/explanations_shap/out.csv
//! ```

use openclarify::config::ReportConfig;
use openclarify::report::{write_reports, RunSummary};
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1).map(PathBuf::from);
    let usage = "usage: write_report ANALYSIS_JSON OUT_DIR [LOCAL_SHAP_CSV]";
    let analysis_path = args.next().expect(usage);
    let out_dir = args.next().expect(usage);
    let local_shap = args.next();
    let analysis: serde_json::Value = serde_json::from_slice(&std::fs::read(&analysis_path)?)?;
    // Only analysis.json is known here, so the run summary says just that.
    let summary = RunSummary {
        dataset: format!("(results read from {})", analysis_path.display()),
        rows: 0,
        label: None,
        positive_label_values: None,
        facets: Vec::new(),
        endpoint: None,
        started: SystemTime::now(),
        elapsed: Duration::ZERO,
        histories: Vec::new(),
        version: env!("CARGO_PKG_VERSION").into(),
        groups: Vec::new(),
        parameters: Vec::new(),
    };
    let config = ReportConfig {
        name: "report".into(),
        title: Some("Report preview".into()),
    };
    for path in write_reports(
        &analysis,
        local_shap.as_deref(),
        None,
        &summary,
        &config,
        &out_dir,
    )? {
        println!("{}", path.display());
    }
    Ok(())
}
