//! The report as a document: sections of headings, paragraphs, tables and
//! charts, built once from `analysis.json`.
//!
//! The HTML page, the notebook and the PDF all render this one document,
//! so the three formats always say the same thing. Sections exist only for
//! results present in `analysis.json`; nothing here computes a metric.

use super::charts::{self, BiasBar, Series, Svg};
use super::guide::metric_guide;
use super::local_shap::LocalShap;
use super::{format_number, RunSummary};
use crate::layout::LOCAL_SHAP_FILE;
use serde::Serialize;
use serde_json::Value as Json;

/// The heading of the reading guide.
pub const GUIDE_HEADING: &str = "How to read this report";

/// The whole report.
#[derive(Debug, Serialize)]
pub struct Report {
    /// Title from `methods.report.title`.
    pub title: String,
    /// What was run, as a two-column table.
    pub summary: Table,
    /// How to read the report, one paragraph per entry, shown under
    /// [`GUIDE_HEADING`].
    pub guide: Vec<String>,
    /// One section per kind of result present.
    pub sections: Vec<Section>,
}

/// A top-level section, e.g. pre-training bias.
#[derive(Debug, Serialize)]
pub struct Section {
    /// Anchor for links (HTML) and the outline (PDF).
    pub id: String,
    /// Heading.
    pub title: String,
    /// Content in reading order.
    pub blocks: Vec<Block>,
}

/// One piece of content.
#[derive(Debug, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Block {
    /// A sub-heading, e.g. one facet value.
    Heading {
        /// Heading text.
        text: String,
    },
    /// Plain text.
    Paragraph {
        /// The text.
        text: String,
    },
    /// Something that could not be computed, with the reason.
    Notice {
        /// The reason, as `analysis.json` gives it.
        text: String,
    },
    /// A table.
    Table(Table),
    /// A chart.
    Chart(Chart),
}

/// A table of text cells.
#[derive(Debug, Serialize)]
pub struct Table {
    /// Column titles.
    pub columns: Vec<String>,
    /// Per column: whether it holds numbers (right-aligned).
    pub numeric: Vec<bool>,
    /// The rows.
    pub rows: Vec<Row>,
    /// Python expression (on `analysis`, the loaded `analysis.json`) giving
    /// the data shown, for the notebook's code cells.
    pub source: String,
}

/// A table row.
#[derive(Debug, Serialize)]
pub struct Row {
    /// One text per column.
    pub cells: Vec<String>,
    /// Whether the row deserves a reader's attention (a value outside its
    /// rule-of-thumb band, or an error); rendered highlighted.
    pub notable: bool,
}

/// A chart with its caption.
#[derive(Debug, Serialize)]
pub struct Chart {
    /// Caption under the chart.
    pub caption: String,
    /// The SVG.
    pub svg: Svg,
    /// Python expression giving the charted data (see [`Table::source`]).
    pub source: String,
}

/// Builds the report for `analysis` (an `analysis.json` document).
pub fn build(
    analysis: &Json,
    local: Option<&LocalShap>,
    summary: &RunSummary,
    title: &str,
) -> Report {
    let bias = [
        (
            "pre_training_bias_metrics",
            "pre-training-bias",
            "Pre-training bias: the data",
        ),
        (
            "post_training_bias_metrics",
            "post-training-bias",
            "Post-training bias: the model's predictions",
        ),
    ];
    let mut sections: Vec<Section> = bias
        .iter()
        .filter_map(|(key, id, title)| Some(bias_section(key, id, title, analysis.get(key)?)))
        .collect();
    let explanations = analysis.get("explanations");
    if let Some(shap) = explanations
        .and_then(|e| e.get("kernel_shap"))
        .and_then(Json::as_object)
    {
        sections.push(shap_section(shap, local));
    }
    if let Some(pdp) = explanations
        .and_then(|e| e.get("pdp"))
        .and_then(Json::as_array)
    {
        sections.push(pdp_section(pdp));
    }
    Report {
        title: title.to_string(),
        summary: summary_table(summary),
        guide: reading_guide(&sections),
        sections,
    }
}

