//! One processing job: config → dataset → analyses → `analysis.json`.
//!
//! This module only wires the analyses together, in three steps that a
//! distributed run spreads over machines ([`crate::distributed`]): [`plan`]
//! asks each analysis what it needs from the whole dataset, [`partial`] has
//! each fold a shard's rows into its mergeable state, and [`finish`] has
//! each turn the merged state into its part of `analysis.json`, then writes
//! it and the reports. [`run`] does the three in one process. Each analysis
//! drives itself behind the same three entry points ([`crate::bias::run`],
//! [`crate::explain::run`], [`crate::timeseries::run`]); adding one is a
//! slot in [`JobPlan`] and [`JobState`] and a line in each step.
//!
//! Bias and SHAP read a table ([`Dataset`]); time-series explanations read
//! JSON documents of items, and image explanations a folder of images, so a
//! job's data ([`JobData`]) is one of the three.

use crate::bias::run::{BiasPlan, BiasState};
use crate::config::{self, AnalysisConfig};
use crate::dataset::{Dataset, Schema};
use crate::error::Result;
use crate::explain::run::{ExplainPlan, ExplainState};
use crate::images::run::{ImagePlan, ImageState, Images};
use crate::layout;
use crate::output::Analysis;
use crate::predictor::ModelAccess;
use crate::timeseries::run::{Documents, TimeSeriesPlan, TimeSeriesState};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
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
    /// How to reach the model.
    pub model: ModelAccess,
    /// Where to write the predicted labels obtained from the model.
    pub save_predictions: Option<PathBuf>,
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

/// What a job needs from the whole dataset before its rows are folded: the
/// columns, and each configured analysis's plan. A distributed run writes
/// it with `openclarify plan`; `run` makes it in memory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobPlan {
    /// Column roles of the whole dataset.
    pub schema: Schema,
    /// The dataset path the plan was made from, as reports show it.
    pub data: PathBuf,
    /// Bias: whether the model supplies the predicted labels.
    bias: Option<BiasPlan>,
    /// The SHAP baseline and PDP grids, when explanations are configured.
    explain: Option<ExplainPlan>,
    /// The order of the items, when time-series explanations are configured.
    time_series: Option<TimeSeriesPlan>,
    /// The order of the images, when image explanations are configured.
    images: Option<ImagePlan>,
}

/// What the rows of a shard (or of the whole dataset) contribute to every
/// configured analysis. States merge in any order and grouping, and the
/// merged state gives the same results as one pass over all rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobState {
    /// Bias counts, and the rows FT needs.
    bias: Option<BiasState>,
    /// SHAP values and PDP sums.
    explain: Option<ExplainState>,
    /// Explained time-series items.
    time_series: Option<TimeSeriesState>,
    /// Explained images.
    images: Option<ImageState>,
}

/// The data a job reads: the table bias and SHAP fold, or the items of a
/// time-series job's JSON documents, read once for its plan and its partial.
pub enum JobData {
    /// A tabular dataset (or shard), boxed: it is large and the other variant small.
    Table(Box<Dataset>),
    /// The items of the time-series documents (or of a shard of whole items).
    TimeSeries(Documents),
    /// The images of an image job (names only; pixels are read one by one).
    Images(Images),
}

impl JobData {
    /// Opens the data at `path` the way the config reads it.
    pub fn open(config: &AnalysisConfig, path: &Path) -> Result<JobData> {
        if config.image_config().is_some() {
            return Ok(JobData::Images(crate::images::run::read(config, path)?));
        }
        match config.methods.asymmetric_shapley_value.is_some() {
            true => Ok(JobData::TimeSeries(crate::timeseries::run::read(
                config, path,
            )?)),
            false => Ok(JobData::Table(Box::new(Dataset::open(config, path)?))),
        }
    }

    /// The columns of a table; none for time series or images.
    fn schema(&self) -> Schema {
        match self {
            JobData::Table(dataset) => dataset.schema.clone(),
            JobData::TimeSeries(_) | JobData::Images(_) => Schema::default(),
        }
    }
}

