//! CloudWatch metric records (spec monitoring.md A.7): what a Model Monitor
//! container writes to `/opt/ml/output/metrics/cloudwatch` for the platform
//! to publish when `publish_cloudwatch_metrics` is `Enabled`.
//!
//! Bias metrics are `bias_metric_<NAME>` with dimensions Endpoint,
//! MonitoringSchedule, BiasStage, Label, LabelValue, Facet and FacetValue;
//! attributions are `feature_<name>` and `ExpectedValue` with Endpoint,
//! MonitoringSchedule, ExplainabilityMethod, Label and ValueType.
//! Infinities are published as ±2.348543e108; errors and nulls are not.

use super::compare::BIAS_SECTIONS;
use crate::error::Result;
use chrono::{DateTime, Utc};
use serde_json::{json, Value as Json};
use std::path::{Path, PathBuf};

/// What AWS publishes for an infinite metric value.
pub const INFINITY_VALUE: f64 = 2.348543e108;

/// The file written in the metrics folder (one JSON record per line; the
/// platform's file name rule is not public).
pub const FILE_NAME: &str = "openclarify_metrics.jsonl";

/// The execution's identity, the dimensions every record carries.
#[derive(Debug, Clone, Default)]
pub struct Execution {
    /// The monitored endpoint (absent for batch transform).
    pub endpoint: Option<String>,
    /// The monitoring schedule.
    pub schedule: Option<String>,
    /// The record timestamp (the window's end, or now).
    pub timestamp: DateTime<Utc>,
}

impl Execution {
    fn record(&self, name: String, value: f64, dimensions: &[(&str, &str)]) -> Json {
        let mut dims = Vec::new();
        if let Some(e) = &self.endpoint {
            dims.push(json!({"Name": "Endpoint", "Value": e}));
        }
        if let Some(s) = &self.schedule {
            dims.push(json!({"Name": "MonitoringSchedule", "Value": s}));
        }
        dims.extend(
            dimensions
                .iter()
                .map(|(n, v)| json!({"Name": n, "Value": v})),
        );
        json!({
            "MetricName": name,
            "Timestamp": self.timestamp.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            "Dimensions": dims,
            "Value": value,
        })
    }
}

/// A metric value as published: numbers, infinities as ±2.348543e108;
/// `None` for null, errors and anything else.
fn published(metric: &Json) -> Option<f64> {
    if metric.get("error").is_some_and(|e| !e.is_null()) {
        return None;
    }
    match &metric["value"] {
        Json::Number(n) => n.as_f64(),
        Json::String(s) if s == "Infinity" => Some(INFINITY_VALUE),
        Json::String(s) if s == "-Infinity" => Some(-INFINITY_VALUE),
        _ => None,
    }
}

/// Every record for an `analysis.json` document.
pub fn records(analysis: &Json, execution: &Execution) -> Vec<Json> {
    let mut out = Vec::new();
    for (key, stage) in BIAS_SECTIONS {
        let section = &analysis[key];
        let label = crate::pyfmt::json_scalar(&section["label"]);
        let label_value = crate::pyfmt::json_scalar(&section["label_value_or_threshold"]);
        for (facet, groups) in section["facets"].as_object().into_iter().flatten() {
            for group in groups.as_array().into_iter().flatten() {
                let facet_value = crate::pyfmt::json_scalar(&group["value_or_threshold"]);
                for metric in group["metrics"].as_array().into_iter().flatten() {
                    let (Some(name), Some(value)) = (metric["name"].as_str(), published(metric))
                    else {
                        continue;
                    };
                    out.push(execution.record(
                        format!("bias_metric_{name}"),
                        value,
                        &[
                            ("BiasStage", stage),
                            ("Label", &label),
                            ("LabelValue", &label_value),
                            ("Facet", facet),
                            ("FacetValue", &facet_value),
                        ],
                    ));
                }
            }
        }
    }
    let shap = &analysis["explanations"]["kernel_shap"];
    for (label, entry) in shap.as_object().into_iter().flatten() {
        let dims = |value_type| {
            [
                ("ExplainabilityMethod", "KernelShap"),
                ("Label", label.as_str()),
                ("ValueType", value_type),
            ]
        };
        for (feature, value) in entry["global_shap_values"]
            .as_object()
            .into_iter()
            .flatten()
        {
            if let Some(v) = value.as_f64() {
                out.push(execution.record(
                    format!("feature_{feature}"),
                    v,
                    &dims("GlobalShapValues"),
                ));
            }
        }
        if let Some(v) = entry["expected_value"].as_f64() {
            out.push(execution.record("ExpectedValue".into(), v, &dims("ExpectedValue")));
        }
    }
    out
}

/// Writes the records as JSON Lines into `dir`; returns the file.
pub fn write(dir: &Path, records: &[Json]) -> Result<PathBuf> {
    let path = dir.join(FILE_NAME);
    let mut text = Vec::new();
    for r in records {
        text.extend(serde_json::to_vec(r).expect("JSON serialises"));
        text.push(b'\n');
    }
    crate::layout::write_atomic(&path, &text)?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bias_and_attribution_records_follow_awss_names_and_dimensions() {
        let analysis = json!({
            "post_training_bias_metrics": {"label": "Target", "label_value_or_threshold": "1",
                "facets": {"Sex": [{"value_or_threshold": "0", "metrics": [
                    {"name": "TE", "value": "Infinity"},
                    {"name": "FT", "value": null, "error": "no rows"},
                    {"name": "DPPL", "value": -0.25}]}]}},
            "explanations": {"kernel_shap": {"label0": {
                "global_shap_values": {"Age": 0.5}, "expected_value": 0.25}}}
        });
        let execution = Execution {
            endpoint: Some("ep".into()),
            schedule: Some("sched".into()),
            timestamp: "2019-11-26T03:00:00Z".parse().unwrap(),
        };
        let got = records(&analysis, &execution);
        assert_eq!(got.len(), 4);
        assert_eq!(
            got[0],
            json!({"MetricName": "bias_metric_TE", "Timestamp": "2019-11-26T03:00:00Z",
                   "Dimensions": [{"Name": "Endpoint", "Value": "ep"},
                                  {"Name": "MonitoringSchedule", "Value": "sched"},
                                  {"Name": "BiasStage", "Value": "Post-Training"},
                                  {"Name": "Label", "Value": "Target"},
                                  {"Name": "LabelValue", "Value": "1"},
                                  {"Name": "Facet", "Value": "Sex"},
                                  {"Name": "FacetValue", "Value": "0"}],
                   "Value": 2.348543e108})
        );
        assert_eq!(got[1]["Value"], json!(-0.25));
        assert_eq!(got[2]["MetricName"], "feature_Age");
        assert_eq!(
            got[2]["Dimensions"][4],
            json!({"Name": "ValueType", "Value": "GlobalShapValues"})
        );
        assert_eq!(got[3]["MetricName"], "ExpectedValue");
        assert_eq!(
            got[3]["Dimensions"][2],
            json!({"Name": "ExplainabilityMethod", "Value": "KernelShap"})
        );
    }
}
