//! Captured traffic: SageMaker data-capture JSON Lines, the ground truth
//! joined to it, and the records they hold (spec monitoring.md A.3).
//!
//! A capture line is one event: the request (`endpointInput`) and the
//! answer (`endpointOutput`), each with its `observedContentType`, its
//! `data` and an `encoding` (`CSV`, `JSON` or `BASE64`). One event can hold
//! several records (a JSON body with N instances, or N CSV lines). The
//! ground truth of an event is found by its `inferenceId` when it has one,
//! otherwise by its `eventId`; merged files already carry it as
//! `groundTruthData`. [`Decoder`] turns an event into records: features
//! from the input, the predicted label from the output, the label from the
//! ground truth. [`scan`] streams a folder of capture files in batches.

use crate::config::{AnalysisConfig, NameOrIndex};
use crate::dataset::value::Cell;
use crate::error::{JobError, Result};
use base64::Engine;
use chrono::{DateTime, Utc};
use jmespath::{Expression, Variable};
use rayon::prelude::*;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::io::BufRead;
use std::path::{Path, PathBuf};

/// Model Monitor's attribute settings: where the features, the predicted
/// label and the score are in the captured request and answer.
#[derive(Debug, Clone, Default)]
pub struct Attributes {
    /// JMESPath to the features of a JSON / JSON Lines request.
    pub features: Option<String>,
    /// Index (CSV) or JMESPath (JSON) of the predicted label in the answer.
    pub inference: Option<String>,
    /// Index (CSV) or JMESPath (JSON) of the score in the answer.
    pub probability: Option<String>,
    /// A score strictly above this predicts 1 (default 0.5).
    pub probability_threshold: Option<f64>,
    /// Comma-separated indices of CSV request columns that are not features.
    pub exclude_features: Option<String>,
}

impl Attributes {
    /// Fills the settings not given from the analysis config: `features`,
    /// `predictor.label`, `predictor.probability` and `probability_threshold`
    /// (what the SDK copies into a schedule from the baselining config).
    pub fn or_config(mut self, config: &AnalysisConfig) -> Attributes {
        let text = |v: &NameOrIndex| match v {
            NameOrIndex::Name(s) => s.clone(),
            NameOrIndex::Index(i) => i.to_string(),
        };
        let predictor = config.predictor.as_ref();
        self.features = self.features.or_else(|| config.features.clone());
        self.inference = self
            .inference
            .or_else(|| predictor.and_then(|p| p.label.as_ref()).map(text));
        self.probability = self
            .probability
            .or_else(|| predictor.and_then(|p| p.probability.as_ref()).map(text));
        self.probability_threshold = self.probability_threshold.or(config.probability_threshold);
        self
    }
}

/// The analysis window: events whose `inferenceTime` is in `[start, end)`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Window {
    /// First instant kept.
    pub start: Option<DateTime<Utc>>,
    /// First instant no longer kept.
    pub end: Option<DateTime<Utc>>,
}

impl Window {
    /// Whether an event at `time` is in the window; an event without a
    /// readable time is in it only when the window is unbounded.
    fn contains(&self, time: Option<&str>) -> bool {
        if self.start.is_none() && self.end.is_none() {
            return true;
        }
        let Some(t) = time.and_then(|t| parse_time(t).ok()) else {
            return false;
        };
        self.start.is_none_or(|s| t >= s) && self.end.is_none_or(|e| t < e)
    }
}

/// Parses an ISO-8601 instant such as `2024-01-19T19:27:57Z`. Spaces are
/// ignored: AWS's own example environment reads `2019-12-01T16: 20: 00Z`.
pub fn parse_time(text: &str) -> std::result::Result<DateTime<Utc>, String> {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    DateTime::parse_from_rfc3339(&compact)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("{text:?} is not an ISO-8601 time such as 2024-01-19T19:00:00Z ({e})"))
}

/// One part of a capture line: a request, an answer, or ground truth.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Payload {
    /// MIME type the endpoint saw (absent for ground truth).
    #[serde(
        rename = "observedContentType",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub content_type: Option<String>,
    /// The body, as text or base64.
    pub data: String,
    /// `CSV`, `JSON` or `BASE64`.
    #[serde(default)]
    pub encoding: Option<String>,
}

