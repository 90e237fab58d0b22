//! `openclarify check`: everything a run would use, checked in seconds
//! without running it.
//!
//! The config is parsed with every problem listed at once; the first chunk
//! of the dataset is read and each column's role shown as the analyses will
//! read it; one request with a few records goes to the model, and the raw
//! request, the raw answer and what the config's locators make of it are
//! printed. A verdict per configured method closes the report: ready, or
//! what to change. Wiring a model to a job is where new users lose their
//! first hour, and a run only tells them after minutes.

use crate::bias::{self, column::DataType};
use crate::config::{self, AnalysisConfig, ContentType};
use crate::dataset::value::{Cell, ColumnKind};
use crate::dataset::{Chunk, Dataset};
use crate::error::{JobError, Result};
use crate::predictor::outputs::{self, Labeler};
use crate::predictor::response::ModelOutput;
use crate::predictor::{self, Predictor, Probe};
use serde_json::{json, Value as Json};
use std::fmt::Write as _;
use std::path::PathBuf;

/// Records in the one request `check` sends: enough for a predicted label
/// of each class to show up on most data, few enough to read on screen.
pub const PROBE_RECORDS: usize = 10;

/// Characters of a request or response body shown.
const SHOWN_CHARS: usize = 2000;

/// What `check` looks at.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    /// `analysis_config.json`.
    pub config: PathBuf,
    /// The dataset file or folder.
    pub data: PathBuf,
    /// How to reach the model; only the request timeout of its settings
    /// matters (one request, no batching or retries).
    pub model: predictor::ModelAccess,
}

/// One method's verdict: `None` when ready, else what to change.
type Verdict = (&'static str, Option<String>);

/// Checks everything and prints the report on stdout. Returns whether every
/// configured method is ready.
pub fn run(options: &CheckOptions) -> Result<bool> {
    let mut out = String::new();
    let ready = report(options, &mut out);
    print!("{out}");
    Ok(ready)
}

/// Prints the effective config: the file with every default filled in.
pub fn show_config(options: &CheckOptions) -> Result<bool> {
    let (config, raw) = load(options)?;
    let effective = effective_config(&config, raw, options.model.endpoint_url.as_deref());
    println!(
        "{}",
        serde_json::to_string_pretty(&effective).unwrap_or_default()
    );
    Ok(true)
}

/// The config, or every problem it has as one error.
fn load(options: &CheckOptions) -> Result<(AnalysisConfig, Json)> {
    let bytes = std::fs::read(&options.config)
        .map_err(|e| JobError::client(format!("Cannot read {}: {e}", options.config.display())))?;
    let diagnosis = config::diagnose(&bytes);
    match diagnosis.config {
        Some(config) => {
            let raw = serde_json::from_slice(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes))
                .unwrap_or(Json::Null);
            Ok((config, raw))
        }
        None => Err(JobError::client(
            diagnosis
                .problems
                .iter()
                .map(|p| p.message.as_str())
                .collect::<Vec<_>>()
                .join("\n"),
        )),
    }
}

fn report(options: &CheckOptions, out: &mut String) -> bool {
    let config = match check_config(options, out) {
        Some(c) => c,
        None => {
            let _ = writeln!(
                out,
                "\nverdict: not ready: fix the config problems above first."
            );
            return false;
        }
    };
    if config.methods.asymmetric_shapley_value.is_some() {
        return check_time_series(&config, options, out);
    }
    if config.image_config().is_some() {
        return check_images(&config, options, out);
    }
    let methods = configured_methods(&config);
    let sample = check_dataset(&config, options, out);
    let mut verdicts: Vec<Verdict> = Vec::new();
    let (dataset, chunk) = match sample {
        Ok(s) => s,
        Err(e) => {
            let why = format!("the dataset cannot be read: {}", e.message);
            verdicts.extend(methods.iter().map(|m| (*m, Some(why.clone()))));
            return print_verdicts(&verdicts, out);
        }
    };
    let bias = check_bias_columns(&config, &dataset, &chunk, out);
    let model = check_model(&config, &dataset, &chunk, options, out);
    for method in methods {
        let problem = match method {
            "pre_training_bias" => bias.clone().err(),
            "post_training_bias" => bias
                .clone()
                .err()
                .or_else(|| predicted_labels_problem(&config, &dataset, &model)),
            _ => model.as_ref().err().cloned().or_else(|| {
                let probe = model.as_ref().ok()?;
                scores_problem(probe.outputs.as_ref().ok()?)
            }),
        };
        verdicts.push((method, problem));
    }
    print_verdicts(&verdicts, out)
}

