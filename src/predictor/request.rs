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
    /// `image/jpeg` or `image/png`: each request carries one image, whose
    /// encoded bytes are the record's one cell.
    Image,
    /// `application/x-npy`: a batch of images as one NumPy array of shape
    /// `(N, height, width, 3)` of bytes; each record is [`npy_record`]'s
    /// pixels, and every record of a call has the same size.
    Npy,
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
        match content_type.as_str() {
            "image/jpeg" | "image/png" => return Ok(Encoder::Image),
            "application/x-npy" => return Ok(Encoder::Npy),
            _ => {}
        }
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
        matches!(self, Encoder::Json { single: true, .. } | Encoder::Image)
    }

    /// Renders one record (feature values in order, with their names).
    pub fn record(&self, values: &[CellRef<'_>], names: &[String]) -> Vec<u8> {
        match self {
            Encoder::Csv => csv_line(values),
            Encoder::JsonLines { template } => render_record(template, values, names).into_bytes(),
            Encoder::Json { record, .. } => render_record(record, values, names).into_bytes(),
            Encoder::Image | Encoder::Npy => values
                .iter()
                .flat_map(|cell| match cell {
                    CellRef::Text(bytes) => bytes.to_vec(),
                    _ => Vec::new(),
                })
                .collect(),
        }
    }

    /// Joins rendered records into a request body.
    pub fn body(&self, records: &[&[u8]], names: &[String]) -> Vec<u8> {
        match self {
            Encoder::Csv | Encoder::JsonLines { .. } => records.join(&b'\n'),
            Encoder::Image => records.first().map_or_else(Vec::new, |r| r.to_vec()),
            Encoder::Npy => npy_body(records),
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

/// One image as an `application/x-npy` record: its height and width (4
/// bytes each, little-endian), then its RGB bytes row by row.
pub fn npy_record(width: u32, height: u32, rgb: &[u8]) -> Vec<u8> {
    let mut record = Vec::with_capacity(8 + rgb.len());
    record.extend_from_slice(&height.to_le_bytes());
    record.extend_from_slice(&width.to_le_bytes());
    record.extend_from_slice(rgb);
    record
}

/// A `.npy` file (format 1.0) holding `records` as one `uint8` array of
/// shape `(N, height, width, 3)`, the size read from the first record.
fn npy_body(records: &[&[u8]]) -> Vec<u8> {
    let size = |r: &[u8], at: usize| {
        r.get(at..at + 4)
            .map_or(0, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    let first = records.first().copied().unwrap_or_default();
    let dict = format!(
        "{{'descr': '|u1', 'fortran_order': False, 'shape': ({}, {}, {}, 3), }}",
        records.len(),
        size(first, 0),
        size(first, 4)
    );
    // Magic (6) + version (2) + length (2) + dict + padding + newline,
    // a multiple of 64 bytes as NumPy writes it.
    let unpadded = 10 + dict.len() + 1;
    let header_len = unpadded.div_ceil(64) * 64 - 10;
    let mut body =
        Vec::with_capacity(10 + header_len + records.iter().map(|r| r.len()).sum::<usize>());
    body.extend_from_slice(b"\x93NUMPY\x01\x00");
    body.extend_from_slice(&(header_len as u16).to_le_bytes());
    body.extend_from_slice(dict.as_bytes());
    body.resize(10 + header_len - 1, b' ');
    body.push(b'\n');
    for record in records {
        body.extend_from_slice(record.get(8..).unwrap_or_default());
    }
    body
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
    fn npy_batches_are_one_array_as_numpy_writes_it() {
        let e = Encoder::new(&Mime::from("application/x-npy"), None, None).unwrap();
        assert!(!e.single_record());
        let a = npy_record(2, 1, &[1, 2, 3, 4, 5, 6]);
        let b = npy_record(2, 1, &[7, 8, 9, 10, 11, 12]);
        let body = e.body(&[&a, &b], &[]);
        // numpy.save of numpy.arange(1, 13, dtype=numpy.uint8).reshape(2, 1, 2, 3):
        // a 128-byte header (the dict padded with spaces to a 64-byte multiple), then the bytes.
        let header = b"\x93NUMPY\x01\x00\x76\x00{'descr': '|u1', 'fortran_order': False, 'shape': (2, 1, 2, 3), }";
        assert_eq!(&body[..header.len()], header);
        assert_eq!(body.len(), 128 + 12);
        assert_eq!(body[127], b'\n');
        assert_eq!(&body[128..], &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    }

    #[test]
    fn an_image_request_is_the_image_alone() {
        let e = Encoder::new(&Mime::from("image/png"), None, None).unwrap();
        assert!(e.single_record());
        let cell = Cell::Text(b"\x89PNG".as_slice().into());
        let record = e.record(&refs(std::slice::from_ref(&cell)), &[]);
        assert_eq!(e.body(&[&record], &[]), b"\x89PNG");
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
