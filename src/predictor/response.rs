//! Reading the model's answer in the config's `accept_type` (CSV, JSON
//! Lines or JSON): one [`ModelOutput`] per
//! record sent, located with the config's `label` and `probability`
//! (column indices for CSV, JMESPath expressions for JSON).

use crate::config::{ContentType, Mime, NameOrIndex};
use crate::http::snippet;
use serde_json::Value as Json;

/// What the model said about one record: the value `label` located and
/// the value `probability` located (or the whole answer when neither is set).
#[derive(Debug, Clone, PartialEq)]
pub struct ModelOutput {
    /// The predicted label (or list of candidate labels), if `label` is set.
    pub label: Option<Json>,
    /// The score or list of scores.
    pub score: Option<Json>,
}

/// Why a response could not be turned into one output per record. Each is
/// a model error in Clarify's sense: the batch is retried record by record.
#[derive(Debug, Clone, PartialEq)]
pub struct ParseError(pub String);

/// Where `label` and `probability` are in a response, for one accept type.
#[derive(Debug, Clone)]
pub enum ResponseReader {
    /// `text/csv`: column indices.
    Csv {
        /// Column of the predicted label.
        label: Option<usize>,
        /// Column of the score(s).
        probability: Option<usize>,
    },
    /// `application/jsonlines`: JMESPath per line.
    JsonLines(Locators),
    /// `application/json`: JMESPath over the whole document, yielding lists.
    Json(Locators),
}

