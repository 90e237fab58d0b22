//! The model's features (which are explained, how made-up values become
//! cells of the dataset's kind) and the dataset rows held in memory.

use crate::config::{AnalysisConfig, ContentType, NameOrIndex};
use crate::dataset::value::{Cell, ColumnKind};
use crate::dataset::{Dataset, Schema};
use crate::error::{JobError, Result};
use serde_json::Value as Json;

/// The model's features and which of them are explained.
pub(super) struct Features {
    /// Feature names in the order the model receives them.
    pub(super) names: Vec<String>,
    /// Dataset columns of the features, in the same order.
    pub(super) columns: Vec<usize>,
    /// Positions (into `names`) of the features SHAP explains.
    pub(super) explained: Vec<usize>,
    /// Whether a CSV reader produced the cells, so that values we make up
    /// (baseline and grid values) are text like the data's.
    pub(super) csv: bool,
}

impl Features {
    pub(super) fn new(config: &AnalysisConfig, schema: &Schema) -> Result<Features> {
        let names = schema.feature_names();
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
            csv: config.dataset_format()? == ContentType::Csv,
        })
    }

    /// Whether SHAP leaves some features out, fixed at each row's value.
    pub(super) fn is_subset(&self) -> bool {
        self.explained.len() < self.names.len()
    }

    /// A number as a cell of this dataset's kind.
    pub(super) fn number_cell(&self, value: f64) -> Cell {
        if self.csv {
            text_cell(&crate::pyfmt::float(value))
        } else {
            Cell::Float(value)
        }
    }

    /// A JSON scalar from the config as a cell of this dataset's kind, so
    /// that a baseline `2320` equals the data's `2320`.
    pub(super) fn json_cell(&self, key: &str, value: &Json) -> Result<Cell> {
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
pub(super) fn feature_position(
    key: &str,
    feature: &NameOrIndex,
    names: &[String],
) -> Result<usize> {
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

pub(super) fn text_cell(text: &str) -> Cell {
    Cell::Text(text.as_bytes().into())
}

/// The dataset rows in memory: the model's feature cells of every row, and
/// the joinsource identifier (as text) when one is configured.
#[derive(Default)]
pub(super) struct Records {
    /// The dataset index of the first row.
    pub(super) first_row: u64,
    pub(super) rows: Vec<Vec<Cell>>,
    pub(super) ids: Option<Vec<String>>,
}

impl Records {
    pub(super) fn read(dataset: &Dataset, features: &Features) -> Result<Records> {
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
    pub(super) fn kind(&self, position: usize) -> ColumnKind {
        ColumnKind::infer(self.rows.iter().map(|r| &r[position]))
    }
}

/// A cell as CSV text, the way pandas would print it.
pub(super) fn cell_text(cell: &Cell) -> String {
    ColumnKind::Object.value_of(cell).py_str()
}

/// One CSV line (with its newline), quoting fields as needed.
pub(super) fn csv_line(fields: impl IntoIterator<Item = String>) -> String {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer
        .write_record(fields)
        .expect("writing CSV to memory cannot fail");
    let bytes = writer
        .into_inner()
        .expect("flushing CSV to memory cannot fail");
    String::from_utf8(bytes).expect("the fields are UTF-8")
}

#[cfg(test)]
mod tests {
    use super::*;

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
