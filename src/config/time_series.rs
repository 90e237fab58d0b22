//! The time-series keys of the schema: `time_series_data_config`,
//! `methods.asymmetric_shapley_value` and
//! `predictor.time_series_predictor_config`, as the SageMaker SDK's
//! `TimeSeriesDataConfig`, `AsymmetricShapleyValueConfig` and
//! `TimeSeriesModelConfig` write them, and the rules that span them.

use super::{AnalysisConfig, ContentType};
use crate::error::JobError;
use serde::Deserialize;

/// `time_series_data_config`: where items, timestamps and series are in
/// the JSON dataset.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeSeriesDataConfig {
    /// How the dataset lays out its items.
    pub dataset_format: Option<TimeSeriesFormat>,
    /// JMESPath to the item identifiers.
    pub item_id: String,
    /// JMESPath to the timestamps.
    pub timestamp: String,
    /// JMESPath to the target series (the values the model forecasts).
    pub target_time_series: String,
    /// JMESPaths to the related series, in the order the model reads them.
    pub related_time_series: Option<Vec<String>>,
    /// JMESPaths to the static covariates, in the order the model reads them.
    pub static_covariates: Option<Vec<String>>,
}

/// `time_series_data_config.dataset_format` (the SDK's `TimeSeriesJSONDatasetFormat`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeSeriesFormat {
    /// One object of parallel arrays, one entry per (item, timestamp).
    Columns,
    /// One object per item, its series nested inside.
    ItemRecords,
    /// One flat object per (item, timestamp).
    TimestampRecords,
}

/// `methods.asymmetric_shapley_value`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AsymmetricShapleyConfig {
    /// The orders in which time steps are revealed (default chronological).
    pub direction: Option<Direction>,
    /// Whether a time step is one player or each series at it is (default timewise).
    pub granularity: Option<Granularity>,
    /// Orders sampled per item; fine_grained only, and required there.
    pub num_samples: Option<u32>,
    /// What an absent value becomes: a file or S3 URI, or per-series rules.
    pub baseline: Option<TimeSeriesBaseline>,
}

impl AsymmetricShapleyConfig {
    /// The configured direction, or chronological.
    pub fn direction(&self) -> Direction {
        self.direction.unwrap_or(Direction::Chronological)
    }

    /// The configured granularity, or timewise.
    pub fn granularity(&self) -> Granularity {
        self.granularity.unwrap_or(Granularity::Timewise)
    }
}

/// `methods.asymmetric_shapley_value.direction`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// The first time step is revealed first.
    Chronological,
    /// The last time step is revealed first.
    AntiChronological,
    /// The mean of the chronological and anti-chronological values.
    Bidirectional,
}

impl Direction {
    /// The name the config and the output folder use.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Chronological => "chronological",
            Direction::AntiChronological => "anti_chronological",
            Direction::Bidirectional => "bidirectional",
        }
    }
}

/// `methods.asymmetric_shapley_value.granularity`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Granularity {
    /// One player per time step: every series at that step together.
    Timewise,
    /// One player per (series, time step) and per static covariate.
    FineGrained,
}

impl Granularity {
    /// The name the config and the output folder use.
    pub fn as_str(self) -> &'static str {
        match self {
            Granularity::Timewise => "timewise",
            Granularity::FineGrained => "fine_grained",
        }
    }
}

/// `methods.asymmetric_shapley_value.baseline`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum TimeSeriesBaseline {
    /// A dataset in the same format whose items give the baseline series
    /// and static covariates (a local path or an S3 URI).
    Dataset(String),
    /// Rules per series kind, and static covariates per item.
    Values(BaselineValues),
}

/// The object form of the time-series baseline.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BaselineValues {
    /// What absent target values become (default zero).
    pub target_time_series: Option<SeriesBaseline>,
    /// What absent related values become (default zero).
    pub related_time_series: Option<SeriesBaseline>,
    /// Per item id, the static covariates' baseline values in config order.
    pub static_covariates: Option<serde_json::Map<String, serde_json::Value>>,
}

/// `zero` or `mean`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SeriesBaseline {
    /// Absent values become 0.0.
    #[default]
    Zero,
    /// Absent values become the mean of the item's own series.
    Mean,
}

/// `predictor.time_series_predictor_config`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeSeriesPredictorConfig {
    /// JMESPath to the forecast vector of each record in the answer.
    pub forecast: String,
}