fn summary_table(summary: &RunSummary) -> Table {
    let mut facts = vec![
        ("Dataset", summary.dataset.clone()),
        ("Records", summary.rows.to_string()),
    ];
    if let Some(label) = &summary.label {
        facts.push(("Label", label.clone()));
    }
    if let Some(values) = &summary.positive_label_values {
        facts.push(("Positive label values", values.clone()));
    }
    if !summary.facets.is_empty() {
        facts.push(("Facets", summary.facets.join("; ")));
    }
    if let Some(endpoint) = &summary.endpoint {
        facts.push(("Model", endpoint.clone()));
    }
    facts.push(("Started", summary.started_utc()));
    facts.push((
        "Duration",
        format!("{:.1} s", summary.elapsed.as_secs_f64()),
    ));
    facts.push(("openclarify version", summary.version.clone()));
    Table {
        columns: vec!["Run".into(), "".into()],
        numeric: vec![false, false],
        rows: facts
            .into_iter()
            .map(|(k, v)| Row {
                cells: vec![k.to_string(), v],
                notable: false,
            })
            .collect(),
        source: String::new(),
    }
}

fn reading_guide(sections: &[Section]) -> Vec<String> {
    let has = |prefix: &str| sections.iter().any(|s| s.id.starts_with(prefix));
    let mut guide = vec![
        "This report presents the results in analysis.json, which stays the reference for every number.".to_string(),
    ];
    if has("pre-training") || has("post-training") {
        guide.push("Bias metrics compare a facet group (the records whose facet has the value named in the heading) with the rest of the data. Pre-training metrics look at the labels in the data; post-training metrics look at the model's predictions.".into());
        guide.push("In each bias chart the dashed line is parity: no difference between the facet group and the rest. Bars left of it are below parity, bars right of it above; a longer bar is a larger imbalance. Each row has its own scale, printed at its ends. The green band is a common rule of thumb for a small difference (within ±0.1 for differences of proportions; 0.8 to 1.25 for disparate impact, the four-fifths rule). Bars outside it are orange, and their table rows highlighted. A rule of thumb is a prompt to look closer, not a verdict.".into());
    }
    if has("feature-importance") {
        guide.push("SHAP values say how much each feature moves the model's output away from the expected value (its average output on the baseline). Longer bars mean features that matter more to the model.".into());
    }
    if has("partial-dependence") {
        guide.push("Partial dependence plots show the model's average prediction when one feature is set to each value on the axis for every record, the other features unchanged.".into());
    }
    guide
}

/// Python's spelling of a string literal, for notebook sources.
fn py(key: &str) -> String {
    serde_json::to_string(key).expect("strings serialise")
}

/// A metric's value, or its error text. NaN stands for `null` without an
/// error; `"Infinity"` strings become infinities.
fn metric_value(metric: &Json) -> Result<f64, &str> {
    if let Some(error) = metric.get("error").and_then(Json::as_str) {
        return Err(error);
    }
    Ok(match metric.get("value") {
        Some(Json::Number(n)) => n.as_f64().unwrap_or(f64::NAN),
        Some(Json::String(s)) => s.parse().unwrap_or(f64::NAN),
        _ => f64::NAN,
    })
}

fn bias_section(key: &str, id: &str, title: &str, section: &Json) -> Section {
    let text = |k: &str| {
        section
            .get(k)
            .and_then(Json::as_str)
            .unwrap_or("?")
            .to_string()
    };
    let mut blocks = vec![Block::Paragraph {
        text: format!(
            "Label {}; positive when its value is {}.",
            text("label"),
            text("label_value_or_threshold")
        ),
    }];
    let facets = section.get("facets").and_then(Json::as_object);
    for (facet, groups) in facets.into_iter().flatten() {
        for (index, group) in groups.as_array().into_iter().flatten().enumerate() {
            let value = group
                .get("value_or_threshold")
                .and_then(Json::as_str)
                .unwrap_or("?");
            let metrics = group
                .get("metrics")
                .and_then(Json::as_array)
                .map_or(&[][..], Vec::as_slice);
            let heading = format!("Facet {facet} = {value}");
            let source = format!(
                "analysis[{}][\"facets\"][{}][{index}][\"metrics\"]",
                py(key),
                py(facet)
            );
            let bars: Vec<BiasBar> = metrics
                .iter()
                .map(|m| {
                    let name = m.get("name").and_then(Json::as_str).unwrap_or("?");
                    BiasBar {
                        name,
                        value: metric_value(m),
                        guide: metric_guide(name),
                    }
                })
                .collect();
            blocks.push(Block::Heading {
                text: heading.clone(),
            });
            blocks.push(Block::Chart(Chart {
                caption: format!("{title}, {heading}: each metric against parity (dashed line)."),
                svg: charts::bias_chart(&heading, &bars),
                source: source.clone(),
            }));
            blocks.push(Block::Table(bias_table(metrics, &bars, source)));
        }
    }
    Section {
        id: id.into(),
        title: title.into(),
        blocks,
    }
}

