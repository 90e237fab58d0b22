//! Running `methods.shap` and `methods.pdp` against the model: the I/O half
//! of explainability, around the pure computations of this module's siblings.
//!
//! The work comes in three steps so that a distributed run can spread the
//! middle one over shards ([`crate::distributed`]); a single-process run
//! does the same three steps on the whole dataset:
//!
//! - [`plan`] reads what needs the whole dataset: the SHAP baseline (inline
//!   rows, a file in the processing input, or clusters of the data) and the
//!   PDP grids.
//! - [`partial`] explains the rows of one shard: it sends synthetic rows to
//!   the model through the [`Predictor`] and keeps local SHAP values, their
//!   running aggregates and PDP sums in a mergeable [`ExplainState`].
//!   Synthetic rows of many explained rows go into one `predict` call of up
//!   to [`RECORDS_PER_CALL`] records, so that requests are full batches and
//!   the predictor's concurrency is used; two such calls are in flight at
//!   once so the endpoint never waits for the solver.
//! - [`finish`] turns the merged state into the `explanations` object of
//!   `analysis.json` (contract §5.5–5.6) and writes `explanations_shap/`
//!   (§5.7).

use super::baseline::{self, BaselineValue, Column};
use super::pdp::{self, Grid, PdpSums};
use super::{coalition_budget, AggregationMethod, GlobalShapState, KernelShap, KernelShapSettings};
use crate::config::{AnalysisConfig, DatasetType, NameOrIndex, PdpConfig, ShapConfig};
use crate::dataset::value::{decode_key, Cell, ColumnKind, Value};
use crate::dataset::{files, Dataset, Schema};
use crate::error::{JobError, Result};
use crate::job::JobOptions;
use crate::predictor::{outputs, progress::Reporter, Predictor};
use futures_util::{StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json};
use std::ops::Range;
use std::path::Path;
use std::sync::OnceLock;

/// Model records per `predict` call: dozens of full requests at the default
/// batch size, while the synthetic cells held at once stay in the tens of
/// megabytes.
pub const RECORDS_PER_CALL: usize = 50_000;

/// `predict` calls in flight at once (each split into concurrent requests).
const CALLS_IN_FLIGHT: usize = 2;

/// `top_k_features` when `methods.pdp` omits both it and `features`.
pub const DEFAULT_TOP_K_FEATURES: usize = 10;

/// What explainability adds to a job.
#[derive(Debug)]
pub struct Explanations {
    /// The `explanations` object of `analysis.json`.
    pub section: Json,
    /// Dataset rows explained.
    pub rows: u64,
}

/// What explanations need from the whole dataset, fixed before any shard is
/// read so that every shard explains against the same baseline and grids.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExplainPlan {
    /// The SHAP baseline rows (all features, model order), when SHAP runs.
    baseline: Option<Vec<Vec<Cell>>>,
    /// Whether the baseline was computed from the data, and so is written
    /// to `explanations_shap/baseline.csv`.
    computed_baseline: bool,
    /// A grid for every feature PDP may plot, by feature position. When
    /// `methods.pdp.features` is absent the plotted features are the top
    /// SHAP features, known only once every shard is merged, so every
    /// explained feature gets a grid.
    grids: Vec<(usize, PlannedGrid)>,
}

/// A PDP grid, with how its values are sent to the model and written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum PlannedGrid {
    /// Bucket centres of a numeric feature.
    Numerical(Grid<f64>),
    /// Distinct values of a feature of this pandas kind.
    Categorical(ColumnKind, Grid<Cell>),
}

impl PlannedGrid {
    /// The grid values as cells for the model.
    fn cells(&self, features: &Features) -> Vec<Cell> {
        match self {
            PlannedGrid::Numerical(grid) => grid
                .feature_values
                .iter()
                .map(|&v| features.number_cell(v))
                .collect(),
            PlannedGrid::Categorical(_, grid) => grid.feature_values.clone(),
        }
    }

    /// The grid with its values as JSON for the output.
    fn to_json(&self) -> Grid<Json> {
        match self {
            PlannedGrid::Numerical(grid) => json_grid(grid, |&v| Json::from(v)),
            PlannedGrid::Categorical(kind, grid) => {
                json_grid(grid, |c| value_json(kind.value_of(c)))
            }
        }
    }
}

/// Settles the baseline and PDP grids from the whole dataset. `data` is the
/// dataset path, against which a baseline file's relative URI resolves.
///
/// Memory: when a baseline is computed or PDP runs, every row's feature
/// cells are held at once (the clustering and the grids see all of them).
pub fn plan(config: &AnalysisConfig, dataset: &Dataset, data: &Path) -> Result<ExplainPlan> {
    let features = Features::new(config, &dataset.schema)?;
    let needs_rows = config.methods.pdp.is_some()
        || config
            .methods
            .shap
            .as_ref()
            .is_some_and(|s| s.baseline.is_none());
    let records = match needs_rows {
        true => Records::read(dataset, &features)?,
        false => Records::default(),
    };
    if needs_rows && records.rows.is_empty() {
        return Err(empty_dataset());
    }
    let baseline = match &config.methods.shap {
        Some(shap) => Some(shap_baseline(config, shap, &features, &records, data)?),
        None => None,
    };
    let grids = match &config.methods.pdp {
        Some(pdp_config) => pdp_candidates(pdp_config, &features, config.methods.shap.is_some())?
            .into_iter()
            .map(|position| (position, planned_grid(pdp_config, position, &records)))
            .collect(),
        None => Vec::new(),
    };
    Ok(ExplainPlan {
        baseline,
        computed_baseline: config
            .methods
            .shap
            .as_ref()
            .is_some_and(|s| s.baseline.is_none()),
        grids,
    })
}

