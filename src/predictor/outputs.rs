//! From a model output to what the analyses use (contract §4.4): the
//! predicted label for post-training bias, the score vector for SHAP/PDP.

use super::response::ModelOutput;
use crate::config::{AnalysisConfig, ConfigValue};
use crate::dataset::value::Cell;
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
