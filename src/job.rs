//! One processing job: config → dataset → analyses → `analysis.json`.
//!
//! This module only wires the stages together, in three steps that a
//! distributed run spreads over machines ([`crate::distributed`]): [`plan`]
//! settles what needs the whole dataset, [`partial`] folds rows into a
//! mergeable [`JobState`], and [`finish`] writes the results from the merged
//! state. [`run`] does the three in one process. Every analysis is a fold
//! over the dataset's chunks; rayon folds chunks on all cores while the
//! reader streams the next ones.

use crate::bias::{self, flip_test::FlipTestRows, BiasState, Columns, SectionSpec, Stage};
use crate::config::{self, AnalysisConfig};
use crate::dataset::{Chunk, Dataset, Schema};
use crate::error::{JobError, Result};
use crate::explain::run::{ExplainPlan, ExplainState};
use crate::output::Analysis;
use crate::predictor::{
    self,
    chunks::{with_predicted_labels, PredictionSink},
    outputs::Labeler,
    progress::Reporter,
    Predictor,
};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Where a job reads and writes.
#[derive(Debug, Clone)]
pub struct JobPaths {
    /// `analysis_config.json`.
    pub config: PathBuf,
    /// The dataset file or folder.
    pub data: PathBuf,
    /// The output folder.
    pub output: PathBuf,
}

/// How a job reaches the model and what it keeps besides `analysis.json`.
#[derive(Debug, Clone, Default)]
pub struct JobOptions {
    /// The model server's URL (flag or environment); overrides
    /// `predictor.endpoint_url`.
    pub endpoint_url: Option<String>,
    /// Where to write the predicted labels obtained from the model.
    pub save_predictions: Option<PathBuf>,
    /// Batching, concurrency, timeouts and retries for model calls.
    pub predictor: predictor::Settings,
}

/// What a finished job reports.
#[derive(Debug, Clone)]
pub struct Summary {
    /// Rows read.
    pub rows: u64,
    /// Wall time.
    pub elapsed: Duration,
    /// The `analysis.json` written.
    pub analysis: PathBuf,
}

/// What a job needs from the whole dataset before its rows are folded:
/// the columns, and the baseline and grids explanations use. A
/// distributed run writes it with `openclarify plan`; `run` makes it in
/// memory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobPlan {
    /// Column roles of the whole dataset.
    pub schema: Schema,
    /// The dataset path the plan was made from, as reports show it.
    pub data: PathBuf,
    /// The SHAP baseline and PDP grids, when explanations are configured.
    explain: Option<ExplainPlan>,
}

/// What the rows of a shard (or of the whole dataset) contribute to every
/// configured analysis. States merge in any order and grouping, and the
/// merged state gives the same results as one pass over all rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobState {
    /// Bias counts, and the rows FT needs.
    bias: Option<(BiasState, Option<FlipTestRows>)>,
    /// SHAP values and PDP sums.
    explain: Option<ExplainState>,
}

impl JobState {
    /// Adds another shard's state to this one.
    pub fn merge(self, other: JobState) -> Result<JobState> {
        let bias = match (self.bias, other.bias) {
            (Some((a, fa)), Some((b, fb))) => {
                let ft = match (fa, fb) {
                    (Some(x), Some(y)) => Some(x.merge(y)),
                    (x, y) => x.or(y),
                };
                Some((a.merge(b), ft))
            }
            (a, b) => a.or(b),
        };
        let explain = match (self.explain, other.explain) {
            (Some(a), Some(b)) => Some(a.merge(b)?),
            (a, b) => a.or(b),
        };
        Ok(JobState { bias, explain })
    }
}

/// Runs the job described by the config at `paths.config`: the plan, one
/// partial state over every row, and the results from it, exactly as a
/// distributed run does with one shard.
pub fn run(paths: &JobPaths, options: &JobOptions) -> Result<Summary> {
    let started = Instant::now();
    crate::layout::remove_earlier_analysis(&paths.output)?;
    // Inputs downloaded from S3 are removed when the job ends, however it ends.
    #[cfg(feature = "aws")]
    let _downloads = crate::aws::s3::Downloads;
    let config = config::load(&paths.config)?;
    let mut dataset = Dataset::open(
        &config,
        &paths.data,
        &crate::layout::input_root(&paths.data),
    )?;
    tracing::info!(columns = dataset.schema.headers.len(), "dataset opened");
    // After the config and data are known good, so a mistake there costs no
    // endpoint; deleted when `_shadow` drops, on every way out of this function.
    #[cfg(feature = "aws")]
    let (config, _shadow) = shadow_endpoint(config, &dataset.schema, options)?;
    let plan = plan(&config, &dataset, &paths.data)?;
    let state = partial(&config, &plan, &mut dataset, options)?;
    let rows = finish(&config, &plan, state, &paths.output, started)?;
    Ok(Summary {
        rows,
        elapsed: started.elapsed(),
        analysis: paths.output.join("analysis.json"),
    })
}