fn empty_dataset() -> JobError {
    JobError::client(
        "Dataset is empty: no data rows to explain were read (only a header, or blank lines?).",
    )
}

/// One shard's explanations: local SHAP values, their running aggregates
/// and PDP sums. States merge in any order and grouping with the same
/// result, to the bit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExplainState {
    /// Rows explained.
    rows: u64,
    /// The dataset index of the shard's first row (for a deterministic
    /// choice of expected values when merging).
    first_row: u64,
    /// Scores per record, from the model's first answer; `None` for a
    /// shard without rows, which never called the model.
    num_outputs: Option<usize>,
    /// SHAP, when configured and the shard has rows.
    shap: Option<ShapState>,
    /// PDP sums, one per planned grid (empty for a shard without rows).
    pdp: Vec<PdpSums>,
}

/// SHAP values of a shard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct ShapState {
    /// E[f] per output over the baseline.
    expected: Vec<f64>,
    /// The running aggregates for `global_shap_values`.
    global: GlobalShapState,
    /// Each row's values (only with `save_local_shap_values`).
    local: Vec<LocalRow>,
}

/// One row of `explanations_shap/out.csv`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct LocalRow {
    /// Index of the row in the dataset: rows are written in this order.
    row: u64,
    /// The joinsource value, as text.
    id: Option<String>,
    /// The SHAP values, output-major.
    values: Vec<f64>,
}

impl ExplainState {
    /// Adds another shard's state. Fails when the model gave a different
    /// number of scores per record on the two shards.
    pub fn merge(self, other: ExplainState) -> Result<ExplainState> {
        if other.rows == 0 {
            return Ok(self);
        }
        if self.rows == 0 {
            return Ok(other);
        }
        if self.num_outputs != other.num_outputs || self.pdp.len() != other.pdp.len() {
            return Err(JobError::client(format!(
                "The model gave {} scores per record for the rows from dataset row {} but {} for the rows from row {}; SHAP and PDP need the same number of scores for every record.",
                self.num_outputs.unwrap_or(0),
                self.first_row,
                other.num_outputs.unwrap_or(0),
                other.first_row
            )));
        }
        // The expected values come from the shard that starts first, so
        // that merging in another order cannot change them.
        let (first, second) = match self.first_row <= other.first_row {
            true => (self, other),
            false => (other, self),
        };
        let shap = match (first.shap, second.shap) {
            (Some(mut a), Some(b)) => {
                a.global.merge(b.global);
                a.local.extend(b.local);
                Some(a)
            }
            (a, b) => a.or(b),
        };
        let pdp = first
            .pdp
            .into_iter()
            .zip(second.pdp)
            .map(|(mut a, b)| {
                a.merge(&b);
                a
            })
            .collect();
        Ok(ExplainState {
            rows: first.rows + second.rows,
            first_row: first.first_row,
            num_outputs: first.num_outputs,
            shap,
            pdp,
        })
    }
}

/// Explains the rows of `dataset` (a shard, or the whole dataset) against
/// the plan's baseline and grids.
///
/// Memory: the shard's feature cells are held at once, about
/// `rows × features` cells; plus, for `agg_method: median`,
/// `rows × features × outputs` floats.
pub fn partial(
    config: &AnalysisConfig,
    plan: &ExplainPlan,
    dataset: &Dataset,
    options: &JobOptions,
) -> Result<ExplainState> {
    let features = Features::new(config, &dataset.schema)?;
    let records = Records::read(dataset, &features)?;
    let mut state = ExplainState {
        rows: records.rows.len() as u64,
        first_row: records.first_row,
        num_outputs: None,
        shap: None,
        pdp: Vec::new(),
    };
    if records.rows.is_empty() {
        return Ok(state);
    }
    let model = Model::new(config, &features, options)?;
    if let (Some(shap_config), Some(baseline)) = (&config.methods.shap, &plan.baseline) {
        state.shap = Some(explain_rows(
            shap_config,
            baseline,
            &features,
            &records,
            &model,
        )?);
    }
    let _progress =
        (!plan.grids.is_empty()).then(|| Reporter::start(model.predictor.counters(), "PDP", None));
    state.pdp = plan
        .grids
        .iter()
        .map(|(position, grid)| pdp_sums(*position, grid, &features, &records, &model))
        .collect::<Result<_>>()?;
    state.num_outputs = model.num_outputs.get().copied();
    tracing::info!(
        requests = model.predictor.requests_sent(),
        "explanations done"
    );
    Ok(state)
}

