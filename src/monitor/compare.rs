//! Current results against a baseline `analysis.json`: the checks Model
//! Monitor runs after a Clarify job, and `constraint_violations.json`.
//!
//! Two kinds of check (spec monitoring.md A.5, A.6):
//! - bias drift: every (stage, facet, facet value, metric) with numeric
//!   values in both files is violated when the current value is farther
//!   from ideal than the baseline's ([`bias_worse`]);
//! - feature-attribution drift: per label of `explanations.kernel_shap`,
//!   the nDCG of the current global SHAP values against the baseline's is
//!   violated below a threshold (0.9 by default).

use super::ndcg::ndcg_score;
use crate::error::{JobError, Result};
use crate::pyfmt;
use serde_json::{json, Map, Value as Json};
use std::path::{Path, PathBuf};

/// The file Model Monitor reads; written only when a check is violated.
pub const VIOLATIONS_FILE: &str = "constraint_violations.json";

/// AWS's nDCG threshold for feature-attribution drift.
pub const DEFAULT_NDCG_THRESHOLD: f64 = 0.9;

/// The sentence a failed Pipelines `ClarifyCheckStep` shows, after `ClientError: `.
pub const CHECK_FAILED: &str = "Clarify check failed. See violation report";

/// The bias sections of `analysis.json` with the stage name CloudWatch
/// and the report use, in the order `analysis.json` holds them.
pub const BIAS_SECTIONS: [(&str, &str); 2] = [
    ("post_training_bias_metrics", "Post-Training"),
    ("pre_training_bias_metrics", "Pre-training"),
];

/// What one check compared.
#[derive(Debug, Clone, PartialEq)]
pub enum Subject {
    /// A bias metric of one facet value.
    Bias {
        /// `post_training_bias_metrics` or `pre_training_bias_metrics`.
        section: String,
        /// The facet's `name_or_index`.
        facet: String,
        /// The facet value as `analysis.json` prints it.
        facet_value: String,
        /// The metric's short name (`DPPL`...).
        metric: String,
    },
    /// The global SHAP values of one model output.
    Attribution {
        /// The `kernel_shap` key (`label0`, or a `label_headers` value).
        label: String,
    },
}

/// One check: the two values as Python prints them, and the verdict.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    /// What was compared.
    pub subject: Subject,
    /// The baseline value (for attributions: the threshold).
    pub baseline: String,
    /// The current value (for attributions: the nDCG).
    pub current: String,
    /// Whether the current value violates the baseline.
    pub violated: bool,
}

impl Check {
    /// The `constraint_violations.json` entry for this check, keys in the
    /// order of AWS's documented schema.
    pub fn violation(&self) -> Json {
        match &self.subject {
            Subject::Bias {
                facet,
                facet_value,
                metric,
                ..
            } => json!({
                "facet": facet,
                "facet_value": facet_value,
                "metric_name": metric,
                "constraint_check_type": "bias_drift_check",
                "description": format!(
                    "Metric value {} doesn't meet the baseline constraint requirement {}",
                    self.current, self.baseline
                ),
            }),
            Subject::Attribution { label } => json!({
                "label": label,
                "metric_name": "shap",
                "constraint_check_type": "feature_attribution_drift_check",
                "description": format!(
                    "Feature attribution drift {} exceeds threshold {}",
                    self.current, self.baseline
                ),
            }),
        }
    }
}

/// Every check of `current` against `baseline`, in `analysis.json` order.
#[derive(Debug, Clone, Default)]
pub struct Comparison {
    /// The checks made, violated or not.
    pub checks: Vec<Check>,
}

