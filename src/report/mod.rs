//! Reports a person reads: `<name>.html`, `<name>.ipynb` and `<name>.pdf`,
//! written next to `analysis.json` when the config has `methods.report`.
//!
//! # Layout
//! - [`document`] turns `analysis.json` (plus, when present, the local SHAP
//!   values in `explanations_shap/out.csv`) into one document of sections,
//!   tables and charts; the three formats render that same document.
//! - [`findings`] opens the report with what is outside its band;
//!   [`overview`] gives group sizes, base rates and model performance from
//!   the counts kept at job time; [`appendix`] lists the configuration.
//! - [`guide`] knows, for each bias metric, its range, where parity lies and
//!   what it means in a sentence.
//! - [`explanations`] builds the SHAP and PDP sections.
//! - [`text`] builds the text section: top units per text column and
//!   sample records shaded unit by unit (`explanations_shap/out.jsonl`).
//! - [`charts`] draws the SVG charts; [`local_shap`] reads `out.csv`,
//!   [`records`] the feature values of the records it draws, and
//!   [`local_explanations`] turns them into a beeswarm and example records'
//!   waterfalls ([`local_charts`]).
//! - [`time_series`] draws time-series explanations from their `out.jsonl`.
//! - [`html`], [`notebook`] and [`pdf`] render the formats; [`fonts`] holds
//!   the font the PDF embeds, since the production image has none.
//!
//! Every format is self-contained: the HTML page loads nothing from the
//! network, the notebook carries its tables and charts as stored outputs,
//! and the PDF embeds its font.

pub mod appendix;
pub mod charts;
pub mod document;
pub mod explanations;
pub mod findings;
pub mod fonts;
pub mod guide;
pub mod html;
pub mod images;
pub mod local_charts;
pub mod local_explanations;
pub mod local_shap;
pub mod notebook;
pub mod overview;
pub mod pdf;
pub mod records;
pub mod text;
pub mod time_series;

use crate::config::{AnalysisConfig, NameOrIndex, ReportConfig};
use crate::dataset::Dataset;
use anyhow::{bail, Context, Result};
use local_shap::LocalShap;
use records::FeatureValues;
use serde_json::Value as Json;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// Renders a report into one file format's bytes.
type Render = fn(&document::Report) -> Result<Vec<u8>>;

/// The title when `methods.report.title` is absent (the SDK's own default).
pub const DEFAULT_TITLE: &str = "Analysis Report";

/// What a run was, shown at the top of the report.
#[derive(Debug, Clone)]
pub struct RunSummary {
    /// Where the data came from (URI or local path).
    pub dataset: String,
    /// Records read.
    pub rows: u64,
    /// The label column, when configured.
    pub label: Option<String>,
    /// `label_values_or_threshold`, comma-separated.
    pub positive_label_values: Option<String>,
    /// Each facet with its configured values, e.g. `sex (female)`.
    pub facets: Vec<String>,
    /// The model that was asked for predictions, when one was.
    pub endpoint: Option<String>,
    /// When the job started.
    pub started: SystemTime,
    /// How long it took up to writing `analysis.json`.
    pub elapsed: Duration,
    /// openclarify's version.
    pub version: String,
    /// Records, base rates and confusion counts of each facet group the
    /// bias sections compared (empty without bias analysis).
    pub groups: Vec<crate::bias::groups::GroupCounts>,
    /// The target history of the first time-series items explained, by
    /// item id (JSON text), which the report draws before their forecasts
    /// (empty without time-series explanations).
    pub histories: Vec<(String, Vec<f64>)>,
    /// The effective analysis parameters, as (name, value), for the
    /// configuration appendix.
    pub parameters: Vec<(String, String)>,
}

