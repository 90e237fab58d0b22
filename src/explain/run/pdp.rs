//! Partial dependence against the model: which features get a grid, the
//! grids themselves, the model's answers summed per grid value, and the
//! `pdp` section of `analysis.json`.

use super::model::{ranges, Model};
use super::rows::{feature_position, Features, Records};
use super::{CALLS_IN_FLIGHT, DEFAULT_TOP_K_FEATURES, RECORDS_PER_CALL};
use crate::config::PdpConfig;
use crate::dataset::value::{Cell, ColumnKind, Value};
use crate::error::{JobError, Result};
use crate::explain::pdp::{self, Grid, PdpSums};
use futures_util::{StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

/// A PDP grid, with how its values are sent to the model and written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) enum PlannedGrid {
    /// Bucket centres of a numeric feature.
    Numerical(Grid<f64>),
    /// Distinct values of a feature of this pandas kind.
    Categorical(ColumnKind, Grid<Cell>),
}

impl PlannedGrid {
    /// The grid values as cells for the model.
    pub(super) fn cells(&self, features: &Features) -> Vec<Cell> {
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
    pub(super) fn to_json(&self) -> Grid<Json> {
        match self {
            PlannedGrid::Numerical(grid) => json_grid(grid, |&v| Json::from(v)),
            PlannedGrid::Categorical(kind, grid) => {
                json_grid(grid, |c| value_json(kind.value_of(c)))
            }
        }
    }
}

/// The features PDP may plot, fixed in the plan: `methods.pdp.features`,
/// else every explained feature, since the `top_k_features` with the
/// largest global SHAP value are known only once every row is explained.
pub(super) fn pdp_candidates(
    pdp: &PdpConfig,
    features: &Features,
    has_shap: bool,
) -> Result<Vec<usize>> {
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
/// with the largest global SHAP value of the first output, as Clarify picks
/// them when SHAP runs in the same job.
pub(super) fn pdp_features(
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
pub(super) fn planned_grid(
    pdp_config: &PdpConfig,
    position: usize,
    records: &Records,
) -> PlannedGrid {
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
pub(super) fn pdp_sums(
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
pub(super) fn pdp_curve(name: &str, grid: &PlannedGrid, sums: &PdpSums, labels: &[String]) -> Json {
    let curve = grid
        .to_json()
        .partial_dependence(name, labels.to_vec(), sums);
    serde_json::to_value(curve).unwrap_or(Json::Null)
}

/// A grid with its values turned into JSON for the output.
pub(super) fn json_grid<V>(grid: &Grid<V>, to_json: impl Fn(&V) -> Json) -> Grid<Json> {
    Grid {
        data_type: grid.data_type,
        feature_values: grid.feature_values.iter().map(to_json).collect(),
        data_distribution: grid.data_distribution.clone(),
    }
}

pub(super) fn value_json(value: Value) -> Json {
    match value {
        Value::Missing => Json::Null,
        Value::Bool(b) => Json::Bool(b),
        Value::Int(i) => Json::from(i),
        Value::Float(f) => Json::from(f),
        Value::Str(s) => Json::String(s),
    }
}
