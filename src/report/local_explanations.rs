//! Single records in the SHAP section: a beeswarm per output (how each
//! feature's value pushes records' scores, in which direction) and the
//! waterfalls of the records with the lowest and the highest score.

use super::document::{py, Block, Chart};
use super::explanations::Context;
use super::format_number;
use super::local_charts::{self, Shade, SwarmRow};
use super::local_shap::{LocalShap, Record};
use super::records::FeatureValues;
use crate::dataset::value::Value;
use crate::layout::LOCAL_SHAP_FILE;
use std::collections::HashMap;

/// Features shown one by one in a record's waterfall; the rest are summed.
pub const WATERFALL_FEATURES: usize = 8;

/// The longest feature value shown in a waterfall label.
const VALUE_CHARS: usize = 24;

/// The beeswarm and the two example records of output `label` (shown as
/// `name`), for `features` in order of importance. `expected` is the
/// output's expected value, where the waterfalls start.
pub fn local_blocks(
    label: &str,
    name: &str,
    features: &[String],
    local: &LocalShap,
    expected: Option<f64>,
    context: &Context,
) -> Vec<Block> {
    let mut blocks = Vec::new();
    let values = local.values();
    let rows: Vec<SwarmRow> = features
        .iter()
        .map(|f| swarm_row(context.feature_label(f), &local.swarm(label, f), f, values))
        .filter(|row| !row.points.is_empty())
        .collect();
    if let Some(first) = rows.first() {
        let colours = if values.is_some() {
            "Each dot is one record; its colour is the record's value of the feature: numeric features from blue (low) to red (high), categorical ones a colour per category, named under the chart. A row whose red dots sit right of 0 means high values raise the score."
        } else {
            "Each dot is one record (grey: the dataset could not be read again for the feature values)."
        };
        blocks.push(Block::Chart(Chart {
            caption: format!(
                "Local SHAP values of {name}, {} records from {LOCAL_SHAP_FILE}, most important feature first. {colours}",
                first.points.len()
            ),
            svg: local_charts::beeswarm(
                &format!("SHAP values per record, {name}"),
                &rows,
                "SHAP value per record (change in the model score)",
            ),
            source: format!(
                "beeswarm_chart({}, {})",
                py(label),
                swarm_source(label, features, local)
            ),
        }));
    }
    if let (Some(expected), Some((lowest, highest))) = (expected, local.extremes(label)) {
        for (which, record) in [("highest", highest), ("lowest", lowest)] {
            blocks.push(Block::Chart(record_chart(
                label, name, which, record, expected, values, context,
            )));
        }
    }
    blocks
}

/// One beeswarm row: the records' SHAP values, coloured by their feature
/// values when known.
fn swarm_row(
    label: String,
    points: &[(u64, f64)],
    feature: &str,
    values: Option<&FeatureValues>,
) -> SwarmRow {
    let value_of = |row: u64| values.and_then(|v| v.value(feature, row));
    if values.is_some_and(|v| v.is_numeric(feature)) {
        let mut numbers: Vec<f64> = points
            .iter()
            .filter_map(|(row, _)| value_of(*row)?.as_f64())
            .collect();
        numbers.sort_by(f64::total_cmp);
        // Colour by rank, so one outlier does not wash out the rest.
        let rank = |x: f64| {
            let below = numbers.partition_point(|n| *n < x);
            let equal = numbers[below..].partition_point(|n| *n <= x);
            (below as f64 + (equal as f64 - 1.0) / 2.0) / (numbers.len() as f64 - 1.0).max(1.0)
        };
        let points = points
            .iter()
            .map(|(row, v)| {
                let shade = value_of(*row)
                    .and_then(Value::as_f64)
                    .map_or(Shade::Unknown, |x| Shade::Level(rank(x)));
                (*v, shade)
            })
            .collect();
        return SwarmRow {
            label,
            points,
            categories: Vec::new(),
        };
    }
    let category = |row: u64| value_of(row).filter(|v| !v.is_missing()).map(Value::py_str);
    let mut counts: HashMap<String, usize> = HashMap::new();
    for (row, _) in points {
        if let Some(c) = category(*row) {
            *counts.entry(c).or_default() += 1;
        }
    }
    let mut categories: Vec<String> = counts.keys().cloned().collect();
    // Most frequent first; ties alphabetically, so the order is stable.
    categories.sort_by(|a, b| counts[b].cmp(&counts[a]).then(a.cmp(b)));
    let points = points
        .iter()
        .map(|(row, v)| {
            let shade = category(*row)
                .and_then(|c| categories.iter().position(|k| *k == c))
                .map_or(Shade::Unknown, Shade::Category);
            (*v, shade)
        })
        .collect();
    SwarmRow {
        label,
        points,
        categories,
    }
}

/// The notebook call's arguments after the label: the rows drawn and each
/// feature's values for them, as Python literals.
fn swarm_source(label: &str, features: &[String], local: &LocalShap) -> String {
    let rows: Vec<u64> = features
        .first()
        .map(|f| local.swarm(label, f).iter().map(|(row, _)| *row).collect())
        .unwrap_or_default();
    let Some(values) = local.values() else {
        return format!("{rows:?}, {{}}");
    };
    let columns: Vec<String> = features
        .iter()
        .map(|f| {
            let cells: Vec<String> = rows
                .iter()
                .map(|row| python_value(values.value(f, *row)))
                .collect();
            format!("\n    {}: [{}]", py(f), cells.join(", "))
        })
        .collect();
    format!("{rows:?}, {{{},\n}}", columns.join(","))
}