impl Comparison {
    /// The violated checks.
    pub fn violations(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| c.violated)
    }

    /// The `constraint_violations.json` document.
    pub fn to_json(&self) -> Json {
        self.to_json_with(|_, _| {})
    }

    /// The document, each violation entry passed to `annotate` with its
    /// check (to add fields beyond AWS's, on request).
    pub fn to_json_with(&self, annotate: impl Fn(&Check, &mut Map<String, Json>)) -> Json {
        let violations: Vec<Json> = self
            .violations()
            .map(|c| {
                let mut entry = c.violation();
                if let Some(map) = entry.as_object_mut() {
                    annotate(c, map);
                }
                entry
            })
            .collect();
        json!({"version": "1.0", "violations": violations})
    }

    /// Writes `constraint_violations.json` into `dir` when a check is
    /// violated (returning its path), and otherwise removes one an earlier
    /// run left there, so the folder never reports violations it does not have.
    pub fn write(&self, dir: &Path) -> Result<Option<PathBuf>> {
        self.write_with(dir, |_, _| {})
    }

    /// [`Comparison::write`], with violation entries annotated as in
    /// [`Comparison::to_json_with`].
    pub fn write_with(
        &self,
        dir: &Path,
        annotate: impl Fn(&Check, &mut Map<String, Json>),
    ) -> Result<Option<PathBuf>> {
        let path = dir.join(VIOLATIONS_FILE);
        if self.violations().next().is_none() {
            match std::fs::remove_file(&path) {
                Ok(()) => tracing::info!("removed {} left by an earlier run", path.display()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(JobError::client(format!(
                        "Cannot remove the earlier {}: {e}",
                        path.display()
                    )))
                }
            }
            return Ok(None);
        }
        std::fs::create_dir_all(dir).map_err(|e| {
            JobError::client(format!(
                "Cannot create the output folder {}: {e}",
                dir.display()
            ))
        })?;
        crate::layout::write_atomic(&path, &crate::output::pretty(&self.to_json_with(annotate)))?;
        Ok(Some(path))
    }
}

/// Compares two `analysis.json` documents.
pub fn compare(baseline: &Json, current: &Json, ndcg_threshold: f64) -> Result<Comparison> {
    let mut checks = Vec::new();
    for (section, _) in BIAS_SECTIONS {
        bias_checks(section, &baseline[section], &current[section], &mut checks);
    }
    attribution_checks(baseline, current, ndcg_threshold, &mut checks)?;
    Ok(Comparison { checks })
}

/// Whether `current` is worse than `baseline` for `metric`: farther from
/// 0, or for DI (whose ideal is 1) farther from 1. AWS documents only the
/// first; the DI rule is openclarify's choice (spec A.6: unverified).
pub fn bias_worse(metric: &str, current: f64, baseline: f64) -> bool {
    let ideal = if metric == "DI" { 1.0 } else { 0.0 };
    (current - ideal).abs() > (baseline - ideal).abs()
}

/// A metric value as a number: JSON numbers, and `"Infinity"` /
/// `"-Infinity"` as Clarify writes infinities. Null, an `error`, or any
/// other string is no value.
fn metric_value(metric: &Json) -> Option<f64> {
    if metric.get("error").is_some_and(|e| !e.is_null()) {
        return None;
    }
    match &metric["value"] {
        Json::Number(n) => n.as_f64(),
        Json::String(s) if s == "Infinity" => Some(f64::INFINITY),
        Json::String(s) if s == "-Infinity" => Some(f64::NEG_INFINITY),
        _ => None,
    }
}

/// One metric of a bias section, with where it sits.
pub(super) struct SectionMetric<'a> {
    /// The facet's `name_or_index`.
    pub(super) facet: &'a str,
    /// The facet value as `analysis.json` prints it.
    pub(super) value: String,
    /// The group's position in the facet's list.
    group: usize,
    /// The metric's short name.
    pub(super) name: &'a str,
    /// The metric's entry (`name`, `value`, maybe `error`).
    pub(super) metric: &'a Json,
}

/// The metrics of one section, in document order.
pub(super) fn section_metrics(section: &Json) -> Vec<SectionMetric<'_>> {
    let mut out = Vec::new();
    let Some(facets) = section["facets"].as_object() else {
        return out;
    };
    for (facet, groups) in facets {
        for (group, g) in groups.as_array().into_iter().flatten().enumerate() {
            let value = pyfmt::json_scalar(&g["value_or_threshold"]);
            for metric in g["metrics"].as_array().into_iter().flatten() {
                if let Some(name) = metric["name"].as_str() {
                    out.push(SectionMetric {
                        facet,
                        value: value.clone(),
                        group,
                        name,
                        metric,
                    });
                }
            }
        }
    }
    out
}

/// Whether a facet value is an interval, as a continuous facet's threshold
/// prints (`(40, 75]`): its upper end is the data's maximum, which differs
/// from window to window.
fn is_interval(value: &str) -> bool {
    value.starts_with(['(', '[']) && value.ends_with([')', ']'])
}

