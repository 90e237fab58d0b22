//! Kernel SHAP over the dataset rows: synthetic rows of many explained rows
//! batched into `predict` calls, the solved values folded into the running
//! aggregates, and what `finish` writes from them (the `kernel_shap`
//! section and `explanations_shap/out.csv`).

use super::model::{ranges, Model};
use super::rows::{csv_line, Features, Records};
use super::{CALLS_IN_FLIGHT, RECORDS_PER_CALL};
use crate::config::ShapConfig;
use crate::dataset::value::Cell;
use crate::error::{JobError, Result};
use crate::explain::{
    coalition_budget, AggregationMethod, GlobalShapState, KernelShap, KernelShapSettings,
};
use crate::progress::Reporter;
use futures_util::{StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json};
use std::ops::Range;
use std::path::Path;

/// SHAP values of a shard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct ShapState {
    /// E[f] per output over the baseline.
    pub(super) expected: Vec<f64>,
    /// The running aggregates for `global_shap_values`.
    pub(super) global: GlobalShapState,
    /// Each row's values (only with `save_local_shap_values`).
    pub(super) local: Vec<LocalRow>,
}

/// One row of `explanations_shap/out.csv`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct LocalRow {
    /// Index of the row in the dataset: rows are written in this order.
    pub(super) row: u64,
    /// The joinsource value, as text.
    pub(super) id: Option<String>,
    /// The SHAP values, output-major.
    pub(super) values: Vec<f64>,
}

/// Explains every row of `records` with Kernel SHAP against `baseline`.
pub(super) fn explain_rows(
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
pub(super) fn shap_section(
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
pub(super) fn pick(row: &[Cell], positions: &[usize]) -> Vec<Cell> {
    positions.iter().map(|&p| row[p].clone()).collect()
}

/// At most the model records one explained row needs: the row itself, its
/// own background when only some features are explained (the baseline with
/// the others at the row's values, whose mean is the row's expected value),
/// and one record per (coalition, baseline row).
pub(super) fn records_per_row(
    features: &Features,
    baseline_rows: usize,
    num_samples: Option<usize>,
) -> usize {
    let background = if features.is_subset() {
        baseline_rows
    } else {
        0
    };
    let coalitions = coalition_budget(num_samples, features.explained.len());
    1 + background + coalitions * baseline_rows
}

/// Explains `rows` with one `predict` call; returns each row's SHAP values
/// (one vector per output, one value per explained feature), in row order.
pub(super) async fn explain_block(
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
pub(super) fn with_explained(
    row: &[Cell],
    explained: &[usize],
    explained_cells: Vec<Cell>,
) -> Vec<Cell> {
    let mut full = row.to_vec();
    for (&position, cell) in explained.iter().zip(explained_cells) {
        full[position] = cell;
    }
    full
}

/// Writes `explanations_shap/out.csv` when `save_local_shap_values` is on:
/// the joinsource column if any, then `<feature>_<label>` label-major
/// (Clarify's column names), one line per row in dataset order.
pub(super) fn write_local_values(
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
    crate::layout::write_atomic(
        &output.join(crate::layout::LOCAL_SHAP_FILE),
        text.as_bytes(),
    )
}