/// A feature value as a Python literal (`None` when missing or unknown).
fn python_value(value: Option<&Value>) -> String {
    match value {
        Some(Value::Str(s)) => py(s),
        Some(Value::Bool(b)) => if *b { "True" } else { "False" }.into(),
        Some(v) => v
            .as_f64()
            .filter(|x| x.is_finite())
            .map_or_else(|| "None".into(), |x| format!("{x:?}")),
        None => "None".into(),
    }
}

/// `feature = value` for a waterfall row, the value shortened if long.
fn step_label(feature: &str, value: Option<&Value>) -> String {
    match value.filter(|v| !v.is_missing()) {
        Some(v) => {
            let text = match v.as_f64() {
                Some(x) if !matches!(v, Value::Bool(_)) => format_number(x),
                _ => v.py_str(),
            };
            let short: String = text.chars().take(VALUE_CHARS).collect();
            let ellipsis = if short.len() < text.len() { "…" } else { "" };
            format!("{feature} = {short}{ellipsis}")
        }
        None => feature.to_string(),
    }
}

/// The waterfall of one record: its largest SHAP values one by one, the
/// rest summed, from the expected value to the record's score.
fn record_chart(
    label: &str,
    name: &str,
    which: &str,
    record: &Record,
    expected: f64,
    values: Option<&FeatureValues>,
    context: &Context,
) -> Chart {
    let mut ranked: Vec<&(String, f64)> = record
        .values
        .iter()
        .filter(|(_, v)| v.is_finite())
        .collect();
    ranked.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()));
    // A single remaining feature is shown by name, not as "1 other features".
    let shown = match ranked.len() <= WATERFALL_FEATURES + 1 {
        true => ranked.len(),
        false => WATERFALL_FEATURES,
    };
    let mut steps: Vec<(String, f64)> = ranked
        .iter()
        .take(shown)
        .map(|(f, v)| {
            let value = values.and_then(|vs| vs.value(f, record.row));
            (step_label(&context.feature_label(f), value), *v)
        })
        .collect();
    let rest = &ranked[steps.len()..];
    if !rest.is_empty() {
        steps.push((
            format!("{} other features", rest.len()),
            rest.iter().map(|(_, v)| v).sum(),
        ));
    }
    let score = expected + record.total();
    let mut arguments: Vec<String> = Vec::new();
    if let Some(values) = values {
        arguments = record
            .values
            .iter()
            .map(|(f, _)| format!("{}: {}", py(f), python_value(values.value(f, record.row))))
            .collect();
    }
    Chart {
        caption: format!(
            "The record with the {which} {name} in {LOCAL_SHAP_FILE} (row {}, counting from 0): from the expected value {}, each feature's SHAP value moves the score, red up and blue down, to {}. The {} largest are shown one by one.",
            record.row,
            format_number(expected),
            format_number(score),
            shown,
        ),
        svg: local_charts::waterfall(
            &format!("Record {} ({which} score), {name}", record.row),
            expected,
            &steps,
            "model score",
            ("expected value", "score"),
        ),
        source: format!(
            "record_chart({}, {}, {{{}}})",
            py(label),
            record.row,
            arguments.join(", ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::value::ColumnKind;

    #[test]
    fn numeric_values_colour_by_rank_and_categories_by_frequency() {
        let values = FeatureValues::from_values(vec![
            (
                "age",
                ColumnKind::Int,
                vec![
                    (0, Value::Int(20)),
                    (1, Value::Int(60)),
                    (2, Value::Int(40)),
                ],
            ),
            (
                "housing",
                ColumnKind::Object,
                vec![
                    (0, Value::Str("rent".into())),
                    (1, Value::Str("own".into())),
                    (2, Value::Str("own".into())),
                ],
            ),
        ]);
        let points = [(0, 0.1), (1, -0.2), (2, 0.0), (3, 0.3)];
        let age = swarm_row("age".into(), &points, "age", Some(&values));
        let shades: Vec<Shade> = age.points.iter().map(|(_, s)| *s).collect();
        assert_eq!(
            shades,
            [
                Shade::Level(0.0),
                Shade::Level(1.0),
                Shade::Level(0.5),
                Shade::Unknown
            ]
        );
        let housing = swarm_row("housing".into(), &points, "housing", Some(&values));
        assert_eq!(housing.categories, ["own", "rent"]);
        assert_eq!(housing.points[0].1, Shade::Category(1));
        assert_eq!(housing.points[1].1, Shade::Category(0));
    }

    #[test]
    fn values_become_python_literals_and_labels() {
        assert_eq!(python_value(Some(&Value::Str("a\"b".into()))), r#""a\"b""#);
        assert_eq!(python_value(Some(&Value::Float(f64::NAN))), "None");
        assert_eq!(python_value(Some(&Value::Int(3))), "3.0");
        assert_eq!(python_value(None), "None");
        assert_eq!(
            step_label("credit_amount", Some(&Value::Float(2320.0))),
            "credit_amount = 2320"
        );
        assert_eq!(step_label("sex", Some(&Value::Missing)), "sex");
    }
}
