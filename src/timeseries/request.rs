//! One forecast request record per coalition, rendered from
//! `predictor.record_template` with `$start_time`, `$target_time_series`,
//! `$related_time_series` and `$static_covariates`. The batch body
//! (`content_template` with `$record` or `$records`) is the predictor's
//! job, as for tabular records.
//!
//! Each value's text is rendered once per item, for its actual and its
//! baseline value; a record is those texts joined, so a coalition costs a
//! copy of bytes, not a number formatting per value.

use super::dataset::Item;
use super::shapley::{Coalition, Layout};
use crate::error::{JobError, Result};

/// The placeholders of a record template.
const PLACEHOLDERS: [(&str, Piece); 4] = [
    ("$start_time", Piece::StartTime),
    ("$target_time_series", Piece::Target),
    ("$related_time_series", Piece::Related),
    ("$static_covariates", Piece::Statics),
];

/// A parsed record template: text and placeholders in order.
#[derive(Debug, Clone)]
pub struct RecordTemplate {
    pieces: Vec<Piece>,
    literals: Vec<String>,
}

/// One part of a record template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Piece {
    /// Template text, the next of [`RecordTemplate::literals`].
    Literal,
    /// The item's first timestamp as a JSON string.
    StartTime,
    /// The target history as a JSON list.
    Target,
    /// A JSON list of the related series' lists.
    Related,
    /// A JSON list of the static covariates.
    Statics,
}

impl RecordTemplate {
    /// Parses `predictor.record_template`; without one, DeepAR's record
    /// (`start`, `target`, `dynamic_feat` with related series, `cat` with
    /// static covariates).
    pub fn new(template: Option<&str>, related: usize, statics: usize) -> Result<RecordTemplate> {
        let default;
        let template = match template {
            Some(t) => t,
            None => {
                default = format!(
                    "{{\"start\": $start_time, \"target\": $target_time_series{}{}}}",
                    if related > 0 {
                        ", \"dynamic_feat\": $related_time_series"
                    } else {
                        ""
                    },
                    if statics > 0 {
                        ", \"cat\": $static_covariates"
                    } else {
                        ""
                    },
                );
                &default
            }
        };
        let mut pieces = Vec::new();
        let mut literals = Vec::new();
        let mut rest = template;
        while !rest.is_empty() {
            let next = PLACEHOLDERS
                .iter()
                .filter_map(|(name, piece)| rest.find(name).map(|at| (at, *name, *piece)))
                .min_by_key(|(at, _, _)| *at);
            match next {
                Some((at, name, piece)) => {
                    if at > 0 {
                        pieces.push(Piece::Literal);
                        literals.push(rest[..at].to_string());
                    }
                    pieces.push(piece);
                    rest = &rest[at + name.len()..];
                }
                None => {
                    pieces.push(Piece::Literal);
                    literals.push(rest.to_string());
                    rest = "";
                }
            }
        }
        if !pieces.contains(&Piece::Target) {
            return Err(JobError::client(format!(
                "predictor.record_template: {template:?} has no $target_time_series; a forecaster needs the history, e.g. \"{{\\\"start\\\": $start_time, \\\"target\\\": $target_time_series}}\"."
            )));
        }
        Ok(RecordTemplate { pieces, literals })
    }
}

/// An item's values as text, actual and baseline, ready to be joined
/// into records.
pub struct ItemTexts<'a> {
    template: &'a RecordTemplate,
    layout: Layout,
    start_time: String,
    actual: Vec<String>,
    baseline: Vec<String>,
}

