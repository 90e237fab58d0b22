//! Decoding an event into records: features from the request, the
//! predicted label from the answer, labels from the ground truth, as the
//! config and Model Monitor's attribute settings locate them.

use super::event::{Body, Event, Payload};
use super::Attributes;
use crate::config::NameOrIndex;
use crate::dataset::value::Cell;
use crate::error::{JobError, Result};
use jmespath::{Expression, Variable};

/// A compiled locator: a column index (CSV) or a JMESPath (JSON).
enum Locator {
    Index(usize),
    Path(Expression<'static>),
}

impl Locator {
    fn new(key: &str, text: &str) -> Result<Locator> {
        if let Ok(i) = text.trim().parse::<usize>() {
            return Ok(Locator::Index(i));
        }
        jmespath::compile(text).map(Locator::Path).map_err(|e| {
            JobError::client(format!(
                "{key}: {text:?} is neither a column index nor a valid JMESPath expression: {e}"
            ))
        })
    }
}

/// The records of one event.
#[derive(Debug, Clone, PartialEq)]
pub struct Records {
    /// One row of feature cells per record.
    pub features: Vec<Vec<Cell>>,
    /// The predicted label of each record.
    pub predicted: Vec<Cell>,
    /// The label of each record, when the event has ground truth.
    pub labels: Option<Vec<Cell>>,
}

/// Turns events into records, as the config and attribute settings say.
pub struct Decoder {
    features: Option<Expression<'static>>,
    inference: Option<Locator>,
    probability: Option<Locator>,
    threshold: f64,
    excluded: Vec<usize>,
    label: Option<Expression<'static>>,
    /// The only feature columns decoded from CSV requests (the others are
    /// missing cells), when the caller needs only these.
    only: Option<Vec<usize>>,
}

impl Decoder {
    /// Compiles the locators; `label` is the config's label (a JMESPath
    /// into JSON ground truth, or a column name, unused for CSV).
    pub fn new(attributes: &Attributes, label: Option<&NameOrIndex>) -> Result<Decoder> {
        let compile = |key: &str, text: &str| {
            jmespath::compile(text).map_err(|e| {
                JobError::client(format!(
                    "{key}: {text:?} is not a valid JMESPath expression: {e}"
                ))
            })
        };
        let excluded = attributes
            .exclude_features
            .iter()
            .flat_map(|s| s.split(','))
            .filter(|s| !s.trim().is_empty())
            .map(|s| {
                s.trim().parse::<usize>().map_err(|_| {
                    JobError::client(format!(
                        "exclude_features_attribute: {s:?} is not a column index; give the zero-based indices of the CSV request columns that are not features, separated by commas."
                    ))
                })
            })
            .collect::<Result<Vec<usize>>>()?;
        Ok(Decoder {
            features: attributes
                .features
                .as_deref()
                .map(|f| compile("features_attribute", f))
                .transpose()?,
            inference: attributes
                .inference
                .as_deref()
                .map(|t| Locator::new("inference_attribute", t))
                .transpose()?,
            probability: attributes
                .probability
                .as_deref()
                .map(|t| Locator::new("probability_attribute", t))
                .transpose()?,
            threshold: attributes.probability_threshold.unwrap_or(0.5),
            excluded,
            label: match label {
                Some(NameOrIndex::Name(expr)) => Some(compile("label", expr)?),
                _ => None,
            },
            only: None,
        })
    }

    /// Decodes only these feature columns of CSV requests; the others
    /// become missing cells. A run that computes only bias reads just its
    /// facets and group variable, and text it would drop costs an
    /// allocation per cell.
    pub fn decode_only(mut self, columns: Vec<usize>) -> Decoder {
        self.only = Some(columns);
        self
    }

    /// Whether feature column `k` is decoded.
    fn decodes(&self, k: usize) -> bool {
        self.only.as_ref().is_none_or(|only| only.contains(&k))
    }

