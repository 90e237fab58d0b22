//! Request bodies, as Clarify sends them: in the config's `content_type`
//! (CSV lines without a header, JSON Lines, or JSON shaped by
//! `content_template` and `record_template`).
//!
//! Each record is rendered once into its own bytes (a CSV line, a JSON Lines
//! line, or a rendered `record_template`); a batch body is those pieces
//! joined, so batches can be cut by byte size before anything is sent.

use crate::config::{ContentType, Mime};
use crate::dataset::value::{Cell, CellRef, ColumnKind, Value};
use crate::error::{JobError, Result};

/// How records become a request body.
#[derive(Debug, Clone)]
pub enum Encoder {
    /// `text/csv`: one CSV line per record.
    Csv,
    /// `application/jsonlines`: `content_template` per record, one per line.
    JsonLines {
        /// Template containing `$features`, `$features_kvp` or `$record`.
        template: String,
    },
    /// `application/json`: `record_template` per record, gathered into
    /// `content_template` at `$records` (or one request per `$record`).
    Json {
        /// Template of the whole body.
        content: String,
        /// Template of one record.
        record: String,
        /// `$record` (singular): one record per request.
        single: bool,
    },
}

impl Encoder {
    /// Builds the encoder for a content type and templates from the config.
    pub fn new(
        content_type: &Mime,
        content_template: Option<&str>,
        record_template: Option<&str>,
    ) -> Result<Encoder> {
        match content_type.kind() {
            Some(ContentType::Csv) => Ok(Encoder::Csv),
            Some(ContentType::JsonLines) => {
                let t = content_template.ok_or_else(|| {
                    JobError::client("predictor.content_template: required for content_type application/jsonlines, e.g. \"{\\\"features\\\":$features}\".")
                })?;
                if !t.contains("$features") && !t.contains("$record") {
                    return Err(JobError::client(format!(
                        "Invalid content_template {t}. Please include a placeholder $features. (predictor.content_template)"
                    )));
                }
                Ok(Encoder::JsonLines { template: t.to_string() })
            }
            Some(ContentType::Json) => {
                let content = content_template.unwrap_or("$records").to_string();
                let single = has_single_record(&content);
                if !content.contains("$records") && !single {
                    return Err(JobError::client(format!(
                        "Invalid content_template {content}. Please include either placeholder $records or $record. (predictor.content_template)"
                    )));
                }
                let record = record_template.unwrap_or("$features").to_string();
                Ok(Encoder::Json { content, record, single })
            }
            Some(ContentType::Parquet) | None => Err(JobError::client(format!(
                "predictor.content_type: {:?} is not supported; use text/csv, application/jsonlines or application/json.",
                content_type.as_str()
            ))),
        }
    }

    /// Whether every request must carry exactly one record.
    pub fn single_record(&self) -> bool {
        matches!(self, Encoder::Json { single: true, .. })
    }

