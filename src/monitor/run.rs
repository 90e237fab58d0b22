//! One monitoring execution (`openclarify monitor`): the captured records
//! of a window, their bias metrics and feature attributions, and the
//! comparison with the baseline.
//!
//! The captured events are streamed once ([`capture::scan`]). Records with
//! ground truth become rows of a table — features, label, predicted label —
//! folded into the same mergeable bias state a processing job folds its
//! dataset into; the sections are computed by the same code. For SHAP the
//! captured features are spooled to a CSV file and explained by an ordinary
//! job run through the model, so explanations are exactly a processing
//! job's. Memory holds the bias counts (and FT's rows), not the traffic.

use super::bootstrap;
use super::capture::{self, Attributes, Decoder, GroundTruth, Stats, Window};
use super::compare::{self, Comparison};
use crate::bias::{self, ft::FlipTestRows, Columns, CountState as BiasState, SectionSpec, Stage};
use crate::config::{AnalysisConfig, NameOrIndex};
use crate::dataset::value::Cell;
use crate::dataset::{Chunk, Schema};
use crate::error::{JobError, Result};
use crate::job::{self, JobOptions};
use crate::output::Analysis;
use serde_json::{json, Value as Json};
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime};

/// The joined table's column of predicted labels (from the captured answers).
const PREDICTED_COLUMN: &str = "predicted_label";

/// The bootstrap's random seed: intervals are reproducible run to run.
const BOOTSTRAP_SEED: u64 = 16;

/// Where a monitoring execution reads and writes.
#[derive(Debug, Clone)]
pub struct MonitorPaths {
    /// The analysis config (the monitoring schedule's `ConfigUri`).
    pub config: PathBuf,
    /// Captured (or merged) JSON Lines, searched recursively.
    pub captured: PathBuf,
    /// Ground-truth JSON Lines, when the captured data is not merged.
    pub ground_truth: Option<PathBuf>,
    /// The baseline `analysis.json` ("constraints").
    pub baseline: Option<PathBuf>,
    /// The output folder.
    pub output: PathBuf,
}

/// How a monitoring execution reads records and reaches the model.
#[derive(Debug, Clone, Default)]
pub struct MonitorOptions {
    /// The analysis window.
    pub window: Window,
    /// Model Monitor's attribute settings (features, inference, probability...).
    pub attributes: Attributes,
    /// The model, for SHAP.
    pub job: JobOptions,
    /// The monitored endpoint's name: the model for SHAP when the config
    /// names none (and a CloudWatch dimension).
    pub endpoint_name: Option<String>,
    /// nDCG below this is attribution drift.
    pub ndcg_threshold: f64,
    /// Also write the joined records (features, label, predicted label) as CSV.
    pub joined_table: Option<PathBuf>,
    /// Bootstrap replicates for bias confidence intervals (opt-in; adds
    /// `confidence_interval` and `significant` to bias violations).
    pub bootstrap: Option<usize>,
}

/// What an execution did.
#[derive(Debug)]
pub struct Outcome {
    /// What the scan read.
    pub stats: Stats,
    /// The `analysis.json` written; `None` for an empty window.
    pub analysis: Option<PathBuf>,
    /// The comparison with the baseline, when one was given.
    pub comparison: Option<Comparison>,
    /// `constraint_violations.json`, when a check was violated.
    pub violations: Option<PathBuf>,
    /// The analysis written, as JSON.
    pub document: Option<Json>,
}

/// Reads a monitoring config: the SDK uploads one without `dataset_type`
/// (the capture's content types say how bodies read) and, for bias,
/// without `methods` ("bias drift monitoring jobs compute both pre-training
/// bias metrics and post-training bias metrics"); both are filled in here,
/// and `predicted_label` names the table's column of captured predictions.
pub fn load_config(path: &Path) -> Result<(AnalysisConfig, Json)> {
    let bytes = std::fs::read(path).map_err(|e| {
        JobError::client(format!(
            "Cannot read the analysis configuration {}: {e}. Mount it there or pass --config FILE.",
            path.display()
        ))
    })?;
    let mut raw: Json = serde_json::from_slice(&bytes).map_err(|e| {
        JobError::client(format!(
            "The analysis configuration {} is not valid JSON: {e}",
            path.display()
        ))
    })?;
    let Some(doc) = raw.as_object_mut() else {
        return Err(JobError::client(format!(
            "The analysis configuration {} must be a JSON object.",
            path.display()
        )));
    };
    let capture_type = doc
        .get("dataset_type")
        .and_then(Json::as_str)
        .is_none_or(|t| t.eq_ignore_ascii_case("application/sagemakercapturejson"));
    if capture_type {
        doc.insert("dataset_type".into(), json!("text/csv"));
    }
    if !doc.contains_key("methods") && doc.contains_key("facet") {
        doc.insert(
            "methods".into(),
            json!({"pre_training_bias": {"methods": "all"}, "post_training_bias": {"methods": "all"}}),
        );
    }
    // Predictions come from the captured answers: the table's
    // `predicted_label` column, whatever the config says about a model.
    doc.insert("predicted_label".into(), json!(PREDICTED_COLUMN));
    let config = crate::config::parse(raw.to_string().as_bytes())?;
    Ok((config, raw))
}

