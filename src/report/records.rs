//! The feature values of the records the local SHAP charts draw, read from
//! the dataset the job explained: they colour the beeswarm's dots and name
//! the example records' features ("credit_amount = 2320").
//!
//! Only the rows asked for are kept, so the dataset is streamed once and
//! memory stays at a few hundred records whatever its size.

use crate::dataset::value::{Cell, ColumnKind, Value};
use crate::dataset::Dataset;
use anyhow::Result;
use std::collections::HashMap;

/// The values of every feature column for a few dataset rows.
#[derive(Debug, Clone, Default)]
pub struct FeatureValues {
    columns: HashMap<String, Column>,
}

/// A feature's name, kind and (row, value) pairs, as tests give them.
#[cfg(test)]
pub(crate) type TestColumn<'a> = (&'a str, ColumnKind, Vec<(u64, Value)>);

/// One feature's values, typed as pandas would type the column.
#[derive(Debug, Clone)]
struct Column {
    kind: ColumnKind,
    values: HashMap<u64, Value>,
}

impl FeatureValues {
    /// Reads the feature columns of `rows` (zero-based dataset rows, sorted)
    /// from `dataset`, stopping after the last of them.
    pub fn read(dataset: &Dataset, rows: &[u64]) -> Result<FeatureValues> {
        let schema = &dataset.schema;
        let mut cells: Vec<HashMap<u64, Cell>> = vec![HashMap::new(); schema.features.len()];
        let Some(&last) = rows.last() else {
            return Ok(FeatureValues::default());
        };
        for chunk in dataset.chunks()? {
            let chunk = chunk?;
            if chunk.first_row > last {
                break;
            }
            for r in 0..chunk.len() {
                let row = chunk.first_row + r as u64;
                if rows.binary_search(&row).is_err() {
                    continue;
                }
                for (column, &c) in cells.iter_mut().zip(&schema.features) {
                    column.insert(row, chunk.cell(r, c).to_owned());
                }
            }
        }
        let columns = schema
            .features
            .iter()
            .zip(cells)
            .map(|(&c, cells)| {
                let kind = ColumnKind::infer(cells.values());
                let values = cells
                    .iter()
                    .map(|(row, cell)| (*row, kind.value_of(cell)))
                    .collect();
                (schema.headers[c].clone(), Column { kind, values })
            })
            .collect();
        Ok(FeatureValues { columns })
    }

    /// Whether `feature` holds numbers (a colour scale) rather than
    /// categories (a colour each).
    pub fn is_numeric(&self, feature: &str) -> bool {
        self.columns
            .get(feature)
            .is_some_and(|c| matches!(c.kind, ColumnKind::Int | ColumnKind::Float))
    }

    /// The value of `feature` in dataset row `row`, if it was read.
    pub fn value(&self, feature: &str, row: u64) -> Option<&Value> {
        self.columns.get(feature)?.values.get(&row)
    }

    /// Values given directly, for tests: per feature its name, kind and
    /// (row, value) pairs.
    #[cfg(test)]
    pub(crate) fn from_values(columns: Vec<TestColumn>) -> Self {
        let columns = columns
            .into_iter()
            .map(|(name, kind, values)| {
                let values = values.into_iter().collect();
                (name.to_string(), Column { kind, values })
            })
            .collect();
        FeatureValues { columns }
    }
}
