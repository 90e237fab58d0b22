//! The wire formats of `/invocations`: reading records from a request body
//! and writing predictions into a response body.
//!
//! Requests take the shapes Clarify produces from its `content_template` and
//! `record_template`:
//! - `text/csv`: one record per line, no header; categories as raw strings.
//! - `application/jsonlines`: one record per line, `{"features":[...]}` or a bare array.
//! - `application/json`: `{"instances":[...]}`, a list of records, or a
//!   single record; a record is an array, `{"features":[...]}`, or an object
//!   keyed by feature name (`$features_kvp`).

use super::model::{Model, Prediction, RawValue};
use serde::Serialize;
use serde_json::Value;

/// A body format the demo model reads and writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaType {
    /// `text/csv`
    Csv,
    /// `application/jsonlines`
    JsonLines,
    /// `application/json`
    Json,
}

impl MediaType {
    /// Recognises one media type, ignoring parameters such as `charset`.
    pub fn parse(value: &str) -> Option<MediaType> {
        let essence = value.split(';').next().unwrap_or_default().trim();
        [MediaType::Csv, MediaType::JsonLines, MediaType::Json]
            .into_iter()
            .find(|media| media.as_str().eq_ignore_ascii_case(essence))
    }

    /// Chooses the response format from an `Accept` header: its first
    /// recognised entry, or `request`'s own format when the header is
    /// absent or accepts anything. `None` means nothing acceptable is offered.
    pub fn negotiate(accept: Option<&str>, request: MediaType) -> Option<MediaType> {
        let Some(accept) = accept else {
            return Some(request);
        };
        let entries = || {
            accept
                .split(',')
                .map(|entry| entry.split(';').next().unwrap_or_default().trim())
        };
        entries().find_map(MediaType::parse).or_else(|| {
            entries()
                .any(|entry| entry == "*/*" || entry.is_empty())
                .then_some(request)
        })
    }

    /// The media type as it appears in headers.
    pub fn as_str(self) -> &'static str {
        match self {
            MediaType::Csv => "text/csv",
            MediaType::JsonLines => "application/jsonlines",
            MediaType::Json => "application/json",
        }
    }
}

/// Reads the records of a request body and encodes them for `model`:
/// the result holds one row of `model.features().len()` numbers per record,
/// one after the other. The error is a one-line message for the client.
pub fn read_records(model: &Model, media: MediaType, body: &[u8]) -> Result<Vec<f64>, String> {
    let mut encoded = Vec::new();
    let mut push = |values: &[RawValue<'_>]| {
        let number = encoded.len() / model.features().len() + 1;
        encode_record(model, number, values, &mut encoded)
    };
    match media {
        MediaType::Csv => {
            let mut reader = csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .from_reader(body);
            let mut record = csv::StringRecord::new();
            while reader
                .read_record(&mut record)
                .map_err(|e| format!("malformed CSV: {e}"))?
            {
                let values: Vec<RawValue<'_>> = record.iter().map(RawValue::Text).collect();
                push(&values)?;
            }
        }
        MediaType::JsonLines => {
            let text = std::str::from_utf8(body).map_err(|e| format!("body is not UTF-8: {e}"))?;
            for (index, line) in text
                .lines()
                .enumerate()
                .filter(|(_, line)| !line.trim().is_empty())
            {
                let value: Value = serde_json::from_str(line)
                    .map_err(|e| format!("line {} is not JSON: {e}", index + 1))?;
                push(&json_record(model, &value)?)?;
            }
        }
        MediaType::Json => {
            let document: Value =
                serde_json::from_slice(body).map_err(|e| format!("body is not JSON: {e}"))?;
            for value in json_records(&document)? {
                push(&json_record(model, value)?)?;
            }
        }
    }
    if encoded.is_empty() {
        return Err("the body holds no records".into());
    }
    Ok(encoded)
}