impl JobState {
    /// Adds another shard's state to this one.
    pub fn merge(self, other: JobState) -> Result<JobState> {
        let bias = match (self.bias, other.bias) {
            (Some(a), Some(b)) => Some(a.merge(b)),
            (a, b) => a.or(b),
        };
        let explain = match (self.explain, other.explain) {
            (Some(a), Some(b)) => Some(a.merge(b)?),
            (a, b) => a.or(b),
        };
        let time_series = match (self.time_series, other.time_series) {
            (Some(a), Some(b)) => Some(a.merge(b)),
            (a, b) => a.or(b),
        };
        let images = match (self.images, other.images) {
            (Some(a), Some(b)) => Some(a.merge(b)),
            (a, b) => a.or(b),
        };
        Ok(JobState {
            bias,
            explain,
            time_series,
            images,
        })
    }
}

/// Runs the job described by the config at `paths.config`: the plan, one
/// partial state over every row, and the results from it, exactly as a
/// distributed run does with one shard.
pub fn run(paths: &JobPaths, options: &JobOptions) -> Result<Summary> {
    let started = Instant::now();
    layout::remove_earlier_analysis(&paths.output)?;
    // Inputs downloaded from S3 are removed when the job ends, however it ends.
    #[cfg(feature = "aws")]
    let _downloads = crate::aws::s3::Downloads;
    let config = config::load(&paths.config)?;
    let mut data = JobData::open(&config, &paths.data)?;
    if let JobData::Table(dataset) = &data {
        tracing::info!(columns = dataset.schema.headers.len(), "dataset opened");
    }
    let plan = plan(&config, &data, &paths.data)?;
    // After the config and data are known good, so a mistake there costs no
    // endpoint; deleted when `_shadow` drops, on every way out of this function.
    #[cfg(feature = "aws")]
    let (config, _shadow) = shadow_endpoint(config, &plan.schema, options)?;
    let state = partial(&config, &plan, &mut data, options)?;
    let config = with_called_endpoint(config, &options.model);
    let rows = finish(&config, &plan, state, &paths.output, started)?;
    Ok(Summary {
        rows,
        elapsed: started.elapsed(),
        analysis: paths.output.join(layout::ANALYSIS_FILE),
    })
}

/// The config with the URL the model was actually called at (from
/// `--endpoint-url`, which overrides the config's endpoint), so the report
/// names the model that answered. Only the report reads the predictor
/// after the rows are folded.
fn with_called_endpoint(mut config: AnalysisConfig, model: &ModelAccess) -> AnalysisConfig {
    if let (Some(url), Some(predictor)) = (&model.endpoint_url, config.predictor.as_mut()) {
        predictor.endpoint_url = Some(url.clone());
    }
    config
}

/// Makes the plan from the whole dataset; `path` is its path.
pub fn plan(config: &AnalysisConfig, data: &JobData, path: &Path) -> Result<JobPlan> {
    let schema = data.schema();
    let mut plan = JobPlan {
        schema,
        data: path.to_path_buf(),
        bias: None,
        explain: None,
        time_series: None,
        images: None,
    };
    match data {
        JobData::Table(dataset) => {
            plan.bias = crate::bias::run::plan(config, &plan.schema);
            plan.explain = crate::explain::run::plan(config, dataset, path)?;
        }
        JobData::TimeSeries(documents) => {
            plan.time_series = Some(crate::timeseries::run::plan(documents));
        }
        JobData::Images(images) => plan.images = Some(crate::images::run::plan(images)),
    }
    Ok(plan)
}