/// Writes `explanations_shap/` under `output` and returns the
/// `explanations` section for the merged state of every row.
pub fn finish(
    config: &AnalysisConfig,
    schema: &Schema,
    plan: &ExplainPlan,
    state: ExplainState,
    output: &Path,
) -> Result<Explanations> {
    if state.rows == 0 {
        return Err(empty_dataset());
    }
    let features = Features::new(config, schema)?;
    let labels = label_names(config, state.num_outputs.unwrap_or(0));
    let mut section = Map::new();
    let mut first_output_global = None;
    if let (Some(shap_config), Some(shap)) = (&config.methods.shap, state.shap) {
        if let (true, Some(baseline)) = (plan.computed_baseline, &plan.baseline) {
            write_baseline(baseline, output)?;
        }
        let global = shap.global.global_values();
        let joinsource = schema.joinsource.map(|c| schema.headers[c].as_str());
        write_local_values(
            shap_config,
            &features,
            joinsource,
            &labels,
            shap.local,
            output,
        )?;
        section.insert(
            "kernel_shap".into(),
            shap_section(&features, &labels, &global, &shap.expected),
        );
        first_output_global = global.into_iter().next();
    }
    if let Some(pdp_config) = &config.methods.pdp {
        let plotted = pdp_features(pdp_config, &features, first_output_global.as_deref())?;
        let curves = plotted
            .into_iter()
            .map(|position| {
                let at = plan.grids.iter().position(|(p, _)| *p == position);
                let (grid, sums) = at
                    .and_then(|i| Some((&plan.grids[i].1, state.pdp.get(i)?)))
                    .ok_or_else(|| {
                        JobError::algorithm(format!(
                            "The plan has no PDP grid for feature {}; make the plan again with this config.",
                            features.names[position]
                        ))
                    })?;
                Ok(pdp_curve(&features.names[position], grid, sums, &labels))
            })
            .collect::<Result<Vec<Json>>>()?;
        section.insert("pdp".into(), Json::Array(curves));
    }
    Ok(Explanations {
        section: Json::Object(section),
        rows: state.rows,
    })
}

/// The model's features and which of them are explained.
struct Features {
    /// Feature names in the order the model receives them.
    names: Vec<String>,
    /// Dataset columns of the features, in the same order.
    columns: Vec<usize>,
    /// Positions (into `names`) of the features SHAP explains.
    explained: Vec<usize>,
    /// Whether a CSV reader produced the cells, so that values we make up
    /// (baseline and grid values) are text like the data's.
    csv: bool,
}

impl Features {
    fn new(config: &AnalysisConfig, schema: &Schema) -> Result<Features> {
        let names: Vec<String> = schema
            .features
            .iter()
            .map(|&c| schema.headers[c].clone())
            .collect();
        let explained = match config
            .methods
            .shap
            .as_ref()
            .and_then(|s| s.features_to_explain.as_ref())
        {
            Some(chosen) => chosen
                .iter()
                .map(|f| feature_position("methods.shap.features_to_explain", f, &names))
                .collect::<Result<_>>()?,
            None => (0..names.len()).collect(),
        };
        Ok(Features {
            names,
            columns: schema.features.clone(),
            explained,
            csv: config.dataset_format() == DatasetType::Csv,
        })
    }

    /// Whether SHAP leaves some features out, fixed at each row's value.
    fn is_subset(&self) -> bool {
        self.explained.len() < self.names.len()
    }

    /// A number as a cell of this dataset's kind.
    fn number_cell(&self, value: f64) -> Cell {
        if self.csv {
            text_cell(&crate::pyfmt::float(value))
        } else {
            Cell::Float(value)
        }
    }

    /// A JSON scalar from the config as a cell of this dataset's kind, so
    /// that a baseline `2320` equals the data's `2320`.
    fn json_cell(&self, key: &str, value: &Json) -> Result<Cell> {
        Ok(match (value, self.csv) {
            (Json::Null, _) => Cell::Missing,
            (Json::String(s), true) => text_cell(s),
            (Json::String(s), false) => Cell::Str(s.as_str().into()),
            (Json::Number(n), true) => text_cell(&n.to_string()),
            (Json::Number(n), false) => n
                .as_i64()
                .map_or_else(|| Cell::Float(n.as_f64().unwrap_or(f64::NAN)), Cell::Int),
            (Json::Bool(b), true) => text_cell(if *b { "True" } else { "False" }),
            (Json::Bool(b), false) => Cell::Bool(*b),
            (other, _) => {
                return Err(JobError::client(format!(
                    "{key}: a feature value must be a number, a string or null, not {other}."
                )))
            }
        })
    }
}

/// A feature named in the config (by name, or by its position among the
/// features the model receives) as a position into `names`.
fn feature_position(key: &str, feature: &NameOrIndex, names: &[String]) -> Result<usize> {
    let found = match feature {
        NameOrIndex::Name(name) => names.iter().position(|n| n == name),
        NameOrIndex::Index(i) => Some(*i).filter(|i| *i < names.len()),
    };
    found.ok_or_else(|| {
        JobError::client(format!(
            "{key}: {feature} is not one of the model's features ({}); indices count from 0 over these.",
            names.join(", ")
        ))
    })
}

fn text_cell(text: &str) -> Cell {
    Cell::Text(text.as_bytes().into())
}

/// The dataset rows in memory: the model's feature cells of every row, and
/// the joinsource identifier (as text) when one is configured.
#[derive(Default)]
struct Records {
    /// The dataset index of the first row.
    first_row: u64,
    rows: Vec<Vec<Cell>>,
    ids: Option<Vec<String>>,
}

