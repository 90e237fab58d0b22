//! From a model output to what the analyses use: the
//! predicted label for post-training bias, the score vector for SHAP/PDP.

use super::response::ModelOutput;
use crate::config::{AnalysisConfig, ConfigValue};
use crate::dataset::value::{Cell, ColumnKind};
use serde_json::Value as Json;

/// How a scalar score becomes a predicted label.
#[derive(Debug, Clone, PartialEq)]
pub enum ScalarScore {
    /// Binary classification: `1` when the score is above the threshold, else `0`.
    Threshold(f64),
    /// Regression against a label threshold: the score itself is the prediction.
    Raw,
}

/// Turns model outputs into predicted labels.
#[derive(Debug, Clone)]
pub struct Labeler {
    headers: Option<Vec<Json>>,
    scalar: ScalarScore,
}

impl Labeler {
    /// The labeler the config implies: `label_headers` name the classes of
    /// a score vector; a scalar score is thresholded by
    /// `probability_threshold` (0.5) unless the label is judged by a
    /// threshold itself (one numeric label value other than 0 or 1), in
    /// which case the score is compared with that threshold as a label would be.
    pub fn new(config: &AnalysisConfig) -> Labeler {
        let headers = config
            .predictor
            .as_ref()
            .and_then(|p| p.label_headers.as_ref())
            .map(|h| h.iter().map(config_json).collect());
        let label_threshold = match config.label_values_or_threshold.as_deref() {
            Some([ConfigValue::Int(i)]) => Some(*i as f64).filter(|v| *v != 0.0 && *v != 1.0),
            Some([ConfigValue::Float(f)]) => Some(*f).filter(|v| *v != 0.0 && *v != 1.0),
            _ => None,
        };
        let scalar = match label_threshold {
            Some(_) => ScalarScore::Raw,
            None => ScalarScore::Threshold(config.probability_threshold.unwrap_or(0.5)),
        };
        Labeler { headers, scalar }
    }

    /// The predicted label of one output, or why there is none.
    pub fn label(&self, output: &ModelOutput) -> Result<Cell, String> {
        match (&output.label, &output.score) {
            (Some(Json::Array(labels)), Some(Json::Array(scores))) if labels.len() == scores.len() => {
                Ok(json_cell(&labels[argmax(scores)?]))
            }
            (Some(Json::Array(_)), _) => Err(format!(
                "predictor.label gives a list of labels ({}), which needs a probability list of the same length to choose from",
                output.label.as_ref().map(Json::to_string).unwrap_or_default()
            )),
            (Some(label), _) => Ok(json_cell(label)),
            (None, Some(Json::Array(scores))) => {
                let best = argmax(scores)?;
                Ok(match &self.headers {
                    Some(h) if h.len() == scores.len() => json_cell(&h[best]),
                    Some(h) => {
                        return Err(format!(
                            "predictor.label_headers names {} classes but the model gave {} scores",
                            h.len(),
                            scores.len()
                        ))
                    }
                    None => Cell::Int(best as i64),
                })
            }
            (None, Some(score)) => {
                let s = number(score)?;
                Ok(match self.scalar {
                    ScalarScore::Threshold(t) => Cell::Int((s > t) as i64),
                    ScalarScore::Raw => Cell::Float(s),
                })
            }
            (None, None) => Err("the model output has neither a label nor a score".into()),
        }
    }
}

impl Labeler {
    /// Checks the predicted labels of the first batch for what no later row
    /// can make right: an output with no usable label or score, or labels of
    /// a kind (numbers, text) that can never equal `label_values`. What later
    /// rows can still change (no positive prediction yet) is left to the
    /// caller, in [`FirstBatch::warning`].
    pub fn fit(
        &self,
        outputs: &[ModelOutput],
        label_values: &[ConfigValue],
    ) -> Result<FirstBatch, String> {
        let labels = outputs
            .iter()
            .map(|o| {
                self.label(o).map_err(|why| {
                    format!(
                        "{why}. The model's first answer gave label={} score={}; check predictor.label, predictor.probability and predictor.label_headers",
                        o.label.as_ref().map_or("(none)".into(), Json::to_string),
                        o.score.as_ref().map_or("(none)".into(), Json::to_string),
                    )
                })
            })
            .collect::<Result<Vec<Cell>, String>>()?;
        let predicted_numeric =
            ColumnKind::infer(labels.iter().filter(|c| **c != Cell::Missing)) != ColumnKind::Object;
        let values_numeric = label_values.iter().all(|v| match v {
            ConfigValue::Str(s) => crate::dataset::value::parse_float(s.trim()).is_some(),
            _ => true,
        });
        let expected = label_values
            .iter()
            .map(ConfigValue::py_str)
            .collect::<Vec<_>>()
            .join(", ");
        if predicted_numeric != values_numeric {
            let (got, want, fix) = match predicted_numeric {
                true => ("numbers", "text", "set predictor.label_headers to the class names in score order, or label_values_or_threshold to the numbers the model predicts"),
                false => ("text", "numbers", "set label_values_or_threshold to the classes the model predicts, or point predictor.label / predictor.probability at a numeric output"),
            };
            return Err(format!(
                "The model predicts {got} ({}) but label_values_or_threshold is {want} ([{expected}]): no predicted label can ever be positive; {fix}",
                tally(&labels)
            ));
        }
        let positives = labels
            .iter()
            .filter(|l| self.is_positive(l, label_values))
            .count();
        Ok(FirstBatch {
            labels,
            positives,
            expected,
        })
    }

