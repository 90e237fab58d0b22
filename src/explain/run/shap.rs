//! Kernel SHAP over the dataset rows: synthetic rows of many explained rows
//! batched into `predict` calls, the solved values folded into the running
//! aggregates, and what `finish` writes from them (the `kernel_shap`
//! section and `explanations_shap/out.csv`).

use super::model::{ranges, Model};
use super::rows::{csv_line, Features, Records};
use super::shap_block::Block;
use super::text::{RowPlayers, TextPlan, TopUnits};
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
use std::path::Path;

/// SHAP values of a shard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct ShapState {
    /// E[f] per output over the baseline.
    pub(super) expected: Vec<f64>,
    /// The running aggregates for `global_shap_values` and their errors.
    pub(super) global: GlobalShapState,
    /// Each row's values (only with `save_local_shap_values`).
    pub(super) local: Vec<LocalRow>,
    /// What the model was asked, and what was saved.
    pub(super) records: ModelRecords,
    /// Per-unit aggregates of the text features (with `text_config`).
    pub(super) top_units: Option<TopUnits>,
}

/// One row of `explanations_shap/out.csv` and `out_stderr.csv`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct LocalRow {
    /// Index of the row in the dataset: rows are written in this order.
    pub(super) row: u64,
    /// The joinsource value, as text.
    pub(super) id: Option<String>,
    /// The SHAP values, output-major.
    pub(super) values: Vec<f64>,
    /// Their standard errors, in the same order.
    pub(super) stderr: Vec<f64>,
    /// With `text_config`: per explained feature, its units as
    /// (`partial_text`, `start_idx`), and the values are per player (a
    /// tabular feature, or a unit); empty otherwise.
    pub(super) units: Vec<Vec<(String, u64)>>,
}

/// Counts of model records (explained rows and their synthetic records),
/// summed over blocks and shards. `budgeted` and `saved_by_target_stderr`
/// are sums over rows, so any split into shards gives the same totals and
/// they go into `analysis.json`; duplicates are found within one model
/// call, whose rows depend on the split, so those two counts are only
/// logged.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub(super) struct ModelRecords {
    /// What the full coalition budget needs.
    pub(super) budgeted: u64,
    /// What `target_stderr` let rows skip by stopping early.
    pub(super) saved_by_target_stderr: u64,
    /// Identical records answered once and reused.
    pub(super) duplicates_reused: u64,
    /// What was sent to the model.
    pub(super) sent: u64,
}

impl ModelRecords {
    /// Adds another block's or shard's counts.
    pub(super) fn add(&mut self, other: ModelRecords) {
        self.budgeted += other.budgeted;
        self.saved_by_target_stderr += other.saved_by_target_stderr;
        self.duplicates_reused += other.duplicates_reused;
        self.sent += other.sent;
    }

    /// The counts that do not depend on the split into shards, as
    /// `explanations.kernel_shap_model_records`.
    pub(super) fn section(&self) -> Json {
        serde_json::json!({
            "budgeted": self.budgeted,
            "saved_by_target_stderr": self.saved_by_target_stderr,
        })
    }
}