impl Records {
    fn read(dataset: &Dataset, features: &Features) -> Result<Records> {
        let joinsource = dataset.schema.joinsource;
        let mut records = Records {
            ids: joinsource.map(|_| Vec::new()),
            ..Records::default()
        };
        for chunk in dataset.chunks()? {
            let chunk = chunk?;
            if records.rows.is_empty() {
                records.first_row = chunk.first_row;
            }
            for r in 0..chunk.len() {
                records.rows.push(chunk.record(r, &features.columns));
                if let (Some(column), Some(ids)) = (joinsource, records.ids.as_mut()) {
                    ids.push(cell_text(&chunk.cell(r, column).to_owned()));
                }
            }
        }
        tracing::info!(rows = records.rows.len(), "rows to explain read");
        Ok(records)
    }

    /// The kind pandas would give feature `position`'s column.
    fn kind(&self, position: usize) -> ColumnKind {
        ColumnKind::infer(self.rows.iter().map(|r| &r[position]))
    }
}

/// The model behind the predictor, answering with score vectors.
struct Model {
    predictor: Predictor,
    runtime: tokio::runtime::Runtime,
    /// Scores per record, fixed by the first answer; every later answer
    /// must have as many.
    num_outputs: OnceLock<usize>,
}

impl Model {
    fn new(config: &AnalysisConfig, features: &Features, options: &JobOptions) -> Result<Model> {
        let predictor = Predictor::new(
            config,
            options.endpoint_url.as_deref(),
            features.names.clone(),
            options.predictor.clone(),
        )?;
        tracing::info!(target = predictor.target(), "explaining the model");
        Ok(Model {
            predictor,
            runtime: crate::predictor::runtime()?,
            num_outputs: OnceLock::new(),
        })
    }

    /// The model's scores for `records`, one vector per output holding one
    /// score per record. `describe` names record `i` in messages.
    async fn scores(
        &self,
        records: &[Vec<Cell>],
        describe: impl Fn(usize) -> String,
    ) -> Result<Vec<Vec<f64>>> {
        let answers = self
            .predictor
            .predict(0, records)
            .await
            .map_err(|e| match e.message.contains("dataset row") {
                // A failure about the endpoint names no row, and needs no key to one.
                false => e,
                true => JobError {
                    category: e.category,
                    message: format!(
                        "{} (while explaining {}; the row numbers count the synthetic records of that call)",
                        e.message,
                        describe(0)
                    ),
                },
            })?;
        let mut by_output: Vec<Vec<f64>> = Vec::new();
        for (i, answer) in answers.iter().enumerate() {
            let scores = outputs::scores(answer).map_err(|why| {
                JobError::client(format!(
                    "The model's score for {} is not a number: {why}. The model answered label={} score={}; check predictor.label and predictor.probability.",
                    describe(i),
                    answer.label.as_ref().map_or("(none)".into(), Json::to_string),
                    answer.score.as_ref().map_or("(none)".into(), Json::to_string),
                ))
            })?;
            let expected = *self.num_outputs.get_or_init(|| scores.len());
            if scores.len() != expected || expected == 0 {
                return Err(JobError::client(format!(
                    "The model gave {} scores for {} but {expected} for earlier records; SHAP and PDP need the same number of scores for every record.",
                    scores.len(),
                    describe(i)
                )));
            }
            by_output.resize_with(expected, || Vec::with_capacity(answers.len()));
            for (column, score) in by_output.iter_mut().zip(scores) {
                column.push(score);
            }
        }
        Ok(by_output)
    }
}

/// Names of the model's `count` outputs: `predictor.label_headers` when
/// there is one per output, else `label0`, `label1`, ….
fn label_names(config: &AnalysisConfig, count: usize) -> Vec<String> {
    let headers = config
        .predictor
        .as_ref()
        .and_then(|p| p.label_headers.as_ref());
    match headers {
        Some(headers) if headers.len() == count => headers.iter().map(|v| v.py_str()).collect(),
        _ => (0..count).map(|k| format!("label{k}")).collect(),
    }
}