/// Checks a record's width and appends its encoded values.
fn encode_record(
    model: &Model,
    number: usize,
    values: &[RawValue<'_>],
    encoded: &mut Vec<f64>,
) -> Result<(), String> {
    let expected = model.features().len();
    if values.len() != expected {
        return Err(format!(
            "record {number} has {} features; the model expects {expected}",
            values.len()
        ));
    }
    for (feature, value) in values.iter().enumerate() {
        encoded.push(
            model
                .encode(feature, *value)
                .map_err(|e| format!("record {number}: {e}"))?,
        );
    }
    Ok(())
}

/// The records of a JSON document: the items of `instances`, the items of
/// a list of records, or the document itself as the only record.
fn json_records(document: &Value) -> Result<Vec<&Value>, String> {
    match document {
        Value::Object(object) if object.contains_key("instances") => match &object["instances"] {
            Value::Array(items) => Ok(items.iter().collect()),
            _ => Err("'instances' must be a list of records".into()),
        },
        Value::Array(items) if items.iter().all(|item| item.is_array() || item.is_object()) => {
            Ok(items.iter().collect())
        }
        _ => Ok(vec![document]),
    }
}

/// The feature values of one JSON record: an array of scalars,
/// `{"features": [...]}`, or an object keyed by feature name.
fn json_record<'v>(model: &Model, record: &'v Value) -> Result<Vec<RawValue<'v>>, String> {
    match record {
        Value::Array(values) => values.iter().map(json_scalar).collect(),
        Value::Object(object) => match object.get("features") {
            Some(features) if features.is_array() => json_record(model, features),
            Some(_) => Err("'features' must be a list of values".into()),
            None => model
                .features()
                .iter()
                .map(|feature| {
                    object
                        .get(&feature.name)
                        .ok_or_else(|| {
                            format!(
                                "a record has no 'features' list and no key '{}'",
                                feature.name
                            )
                        })
                        .and_then(json_scalar)
                })
                .collect(),
        },
        other => Err(format!("a record must be a list or an object, got {other}")),
    }
}

fn json_scalar(value: &Value) -> Result<RawValue<'_>, String> {
    match value {
        Value::Number(number) => number
            .as_f64()
            .map(RawValue::Number)
            .ok_or_else(|| format!("{number} is not a finite number")),
        Value::String(text) => Ok(RawValue::Text(text)),
        other => Err(format!(
            "feature values must be numbers or strings, got {other}"
        )),
    }
}

/// Writes predictions in `media`: scores one per line for CSV,
/// `{"predicted_label":..,"score":..}` per line for JSON Lines, and
/// `{"predictions":[...]}` for JSON.
pub fn write_predictions(media: MediaType, predictions: &[Prediction]) -> String {
    match media {
        MediaType::Csv => predictions
            .iter()
            .map(|prediction| format!("{}\n", prediction.score))
            .collect(),
        MediaType::JsonLines => predictions
            .iter()
            .map(|prediction| to_json(prediction) + "\n")
            .collect(),
        MediaType::Json => {
            #[derive(Serialize)]
            struct Document<'a> {
                predictions: &'a [Prediction],
            }
            to_json(&Document { predictions })
        }
    }
}