/// Logs one line per metric that could not be computed (CDDL without a
/// group variable, FT with text features...): `analysis.json` carries the
/// reason as the metric's `error`, and the log should say so without a
/// stack trace, once per metric and reason rather than once per facet value.
fn log_unavailable(stage: &str, section: &serde_json::Value) {
    let mut seen: Vec<(&str, &str)> = Vec::new();
    let facets = section["facets"].as_object().into_iter().flatten();
    for (_, groups) in facets {
        for metric in groups
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|g| g["metrics"].as_array().into_iter().flatten())
        {
            if let (Some(name), Some(error)) = (metric["name"].as_str(), metric["error"].as_str()) {
                if !seen.contains(&(name, error)) {
                    seen.push((name, error));
                    tracing::warn!("{stage}: {name} not computed: {error}");
                }
            }
        }
    }
}

/// Makes the plan from the whole dataset; `data` is its path.
pub fn plan(config: &AnalysisConfig, dataset: &Dataset, data: &Path) -> Result<JobPlan> {
    let explain = match config.methods.shap.is_some() || config.methods.pdp.is_some() {
        true => Some(crate::explain::run::plan(config, dataset, data)?),
        false => None,
    };
    Ok(JobPlan {
        schema: dataset.schema.clone(),
        data: data.to_path_buf(),
        explain,
    })
}

/// Folds the rows of `dataset` (a shard, or the whole dataset) into a
/// state, calling the model where the config needs it.
pub fn partial(
    config: &AnalysisConfig,
    plan: &JobPlan,
    dataset: &mut Dataset,
    options: &JobOptions,
) -> Result<JobState> {
    let pre = config.methods.pre_training_bias.as_ref();
    let post = config.methods.post_training_bias.as_ref();
    let mut state = JobState {
        bias: None,
        explain: None,
    };
    if pre.is_some() || post.is_some() {
        let model = match post.is_some() && dataset.schema.predicted_label.is_none() {
            true => Some(ModelLabels::new(config, &mut dataset.schema, options)?),
            false => None,
        };
        state.bias = Some(fold_bias(config, dataset, model, options)?);
    }
    if let Some(explain) = &plan.explain {
        state.explain = Some(crate::explain::run::partial(
            config, explain, dataset, options,
        )?);
    }
    Ok(state)
}

/// Writes `analysis.json`, `explanations_shap/` and the reports under
/// `output` from the merged state of every row; returns the rows read.
pub fn finish(
    config: &AnalysisConfig,
    plan: &JobPlan,
    state: JobState,
    output: &Path,
    started: Instant,
) -> Result<u64> {
    crate::staging::remove_leftovers(output);
    let mut analysis = Analysis::default();
    let mut rows = 0;
    let mut schema = plan.schema.clone();
    if let Some((bias, ft_rows)) = &state.bias {
        if bias.rows == 0 {
            return Err(JobError::client(
                "Dataset is empty: no data rows were read (only a header, or blank lines?).",
            ));
        }
        rows = bias.rows;
        warn_empty_selections(config, &schema, bias)?;
        if config.methods.post_training_bias.is_some() && schema.predicted_label.is_none() {
            add_predicted_column(&mut schema);
        }
        if let Some(block) = &config.methods.pre_training_bias {
            let spec = section_spec(
                config,
                &schema,
                Stage::PreTraining,
                block.methods.selected(),
                None,
            )?;
            let section = bias::section(bias, &spec)?;
            log_unavailable("pre_training_bias", &section);
            analysis.pre_training_bias = Some(section);
        }
        if let Some(block) = &config.methods.post_training_bias {
            let spec = section_spec(
                config,
                &schema,
                Stage::PostTraining,
                block.methods.selected(),
                ft_rows.as_ref(),
            )?;
            let section = bias::section(bias, &spec)?;
            log_unavailable("post_training_bias", &section);
            analysis.post_training_bias = Some(section);
        }
    }
    if let (Some(explain_plan), Some(explain)) = (&plan.explain, state.explain) {
        let explained =
            crate::explain::run::finish(config, &plan.schema, explain_plan, explain, output)?;
        rows = rows.max(explained.rows);
        analysis.explanations = Some(explained.section);
    }
    analysis.write(output)?;
    if let Some(report) = &config.methods.report {
        write_reports(config, report, &plan.data, output, &analysis, rows, started);
    }
    Ok(rows)
}

/// Logs a warning for each label or facet value that selects no rows
/// ([`bias::empty`]); the metrics of such a group are computed anyway, as
/// smclarify computes them.
fn warn_empty_selections(
    config: &AnalysisConfig,
    schema: &Schema,
    state: &BiasState,
) -> Result<()> {
    let spec = section_spec(config, schema, Stage::PreTraining, Some(Vec::new()), None)?;
    for warning in bias::empty::empty_selections(state, &spec) {
        tracing::warn!("{warning}");
    }
    Ok(())
}