/// Explains every row of `records` with Kernel SHAP against `baseline`.
fn explain_rows(
    shap: &ShapConfig,
    baseline: &[Vec<Cell>],
    features: &Features,
    records: &Records,
    model: &Model,
) -> Result<ShapState> {
    let method = AggregationMethod::from_config(shap.agg_method.as_deref()).ok_or_else(|| {
        JobError::client("methods.shap.agg_method: use mean_abs, median or mean_sq.")
    })?;
    let settings = KernelShapSettings::from_config(shap);
    let baseline_scores = model
        .runtime
        .block_on(model.scores(baseline, |b| format!("baseline row {b}")))?;
    let explained_baseline: Vec<Vec<Cell>> = baseline
        .iter()
        .map(|row| pick(row, &features.explained))
        .collect();
    let num_samples = settings.num_samples;
    let explainer = KernelShap::new(explained_baseline, settings);
    let expected = explainer.expected_values(&baseline_scores);
    let num_outputs = model.num_outputs.get().copied().unwrap_or(0);
    let mut global = GlobalShapState::new(method, num_outputs, features.explained.len());
    let keep_local = shap.save_local_shap_values.unwrap_or(false);
    let mut local = Vec::new();

    let per_row = records_per_row(features, baseline.len(), num_samples);
    let expected_records =
        model.predictor.counters().records() + (records.rows.len() * per_row) as u64;
    let _progress = Reporter::start(model.predictor.counters(), "SHAP", Some(expected_records));
    let rows_per_call = RECORDS_PER_CALL / per_row;
    let blocks = ranges(records.rows.len(), rows_per_call);
    let explained = futures_util::stream::iter(blocks)
        .map(|rows| {
            let (explainer, expected) = (&explainer, &expected);
            async move {
                let values =
                    explain_block(explainer, features, records, model, rows.clone(), expected)
                        .await?;
                Ok::<_, JobError>((rows, values))
            }
        })
        .buffered(CALLS_IN_FLIGHT);
    model
        .runtime
        .block_on(explained.try_for_each(|(rows, values)| {
            for (row, row_values) in rows.zip(values) {
                global.add_row(&row_values);
                if keep_local {
                    local.push(LocalRow {
                        row: records.first_row + row as u64,
                        id: records.ids.as_ref().map(|ids| ids[row].clone()),
                        values: row_values.into_iter().flatten().collect(),
                    });
                }
            }
            std::future::ready(Ok(()))
        }))?;
    Ok(ShapState {
        expected,
        global,
        local,
    })
}

/// The `kernel_shap` object: per output, the global values by feature name
/// and the expected value.
fn shap_section(
    features: &Features,
    labels: &[String],
    global: &[Vec<f64>],
    expected: &[f64],
) -> Json {
    let mut section = Map::new();
    for ((label, values), expected_value) in labels.iter().zip(global).zip(expected) {
        let named: Map<String, Json> = features
            .explained
            .iter()
            .zip(values)
            .map(|(&f, &v)| (features.names[f].clone(), Json::from(v)))
            .collect();
        let mut entry = Map::new();
        entry.insert("global_shap_values".into(), Json::Object(named));
        entry.insert("expected_value".into(), Json::from(*expected_value));
        section.insert(label.clone(), Json::Object(entry));
    }
    Json::Object(section)
}

/// The cells of `row` at `positions`.
fn pick(row: &[Cell], positions: &[usize]) -> Vec<Cell> {
    positions.iter().map(|&p| row[p].clone()).collect()
}

/// At most the model records one explained row needs: the row itself, its
/// own background when only some features are explained (the baseline with
/// the others at the row's values, whose mean is the row's expected value),
/// and one record per (coalition, baseline row).
fn records_per_row(features: &Features, baseline_rows: usize, num_samples: Option<usize>) -> usize {
    let background = if features.is_subset() {
        baseline_rows
    } else {
        0
    };
    let coalitions = coalition_budget(num_samples, features.explained.len());
    1 + background + coalitions * baseline_rows
}

/// `0..total` cut into consecutive ranges of `size` (at least 1) items.
fn ranges(total: usize, size: usize) -> impl Iterator<Item = Range<usize>> {
    let size = size.max(1);
    (0..total)
        .step_by(size)
        .map(move |start| start..total.min(start + size))
}

/// Explains `rows` with one `predict` call; returns each row's SHAP values
/// (one vector per output, one value per explained feature), in row order.
async fn explain_block(
    explainer: &KernelShap<Cell>,
    features: &Features,
    records: &Records,
    model: &Model,
    rows: Range<usize>,
    expected: &[f64],
) -> Result<Vec<Vec<Vec<f64>>>> {
    let baseline_rows = explainer.baseline().len();
    let mut plans = Vec::with_capacity(rows.len());
    let mut block = Vec::new();
    let mut starts = Vec::with_capacity(rows.len());
    for row in rows.clone() {
        let full = &records.rows[row];
        let cells = pick(full, &features.explained);
        // Seeds are keyed to the row's index in the whole dataset, so a
        // shard explains its rows exactly as a single pass would.
        let plan = explainer.plan(&cells, records.first_row + row as u64);
        starts.push(block.len());
        block.push(full.clone());
        if features.is_subset() {
            let absent = explainer.baseline().iter().cloned();
            block.extend(absent.map(|b| with_explained(full, &features.explained, b)));
        }
        let synthetic = explainer.synthetic_rows(&cells, &plan);
        block.extend(
            synthetic
                .into_iter()
                .map(|s| with_explained(full, &features.explained, s)),
        );
        plans.push(plan);
    }
    let owner = |i: usize| rows.start + starts.partition_point(|&s| s <= i) - 1;
    let scores = model
        .scores(&block, |i| {
            let row = owner(i);
            let global = records.first_row + row as u64;
            match i == starts[row - rows.start] {
                true => format!("dataset row {global}"),
                false => format!("a synthetic record of dataset row {global}"),
            }
        })
        .await?;
    let mut values = Vec::with_capacity(plans.len());
    for (i, plan) in plans.iter().enumerate() {
        let start = starts[i];
        let prediction: Vec<f64> = scores.iter().map(|s| s[start]).collect();
        let mut synthetic_start = start + 1;
        let own_expected;
        let expected = if features.is_subset() {
            let background: Vec<Vec<f64>> = scores
                .iter()
                .map(|s| s[synthetic_start..synthetic_start + baseline_rows].to_vec())
                .collect();
            synthetic_start += baseline_rows;
            own_expected = explainer.expected_values(&background);
            &own_expected
        } else {
            expected
        };
        let synthetic_end = synthetic_start + plan.coalitions().len() * baseline_rows;
        let synthetic: Vec<Vec<f64>> = scores
            .iter()
            .map(|s| s[synthetic_start..synthetic_end].to_vec())
            .collect();
        values.push(explainer.solve(plan, &synthetic, &prediction, expected));
    }
    tracing::info!(rows = ?rows, records = block.len(), "rows explained");
    Ok(values)
}

