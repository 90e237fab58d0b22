//! SHAP of the captured features: an ordinary processing job run over
//! them through the model, so explanations are exactly a job's.

use super::{MonitorOptions, Table};
use crate::error::{JobError, Result};
use crate::job;
use crate::monitor::compare;
use serde_json::{json, Value as Json};
use std::path::Path;

/// The `explanations` of the captured features: an ordinary job over them
/// (CSV, the feature names as headers, only `shap` and `pdp`), through the
/// config's predictor, or the monitored endpoint.
pub(super) fn explain(
    raw: &Json,
    table: &Table,
    features_csv: &Path,
    spool: &Path,
    options: &MonitorOptions,
) -> Result<Json> {
    let mut derived = raw.clone();
    let doc = derived.as_object_mut().expect("the config is an object");
    for key in [
        "label",
        "facet",
        "group_variable",
        "label_values_or_threshold",
        "predicted_label",
        "features",
        "excluded_columns",
        "joinsource_name_or_index",
    ] {
        doc.remove(key);
    }
    doc.insert("dataset_type".into(), json!("text/csv"));
    doc.insert("headers".into(), json!(table.features));
    let methods = doc["methods"].clone();
    doc.insert("methods".into(), json!({"shap": methods["shap"]}));
    if let Some(pdp) = methods.get("pdp") {
        doc["methods"]["pdp"] = pdp.clone();
    }
    let predictor = doc.entry("predictor").or_insert_with(|| json!({}));
    let names_model = ["endpoint_name", "endpoint_url", "model_name"]
        .iter()
        .any(|k| predictor.get(k).is_some());
    if let (false, None, Some(endpoint)) = (
        names_model,
        &options.job.model.endpoint_url,
        &options.endpoint_name,
    ) {
        predictor["endpoint_name"] = json!(endpoint);
    }
    let config_path = spool.join("explain_config.json");
    std::fs::write(&config_path, derived.to_string())
        .map_err(|e| JobError::algorithm(format!("Cannot write {}: {e}", config_path.display())))?;
    let out = spool.join("explain_output");
    job::run(
        &job::JobPaths {
            config: config_path,
            data: features_csv.to_path_buf(),
            output: out.clone(),
        },
        &options.job,
    )?;
    let explained = compare::read_analysis(&out.join("analysis.json"), "explanation")?;
    Ok(explained["explanations"].clone())
}
