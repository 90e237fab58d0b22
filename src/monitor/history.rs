//! `openclarify monitor-history`: drift over time. Reads a series of
//! monitoring outputs (each folder's `analysis.json`, in the order given)
//! and writes `history.html`: one line chart per bias metric and one per
//! label's nDCG across the windows, the baseline as a reference line, and
//! the windows where the check was violated listed under each chart.

use super::compare::{self, Subject};
use super::drift_report::{escape, STYLE};
use crate::error::{JobError, Result};
use crate::report::charts::{line_chart, Series};
use std::path::{Path, PathBuf};

/// The file written.
pub const FILE_NAME: &str = "history.html";

/// One metric (or one label's nDCG) over the windows.
#[derive(Debug, Clone, PartialEq)]
pub struct Track {
    /// What is tracked, e.g. `post-training sex=female DPPL`.
    pub title: String,
    /// The baseline value (the threshold for nDCG).
    pub baseline: f64,
    /// Per window: the value (NaN when absent) and whether it was violated.
    pub points: Vec<(f64, bool)>,
}

/// The tracks of `runs` (their `analysis.json`) against `baseline`.
pub fn tracks(
    baseline: &serde_json::Value,
    runs: &[serde_json::Value],
    ndcg_threshold: f64,
) -> Result<Vec<Track>> {
    let mut out: Vec<Track> = Vec::new();
    for (i, run) in runs.iter().enumerate() {
        for check in compare::compare(baseline, run, ndcg_threshold)?.checks {
            let title = match &check.subject {
                Subject::Bias {
                    section,
                    facet,
                    facet_value,
                    metric,
                } => format!(
                    "{} {facet}={facet_value} {metric}",
                    section.trim_end_matches("_bias_metrics").replace('_', "-")
                ),
                Subject::Attribution { label } => format!("attribution nDCG {label}"),
            };
            let number = |s: &str| s.parse::<f64>().unwrap_or(f64::NAN);
            let at = match out.iter().position(|t| t.title == title) {
                Some(at) => at,
                None => {
                    out.push(Track {
                        title,
                        baseline: number(&check.baseline),
                        points: vec![(f64::NAN, false); runs.len()],
                    });
                    out.len() - 1
                }
            };
            out[at].points[i] = (number(&check.current), check.violated);
        }
    }
    Ok(out)
}

/// Reads the runs, writes `history.html` into `output`; returns its path.
pub fn write(
    baseline: &Path,
    runs: &[PathBuf],
    output: &Path,
    ndcg_threshold: f64,
) -> Result<PathBuf> {
    let baseline = compare::read_analysis(baseline, "baseline")?;
    let documents = runs
        .iter()
        .map(|r| compare::read_analysis(&r.join("analysis.json"), "monitoring run"))
        .collect::<Result<Vec<_>>>()?;
    if documents.is_empty() {
        return Err(JobError::client(
            "--runs: give at least one monitoring output folder.",
        ));
    }
    let tracks = tracks(&baseline, &documents, ndcg_threshold)?;
    let names: Vec<String> = runs.iter().map(|r| r.display().to_string()).collect();
    let path = output.join(FILE_NAME);
    crate::layout::write_atomic(&path, render(&tracks, &names).as_bytes())?;
    Ok(path)
}

fn render(tracks: &[Track], windows: &[String]) -> String {
    let mut html = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>Monitoring history</title><style>{STYLE}</style></head><body><h1>Monitoring history</h1><p>{} windows, in the order given (x = window number):</p><ol start=\"0\">",
        windows.len()
    );
    for w in windows {
        html.push_str(&format!("<li>{}</li>", escape(w)));
    }
    html.push_str("</ol>");
    // Violated tracks first: they are what a reader came for.
    let mut ordered: Vec<&Track> = tracks.iter().collect();
    ordered.sort_by_key(|t| !t.points.iter().any(|p| p.1));
    let x: Vec<f64> = (0..windows.len()).map(|i| i as f64).collect();
    for track in ordered {
        let values: Vec<f64> = track.points.iter().map(|p| p.0).collect();
        let reference = vec![track.baseline; windows.len()];
        let finite = |v: &[f64]| v.iter().all(|x| x.is_finite());
        html.push_str(&format!("<h2>{}</h2>", escape(&track.title)));
        if finite(&values) && finite(&reference) {
            let chart = line_chart(
                &track.title,
                &x,
                &[
                    Series {
                        name: "window",
                        values: &values,
                    },
                    Series {
                        name: "baseline",
                        values: &reference,
                    },
                ],
                None,
                "window",
            );
            html.push_str(&format!("<div class=\"wrap\">{}</div>", chart.markup));
        } else {
            html.push_str("<p>Not drawn: a value is infinite or missing in some window.</p>");
        }
        let violated: Vec<String> = track
            .points
            .iter()
            .enumerate()
            .filter(|(_, p)| p.1)
            .map(|(i, p)| format!("{i} ({})", crate::pyfmt::float(p.0)))
            .collect();
        html.push_str(&match violated.is_empty() {
            true => "<p>No window violated the baseline.</p>".to_string(),
            false => format!(
                "<p><strong>Violated in windows:</strong> {}</p>",
                escape(&violated.join(", "))
            ),
        });
    }
    html.push_str("</body></html>\n");
    html
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(dppl: f64) -> serde_json::Value {
        json!({"post_training_bias_metrics": {"facets": {"sex": [{"value_or_threshold": "female",
            "metrics": [{"name": "DPPL", "value": dppl}]}]}}})
    }

    #[test]
    fn one_track_per_metric_with_violated_windows() {
        let tracks = tracks(&run(0.2), &[run(0.1), run(-0.3), run(0.2)], 0.9).unwrap();
        assert_eq!(
            tracks,
            [Track {
                title: "post-training sex=female DPPL".into(),
                baseline: 0.2,
                points: vec![(0.1, false), (-0.3, true), (0.2, false)],
            }]
        );
        let html = render(&tracks, &["a".into(), "b".into(), "c".into()]);
        assert!(html.contains("<svg"));
        assert!(html.contains("Violated in windows:</strong> 1 (-0.3)"));
    }
}