    /// The records of one capture line. `ground_truth` is the joined
    /// ground truth (a merged line's own `groundTruthData` wins). Errors are
    /// sentences without the file, which the caller adds.
    pub(super) fn records(
        &self,
        event: &Event,
        ground_truth: Option<&Payload<'_>>,
    ) -> std::result::Result<Records, String> {
        // Named only on failure: formatting it for every event cost an allocation each.
        let name = || event.metadata.name();
        let capture = event
            .capture
            .as_ref()
            .ok_or_else(|| format!("{} has no captureData", name()))?;
        let (Some(input), Some(output)) = (&capture.input, &capture.output) else {
            return Err(format!(
                "{} lacks captureData.endpointInput or endpointOutput; capture both (DataCaptureConfig CaptureOptions Input and Output)",
                name()
            ));
        };
        let features = self
            .features(input)
            .map_err(|e| format!("{}, endpointInput: {e}", name()))?;
        let predicted = self
            .predictions(output)
            .map_err(|e| format!("{}, endpointOutput: {e}", name()))?;
        let labels = event
            .ground_truth
            .as_ref()
            .or(ground_truth)
            .map(|g| self.labels(g))
            .transpose()
            .map_err(|e| format!("{}, groundTruthData: {e}", name()))?;
        let counts_agree = predicted.len() == features.len()
            && labels.as_ref().is_none_or(|l| l.len() == features.len());
        if !counts_agree {
            return Err(format!(
                "{} holds {} records in its input, {} in its output{}; each part must hold one entry per record",
                name(),
                features.len(),
                predicted.len(),
                labels
                    .as_ref()
                    .map_or(String::new(), |l| format!(" and {} in its ground truth", l.len()))
            ));
        }
        Ok(Records {
            features,
            predicted,
            labels,
        })
    }

    fn features(&self, input: &Payload<'_>) -> std::result::Result<Vec<Vec<Cell>>, String> {
        let text = input.text()?;
        match input.body(&text) {
            Body::Csv => for_csv_rows(&text, |fields| {
                // Room for the label and predicted label a joined row
                // appends, so that appending does not reallocate.
                let mut cells = Vec::with_capacity(fields.len() + 2);
                let features = fields
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| !self.excluded.contains(i))
                    .map(|(_, f)| f);
                cells.extend(features.enumerate().map(|(k, f)| match self.decodes(k) {
                    true => Cell::Text(f.as_bytes().into()),
                    false => Cell::Missing,
                }));
                Ok(cells)
            }),
            Body::Json => {
                let found = self.locate_features(&json(&text)?)?;
                match found.as_array() {
                    Some(items) if items.iter().all(|i| i.is_array()) => {
                        Ok(items.iter().map(|r| cells(r)).collect())
                    }
                    Some(_) => Ok(vec![cells(&found)]),
                    None => Err(format!("the features are {found}, not a list")),
                }
            }
            Body::JsonLines => json_lines(&text)
                .map(|doc| {
                    let found = self.locate_features(&doc?)?;
                    match found.is_array() {
                        true => Ok(cells(&found)),
                        false => Err(format!("the features are {found}, not a list")),
                    }
                })
                .collect(),
        }
    }

    fn locate_features(&self, doc: &Variable) -> std::result::Result<Variable, String> {
        match &self.features {
            Some(expr) => search(expr, doc),
            None if doc.is_array() => Ok(doc.clone()),
            None => Err(
                "a JSON request needs features_attribute, the JMESPath to its features (e.g. instances[*].features)"
                    .into(),
            ),
        }
    }

