//! Running `methods.shap` and `methods.pdp` against the model: the I/O half
//! of explainability, around the pure computations of this module's siblings.
//!
//! The work comes in three steps so that a distributed run can spread the
//! middle one over shards ([`crate::distributed`]); a single-process run
//! does the same three steps on the whole dataset. Bias has the same three
//! ([`crate::bias::run`]), and so will every analysis added later.
//!
//! - [`plan`] reads what needs the whole dataset: the SHAP baseline (inline
//!   rows, a file in the processing input, or clusters of the data) and the
//!   PDP grids.
//! - [`partial`] explains the rows of one shard: it sends synthetic rows to
//!   the model and keeps local SHAP values, their running aggregates and
//!   PDP sums in a mergeable [`ExplainState`]. Synthetic rows of many
//!   explained rows go into one `predict` call of up to [`RECORDS_PER_CALL`]
//!   records, so that requests are full batches and the predictor's
//!   concurrency is used; two such calls are in flight at once so the
//!   endpoint never waits for the solver.
//! - [`finish`] turns the merged state into the `explanations` object of
//!   `analysis.json` (`kernel_shap` global values and expected values, and
//!   `pdp`) and writes the local SHAP values to `explanations_shap/out.csv`.
//!
//! # Layout
//! - `rows`: the model's features, and the dataset rows held in memory.
//! - `model`: the model as a source of score vectors.
//! - `baseline`: where the SHAP baseline comes from (inline rows, a
//!   baseline file, or clusters of the data) and `baseline.csv`.
//! - `shap`: Kernel SHAP over the rows in batched model calls, the
//!   `kernel_shap` section, `out.csv` and `out_stderr.csv`.
//! - `shap_block`: one call's block of rows, in rounds when
//!   `target_stderr` may stop a row's sampling early.
//! - `unique`: identical records of a call sent once.
//! - `text`: text features (`text_config`): each row's players, records
//!   rendered from them, `global_top_shap_text` and `out.jsonl`.
//! - `pdp`: PDP grids, the model's answers summed per grid value, and the
//!   `pdp` section.

mod baseline;
mod model;
mod pdp;
mod rows;
mod shap;
mod shap_block;
mod text;
mod unique;

use crate::config::AnalysisConfig;
use crate::dataset::value::Cell;
use crate::dataset::{Dataset, Schema};
use crate::error::{JobError, Result};
use crate::explain::pdp::PdpSums;
use crate::predictor::ModelAccess;
use crate::progress::Reporter;
use baseline::{shap_baseline, write_baseline};
use model::{label_names, Model};
use pdp::{pdp_candidates, pdp_curve, pdp_features, pdp_sums, planned_grid, PlannedGrid};
use rows::{Features, Records};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json};
use shap::{explain_rows, shap_section, write_local_values, ShapState};
use std::path::Path;
use text::TextPlan;

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
    /// Which features are text, and how they are cut (`text_config`).
    text: Option<TextPlan>,
}

/// Settles the baseline and PDP grids from the whole dataset, or returns
/// `None` when the config asks for neither SHAP nor PDP. `data` is the
/// dataset path, against which a baseline file's relative URI resolves.
///
/// Memory: when a baseline is computed or PDP runs, every row's feature
/// cells are held at once (the clustering and the grids see all of them).
pub fn plan(
    config: &AnalysisConfig,
    dataset: &Dataset,
    data: &Path,
) -> Result<Option<ExplainPlan>> {
    if config.methods.shap.is_none() && config.methods.pdp.is_none() {
        return Ok(None);
    }
    let features = Features::new(config, &dataset.schema)?;
    let text_config = config
        .methods
        .shap
        .as_ref()
        .and_then(|s| s.text_config.as_ref());
    // Text features are told apart by their column type over every row.
    let needs_rows = config.methods.pdp.is_some()
        || text_config.is_some()
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
    let text_plan = match text_config {
        Some(text_config) => Some(TextPlan::new(text_config, &features, &records)?),
        None => None,
    };
    let computed_baseline = config
        .methods
        .shap
        .as_ref()
        .is_some_and(|s| s.baseline.is_none());
    let baseline = match &config.methods.shap {
        Some(shap) => {
            let mut rows = shap_baseline(config, shap, &features, &records, data)?;
            if let (Some(text_plan), true) = (&text_plan, computed_baseline) {
                text_plan.empty_text_baseline(&features, &mut rows);
            }
            Some(rows)
        }
        None => None,
    };
    let grids = match &config.methods.pdp {
        Some(pdp_config) => pdp_candidates(pdp_config, &features, config.methods.shap.is_some())?
            .into_iter()
            .map(|position| (position, planned_grid(pdp_config, position, &records)))
            .collect(),
        None => Vec::new(),
    };
    Ok(Some(ExplainPlan {
        baseline,
        computed_baseline,
        grids,
        text: text_plan,
    }))
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
                a.records.add(b.records);
                if let (Some(mine), Some(theirs)) = (a.top_units.as_mut(), b.top_units) {
                    mine.merge(theirs);
                }
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
    model: &ModelAccess,
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
    let model = Model::new(config, &features, model)?;
    if let (Some(shap_config), Some(baseline)) = (&config.methods.shap, &plan.baseline) {
        state.shap = Some(explain_rows(
            shap_config,
            baseline,
            &features,
            plan.text.as_ref(),
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
        let joinsource = schema.joinsource.map(|c| schema.headers[c].as_str());
        let mut kernel_shap = shap_section(&features, &labels, &shap.global, &shap.expected);
        match (&plan.text, &shap.top_units) {
            (Some(text_plan), Some(top_units)) => {
                if shap_config.save_local_shap_values.unwrap_or(false) {
                    text::write_local_values(text_plan, &features, shap.local, output)?;
                }
                for (output, label) in labels.iter().enumerate() {
                    if let Some(Json::Object(entry)) = kernel_shap.get_mut(label) {
                        entry.insert(
                            "global_top_shap_text".into(),
                            top_units.section(text_plan, &features, output),
                        );
                    }
                }
            }
            _ => write_local_values(
                shap_config,
                &features,
                joinsource,
                &labels,
                shap.local,
                output,
            )?,
        }
        section.insert("kernel_shap".into(), kernel_shap);
        section.insert("kernel_shap_model_records".into(), shap.records.section());
        first_output_global = shap.global.global_values().into_iter().next();
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