fn bias_table(metrics: &[Json], bars: &[BiasBar], source: String) -> Table {
    let rows = metrics
        .iter()
        .zip(bars)
        .map(|(metric, bar)| {
            let name = metric
                .get("description")
                .and_then(Json::as_str)
                .unwrap_or(bar.name);
            let range = bar.guide.map_or("", |g| g.range).to_string();
            let meaning = bar.guide.map_or("", |g| g.meaning);
            match bar.value {
                Err(error) => Row {
                    cells: vec![
                        name.into(),
                        "error".into(),
                        range,
                        format!("Could not be computed: {error}"),
                    ],
                    notable: true,
                },
                Ok(value) => Row {
                    cells: vec![name.into(), format_number(value), range, meaning.into()],
                    notable: bar.guide.is_some_and(|g| g.is_notable(value)),
                },
            }
        })
        .collect();
    Table {
        columns: ["Metric", "Value", "Range", "What it tells"]
            .map(String::from)
            .to_vec(),
        numeric: vec![false, true, false, false],
        rows,
        source,
    }
}

fn shap_section(shap: &serde_json::Map<String, Json>, local: Option<&LocalShap>) -> Section {
    let mut blocks = Vec::new();
    for (label, result) in shap {
        let source = format!("analysis[\"explanations\"][\"kernel_shap\"][{}]", py(label));
        let mut features: Vec<(String, f64)> = result
            .get("global_shap_values")
            .and_then(Json::as_object)
            .into_iter()
            .flatten()
            .map(|(f, v)| (f.clone(), v.as_f64().unwrap_or(f64::NAN)))
            .collect();
        // Most important first; a stable sort keeps config order among ties.
        features.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()));
        let names: Vec<String> = features.iter().map(|(f, _)| f.clone()).collect();
        let values: Vec<f64> = features.iter().map(|(_, v)| *v).collect();
        blocks.push(Block::Heading {
            text: format!("Output {label}"),
        });
        if let Some(expected) = result.get("expected_value").and_then(Json::as_f64) {
            blocks.push(Block::Paragraph {
                text: format!(
                    "Expected value (the model's average output on the baseline): {}.",
                    format_number(expected)
                ),
            });
        }
        blocks.push(Block::Chart(Chart {
            caption: format!("Global SHAP values for {label}, most important feature first."),
            svg: charts::bar_chart(
                &format!("Global SHAP values, {label}"),
                &names,
                &[Series {
                    name: label,
                    values: &values,
                }],
            ),
            source: format!("{source}[\"global_shap_values\"]"),
        }));
        let spread: Vec<_> = names
            .iter()
            .filter_map(|f| Some((f.clone(), local?.spread(label, f)?)))
            .collect();
        if !spread.is_empty() {
            blocks.push(Block::Chart(Chart {
                caption: format!("Local SHAP values for {label} across records ({LOCAL_SHAP_FILE}): the box holds the middle half, the line is the median, whiskers reach the 5th and 95th percentiles."),
                svg: charts::box_plot(&format!("Local SHAP values, {label}"), &spread),
                source: format!("pd.read_csv(\"{LOCAL_SHAP_FILE}\").describe()"),
            }));
        }
        blocks.push(Block::Table(Table {
            columns: vec!["Feature".into(), "Global SHAP value".into()],
            numeric: vec![false, true],
            rows: features
                .iter()
                .map(|(f, v)| Row {
                    cells: vec![f.clone(), format_number(*v)],
                    notable: false,
                })
                .collect(),
            source: format!("{source}[\"global_shap_values\"]"),
        }));
    }
    Section {
        id: "feature-importance".into(),
        title: "Feature importance (SHAP)".into(),
        blocks,
    }
}

