//! `drift_report.html`: baseline and current side by side for every check,
//! the violated ones first and marked, written next to `analysis.json`
//! when a monitoring execution has a baseline. (The Clarify reports stay
//! the processing job's; this page is the comparison.)

use super::compare::{Check, Comparison, Subject};
use crate::error::Result;
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

/// The HTML page for a comparison.
pub fn render(comparison: &Comparison, title: &str) -> String {
    let mut rows: Vec<&Check> = comparison.checks.iter().collect();
    // Stable: violated first, each group in analysis.json order.
    rows.sort_by_key(|c| !c.violated);
    let violated = comparison.violations().count();
    let mut html = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>{t}</title><style>{STYLE}</style></head><body><h1>{t}</h1><p>{} checks, <strong>{violated} violated</strong>. Bias: violated when the current value is farther from ideal (0; 1 for DI) than the baseline's. Attribution: violated when nDCG is below the threshold.</p><div class=\"wrap\"><table><thead><tr><th>verdict</th><th>stage</th><th>facet / label</th><th>facet value</th><th>metric</th><th>baseline</th><th>current</th></tr></thead><tbody>",
        comparison.checks.len(),
        t = escape(title),
    );
    for check in rows {
        let [stage, facet, value, metric] = subject_cells(check);
        let (class, verdict) = match check.violated {
            true => (" class=\"v\"", "violated"),
            false => ("", "ok"),
        };
        let _ = write!(
            html,
            "<tr{class}><td>{verdict}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            escape(&stage),
            escape(&facet),
            escape(&value),
            escape(&metric),
            escape(&check.baseline),
            escape(&check.current)
        );
    }
    html.push_str("</tbody></table></div></body></html>\n");
    html
}

/// Writes the page into `dir`; returns its path.
pub fn write(comparison: &Comparison, dir: &Path) -> Result<PathBuf> {
    let path = dir.join(FILE_NAME);
    crate::layout::write_atomic(
        &path,
        render(comparison, "Drift against the baseline").as_bytes(),
    )?;
    Ok(path)
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
        let html = render(&comparison, "t");
        let dppl = html.find("<td>DPPL</td>").unwrap();
        let ad = html.find("<td>AD</td>").unwrap();
        assert!(dppl < ad);
        assert!(html.contains("<tr class=\"v\"><td>violated</td><td>post-training</td>"));
        assert!(html.contains("2 checks, <strong>1 violated</strong>"));
    }
}