/// The columns of the monitored table: the feature names (the config's
/// `headers` minus the label), then the label and the predicted label.
#[derive(Debug, Clone)]
pub struct Table {
    /// Feature names, in request order.
    pub features: Vec<String>,
    /// The label column's name, when the config has a label.
    pub label: Option<String>,
}

impl Table {
    /// The table the config describes. The label is the header `label`
    /// names (or indexes); a JMESPath label (JSON ground truth) is the last
    /// header, the SDK's layout (features, then the target).
    pub fn of(config: &AnalysisConfig) -> Result<Table> {
        let headers = config.headers.clone().ok_or_else(|| {
            JobError::client(
                "headers: required for monitoring; list the column names (features and label) as the SageMaker SDK does.",
            )
        })?;
        let label = match &config.label {
            None => None,
            Some(NameOrIndex::Name(n)) if headers.contains(n) => Some(n.clone()),
            Some(NameOrIndex::Index(i)) => Some(headers.get(*i).cloned().ok_or_else(|| {
                JobError::client(format!(
                    "label: index {i} is out of range of headers ({} names).",
                    headers.len()
                ))
            })?),
            Some(NameOrIndex::Name(_)) => headers.last().cloned(),
        };
        let mut features = headers;
        if let Some(l) = &label {
            let at = features
                .iter()
                .position(|h| h == l)
                .expect("label is a header");
            features.remove(at);
        }
        Ok(Table { features, label })
    }

    /// Column names of the joined table.
    pub fn headers(&self) -> Vec<String> {
        let mut headers = self.features.clone();
        if let Some(l) = &self.label {
            headers.push(l.clone());
            headers.push(PREDICTED_COLUMN.into());
        }
        headers
    }

    /// The schema bias is folded with: label and predicted label after the
    /// features; facets and group variable by name, or by their index in
    /// the config's `headers`.
    fn schema(&self, config: &AnalysisConfig) -> Result<Schema> {
        let headers = self.headers();
        let config_headers = config.headers.clone().unwrap_or_default();
        let find = |wanted: &NameOrIndex, key: &str| -> Result<usize> {
            let name = match wanted {
                NameOrIndex::Name(n) => n.clone(),
                NameOrIndex::Index(i) => config_headers.get(*i).cloned().unwrap_or_default(),
            };
            headers.iter().position(|h| *h == name).ok_or_else(|| {
                JobError::client(format!(
                    "{key}: {wanted:?} is not one of the headers ({}).",
                    config_headers.join(", ")
                ))
            })
        };
        let n = self.features.len();
        let facets = config
            .facet
            .iter()
            .flatten()
            .enumerate()
            .map(|(i, f)| find(&f.name_or_index, &format!("facet[{i}].name_or_index")))
            .collect::<Result<Vec<_>>>()?;
        let group = config
            .group_variable
            .as_ref()
            .map(|g| find(g, "group_variable"))
            .transpose()?;
        Ok(Schema {
            headers,
            label: Some(n),
            predicted_label: Some(n + 1),
            facets,
            group,
            joinsource: None,
            features: (0..n).collect(),
        })
    }
}

/// Bias counts (and FT's rows) of the joined records, folded chunk by chunk.
struct BiasFold {
    columns: Columns,
    state: BiasState,
    flip_test: Option<FlipTestRows>,
    rows: u64,
}

impl BiasFold {
    fn new(config: &AnalysisConfig, schema: &Schema) -> Result<BiasFold> {
        let columns = Columns {
            label: schema.label.expect("the table has a label"),
            predicted: schema.predicted_label,
            group: schema.group,
            facets: schema.facets.clone(),
        };
        let wants_ft = config.methods.post_training_bias.as_ref().is_some_and(|b| {
            b.methods
                .selected()
                .is_none_or(|names| names.iter().any(|n| n == "FT"))
        });
        let flip_test =
            wants_ft.then(|| FlipTestRows::new(schema.features.clone(), &columns.facets));
        Ok(BiasFold {
            state: BiasState::new(columns.facets.len()),
            columns,
            flip_test,
            rows: 0,
        })
    }

