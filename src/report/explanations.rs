//! The explanation sections: SHAP feature importance and partial
//! dependence, with titled axes, the model's output named for what it is,
//! the facet columns pointed out, and one scale shared where charts are
//! compared.

use super::charts::{self, Series};
use super::document::{py, Block, Chart, Row, Section, Table};
use super::local_explanations::local_blocks;
use super::local_shap::LocalShap;
use super::{format_number, RunSummary};
use crate::layout::LOCAL_SHAP_FILE;
use serde_json::{Map, Value as Json};

/// What the explanation sections need to know about the run.
pub struct Context {
    /// The facet columns of the bias analysis.
    facets: Vec<String>,
    /// The single output's name, e.g. "Model score (probability of risk = 1)".
    score: String,
    /// The SHAP parameters, for captions.
    shap_parameters: String,
    /// The value axis of global SHAP charts.
    shap_axis: String,
}

impl Context {
    /// The context of `analysis`, run as `summary` says.
    pub fn new(analysis: &Json, summary: &RunSummary) -> Context {
        let mut facets: Vec<String> = Vec::new();
        let sections = ["pre_training_bias_metrics", "post_training_bias_metrics"]
            .iter()
            .filter_map(|k| analysis.get(*k)?.get("facets")?.as_object());
        for name in sections.flat_map(|f| f.keys()) {
            if !facets.contains(name) {
                facets.push(name.clone());
            }
        }
        let score = match (&summary.label, &summary.positive_label_values) {
            (Some(label), Some(values)) => {
                format!("Model score (probability of {label} = {values})")
            }
            _ => "Model score".into(),
        };
        let parameter = |name: &str| {
            summary
                .parameters
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
        };
        let agg = parameter("shap.agg_method").unwrap_or("mean_abs");
        let shap_parameters = [
            "shap.agg_method",
            "shap.num_samples",
            "shap.baseline",
            "shap.seed",
        ]
        .iter()
        .filter_map(|&n| {
            Some(format!(
                "{} {}",
                n.trim_start_matches("shap."),
                parameter(n)?
            ))
        })
        .collect::<Vec<_>>()
        .join("; ");
        let unit = if parameter("shap.use_logit") == Some("true") {
            "change in log-odds"
        } else {
            "change in the model score"
        };
        let shap_axis = match agg {
            "median" => format!("median SHAP value ({unit})"),
            "mean_sq" => format!("mean squared SHAP value ({unit}, squared)"),
            _ => format!("mean |SHAP value| ({unit})"),
        };
        Context {
            facets,
            score,
            shap_parameters,
            shap_axis,
        }
    }

    /// The name of output `label` of `count` outputs: the score's meaning
    /// when there is one output named by default (`label0`).
    fn output_name(&self, label: &str, count: usize) -> String {
        if count == 1 && label.starts_with("label") {
            self.score.clone()
        } else {
            label.to_string()
        }
    }

    /// `feature`, marked when it is a facet column.
    pub(super) fn feature_label(&self, feature: &str) -> String {
        if self.facets.iter().any(|f| f == feature) {
            format!("{feature} (facet)")
        } else {
            feature.to_string()
        }
    }
}

/// The global SHAP values of one output, most important first.
fn global_values(result: &Json) -> Vec<(String, f64)> {
    let mut features: Vec<(String, f64)> = result
        .get("global_shap_values")
        .and_then(Json::as_object)
        .into_iter()
        .flatten()
        .map(|(f, v)| (f.clone(), v.as_f64().unwrap_or(f64::NAN)))
        .collect();
    // Most important first; a stable sort keeps config order among ties.
    features.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()));
    features
}

/// The sentence linking bias and importance: where the facet columns rank.
fn facet_link(context: &Context, ranked: &[(String, f64)]) -> Option<String> {
    let found: Vec<String> = context
        .facets
        .iter()
        .filter_map(|facet| {
            let rank = ranked.iter().position(|(f, _)| f == facet)?;
            Some(format!("{facet} ranks {} of {}", rank + 1, ranked.len()))
        })
        .collect();
    (!found.is_empty()).then(|| {
        format!(
            "The model uses the facet columns directly: {}. Read the bias sections with this in mind.",
            found.join(", ")
        )
    })
}

