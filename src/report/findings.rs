//! The findings summary that opens the report: per facet comparison, which
//! bias metrics are outside their rule-of-thumb band, in plain sentences
//! generated from the values, and for a facet with many values one grid of
//! values × metrics instead of a screen per value.
//!
//! Metrics that could not be computed are counted apart and never called a
//! finding; GE, computed over all records, is not a facet's finding.

use super::document::{metric_value, Block, Row, Section, Table};
use super::format_number;
use super::guide::{di_dppl_disagreement, metric_guide};
use super::overview::{comparison, find, group_name, small_group_warning};
use super::percent;
use crate::bias::groups::{GroupCounts, Side};
use serde_json::Value as Json;

/// Facets with more values than this get a grid instead of sentences.
const SENTENCES_UP_TO: usize = 3;

/// One metric of one comparison: its code and value or error.
struct Reading<'a> {
    name: &'a str,
    value: Result<f64, &'a str>,
}

impl Reading<'_> {
    fn outside_band(&self) -> bool {
        let guide = metric_guide(self.name);
        matches!(self.value, Ok(v) if guide.is_some_and(|g| g.is_notable(v)))
    }

    fn has_band(&self) -> bool {
        metric_guide(self.name).is_some_and(|g| g.band.is_some())
    }
}

/// The metrics of one comparison, without GE (the same for every facet).
fn readings(group: &Json) -> Vec<Reading<'_>> {
    group
        .get("metrics")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
        .filter_map(|m| {
            let name = m.get("name").and_then(Json::as_str)?;
            (name != "GE").then(|| Reading {
                name,
                value: metric_value(m),
            })
        })
        .collect()
}

/// The bias sections present, as (analysis.json key, stage word).
const STAGES: [(&str, &str); 2] = [
    ("pre_training_bias_metrics", "pre-training"),
    ("post_training_bias_metrics", "post-training"),
];

/// The findings section, or `None` without bias results.
pub fn findings_section(analysis: &Json, groups: &[GroupCounts]) -> Option<Section> {
    let mut blocks = Vec::new();
    for (key, stage) in STAGES {
        let Some(facets) = analysis
            .pointer(&format!("/{key}/facets"))
            .and_then(Json::as_object)
        else {
            continue;
        };
        for (facet, values) in facets {
            let values = values.as_array().map_or(&[][..], Vec::as_slice);
            if values.len() > SENTENCES_UP_TO {
                blocks.push(Block::Paragraph {
                    text: format!("{facet}, {stage}: each of {} values against all other records. ⚠ marks a metric outside its band, ✓ one inside, — one not computed.", values.len()),
                });
                blocks.push(Block::Table(grid(facet, values, groups)));
                continue;
            }
            for group in values {
                let value = group
                    .get("value_or_threshold")
                    .and_then(Json::as_str)
                    .unwrap_or("?");
                let counts = find(groups, facet, value);
                blocks.push(Block::Paragraph {
                    text: sentence(facet, value, stage, &readings(group), counts),
                });
            }
        }
    }
    if blocks.is_empty() {
        return None;
    }
    blocks.insert(0, Block::Paragraph {
        text: "What is outside its rule-of-thumb band, per facet comparison. A band is a prompt to look closer, not a verdict; the sections below give every value and what it means.".into(),
    });
    Some(Section {
        id: "findings".into(),
        title: "Findings".into(),
        blocks,
    })
}

/// The sentence for one comparison, from its values and signs.
fn sentence(
    facet: &str,
    value: &str,
    stage: &str,
    readings: &[Reading],
    counts: Option<&GroupCounts>,
) -> String {
    let computed = readings.iter().filter(|r| r.value.is_ok()).count();
    let outside: Vec<String> = readings
        .iter()
        .filter(|r| r.outside_band())
        .map(|r| format!("{} {}", r.name, format_number(r.value.unwrap_or(f64::NAN))))
        .collect();
    let mut text = format!("{}: ", comparison(facet, value));
    if outside.is_empty() {
        text.push_str(&format!(
            "none of {computed} {stage} metrics outside its band"
        ));
    } else {
        text.push_str(&format!(
            "{} of {computed} {stage} metrics outside the band ({})",
            outside.len(),
            outside.join(", ")
        ));
    }
    let find_value = |name: &str| {
        readings
            .iter()
            .find(|r| r.name == name)
            .and_then(|r| r.value.ok())
    };
    if let Some(di) = find_value("DI").filter(|v| v.is_finite()) {
        let verdict = if di < 0.8 {
            "fails the four-fifths rule"
        } else if di > 1.25 {
            "is above 1.25 (the rest gets fewer positive predictions)"
        } else {
            "passes the four-fifths rule"
        };
        text.push_str(&format!("; DI {} {verdict}", format_number(di)));
    }
    text.push('.');
    if let (Some(di), Some(dppl)) = (find_value("DI"), find_value("DPPL")) {
        if let Some(why) = di_dppl_disagreement(di, dppl) {
            text.push(' ');
            text.push_str(why);
        }
    }
    if let Some(g) = counts {
        text.push_str(&rates_sentence(g, stage, facet, value));
    }
    let missing = readings.len() - computed;
    if missing > 0 {
        text.push_str(&format!(
            " {missing} metric{} not computed (reasons in the section).",
            if missing == 1 { "" } else { "s" }
        ));
    }
    if let Some(warning) = counts.and_then(small_group_warning) {
        text.push(' ');
        text.push_str(&warning);
    }
    text
}

