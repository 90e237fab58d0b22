//! The configuration appendix: the parameters the analysis ran with, so a
//! reader can tell which subgroups CDDL compared or how many samples SHAP
//! drew without opening `analysis_config.json`.
//!
//! Parameters the config leaves out are listed with the value openclarify
//! used in their place, as the job resolves them.

use crate::config::{AnalysisConfig, ConfigValue, NameOrIndex};

/// `(name, value)` for each analysis parameter of `config`, in the order a
/// reader meets them in the report.
pub fn parameters(config: &AnalysisConfig) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut add = |name: &str, value: String| out.push((name.to_string(), value));
    add("dataset_type", config.dataset_type.to_string());
    if let Some(label) = &config.label {
        add("label", column(label));
    }
    if let Some(values) = &config.label_values_or_threshold {
        add("label_values_or_threshold", list(values));
    }
    for (k, facet) in config.facet.iter().flatten().enumerate() {
        let values = facet
            .value_or_threshold
            .as_deref()
            .map_or_else(|| "each value against the rest".to_string(), list);
        add(
            &format!("facet[{k}]"),
            format!("{}: {values}", column(&facet.name_or_index)),
        );
    }
    let has_bias =
        config.methods.pre_training_bias.is_some() || config.methods.post_training_bias.is_some();
    if has_bias {
        add(
            "group_variable (subgroups of CDDL, CDDPL)",
            config
                .group_variable
                .as_ref()
                .map_or_else(|| "not set: CDDL and CDDPL are not computed".into(), column),
        );
    }
    if let Some(t) = config.probability_threshold {
        add("probability_threshold", t.to_string());
    }
    if let Some(excluded) = &config.excluded_columns {
        add(
            "excluded_columns",
            excluded.iter().map(column).collect::<Vec<_>>().join(", "),
        );
    }
    if let Some(shap) = &config.methods.shap {
        let baseline = match &shap.baseline {
            Some(serde_json::Value::String(uri)) => uri.clone(),
            Some(serde_json::Value::Array(rows)) => format!("{} rows given inline", rows.len()),
            Some(other) => other.to_string(),
            // An image job masks with noise, not with a computed baseline.
            None if shap.image_config.is_some() => {
                "none given: absent superpixels show white noise seeded by shap.seed".into()
            }
            None => format!(
                "computed from the dataset (k-means, {} clusters)",
                shap.num_clusters
                    .map_or_else(|| "best of 1 to 12".into(), |n| n.to_string())
            ),
        };
        add("shap.baseline", baseline);
        add(
            "shap.num_samples",
            optional(shap.num_samples, "automatic (2 × features + 2048)"),
        );
        add(
            "shap.agg_method",
            shap.agg_method.clone().unwrap_or_else(|| "mean_abs".into()),
        );
        add(
            "shap.use_logit",
            shap.use_logit.unwrap_or(false).to_string(),
        );
        add("shap.seed", optional(shap.seed, "not set"));
    }
    if let Some(pdp) = &config.methods.pdp {
        add(
            "pdp.grid_resolution",
            crate::explain::pdp::grid_resolution(pdp).to_string(),
        );
        let features = match (&pdp.features, pdp.top_k_features) {
            (Some(f), _) => f.iter().map(column).collect::<Vec<_>>().join(", "),
            (None, k) => format!(
                "top {} by SHAP",
                k.map_or(crate::explain::run::DEFAULT_TOP_K_FEATURES, |k| k as usize)
            ),
        };
        add("pdp.features", features);
    }
    if let Some(p) = &config.predictor {
        if let Some(headers) = &p.label_headers {
            add("predictor.label_headers", list(headers));
        }
        if let Some(label) = &p.label {
            add("predictor.label", column(label));
        }
        if let Some(probability) = &p.probability {
            add("predictor.probability", column(probability));
        }
    }
    out
}

fn column(c: &NameOrIndex) -> String {
    match c {
        NameOrIndex::Name(name) => name.clone(),
        NameOrIndex::Index(i) => format!("column {i}"),
    }
}

fn list(values: &[ConfigValue]) -> String {
    values
        .iter()
        .map(ConfigValue::py_str)
        .collect::<Vec<_>>()
        .join(", ")
}

fn optional<T: ToString>(value: Option<T>, otherwise: &str) -> String {
    value.map_or_else(|| otherwise.to_string(), |v| v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_config_lists_group_variable_and_shap_parameters() {
        let config: AnalysisConfig = serde_json::from_str(include_str!(
            "../../test-fixtures/demo/analysis_config.json"
        ))
        .unwrap();
        let found: std::collections::HashMap<String, String> =
            parameters(&config).into_iter().collect();
        assert_eq!(found["group_variable (subgroups of CDDL, CDDPL)"], "job");
        assert_eq!(found["shap.num_samples"], "100");
        assert_eq!(found["shap.agg_method"], "mean_abs");
        assert_eq!(found["shap.seed"], "1");
        assert_eq!(found["pdp.grid_resolution"], "10");
        assert_eq!(found["pdp.features"], "top 3 by SHAP");
        assert_eq!(found["probability_threshold"], "0.5");
        assert_eq!(found["facet[1]"], "age: 40");
    }

    #[test]
    fn an_image_job_without_a_baseline_says_it_masks_with_noise() {
        let config: AnalysisConfig = serde_json::from_value(serde_json::json!({
            "dataset_type": "application/x-image",
            "methods": {"shap": {"image_config": {"model_type": "IMAGE_CLASSIFICATION"}}},
            "predictor": {"endpoint_name": "vision", "label_headers": ["a", "b"]}
        }))
        .unwrap();
        let found: std::collections::HashMap<String, String> =
            parameters(&config).into_iter().collect();
        assert_eq!(
            found["shap.baseline"],
            "none given: absent superpixels show white noise seeded by shap.seed"
        );
    }
}
