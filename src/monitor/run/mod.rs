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
//!
//! - [`table`]: the monitoring config and the joined table's columns.
//! - [`bias_fold`]: the bias state the joined records fold into.
//! - [`spool`]: records written as CSV (SHAP's input, the joined table).
//! - [`explain`]: SHAP of the captured features through the model.

pub mod bias_fold;
pub mod explain;
pub mod spool;
pub mod table;

pub use table::{load_config, Table};

use super::bootstrap;
use super::capture::{self, Attributes, Decoder, GroundTruth, Stats, Window};
use super::compare::{self, Comparison};
use crate::config::AnalysisConfig;
use crate::error::{JobError, Result};
use crate::job::JobOptions;
use crate::output::Analysis;
use bias_fold::BiasFold;
use serde_json::{json, Value as Json};
use spool::CsvSink;
use std::path::PathBuf;
use std::time::{Instant, SystemTime};

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
    let ground_truth = paths
        .ground_truth
        .as_deref()
        .map(GroundTruth::load)
        .transpose()?;
    let mut bias = schema
        .as_ref()
        .map(|s| BiasFold::new(&config, s))
        .transpose()?;
    let mut decoder = Decoder::new(
        &options.attributes.clone().or_config(&config),
        config.label.as_ref(),
    )?;
    // Bias alone reads only the facets and the group variable; SHAP, the
    // joined table and FT need every feature.
    let rows_needed = wants_shap
        || options.joined_table.is_some()
        || bias.as_ref().is_some_and(BiasFold::keeps_rows);
    if let (false, Some(schema)) = (rows_needed, &schema) {
        decoder = decoder.decode_only(schema.facets.iter().chain(&schema.group).copied().collect());
    }
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
        analysis.explanations = Some(explain::explain(
            &raw,
            &table,
            &features_csv,
            spool.path(),
            options,
        )?);
    }
    if analysis.pre_training_bias.is_none()
        && analysis.post_training_bias.is_none()
        && analysis.explanations.is_none()
    {
        return Ok(outcome);
    }
    analysis.write(&paths.output)?;
    let document = analysis.to_json();
    // Reports first: the drift page links itself into report.html.
    write_reports(&config, paths, &document, stats.records, started);
    if let Some(baseline) = &paths.baseline {
        let baseline = compare::read_analysis(baseline, "baseline")?;
        let comparison = compare::compare(&baseline, &document, options.ndcg_threshold)?;
        outcome.violations = comparison.write_with(&paths.output, |check, entry| {
            annotate_interval(&intervals, check, entry)
        })?;
        compare::log_summary(&comparison, outcome.violations.as_deref());
        super::drift_report::write(&comparison, &baseline, &document, &paths.output)?;
        outcome.comparison = Some(comparison);
    } else {
        compare::Comparison::default().write(&paths.output)?;
    }
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
    if let Err(e) =
        crate::report::write_reports(document, None, None, &summary, &report, &paths.output)
    {
        tracing::error!(report = %report.name, "report not written: {e:#}");
    }
}