/// Compiled `label` / `probability` JMESPath expressions.
#[derive(Debug, Clone)]
pub struct Locators {
    label: Option<(String, jmespath::Expression<'static>)>,
    probability: Option<(String, jmespath::Expression<'static>)>,
}

impl ResponseReader {
    /// Builds the reader for `accept_type`, checking that `label` and
    /// `probability` have the form that type needs.
    pub fn new(
        accept_type: &Mime,
        label: Option<&NameOrIndex>,
        probability: Option<&NameOrIndex>,
    ) -> Result<ResponseReader, String> {
        let locators = || -> Result<Locators, String> {
            Ok(Locators {
                label: compile("predictor.label", label)?,
                probability: compile("predictor.probability", probability)?,
            })
        };
        match accept_type.kind() {
            Some(ContentType::Csv) => Ok(ResponseReader::Csv {
                label: csv_index("predictor.label", label)?,
                probability: csv_index("predictor.probability", probability)?,
            }),
            Some(ContentType::JsonLines) => Ok(ResponseReader::JsonLines(locators()?)),
            Some(ContentType::Json) => Ok(ResponseReader::Json(locators()?)),
            Some(ContentType::Parquet) | None => Err(format!(
                "predictor.accept_type: {:?} is not supported; use text/csv, application/jsonlines or application/json.",
                accept_type.as_str()
            )),
        }
    }

    /// Reads `body` as the answer to `records` records.
    pub fn read(&self, body: &[u8], records: usize) -> Result<Vec<ModelOutput>, ParseError> {
        let text = std::str::from_utf8(body)
            .map_err(|_| ParseError("the response is not valid UTF-8".into()))?;
        match self {
            ResponseReader::Csv { label, probability } => {
                read_csv(text, records, *label, *probability)
            }
            ResponseReader::JsonLines(locators) => {
                let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
                check_count(lines.len(), records)?;
                lines
                    .iter()
                    .enumerate()
                    .map(|(index, line)| {
                        let doc = jmespath::Variable::from_json(line).map_err(|e| {
                            ParseError(format!("response line {} is not JSON ({e})", index + 1))
                        })?;
                        locators.one(&doc)
                    })
                    .collect()
            }
            ResponseReader::Json(locators) => {
                // The caller shows the body with every parse error; it is not repeated here.
                let doc = jmespath::Variable::from_json(text.trim())
                    .map_err(|e| ParseError(format!("the response is not JSON ({e})")))?;
                locators.many(&doc, records)
            }
        }
    }
}

impl ResponseReader {
    /// The locator (`predictor.label` or `predictor.probability`) that finds
    /// nothing in any record of `body`, when the body itself is readable:
    /// a wrong config key, which neither a retry nor the next record fixes.
    pub fn unmatched_locator(&self, body: &[u8]) -> Option<&'static str> {
        let text = std::str::from_utf8(body).ok()?;
        match self {
            ResponseReader::Csv { label, probability } => {
                let widths: Vec<usize> = match whole_line_lists(text) {
                    Some(lists) => vec![1; lists.len()],
                    None => csv::ReaderBuilder::new()
                        .has_headers(false)
                        .flexible(true)
                        .from_reader(text.as_bytes())
                        .records()
                        .map(|r| r.map(|r| r.len()))
                        .collect::<std::result::Result<_, _>>()
                        .ok()?,
                };
                let beyond = |i: &Option<usize>| {
                    i.is_some_and(|i| !widths.is_empty() && widths.iter().all(|w| *w <= i))
                };
                [
                    ("predictor.label", label),
                    ("predictor.probability", probability),
                ]
                .into_iter()
                .find(|(_, i)| beyond(i))
                .map(|(key, _)| key)
            }
            ResponseReader::JsonLines(locators) => {
                let docs: Vec<jmespath::Variable> = text
                    .lines()
                    .filter(|l| !l.trim().is_empty())
                    .map(jmespath::Variable::from_json)
                    .collect::<std::result::Result<_, _>>()
                    .ok()?;
                locators.unmatched(&docs)
            }
            ResponseReader::Json(locators) => {
                let doc = jmespath::Variable::from_json(text.trim()).ok()?;
                locators.unmatched(std::slice::from_ref(&doc))
            }
        }
    }
}

fn csv_index(key: &str, value: Option<&NameOrIndex>) -> Result<Option<usize>, String> {
    match value {
        None => Ok(None),
        Some(NameOrIndex::Index(i)) => Ok(Some(*i)),
        Some(NameOrIndex::Name(n)) => n.trim().parse().map(Some).map_err(|_| {
            format!("{key}: {n:?} must be a column index (0, 1, ...) when accept_type is text/csv; JMESPath expressions are for JSON responses.")
        }),
    }
}

fn compile(
    key: &str,
    value: Option<&NameOrIndex>,
) -> Result<Option<(String, jmespath::Expression<'static>)>, String> {
    let Some(value) = value else { return Ok(None) };
    let expr = match value {
        NameOrIndex::Name(n) => n.clone(),
        NameOrIndex::Index(i) => format!("[{i}]"),
    };
    jmespath::compile(&expr)
        .map(|compiled| Some((expr.clone(), compiled)))
        .map_err(|e| format!("{key}: {expr:?} is not a valid JMESPath expression: {e}"))
}

fn check_count(got: usize, sent: usize) -> Result<(), ParseError> {
    if got == sent {
        Ok(())
    } else {
        Err(ParseError(format!(
            "Model response row count ({got}) does not match request record count ({sent})"
        )))
    }
}

impl Locators {
    fn search(
        locator: &Option<(String, jmespath::Expression<'static>)>,
        doc: &jmespath::Variable,
    ) -> Result<Option<Json>, ParseError> {
        let Some((text, expr)) = locator else {
            return Ok(None);
        };
        let found = expr
            .search(doc)
            .map_err(|e| ParseError(format!("JMESPath {text:?} failed: {e}")))?;
        if found.is_null() {
            return Err(ParseError(format!(
                "JMESPath {text:?} selects nothing in the response {}",
                snippet(&serde_json::to_string(doc).unwrap_or_default())
            )));
        }
        Ok(Some(
            serde_json::to_value(&*found).expect("JMESPath values are JSON"),
        ))
    }

    /// The key of a locator that selects nothing in every one of `docs`.
    fn unmatched(&self, docs: &[jmespath::Variable]) -> Option<&'static str> {
        let nothing = |locator: &Option<(String, jmespath::Expression<'static>)>| {
            locator.as_ref().is_some_and(|(_, expr)| {
                !docs.is_empty()
                    && docs
                        .iter()
                        .all(|doc| expr.search(doc).map_or(true, |found| found.is_null()))
            })
        };
        [
            ("predictor.label", &self.label),
            ("predictor.probability", &self.probability),
        ]
        .into_iter()
        .find(|(_, locator)| nothing(locator))
        .map(|(key, _)| key)
    }

    /// One record's output from one JSON Lines line.
    fn one(&self, doc: &jmespath::Variable) -> Result<ModelOutput, ParseError> {
        let label = Self::search(&self.label, doc)?;
        let score = Self::search(&self.probability, doc)?;
        if label.is_none() && score.is_none() {
            let whole = serde_json::to_value(doc).expect("JMESPath values are JSON");
            return Ok(ModelOutput {
                label: None,
                score: Some(whole),
            });
        }
        Ok(ModelOutput { label, score })
    }