/// Which side has the higher rate, in words: observed labels before
/// training, predictions after.
fn rates_sentence(g: &GroupCounts, stage: &str, facet: &str, value: &str) -> String {
    let (what, facet_rate, rest_rate) = if stage == "post-training" {
        (
            "Predicted positive rate",
            g.predicted_rate(Side::Facet),
            g.predicted_rate(Side::Rest),
        )
    } else {
        (
            "Positive label rate",
            g.positive_rate(Side::Facet),
            g.positive_rate(Side::Rest),
        )
    };
    let (Some(a), Some(b)) = (facet_rate, rest_rate) else {
        return String::new();
    };
    let who = group_name(facet, value);
    let lean = if (a - b).abs() < 0.005 {
        "about the same".to_string()
    } else if a > b {
        format!("higher for {who}")
    } else {
        format!("lower for {who}")
    };
    format!(
        " {what} {} vs {} for the rest: {lean}.",
        percent(a),
        percent(b)
    )
}

/// Values × banded metrics, one row per facet value.
fn grid(facet: &str, values: &[Json], groups: &[GroupCounts]) -> Table {
    let names: Vec<&str> = values
        .first()
        .map(readings)
        .unwrap_or_default()
        .iter()
        .filter(|r| r.has_band())
        .map(|r| r.name)
        .collect();
    let mut columns = vec!["Value".to_string(), "Records".to_string()];
    columns.extend(names.iter().map(|n| n.to_string()));
    let rows = values
        .iter()
        .map(|group| {
            let value = group
                .get("value_or_threshold")
                .and_then(Json::as_str)
                .unwrap_or("?");
            let counts = find(groups, facet, value);
            let records = counts.map_or_else(
                || "?".into(),
                |g| {
                    let n = g.records(Side::Facet);
                    match small_group_warning(g) {
                        Some(_) => format!("{n} ⚠ too few"),
                        None => n.to_string(),
                    }
                },
            );
            let readings = readings(group);
            let mut cells = vec![value.to_string(), records];
            let mut any_outside = false;
            for name in &names {
                let cell = match readings.iter().find(|r| r.name == *name) {
                    Some(r) if r.outside_band() => {
                        any_outside = true;
                        format!("⚠ {}", format_number(r.value.unwrap_or(f64::NAN)))
                    }
                    Some(Reading { value: Ok(_), .. }) => "✓".into(),
                    _ => "—".into(),
                };
                cells.push(cell);
            }
            Row::plain(cells).flagged(any_outside)
        })
        .collect();
    let numeric = (0..columns.len()).map(|i| i > 0).collect();
    Table::new(columns, numeric, rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_sentence_names_what_is_outside_and_whether_di_passes() {
        let analysis = json!({"post_training_bias_metrics": {"facets": {"sex": [{"value_or_threshold": "female", "metrics": [
            {"name": "DI", "value": 0.829},
            {"name": "DPPL", "value": 0.1476},
            {"name": "AD", "value": 0.02},
            {"name": "CDDPL", "value": null, "error": "Group variable is empty or not provided"},
            {"name": "GE", "value": 0.1}]}]}}});
        let mut cube = crate::bias::metrics::Cube::default();
        cube[1][0][1] = 60;
        cube[1][0][0] = 40;
        cube[0][0][1] = 80;
        cube[0][0][0] = 20;
        let groups = [GroupCounts {
            facet: "sex".into(),
            value_or_threshold: "female".into(),
            cube,
            has_predictions: true,
        }];
        let section = findings_section(&analysis, &groups).unwrap();
        let Block::Paragraph { text } = &section.blocks[1] else {
            panic!("a sentence")
        };
        assert!(
            text.starts_with("sex = female vs all others: 1 of 3 post-training metrics outside the band (DPPL 0.1476); DI 0.829 passes the four-fifths rule. DI passes while DPPL"),
            "{text}"
        );
        assert!(
            text.contains(
                "Predicted positive rate 60.0 % vs 80.0 % for the rest: lower for sex = female."
            ),
            "{text}"
        );
        assert!(text.contains("1 metric not computed"), "{text}");
        assert!(!text.contains("GE"), "GE is not a facet's finding: {text}");
    }

    #[test]
    fn many_values_make_a_grid() {
        let values: Vec<Json> = (0..5)
            .map(|i| {
                json!({"value_or_threshold": format!("v{i}"), "metrics": [
                {"name": "DPL", "value": if i == 0 { 0.3 } else { 0.01 }},
                {"name": "KL", "value": 0.5},
                {"name": "CDDL", "value": null, "error": "no group"}]})
            })
            .collect();
        let analysis = json!({"pre_training_bias_metrics": {"facets": {"purpose": values}}});
        let section = findings_section(&analysis, &[]).unwrap();
        let Block::Table(table) = &section.blocks[2] else {
            panic!("a grid")
        };
        assert_eq!(table.columns, ["Value", "Records", "DPL", "CDDL"]);
        assert_eq!(table.rows[0].cells[2..], ["⚠ 0.3", "—"]);
        assert!(table.rows[0].notable && !table.rows[1].notable);
        assert_eq!(table.rows[1].cells[2], "✓");
    }
}