/// A time-series job: its documents are read and their items summarised.
/// Forecast requests are not probed yet, and the verdict says so rather
/// than calling the job ready.
fn check_time_series(config: &AnalysisConfig, options: &CheckOptions, out: &mut String) -> bool {
    let _ = writeln!(out, "\ndataset {}", options.data.display());
    let problem = match crate::timeseries::run::read(config, &options.data) {
        Ok(documents) => {
            let rows = documents.items.iter().map(|i| i.timestamps.len());
            let (fewest, most) = (rows.clone().min().unwrap_or(0), rows.max().unwrap_or(0));
            let first = &documents.items[0];
            let _ = writeln!(
                out,
                "  {} items of {fewest} to {most} timestamps; the first, {}, has {} history values, {} related series and {} static covariates",
                documents.items.len(),
                first.id,
                first.target.len(),
                first.related.len(),
                first.statics.len()
            );
            "check does not send forecast requests yet: run the job on a shard of a few items to see the model's answers."
                .to_string()
        }
        Err(e) => {
            let _ = writeln!(out, "  problem: {}", e.message);
            format!("the dataset cannot be read: {}", e.message)
        }
    };
    print_verdicts(&[("asymmetric_shapley_value", Some(problem))], out)
}

/// An image job: its images are listed and the first one is decoded and
/// segmented. Image requests are not probed yet, and the verdict says so
/// rather than calling the job ready.
fn check_images(config: &AnalysisConfig, options: &CheckOptions, out: &mut String) -> bool {
    let _ = writeln!(out, "\ndataset {}", options.data.display());
    let first = crate::images::run::read(config, &options.data).and_then(|images| {
        let name = images.names[0].clone();
        let image =
            crate::images::picture::read(&crate::images::run::image_path(&images.root, &name))?;
        Ok((images.names.len(), name, image))
    });
    let problem = match first {
        Ok((count, name, image)) => {
            let segments = config.image_config().map_or(0, |c| {
                crate::images::slic::slic(
                    image.as_raw(),
                    image.width() as usize,
                    image.height() as usize,
                    c.num_segments(),
                    c.compactness(),
                )
                .count
            });
            let _ = writeln!(
                out,
                "  {count} images; the first, {name}, is {}x{} and cuts into {segments} segments",
                image.width(),
                image.height()
            );
            "check does not send image requests yet: run the job on a folder of one image to see the model's answers."
                .to_string()
        }
        Err(e) => {
            let _ = writeln!(out, "  problem: {}", e.message);
            format!("the images cannot be read: {}", e.message)
        }
    };
    print_verdicts(&[("shap", Some(problem))], out)
}

/// The methods in the config, in the order a run computes them.
fn configured_methods(config: &AnalysisConfig) -> Vec<&'static str> {
    let m = &config.methods;
    [
        ("pre_training_bias", m.pre_training_bias.is_some()),
        ("post_training_bias", m.post_training_bias.is_some()),
        ("shap", m.shap.is_some()),
        ("pdp", m.pdp.is_some()),
    ]
    .into_iter()
    .filter_map(|(name, on)| on.then_some(name))
    .collect()
}

fn check_config(options: &CheckOptions, out: &mut String) -> Option<AnalysisConfig> {
    let _ = writeln!(out, "config  {}", options.config.display());
    match load(options) {
        Ok((config, _)) => {
            let _ = writeln!(out, "  ok");
            Some(config)
        }
        Err(e) => {
            for problem in e.message.lines() {
                let _ = writeln!(out, "  problem: {problem}");
            }
            None
        }
    }
}

