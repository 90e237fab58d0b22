//! Bias for one job: the rows folded into counts (with the model's
//! predicted labels when the dataset has none), then the pre- and
//! post-training sections of `analysis.json`.
//!
//! The entry points mirror every analysis's ([`crate::explain::run`] too):
//! - [`plan`] settles what needs the whole dataset: here only whether the
//!   predicted labels come from the model.
//! - [`partial`] folds the rows of a shard (or of the whole dataset) into a
//!   mergeable [`BiasState`]: counts per facet, label, prediction and group,
//!   plus the rows FT compares.
//! - [`finish`] turns the merged state into the sections.
//!
//! [`preview`] runs the same column resolution on a sample, for
//! `openclarify check`.

use super::ft::FlipTestRows;
use super::{Columns, CountState, Resolved, SectionSpec, Stage};
use crate::config::AnalysisConfig;
use crate::dataset::{Chunk, Dataset, Schema};
use crate::error::{JobError, Result};
use crate::metric_registry::{self, Computation};
use crate::predictor::labels::{with_predicted_labels, PredictionSink};
use crate::predictor::outputs::Labeler;
use crate::predictor::{ModelAccess, Predictor};
use crate::progress::{ReadProgress, Reporter};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use std::path::Path;

/// What bias settles before rows are folded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BiasPlan {
    /// Whether the model supplies the predicted labels: post-training bias
    /// on a dataset without a predicted-label column.
    labels_from_model: bool,
}

/// What rows contribute to bias: the counts, and the rows FT needs. States
/// merge in any order and grouping with the result of one pass.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BiasState {
    counts: CountState,
    flip_test: Option<FlipTestRows>,
}

impl BiasState {
    /// Adds another shard's state to this one.
    pub fn merge(self, other: BiasState) -> BiasState {
        let flip_test = match (self.flip_test, other.flip_test) {
            (Some(x), Some(y)) => Some(x.merge(y)),
            (x, y) => x.or(y),
        };
        BiasState {
            counts: self.counts.merge(other.counts),
            flip_test,
        }
    }
}

/// The bias sections of `analysis.json`, and the rows they were computed on.
pub struct BiasSections {
    /// Rows read.
    pub rows: u64,
    /// `pre_training_bias_metrics`, when configured.
    pub pre_training: Option<Json>,
    /// `post_training_bias_metrics`, when configured.
    pub post_training: Option<Json>,
    /// The counts of each facet group compared, for the report: with
    /// predictions when post-training bias ran.
    pub groups: Vec<super::groups::GroupCounts>,
}

/// The plan, or `None` when the config asks for no bias metric.
pub fn plan(config: &AnalysisConfig, schema: &Schema) -> Option<BiasPlan> {
    let m = &config.methods;
    if m.pre_training_bias.is_none() && m.post_training_bias.is_none() {
        return None;
    }
    Some(BiasPlan {
        labels_from_model: m.post_training_bias.is_some() && schema.predicted_label.is_none(),
    })
}

