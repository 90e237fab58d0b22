//! The report as a document: sections of headings, paragraphs, tables and
//! charts, built once from `analysis.json`.
//!
//! The HTML page, the notebook and the PDF all render this one document,
//! so the three formats always say the same thing. Sections exist only for
//! results present in `analysis.json`; nothing here computes a metric.

use super::charts::{self, BiasBar, Svg};
use super::explanations;
use super::findings;
use super::guide::{di_dppl_disagreement, family, metric_guide};
use super::local_shap::LocalShap;
use super::overview::{self, comparison, find, group_line, small_group_warning};
use super::{format_number, RunSummary};
use crate::bias::groups::GroupCounts;
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
    /// A note set apart: why something was not computed, or a warning
    /// (starting with ⚠) such as a group too small to judge.
    Notice {
        /// The note.
        text: String,
    },
    /// A table.
    Table(Table),
    /// A chart.
    Chart(Chart),
    /// Pictures side by side (an image's heat maps).
    Gallery {
        /// The pictures, in reading order.
        tiles: Vec<Tile>,
    },
}

/// One picture of a [`Block::Gallery`].
#[derive(Debug, Serialize)]
pub struct Tile {
    /// What it shows.
    pub caption: String,
    /// The file, relative to the report (the notebook links it).
    pub file: String,
    /// The picture itself as a `data:` URI (the HTML page embeds it).
    pub data_uri: String,
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
    /// Python code (helpers of the notebook's first cell, on `analysis`,
    /// the loaded `analysis.json`) that redraws the table in the notebook;
    /// empty when the notebook redraws it from its cells.
    pub source: String,
}

/// A table row.
#[derive(Debug, Serialize)]
pub struct Row {
    /// One text per column.
    pub cells: Vec<String>,
    /// Whether the row deserves a reader's attention (a value outside its
    /// rule-of-thumb band, a group too small to judge); rendered
    /// highlighted.
    pub notable: bool,
    /// Whether the row holds something not computed; rendered in grey,
    /// never highlighted.
    pub muted: bool,
}

impl Row {
    /// A row with nothing to point out.
    pub fn plain(cells: Vec<String>) -> Row {
        Row {
            cells,
            notable: false,
            muted: false,
        }
    }

    /// The row, highlighted when `notable`.
    pub fn flagged(self, notable: bool) -> Row {
        Row { notable, ..self }
    }
}

impl Table {
    /// A table of data the report holds (not in `analysis.json`): the
    /// notebook redraws it from the cells themselves.
    pub fn new(columns: Vec<String>, numeric: Vec<bool>, rows: Vec<Row>) -> Table {
        Table {
            columns,
            numeric,
            rows,
            source: String::new(),
        }
    }
}

/// A chart with its caption.
#[derive(Debug, Serialize)]
pub struct Chart {
    /// Caption under the chart.
    pub caption: String,
    /// The SVG.
    pub svg: Svg,
    /// Python code that redraws the chart in the notebook (see
    /// [`Table::source`]).
    pub source: String,
}

/// Builds the report for `analysis` (an `analysis.json` document), with
/// the group counts and parameters of `summary`.
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
    let groups = &summary.groups;
    let mut sections: Vec<Section> = [
        findings::findings_section(analysis, groups),
        overview::groups_section(groups),
        overview::performance_section(groups),
    ]
    .into_iter()
    .flatten()
    .collect();
    sections.extend(bias.iter().filter_map(|(key, id, title)| {
        Some(bias_section(key, id, title, analysis.get(key)?, groups))
    }));
    let explanations = analysis.get("explanations");
    let context = explanations::Context::new(analysis, summary);
    if let Some(shap) = explanations
        .and_then(|e| e.get("kernel_shap"))
        .and_then(Json::as_object)
    {
        sections.push(explanations::shap_section(shap, local, &context));
    }
    if let Some(pdp) = explanations
        .and_then(|e| e.get("pdp"))
        .and_then(Json::as_array)
    {
        sections.push(explanations::pdp_section(pdp, &context));
    }
    sections.extend(super::time_series::section(analysis, &summary.histories));
    if !summary.parameters.is_empty() {
        sections.push(configuration_section(&summary.parameters));
    }
    Report {
        title: title.to_string(),
        summary: summary_table(summary, analysis),
        guide: reading_guide(&sections),
        sections,
    }
}