/// Opens the dataset and reads its first chunk, printing which column
/// plays which role.
fn check_dataset(
    config: &AnalysisConfig,
    options: &CheckOptions,
    out: &mut String,
) -> Result<(Dataset, Chunk)> {
    let _ = writeln!(out, "\ndataset {}", options.data.display());
    let opened = Dataset::open(config, &options.data).and_then(|dataset| {
        let chunk = dataset
            .chunks()?
            .next()
            .transpose()?
            .filter(|c| !c.is_empty())
            .ok_or_else(|| JobError::client("Dataset is empty: no data rows were read."))?;
        Ok((dataset, chunk))
    });
    let (dataset, chunk) = match opened {
        Ok(d) => d,
        Err(e) => {
            let _ = writeln!(out, "  problem: {}", e.message);
            return Err(e);
        }
    };
    let s = &dataset.schema;
    let name = |c: usize| format!("{:?} (column {c})", s.headers[c]);
    let names = |cols: &[usize]| match cols.is_empty() {
        true => "(none)".to_string(),
        false => cols
            .iter()
            .map(|&c| s.headers[c].as_str())
            .collect::<Vec<_>>()
            .join(", "),
    };
    let _ = writeln!(
        out,
        "  first {} rows read; {} columns: {}",
        chunk.len(),
        s.headers.len(),
        s.headers.join(", ")
    );
    let roles = [
        ("label", s.label),
        ("predicted label", s.predicted_label),
        ("group variable", s.group),
        ("join source", s.joinsource),
    ];
    for (role, col) in roles {
        if let Some(c) = col {
            let _ = writeln!(out, "  {role:<16}{}", name(c));
        }
    }
    if let Some(g) = s.group {
        let _ = writeln!(
            out,
            "  {:<16}{} distinct values in these rows",
            "",
            distinct(&chunk, g).len()
        );
    }
    let _ = writeln!(out, "  {:<16}{}", "excluded", names(&s.excluded_columns()));
    let _ = writeln!(
        out,
        "  {:<16}{} ({} columns)",
        "sent to model",
        names(&s.features),
        s.features.len()
    );
    Ok((dataset, chunk))
}

/// The distinct values of column `col` in the chunk, as text.
fn distinct(chunk: &Chunk, col: usize) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    for row in 0..chunk.len() {
        let text = ColumnKind::Object
            .value_of(&chunk.cell(row, col).to_owned())
            .py_str();
        if !seen.contains(&text) {
            seen.push(text);
        }
    }
    seen
}

/// How the label and facets read on the sample (categorical or continuous,
/// rows each value or threshold selects), and whether pre-training bias
/// can be computed on it.
fn check_bias_columns(
    config: &AnalysisConfig,
    dataset: &Dataset,
    chunk: &Chunk,
    out: &mut String,
) -> std::result::Result<(), String> {
    if config.methods.pre_training_bias.is_none() && config.methods.post_training_bias.is_none() {
        return Ok(());
    }
    let preview = bias::run::preview(config, &dataset.schema, chunk).map_err(|e| e.message)?;
    let _ = writeln!(out, "\nbias columns (in these {} rows)", chunk.len());
    for (r, col) in &preview.columns {
        let kind = match r.data_type {
            DataType::Categorical => "categorical",
            DataType::Continuous => "continuous",
        };
        let _ = writeln!(
            out,
            "  {:<9}{:?}: {kind}, {} distinct values",
            r.role, dataset.schema.headers[*col], r.distinct
        );
        for (values, selected) in &r.groups {
            let what = match r.data_type {
                DataType::Continuous => format!("rows in {values}"),
                DataType::Categorical => format!("value(s) {values}"),
            };
            let _ = match selected {
                Ok(n) => writeln!(out, "           {what} select {n} of {} rows", chunk.len()),
                Err(e) => writeln!(out, "           {what}: {e}"),
            };
        }
    }
    for sentence in &preview.empty {
        let _ = writeln!(out, "  problem: {sentence}");
    }
    preview.section.map_err(|e| e.message)?;
    match preview.empty.is_empty() {
        true => Ok(()),
        false => Err(preview.empty.join("; ")),
    }
}