/// `row` with the explained features set to `explained_cells`.
fn with_explained(row: &[Cell], explained: &[usize], explained_cells: Vec<Cell>) -> Vec<Cell> {
    let mut full = row.to_vec();
    for (&position, cell) in explained.iter().zip(explained_cells) {
        full[position] = cell;
    }
    full
}

/// The baseline rows (all features, model order): configured inline or as a
/// file, else computed from the data and saved.
fn shap_baseline(
    config: &AnalysisConfig,
    shap: &ShapConfig,
    features: &Features,
    records: &Records,
    data: &Path,
) -> Result<Vec<Vec<Cell>>> {
    const KEY: &str = "methods.shap.baseline";
    let rows = match &shap.baseline {
        None => return Ok(computed_baseline(shap, features, records)),
        Some(Json::Array(rows)) => rows
            .iter()
            .enumerate()
            .map(|(i, row)| baseline_row(config, features, &format!("{KEY}[{i}]"), row))
            .collect::<Result<Vec<_>>>()?,
        Some(Json::String(uri)) => {
            let input_root = crate::layout::input_root(data);
            let path = files::resolve_uri(KEY, uri, &input_root)?;
            baseline_file(config, features, &path)?
        }
        Some(other) => {
            return Err(JobError::client(format!(
                "{KEY}: expected a list of rows or the path of a baseline file, got {other}."
            )))
        }
    };
    if rows.is_empty() {
        return Err(JobError::client(format!(
            "{KEY}: the baseline has no rows; give at least one, or leave it out to have one computed."
        )));
    }
    for (i, row) in rows.iter().enumerate() {
        if row.len() != features.names.len() {
            return Err(JobError::client(format!(
                "{KEY}: Baseline must have the same number of features as the dataset (expected {}, got {} in baseline row {i}). The features are: {}.",
                features.names.len(),
                row.len(),
                features.names.join(", ")
            )));
        }
    }
    Ok(rows)
}

/// One configured baseline row: a list of feature values, or (JSON Lines)
/// an object in the dataset's shape whose `features` locator yields that list.
fn baseline_row(
    config: &AnalysisConfig,
    features: &Features,
    key: &str,
    row: &Json,
) -> Result<Vec<Cell>> {
    let values = match (row, &config.features) {
        (Json::Array(values), _) => values.clone(),
        (Json::Object(_), Some(locator)) => {
            let expression = jmespath::compile(locator).map_err(|e| {
                JobError::client(format!(
                    "features: {locator:?} is not a valid JMESPath: {e}"
                ))
            })?;
            let document = jmespath::Variable::from_json(&row.to_string())
                .map_err(|e| JobError::client(format!("{key}: {e}")))?;
            let found = expression
                .search(document)
                .map_err(|e| JobError::client(format!("{key}: cannot apply {locator:?}: {e}")))?;
            match serde_json::to_value(&*found) {
                Ok(Json::Array(values)) => values,
                _ => {
                    return Err(JobError::client(format!(
                        "{key}: the features locator {locator:?} does not give a list of feature values in {row}."
                    )))
                }
            }
        }
        _ => {
            return Err(JobError::client(format!(
                "{key}: expected a list of feature values, got {row}."
            )))
        }
    };
    values.iter().map(|v| features.json_cell(key, v)).collect()
}

/// Baseline rows from a file in the dataset's format (contract §3.6): CSV
/// without a header (a first line equal to the feature names is skipped),
/// or JSON Lines objects in the dataset's shape.
fn baseline_file(
    config: &AnalysisConfig,
    features: &Features,
    path: &Path,
) -> Result<Vec<Vec<Cell>>> {
    let key = format!("methods.shap.baseline ({})", path.display());
    let bytes = files::read_all(path)?;
    match config.dataset_format() {
        DatasetType::Csv => {
            let mut reader = csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .from_reader(bytes.as_slice());
            let mut rows = Vec::new();
            for record in reader.byte_records() {
                let record = record
                    .map_err(|e| JobError::client(format!("{key}: not valid CSV: {e}")))?;
                let row: Vec<Cell> = record.iter().map(|t| Cell::Text(t.into())).collect();
                let is_header = rows.is_empty()
                    && row.len() == features.names.len()
                    && record.iter().zip(&features.names).all(|(t, n)| t == n.as_bytes());
                if !is_header {
                    rows.push(row);
                }
            }
            Ok(rows)
        }
        DatasetType::JsonLines => String::from_utf8_lossy(&bytes)
            .lines()
            .filter(|line| !line.trim().is_empty())
            .enumerate()
            .map(|(i, line)| {
                let line_key = format!("{key} line {}", i + 1);
                let row: Json = serde_json::from_str(line).map_err(|e| {
                    JobError::client(format!("{line_key}: not valid JSON: {e}"))
                })?;
                baseline_row(config, features, &line_key, &row)
            })
            .collect(),
        _ => Err(JobError::client(format!(
            "{key}: baseline files are read for text/csv and application/jsonlines datasets only; give the baseline rows inline as a list."
        ))),
    }
}