impl RunSummary {
    /// The summary of a job run with `config` over the data at `dataset`.
    pub fn of_job(
        config: &AnalysisConfig,
        dataset: &Path,
        rows: u64,
        started: SystemTime,
        elapsed: Duration,
    ) -> RunSummary {
        let column = |c: &NameOrIndex| match c {
            NameOrIndex::Name(name) => name.clone(),
            NameOrIndex::Index(i) => format!("column {i}"),
        };
        let values = |v: &[crate::config::ConfigValue]| {
            v.iter().map(|x| x.py_str()).collect::<Vec<_>>().join(", ")
        };
        let facets = config
            .facet
            .iter()
            .flatten()
            .map(|f| match &f.value_or_threshold {
                Some(v) => format!("{} ({})", column(&f.name_or_index), values(v)),
                None => format!("{} (each value against the rest)", column(&f.name_or_index)),
            })
            .collect();
        let endpoint = config.predictor.as_ref().and_then(|p| {
            let url = p.endpoint_url.as_ref().map(|url| match &p.endpoint_name {
                Some(name) => format!("HTTP endpoint {url} (config endpoint_name {name})"),
                None => format!("HTTP endpoint {url}"),
            });
            url.or_else(|| {
                p.endpoint_name
                    .clone()
                    .map(|n| format!("SageMaker endpoint {n}"))
            })
            .or_else(|| {
                p.model_name
                    .clone()
                    .map(|m| format!("shadow endpoint of model {m}"))
            })
        });
        RunSummary {
            dataset: config
                .dataset_uri
                .clone()
                .unwrap_or_else(|| dataset.display().to_string()),
            rows,
            label: config.label.as_ref().map(column),
            positive_label_values: config.label_values_or_threshold.as_deref().map(values),
            facets,
            endpoint,
            started,
            elapsed,
            version: env!("CARGO_PKG_VERSION").to_string(),
            groups: Vec::new(),
            histories: Vec::new(),
            parameters: appendix::parameters(config),
        }
    }

    /// The start time in UTC, to the second.
    pub fn started_utc(&self) -> String {
        chrono::DateTime::<chrono::Utc>::from(self.started)
            .format("%Y-%m-%d %H:%M:%S UTC")
            .to_string()
    }

    /// A fixed summary for tests.
    #[cfg(test)]
    pub(crate) fn example() -> RunSummary {
        RunSummary {
            dataset: "german.csv".into(),
            rows: 1000,
            label: Some("risk".into()),
            positive_label_values: Some("1".into()),
            facets: vec!["sex (female)".into()],
            endpoint: None,
            started: SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
            elapsed: Duration::from_millis(1234),
            version: "0.0.0".into(),
            groups: Vec::new(),
            histories: Vec::new(),
            parameters: vec![("group_variable".into(), "job".into())],
        }
    }
}

/// Writes `<name>.html`, `<name>.ipynb` and `<name>.pdf` into `out_dir` from
/// `analysis` (the `analysis.json` document) and, when given, the local
/// SHAP values file `local_shap` (`explanations_shap/out.csv`) with the
/// `dataset` it explains (for the feature values of the records drawn).
///
/// Each format is attempted even if another fails; the error then names
/// every format that could not be written. Reports are a view of
/// `analysis.json`, so callers log the error and let the job succeed.
pub fn write_reports(
    analysis: &Json,
    local_shap: Option<&Path>,
    dataset: Option<&Dataset>,
    summary: &RunSummary,
    config: &ReportConfig,
    out_dir: &Path,
) -> Result<Vec<PathBuf>> {
    let name = config.name.as_str();
    if name.is_empty() || name.contains(['/', '\\']) || name == "." || name == ".." {
        bail!("methods.report.name {name:?} must be a plain file name (no folders)");
    }
    let local = local_shap.and_then(|path| {
        LocalShap::read(path, &shap_columns(analysis))
            .inspect_err(|e| tracing::warn!("the report leaves out local SHAP values: {e:#}"))
            .ok()
    });
    let local = local.map(|local| match dataset {
        Some(dataset) => match FeatureValues::read(dataset, &local.rows_drawn()) {
            Ok(values) => local.with_values(values),
            Err(e) => {
                tracing::warn!("the report's beeswarm is drawn without feature values: {e:#}");
                local
            }
        },
        None => local,
    });
    let title = config.title.as_deref().unwrap_or(DEFAULT_TITLE);
    let mut report = document::build(analysis, local.as_ref(), summary, title);
    report.sections.extend(images::section(analysis, out_dir));
    if let Some(text) = text::text_section(analysis, out_dir) {
        let after_shap = report
            .sections
            .iter()
            .position(|s| s.id == "feature-importance")
            .map_or(report.sections.len(), |i| i + 1);
        report.sections.insert(after_shap, text);
    }
    let renderers: [(&str, Render); 3] = [
        ("html", html::render),
        ("ipynb", notebook::render),
        ("pdf", pdf::render),
    ];
    let mut written = Vec::new();
    let mut failures = Vec::new();
    for (extension, render) in renderers {
        let path = out_dir.join(format!("{name}.{extension}"));
        let outcome = render(&report)
            .and_then(|bytes| {
                crate::layout::write_atomic(&path, &bytes).map_err(anyhow::Error::from)
            })
            .with_context(|| format!("{name}.{extension}"));
        match outcome {
            Ok(()) => written.push(path),
            Err(e) => failures.push(format!("{e:#}")),
        }
    }
    if failures.is_empty() {
        Ok(written)
    } else {
        bail!("could not write {}", failures.join("; "))
    }
}