/// Every rule of the time-series keys that fails, with the key's path.
pub(super) fn problems(c: &AnalysisConfig) -> Vec<JobError> {
    let mut errors = Vec::new();
    let asv = c.methods.asymmetric_shapley_value.as_ref();
    let data = c.time_series_data_config.as_ref();
    let forecast = c
        .predictor
        .as_ref()
        .and_then(|p| p.time_series_predictor_config.as_ref());
    if asv.is_none() && data.is_none() && forecast.is_none() {
        return errors;
    }
    let rule = |key: &str, detail: &str| JobError::client(format!("{key}: {detail}"));
    let Some(asv) = asv else {
        errors.push(rule("time_series_data_config", "is only read by methods.asymmetric_shapley_value, which is missing; add that method or remove the time-series keys."));
        return errors;
    };
    if data.is_none() {
        errors.push(rule("time_series_data_config", "is required by methods.asymmetric_shapley_value: give item_id, timestamp, target_time_series and dataset_format as JMESPaths into the JSON dataset."));
    }
    if c.dataset_type.kind() != Some(ContentType::Json) {
        errors.push(rule(
            "dataset_type",
            "time-series explanations read a JSON document: set dataset_type to application/json.",
        ));
    }
    let m = &c.methods;
    if m.shap.is_some()
        || m.pdp.is_some()
        || m.pre_training_bias.is_some()
        || m.post_training_bias.is_some()
    {
        errors.push(rule("methods", "asymmetric_shapley_value runs alone: a time-series job cannot also run shap, pdp or bias metrics; run those in a separate job."));
    }
    match c.predictor.as_ref() {
        None => errors.push(JobError::client(
            "model_config must be provided when explainability methods are selected. Add a \"predictor\" section.",
        )),
        Some(p) => {
            if forecast.is_none() {
                errors.push(rule("predictor.time_series_predictor_config", "is required for time-series explanations: {\"forecast\": \"<JMESPath to each record's forecast vector>\"}."));
            }
            let (content, accept) = p.wire_types(&c.dataset_type);
            for (key, mime) in [
                ("predictor.content_type", content),
                ("predictor.accept_type", accept),
            ] {
                if mime.kind() != Some(ContentType::Json) {
                    errors.push(rule(
                        key,
                        &format!(
                            "{:?} cannot carry time series; use application/json.",
                            mime.as_str()
                        ),
                    ));
                }
            }
        }
    }
    if let Some(f) = forecast {
        if let Err(e) = jmespath::compile(&f.forecast) {
            errors.push(rule(
                "predictor.time_series_predictor_config.forecast",
                &format!("{:?} is not a valid JMESPath expression: {e}", f.forecast),
            ));
        }
    }
    if let Some(d) = data {
        if d.dataset_format.is_none() {
            errors.push(rule(
                "time_series_data_config.dataset_format",
                "is required: one of columns, item_records, timestamp_records.",
            ));
        }
        let paths = [
            ("item_id", &d.item_id),
            ("timestamp", &d.timestamp),
            ("target_time_series", &d.target_time_series),
        ]
        .into_iter()
        .map(|(k, p)| (k.to_string(), p))
        .chain(list_paths("related_time_series", &d.related_time_series))
        .chain(list_paths("static_covariates", &d.static_covariates));
        for (key, path) in paths {
            if let Err(e) = jmespath::compile(path) {
                errors.push(rule(
                    &format!("time_series_data_config.{key}"),
                    &format!("{path:?} is not a valid JMESPath expression: {e}"),
                ));
            }
        }
    }
    let key = "methods.asymmetric_shapley_value";
    match (asv.granularity(), asv.num_samples) {
        (Granularity::FineGrained, None) => errors.push(rule(
            &format!("{key}.num_samples"),
            "is required with granularity fine_grained: the number of orders sampled per item, e.g. 20.",
        )),
        (Granularity::FineGrained, Some(0)) => errors.push(rule(
            &format!("{key}.num_samples"),
            "must be at least 1.",
        )),
        (Granularity::Timewise, Some(_)) => errors.push(rule(
            &format!("{key}.num_samples"),
            "is only allowed with granularity fine_grained (timewise values are exact); remove it.",
        )),
        _ => {}
    }
    if asv.granularity() == Granularity::FineGrained && asv.direction() != Direction::Chronological
    {
        errors.push(rule(
            &format!("{key}.direction"),
            &format!(
                "granularity fine_grained only works with direction chronological, not {}.",
                asv.direction().as_str()
            ),
        ));
    }
    let has_statics = data
        .and_then(|d| d.static_covariates.as_ref())
        .is_some_and(|s| !s.is_empty());
    let static_baseline = match &asv.baseline {
        Some(TimeSeriesBaseline::Dataset(_)) => true,
        Some(TimeSeriesBaseline::Values(v)) => v.static_covariates.is_some(),
        None => false,
    };
    if has_statics && !static_baseline {
        errors.push(rule(&format!("{key}.baseline.static_covariates"), "Baseline for static_covariates must be set: give {\"<item_id>\": [one value per static covariate]} for every item."));
    }
    if !has_statics
        && static_baseline
        && !matches!(asv.baseline, Some(TimeSeriesBaseline::Dataset(_)))
    {
        errors.push(rule(&format!("{key}.baseline.static_covariates"), "is given but time_series_data_config has no static_covariates; remove it or add the static covariates' JMESPaths."));
    }
    errors
}