    /// Whether a predicted label counts as positive: above the label's
    /// threshold when scores are raw, else equal to a label value.
    fn is_positive(&self, label: &Cell, label_values: &[ConfigValue]) -> bool {
        let value = ColumnKind::Object.value_of(label);
        match (&self.scalar, label_values) {
            (ScalarScore::Raw, [threshold]) => {
                let t = config_json(threshold).as_f64();
                matches!((value.as_f64(), t), (Some(v), Some(t)) if v > t)
            }
            _ => label_values.iter().any(|v| {
                let text = v.py_str();
                value.py_str() == text
                    || matches!(
                        (value.as_f64(), crate::dataset::value::parse_float(&text)),
                        (Some(a), Some(b)) if a == b
                    )
            }),
        }
    }
}

/// The predicted labels of a first batch that [`Labeler::fit`] accepted.
#[derive(Debug)]
pub struct FirstBatch {
    /// One predicted label per record.
    pub labels: Vec<Cell>,
    /// How many of them are positive.
    pub positives: usize,
    /// The positive label values as the config gives them.
    expected: String,
}

impl FirstBatch {
    /// When no label is positive yet: what was seen and what to check. Not
    /// an error, since later rows may still be positive; if none is, the
    /// job fails with smclarify's "No Label values are present" error.
    pub fn warning(&self) -> Option<String> {
        (self.positives == 0).then(|| {
            format!(
                "none of the first {} predicted labels is positive (predicted {}; positive label values [{}]); if no row is, post-training bias fails with \"No Label values are present in the predicted Label Column\": check probability_threshold, predictor.probability and label_values_or_threshold",
                self.labels.len(),
                tally(&self.labels),
                self.expected
            )
        })
    }
}