/// The labels of `explanations.kernel_shap` and each one's features: the
/// columns of `out.csv` worth reading.
fn shap_columns(analysis: &Json) -> Vec<(&str, Vec<&str>)> {
    let labels = analysis
        .pointer("/explanations/kernel_shap")
        .and_then(Json::as_object);
    labels
        .into_iter()
        .flatten()
        .map(|(label, result)| {
            let features = result.get("global_shap_values").and_then(Json::as_object);
            (
                label.as_str(),
                features
                    .into_iter()
                    .flatten()
                    .map(|(f, _)| f.as_str())
                    .collect(),
            )
        })
        .collect()
}

/// A number as a reader wants it: four significant digits, no trailing
/// zeros, and never scientific notation: magnitudes under 0.0001 read
/// "< 0.0001", large ones are written out.
pub fn format_number(value: f64) -> String {
    if value.is_nan() {
        return "n/a".into();
    }
    if value.is_infinite() {
        return if value > 0.0 {
            "∞".into()
        } else {
            "-∞".into()
        };
    }
    let magnitude = value.abs();
    if magnitude == 0.0 {
        return "0".into();
    }
    if magnitude < 1e-4 {
        return if value > 0.0 {
            "< 0.0001".into()
        } else {
            "> -0.0001".into()
        };
    }
    if magnitude >= 1e6 {
        return format!("{value:.0}");
    }
    let decimals = (3 - magnitude.log10().floor() as i32).max(0) as usize;
    let text = format!("{value:.decimals$}");
    let text = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.')
    } else {
        &text
    };
    if text == "-0" {
        "0".into()
    } else {
        text.into()
    }
}

/// A share as a percentage with one decimal, e.g. `64.8 %`.
pub fn percent(share: f64) -> String {
    format!("{:.1} %", share * 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_keep_four_significant_digits() {
        assert_eq!(format_number(0.36932), "0.3693");
        assert_eq!(format_number(-0.0123456), "-0.01235");
        assert_eq!(format_number(12.3456), "12.35");
        assert_eq!(format_number(1.0), "1");
        assert_eq!(format_number(0.5), "0.5");
        assert_eq!(format_number(250000.0), "250000");
        assert_eq!(format_number(0.00001234), "< 0.0001");
        assert_eq!(format_number(-0.00006934), "> -0.0001");
        assert_eq!(format_number(12345678.9), "12345679");
        assert_eq!(format_number(f64::INFINITY), "∞");
        assert_eq!(format_number(f64::NAN), "n/a");
        assert_eq!(format_number(-0.00000), "0");
    }

    #[test]
    fn report_names_with_folders_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let config = ReportConfig {
            name: "../escape".into(),
            title: None,
        };
        let err = write_reports(
            &serde_json::json!({}),
            None,
            None,
            &RunSummary::example(),
            &config,
            dir.path(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("plain file name"), "{err}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn started_time_is_shown_in_utc() {
        assert_eq!(
            RunSummary::example().started_utc(),
            "2023-11-14 22:13:20 UTC"
        );
    }
}