/// Explains every row of `records` with Kernel SHAP against `baseline`;
/// with `text`, the players are the units of the text features and the
/// tabular features.
pub(super) fn explain_rows(
    shap: &ShapConfig,
    baseline: &[Vec<Cell>],
    features: &Features,
    text: Option<&TextPlan>,
    records: &Records,
    model: &Model,
) -> Result<ShapState> {
    let method = AggregationMethod::from_config(shap.agg_method.as_deref()).ok_or_else(|| {
        JobError::client("methods.shap.agg_method: use mean_abs, median or mean_sq.")
    })?;
    let settings = KernelShapSettings::from_config(shap);
    let baseline_scores = model
        .runtime
        .block_on(model.scores(baseline, |b| format!("baseline row {b}")))
        .map_err(|e| match text {
            Some(_) => JobError {
                message: format!("{} The baseline's text is what replaces an absent unit; the model must accept it (methods.shap.baseline).", e.message),
                ..e
            },
            None => e,
        })?;
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
    let mut counts = ModelRecords::default();
    let players: Option<Vec<RowPlayers>> = text.map(|plan| {
        records
            .rows
            .iter()
            .map(|row| plan.players(&pick(row, &features.explained)))
            .collect()
    });
    let mut top_units = text.map(|plan| TopUnits::new(plan, method, num_outputs));
    let own_background = features.is_subset() || text.is_some();
    let row_records =
        |players: usize| records_per_row(players, own_background, baseline.len(), num_samples);
    let (per_row, all_rows) = match &players {
        Some(players) => players
            .iter()
            .map(|p| row_records(p.count()))
            .fold((1, 0), |(most, sum), n| (most.max(n), sum + n)),
        None => {
            let n = row_records(features.explained.len());
            (n, n * records.rows.len())
        }
    };
    let expected_records = model.predictor.counters().records() + all_rows as u64;
    let _progress = Reporter::start(model.predictor.counters(), "SHAP", Some(expected_records));
    let rows_per_call = RECORDS_PER_CALL / per_row;
    let blocks = ranges(records.rows.len(), rows_per_call);
    let explained = futures_util::stream::iter(blocks)
        .map(|rows| {
            let block = Block {
                explainer: &explainer,
                features,
                players: players.as_deref(),
                records,
                model,
                baseline_outputs: &baseline_scores,
                target_stderr: shap.target_stderr,
            };
            async move {
                let explained = block.explain(rows.clone()).await?;
                Ok::<_, JobError>((rows, explained))
            }
        })
        .buffered(CALLS_IN_FLIGHT);
    model
        .runtime
        .block_on(explained.try_for_each(|(rows, (explained, block_counts))| {
            counts.add(block_counts);
            for (row, row_values) in rows.zip(explained) {
                let row_players = players.as_ref().map(|p| &p[row]);
                match (row_players, top_units.as_mut()) {
                    (Some(row_players), Some(top)) => {
                        top.add_row(row_players, &row_values);
                        let by_feature = row_players.by_feature(&row_values);
                        global.add_row(&by_feature.values, &by_feature.stderr);
                    }
                    _ => global.add_row(&row_values.values, &row_values.stderr),
                }
                if keep_local {
                    local.push(LocalRow {
                        row: records.first_row + row as u64,
                        id: records.ids.as_ref().map(|ids| ids[row].clone()),
                        values: row_values.values.into_iter().flatten().collect(),
                        stderr: row_values.stderr.into_iter().flatten().collect(),
                        units: row_players.map_or_else(Vec::new, RowPlayers::descriptions),
                    });
                }
            }
            std::future::ready(Ok(()))
        }))?;
    tracing::info!(
        budgeted = counts.budgeted,
        saved_by_target_stderr = counts.saved_by_target_stderr,
        duplicates_reused = counts.duplicates_reused,
        sent = counts.sent,
        "SHAP model records: {} sent of {} budgeted; {} identical records answered once, {} saved by target_stderr",
        counts.sent,
        counts.budgeted,
        counts.duplicates_reused,
        counts.saved_by_target_stderr,
    );
    Ok(ShapState {
        expected,
        global,
        local,
        records: counts,
        top_units,
    })
}

/// The `kernel_shap` object: per output, the global values by feature name,
/// the expected value, and the global values' standard errors
/// (`global_shap_values_stderr`, same keys).
pub(super) fn shap_section(
    features: &Features,
    labels: &[String],
    global: &GlobalShapState,
    expected: &[f64],
) -> Json {
    let by_name = |values: &[f64]| -> Json {
        let named: Map<String, Json> = features
            .explained
            .iter()
            .zip(values)
            .map(|(&f, &v)| (features.names[f].clone(), Json::from(v)))
            .collect();
        Json::Object(named)
    };
    let mut section = Map::new();
    let outputs = global
        .global_values()
        .into_iter()
        .zip(global.global_stderr());
    for ((label, (values, stderr)), expected_value) in labels.iter().zip(outputs).zip(expected) {
        let mut entry = Map::new();
        entry.insert("global_shap_values".into(), by_name(&values));
        entry.insert("expected_value".into(), Json::from(*expected_value));
        // An extension Clarify's readers skip: they look up keys by name.
        entry.insert("global_shap_values_stderr".into(), by_name(&stderr));
        section.insert(label.clone(), Json::Object(entry));
    }
    Json::Object(section)
}

/// The cells of `row` at `positions`.
pub(super) fn pick(row: &[Cell], positions: &[usize]) -> Vec<Cell> {
    positions.iter().map(|&p| row[p].clone()).collect()
}

/// At most the model records one explained row of `players` players
/// needs: the row itself, its own background when it has one (the baseline
/// with the unexplained features at the row's values, or with every unit
/// of its text replaced; their mean is the row's expected value), and one
/// record per (coalition, baseline row).
pub(super) fn records_per_row(
    players: usize,
    own_background: bool,
    baseline_rows: usize,
    num_samples: Option<usize>,
) -> usize {
    let background = if own_background { baseline_rows } else { 0 };
    let coalitions = coalition_budget(num_samples, players);
    1 + background + coalitions * baseline_rows
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

/// Writes `explanations_shap/out.csv` and `out_stderr.csv` when
/// `save_local_shap_values` is on: the joinsource column if any, then
/// `<feature>_<label>` label-major (Clarify's column names), one line per
/// row in dataset order; the values in `out.csv`, their standard errors in
/// `out_stderr.csv` under the same header.
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
    rows.sort_unstable_by_key(|r| r.row);
    let table = |numbers: fn(&LocalRow) -> &[f64]| {
        let mut text = csv_line(header.clone());
        for row in &rows {
            let cells = numbers(row).iter().map(|&v| crate::pyfmt::float(v));
            text.push_str(&csv_line(row.id.clone().into_iter().chain(cells)));
        }
        text
    };
    crate::layout::write_atomic(
        &output.join(crate::layout::LOCAL_SHAP_FILE),
        table(|r| &r.values).as_bytes(),
    )?;
    crate::layout::write_atomic(
        &output.join(crate::layout::LOCAL_SHAP_STDERR_FILE),
        table(|r| &r.stderr).as_bytes(),
    )
}