    /// The predicted labels: a score from `probability_attribute` compared
    /// with the threshold (strictly greater predicts 1), else the label at
    /// `inference_attribute`, else a CSV answer's single value as a score.
    fn predictions(&self, output: &Payload<'_>) -> std::result::Result<Vec<Cell>, String> {
        let text = output.text()?;
        let threshold = |v: &Variable| self.scored(v);
        match (output.body(&text), &self.probability, &self.inference) {
            (Body::Csv, probability, inference) => {
                // JMESPath locators are for JSON answers; in a CSV answer
                // only column indices count, and a single column is the score.
                let index = |l: &Option<Locator>| match l {
                    Some(Locator::Index(i)) => Some(*i),
                    _ => None,
                };
                let pick = |fields: &[&str], i: usize, key: &str| {
                    fields.get(i).map(|f| f.to_string()).ok_or_else(|| {
                        format!("{key} is column {i} but the answer line has {} columns", fields.len())
                    })
                };
                for_csv_rows(&text, |fields| match (index(probability), index(inference)) {
                    (Some(i), _) => {
                        score_label(&pick(fields, i, "probability_attribute")?, self.threshold)
                    }
                    (None, Some(i)) => Ok(Cell::Text(
                        pick(fields, i, "inference_attribute")?.into_bytes().into(),
                    )),
                    (None, None) if fields.len() == 1 => score_label(fields[0], self.threshold),
                    (None, None) => Err(format!(
                        "the CSV answer line has {} columns; set inference_attribute or probability_attribute to the column index of the label or score",
                        fields.len()
                    )),
                })
            }
            (Body::Json, probability, inference) => {
                let doc = json(&text)?;
                match (probability, inference) {
                    (Some(Locator::Path(p)), _) => per_record(&search(p, &doc)?, threshold),
                    (None, Some(Locator::Path(p))) => {
                        per_record(&search(p, &doc)?, |v| Ok(cell(v)))
                    }
                    (None, None) => Err("a JSON answer needs inference_attribute or probability_attribute, the JMESPath to the label or score (e.g. predictions[*].score)".into()),
                    _ => Err("a JSON answer needs JMESPath, not a column index, in inference_attribute / probability_attribute".into()),
                }
            }
            (Body::JsonLines, probability, inference) => json_lines(&text)
                .map(|doc| {
                    let doc = doc?;
                    match (probability, inference) {
                        (Some(Locator::Path(p)), _) => threshold(&search(p, &doc)?),
                        (None, Some(Locator::Path(p))) => Ok(cell(&search(p, &doc)?)),
                        _ => Err("a JSON Lines answer needs inference_attribute or probability_attribute as a JMESPath".into()),
                    }
                })
                .collect(),
        }
    }

    /// A score (or a list of class scores, whose largest wins by index)
    /// as a predicted label.
    fn scored(&self, v: &Variable) -> std::result::Result<Cell, String> {
        match v {
            Variable::Number(n) => Ok(Cell::Int(
                (n.as_f64().unwrap_or(f64::NAN) > self.threshold) as i64,
            )),
            Variable::String(s) => score_label(s, self.threshold),
            Variable::Array(scores) => {
                let mut best: Option<(usize, f64)> = None;
                for (i, s) in scores.iter().enumerate() {
                    let s = s
                        .as_number()
                        .ok_or_else(|| format!("the score list holds {s}"))?;
                    if best.is_none_or(|(_, b)| s > b) {
                        best = Some((i, s));
                    }
                }
                best.map(|(i, _)| Cell::Int(i as i64))
                    .ok_or_else(|| "the score list is empty".into())
            }
            other => Err(format!("the score is {other}, not a number")),
        }
    }

    /// The labels of ground truth: one per line for CSV; the config's
    /// `label` JMESPath applied to a JSON document (or to each JSON Lines
    /// line).
    fn labels(&self, truth: &Payload<'_>) -> std::result::Result<Vec<Cell>, String> {
        let text = truth.text()?;
        if truth.body(&text) == Body::Csv {
            return Ok(text
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(|l| Cell::Text(l.as_bytes().into()))
                .collect());
        }
        let label = |doc: &Variable| match &self.label {
            Some(expr) => search(expr, doc),
            None => Ok(doc.clone()),
        };
        match Variable::from_json(text.trim()) {
            Ok(doc) => per_record(&label(&doc)?, |v| Ok(cell(v))),
            Err(_) => json_lines(&text).map(|d| Ok(cell(&label(&d?)?))).collect(),
        }
    }
}