/// With `predictor.model_name` and neither an endpoint name nor a URL,
/// deploys the model on a shadow endpoint for this job (when an analysis
/// needs the model) and names it in the returned config. The endpoint is
/// deleted when the returned guard drops.
#[cfg(feature = "aws")]
fn shadow_endpoint(
    mut config: AnalysisConfig,
    schema: &Schema,
    options: &JobOptions,
) -> Result<(AnalysisConfig, Option<crate::aws::shadow::ShadowEndpoint>)> {
    let m = &config.methods;
    let needs_model = (m.post_training_bias.is_some() && schema.predicted_label.is_none())
        || m.shap.is_some()
        || m.pdp.is_some();
    let wanted = config.predictor.as_ref().is_some_and(|p| {
        p.model_name.is_some()
            && p.endpoint_name.is_none()
            && p.endpoint_url.is_none()
            && options.endpoint_url.is_none()
    });
    let Some(p) = config.predictor.as_mut().filter(|_| wanted && needs_model) else {
        return Ok((config, None));
    };
    let shadow = crate::aws::shadow::ShadowEndpoint::create(p)?;
    p.endpoint_name = Some(shadow.name().to_string());
    Ok((config, Some(shadow)))
}

pub(crate) fn bias_columns(schema: &Schema) -> Result<Columns> {
    let label = schema.label.ok_or_else(|| {
        JobError::client(
            "Label, label_values_or_threshold and facet are required for bias analysis.",
        )
    })?;
    Ok(Columns {
        label,
        predicted: schema.predicted_label,
        group: schema.group,
        facets: schema.facets.clone(),
    })
}

/// Whether FT is among the requested post-training metrics.
fn wants_flip_test(config: &AnalysisConfig) -> bool {
    config.methods.post_training_bias.as_ref().is_some_and(|b| {
        b.methods
            .selected()
            .is_none_or(|names| names.iter().any(|n| n == "FT"))
    })
}

/// The model as the source of the predicted-label column.
struct ModelLabels {
    predictor: Predictor,
    labeler: Labeler,
    column: usize,
}

impl ModelLabels {
    /// Connects to the model and adds a `predicted_label` column to the
    /// schema for its answers.
    fn new(config: &AnalysisConfig, schema: &mut Schema, options: &JobOptions) -> Result<Self> {
        let names = schema
            .features
            .iter()
            .map(|&c| schema.headers[c].clone())
            .collect();
        let labeler = Labeler::new(config);
        let label_values = config.label_values_or_threshold.clone().unwrap_or_default();
        let first_batch = labeler.clone();
        let predictor = Predictor::new(
            config,
            options.endpoint_url.as_deref(),
            names,
            options.predictor.clone(),
        )?
        .with_first_check(move |outputs| {
            let batch = first_batch.fit(outputs, &label_values)?;
            if let Some(warning) = batch.warning() {
                tracing::warn!("{warning}");
            }
            Ok(())
        });
        tracing::info!(
            target = predictor.target(),
            "predicted labels come from the model"
        );
        let column = add_predicted_column(schema);
        Ok(ModelLabels {
            predictor,
            labeler,
            column,
        })
    }
}

/// Adds the column the model's predicted labels fill to `schema`; returns
/// its index.
fn add_predicted_column(schema: &mut Schema) -> usize {
    let column = schema.headers.len();
    schema.headers.push("predicted_label".into());
    schema.predicted_label = Some(column);
    column
}

/// One pass over the data: bias counts, plus the rows FT needs. With a
/// model, its predicted labels join each chunk before the fold.
fn fold_bias(
    config: &AnalysisConfig,
    dataset: &Dataset,
    model: Option<ModelLabels>,
    options: &JobOptions,
) -> Result<(BiasState, Option<FlipTestRows>)> {
    let chunks = dataset.chunks()?;
    match model {
        None => fold_chunks(config, dataset, &mut chunks.into_iter()),
        Some(m) => {
            let sink = options
                .save_predictions
                .as_deref()
                .map(PredictionSink::create)
                .transpose()?;
            let _progress = Reporter::start(m.predictor.counters(), "post-training bias", None);
            let folded = with_predicted_labels(
                &m.predictor,
                &m.labeler,
                chunks,
                m.column,
                &dataset.schema.features,
                sink,
                |predicted| fold_chunks(config, dataset, predicted),
            );
            tracing::info!(requests = m.predictor.requests_sent(), "model calls done");
            folded
        }
    }
}

