//! Where the SHAP baseline comes from: rows given inline in the config, a
//! baseline file (`methods.shap.baseline` as a path or URI, read in the
//! dataset's format), or clusters of the data, which are then saved as
//! `explanations_shap/baseline.csv`.

use super::rows::{cell_text, csv_line, Features, Records};
use crate::config::{AnalysisConfig, ContentType, ShapConfig};
use crate::dataset::files;
use crate::dataset::value::{decode_key, Cell, ColumnKind};
use crate::error::{JobError, Result};
use crate::explain::clusters::{self, BaselineValue, Column};
use serde_json::Value as Json;
use std::path::Path;

/// The baseline rows (all features, model order): configured inline or as a
/// file, else computed from the data and saved.
pub(super) fn shap_baseline(
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
            let input_root = files::input_root(data);
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
pub(super) fn baseline_row(
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

/// Baseline rows from the file `methods.shap.baseline` names, in the
/// dataset's format: CSV
/// without a header (a first line equal to the feature names is skipped),
/// or JSON Lines objects in the dataset's shape.
pub(super) fn baseline_file(
    config: &AnalysisConfig,
    features: &Features,
    path: &Path,
) -> Result<Vec<Vec<Cell>>> {
    let key = format!("methods.shap.baseline ({})", path.display());
    let bytes = files::read_all(path)?;
    match config.dataset_format()? {
        ContentType::Csv => {
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
        ContentType::JsonLines => String::from_utf8_lossy(&bytes)
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
        ContentType::Json | ContentType::Parquet => Err(JobError::client(format!(
            "{key}: baseline files are read for text/csv and application/jsonlines datasets only; give the baseline rows inline as a list."
        ))),
    }
}

/// A baseline summarising the data (k-means, or k-prototypes with
/// categorical features).
pub(super) fn computed_baseline(
    shap: &ShapConfig,
    features: &Features,
    records: &Records,
) -> Vec<Vec<Cell>> {
    let columns: Vec<Column<Vec<u8>>> = (0..features.names.len())
        .map(|f| cluster_column(records, f))
        .collect();
    let seed = shap.seed.unwrap_or(0);
    let rows: Vec<Vec<Cell>> =
        clusters::summarise(&columns, shap.num_clusters.map(|k| k as usize), seed)
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
pub(super) fn write_baseline(rows: &[Vec<Cell>], output: &Path) -> Result<()> {
    let text: String = rows
        .iter()
        .map(|row| csv_line(row.iter().map(cell_text)))
        .collect();
    crate::layout::write_atomic(&output.join(crate::layout::BASELINE_FILE), text.as_bytes())
}

/// One feature as clustering sees it: numbers when pandas would read the
/// column as numeric (missing values take the mean of the others, since
/// a centre cannot be computed through NaN), else categories keyed by the
/// raw cell.
pub(super) fn cluster_column(records: &Records, position: usize) -> Column<Vec<u8>> {
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