/// One cell per record from a located value: each element of a list, or
/// the value itself as one record.
fn per_record(
    found: &Variable,
    mut each: impl FnMut(&Variable) -> std::result::Result<Cell, String>,
) -> std::result::Result<Vec<Cell>, String> {
    match found {
        Variable::Array(items) => items.iter().map(|v| each(v)).collect(),
        Variable::Null => Err("the locator found nothing".into()),
        one => Ok(vec![each(one)?]),
    }
}

fn score_label(text: &str, threshold: f64) -> std::result::Result<Cell, String> {
    let score: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("the score {text:?} is not a number"))?;
    Ok(Cell::Int((score > threshold) as i64))
}

fn search(expr: &Expression<'static>, doc: &Variable) -> std::result::Result<Variable, String> {
    expr.search(doc)
        .map(|v| (*v).clone())
        .map_err(|e| format!("{}: {e}", expr.as_str()))
}

fn json(text: &str) -> std::result::Result<Variable, String> {
    Variable::from_json(text.trim()).map_err(|e| format!("not valid JSON: {e}"))
}

fn json_lines(text: &str) -> impl Iterator<Item = std::result::Result<Variable, String>> + '_ {
    text.lines().filter(|l| !l.trim().is_empty()).map(json)
}

/// `each` applied to the fields of every row of a CSV body, in order.
/// Bodies without quotes (nearly all captured traffic) are split directly,
/// borrowing the text into one field buffer reused row after row; quoted
/// ones go through the csv crate, whose reader costs an 8 KB buffer per body.
fn for_csv_rows<T>(
    text: &str,
    mut each: impl FnMut(&[&str]) -> std::result::Result<T, String>,
) -> std::result::Result<Vec<T>, String> {
    let mut rows = Vec::new();
    if !text.contains('"') {
        let mut fields = Vec::new();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            fields.clear();
            fields.extend(line.split(','));
            rows.push(each(&fields)?);
        }
        return Ok(rows);
    }
    let records = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes())
        .into_records();
    for record in records {
        let record = record.map_err(|e| format!("not valid CSV: {e}"))?;
        rows.push(each(&record.iter().collect::<Vec<_>>())?);
    }
    Ok(rows)
}

fn cells(v: &Variable) -> Vec<Cell> {
    v.as_array()
        .map(|items| items.iter().map(|i| cell(i)).collect())
        .unwrap_or_else(|| vec![cell(v)])
}

fn cell(v: &Variable) -> Cell {
    crate::dataset::jmespath_cell(v)
}

#[cfg(test)]
mod tests {
    use super::super::Attributes;
    use super::*;
    use base64::Engine;

    fn decoder(attributes: Attributes, label: Option<&str>) -> Decoder {
        let label = label.map(|l| NameOrIndex::Name(l.into()));
        Decoder::new(&attributes, label.as_ref()).unwrap()
    }