/// The baseline metric a current one is checked against: same facet, value
/// and metric; for a continuous facet (interval values on both sides), the
/// same facet, group position and metric, since the interval's end moves
/// with the data.
pub(super) fn counterpart<'a>(
    baseline: &'a [SectionMetric<'a>],
    m: &SectionMetric,
) -> Option<&'a SectionMetric<'a>> {
    let same = |b: &&SectionMetric| b.facet == m.facet && b.name == m.name;
    baseline
        .iter()
        .filter(same)
        .find(|b| b.value == m.value)
        .or_else(|| {
            baseline
                .iter()
                .filter(same)
                .find(|b| b.group == m.group && is_interval(&b.value) && is_interval(&m.value))
        })
}

fn bias_checks(section: &str, baseline: &Json, current: &Json, checks: &mut Vec<Check>) {
    let baseline = section_metrics(baseline);
    for m in section_metrics(current) {
        let Some(base) = counterpart(&baseline, &m) else {
            continue;
        };
        let (Some(c), Some(b)) = (metric_value(m.metric), metric_value(base.metric)) else {
            continue;
        };
        checks.push(Check {
            subject: Subject::Bias {
                section: section.into(),
                facet: m.facet.into(),
                facet_value: m.value,
                metric: m.name.into(),
            },
            baseline: pyfmt::json_scalar(&base.metric["value"]),
            current: pyfmt::json_scalar(&m.metric["value"]),
            violated: bias_worse(m.name, c, b),
        });
    }
}

fn attribution_checks(
    baseline: &Json,
    current: &Json,
    threshold: f64,
    checks: &mut Vec<Check>,
) -> Result<()> {
    let base_labels = &baseline["explanations"]["kernel_shap"];
    let Some(labels) = current["explanations"]["kernel_shap"].as_object() else {
        return Ok(());
    };
    for (label, entry) in labels {
        let Some(base) = base_labels.get(label) else {
            continue;
        };
        let key = format!("explanations.kernel_shap.{label}.global_shap_values");
        let (b, c) = aligned(
            &key,
            &base["global_shap_values"],
            &entry["global_shap_values"],
        )?;
        let ndcg = ndcg_score(&b, &c)
            .map_err(|e| JobError::client(format!("Cannot compare {key}: {e}")))?;
        checks.push(Check {
            subject: Subject::Attribution {
                label: label.clone(),
            },
            baseline: pyfmt::float(threshold),
            current: pyfmt::float(ndcg),
            violated: ndcg < threshold,
        });
    }
    Ok(())
}

/// The baseline's and the current attributions as two vectors aligned by
/// feature name, as absolute values (identical for the `mean_abs` and
/// `mean_sq` aggregates; for `median`, whose values can be negative, the
/// ranking by size is what drifts, and scikit-learn refuses negative
/// baselines). A feature missing from one side counts as 0 there.
fn aligned(key: &str, baseline: &Json, current: &Json) -> Result<(Vec<f64>, Vec<f64>)> {
    let (Some(base), Some(cur)) = (baseline.as_object(), current.as_object()) else {
        return Err(JobError::client(format!(
            "{key} must be an object of feature names to numbers in both the baseline and the current analysis.json."
        )));
    };
    let number = |map: &Map<String, Json>, name: &str| -> Result<f64> {
        match map.get(name) {
            None => Ok(0.0),
            Some(v) => v
                .as_f64()
                .map(f64::abs)
                .ok_or_else(|| JobError::client(format!("{key}.{name} is {v}, not a number."))),
        }
    };
    let names: Vec<&String> = base
        .keys()
        .chain(cur.keys().filter(|k| !base.contains_key(*k)))
        .collect();
    if names.len() != base.len() || names.len() != cur.len() {
        tracing::warn!(
            "{key}: the baseline and the current analysis explain different features; a feature missing from one side counts as 0 there"
        );
    }
    let mut b = Vec::with_capacity(names.len());
    let mut c = Vec::with_capacity(names.len());
    for name in names {
        b.push(number(base, name)?);
        c.push(number(cur, name)?);
    }
    Ok((b, c))
}