/// Sends one request with the first records and prints it, the answer and
/// what the locators make of it. `Err` says why the model cannot be used.
fn check_model(
    config: &AnalysisConfig,
    dataset: &Dataset,
    chunk: &Chunk,
    options: &CheckOptions,
    out: &mut String,
) -> std::result::Result<Probe, String> {
    if !config.needs_model(dataset.schema.predicted_label.is_some()) {
        return Err("no method needs the model".into());
    }
    let _ = writeln!(out, "\nmodel");
    let s = &dataset.schema;
    let predictor = Predictor::new(config, &options.model, s.feature_names()).map_err(|e| {
        let _ = writeln!(out, "  problem: {}", e.message);
        e.message
    })?;
    let records: Vec<Vec<Cell>> = (0..chunk.len().min(PROBE_RECORDS))
        .map(|row| chunk.record(row, &s.features))
        .collect();
    let probe = predictor::runtime()
        .map_err(|e| e.message)?
        .block_on(predictor.probe(&records));
    let _ = writeln!(
        out,
        "  POST {}\n  Content-Type: {}  Accept: {}  ({} records)",
        probe.url, probe.content_type, probe.accept_type, probe.records_sent
    );
    let _ = writeln!(out, "  request body:\n{}", indent(&probe.request_body));
    match &probe.response {
        Ok(body) => {
            let _ = writeln!(out, "  response body:\n{}", indent(body));
        }
        Err(why) => {
            let _ = writeln!(out, "  problem: no usable answer: {why}");
            return Err(format!("the model cannot be called: {why}"));
        }
    }
    let p = config.predictor.as_ref();
    let shown = |v: Option<String>| v.unwrap_or_else(|| "(not set)".into());
    let _ = writeln!(
        out,
        "  read with predictor.label = {}, predictor.probability = {}, predictor.label_headers = {}, probability_threshold = {}",
        shown(p.and_then(|p| p.label.as_ref()).map(|l| format!("{l}"))),
        shown(p.and_then(|p| p.probability.as_ref()).map(|l| format!("{l}"))),
        shown(p.and_then(|p| p.label_headers.as_ref()).map(|h| {
            h.iter().map(|v| v.py_str()).collect::<Vec<_>>().join(", ")
        })),
        config.probability_threshold.unwrap_or(0.5)
    );
    match &probe.outputs {
        Ok(outputs) => print_outputs(config, outputs, out),
        Err(why) => {
            let hint = suggest_locators(probe.response.as_deref().unwrap_or(""));
            let _ = writeln!(out, "  problem: the answer cannot be read: {why}{hint}");
            return Err(format!(
                "the model's answer cannot be read with this predictor config: {why}{hint}"
            ));
        }
    }
    Ok(probe)
}

/// One line per record: what was located, the predicted label, the scores.
fn print_outputs(config: &AnalysisConfig, outputs: &[ModelOutput], out: &mut String) {
    let labeler = Labeler::new(config);
    for (i, o) in outputs.iter().enumerate() {
        let located = |v: &Option<Json>| v.as_ref().map_or("-".into(), Json::to_string);
        let label = labeler
            .label(o)
            .map(|c| ColumnKind::Object.value_of(&c).py_str())
            .unwrap_or_else(|e| format!("none ({e})"));
        let scores = outputs::scores(o)
            .map(|s| format!("{s:?}"))
            .unwrap_or_else(|e| format!("none ({e})"));
        let _ = writeln!(
            out,
            "  record {i}: label {} score {} -> predicted label {label}, scores {scores}",
            located(&o.label),
            located(&o.score)
        );
    }
}

/// Why the probe's predicted labels cannot make post-training bias work,
/// if they cannot. A predicted-label column in the dataset needs no model.
fn predicted_labels_problem(
    config: &AnalysisConfig,
    dataset: &Dataset,
    model: &std::result::Result<Probe, String>,
) -> Option<String> {
    if dataset.schema.predicted_label.is_some() {
        return None;
    }
    let probe = match model {
        Ok(p) => p,
        Err(e) => return Some(e.clone()),
    };
    let outputs = probe.outputs.as_ref().ok()?;
    // The labeler and label values are the job's: check asks exactly what
    // the first batch of a run will be asked.
    let values = config.label_values_or_threshold.clone().unwrap_or_default();
    match Labeler::new(config).fit(outputs, &values) {
        Ok(batch) => batch.warning(),
        Err(e) => Some(e),
    }
}

/// Why the probe's outputs cannot be explained, if they cannot: SHAP and
/// PDP need the same number of numeric scores for every record.
fn scores_problem(outputs: &[ModelOutput]) -> Option<String> {
    let mut width = None;
    for (i, o) in outputs.iter().enumerate() {
        match outputs::scores(o) {
            Err(e) => return Some(format!("record {i} has no numeric score: {e}; point predictor.probability at the score")),
            Ok(s) if *width.get_or_insert(s.len()) != s.len() => {
                return Some(format!(
                    "record {i} has {} scores but record 0 has {}; SHAP needs the same number for every record",
                    s.len(),
                    width.unwrap_or(0)
                ))
            }
            Ok(_) => {}
        }
    }
    None
}