    fn event(line: &str) -> Event<'_> {
        serde_json::from_str(line).unwrap()
    }

    fn texts(cells: &[Cell]) -> Vec<String> {
        cells
            .iter()
            .map(|c| match c {
                Cell::Text(t) => String::from_utf8_lossy(t).into_owned(),
                Cell::Int(i) => format!("int {i}"),
                Cell::Float(f) => format!("float {f}"),
                Cell::Str(s) => format!("str {s}"),
                other => format!("{other:?}"),
            })
            .collect()
    }

    /// AWS's JSON capture example (spec A.3): two instances per event,
    /// AWS's JSON capture example (spec A.3): two instances per event,
    /// scores thresholded strictly, JSON ground truth through `label`.
    #[test]
    fn json_event_with_several_records_and_json_ground_truth() {
        let d = decoder(
            Attributes {
                features: Some("instances[*].features".into()),
                probability: Some("predictions[*].score".into()),
                probability_threshold: Some(0.5041388273239136),
                ..Default::default()
            },
            Some("instances[*].label"),
        );
        let e = event(
            r#"{"captureData":{"endpointInput":{"observedContentType":"application/json","mode":"INPUT","data":"{\"instances\": [{\"features\": [28, 2, 133937]}, {\"features\": [43, 2.5, \"x\"]}]}","encoding":"JSON"},"endpointOutput":{"observedContentType":"application/json","mode":"OUTPUT","data":"{\"predictions\": [{\"score\": 0.9899773597717285, \"predicted_label\": 1}, {\"score\": 0.5041388273239136, \"predicted_label\": 1}]}","encoding":"JSON"}},"eventMetadata":{"eventId":"9066ac80","inferenceTime":"2024-01-19T19:27:57Z"},"eventVersion":"0"}"#,
        );
        let truth = Payload {
            content_type: None,
            data: r#"{"instances": [{"label": 0}, {"label": 1}]}"#.into(),
            encoding: Some("JSON".into()),
        };
        let r = d.records(&e, Some(&truth)).unwrap();
        assert_eq!(
            r.features[0],
            [Cell::Int(28), Cell::Int(2), Cell::Int(133937)]
        );
        assert_eq!(
            r.features[1],
            [Cell::Int(43), Cell::Float(2.5), Cell::Str("x".into())]
        );
        // 0.504... is not strictly above the threshold 0.504...: label 0.
        assert_eq!(r.predicted, [Cell::Int(1), Cell::Int(0)]);
        assert_eq!(r.labels, Some(vec![Cell::Int(0), Cell::Int(1)]));
    }

    /// CSV and base64 capture, excluded columns, a CSV answer's single
    /// score, and CSV ground truth one label per line.
    #[test]
    fn csv_and_base64_events() {
        let d = decoder(
            Attributes {
                exclude_features: Some("0".into()),
                ..Default::default()
            },
            Some("Target"),
        );
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        let line = format!(
            r#"{{"captureData":{{"endpointInput":{{"observedContentType":"text/csv","data":"{}","encoding":"BASE64"}},"endpointOutput":{{"observedContentType":"text/csv; charset=utf-8","data":"0.7\n0.2\n","encoding":"CSV"}}}},"eventMetadata":{{"eventId":"e1","inferenceId":"i1"}}}}"#,
            b64("id7,a,1\nid8,b,2\n")
        );
        let truth = Payload {
            content_type: None,
            data: "1\n0\n".into(),
            encoding: Some("CSV".into()),
        };
        let r = d.records(&event(&line), Some(&truth)).unwrap();
        assert_eq!(texts(&r.features[0]), ["a", "1"]);
        assert_eq!(texts(&r.features[1]), ["b", "2"]);
        // Decoding only column 1 (after the exclusion) leaves column 0 missing.
        let only = decoder(
            Attributes {
                exclude_features: Some("0".into()),
                ..Default::default()
            },
            Some("Target"),
        )
        .decode_only(vec![1]);
        let r1 = only.records(&event(&line), Some(&truth)).unwrap();
        assert_eq!(r1.features[1][0], Cell::Missing);
        assert_eq!(texts(&r1.features[1][1..]), ["2"]);
        assert_eq!(r.predicted, [Cell::Int(1), Cell::Int(0)]);
        assert_eq!(texts(r.labels.as_ref().unwrap()), ["1", "0"]);
        // Ground truth with one label too few fails, naming the event.
        let short = Payload {
            data: "1\n".into(),
            ..truth
        };
        assert_eq!(
            d.records(&event(&line), Some(&short)).unwrap_err(),
            "event e1 holds 2 records in its input, 2 in its output and 1 in its ground truth; each part must hold one entry per record"
        );
    }
}