fn pdp_section(pdp: &[Json]) -> Section {
    let mut blocks = vec![Block::Paragraph {
        text: "Grey bars show the share of records in each range of the feature, so sparse regions, where the curve rests on few records, stand out.".into(),
    }];
    for (index, plot) in pdp.iter().enumerate() {
        let feature = plot
            .get("feature_name")
            .and_then(Json::as_str)
            .unwrap_or("?");
        let data_type = plot.get("data_type").and_then(Json::as_str).unwrap_or("");
        blocks.push(Block::Heading {
            text: format!("{feature} ({data_type})"),
        });
        if let Some(error) = plot.get("error").and_then(Json::as_str) {
            blocks.push(Block::Notice {
                text: error.to_string(),
            });
            continue;
        }
        let numbers = |v: &Json| -> Vec<f64> {
            v.as_array()
                .into_iter()
                .flatten()
                .map(|x| x.as_f64().unwrap_or(f64::NAN))
                .collect()
        };
        let predictions: Vec<Vec<f64>> = plot
            .get("model_predictions")
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
            .map(numbers)
            .collect();
        let headers: Vec<String> = (0..predictions.len())
            .map(|i| {
                let header = plot
                    .get("label_headers")
                    .and_then(|h| h.get(i))
                    .and_then(Json::as_str);
                header.map_or_else(|| format!("label{i}"), str::to_string)
            })
            .collect();
        let series: Vec<Series> = headers
            .iter()
            .zip(&predictions)
            .map(|(name, values)| Series { name, values })
            .collect();
        let values = plot
            .get("feature_values")
            .and_then(Json::as_array)
            .map_or(&[][..], Vec::as_slice);
        let share = plot.get("data_distribution").map(numbers);
        let title = format!("Partial dependence on {feature}");
        let svg = if data_type == "numerical" {
            let x = numbers(&Json::Array(values.to_vec()));
            charts::line_chart(&title, &x, &series, share.as_deref(), feature)
        } else {
            let categories: Vec<String> = values
                .iter()
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
                .collect();
            charts::bar_chart(&title, &categories, &series)
        };
        blocks.push(Block::Chart(Chart {
            caption: format!("Average model prediction as {feature} varies."),
            svg,
            source: format!("analysis[\"explanations\"][\"pdp\"][{index}]"),
        }));
    }
    Section {
        id: "partial-dependence".into(),
        title: "Partial dependence".into(),
        blocks,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn summary() -> RunSummary {
        RunSummary::example()
    }

    #[test]
    fn absent_results_have_no_section_and_no_guide_paragraph() {
        let analysis = json!({"version": "1.0", "pre_training_bias_metrics": {"label": "y", "label_value_or_threshold": "1", "facets": {}}});
        let report = build(&analysis, None, &summary(), "T");
        let ids: Vec<&str> = report.sections.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["pre-training-bias"]);
        assert!(!report
            .guide
            .iter()
            .any(|g| g.contains("SHAP") || g.contains("Partial")));
        let empty = build(&json!({"version": "1.0"}), None, &summary(), "T");
        assert!(empty.sections.is_empty() && empty.guide.len() == 1);
    }

    #[test]
    fn errored_metrics_show_their_error_and_are_highlighted() {
        let analysis = json!({"pre_training_bias_metrics": {"label": "y", "label_value_or_threshold": "1", "facets": {"sex": [
            {"value_or_threshold": "f", "metrics": [
                {"name": "CDDL", "description": "Conditional Demographic Disparity in Labels (CDDL)", "value": null, "error": "Group variable is empty or not provided"},
                {"name": "CI", "description": "Class Imbalance (CI)", "value": 0.05}]}]}}});
        let report = build(&analysis, None, &summary(), "T");
        let table = report.sections[0]
            .blocks
            .iter()
            .find_map(|b| match b {
                Block::Table(t) => Some(t),
                _ => None,
            })
            .unwrap();
        assert_eq!(table.rows[0].cells[1], "error");
        assert!(
            table.rows[0].cells[3].contains("Group variable is empty") && table.rows[0].notable
        );
        assert!(!table.rows[1].notable);
        assert_eq!(
            table.source,
            r#"analysis["pre_training_bias_metrics"]["facets"]["sex"][0]["metrics"]"#
        );
    }

    #[test]
    fn infinity_strings_read_as_infinite_values() {
        assert_eq!(
            metric_value(&json!({"value": "Infinity"})),
            Ok(f64::INFINITY)
        );
        assert_eq!(
            metric_value(&json!({"value": "-Infinity"})),
            Ok(f64::NEG_INFINITY)
        );
        assert!(metric_value(&json!({"value": null})).unwrap().is_nan());
    }

    #[test]
    fn shap_features_are_sorted_by_importance_and_pdp_errors_become_notices() {
        let analysis = json!({"explanations": {
            "kernel_shap": {"label0": {"global_shap_values": {"a": 0.1, "b": -0.5, "c": 0.3}, "expected_value": 0.4}},
            "pdp": [{"feature_name": "t", "data_type": "free_text", "error": "Detected data type is not supported for PDP."}]}});
        let report = build(&analysis, None, &summary(), "T");
        let table = report.sections[0]
            .blocks
            .iter()
            .find_map(|b| match b {
                Block::Table(t) => Some(t),
                _ => None,
            })
            .unwrap();
        let order: Vec<&str> = table.rows.iter().map(|r| r.cells[0].as_str()).collect();
        assert_eq!(order, ["b", "c", "a"]);
        assert!(
            matches!(&report.sections[1].blocks[2], Block::Notice { text } if text.contains("not supported"))
        );
    }
}