fn fold_chunks(
    config: &AnalysisConfig,
    dataset: &Dataset,
    chunks: &mut (dyn Iterator<Item = Result<Chunk>> + Send),
) -> Result<(BiasState, Option<FlipTestRows>)> {
    let cols = bias_columns(&dataset.schema)?;
    let ft_template = match (wants_flip_test(config), cols.predicted) {
        (true, Some(predicted)) => {
            let excluded = excluded_columns(dataset);
            let keep = (0..dataset.schema.headers.len())
                .filter(|c| *c != cols.label && *c != predicted && !excluded.contains(c))
                .collect();
            Some((FlipTestRows::new(keep, &cols.facets), predicted))
        }
        _ => None,
    };
    let empty = || {
        (
            BiasState::new(cols.facets.len()),
            ft_template.as_ref().map(|(t, _)| t.clone()),
        )
    };
    let progress = Progress::new();
    let (state, ft_rows) = chunks
        .par_bridge()
        .map(|chunk: Result<Chunk>| {
            let chunk = chunk?;
            progress.add(chunk.len() as u64);
            let (mut state, mut ft) = empty();
            state = state.merge(BiasState::from_chunk(&chunk, &cols));
            if let (Some(rows), Some((_, predicted))) = (ft.as_mut(), &ft_template) {
                rows.fold(&chunk, &cols.facets, *predicted);
            }
            Ok((state, ft))
        })
        .try_reduce(empty, |a, b| {
            Ok((a.0.merge(b.0), a.1.zip(b.1).map(|(x, y)| x.merge(y))))
        })?;
    progress.finish();
    Ok((state, ft_rows))
}

pub(crate) fn excluded_columns(dataset: &Dataset) -> Vec<usize> {
    let s = &dataset.schema;
    (0..s.headers.len())
        .filter(|c| {
            !s.features.contains(c)
                && Some(*c) != s.label
                && Some(*c) != s.predicted_label
                && !s.facets.contains(c)
                && Some(*c) != s.group
                && Some(*c) != s.joinsource
        })
        .collect()
}

pub(crate) fn section_spec<'a>(
    config: &'a AnalysisConfig,
    schema: &'a Schema,
    stage: Stage,
    selected: Option<Vec<String>>,
    flip_test: Option<&'a FlipTestRows>,
) -> Result<SectionSpec<'a>> {
    let label = bias_columns(schema)?.label;
    let facets = config
        .facet
        .iter()
        .flatten()
        .zip(&schema.facets)
        .map(|(f, &col)| (schema.headers[col].clone(), f.value_or_threshold.clone()))
        .collect();
    Ok(SectionSpec {
        stage,
        metrics: bias::metric_list(stage, selected),
        label_name: &schema.headers[label],
        label_values: config.label_values_or_threshold.as_deref().unwrap_or(&[]),
        facets,
        has_group: schema.group.is_some(),
        flip_test,
    })
}

/// Writes the report files next to `analysis.json`. They are a view of it:
/// a failure is logged, naming the report, and the job still succeeds.
fn write_reports(
    config: &AnalysisConfig,
    report: &config::ReportConfig,
    data: &Path,
    output: &Path,
    analysis: &Analysis,
    rows: u64,
    started: Instant,
) {
    let elapsed = started.elapsed();
    let started_at = std::time::SystemTime::now() - elapsed;
    let summary = crate::report::RunSummary::of_job(config, data, rows, started_at, elapsed);
    let local_shap = output.join("explanations_shap/out.csv");
    let local_shap = local_shap.is_file().then_some(local_shap.as_path());
    let written =
        crate::report::write_reports(&analysis.to_json(), local_shap, &summary, report, output);
    if let Err(e) = written {
        tracing::error!(report = %report.name, "report not written: {e:#}");
    }
}

/// Logs rows read and throughput every few seconds during long reads.
struct Progress {
    rows: AtomicU64,
    started: Instant,
    last: Mutex<Instant>,
}

impl Progress {
    const EVERY: Duration = Duration::from_secs(5);

    fn new() -> Self {
        let now = Instant::now();
        Progress {
            rows: AtomicU64::new(0),
            started: now,
            last: Mutex::new(now),
        }
    }

    fn add(&self, n: u64) {
        let rows = self.rows.fetch_add(n, Ordering::Relaxed) + n;
        let mut last = self.last.lock().expect("progress lock");
        if last.elapsed() >= Self::EVERY {
            *last = Instant::now();
            let secs = self.started.elapsed().as_secs_f64();
            tracing::info!(
                rows,
                rows_per_sec = (rows as f64 / secs) as u64,
                "reading dataset"
            );
        }
    }

    fn finish(&self) {
        let rows = self.rows.load(Ordering::Relaxed);
        let secs = self.started.elapsed().as_secs_f64().max(1e-9);
        tracing::info!(
            rows,
            rows_per_sec = (rows as f64 / secs) as u64,
            "dataset read"
        );
    }
}