fn summary_table(summary: &RunSummary, analysis: &Json) -> Table {
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
    let compared = comparisons(analysis);
    if !compared.is_empty() {
        facts.push(("Facets", compared.join("; ")));
    } else if !summary.facets.is_empty() {
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
    let rows = facts
        .into_iter()
        .map(|(k, v)| Row::plain(vec![k.to_string(), v]))
        .collect();
    Table::new(vec!["Run".into(), "".into()], vec![false, false], rows)
}

/// Each facet's comparisons in words, from the first bias section present:
/// one per value, or a count for facets compared value by value.
fn comparisons(analysis: &Json) -> Vec<String> {
    let facets = ["pre_training_bias_metrics", "post_training_bias_metrics"]
        .iter()
        .find_map(|key| analysis.get(*key)?.get("facets")?.as_object());
    let mut out = Vec::new();
    for (facet, groups) in facets.into_iter().flatten() {
        let groups = groups.as_array().map_or(&[][..], Vec::as_slice);
        let value = |g: &Json| {
            g.get("value_or_threshold")
                .and_then(Json::as_str)
                .unwrap_or("?")
                .to_string()
        };
        match groups {
            [one] => out.push(comparison(facet, &value(one))),
            many => out.push(format!(
                "{facet}: each of its {} values vs all others",
                many.len()
            )),
        }
    }
    out
}

fn reading_guide(sections: &[Section]) -> Vec<String> {
    let has = |prefix: &str| sections.iter().any(|s| s.id.starts_with(prefix));
    let mut guide = vec![
        "This report presents the results in analysis.json, which stays the reference for every number.".to_string(),
    ];
    if has("pre-training") || has("post-training") {
        guide.push("Bias metrics compare a facet group (the records whose facet has the value named in the heading) with the rest of the data. Pre-training metrics look at the labels in the data; post-training metrics look at the model's predictions.".into());
        guide.push("In each bias chart the dashed line is parity: no difference between the facet group and the rest. Bars left of it are below parity, bars right of it above; a longer bar is a larger imbalance. Each row has its own scale, printed at its ends. The green band is a common rule of thumb for a small difference (within ±0.1 for differences of proportions; 0.8 to 1.25 for disparate impact, the four-fifths rule). Bars outside it are orange, and their table rows highlighted and marked ⚠. Metrics with no common band are grey bars; metrics that could not be computed are grey text. Rows are grouped by what they compare (thin rules in the charts, the Kind column in the tables): representation and label rates before training; selection rates (DPPL, DI), error rates (AD, RD, SD, DAR, DRR), the conditional CDDPL and the others after it. The \"What it tells\" column reads the value's sign and size. A rule of thumb is a prompt to look closer, not a verdict.".into());
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
pub(crate) fn py(key: &str) -> String {
    serde_json::to_string(key).expect("strings serialise")
}

/// A metric's value, or its error text. NaN stands for `null` without an
/// error; `"Infinity"` strings become infinities.
pub(crate) fn metric_value(metric: &Json) -> Result<f64, &str> {
    if let Some(error) = metric.get("error").and_then(Json::as_str) {
        return Err(error);
    }
    Ok(match metric.get("value") {
        Some(Json::Number(n)) => n.as_f64().unwrap_or(f64::NAN),
        Some(Json::String(s)) => s.parse().unwrap_or(f64::NAN),
        _ => f64::NAN,
    })
}

/// The metrics of one comparison, without GE (shown once per section),
/// grouped by kind ([`family`]) so metrics answering one question sit
/// together.
fn facet_metrics(group: &Json) -> Vec<&Json> {
    fn name(m: &Json) -> &str {
        m.get("name").and_then(Json::as_str).unwrap_or("?")
    }
    let mut metrics: Vec<&Json> = group
        .get("metrics")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
        .filter(|m| name(m) != "GE")
        .collect();
    // Stable: within a kind, analysis.json's order.
    metrics.sort_by_key(|m| family(name(m)).0);
    metrics
}

/// The DI/DPPL note of one comparison, when they disagree about the band.
fn di_dppl_note(bars: &[BiasBar]) -> Option<Block> {
    let value = |name: &str| bars.iter().find(|b| b.name == name)?.value.ok();
    let why = di_dppl_disagreement(value("DI")?, value("DPPL")?)?;
    Some(Block::Paragraph { text: why.into() })
}

/// What a section says once instead of per facet: GE's value (computed
/// over all records) and why metrics were not computed.
fn section_notes(facets: Option<&serde_json::Map<String, Json>>) -> Vec<Block> {
    let all_metrics = facets
        .into_iter()
        .flatten()
        .flat_map(|(_, groups)| groups.as_array().into_iter().flatten())
        .flat_map(|g| {
            g.get("metrics")
                .and_then(Json::as_array)
                .into_iter()
                .flatten()
        });
    let mut ge = None;
    let mut reasons: Vec<(String, String)> = Vec::new();
    for metric in all_metrics {
        let name = metric.get("name").and_then(Json::as_str).unwrap_or("?");
        match metric_value(metric) {
            Ok(v) if name == "GE" => ge = ge.or(Some(v)),
            Err(e) if !reasons.iter().any(|(n, r)| n == name && r == e) => {
                reasons.push((name.to_string(), e.to_string()))
            }
            _ => {}
        }
    }
    let mut blocks = Vec::new();
    if let Some(ge) = ge {
        blocks.push(Block::Paragraph {
            text: format!("Generalized entropy (GE) over all records: {}. It is the same for every facet, so it is shown once here rather than in each table.", format_number(ge)),
        });
    }
    if !reasons.is_empty() {
        let list: Vec<String> = reasons
            .iter()
            .map(|(name, reason)| format!("{name}: {reason}"))
            .collect();
        blocks.push(Block::Notice {
            text: format!(
                "Not computed (grey in the charts and tables below, and not a finding): {}.",
                list.join("; ")
            ),
        });
    }
    blocks
}

fn bias_section(
    key: &str,
    id: &str,
    title: &str,
    section: &Json,
    groups: &[GroupCounts],
) -> Section {
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
    blocks.extend(section_notes(facets));
    for (facet, values) in facets.into_iter().flatten() {
        for (index, group) in values.as_array().into_iter().flatten().enumerate() {
            let value = group
                .get("value_or_threshold")
                .and_then(Json::as_str)
                .unwrap_or("?");
            let metrics = facet_metrics(group);
            let heading = comparison(facet, value);
            let at = format!("{}, {}, {index}", py(key), py(facet));
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
            if let Some(g) = find(groups, facet, value) {
                blocks.push(Block::Paragraph {
                    text: group_line(g),
                });
                if let Some(warning) = small_group_warning(g) {
                    blocks.push(Block::Notice { text: warning });
                }
            }
            blocks.push(Block::Chart(Chart {
                caption: format!("{title}, {heading}: each metric against parity (dashed line)."),
                svg: charts::bias_chart(&heading, &bars),
                source: format!("bias_chart({at})"),
            }));
            blocks.extend(di_dppl_note(&bars));
            let mut table = bias_table(&metrics, &bars);
            table.source = format!("bias_table({at})");
            blocks.push(Block::Table(table));
        }
    }
    Section {
        id: id.into(),
        title: title.into(),
        blocks,
    }
}

/// The words of the "Check" column, which say what the highlighting says
/// in any renderer, in greyscale print and to screen readers.
const OUTSIDE: &str = "⚠ outside band";

fn bias_table(metrics: &[&Json], bars: &[BiasBar]) -> Table {
    let mut previous_kind = "";
    let rows = metrics
        .iter()
        .zip(bars)
        .map(|(metric, bar)| {
            let name = metric
                .get("description")
                .and_then(Json::as_str)
                .filter(|d| !d.is_empty())
                .unwrap_or(bar.name);
            // The kind is named on its first row only, as a group label.
            let kind = family(bar.name).1;
            let kind_cell = if kind == previous_kind { "" } else { kind };
            previous_kind = kind;
            match bar.value {
                Err(_) => Row {
                    cells: vec![
                        kind_cell.into(),
                        name.into(),
                        "—".into(),
                        "not computed".into(),
                        bar.guide.map_or("", |g| g.meaning).into(),
                    ],
                    notable: false,
                    muted: true,
                },
                Ok(value) => {
                    let notable = bar.guide.is_some_and(|g| g.is_notable(value));
                    let check = match bar.guide.and_then(|g| g.band) {
                        _ if notable => OUTSIDE,
                        Some(_) => "within band",
                        None => "no common band",
                    };
                    Row::plain(vec![
                        kind_cell.into(),
                        name.into(),
                        format_number(value),
                        check.into(),
                        bar.guide.map_or_else(String::new, |g| g.tells(value)),
                    ])
                    .flagged(notable)
                }
            }
        })
        .collect();
    Table::new(
        ["Kind", "Metric", "Value", "Check", "What it tells"]
            .map(String::from)
            .to_vec(),
        vec![false, false, true, false, false],
        rows,
    )
}

/// The configuration appendix.
fn configuration_section(parameters: &[(String, String)]) -> Section {
    let rows = parameters
        .iter()
        .map(|(name, value)| Row::plain(vec![name.clone(), value.clone()]))
        .collect();
    Section {
        id: "configuration".into(),
        title: "Configuration".into(),
        blocks: vec![
            Block::Paragraph {
                text: "The parameters this analysis ran with, from analysis_config.json; values the config leaves out show what was used instead.".into(),
            },
            Block::Table(Table::new(
                vec!["Parameter".into(), "Value".into()],
                vec![false, false],
                rows,
            )),
        ],
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
        assert_eq!(ids, ["pre-training-bias", "configuration"]);
        assert!(!report
            .guide
            .iter()
            .any(|g| g.contains("SHAP") || g.contains("Partial")));
        let empty = build(&json!({"version": "1.0"}), None, &summary(), "T");
        assert!(empty.sections.len() == 1 && empty.guide.len() == 1);
    }

    #[test]
    fn errored_metrics_are_grey_with_their_reason_given_once() {
        let analysis = json!({"pre_training_bias_metrics": {"label": "y", "label_value_or_threshold": "1", "facets": {"sex": [
            {"value_or_threshold": "f", "metrics": [
                {"name": "CDDL", "description": "Conditional Demographic Disparity in Labels (CDDL)", "value": null, "error": "Group variable is empty or not provided"},
                {"name": "CI", "description": "Class Imbalance (CI)", "value": 0.05}]}]}}});
        let report = build(&analysis, None, &summary(), "T");
        let section = report
            .sections
            .iter()
            .find(|s| s.id == "pre-training-bias")
            .unwrap();
        let table = section
            .blocks
            .iter()
            .find_map(|b| match b {
                Block::Table(t) => Some(t),
                _ => None,
            })
            .unwrap();
        // Grouped by kind: CI (representation) before CDDL (label rates).
        assert_eq!(
            table.rows[0].cells[..4],
            [
                "representation",
                "Class Imbalance (CI)",
                "0.05",
                "within band"
            ]
        );
        assert_eq!(table.rows[1].cells[2..4], ["—", "not computed"]);
        assert!(table.rows[1].muted && !table.rows[1].notable);
        assert!(!table.rows[0].notable);
        assert_eq!(
            table.rows[0].cells[4],
            "The facet group is the smaller one: 5.0 points of all records fewer than the rest."
        );
        assert!(section.blocks.iter().any(|b| matches!(b, Block::Notice { text } if text.contains("CDDL: Group variable is empty"))));
        assert_eq!(
            table.source,
            r#"bias_table("pre_training_bias_metrics", "sex", 0)"#
        );
        assert_eq!(report.sections[0].id, "findings", "the findings come first");
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
        assert_eq!(
            table.columns[1],
            "Global SHAP, Model score (probability of risk = 1)"
        );
    }
}