impl<'a> ItemTexts<'a> {
    /// Renders the values of `item` and of its `baseline` (the same
    /// layout, flat) once.
    pub fn new(
        template: &'a RecordTemplate,
        item: &Item,
        layout: Layout,
        baseline: &[String],
    ) -> ItemTexts<'a> {
        let actual = value_texts(item);
        ItemTexts {
            template,
            layout,
            start_time: serde_json::to_string(&item.timestamps[0]).expect("strings serialise"),
            actual,
            baseline: baseline.to_vec(),
        }
    }

    /// The record for `coalition`: revealed values actual, the rest baseline.
    pub fn record(&self, coalition: &Coalition) -> Vec<u8> {
        let value = |i: usize| -> &str {
            match coalition.has(i) {
                true => &self.actual[i],
                false => &self.baseline[i],
            }
        };
        let list = |out: &mut String, indices: &mut dyn Iterator<Item = usize>| {
            out.push('[');
            for (n, i) in indices.enumerate() {
                if n > 0 {
                    out.push_str(", ");
                }
                out.push_str(value(i));
            }
            out.push(']');
        };
        let l = self.layout;
        let mut out =
            String::with_capacity(self.actual.iter().map(|a| a.len() + 2).sum::<usize>() + 64);
        let mut literals = self.template.literals.iter();
        for piece in &self.template.pieces {
            match piece {
                Piece::Literal => {
                    out.push_str(literals.next().expect("one literal per literal piece"))
                }
                Piece::StartTime => out.push_str(&self.start_time),
                Piece::Target => list(&mut out, &mut (0..l.history).map(|t| l.target(t))),
                Piece::Related => {
                    out.push('[');
                    for j in 0..l.related {
                        if j > 0 {
                            out.push_str(", ");
                        }
                        list(&mut out, &mut (0..l.steps).map(|t| l.related(j, t)));
                    }
                    out.push(']');
                }
                Piece::Statics => {
                    list(&mut out, &mut (0..l.statics).map(|k| l.static_covariate(k)))
                }
            }
        }
        out.into_bytes()
    }
}

/// An item's values as JSON text in layout order: history, related
/// series, static covariates.
pub fn value_texts(item: &Item) -> Vec<String> {
    item.target
        .iter()
        .chain(item.related.iter().flatten())
        .map(|v| number(*v))
        .chain(item.statics.iter().cloned())
        .collect()
}

/// A series value as JSON text, as Python writes a float.
pub fn number(v: f64) -> String {
    crate::pyfmt::float(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_mix_actual_and_baseline_values_in_the_template() {
        let item = Item {
            id: "1".into(),
            timestamps: vec!["2024-01-01 01:00:00".into(), "t2".into(), "t3".into()],
            target: vec![1.0, 2.0],
            related: vec![vec![3.0, 4.0, 5.5]],
            statics: vec!["\"red\"".into()],
        };
        let layout = Layout {
            history: 2,
            steps: 3,
            related: 1,
            statics: 1,
        };
        let template = RecordTemplate::new(
            Some("{\"start\": $start_time, \"target\": $target_time_series, \"dynamic_feat\": $related_time_series, \"cat\": $static_covariates}"),
            1,
            1,
        )
        .unwrap();
        let baseline: Vec<String> = ["0.0", "0.0", "0.0", "0.0", "0.0", "\"blue\""]
            .map(String::from)
            .to_vec();
        let texts = ItemTexts::new(&template, &item, layout, &baseline);
        let plan = super::super::shapley::Plan::new(
            layout,
            super::super::shapley::Method {
                direction: crate::config::Direction::Chronological,
                granularity: crate::config::Granularity::Timewise,
                num_samples: None,
            },
            0,
        )
        .unwrap();
        let empty = String::from_utf8(texts.record(&plan.coalitions[0])).unwrap();
        assert_eq!(
            empty,
            r#"{"start": "2024-01-01 01:00:00", "target": [0.0, 0.0], "dynamic_feat": [[0.0, 0.0, 0.0]], "cat": ["blue"]}"#
        );
        let full = plan
            .coalitions
            .iter()
            .find(|c| (0..6).all(|i| c.has(i)))
            .unwrap();
        let full = String::from_utf8(texts.record(full)).unwrap();
        assert_eq!(
            full,
            r#"{"start": "2024-01-01 01:00:00", "target": [1.0, 2.0], "dynamic_feat": [[3.0, 4.0, 5.5]], "cat": ["red"]}"#
        );
        let default = RecordTemplate::new(None, 0, 0).unwrap();
        let texts = ItemTexts::new(
            &default,
            &item,
            Layout {
                related: 0,
                statics: 0,
                ..layout
            },
            &baseline[..2],
        );
        let record = String::from_utf8(texts.record(&plan.coalitions[0])).unwrap();
        assert_eq!(
            record,
            r#"{"start": "2024-01-01 01:00:00", "target": [0.0, 0.0]}"#
        );
    }
}