fn print_verdicts(verdicts: &[Verdict], out: &mut String) -> bool {
    let _ = writeln!(out, "\nverdict");
    for (method, problem) in verdicts {
        let _ = match problem {
            None => writeln!(out, "  {method:<18} ready"),
            Some(p) => writeln!(out, "  {method:<18} NOT READY: {p}"),
        };
    }
    verdicts.iter().all(|(_, p)| p.is_none())
}

/// A body for display: indented, and cut after [`SHOWN_CHARS`] characters.
fn indent(body: &str) -> String {
    let cut: String = body.chars().take(SHOWN_CHARS).collect();
    let more = if cut.len() < body.len() {
        "\n    ..."
    } else {
        ""
    };
    let lines: Vec<String> = cut.lines().map(|l| format!("    {l}")).collect();
    format!("{}{more}", lines.join("\n"))
}

/// Locators that would find numbers in a JSON answer, as a hint: for JSON
/// Lines the numeric keys of the first line, for a JSON document the
/// numeric fields of its first list of objects (`predictions[*].score`).
fn suggest_locators(body: &str) -> String {
    let first_line = body.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let candidates: Vec<String> = match serde_json::from_str::<Json>(body.trim()) {
        Ok(Json::Object(doc)) => doc
            .iter()
            .filter_map(|(key, v)| match v.as_array()?.first()? {
                Json::Object(item) => Some(
                    item.iter()
                        .filter(|(_, x)| x.is_number() || x.is_array())
                        .map(|(field, _)| format!("{key}[*].{field}"))
                        .collect::<Vec<_>>(),
                ),
                Json::Number(_) | Json::Array(_) => Some(vec![key.clone()]),
                _ => None,
            })
            .flatten()
            .collect(),
        _ => match serde_json::from_str::<Json>(first_line) {
            Ok(Json::Object(line)) => line
                .iter()
                .filter(|(_, x)| x.is_number() || x.is_array() || x.is_string())
                .map(|(key, _)| key.clone())
                .collect(),
            _ => vec![],
        },
    };
    match candidates.is_empty() {
        true => String::new(),
        false => format!(
            ". In this answer, predictor.probability / predictor.label could be: {}",
            candidates.join(", ")
        ),
    }
}

/// The config as the job runs it: the file's keys plus every default the
/// job applies (shown by `check --show-config`).
fn effective_config(config: &AnalysisConfig, mut raw: Json, endpoint_url: Option<&str>) -> Json {
    let Some(top) = raw.as_object_mut() else {
        return raw;
    };
    let default = |map: &mut serde_json::Map<String, Json>, key: &str, value: Json| {
        map.entry(key.to_string()).or_insert(value);
    };
    default(top, "version", json!("1.0"));
    top.insert("dataset_type".into(), json!(config.dataset_type));
    default(top, "probability_threshold", json!(0.5));
    if let Some(methods) = top.get_mut("methods").and_then(Json::as_object_mut) {
        if let Some(shap) = methods.get_mut("shap").and_then(Json::as_object_mut) {
            default(shap, "agg_method", json!("mean_abs"));
            default(shap, "use_logit", json!(false));
            default(shap, "save_local_shap_values", json!(false));
            default(shap, "seed", json!(0));
        }
        if let Some(pdp) = methods.get_mut("pdp").and_then(Json::as_object_mut) {
            default(
                pdp,
                "grid_resolution",
                json!(crate::explain::pdp::DEFAULT_GRID_RESOLUTION),
            );
            if !pdp.contains_key("features") {
                default(
                    pdp,
                    "top_k_features",
                    json!(crate::explain::run::DEFAULT_TOP_K_FEATURES),
                );
            }
        }
        if let Some(report) = methods.get_mut("report").and_then(Json::as_object_mut) {
            default(report, "title", json!(crate::report::DEFAULT_TITLE));
        }
    }
    if let (Some((content_type, accept_type)), Some(predictor)) = (
        config.wire_types(),
        top.get_mut("predictor").and_then(Json::as_object_mut),
    ) {
        predictor.insert("content_type".into(), json!(content_type));
        predictor.insert("accept_type".into(), json!(accept_type));
        if let Some(url) = endpoint_url {
            predictor.insert("endpoint_url".into(), json!(url));
        }
        if content_type.kind() == Some(ContentType::Json) {
            default(predictor, "content_template", json!("$records"));
            default(predictor, "record_template", json!("$features"));
        }
    }
    raw
}