    /// `records` outputs from one JSON document: each located value is a
    /// list with one entry per record.
    fn many(
        &self,
        doc: &jmespath::Variable,
        records: usize,
    ) -> Result<Vec<ModelOutput>, ParseError> {
        let label = Self::search(&self.label, doc)?;
        let score = Self::search(&self.probability, doc)?;
        let whole = (label.is_none() && score.is_none())
            .then(|| serde_json::to_value(doc).expect("JMESPath values are JSON"));
        let split = |v: Option<Json>| -> Result<Vec<Option<Json>>, ParseError> {
            match v {
                None => Ok(vec![None; records]),
                Some(Json::Array(items)) if items.len() == records => {
                    Ok(items.into_iter().map(Some).collect())
                }
                // One record per request: a bare result belongs to it.
                Some(other) if records == 1 => Ok(vec![Some(other)]),
                Some(Json::Array(items)) => check_count(items.len(), records).map(|_| vec![]),
                Some(other) => Err(ParseError(format!(
                    "expected a list of {records} predictions, got {}",
                    snippet(&other.to_string())
                ))),
            }
        };
        let labels = split(label)?;
        let scores = split(score.or(whole))?;
        Ok(labels
            .into_iter()
            .zip(scores)
            .map(|(label, score)| ModelOutput { label, score })
            .collect())
    }
}

fn read_csv(
    text: &str,
    records: usize,
    label: Option<usize>,
    probability: Option<usize>,
) -> Result<Vec<ModelOutput>, ParseError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    // A line that is one JSON list (`[0.1,0.7,0.2]`) is one cell, not
    // three: models often answer a score vector per line that way.
    let lists = whole_line_lists(text);
    let mut rows = Vec::new();
    for row in reader.records().filter(|_| lists.is_none()) {
        let row = row.map_err(|e| ParseError(format!("the CSV response cannot be read: {e}")))?;
        if row.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        rows.push(row.iter().map(csv_cell).collect::<Vec<Json>>());
    }
    let mut rows = lists.unwrap_or(rows);
    // "Two records, results in one line": one cell per record.
    if rows.len() == 1
        && records > 1
        && label.is_none()
        && probability.is_none()
        && rows[0].len() == records
    {
        let cells = rows.pop().expect("one row");
        return Ok(cells
            .into_iter()
            .map(|c| ModelOutput {
                label: None,
                score: Some(c),
            })
            .collect());
    }
    check_count(rows.len(), records)?;
    rows.into_iter()
        .map(|row| {
            let at = |i: usize, key: &str| {
                row.get(i).cloned().map(Some).ok_or_else(|| {
                    ParseError(format!(
                        "predictor.{key} is column {i}, but a response line has {} columns",
                        row.len()
                    ))
                })
            };
            let label_value = label.map(|i| at(i, "label")).transpose()?.flatten();
            let score = match probability {
                Some(i) => at(i, "probability")?,
                None if label.is_some() => None,
                None if row.len() == 1 => row.first().cloned(),
                None => Some(Json::Array(row.clone())),
            };
            Ok(ModelOutput {
                label: label_value,
                score,
            })
        })
        .collect()
}

/// Every non-empty line as a single-cell row, when every one of them is a
/// bracketed list.
fn whole_line_lists(text: &str) -> Option<Vec<Vec<Json>>> {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let all_lists =
        !lines.is_empty() && lines.iter().all(|l| l.starts_with('[') && l.ends_with(']'));
    all_lists.then(|| lines.iter().map(|l| vec![csv_cell(l)]).collect())
}