/// A baseline summarising the data (k-means, or k-prototypes with
/// categorical features).
fn computed_baseline(shap: &ShapConfig, features: &Features, records: &Records) -> Vec<Vec<Cell>> {
    let columns: Vec<Column<Vec<u8>>> = (0..features.names.len())
        .map(|f| cluster_column(records, f))
        .collect();
    let seed = shap.seed.unwrap_or(0);
    let rows: Vec<Vec<Cell>> =
        baseline::summarise(&columns, shap.num_clusters.map(|k| k as usize), seed)
            .into_iter()
            .map(|row| {
                row.into_iter()
                    .map(|value| match value {
                        BaselineValue::Numeric(v) => features.number_cell(v),
                        BaselineValue::Categorical(key) => decode_key(&key),
                    })
                    .collect()
            })
            .collect();
    tracing::info!(rows = rows.len(), "baseline computed");
    rows
}

/// Saves a computed baseline as `explanations_shap/baseline.csv`.
fn write_baseline(rows: &[Vec<Cell>], output: &Path) -> Result<()> {
    let text: String = rows
        .iter()
        .map(|row| csv_line(row.iter().map(cell_text)))
        .collect();
    crate::layout::write_atomic(
        &output.join("explanations_shap/baseline.csv"),
        text.as_bytes(),
    )
}

/// One feature as clustering sees it: numbers when pandas would read the
/// column as numeric (missing values take the mean of the others, since
/// a centre cannot be computed through NaN), else categories keyed by the
/// raw cell.
fn cluster_column(records: &Records, position: usize) -> Column<Vec<u8>> {
    let kind = records.kind(position);
    let cells = records.rows.iter().map(|r| &r[position]);
    match kind {
        ColumnKind::Int | ColumnKind::Float => {
            let values: Vec<Option<f64>> = cells.map(|c| kind.value_of(c).as_f64()).collect();
            let present: Vec<f64> = values.iter().flatten().copied().collect();
            let mean = present.iter().sum::<f64>() / present.len().max(1) as f64;
            Column::Numeric(values.iter().map(|v| v.unwrap_or(mean)).collect())
        }
        ColumnKind::Bool | ColumnKind::Object => Column::Categorical(
            cells
                .map(|c| {
                    let mut key = Vec::new();
                    c.as_ref().encode_into(&mut key);
                    key
                })
                .collect(),
        ),
    }
}

/// A cell as CSV text, the way pandas would print it.
fn cell_text(cell: &Cell) -> String {
    ColumnKind::Object.value_of(cell).py_str()
}

/// Writes `explanations_shap/out.csv` when `save_local_shap_values` is on:
/// the joinsource column if any, then `<feature>_<label>` label-major
/// (contract §5.7), one line per row in dataset order.
fn write_local_values(
    shap: &ShapConfig,
    features: &Features,
    joinsource: Option<&str>,
    labels: &[String],
    mut rows: Vec<LocalRow>,
    output: &Path,
) -> Result<()> {
    // The contract's documented default (absent means false); the SDK
    // always writes the key.
    if !shap.save_local_shap_values.unwrap_or(false) {
        return Ok(());
    }
    let mut header: Vec<String> = joinsource.map(str::to_string).into_iter().collect();
    for label in labels {
        for &f in &features.explained {
            header.push(format!("{}_{label}", features.names[f]));
        }
    }
    let mut text = csv_line(header);
    rows.sort_unstable_by_key(|r| r.row);
    for row in rows {
        let numbers = row.values.iter().map(|&v| crate::pyfmt::float(v));
        text.push_str(&csv_line(row.id.into_iter().chain(numbers)));
    }
    crate::layout::write_atomic(&output.join("explanations_shap/out.csv"), text.as_bytes())
}

/// One CSV line (with its newline), quoting fields as needed.
fn csv_line(fields: impl IntoIterator<Item = String>) -> String {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer
        .write_record(fields)
        .expect("writing CSV to memory cannot fail");
    let bytes = writer
        .into_inner()
        .expect("flushing CSV to memory cannot fail");
    String::from_utf8(bytes).expect("the fields are UTF-8")
}

/// The features PDP may plot, fixed in the plan: `methods.pdp.features`,
/// else every explained feature, since the `top_k_features` with the
/// largest global SHAP value are known only once every row is explained.
fn pdp_candidates(pdp: &PdpConfig, features: &Features, has_shap: bool) -> Result<Vec<usize>> {
    match (&pdp.features, has_shap) {
        (Some(chosen), _) => chosen
            .iter()
            .map(|f| feature_position("methods.pdp.features", f, &features.names))
            .collect(),
        (None, true) => Ok(features.explained.clone()),
        (None, false) => Err(JobError::client(
            "PDP features must be provided when ShapConfig is not provided (methods.pdp.features).",
        )),
    }
}