    fn add(&mut self, rows: Vec<Vec<Cell>>) {
        if rows.is_empty() {
            return;
        }
        let chunk = Chunk::cells(self.rows, rows);
        self.rows += chunk.len() as u64;
        let state = std::mem::take(&mut self.state);
        self.state = state.merge(BiasState::from_chunk(&chunk, &self.columns));
        if let (Some(ft), Some(predicted)) = (self.flip_test.as_mut(), self.columns.predicted) {
            ft.fold(&chunk, &self.columns.facets, predicted);
        }
    }

    /// The pre- and post-training sections the config asks for, and with
    /// `bootstrap` replicates, their metrics' confidence intervals.
    fn finish(
        &self,
        config: &AnalysisConfig,
        schema: &Schema,
        analysis: &mut Analysis,
        bootstrap: Option<usize>,
    ) -> Result<bootstrap::Intervals> {
        let blocks = [
            (Stage::PreTraining, &config.methods.pre_training_bias),
            (Stage::PostTraining, &config.methods.post_training_bias),
        ];
        let mut sections = Vec::new();
        for (stage, block) in blocks {
            let Some(block) = block else { continue };
            let ft = match stage {
                Stage::PostTraining => self.flip_test.as_ref(),
                Stage::PreTraining => None,
            };
            let spec =
                bias::run::section_spec(config, schema, stage, block.methods.selected(), ft)?;
            let section = bias::section(&self.state, &spec)?;
            let key = match stage {
                Stage::PreTraining => "pre_training_bias_metrics",
                Stage::PostTraining => "post_training_bias_metrics",
            };
            // FT needs rows, which a resample of counts does not have.
            let spec = SectionSpec {
                flip_test: None,
                ..spec
            };
            sections.push((key, spec, section));
        }
        let intervals = match bootstrap {
            Some(n) => {
                let with_docs: Vec<_> = sections.iter().map(|(k, s, d)| (*k, s, d)).collect();
                bootstrap::intervals(&self.state, &with_docs, n, BOOTSTRAP_SEED)?
            }
            None => bootstrap::Intervals::default(),
        };
        for (key, _, section) in sections {
            match key {
                "pre_training_bias_metrics" => analysis.pre_training_bias = Some(section),
                _ => analysis.post_training_bias = Some(section),
            }
        }
        Ok(intervals)
    }
}

/// Writes records as CSV rows (a header line first).
struct CsvSink {
    writer: csv::Writer<std::io::BufWriter<std::fs::File>>,
    path: PathBuf,
}

impl CsvSink {
    fn create(path: &Path, headers: &[String]) -> Result<CsvSink> {
        let file = std::fs::File::create(path)
            .map_err(|e| JobError::client(format!("Cannot create {}: {e}", path.display())))?;
        let mut sink = CsvSink {
            writer: csv::Writer::from_writer(std::io::BufWriter::new(file)),
            path: path.to_path_buf(),
        };
        sink.write(headers.iter().map(|h| h.as_bytes().to_vec()))?;
        Ok(sink)
    }

    fn write(&mut self, fields: impl IntoIterator<Item = Vec<u8>>) -> Result<()> {
        self.writer
            .write_record(fields)
            .map_err(|e| JobError::client(format!("Cannot write {}: {e}", self.path.display())))
    }

    fn write_cells<'a>(&mut self, cells: impl IntoIterator<Item = &'a Cell>) -> Result<()> {
        self.write(cells.into_iter().map(cell_text))
    }

    fn close(mut self) -> Result<()> {
        self.writer
            .flush()
            .map_err(|e| JobError::client(format!("Cannot write {}: {e}", self.path.display())))
    }
}

/// A cell as CSV text that pandas reads back as the same value.
fn cell_text(cell: &Cell) -> Vec<u8> {
    match cell {
        Cell::Missing => Vec::new(),
        Cell::Text(t) => t.to_vec(),
        Cell::Str(s) => s.as_bytes().to_vec(),
        Cell::Int(i) => i.to_string().into_bytes(),
        Cell::Float(f) => crate::pyfmt::float(*f).into_bytes(),
        Cell::Bool(b) => if *b { "True" } else { "False" }.as_bytes().to_vec(),
    }
}