fn to_json(value: &impl Serialize) -> String {
    serde_json::to_string(value).expect("predictions hold only integers and finite floats")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo_model::model::{Encoding, Feature};

    fn model() -> Model {
        let feature = |name: &str, encoding| Feature {
            name: name.into(),
            encoding,
        };
        Model::new(
            vec![
                feature("age", Encoding::Numeric),
                feature(
                    "sex",
                    Encoding::Categorical(vec!["female".into(), "male".into()]),
                ),
            ],
            vec![0.0, 0.0],
            0.0,
        )
    }

    #[test]
    fn media_types_ignore_parameters_and_case() {
        assert_eq!(
            MediaType::parse("text/csv; charset=utf-8"),
            Some(MediaType::Csv)
        );
        assert_eq!(MediaType::parse("Application/JSON"), Some(MediaType::Json));
        assert_eq!(MediaType::parse("text/plain"), None);
    }

    #[test]
    fn accept_falls_back_to_the_request_format_only_for_wildcards() {
        let negotiate = MediaType::negotiate;
        assert_eq!(negotiate(None, MediaType::Json), Some(MediaType::Json));
        assert_eq!(negotiate(Some("*/*"), MediaType::Csv), Some(MediaType::Csv));
        assert_eq!(
            negotiate(
                Some("text/html, application/jsonlines;q=0.9"),
                MediaType::Csv
            ),
            Some(MediaType::JsonLines)
        );
        assert_eq!(negotiate(Some("text/html"), MediaType::Csv), None);
    }

    #[test]
    fn every_request_shape_reads_to_the_same_encoded_rows() {
        let expected = vec![30.0, 1.0, 41.0, 0.0];
        let bodies = [
            (MediaType::Csv, "30,male\n\n41,0\n"),
            (MediaType::Csv, "30,\"male\"\n41,female"),
            (
                MediaType::JsonLines,
                "{\"features\":[30,\"male\"]}\n[41,\"female\"]\n",
            ),
            (
                MediaType::Json,
                "{\"instances\":[{\"features\":[30,\"male\"]},[41,0]]}",
            ),
            (MediaType::Json, "[[30,\"male\"],[41,\"female\"]]"),
            (
                MediaType::Json,
                "[{\"age\":30,\"sex\":\"male\"},{\"sex\":0,\"age\":41}]",
            ),
        ];
        for (media, body) in bodies {
            assert_eq!(
                read_records(&model(), media, body.as_bytes()),
                Ok(expected.clone()),
                "{body}"
            );
        }
        for single in [
            "[30,\"male\"]",
            "{\"features\":[30,\"male\"]}",
            "{\"age\":30,\"sex\":\"male\"}",
        ] {
            assert_eq!(
                read_records(&model(), MediaType::Json, single.as_bytes()),
                Ok(vec![30.0, 1.0]),
                "{single}"
            );
        }
    }

    #[test]
    fn bad_bodies_are_explained_in_one_line() {
        let cases = [
            (
                MediaType::Csv,
                "30,male\n41\n",
                "record 2 has 1 features; the model expects 2",
            ),
            (
                MediaType::Csv,
                "30,other",
                "record 1: feature 'sex' has no category 'other' (known: female, male)",
            ),
            (MediaType::Csv, "", "the body holds no records"),
            (
                MediaType::JsonLines,
                "[30,\"male\"]\n{",
                "line 2 is not JSON: EOF while parsing an object at line 1 column 1",
            ),
            (
                MediaType::Json,
                "{\"instances\":3}",
                "'instances' must be a list of records",
            ),
            (
                MediaType::Json,
                "[[30,null]]",
                "feature values must be numbers or strings, got null",
            ),
            (
                MediaType::Json,
                "{\"age\":30}",
                "a record has no 'features' list and no key 'sex'",
            ),
        ];
        for (media, body, message) in cases {
            assert_eq!(
                read_records(&model(), media, body.as_bytes()),
                Err(message.to_string()),
                "{body}"
            );
        }
    }

    #[test]
    fn predictions_are_written_per_accept_type() {
        let predictions = [
            Prediction {
                predicted_label: 1,
                score: 0.75,
            },
            Prediction {
                predicted_label: 0,
                score: 0.125,
            },
        ];
        assert_eq!(
            write_predictions(MediaType::Csv, &predictions),
            "0.75\n0.125\n"
        );
        assert_eq!(
            write_predictions(MediaType::JsonLines, &predictions),
            "{\"predicted_label\":1,\"score\":0.75}\n{\"predicted_label\":0,\"score\":0.125}\n"
        );
        assert_eq!(
            write_predictions(MediaType::Json, &predictions),
            "{\"predictions\":[{\"predicted_label\":1,\"score\":0.75},{\"predicted_label\":0,\"score\":0.125}]}"
        );
    }
}