/// `(key[i], path)` for each path of a list-valued key.
fn list_paths<'a>(
    key: &'a str,
    paths: &'a Option<Vec<String>>,
) -> impl Iterator<Item = (String, &'a String)> + 'a {
    paths
        .iter()
        .flatten()
        .enumerate()
        .map(move |(i, p)| (format!("{key}[{i}]"), p))
}

#[cfg(test)]
mod tests {
    use crate::config::parse;

    /// A complete time-series config with `edit` applied to its JSON.
    fn config(
        edit: impl FnOnce(&mut serde_json::Value),
    ) -> Result<crate::config::AnalysisConfig, String> {
        let mut c = serde_json::json!({
            "dataset_type": "application/json",
            "headers": ["item_id", "timestamp", "target_value", "dynamic_feature_1", "static_feature_1"],
            "methods": {"asymmetric_shapley_value": {"baseline": {"related_time_series": "zero",
                "static_covariates": {"a": [1]}, "target_time_series": "zero"},
                "direction": "chronological", "granularity": "fine_grained", "num_samples": 9},
                "report": {"name": "report", "title": "Analysis Report"}},
            "predictor": {"accept_type": "application/json", "content_template": "{\"instances\": $records}",
                "content_type": "application/json", "endpoint_name": "x",
                "record_template": "{\"start\": $start_time, \"target\": $target_time_series, \"dynamic_feat\": $related_time_series, \"cat\": $static_covariates}",
                "time_series_predictor_config": {"forecast": "predictions[*].mean"}},
            "time_series_data_config": {"dataset_format": "timestamp_records", "item_id": "[].item_id",
                "related_time_series": ["[].dynamic_feature_1"], "static_covariates": ["[].static_feature_1"],
                "target_time_series": "[].target_value", "timestamp": "[].timestamp"}
        });
        edit(&mut c);
        parse(c.to_string().as_bytes()).map_err(|e| e.to_string())
    }

    #[test]
    fn the_sdk_config_of_the_deepar_notebook_is_accepted() {
        let c = config(|_| {}).unwrap();
        let asv = c.methods.asymmetric_shapley_value.unwrap();
        assert_eq!(asv.num_samples, Some(9));
    }

    #[test]
    fn combination_rules_name_their_key() {
        type Edit = Box<dyn FnOnce(&mut serde_json::Value)>;
        let cases: Vec<(Edit, &str)> = vec![
            (Box::new(|c| c["methods"]["asymmetric_shapley_value"]["direction"] = "bidirectional".into()),
             "methods.asymmetric_shapley_value.direction: granularity fine_grained only works with direction chronological"),
            (Box::new(|c| { c["methods"]["asymmetric_shapley_value"].as_object_mut().unwrap().remove("num_samples"); }),
             "methods.asymmetric_shapley_value.num_samples: is required with granularity fine_grained"),
            (Box::new(|c| c["methods"]["asymmetric_shapley_value"]["granularity"] = "timewise".into()),
             "methods.asymmetric_shapley_value.num_samples: is only allowed with granularity fine_grained"),
            (Box::new(|c| { c["methods"]["asymmetric_shapley_value"]["baseline"].as_object_mut().unwrap().remove("static_covariates"); }),
             "Baseline for static_covariates must be set"),
            (Box::new(|c| c["predictor"]["accept_type"] = "text/csv".into()),
             "predictor.accept_type: \"text/csv\" cannot carry time series"),
            (Box::new(|c| { c["predictor"].as_object_mut().unwrap().remove("time_series_predictor_config"); }),
             "predictor.time_series_predictor_config: is required"),
            (Box::new(|c| { c.as_object_mut().unwrap().remove("time_series_data_config"); }),
             "time_series_data_config: is required by methods.asymmetric_shapley_value"),
            (Box::new(|c| c["dataset_type"] = "text/csv".into()),
             "dataset_type: time-series explanations read a JSON document"),
            (Box::new(|c| c["methods"]["shap"] = serde_json::json!({"num_samples": 5})),
             "methods: asymmetric_shapley_value runs alone"),
            (Box::new(|c| c["time_series_data_config"]["item_id"] = "[".into()),
             "time_series_data_config.item_id: \"[\" is not a valid JMESPath"),
        ];
        for (edit, expected) in cases {
            let e = config(edit).unwrap_err();
            assert!(e.contains(expected), "{e}\nexpected: {expected}");
        }
    }

    #[test]
    fn mean_baselines_and_timewise_static_baselines_are_accepted() {
        config(|c| {
            let asv = &mut c["methods"]["asymmetric_shapley_value"];
            asv["granularity"] = "timewise".into();
            asv["direction"] = "bidirectional".into();
            asv.as_object_mut().unwrap().remove("num_samples");
            asv["baseline"]["target_time_series"] = "mean".into();
            asv["baseline"]["related_time_series"] = "mean".into();
        })
        .unwrap();
    }
}