/// Runs one monitoring execution.
pub fn run(paths: &MonitorPaths, options: &MonitorOptions) -> Result<Outcome> {
    let started = Instant::now();
    crate::layout::remove_earlier_analysis(&paths.output)?;
    let (config, raw) = load_config(&paths.config)?;
    let table = Table::of(&config)?;
    let wants_bias =
        config.methods.pre_training_bias.is_some() || config.methods.post_training_bias.is_some();
    let wants_shap = config.methods.shap.is_some();
    let schema = match (wants_bias, &table.label) {
        (true, None) => {
            return Err(JobError::client(
                "label: required for bias monitoring; name the label column (or give the JMESPath to it in the ground truth).",
            ))
        }
        (true, Some(_)) => Some(table.schema(&config)?),
        (false, _) => None,
    };
    let decoder = Decoder::new(
        &options.attributes.clone().or_config(&config),
        config.label.as_ref(),
    )?;
    let ground_truth = paths
        .ground_truth
        .as_deref()
        .map(GroundTruth::load)
        .transpose()?;
    let mut bias = schema
        .as_ref()
        .map(|s| BiasFold::new(&config, s))
        .transpose()?;
    let spool = tempfile::tempdir()
        .map_err(|e| JobError::algorithm(format!("Cannot create a temporary folder: {e}")))?;
    let features_csv = spool.path().join("captured_features.csv");
    let mut shap_rows = wants_shap
        .then(|| CsvSink::create(&features_csv, &table.features))
        .transpose()?;
    let mut joined = match (&options.joined_table, wants_bias) {
        (Some(path), true) => Some(CsvSink::create(path, &table.headers())?),
        _ => None,
    };
    let width = table.features.len();
    let stats = capture::scan(
        &paths.captured,
        &options.window,
        &decoder,
        ground_truth.as_ref(),
        |events| {
            let mut rows = Vec::new();
            for event in events {
                let records = event.records;
                if let Some(bad) = records.features.iter().find(|r| r.len() != width) {
                    return Err(JobError::client(format!(
                        "{}: a captured record has {} features but the config's headers name {width} ({}). Check headers, features_attribute and exclude_features_attribute.",
                        event.file.display(),
                        bad.len(),
                        table.features.join(", ")
                    )));
                }
                if let Some(sink) = shap_rows.as_mut() {
                    for r in &records.features {
                        sink.write_cells(r)?;
                    }
                }
                let (Some(labels), true) = (records.labels, bias.is_some()) else {
                    continue;
                };
                for ((mut row, label), predicted) in records
                    .features
                    .into_iter()
                    .zip(labels)
                    .zip(records.predicted)
                {
                    row.push(label);
                    row.push(predicted);
                    if let Some(sink) = joined.as_mut() {
                        sink.write_cells(&row)?;
                    }
                    rows.push(row);
                }
            }
            if let Some(b) = bias.as_mut() {
                b.add(rows);
            }
            Ok(())
        },
    )?;
    for sink in [shap_rows.take(), joined.take()].into_iter().flatten() {
        sink.close()?;
    }
    tracing::info!(
        files = stats.files,
        events = stats.events,
        outside_window = stats.outside_window,
        without_ground_truth = stats.without_ground_truth,
        records = stats.records,
        "captured data read"
    );
    let mut outcome = Outcome {
        stats,
        analysis: None,
        comparison: None,
        violations: None,
        document: None,
    };
    if stats.records == 0 {
        tracing::warn!(
            "No captured records in the analysis window under {} ({} events read, {} outside the window): nothing to analyse, so no analysis.json or constraint_violations.json was written.",
            paths.captured.display(),
            stats.events,
            stats.outside_window
        );
        return Ok(outcome);
    }
    let mut analysis = Analysis::default();
    let mut intervals = bootstrap::Intervals::default();
    if let (Some(fold), Some(schema)) = (&bias, &schema) {
        if fold.rows == 0 {
            tracing::warn!(
                "None of the {} captured records has ground truth (joined on inferenceId, else eventId): bias metrics were not computed.",
                stats.records
            );
        } else {
            if stats.without_ground_truth > 0 {
                tracing::warn!(
                    events = stats.without_ground_truth,
                    "captured events without ground truth are left out of the bias metrics"
                );
            }
            intervals = fold.finish(&config, schema, &mut analysis, options.bootstrap)?;
        }
    }
    if wants_shap {
        analysis.explanations = Some(explain(&raw, &table, &features_csv, spool.path(), options)?);
    }
    if analysis.pre_training_bias.is_none()
        && analysis.post_training_bias.is_none()
        && analysis.explanations.is_none()
    {
        return Ok(outcome);
    }
    analysis.write(&paths.output)?;
    let document = analysis.to_json();
    if let Some(baseline) = &paths.baseline {
        let baseline = compare::read_analysis(baseline, "baseline")?;
        let comparison = compare::compare(&baseline, &document, options.ndcg_threshold)?;
        outcome.violations = comparison.write_with(&paths.output, |check, entry| {
            annotate_interval(&intervals, check, entry)
        })?;
        compare::log_summary(&comparison, outcome.violations.as_deref());
        super::drift_report::write(&comparison, &paths.output)?;
        outcome.comparison = Some(comparison);
    } else {
        compare::Comparison::default().write(&paths.output)?;
    }
    write_reports(&config, paths, &document, stats.records, started);
    outcome.analysis = Some(paths.output.join("analysis.json"));
    outcome.document = Some(document);
    Ok(outcome)
}

