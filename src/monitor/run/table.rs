//! The monitoring config (as the SDK uploads it, completed) and the
//! columns of the joined table: features, label, predicted label.

use crate::config::{AnalysisConfig, NameOrIndex};
use crate::dataset::Schema;
use crate::error::{JobError, Result};
use serde_json::{json, Value as Json};
use std::path::Path;

/// The joined table's column of predicted labels (from the captured answers).
const PREDICTED_COLUMN: &str = "predicted_label";

/// Reads a monitoring config: the SDK uploads one without `dataset_type`
/// (the capture's content types say how bodies read) and, for bias,
/// without `methods` ("bias drift monitoring jobs compute both pre-training
/// bias metrics and post-training bias metrics"); both are filled in here,
/// and `predicted_label` names the table's column of captured predictions.
pub fn load_config(path: &Path) -> Result<(AnalysisConfig, Json)> {
    let bytes = std::fs::read(path).map_err(|e| {
        JobError::client(format!(
            "Cannot read the analysis configuration {}: {e}. Mount it there or pass --config FILE.",
            path.display()
        ))
    })?;
    let mut raw: Json = serde_json::from_slice(&bytes).map_err(|e| {
        JobError::client(format!(
            "The analysis configuration {} is not valid JSON: {e}",
            path.display()
        ))
    })?;
    let Some(doc) = raw.as_object_mut() else {
        return Err(JobError::client(format!(
            "The analysis configuration {} must be a JSON object.",
            path.display()
        )));
    };
    let capture_type = doc
        .get("dataset_type")
        .and_then(Json::as_str)
        .is_none_or(|t| t.eq_ignore_ascii_case("application/sagemakercapturejson"));
    if capture_type {
        doc.insert("dataset_type".into(), json!("text/csv"));
    }
    if !doc.contains_key("methods") && doc.contains_key("facet") {
        doc.insert(
            "methods".into(),
            json!({"pre_training_bias": {"methods": "all"}, "post_training_bias": {"methods": "all"}}),
        );
    }
    // Predictions come from the captured answers: the table's
    // `predicted_label` column, whatever the config says about a model.
    doc.insert("predicted_label".into(), json!(PREDICTED_COLUMN));
    let config = crate::config::parse(raw.to_string().as_bytes())?;
    Ok((config, raw))
}

/// The columns of the monitored table: the feature names (the config's
/// `headers` minus the label), then the label and the predicted label.
#[derive(Debug, Clone)]
pub struct Table {
    /// Feature names, in request order.
    pub features: Vec<String>,
    /// The label column's name, when the config has a label.
    pub label: Option<String>,
}

impl Table {
    /// The table the config describes. The label is the header `label`
    /// names (or indexes); a JMESPath label (JSON ground truth) is the last
    /// header, the SDK's layout (features, then the target).
    pub fn of(config: &AnalysisConfig) -> Result<Table> {
        let headers = config.headers.clone().ok_or_else(|| {
            JobError::client(
                "headers: required for monitoring; list the column names (features and label) as the SageMaker SDK does.",
            )
        })?;
        let label = match &config.label {
            None => None,
            Some(NameOrIndex::Name(n)) if headers.contains(n) => Some(n.clone()),
            Some(NameOrIndex::Index(i)) => Some(headers.get(*i).cloned().ok_or_else(|| {
                JobError::client(format!(
                    "label: index {i} is out of range of headers ({} names).",
                    headers.len()
                ))
            })?),
            Some(NameOrIndex::Name(_)) => headers.last().cloned(),
        };
        let mut features = headers;
        if let Some(l) = &label {
            let at = features
                .iter()
                .position(|h| h == l)
                .expect("label is a header");
            features.remove(at);
        }
        Ok(Table { features, label })
    }

    /// Column names of the joined table.
    pub fn headers(&self) -> Vec<String> {
        let mut headers = self.features.clone();
        if let Some(l) = &self.label {
            headers.push(l.clone());
            headers.push(PREDICTED_COLUMN.into());
        }
        headers
    }

    /// The schema bias is folded with: label and predicted label after the
    /// features; facets and group variable by name, or by their index in
    /// the config's `headers`.
    pub(super) fn schema(&self, config: &AnalysisConfig) -> Result<Schema> {
        let headers = self.headers();
        let config_headers = config.headers.clone().unwrap_or_default();
        let find = |wanted: &NameOrIndex, key: &str| -> Result<usize> {
            let name = match wanted {
                NameOrIndex::Name(n) => n.clone(),
                NameOrIndex::Index(i) => config_headers.get(*i).cloned().unwrap_or_default(),
            };
            headers.iter().position(|h| *h == name).ok_or_else(|| {
                JobError::client(format!(
                    "{key}: {wanted:?} is not one of the headers ({}).",
                    config_headers.join(", ")
                ))
            })
        };
        let n = self.features.len();
        let facets = config
            .facet
            .iter()
            .flatten()
            .enumerate()
            .map(|(i, f)| find(&f.name_or_index, &format!("facet[{i}].name_or_index")))
            .collect::<Result<Vec<_>>>()?;
        let group = config
            .group_variable
            .as_ref()
            .map(|g| find(g, "group_variable"))
            .transpose()?;
        Ok(Schema {
            headers,
            label: Some(n),
            predicted_label: Some(n + 1),
            facets,
            group,
            joinsource: None,
            features: (0..n).collect(),
        })
    }
}