/// A CSV response cell: a number, a list literal (JSON or Python style),
/// or a string.
fn csv_cell(cell: &str) -> Json {
    let t = cell.trim();
    if let Ok(n) = t.parse::<i64>() {
        return n.into();
    }
    if let Some(f) = crate::dataset::value::parse_float(t) {
        return serde_json::Number::from_f64(f).map_or(Json::String(t.into()), Json::Number);
    }
    if t.starts_with('[') && t.ends_with(']') {
        if let Ok(list) = serde_json::from_str::<Json>(t) {
            return list;
        }
        if let Ok(list) = serde_json::from_str::<Json>(&t.replace('\'', "\"")) {
            return list;
        }
    }
    Json::String(t.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn name(s: &str) -> NameOrIndex {
        NameOrIndex::Name(s.into())
    }

    fn out(label: Option<Json>, score: Option<Json>) -> ModelOutput {
        ModelOutput { label, score }
    }

    #[test]
    fn a_locator_that_finds_nothing_anywhere_is_named() {
        let r = ResponseReader::new(
            &Mime::from("application/jsonlines"),
            None,
            Some(&name("prob")),
        )
        .unwrap();
        let body = b"{\"score\":0.1}\n{\"score\":0.9}\n";
        assert_eq!(r.unmatched_locator(body), Some("predictor.probability"));
        // One record without it is an odd record, not a wrong key.
        assert_eq!(
            r.unmatched_locator(b"{\"prob\":0.1}\n{\"score\":0.9}\n"),
            None
        );
        assert_eq!(r.unmatched_locator(b"<html>"), None);
        let csv = ResponseReader::new(&Mime::from("text/csv"), Some(&NameOrIndex::Index(2)), None)
            .unwrap();
        assert_eq!(
            csv.unmatched_locator(b"1,0.9\n0,0.2\n"),
            Some("predictor.label")
        );
        let json =
            ResponseReader::new(&Mime::from("application/json"), Some(&name("labels")), None)
                .unwrap();
        assert_eq!(
            json.unmatched_locator(b"{\"predictions\":[1,0]}"),
            Some("predictor.label")
        );
    }

    #[test]
    fn csv_scores_one_per_line_or_all_in_one_line() {
        let r = ResponseReader::new(&Mime::from("text/csv"), None, None).unwrap();
        assert_eq!(
            r.read(b"0.1\n0.9\n", 2).unwrap(),
            vec![out(None, Some(json!(0.1))), out(None, Some(json!(0.9)))]
        );
        assert_eq!(
            r.read(b"0.1,0.9", 2).unwrap(),
            vec![out(None, Some(json!(0.1))), out(None, Some(json!(0.9)))]
        );
        assert_eq!(
            r.read(b"0.1,0.9", 1).unwrap(),
            vec![out(None, Some(json!([0.1, 0.9])))]
        );
        let e = r.read(b"0.1\n0.9\n", 3).unwrap_err();
        assert!(
            e.0.contains("row count (2) does not match request record count (3)"),
            "{e:?}"
        );
    }

    #[test]
    fn csv_label_and_probability_columns_and_list_cells() {
        let r = ResponseReader::new(
            &Mime::from("text/csv"),
            Some(&NameOrIndex::Index(0)),
            Some(&NameOrIndex::Index(1)),
        )
        .unwrap();
        let got = r
            .read(b"cat,\"[0.1,0.6,0.3]\"\ndog,\"['0.7','0.2','0.1']\"", 2)
            .unwrap();
        assert_eq!(
            got[0],
            out(Some(json!("cat")), Some(json!([0.1, 0.6, 0.3])))
        );
        assert_eq!(got[1].score, Some(json!(["0.7", "0.2", "0.1"])));
        let lists = ResponseReader::new(&Mime::from("text/csv"), None, None).unwrap();
        assert_eq!(
            lists.read(b"[0.1,0.9]\n[0.8,0.2]\n", 2).unwrap()[1],
            out(None, Some(json!([0.8, 0.2])))
        );
        let e = ResponseReader::new(
            &Mime::from("text/csv"),
            Some(&name("predicted_label")),
            None,
        )
        .unwrap_err();
        assert!(e.contains("must be a column index"), "{e}");
    }

    #[test]
    fn jsonlines_applies_jmespath_per_line() {
        let r = ResponseReader::new(
            &Mime::from("application/jsonlines"),
            Some(&name("predicted_label")),
            Some(&name("score")),
        )
        .unwrap();
        let body =
            b"{\"predicted_label\":1,\"score\":0.8}\n{\"predicted_label\":0,\"score\":0.3}\n";
        assert_eq!(
            r.read(body, 2).unwrap(),
            vec![
                out(Some(json!(1)), Some(json!(0.8))),
                out(Some(json!(0)), Some(json!(0.3)))
            ]
        );
        let e = ResponseReader::new(
            &Mime::from("application/jsonlines"),
            None,
            Some(&name("probability")),
        )
        .unwrap()
        .read(body, 2)
        .unwrap_err();
        assert!(
            e.0.contains("JMESPath \"probability\" selects nothing"),
            "{e:?}"
        );
        let e = r.read(b"<html>oops</html>", 1).unwrap_err();
        // The body itself is quoted once, by the caller that knows the request.
        assert!(e.0.contains("response line 1 is not JSON"), "{e:?}");
    }

    #[test]
    fn json_document_yields_one_entry_per_record() {
        let r = ResponseReader::new(
            &Mime::from("application/json"),
            Some(&name("predictions[*].predicted_label")),
            Some(&name("predictions[*].score")),
        )
        .unwrap();
        let body = br#"{"predictions":[{"predicted_label":1,"score":0.8},{"predicted_label":0,"score":0.3}]}"#;
        assert_eq!(
            r.read(body, 2).unwrap()[1],
            out(Some(json!(0)), Some(json!(0.3)))
        );
        assert!(r.read(body, 3).unwrap_err().0.contains("row count (2)"));
        let bare = ResponseReader::new(&Mime::from("application/json"), None, None).unwrap();
        assert_eq!(
            bare.read(b"[0.2, 0.7]", 2).unwrap()[1],
            out(None, Some(json!(0.7)))
        );
        let single =
            ResponseReader::new(&Mime::from("application/json"), None, Some(&name("score")))
                .unwrap();
        assert_eq!(
            single.read(br#"{"score":0.4}"#, 1).unwrap(),
            vec![out(None, Some(json!(0.4)))]
        );
    }
}