/// Folds the rows of `data` (a shard, or the whole dataset) into a
/// state, calling the model where the config needs it.
pub fn partial(
    config: &AnalysisConfig,
    plan: &JobPlan,
    data: &mut JobData,
    options: &JobOptions,
) -> Result<JobState> {
    let mut state = JobState {
        bias: None,
        explain: None,
        time_series: None,
        images: None,
    };
    let dataset = match data {
        JobData::Table(dataset) => dataset,
        JobData::TimeSeries(documents) => {
            if let Some(ts) = &plan.time_series {
                state.time_series = Some(crate::timeseries::run::partial(
                    config,
                    ts,
                    documents,
                    &options.model,
                )?);
            }
            return Ok(state);
        }
        JobData::Images(images) => {
            if let Some(image_plan) = &plan.images {
                state.images = Some(crate::images::run::partial(
                    config,
                    image_plan,
                    images,
                    &options.model,
                )?);
            }
            return Ok(state);
        }
    };
    state.bias = match &plan.bias {
        Some(bias) => Some(crate::bias::run::partial(
            config,
            bias,
            dataset,
            &options.model,
            options.save_predictions.as_deref(),
        )?),
        None => None,
    };
    state.explain = match &plan.explain {
        Some(explain) => Some(crate::explain::run::partial(
            config,
            explain,
            dataset,
            &options.model,
        )?),
        None => None,
    };
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
    let mut groups = Vec::new();
    if let (Some(bias_plan), Some(bias)) = (&plan.bias, &state.bias) {
        let sections = crate::bias::run::finish(config, &plan.schema, bias_plan, bias)?;
        rows = sections.rows;
        groups = sections.groups;
        analysis.pre_training_bias = sections.pre_training;
        analysis.post_training_bias = sections.post_training;
    }
    if let (Some(explain_plan), Some(explain)) = (&plan.explain, state.explain) {
        let explained =
            crate::explain::run::finish(config, &plan.schema, explain_plan, explain, output)?;
        rows = rows.max(explained.rows);
        analysis.explanations = Some(explained.section);
    }
    let mut histories = Vec::new();
    if let Some(mut time_series) = state.time_series {
        let (section, items) = crate::timeseries::run::finish(config, &mut time_series, output)?;
        rows = items;
        analysis.explanations = Some(section);
        histories = crate::timeseries::run::histories(&time_series);
    }
    if let (Some(image_plan), Some(mut images)) = (&plan.images, state.images) {
        let (section, count) = crate::images::run::finish(config, image_plan, &mut images, output)?;
        rows = count;
        analysis.explanations = Some(section);
    }
    analysis.write(output)?;
    if let Some(report) = &config.methods.report {
        let mut summary = report_summary(config, &plan.data, rows, started);
        summary.groups = groups;
        summary.histories = histories;
        write_reports(report, output, &analysis, &summary, config, &plan.data);
    }
    Ok(rows)
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
    let needs_model = config.needs_model(schema.predicted_label.is_some());
    let wanted = config.predictor.as_ref().is_some_and(|p| {
        p.model_name.is_some()
            && p.endpoint_name.is_none()
            && p.endpoint_url.is_none()
            && options.model.endpoint_url.is_none()
    });
    let Some(p) = config.predictor.as_mut().filter(|_| wanted && needs_model) else {
        return Ok((config, None));
    };
    let shadow = crate::aws::shadow::ShadowEndpoint::create(p)?;
    p.endpoint_name = Some(shadow.name().to_string());
    Ok((config, Some(shadow)))
}

/// Writes the report files next to `analysis.json`. They are a view of it:
/// a failure is logged, naming the report, and the job still succeeds.
/// With local SHAP values, the dataset at `data` is read again for the
/// feature values of the records the report draws.
fn write_reports(
    report: &config::ReportConfig,
    output: &Path,
    analysis: &Analysis,
    summary: &crate::report::RunSummary,
    config: &AnalysisConfig,
    data: &Path,
) {
    let local_shap = output.join(layout::LOCAL_SHAP_FILE);
    let local_shap = local_shap.is_file().then_some(local_shap.as_path());
    let dataset = local_shap.and_then(|_| {
        Dataset::open(config, data)
            .inspect_err(|e| tracing::warn!("the report cannot read the dataset again: {e}"))
            .ok()
    });
    let written = crate::report::write_reports(
        &analysis.to_json(),
        local_shap,
        dataset.as_ref(),
        summary,
        report,
        output,
    );
    match written {
        Ok(paths) => {
            for path in paths {
                tracing::info!("wrote {}", path.display());
            }
        }
        Err(e) => tracing::error!(report = %report.name, "report not written: {e:#}"),
    }
}

/// What the report says about the run, up to now.
fn report_summary(
    config: &AnalysisConfig,
    data: &Path,
    rows: u64,
    started: Instant,
) -> crate::report::RunSummary {
    let elapsed = started.elapsed();
    let started_at = std::time::SystemTime::now() - elapsed;
    crate::report::RunSummary::of_job(config, data, rows, started_at, elapsed)
}
