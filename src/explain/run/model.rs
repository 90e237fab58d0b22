//! The model as explanations see it: a source of score vectors, one per
//! output, called in blocks of synthetic records.

use super::rows::Features;
use crate::config::AnalysisConfig;
use crate::dataset::value::Cell;
use crate::error::{JobError, Result};
use crate::predictor::{outputs, ModelAccess, Predictor};
use serde_json::Value as Json;
use std::ops::Range;
use std::sync::OnceLock;

/// The model behind the predictor, answering with score vectors.
pub(super) struct Model {
    pub(super) predictor: Predictor,
    pub(super) runtime: tokio::runtime::Runtime,
    /// Scores per record, fixed by the first answer; every later answer
    /// must have as many.
    pub(super) num_outputs: OnceLock<usize>,
}

impl Model {
    pub(super) fn new(
        config: &AnalysisConfig,
        features: &Features,
        model: &ModelAccess,
    ) -> Result<Model> {
        let predictor = Predictor::new(config, model, features.names.clone())?;
        tracing::info!(target = predictor.target(), "explaining the model");
        Ok(Model {
            predictor,
            runtime: crate::predictor::runtime()?,
            num_outputs: OnceLock::new(),
        })
    }

    /// The model's scores for `records`, one vector per output holding one
    /// score per record. `describe` names record `i` in messages.
    pub(super) async fn scores(
        &self,
        records: &[Vec<Cell>],
        describe: impl Fn(usize) -> String,
    ) -> Result<Vec<Vec<f64>>> {
        let answers = self
            .predictor
            .predict(0, records)
            .await
            .map_err(|e| JobError {
                category: e.category,
                message: format!(
                    "{} (while explaining {}; the row numbers count the synthetic records of that call)",
                    e.message,
                    describe(0)
                ),
            })?;
        let mut by_output: Vec<Vec<f64>> = Vec::new();
        for (i, answer) in answers.iter().enumerate() {
            let scores = outputs::scores(answer).map_err(|why| {
                JobError::client(format!(
                    "The model's score for {} is not a number: {why}. The model answered label={} score={}; check predictor.label and predictor.probability.",
                    describe(i),
                    answer.label.as_ref().map_or("(none)".into(), Json::to_string),
                    answer.score.as_ref().map_or("(none)".into(), Json::to_string),
                ))
            })?;
            let expected = *self.num_outputs.get_or_init(|| scores.len());
            if scores.len() != expected || expected == 0 {
                return Err(JobError::client(format!(
                    "The model gave {} scores for {} but {expected} for earlier records; SHAP and PDP need the same number of scores for every record.",
                    scores.len(),
                    describe(i)
                )));
            }
            by_output.resize_with(expected, || Vec::with_capacity(answers.len()));
            for (column, score) in by_output.iter_mut().zip(scores) {
                column.push(score);
            }
        }
        Ok(by_output)
    }
}

/// Names of the model's `count` outputs: `predictor.label_headers` when
/// there is one per output, else `label0`, `label1`, ….
pub(super) fn label_names(config: &AnalysisConfig, count: usize) -> Vec<String> {
    let headers = config
        .predictor
        .as_ref()
        .and_then(|p| p.label_headers.as_ref());
    match headers {
        Some(headers) if headers.len() == count => headers.iter().map(|v| v.py_str()).collect(),
        _ => (0..count).map(|k| format!("label{k}")).collect(),
    }
}

/// `0..total` cut into consecutive ranges of `size` (at least 1) items.
pub(super) fn ranges(total: usize, size: usize) -> impl Iterator<Item = Range<usize>> {
    let size = size.max(1);
    (0..total)
        .step_by(size)
        .map(move |start| start..total.min(start + size))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_cover_every_item_once() {
        assert_eq!(ranges(5, 2).collect::<Vec<_>>(), vec![0..2, 2..4, 4..5]);
        // A size of 0 (a row larger than the budget) still makes progress.
        assert_eq!(ranges(2, 0).collect::<Vec<_>>(), vec![0..1, 1..2]);
        assert_eq!(ranges(0, 3).count(), 0);
    }
}