/// Reads an `analysis.json`; `role` (baseline, current) names it in errors.
pub fn read_analysis(path: &Path, role: &str) -> Result<Json> {
    let bytes = std::fs::read(path).map_err(|e| {
        JobError::client(format!(
            "Cannot read the {role} analysis {}: {e}",
            path.display()
        ))
    })?;
    serde_json::from_slice(&bytes).map_err(|e| {
        JobError::client(format!(
            "The {role} analysis {} is not valid JSON: {e}",
            path.display()
        ))
    })
}

/// Logs the one-line summary of a comparison (checks and violations).
pub fn log_summary(comparison: &Comparison, written: Option<&Path>) {
    let violated = comparison.violations().count();
    let line = format!(
        "{} checks, {violated} violations{}",
        comparison.checks.len(),
        written.map_or(String::new(), |p| format!(": {}", p.display()))
    );
    eprintln!("{line}");
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A one-facet bias section with the given (metric, value) pairs.
    fn bias(metrics: &[(&str, Json)]) -> Json {
        let metrics: Vec<Json> = metrics
            .iter()
            .map(|(name, value)| json!({"name": name, "description": "", "value": value}))
            .collect();
        json!({"label": "Target", "label_value_or_threshold": "1",
               "facets": {"Sex": [{"value_or_threshold": "0", "metrics": metrics}]}})
    }

    /// The violations of AWS's NB-bias-ep run (spec A.5, real output): the
    /// descriptions must be byte-identical, `Infinity` included.
    #[test]
    fn bias_descriptions_are_byte_identical_to_aws_output() {
        let baseline = json!({"version": "1.0", "post_training_bias_metrics": bias(&[
            ("CDDPL", json!(0.28176563733194276)),
            ("DAR", json!(-0.09508196721311479)),
            ("DCR", json!(0.027874251497005953)),
            ("TE", json!(2.916666666666667)),
        ])});
        let current = json!({"version": "1.0", "post_training_bias_metrics": bias(&[
            ("CDDPL", json!(0.3748947825295131)),
            ("DAR", json!(-0.34693877551020413)),
            ("DCR", json!(-0.07650793650793647)),
            ("TE", json!("Infinity")),
        ])});
        let comparison = compare(&baseline, &current, DEFAULT_NDCG_THRESHOLD).unwrap();
        let doc = comparison.to_json();
        let descriptions: Vec<&str> = doc["violations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["description"].as_str().unwrap())
            .collect();
        assert_eq!(
            descriptions,
            [
                "Metric value 0.3748947825295131 doesn't meet the baseline constraint requirement 0.28176563733194276",
                "Metric value -0.34693877551020413 doesn't meet the baseline constraint requirement -0.09508196721311479",
                "Metric value -0.07650793650793647 doesn't meet the baseline constraint requirement 0.027874251497005953",
                "Metric value Infinity doesn't meet the baseline constraint requirement 2.916666666666667",
            ]
        );
        assert_eq!(
            doc["violations"][3],
            json!({"facet": "Sex", "facet_value": "0", "metric_name": "TE",
                   "constraint_check_type": "bias_drift_check",
                   "description": descriptions[3]})
        );
        assert_eq!(doc["version"], "1.0");
    }

    /// AWS's worked example (baseline DPPL 0.2: 0.1 passes, -0.3 fails),
    /// equal values pass, DI is judged from 1, and metrics with an error
    /// or a null value in either file are not checked.
    #[test]
    fn bias_rules() {
        let baseline = json!({"pre_training_bias_metrics": bias(&[
            ("CI", json!(0.2)), ("DPL", json!(0.2)), ("KL", json!(0.5)),
            ("LP", json!(0.1)), ("TVD", json!(0.1)),
        ]), "post_training_bias_metrics": bias(&[
            ("DI", json!(0.8)), ("DPPL", json!("-Infinity")),
        ])});
        let mut current = json!({"pre_training_bias_metrics": bias(&[
            ("CI", json!(0.1)), ("DPL", json!(-0.3)), ("KL", json!(0.5)),
            ("LP", json!(null)), ("TVD", json!(9.0)),
        ]), "post_training_bias_metrics": bias(&[
            ("DI", json!(1.15)), ("DPPL", json!(3.0)),
        ])});
        current["pre_training_bias_metrics"]["facets"]["Sex"][0]["metrics"][4]["error"] =
            json!("Label column has one value");
        let comparison = compare(&baseline, &current, DEFAULT_NDCG_THRESHOLD).unwrap();
        let verdicts: Vec<(String, bool)> = comparison
            .checks
            .iter()
            .map(|c| match &c.subject {
                Subject::Bias { metric, .. } => (metric.clone(), c.violated),
                other => panic!("{other:?}"),
            })
            .collect();
        let expected = [
            ("DI", false),
            ("DPPL", false),
            ("CI", false),
            ("DPL", true),
            ("KL", false),
        ];
        let expected: Vec<(String, bool)> =
            expected.iter().map(|(m, v)| (m.to_string(), *v)).collect();
        assert_eq!(verdicts, expected);
        assert!(bias_worse("DI", 0.5, 0.8));
        assert!(!bias_worse("DI", 1.1, 0.8));
    }

    fn shap(label: &str, values: &[(&str, f64)]) -> Json {
        let named: Map<String, Json> = values
            .iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect();
        json!({"explanations": {"kernel_shap": {label: {"global_shap_values": named, "expected_value": 0.5}}}})
    }

    /// The documentation's example (nDCG 0.687639624122622 < 0.9) gives
    /// AWS's description; features are aligned by name, not position.
    #[test]
    fn attribution_drift_uses_ndcg_by_feature_name() {
        let baseline = shap(
            "label0",
            &[("SAT", 0.70), ("GPA", 0.50), ("ClassRank", 0.05)],
        );
        let current = shap(
            "label0",
            &[("ClassRank", 0.70), ("GPA", 0.20), ("SAT", 0.10)],
        );
        let comparison = compare(&baseline, &current, DEFAULT_NDCG_THRESHOLD).unwrap();
        assert_eq!(
            comparison.to_json()["violations"],
            json!([{"label": "label0", "metric_name": "shap",
                    "constraint_check_type": "feature_attribution_drift_check",
                    "description": "Feature attribution drift 0.687639624122622 exceeds threshold 0.9"}])
        );
        let relaxed = compare(&baseline, &current, 0.5).unwrap();
        assert_eq!(relaxed.violations().count(), 0);
        assert_eq!(relaxed.checks.len(), 1);
        // A label only one side has is not checked.
        let other = shap("label1", &[("SAT", 0.1), ("GPA", 0.2)]);
        assert!(compare(&baseline, &other, 0.9).unwrap().checks.is_empty());
    }

    /// A continuous facet's interval ends at the data's maximum, so the
    /// baseline's `(40, 75]` is checked against the current `(40, 80]`.
    #[test]
    fn continuous_facets_match_by_position() {
        let section = |value: &str, dppl: f64| {
            json!({"post_training_bias_metrics": {"facets": {"age": [{"value_or_threshold": value,
                "metrics": [{"name": "DPPL", "value": dppl}]}]}}})
        };
        let comparison =
            compare(&section("(40, 75]", 0.1), &section("(40, 80]", 0.3), 0.9).unwrap();
        assert_eq!(comparison.violations().count(), 1);
        assert_eq!(
            comparison.to_json()["violations"][0]["facet_value"],
            "(40, 80]"
        );
        let categorical = compare(&section("a", 0.1), &section("b", 0.3), 0.9).unwrap();
        assert!(categorical.checks.is_empty());
    }

    #[test]
    fn single_feature_fails_with_sklearns_sentence() {
        let one = shap("label0", &[("SAT", 0.70)]);
        let e = compare(&one, &one, 0.9).unwrap_err();
        assert_eq!(
            e.to_string(),
            "ClientError: Cannot compare explanations.kernel_shap.label0.global_shap_values: Computing NDCG is only meaningful when there is more than 1 document. Got 1 instead."
        );
    }

    #[test]
    fn no_violation_writes_no_file_and_removes_a_stale_one() {
        let dir = tempfile::tempdir().unwrap();
        let stale = dir.path().join(VIOLATIONS_FILE);
        std::fs::write(&stale, "{}").unwrap();
        let same = shap("label0", &[("SAT", 0.70), ("GPA", 0.50)]);
        let comparison = compare(&same, &same, 0.9).unwrap();
        assert_eq!(comparison.write(dir.path()).unwrap(), None);
        assert!(!stale.exists());
    }
}