/// The features to plot: `methods.pdp.features`, else the `top_k_features`
/// with the largest global SHAP value of the first output (contract §2.6).
fn pdp_features(
    pdp: &PdpConfig,
    features: &Features,
    first_output_global: Option<&[f64]>,
) -> Result<Vec<usize>> {
    let candidates = pdp_candidates(pdp, features, first_output_global.is_some())?;
    let Some(global) = first_output_global.filter(|_| pdp.features.is_none()) else {
        return Ok(candidates);
    };
    let mut ranked: Vec<(usize, f64)> =
        candidates.into_iter().zip(global.iter().copied()).collect();
    // Stable: equal values keep the feature order.
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
    let k = pdp
        .top_k_features
        .map_or(DEFAULT_TOP_K_FEATURES, |k| k as usize);
    Ok(ranked.into_iter().take(k).map(|(f, _)| f).collect())
}

/// The grid of feature `position` over every row of the dataset.
fn planned_grid(pdp_config: &PdpConfig, position: usize, records: &Records) -> PlannedGrid {
    let kind = records.kind(position);
    let column = records.rows.iter().map(|r| &r[position]);
    match kind {
        ColumnKind::Int | ColumnKind::Float => {
            let values: Vec<f64> = column
                .map(|c| kind.value_of(c).as_f64().unwrap_or(f64::NAN))
                .collect();
            PlannedGrid::Numerical(pdp::numerical_grid(
                &values,
                pdp::grid_resolution(pdp_config),
            ))
        }
        ColumnKind::Bool | ColumnKind::Object => PlannedGrid::Categorical(
            kind,
            pdp::categorical_grid(&column.cloned().collect::<Vec<Cell>>()),
        ),
    }
}

/// The model's answers summed per grid value over the rows of `records`,
/// with feature `position` set to each value of its grid.
fn pdp_sums(
    position: usize,
    grid: &PlannedGrid,
    features: &Features,
    records: &Records,
    model: &Model,
) -> Result<PdpSums> {
    let cells = grid.cells(features);
    let name = &features.names[position];
    let rows_per_call = RECORDS_PER_CALL / cells.len().max(1);
    let calls = futures_util::stream::iter(ranges(records.rows.len(), rows_per_call))
        .map(|range| {
            let start = records.first_row + range.start as u64;
            let block = &records.rows[range];
            let synthetic = pdp::synthetic_rows(block, position, &cells);
            async move {
                let scores = model
                    .scores(&synthetic, |i| {
                        format!(
                            "dataset row {} with {name} set to a grid value",
                            start + (i % block.len()) as u64
                        )
                    })
                    .await?;
                Ok::<_, JobError>((block.len(), scores))
            }
        })
        .buffered(CALLS_IN_FLIGHT);
    let mut sums = PdpSums::default();
    model.runtime.block_on(calls.try_for_each(|(len, scores)| {
        sums.add(&scores, len);
        std::future::ready(Ok(()))
    }))?;
    Ok(sums)
}

/// One element of `explanations.pdp` from the merged sums.
fn pdp_curve(name: &str, grid: &PlannedGrid, sums: &PdpSums, labels: &[String]) -> Json {
    let curve = grid
        .to_json()
        .partial_dependence(name, labels.to_vec(), sums);
    serde_json::to_value(curve).unwrap_or(Json::Null)
}

/// A grid with its values turned into JSON for the output.
fn json_grid<V>(grid: &Grid<V>, to_json: impl Fn(&V) -> Json) -> Grid<Json> {
    Grid {
        data_type: grid.data_type,
        feature_values: grid.feature_values.iter().map(to_json).collect(),
        data_distribution: grid.data_distribution.clone(),
    }
}

fn value_json(value: Value) -> Json {
    match value {
        Value::Missing => Json::Null,
        Value::Bool(b) => Json::Bool(b),
        Value::Int(i) => Json::from(i),
        Value::Float(f) => Json::from(f),
        Value::Str(s) => Json::String(s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_cover_every_item_once() {
        assert_eq!(ranges(5, 2).collect::<Vec<_>>(), vec![0..2, 2..4, 4..5]);
        // A size of 0 (a row larger than the budget) still makes progress.
        assert_eq!(ranges(2, 0).collect::<Vec<_>>(), vec![0..1, 1..2]);
        assert_eq!(ranges(0, 3).count(), 0);
    }

    #[test]
    fn features_are_found_by_name_or_model_position() {
        let names = vec!["age".to_string(), "income".to_string()];
        let key = "methods.pdp.features";
        assert_eq!(
            feature_position(key, &NameOrIndex::Name("income".into()), &names).unwrap(),
            1
        );
        assert_eq!(
            feature_position(key, &NameOrIndex::Index(0), &names).unwrap(),
            0
        );
        let missing = feature_position(key, &NameOrIndex::Name("sex".into()), &names);
        assert!(missing.unwrap_err().message.contains("age, income"));
    }

    #[test]
    fn csv_lines_quote_what_needs_quoting() {
        assert_eq!(
            csv_line(["a".to_string(), "b,c".to_string()]),
            "a,\"b,c\"\n"
        );
    }
}