    /// Renders one record (feature values in order, with their names).
    pub fn record(&self, values: &[CellRef<'_>], names: &[String]) -> Vec<u8> {
        match self {
            Encoder::Csv => csv_line(values),
            Encoder::JsonLines { template } => render_record(template, values, names).into_bytes(),
            Encoder::Json { record, .. } => render_record(record, values, names).into_bytes(),
        }
    }

    /// Joins rendered records into a request body.
    pub fn body(&self, records: &[&[u8]], names: &[String]) -> Vec<u8> {
        match self {
            Encoder::Csv | Encoder::JsonLines { .. } => records.join(&b'\n'),
            Encoder::Json {
                content, single, ..
            } => {
                let joined = if *single {
                    String::from_utf8_lossy(records.first().copied().unwrap_or_default())
                        .into_owned()
                } else {
                    format!(
                        "[{}]",
                        records
                            .iter()
                            .map(|r| String::from_utf8_lossy(r))
                            .collect::<Vec<_>>()
                            .join(",")
                    )
                };
                let placeholder = if *single { "$record" } else { "$records" };
                content
                    .replace("$feature_names", &names_json(names))
                    .replacen(placeholder, &joined, 1)
                    .into_bytes()
            }
        }
    }
}

fn has_single_record(template: &str) -> bool {
    template
        .match_indices("$record")
        .any(|(i, _)| !template[i + 7..].starts_with('s'))
}

fn names_json(names: &[String]) -> String {
    serde_json::to_string(names).expect("strings serialise")
}

/// The typed value sent for a cell: numbers stay numbers, text that reads
/// as a number is sent as one, everything else as a string.
pub fn typed(cell: &Cell) -> Value {
    match cell {
        Cell::Text(_) => match ColumnKind::Float.value_of(cell) {
            Value::Float(f) => match ColumnKind::Int.value_of(cell) {
                Value::Int(i) => Value::Int(i),
                _ => Value::Float(f),
            },
            Value::Missing => Value::Missing,
            _ => ColumnKind::Object.value_of(cell),
        },
        other => ColumnKind::Object.value_of(other),
    }
}

fn json_value(cell: &CellRef<'_>) -> serde_json::Value {
    match typed(&CellRef::to_owned(*cell)) {
        Value::Missing => serde_json::Value::Null,
        Value::Bool(b) => b.into(),
        Value::Int(i) => i.into(),
        Value::Float(f) => serde_json::Number::from_f64(f)
            .map_or(serde_json::Value::Null, serde_json::Value::Number),
        Value::Str(s) => s.into(),
    }
}

fn render_record(template: &str, values: &[CellRef<'_>], names: &[String]) -> String {
    let json: Vec<serde_json::Value> = values.iter().map(json_value).collect();
    let mut out = template.to_string();
    if out.contains("$features_kvp") {
        let map: serde_json::Map<String, serde_json::Value> =
            names.iter().cloned().zip(json.iter().cloned()).collect();
        out = out.replace("$features_kvp", &serde_json::Value::Object(map).to_string());
    }
    if out.contains("${") {
        for (name, value) in names.iter().zip(&json) {
            out = out.replace(&format!("\"${{{name}}}\""), &value.to_string());
        }
    }
    out = out.replace("$feature_names", &names_json(names));
    if out.contains("$features") {
        out = out.replace("$features", &serde_json::Value::Array(json).to_string());
    }
    out
}

fn csv_line(values: &[CellRef<'_>]) -> Vec<u8> {
    let mut line = Vec::new();
    for (i, cell) in values.iter().enumerate() {
        if i > 0 {
            line.push(b',');
        }
        let text: std::borrow::Cow<[u8]> = match cell {
            CellRef::Text(t) => std::borrow::Cow::Borrowed(*t),
            CellRef::Missing => std::borrow::Cow::Borrowed(&b""[..]),
            other => {
                std::borrow::Cow::Owned(typed(&CellRef::to_owned(*other)).py_str().into_bytes())
            }
        };
        if text
            .iter()
            .any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r'))
        {
            line.push(b'"');
            for &b in text.iter() {
                if b == b'"' {
                    line.push(b'"');
                }
                line.push(b);
            }
            line.push(b'"');
        } else {
            line.extend_from_slice(&text);
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cells() -> Vec<Cell> {
        vec![
            Cell::Text(b"0".as_slice().into()),
            Cell::Text(b"a,b".as_slice().into()),
        ]
    }

    fn refs(cells: &[Cell]) -> Vec<CellRef<'_>> {
        cells.iter().map(Cell::as_ref).collect()
    }

    fn names() -> Vec<String> {
        vec!["A".into(), "B".into()]
    }

    #[test]
    fn csv_quotes_only_when_needed() {
        let e = Encoder::new(&Mime::from("text/csv"), None, None).unwrap();
        let r = e.record(&refs(&cells()), &names());
        assert_eq!(String::from_utf8(r.clone()).unwrap(), "0,\"a,b\"");
        assert_eq!(e.body(&[&r, &r], &names()), b"0,\"a,b\"\n0,\"a,b\"");
    }

    #[test]
    fn json_templates_follow_the_contract_examples() {
        let values = vec![Cell::Int(0), Cell::Int(1)];
        let e = Encoder::new(
            &Mime::from("application/json"),
            Some("{\"instances\": $records}"),
            Some("$features"),
        )
        .unwrap();
        let r = e.record(&refs(&values), &names());
        assert_eq!(
            String::from_utf8(e.body(&[&r, &r], &names())).unwrap(),
            "{\"instances\": [[0,1],[0,1]]}"
        );
        let e = Encoder::new(
            &Mime::from("application/json"),
            Some("$records"),
            Some("$features_kvp"),
        )
        .unwrap();
        let r = e.record(&refs(&values), &names());
        assert_eq!(
            String::from_utf8(e.body(&[&r], &names())).unwrap(),
            "[{\"A\":0,\"B\":1}]"
        );
        let e = Encoder::new(
            &Mime::from("application/json"),
            Some("$record"),
            Some("{\"a\":\"${A}\",\"b\":\"${B}\"}"),
        )
        .unwrap();
        assert!(e.single_record());
        let r = e.record(&refs(&values), &names());
        assert_eq!(
            String::from_utf8(e.body(&[&r], &names())).unwrap(),
            "{\"a\":0,\"b\":1}"
        );
        let e = Encoder::new(
            &Mime::from("application/json"),
            Some("{\"instances\": $records, \"feature_names\": $feature_names}"),
            Some("$features"),
        )
        .unwrap();
        let r = e.record(&refs(&values), &names());
        assert_eq!(
            String::from_utf8(e.body(&[&r], &names())).unwrap(),
            "{\"instances\": [[0,1]], \"feature_names\": [\"A\",\"B\"]}"
        );
    }

    #[test]
    fn jsonlines_needs_features_placeholder() {
        let e = Encoder::new(
            &Mime::from("application/jsonlines"),
            Some("{\"features\":$features}"),
            None,
        )
        .unwrap();
        assert_eq!(
            e.record(&refs(&cells()), &names()),
            b"{\"features\":[0,\"a,b\"]}"
        );
        let err = Encoder::new(
            &Mime::from("application/jsonlines"),
            Some("{\"x\":1}"),
            None,
        )
        .unwrap_err();
        assert!(err
            .message
            .contains("Please include a placeholder $features"));
    }
}