/// The SHAP section: one chart on one scale for all outputs, the spread of
/// local values per output, and a table.
pub fn shap_section(
    shap: &Map<String, Json>,
    local: Option<&LocalShap>,
    context: &Context,
) -> Section {
    let labels: Vec<&String> = shap.keys().collect();
    let names: Vec<String> = labels
        .iter()
        .map(|l| context.output_name(l, labels.len()))
        .collect();
    let first = shap.values().next().map(global_values).unwrap_or_default();
    let features: Vec<String> = first.iter().map(|(f, _)| f.clone()).collect();
    let per_feature = |result: &Json, key: &str| -> Option<Vec<f64>> {
        let global = result.get(key)?;
        Some(
            features
                .iter()
                .map(|f| global.get(f).and_then(Json::as_f64).unwrap_or(f64::NAN))
                .collect(),
        )
    };
    let values: Vec<Vec<f64>> = shap
        .values()
        .map(|result| {
            per_feature(result, "global_shap_values")
                .unwrap_or_else(|| vec![f64::NAN; features.len()])
        })
        .collect();
    // Standard errors of the estimates, when the job computed them.
    let errors: Vec<Option<Vec<f64>>> = shap
        .values()
        .map(|result| per_feature(result, "global_shap_values_stderr"))
        .collect();
    let has_errors = errors.iter().any(Option::is_some);
    let mut blocks = Vec::new();
    for (label, name) in labels.iter().zip(&names) {
        if let Some(expected) = shap[label.as_str()]
            .get("expected_value")
            .and_then(Json::as_f64)
        {
            blocks.push(Block::Paragraph {
                text: format!(
                    "{name}: expected value (the model's average output on the baseline) {}.",
                    format_number(expected)
                ),
            });
        }
    }
    if let Some(link) = facet_link(context, &first) {
        blocks.push(Block::Paragraph { text: link });
    }
    let shown: Vec<String> = features.iter().map(|f| context.feature_label(f)).collect();
    let series: Vec<Series> = names
        .iter()
        .zip(&values)
        .map(|(name, values)| Series { name, values })
        .collect();
    let scope = if labels.len() > 1 {
        "all outputs on one scale, ordered by the first output"
    } else {
        "most important feature first"
    };
    let whiskers = if has_errors {
        " Whiskers span ±1 standard error of each estimate."
    } else {
        ""
    };
    blocks.push(Block::Chart(Chart {
        caption: format!(
            "Global SHAP values, {scope}. Aggregation and sampling: {}.{whiskers}",
            context.shap_parameters
        ),
        svg: charts::bar_chart_with_errors(
            "Global SHAP values",
            &shown,
            &series,
            &errors,
            &context.shap_axis,
        ),
        source: "shap_chart()".into(),
    }));
    for (label, name) in labels.iter().zip(&names) {
        let spread: Vec<_> = features
            .iter()
            .filter_map(|f| Some((context.feature_label(f), local?.spread(label, f)?)))
            .collect();
        if !spread.is_empty() {
            blocks.push(Block::Chart(Chart {
                caption: format!("Local SHAP values of {name} across records ({LOCAL_SHAP_FILE}): the box holds the middle half, the line is the median, whiskers reach the 5th and 95th percentiles. Left of 0 the feature lowers the score of a record, right of 0 it raises it."),
                svg: charts::box_plot(
                    &format!("Local SHAP values, {name}"),
                    &spread,
                    "SHAP value per record (change in the model score)",
                ),
                source: format!("local_shap_chart({})", py(label)),
            }));
        }
        if let Some(local) = local {
            let expected = shap[label.as_str()]
                .get("expected_value")
                .and_then(Json::as_f64);
            blocks.extend(local_blocks(
                label, name, &features, local, expected, context,
            ));
        }
    }
    let mut columns = vec!["Feature".to_string()];
    columns.extend(names.iter().map(|n| format!("Global SHAP, {n}")));
    let rows = features
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let mut cells = vec![context.feature_label(f)];
            cells.extend(values.iter().zip(&errors).map(|(v, e)| {
                match e.as_ref().map(|e| e[i]).filter(|e| e.is_finite()) {
                    Some(e) => format!("{} ± {}", format_number(v[i]), format_number(e)),
                    None => format_number(v[i]),
                }
            }));
            Row::plain(cells)
        })
        .collect();
    let numeric = (0..columns.len()).map(|i| i > 0).collect();
    let mut table = Table::new(columns, numeric, rows);
    table.source = "shap_table()".into();
    blocks.push(Block::Table(table));
    Section {
        id: "feature-importance".into(),
        title: "Feature importance (SHAP)".into(),
        blocks,
    }
}

fn numbers(v: &Json) -> Vec<f64> {
    v.as_array()
        .into_iter()
        .flatten()
        .map(|x| x.as_f64().unwrap_or(f64::NAN))
        .collect()
}

/// The lowest and highest prediction of every plot, so all plots share
/// one y range.
fn prediction_span(pdp: &[Json]) -> (f64, f64) {
    pdp.iter()
        .filter_map(|p| p.get("model_predictions")?.as_array())
        .flatten()
        .flat_map(numbers)
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        })
}