/// Predicted labels counted by value, most frequent first (ten at most),
/// e.g. `0: 812, 1: 188`: the observed values messages show.
pub fn tally(labels: &[Cell]) -> String {
    let mut counts: Vec<(String, u64)> = Vec::new();
    for label in labels {
        let text = ColumnKind::Object.value_of(label).py_str();
        match counts.iter_mut().find(|(t, _)| *t == text) {
            Some((_, n)) => *n += 1,
            None => counts.push((text, 1)),
        }
    }
    counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    counts
        .iter()
        .take(10)
        .map(|(t, n)| format!("{t}: {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The score vector of one output for SHAP and PDP: `probability` if
/// located, else the value `label` located, else the whole output.
pub fn scores(output: &ModelOutput) -> Result<Vec<f64>, String> {
    match output.score.as_ref().or(output.label.as_ref()) {
        Some(Json::Array(items)) => items.iter().map(number).collect(),
        Some(v) => Ok(vec![number(v)?]),
        None => Err("the model output has no score".into()),
    }
}

fn number(v: &Json) -> Result<f64, String> {
    match v {
        Json::Number(n) => n.as_f64().ok_or_else(|| format!("{n} is not a number")),
        Json::String(s) => crate::dataset::value::parse_float(s.trim())
            .ok_or_else(|| format!("Could not convert string to float: {s:?}")),
        Json::Bool(b) => Ok(*b as i64 as f64),
        other => Err(format!("Could not convert string to float: {other}")),
    }
}

/// Index of the first largest score (ties keep the first, as numpy's argmax).
fn argmax(scores: &[Json]) -> Result<usize, String> {
    let values: Vec<f64> = scores.iter().map(number).collect::<Result<_, _>>()?;
    let mut best = 0;
    for (i, v) in values.iter().enumerate() {
        if *v > values[best] {
            best = i;
        }
    }
    if values.is_empty() {
        return Err("the model gave an empty list of scores".into());
    }
    Ok(best)
}

/// A JSON scalar as a typed cell (integral numbers stay integers).
fn json_cell(v: &Json) -> Cell {
    match v {
        Json::Null => Cell::Missing,
        Json::Bool(b) => Cell::Bool(*b),
        Json::Number(n) => n
            .as_i64()
            .map_or_else(|| Cell::Float(n.as_f64().unwrap_or(f64::NAN)), Cell::Int),
        Json::String(s) => Cell::Str(s.as_str().into()),
        other => Cell::Str(other.to_string().into()),
    }
}

fn config_json(v: &ConfigValue) -> Json {
    match v {
        ConfigValue::Int(i) => Json::from(*i),
        ConfigValue::Float(f) => Json::from(*f),
        ConfigValue::Str(s) => Json::String(s.clone()),
        ConfigValue::Bool(b) => Json::Bool(*b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn labeler(headers: Option<Vec<Json>>, scalar: ScalarScore) -> Labeler {
        Labeler { headers, scalar }
    }

    fn out(label: Option<Json>, score: Option<Json>) -> ModelOutput {
        ModelOutput { label, score }
    }

    #[test]
    fn scalar_scores_are_thresholded_strictly() {
        let l = labeler(None, ScalarScore::Threshold(0.5));
        assert_eq!(l.label(&out(None, Some(json!(0.5)))).unwrap(), Cell::Int(0));
        assert_eq!(
            l.label(&out(None, Some(json!(0.51)))).unwrap(),
            Cell::Int(1)
        );
        assert_eq!(
            l.label(&out(None, Some(json!("0.7")))).unwrap(),
            Cell::Int(1)
        );
        let raw = labeler(None, ScalarScore::Raw);
        assert_eq!(
            raw.label(&out(None, Some(json!(41.5)))).unwrap(),
            Cell::Float(41.5)
        );
    }

    #[test]
    fn vectors_use_argmax_with_headers_or_candidate_labels() {
        let l = labeler(
            Some(vec![json!("cat"), json!("dog"), json!("fish")]),
            ScalarScore::Threshold(0.5),
        );
        assert_eq!(
            l.label(&out(None, Some(json!([0.2, 0.5, 0.5])))).unwrap(),
            Cell::Str("dog".into())
        );
        assert!(l
            .label(&out(None, Some(json!([0.2, 0.8]))))
            .unwrap_err()
            .contains("names 3 classes"));
        let plain = labeler(None, ScalarScore::Threshold(0.5));
        assert_eq!(
            plain.label(&out(None, Some(json!([0.2, 0.8])))).unwrap(),
            Cell::Int(1)
        );
        assert_eq!(
            plain
                .label(&out(Some(json!(["a", "b"])), Some(json!([0.9, 0.1]))))
                .unwrap(),
            Cell::Str("a".into())
        );
        assert_eq!(
            plain.label(&out(Some(json!(1)), Some(json!(0.1)))).unwrap(),
            Cell::Int(1)
        );
    }

    #[test]
    fn the_first_batch_fails_only_for_what_no_row_can_fix() {
        let l = labeler(None, ScalarScore::Threshold(0.5));
        let scores = |v: &[Json]| -> Vec<ModelOutput> {
            v.iter().map(|s| out(None, Some(s.clone()))).collect()
        };
        let one = [ConfigValue::Int(1)];
        let fine = l.fit(&scores(&[json!(0.2), json!(0.9)]), &one).unwrap();
        assert_eq!((fine.positives, fine.warning()), (1, None));
        // Nothing positive yet is only a warning: later rows may change it.
        let none = l.fit(&scores(&[json!(0.2), json!(0.3)]), &one).unwrap();
        assert!(
            none.warning().unwrap().contains("predicted 0: 2"),
            "{none:?}"
        );
        let e = l.fit(&scores(&[json!("cat")]), &one).unwrap_err();
        assert!(
            e.contains("Could not convert") && e.contains("predictor.probability"),
            "{e}"
        );
        let good = [ConfigValue::Str("good".into())];
        let e = l
            .fit(&scores(&[json!(0.2), json!(0.9), json!(0.8)]), &good)
            .unwrap_err();
        assert!(
            e.contains("predicts numbers (1: 2, 0: 1)") && e.contains("[good]"),
            "{e}"
        );
        let text = [out(Some(json!("yes")), None)];
        assert!(l
            .fit(&text, &one)
            .unwrap_err()
            .contains("predicts text (yes: 1)"));
    }

    #[test]
    fn scores_come_from_probability_then_label() {
        assert_eq!(
            scores(&out(Some(json!(1)), Some(json!([0.1, 0.9])))).unwrap(),
            vec![0.1, 0.9]
        );
        assert_eq!(scores(&out(Some(json!("0.3")), None)).unwrap(), vec![0.3]);
        assert!(scores(&out(None, Some(json!("cat"))))
            .unwrap_err()
            .contains("Could not convert string to float"));
    }
}