impl Payload {
    /// The body as text, base64 decoded when its encoding says so.
    fn text(&self) -> std::result::Result<Cow<'_, str>, String> {
        if !self
            .encoding
            .as_deref()
            .is_some_and(|e| e.eq_ignore_ascii_case("BASE64"))
        {
            return Ok(Cow::Borrowed(&self.data));
        }
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(self.data.trim())
            .map_err(|e| format!("data is not valid base64 ({e})"))?;
        String::from_utf8(bytes)
            .map(Cow::Owned)
            .map_err(|_| "the base64 data is not UTF-8 text".into())
    }

    /// How the body is laid out: by content type, else by encoding, else
    /// by its first character.
    fn body(&self, text: &str) -> Body {
        let kind = self.content_type.as_deref().map(|t| {
            t.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        });
        match kind.as_deref() {
            Some("text/csv") => Body::Csv,
            Some("application/jsonlines" | "application/x-jsonlines" | "application/x-ndjson") => {
                Body::JsonLines
            }
            Some("application/json") => Body::Json,
            _ => match self
                .encoding
                .as_deref()
                .map(str::to_ascii_uppercase)
                .as_deref()
            {
                Some("CSV") => Body::Csv,
                Some("JSON") => Body::Json,
                _ if text.trim_start().starts_with(['{', '[']) => Body::Json,
                _ => Body::Csv,
            },
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Body {
    Csv,
    Json,
    JsonLines,
}

/// `eventMetadata`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Metadata {
    /// The capture's own id; ground truth is keyed by it when the request
    /// had no inference id.
    #[serde(rename = "eventId", default)]
    pub event_id: Option<String>,
    /// The caller's `InferenceId`, the preferred join key.
    #[serde(rename = "inferenceId", default)]
    pub inference_id: Option<String>,
    /// When the endpoint answered.
    #[serde(rename = "inferenceTime", default)]
    pub inference_time: Option<String>,
}

impl Metadata {
    /// The id ground truth joins on: `inferenceId`, else `eventId`.
    pub fn join_key(&self) -> Option<&str> {
        self.inference_id.as_deref().or(self.event_id.as_deref())
    }

    /// How errors name the event.
    fn name(&self) -> String {
        match (&self.event_id, &self.inference_id) {
            (Some(e), _) => format!("event {e}"),
            (None, Some(i)) => format!("event with inferenceId {i}"),
            (None, None) => "an event without eventId".into(),
        }
    }
}

#[derive(Debug, Deserialize)]
struct CaptureData {
    #[serde(rename = "endpointInput")]
    input: Option<Payload>,
    #[serde(rename = "endpointOutput")]
    output: Option<Payload>,
}

/// One capture line (or merged line), as far as monitoring reads it.
#[derive(Debug, Deserialize)]
struct Event {
    #[serde(rename = "captureData")]
    capture: Option<CaptureData>,
    #[serde(rename = "eventMetadata", default)]
    metadata: Metadata,
    #[serde(rename = "groundTruthData")]
    ground_truth: Option<Payload>,
}

/// A ground-truth line.
#[derive(Debug, Deserialize)]
struct GroundTruthLine {
    #[serde(rename = "groundTruthData")]
    data: Payload,
    #[serde(rename = "eventMetadata", default)]
    metadata: Metadata,
}

/// Ground truth by the id it was uploaded under (`eventMetadata.eventId`
/// of each ground-truth line, which holds the capture's inference id or
/// event id).
#[derive(Debug, Default)]
pub struct GroundTruth {
    by_id: FxHashMap<String, Payload>,
}

impl GroundTruth {
    /// Reads every ground-truth JSON Lines file under `dir`, recursively.
    pub fn load(dir: &Path) -> Result<GroundTruth> {
        let mut by_id = FxHashMap::default();
        for file in crate::dataset::files::list(dir)? {
            let reader = std::io::BufReader::new(crate::dataset::files::open(&file)?);
            for (n, line) in reader.lines().enumerate() {
                let line = line.map_err(|e| read_error(&file, e))?;
                if line.trim().is_empty() {
                    continue;
                }
                let parsed: GroundTruthLine = serde_json::from_str(&line).map_err(|e| {
                    JobError::client(format!(
                        "{} line {}: not a ground-truth record ({e}); each line needs groundTruthData {{data, encoding}} and eventMetadata.eventId.",
                        file.display(),
                        n + 1
                    ))
                })?;
                let Some(id) = parsed.metadata.event_id else {
                    return Err(JobError::client(format!(
                        "{} line {}: the ground-truth record has no eventMetadata.eventId, so it cannot be joined to a captured event.",
                        file.display(),
                        n + 1
                    )));
                };
                by_id.insert(id, parsed.data);
            }
        }
        tracing::info!(records = by_id.len(), "ground truth read");
        Ok(GroundTruth { by_id })
    }

    /// The ground truth of an event: by `inferenceId` when the event has
    /// one (and only by it), otherwise by `eventId`.
    pub fn find(&self, metadata: &Metadata) -> Option<&Payload> {
        self.by_id.get(metadata.join_key()?)
    }
}

fn read_error(file: &Path, e: std::io::Error) -> JobError {
    JobError::client(format!("Cannot read {}: {e}", file.display()))
}

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
        })
    }

    /// The records of one capture line. `ground_truth` is the joined
    /// ground truth (a merged line's own `groundTruthData` wins). Errors are
    /// sentences without the file, which the caller adds.
    fn records(
        &self,
        event: &Event,
        ground_truth: Option<&Payload>,
    ) -> std::result::Result<Records, String> {
        let name = event.metadata.name();
        let capture = event
            .capture
            .as_ref()
            .ok_or_else(|| format!("{name} has no captureData"))?;
        let (Some(input), Some(output)) = (&capture.input, &capture.output) else {
            return Err(format!(
                "{name} lacks captureData.endpointInput or endpointOutput; capture both (DataCaptureConfig CaptureOptions Input and Output)"
            ));
        };
        let features = self
            .features(input)
            .map_err(|e| format!("{name}, endpointInput: {e}"))?;
        let predicted = self
            .predictions(output)
            .map_err(|e| format!("{name}, endpointOutput: {e}"))?;
        let labels = event
            .ground_truth
            .as_ref()
            .or(ground_truth)
            .map(|g| self.labels(g))
            .transpose()
            .map_err(|e| format!("{name}, groundTruthData: {e}"))?;
        let counts_agree = predicted.len() == features.len()
            && labels.as_ref().is_none_or(|l| l.len() == features.len());
        if !counts_agree {
            return Err(format!(
                "{name} holds {} records in its input, {} in its output{}; each part must hold one entry per record",
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

    fn features(&self, input: &Payload) -> std::result::Result<Vec<Vec<Cell>>, String> {
        let text = input.text()?;
        match input.body(&text) {
            Body::Csv => csv_rows(&text)
                .map(|row| {
                    row.map(|fields| {
                        fields
                            .into_iter()
                            .enumerate()
                            .filter(|(i, _)| !self.excluded.contains(i))
                            .map(|(_, f)| Cell::Text(f.into_bytes().into_boxed_slice()))
                            .collect()
                    })
                })
                .collect(),
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
    fn predictions(&self, output: &Payload) -> std::result::Result<Vec<Cell>, String> {
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
                let pick = |fields: &[String], i: usize, key: &str| {
                    fields.get(i).cloned().ok_or_else(|| {
                        format!("{key} is column {i} but the answer line has {} columns", fields.len())
                    })
                };
                csv_rows(&text)
                    .map(|row| {
                        let fields = row?;
                        match (index(probability), index(inference)) {
                            (Some(i), _) => {
                                score_label(&pick(&fields, i, "probability_attribute")?, self.threshold)
                            }
                            (None, Some(i)) => Ok(Cell::Text(
                                pick(&fields, i, "inference_attribute")?.into_bytes().into(),
                            )),
                            (None, None) if fields.len() == 1 => {
                                score_label(&fields[0], self.threshold)
                            }
                            (None, None) => Err(format!(
                                "the CSV answer line has {} columns; set inference_attribute or probability_attribute to the column index of the label or score",
                                fields.len()
                            )),
                        }
                    })
                    .collect()
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
    fn labels(&self, truth: &Payload) -> std::result::Result<Vec<Cell>, String> {
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

fn csv_rows(text: &str) -> impl Iterator<Item = std::result::Result<Vec<String>, String>> + '_ {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes())
        .into_records()
        .map(|r| {
            r.map(|rec| rec.iter().map(str::to_string).collect())
                .map_err(|e| format!("not valid CSV: {e}"))
        })
}

fn cells(v: &Variable) -> Vec<Cell> {
    v.as_array()
        .map(|items| items.iter().map(|i| cell(i)).collect())
        .unwrap_or_else(|| vec![cell(v)])
}

fn cell(v: &Variable) -> Cell {
    crate::dataset::jmespath_cell(v)
}

/// What a scan saw, for the log and for "empty window" decisions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Capture files read.
    pub files: u64,
    /// Events read.
    pub events: u64,
    /// Events outside the window (left out).
    pub outside_window: u64,
    /// Events in the window without ground truth (left out of bias).
    pub without_ground_truth: u64,
    /// Records of the events in the window.
    pub records: u64,
}

/// One event in the window, as read: its records, and where it came from.
#[derive(Debug)]
pub struct Decoded {
    /// The capture file.
    pub file: PathBuf,
    /// Its records.
    pub records: Records,
}

/// Lines parsed per batch: events are decoded in parallel within a batch,
/// and memory holds one batch.
const BATCH_LINES: usize = 4096;

/// Streams the events under `captured` (recursively, files in path order)
/// that fall in `window`, decoded into records, in batches handed to `sink`
/// in file and line order.
pub fn scan(
    captured: &Path,
    window: &Window,
    decoder: &Decoder,
    ground_truth: Option<&GroundTruth>,
    mut sink: impl FnMut(Vec<Decoded>) -> Result<()>,
) -> Result<Stats> {
    let mut stats = Stats::default();
    let mut batch: Vec<(PathBuf, usize, String)> = Vec::with_capacity(BATCH_LINES);
    let mut flush = |batch: &mut Vec<(PathBuf, usize, String)>, stats: &mut Stats| -> Result<()> {
        let decoded: Vec<Option<(Decoded, bool)>> = batch
            .par_iter()
            .map(|(file, line_no, line)| {
                decode_line(file, *line_no, line, window, decoder, ground_truth)
            })
            .collect::<Result<_>>()?;
        stats.events += batch.len() as u64;
        batch.clear();
        let mut kept = Vec::with_capacity(decoded.len());
        for d in decoded {
            match d {
                None => stats.outside_window += 1,
                Some((d, joined)) => {
                    stats.records += d.records.features.len() as u64;
                    stats.without_ground_truth += !joined as u64;
                    kept.push(d);
                }
            }
        }
        sink(kept)
    };
    for file in capture_files(captured)? {
        stats.files += 1;
        let reader = std::io::BufReader::new(crate::dataset::files::open(&file)?);
        for (n, line) in reader.lines().enumerate() {
            let line = line.map_err(|e| read_error(&file, e))?;
            if line.trim().is_empty() {
                continue;
            }
            batch.push((file.clone(), n + 1, line));
            if batch.len() == BATCH_LINES {
                flush(&mut batch, &mut stats)?;
            }
        }
    }
    flush(&mut batch, &mut stats)?;
    Ok(stats)
}

/// The capture files under `captured`: every file, recursively, except
/// batch-transform manifests (a JSON array, not events), which are logged.
pub fn capture_files(captured: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for file in crate::dataset::files::list(captured)? {
        let mut first = [0u8; 1];
        let is_manifest = std::fs::File::open(&file)
            .and_then(|mut f| std::io::Read::read(&mut f, &mut first))
            .is_ok_and(|n| n == 1 && first[0] == b'[');
        if is_manifest {
            tracing::warn!(
                "{}: a batch-transform manifest, not captured events; skipped (point --captured at the data it lists)",
                file.display()
            );
        } else {
            files.push(file);
        }
    }
    Ok(files)
}

/// Decodes one line: `None` when the event is outside the window; the bool
/// says whether it has ground truth.
fn decode_line(
    file: &Path,
    line_no: usize,
    line: &str,
    window: &Window,
    decoder: &Decoder,
    ground_truth: Option<&GroundTruth>,
) -> Result<Option<(Decoded, bool)>> {
    let at = || format!("{} line {line_no}", file.display());
    let event: Event = serde_json::from_str(line).map_err(|e| {
        JobError::client(format!(
            "{}: not a captured event ({e}); expected SageMaker data-capture JSON Lines (captureData, eventMetadata).",
            at()
        ))
    })?;
    if !window.contains(event.metadata.inference_time.as_deref()) {
        return Ok(None);
    }
    let truth = ground_truth.and_then(|g| g.find(&event.metadata));
    let joined = event.ground_truth.is_some() || truth.is_some();
    let records = decoder
        .records(&event, truth)
        .map_err(|e| JobError::client(format!("{}: {e}.", at())))?;
    Ok(Some((
        Decoded {
            file: file.to_path_buf(),
            records,
        },
        joined,
    )))
}

/// Merges ground truth into capture lines (the platform's merge job): each
/// event in the window with ground truth is written, unchanged but for an
/// added `groundTruthData`, to the same relative path under `output`.
/// Events without ground truth are left out, as the merge job leaves them.
pub fn join_ground_truth(
    captured: &Path,
    ground_truth: &GroundTruth,
    window: &Window,
    output: &Path,
) -> Result<Stats> {
    let mut stats = Stats::default();
    for file in capture_files(captured)? {
        stats.files += 1;
        let relative = file.strip_prefix(captured).unwrap_or(&file);
        let target = match relative.as_os_str().is_empty() {
            true => output.join(file.file_name().unwrap_or_default()),
            false => output.join(relative),
        };
        let mut merged = Vec::new();
        let reader = std::io::BufReader::new(crate::dataset::files::open(&file)?);
        for (n, line) in reader.lines().enumerate() {
            let line = line.map_err(|e| read_error(&file, e))?;
            if line.trim().is_empty() {
                continue;
            }
            stats.events += 1;
            let at = || format!("{} line {}", file.display(), n + 1);
            let mut doc: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&line)
                .map_err(|e| {
                JobError::client(format!("{}: not a captured event ({e}).", at()))
            })?;
            let metadata: Metadata =
                serde_json::from_value(doc.get("eventMetadata").cloned().unwrap_or_default())
                    .unwrap_or_default();
            if !window.contains(metadata.inference_time.as_deref()) {
                stats.outside_window += 1;
                continue;
            }
            let truth = match doc.contains_key("groundTruthData") {
                true => None,
                false => match ground_truth.find(&metadata) {
                    Some(t) => Some(t),
                    None => {
                        stats.without_ground_truth += 1;
                        continue;
                    }
                },
            };
            // The merge job's key order: eventVersion, groundTruthData, the rest.
            let mut out = serde_json::Map::new();
            if let Some(v) = doc.remove("eventVersion") {
                out.insert("eventVersion".into(), v);
            }
            if let Some(t) = truth {
                out.insert(
                    "groundTruthData".into(),
                    serde_json::to_value(t).expect("a payload serialises"),
                );
            }
            out.extend(doc);
            merged.extend(serde_json::to_vec(&out).expect("JSON serialises"));
            merged.push(b'\n');
            stats.records += 1;
        }
        if !merged.is_empty() {
            if let Some(dir) = target.parent() {
                std::fs::create_dir_all(dir).map_err(|e| {
                    JobError::client(format!("Cannot create {}: {e}", dir.display()))
                })?;
            }
            crate::layout::write_atomic(&target, &merged)?;
        }
    }
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decoder(attributes: Attributes, label: Option<&str>) -> Decoder {
        let label = label.map(|l| NameOrIndex::Name(l.into()));
        Decoder::new(&attributes, label.as_ref()).unwrap()
    }

    fn event(line: &str) -> Event {
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

    #[test]
    fn joins_on_inference_id_only_when_there_is_one() {
        let mut by_id = FxHashMap::default();
        let payload = |d: &str| Payload {
            content_type: None,
            data: d.into(),
            encoding: Some("CSV".into()),
        };
        by_id.insert("i1".to_string(), payload("1"));
        by_id.insert("e1".to_string(), payload("0"));
        by_id.insert("e2".to_string(), payload("0"));
        let gt = GroundTruth { by_id };
        let meta = |e: &str, i: Option<&str>| Metadata {
            event_id: Some(e.into()),
            inference_id: i.map(Into::into),
            inference_time: None,
        };
        assert_eq!(gt.find(&meta("e1", Some("i1"))).unwrap().data, "1");
        assert!(gt.find(&meta("e2", Some("i9"))).is_none());
        assert_eq!(gt.find(&meta("e2", None)).unwrap().data, "0");
    }

    #[test]
    fn window_is_half_open_and_tolerates_awss_spaced_times() {
        let w = Window {
            start: Some(parse_time("2019-12-01T15: 20: 00Z").unwrap()),
            end: Some(parse_time("2019-12-01T16:20:00Z").unwrap()),
        };
        assert!(w.contains(Some("2019-12-01T15:20:00Z")));
        assert!(w.contains(Some("2019-12-01T16:19:59Z")));
        assert!(!w.contains(Some("2019-12-01T16:20:00Z")));
        assert!(!w.contains(None));
        assert!(Window::default().contains(None));
        assert!(parse_time("yesterday").is_err());
    }
}