/// Adds a bias violation's bootstrap interval and whether the whole
/// interval violates the baseline (only with `--bootstrap`).
fn annotate_interval(
    intervals: &bootstrap::Intervals,
    check: &compare::Check,
    entry: &mut serde_json::Map<String, Json>,
) {
    let compare::Subject::Bias {
        section,
        facet,
        facet_value,
        metric,
    } = &check.subject
    else {
        return;
    };
    let key = (
        section.clone(),
        facet.clone(),
        facet_value.clone(),
        metric.clone(),
    );
    let (Some(&(lo, hi)), Ok(baseline)) = (intervals.get(&key), check.baseline.parse::<f64>())
    else {
        return;
    };
    entry.insert("confidence_interval".into(), json!([lo, hi]));
    entry.insert(
        "significant".into(),
        json!(bootstrap::significant(metric, (lo, hi), baseline)),
    );
}

/// The `explanations` of the captured features: an ordinary job over them
/// (CSV, the feature names as headers, only `shap` and `pdp`), through the
/// config's predictor, or the monitored endpoint.
fn explain(
    raw: &Json,
    table: &Table,
    features_csv: &Path,
    spool: &Path,
    options: &MonitorOptions,
) -> Result<Json> {
    let mut derived = raw.clone();
    let doc = derived.as_object_mut().expect("the config is an object");
    for key in [
        "label",
        "facet",
        "group_variable",
        "label_values_or_threshold",
        "predicted_label",
        "features",
        "excluded_columns",
        "joinsource_name_or_index",
    ] {
        doc.remove(key);
    }
    doc.insert("dataset_type".into(), json!("text/csv"));
    doc.insert("headers".into(), json!(table.features));
    let methods = doc["methods"].clone();
    doc.insert("methods".into(), json!({"shap": methods["shap"]}));
    if let Some(pdp) = methods.get("pdp") {
        doc["methods"]["pdp"] = pdp.clone();
    }
    let predictor = doc.entry("predictor").or_insert_with(|| json!({}));
    let names_model = ["endpoint_name", "endpoint_url", "model_name"]
        .iter()
        .any(|k| predictor.get(k).is_some());
    if let (false, None, Some(endpoint)) = (
        names_model,
        &options.job.model.endpoint_url,
        &options.endpoint_name,
    ) {
        predictor["endpoint_name"] = json!(endpoint);
    }
    let config_path = spool.join("explain_config.json");
    std::fs::write(&config_path, derived.to_string())
        .map_err(|e| JobError::algorithm(format!("Cannot write {}: {e}", config_path.display())))?;
    let out = spool.join("explain_output");
    job::run(
        &job::JobPaths {
            config: config_path,
            data: features_csv.to_path_buf(),
            output: out.clone(),
        },
        &options.job,
    )?;
    let explained = compare::read_analysis(&out.join("analysis.json"), "explanation")?;
    Ok(explained["explanations"].clone())
}

/// Writes `report.html`, `.ipynb` and `.pdf` (Model Monitor always writes
/// them); a failure is logged and the execution still succeeds.
fn write_reports(
    config: &AnalysisConfig,
    paths: &MonitorPaths,
    document: &Json,
    records: u64,
    started: Instant,
) {
    let report = config
        .methods
        .report
        .clone()
        .unwrap_or(crate::config::ReportConfig {
            name: "report".into(),
            title: None,
        });
    let elapsed = started.elapsed();
    let summary = crate::report::RunSummary::of_job(
        config,
        &paths.captured,
        records,
        SystemTime::now() - elapsed,
        elapsed,
    );
    if let Err(e) = crate::report::write_reports(document, None, &summary, &report, &paths.output) {
        tracing::error!(report = %report.name, "report not written: {e:#}");
    }
}
