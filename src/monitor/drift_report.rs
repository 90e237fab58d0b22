//! `drift_report.html`: baseline and current side by side for every bias
//! metric and every label's attributions, the violated ones first and
//! marked, written next to `analysis.json` when a monitoring execution has
//! a baseline, and linked from the top of its `report.html`. (The Clarify
//! reports stay the processing job's; this page is the comparison.)

use super::compare::{
    counterpart, section_metrics, Check, Comparison, SectionMetric, Subject, BIAS_SECTIONS,
};
use crate::error::Result;
use crate::pyfmt;
use serde_json::Value as Json;
use std::fmt::Write;
use std::path::{Path, PathBuf};

/// The file name.
pub const FILE_NAME: &str = "drift_report.html";

/// Escapes text for HTML.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The page's style, shared with the history report.
pub const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:72rem;padding:0 1rem;color:#1f2328}\
table{border-collapse:collapse;width:100%;font-size:.9rem}th,td{border-bottom:1px solid #d0d7de;padding:.35rem .5rem;text-align:left}\
td.n{font-variant-numeric:tabular-nums;text-align:right}tr.v{background:#fff1f0}tr.v td:first-child{color:#b42318;font-weight:600}\
.wrap{overflow-x:auto}svg{max-width:100%;height:auto}";

/// What a check compares, as table cells: kind, facet / label, value, metric.
fn subject_cells(check: &Check) -> [String; 4] {
    match &check.subject {
        Subject::Bias {
            section,
            facet,
            facet_value,
            metric,
        } => [
            section
                .trim_end_matches("_bias_metrics")
                .replace('_', "-")
                .to_string(),
            facet.clone(),
            facet_value.clone(),
            metric.clone(),
        ],
        Subject::Attribution { label } => [
            "attribution".into(),
            label.clone(),
            String::new(),
            "nDCG (threshold)".into(),
        ],
    }
}

/// One table row: verdict, then the cells, the last two numeric.
struct Row {
    violated: bool,
    verdict: &'static str,
    cells: Vec<String>,
}

impl Row {
    fn html(&self, out: &mut String) {
        let class = if self.violated { " class=\"v\"" } else { "" };
        let _ = write!(out, "<tr{class}><td>{}</td>", self.verdict);
        let numeric = self.cells.len().saturating_sub(2);
        for (i, cell) in self.cells.iter().enumerate() {
            let n = if i >= numeric { " class=\"n\"" } else { "" };
            let _ = write!(out, "<td{n}>{}</td>", escape(cell));
        }
        out.push_str("</tr>");
    }
}

/// A table: its header cells after "verdict", and its rows (violated
/// first, each group in `analysis.json` order).
fn table(out: &mut String, headers: &[&str], mut rows: Vec<Row>) {
    rows.sort_by_key(|r| !r.violated);
    out.push_str("<div class=\"wrap\"><table><thead><tr><th>verdict</th>");
    for h in headers {
        let _ = write!(out, "<th>{h}</th>");
    }
    out.push_str("</tr></thead><tbody>");
    for row in &rows {
        row.html(out);
    }
    out.push_str("</tbody></table></div>");
}

/// A metric's value as the report shows it: the value as Python prints
/// it, or its error, or `null`.
fn shown(metric: Option<&SectionMetric>) -> String {
    let Some(m) = metric else {
        return "absent".into();
    };
    match (&m.metric["value"], m.metric["error"].as_str()) {
        (_, Some(error)) => format!("error: {error}"),
        (Json::Null, None) => "null".into(),
        (value, None) => pyfmt::json_scalar(value),
    }
}

/// The bias metrics no check compared (an error or null on either side,
/// or present on one side only), baseline and current side by side.
fn uncompared_bias(comparison: &Comparison, baseline: &Json, current: &Json) -> Vec<Row> {
    let mut rows = Vec::new();
    for (section, _) in BIAS_SECTIONS {
        let base = section_metrics(&baseline[section]);
        let cur = section_metrics(&current[section]);
        let stage = section.trim_end_matches("_bias_metrics").replace('_', "-");
        let checked = |m: &SectionMetric| {
            comparison.checks.iter().any(|c| {
                c.subject
                    == Subject::Bias {
                        section: section.into(),
                        facet: m.facet.into(),
                        facet_value: m.value.clone(),
                        metric: m.name.into(),
                    }
            })
        };
        let mut row = |m: &SectionMetric, b: Option<&SectionMetric>, c: Option<&SectionMetric>| {
            rows.push(Row {
                violated: false,
                verdict: "not compared",
                cells: vec![
                    stage.clone(),
                    m.facet.into(),
                    m.value.clone(),
                    m.name.into(),
                    shown(b),
                    shown(c),
                ],
            })
        };
        let mut matched = vec![false; base.len()];
        for m in &cur {
            let b = counterpart(&base, m);
            if let Some(i) = b.and_then(|b| base.iter().position(|x| std::ptr::eq(x, b))) {
                matched[i] = true;
            }
            if !checked(m) {
                row(m, b, Some(m));
            }
        }
        for (b, _) in base.iter().zip(&matched).filter(|(_, seen)| !**seen) {
            row(b, Some(b), None);
        }
    }
    rows
}

/// Every label's global SHAP values, feature by feature, baseline and
/// current side by side; the rows of a label whose nDCG check is
/// violated are marked.
fn attribution_rows(comparison: &Comparison, baseline: &Json, current: &Json) -> Vec<Row> {
    let mut rows = Vec::new();
    let labels = |doc: &Json| doc["explanations"]["kernel_shap"].clone();
    for label in keys_of_either(&labels(current), &labels(baseline)) {
        let violated = comparison.violations().any(|c| {
            c.subject
                == Subject::Attribution {
                    label: label.clone(),
                }
        });
        let values =
            |doc: &Json| doc["explanations"]["kernel_shap"][&label]["global_shap_values"].clone();
        let (b, c) = (values(baseline), values(current));
        let text = |v: &Json| match v {
            Json::Null => "absent".to_string(),
            v => pyfmt::json_scalar(v),
        };
        for feature in keys_of_either(&c, &b) {
            rows.push(Row {
                violated,
                verdict: if violated { "drifted" } else { "ok" },
                cells: vec![
                    label.clone(),
                    feature.clone(),
                    text(&b[&feature]),
                    text(&c[&feature]),
                ],
            });
        }
    }
    rows
}

/// The keys of two JSON objects: `first`'s in order, then those only
/// `second` has.
fn keys_of_either(first: &Json, second: &Json) -> Vec<String> {
    let keys = |doc: &Json| -> Vec<String> {
        doc.as_object()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    };
    let mut all = keys(first);
    let extra: Vec<String> = keys(second)
        .into_iter()
        .filter(|k| !all.contains(k))
        .collect();
    all.extend(extra);
    all
}

/// The HTML page: every check (baseline and current side by side,
/// violated first and marked), then the bias metrics no check compared,
/// then every label's attributions feature by feature.
pub fn render(comparison: &Comparison, baseline: &Json, current: &Json, title: &str) -> String {
    let violated = comparison.violations().count();
    let mut html = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>{t}</title><style>{STYLE}</style></head><body><h1>{t}</h1><p>{} checks, <strong>{violated} violated</strong>. Bias: violated when the current value is farther from ideal (0; 1 for DI) than the baseline's. Attribution: violated when nDCG is below the threshold.</p><h2>Checks</h2>",
        comparison.checks.len(),
        t = escape(title),
    );
    let checks = comparison
        .checks
        .iter()
        .map(|check| Row {
            violated: check.violated,
            verdict: if check.violated { "violated" } else { "ok" },
            cells: subject_cells(check)
                .into_iter()
                .chain([check.baseline.clone(), check.current.clone()])
                .collect(),
        })
        .collect();
    let headers = [
        "stage",
        "facet / label",
        "facet value",
        "metric",
        "baseline",
        "current",
    ];
    table(&mut html, &headers, checks);
    let uncompared = uncompared_bias(comparison, baseline, current);
    if !uncompared.is_empty() {
        html.push_str("<h2>Bias metrics not compared</h2><p>An error or null on either side, or a metric only one side has.</p>");
        table(&mut html, &headers, uncompared);
    }
    let attributions = attribution_rows(comparison, baseline, current);
    if !attributions.is_empty() {
        html.push_str("<h2>Feature attributions</h2><p>Global SHAP values per label; a drifted label's rows are marked.</p>");
        table(
            &mut html,
            &["label", "feature", "baseline", "current"],
            attributions,
        );
    }
    html.push_str("</body></html>\n");
    html
}

/// Writes the page into `dir` and links it from the top of the run's
/// `report.html` when there is one (call after the reports are written);
/// returns the page's path.
pub fn write(
    comparison: &Comparison,
    baseline: &Json,
    current: &Json,
    dir: &Path,
) -> Result<PathBuf> {
    let path = dir.join(FILE_NAME);
    let page = render(comparison, baseline, current, "Drift against the baseline");
    crate::layout::write_atomic(&path, page.as_bytes())?;
    let report = dir.join("report.html");
    if let Ok(html) = std::fs::read_to_string(&report) {
        crate::layout::write_atomic(&report, link_into(&html, comparison).as_bytes())?;
    }
    Ok(path)
}

/// `html` with a line naming the drift verdict and linking the drift page
/// inserted just after `<body…>`.
fn link_into(html: &str, comparison: &Comparison) -> String {
    let line = format!(
        "<p class=\"drift-link\"><strong>Monitoring against a baseline:</strong> {} checks, {} violated. <a href=\"{FILE_NAME}\">Baseline and current side by side</a>.</p>",
        comparison.checks.len(),
        comparison.violations().count()
    );
    let at = html
        .find("<body")
        .and_then(|b| html[b..].find('>').map(|e| b + e + 1))
        .unwrap_or(0);
    format!("{}{line}{}", &html[..at], &html[at..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn violated_checks_come_first_and_are_marked() {
        let check = |metric: &str, violated| Check {
            subject: Subject::Bias {
                section: "post_training_bias_metrics".into(),
                facet: "sex".into(),
                facet_value: "female".into(),
                metric: metric.into(),
            },
            baseline: "0.1".into(),
            current: if violated { "0.3" } else { "0.05" }.into(),
            violated,
        };
        let comparison = Comparison {
            checks: vec![check("AD", false), check("DPPL", true)],
        };
        let html = render(&comparison, &Json::Null, &Json::Null, "t");
        let dppl = html.find("<td>DPPL</td>").unwrap();
        let ad = html.find("<td>AD</td>").unwrap();
        assert!(dppl < ad);
        assert!(html.contains("<tr class=\"v\"><td>violated</td><td>post-training</td>"));
        assert!(html.contains("2 checks, <strong>1 violated</strong>"));
    }

    /// Metrics no check compared and every feature's attribution are on
    /// the page too, and the run's report links to it.
    #[test]
    fn shows_uncompared_metrics_and_every_attribution() {
        let doc = |ci: Json, shap: Json| {
            serde_json::json!({
                "post_training_bias_metrics": {"facets": {"sex": [{"value_or_threshold": "female",
                    "metrics": [{"name": "CI", "value": ci}]}]}},
                "explanations": {"kernel_shap": {"label0": {"global_shap_values": shap}}}
            })
        };
        let baseline = doc(
            serde_json::json!(0.25),
            serde_json::json!({"age": 0.5, "job": 0.1}),
        );
        let current = doc(Json::Null, serde_json::json!({"age": 0.05, "job": 0.3}));
        let comparison = Comparison {
            checks: vec![Check {
                subject: Subject::Attribution {
                    label: "label0".into(),
                },
                baseline: "0.9".into(),
                current: "0.7".into(),
                violated: true,
            }],
        };
        let html = render(&comparison, &baseline, &current, "t");
        assert!(html.contains(
            "<tr><td>not compared</td><td>post-training</td><td>sex</td><td>female</td><td>CI</td><td class=\"n\">0.25</td><td class=\"n\">null</td></tr>"
        ), "{html}");
        assert!(html.contains(
            "<tr class=\"v\"><td>drifted</td><td>label0</td><td>age</td><td class=\"n\">0.5</td><td class=\"n\">0.05</td></tr>"
        ), "{html}");
        let linked = link_into("<html><body class=\"x\"><h1>r</h1>", &comparison);
        assert!(linked.starts_with("<html><body class=\"x\"><p class=\"drift-link\">"));
        assert!(linked.contains("<a href=\"drift_report.html\">"));
    }
}