/// The partial dependence section.
pub fn pdp_section(pdp: &[Json], context: &Context) -> Section {
    let span = prediction_span(pdp);
    let mut blocks = vec![Block::Paragraph {
        text: format!(
            "Each chart shows the model's average score when every record's feature is set to the value on the x axis, the other features unchanged. Line charts of numeric features share one y range ({} to {}), so a steep line is a large effect; bar charts of categorical features start at 0 and reach the same upper end, categories sorted by score. Under each numeric chart a strip of grey bars gives the % of records in each range (its own scale), so sparse regions, where the curve rests on few records, stand out.",
            format_number(span.0),
            format_number(span.1)
        ),
    }];
    for (index, plot) in pdp.iter().enumerate() {
        let feature = plot
            .get("feature_name")
            .and_then(Json::as_str)
            .unwrap_or("?");
        let data_type = plot.get("data_type").and_then(Json::as_str).unwrap_or("");
        blocks.push(Block::Heading {
            text: format!("{} ({data_type})", context.feature_label(feature)),
        });
        if let Some(error) = plot.get("error").and_then(Json::as_str) {
            blocks.push(Block::Notice {
                text: format!("Not computed: {error}"),
            });
            continue;
        }
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
                let header = header.map_or_else(|| format!("label{i}"), str::to_string);
                context.output_name(&header, predictions.len())
            })
            .collect();
        let values = plot
            .get("feature_values")
            .and_then(Json::as_array)
            .map_or(&[][..], Vec::as_slice);
        let title = format!("Partial dependence on {feature}");
        let y_title = if predictions.len() == 1 {
            average_of(&headers[0])
        } else {
            "average model score".to_string()
        };
        let y_title = y_title.as_str();
        let svg = if data_type == "numerical" {
            let series: Vec<Series> = headers
                .iter()
                .zip(&predictions)
                .map(|(name, values)| Series { name, values })
                .collect();
            let x = numbers(&Json::Array(values.to_vec()));
            let share = plot.get("data_distribution").map(numbers);
            charts::line_chart_on(
                &title,
                &x,
                &series,
                share.as_deref(),
                (feature, y_title),
                span,
            )
        } else {
            let (categories, sorted) = by_score(values, &predictions);
            let series: Vec<Series> = headers
                .iter()
                .zip(&sorted)
                .map(|(name, values)| Series { name, values })
                .collect();
            charts::bar_chart_spanning(&title, &categories, &series, y_title, span)
        };
        blocks.push(Block::Chart(Chart {
            caption: format!("Average model score as {feature} varies."),
            svg,
            source: format!("pdp_chart({index})"),
        }));
    }
    Section {
        id: "partial-dependence".into(),
        title: "Partial dependence".into(),
        blocks,
    }
}

/// "average model score (…)" for an output named "Model score (…)".
fn average_of(output: &str) -> String {
    let mut chars = output.chars();
    let first = chars.next().map(|c| c.to_lowercase().to_string());
    format!("average {}{}", first.unwrap_or_default(), chars.as_str())
}

/// Categories sorted by the first output's score, highest first, with each
/// output's predictions in that order.
fn by_score(values: &[Json], predictions: &[Vec<f64>]) -> (Vec<String>, Vec<Vec<f64>>) {
    let mut order: Vec<usize> = (0..values.len()).collect();
    if let Some(first) = predictions.first() {
        let key = |i: &usize| first.get(*i).copied().unwrap_or(f64::NAN);
        order.sort_by(|a, b| key(b).total_cmp(&key(a)));
    }
    let categories = order
        .iter()
        .map(|&i| {
            let v = &values[i];
            v.as_str().map_or_else(|| v.to_string(), str::to_string)
        })
        .collect();
    let sorted = predictions
        .iter()
        .map(|p| {
            order
                .iter()
                .map(|&i| p.get(i).copied().unwrap_or(f64::NAN))
                .collect()
        })
        .collect();
    (categories, sorted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn one_default_output_is_named_as_the_model_score_and_facets_are_linked() {
        let analysis = json!({"pre_training_bias_metrics": {"facets": {"sex": []}}});
        let context = Context::new(&analysis, &RunSummary::example());
        assert_eq!(
            context.output_name("label0", 1),
            "Model score (probability of risk = 1)"
        );
        assert_eq!(context.output_name("high risk", 3), "high risk");
        let ranked = [("age".to_string(), 0.3), ("sex".to_string(), 0.1)];
        assert_eq!(
            facet_link(&context, &ranked).unwrap(),
            "The model uses the facet columns directly: sex ranks 2 of 2. Read the bias sections with this in mind."
        );
    }

    #[test]
    fn the_y_axis_names_the_averaged_score() {
        assert_eq!(
            average_of("Model score (probability of risk = 1)"),
            "average model score (probability of risk = 1)"
        );
    }

    #[test]
    fn categories_are_sorted_by_score() {
        let values = [json!("little"), json!("rich"), json!("moderate")];
        let (categories, sorted) = by_score(&values, &[vec![0.2, 0.9, 0.5]]);
        assert_eq!(categories, ["rich", "moderate", "little"]);
        assert_eq!(sorted, [vec![0.9, 0.5, 0.2]]);
    }
}