/// Folds the rows of `dataset` into a state. When the model supplies the
/// predicted labels, they join each chunk as a `predicted_label` column
/// (added to `dataset`'s schema), and are also written to
/// `save_predictions` when given.
pub fn partial(
    config: &AnalysisConfig,
    plan: &BiasPlan,
    dataset: &mut Dataset,
    model: &ModelAccess,
    save_predictions: Option<&Path>,
) -> Result<BiasState> {
    if !plan.labels_from_model {
        let chunks = dataset.chunks()?;
        return fold_chunks(config, dataset, &mut chunks.into_iter());
    }
    let m = ModelLabels::new(config, &mut dataset.schema, model)?;
    let chunks = dataset.chunks()?;
    let sink = save_predictions.map(PredictionSink::create).transpose()?;
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

/// The sections from the merged state of every row. `schema` is the whole
/// dataset's, as the plan recorded it.
pub fn finish(
    config: &AnalysisConfig,
    schema: &Schema,
    plan: &BiasPlan,
    state: &BiasState,
) -> Result<BiasSections> {
    if state.counts.rows == 0 {
        return Err(JobError::client(
            "Dataset is empty: no data rows were read (only a header, or blank lines?).",
        ));
    }
    // A value that selects no rows is computed as smclarify computes it,
    // and named in the log.
    let values = section_spec(config, schema, Stage::PreTraining, Some(Vec::new()), None)?;
    for warning in super::empty::empty_selections(&state.counts, &values) {
        tracing::warn!("{warning}");
    }
    let mut schema = schema.clone();
    if plan.labels_from_model {
        add_predicted_column(&mut schema);
    }
    let mut sections = BiasSections {
        rows: state.counts.rows,
        pre_training: None,
        post_training: None,
        groups: Vec::new(),
    };
    if let Some(block) = &config.methods.pre_training_bias {
        let spec = section_spec(
            config,
            &schema,
            Stage::PreTraining,
            block.methods.selected(),
            None,
        )?;
        let (section, groups) = super::section_with_groups(&state.counts, &spec)?;
        log_unavailable("pre_training_bias", &section);
        sections.pre_training = Some(section);
        sections.groups = groups;
    }
    if let Some(block) = &config.methods.post_training_bias {
        let spec = section_spec(
            config,
            &schema,
            Stage::PostTraining,
            block.methods.selected(),
            state.flip_test.as_ref(),
        )?;
        let (section, groups) = super::section_with_groups(&state.counts, &spec)?;
        log_unavailable("post_training_bias", &section);
        sections.post_training = Some(section);
        sections.groups = groups;
    }
    Ok(sections)
}

/// Pre-training bias on a sample of rows, for `openclarify check`.
pub struct Preview {
    /// How the label, then each facet, reads on the sample, with its column.
    pub columns: Vec<(Resolved, usize)>,
    /// Whether the pre-training section can be computed on the sample.
    pub section: Result<()>,
    /// The label and facet values that select no row of the sample, named
    /// ([`super::empty`]).
    pub empty: Vec<String>,
}

/// Resolves the label and facets on `chunk` as [`finish`] would on every
/// row, without predictions.
pub fn preview(config: &AnalysisConfig, schema: &Schema, chunk: &Chunk) -> Result<Preview> {
    let cols = Columns {
        predicted: None,
        ..columns(schema)?
    };
    let state = CountState::new(cols.facets.len()).merge(CountState::from_chunk(chunk, &cols));
    let spec = section_spec(config, schema, Stage::PreTraining, None, None)?;
    let resolved = super::resolution(&state, &spec)?;
    let columns = std::iter::once(cols.label).chain(cols.facets.iter().copied());
    Ok(Preview {
        columns: resolved.into_iter().zip(columns).collect(),
        section: super::section(&state, &spec).map(|_| ()),
        empty: super::empty::empty_selections(&state, &spec),
    })
}

/// Which columns the counts read.
fn columns(schema: &Schema) -> Result<Columns> {
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

/// Whether a requested post-training metric is computed from rows (FT).
fn wants_flip_test(config: &AnalysisConfig) -> bool {
    config.methods.post_training_bias.as_ref().is_some_and(|b| {
        super::metric_list(Stage::PostTraining, b.methods.selected())
            .into_iter()
            .filter_map(metric_registry::find)
            .any(|m| m.computation == Computation::FlipTest)
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
    fn new(config: &AnalysisConfig, schema: &mut Schema, model: &ModelAccess) -> Result<Self> {
        let labeler = Labeler::new(config);
        let label_values = config.label_values_or_threshold.clone().unwrap_or_default();
        let first_batch = labeler.clone();
        let predictor = Predictor::new(config, model, schema.feature_names())?.with_first_check(
            move |outputs| {
                let batch = first_batch.fit(outputs, &label_values)?;
                if let Some(warning) = batch.warning() {
                    tracing::warn!("{warning}");
                }
                Ok(())
            },
        );
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

/// One pass over the chunks on every core: bias counts, plus the rows FT
/// needs.
fn fold_chunks(
    config: &AnalysisConfig,
    dataset: &Dataset,
    chunks: &mut (dyn Iterator<Item = Result<Chunk>> + Send),
) -> Result<BiasState> {
    let cols = columns(&dataset.schema)?;
    let ft_template = match (wants_flip_test(config), cols.predicted) {
        (true, Some(predicted)) => {
            let excluded = dataset.schema.excluded_columns();
            let keep = (0..dataset.schema.headers.len())
                .filter(|c| *c != cols.label && *c != predicted && !excluded.contains(c))
                .collect();
            Some((FlipTestRows::new(keep, &cols.facets), predicted))
        }
        _ => None,
    };
    let empty = || BiasState {
        counts: CountState::new(cols.facets.len()),
        flip_test: ft_template.as_ref().map(|(t, _)| t.clone()),
    };
    let progress = ReadProgress::new();
    let state = chunks
        .par_bridge()
        .map(|chunk: Result<Chunk>| {
            let chunk = chunk?;
            progress.add(chunk.len() as u64);
            let mut state = empty();
            state.counts = state.counts.merge(CountState::from_chunk(&chunk, &cols));
            if let (Some(rows), Some((_, predicted))) = (state.flip_test.as_mut(), &ft_template) {
                rows.fold(&chunk, &cols.facets, *predicted);
            }
            Ok(state)
        })
        .try_reduce(empty, |a, b| {
            Ok(BiasState {
                counts: a.counts.merge(b.counts),
                flip_test: a.flip_test.zip(b.flip_test).map(|(x, y)| x.merge(y)),
            })
        })?;
    progress.finish();
    Ok(state)
}

/// What a section needs besides the counts, from the config and schema.
pub(crate) fn section_spec<'a>(
    config: &'a AnalysisConfig,
    schema: &'a Schema,
    stage: Stage,
    selected: Option<Vec<String>>,
    flip_test: Option<&'a FlipTestRows>,
) -> Result<SectionSpec<'a>> {
    let label = columns(schema)?.label;
    let facets = config
        .facet
        .iter()
        .flatten()
        .zip(&schema.facets)
        .map(|(f, &col)| (schema.headers[col].clone(), f.value_or_threshold.clone()))
        .collect();
    Ok(SectionSpec {
        stage,
        metrics: super::metric_list(stage, selected),
        label_name: &schema.headers[label],
        label_values: config.label_values_or_threshold.as_deref().unwrap_or(&[]),
        facets,
        has_group: schema.group.is_some(),
        flip_test,
    })
}

/// Logs one line per metric that could not be computed (CDDL without a
/// group variable, FT with text features...): `analysis.json` carries the
/// reason as the metric's `error`, and the log should say so without a
/// stack trace, once per metric and reason rather than once per facet value.
fn log_unavailable(stage: &str, section: &Json) {
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
