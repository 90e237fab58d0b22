//! The `analysis_config.json` schema as types.
//!
//! Every key the SageMaker Python SDK writes is a field here, including the
//! ones later stages act on and the ones openclarify does not support yet (so
//! they fail with a clear sentence, never as "unknown key"). Parsing is strict
//! like Clarify's: an unknown key or a wrong type fails with the key's JSON
//! path, and an unknown key also names the closest known one. Enum-like
//! strings (`dataset_type`, `agg_method`...) are matched case-insensitively.

mod content_type;
mod image;
mod parse;
mod text;
mod time_series;
mod values;

pub use content_type::{ContentType, Mime};
pub use image::{
    ImageConfig, ImageModelType, DEFAULT_COMPACTNESS, DEFAULT_NUM_SEGMENTS, IMAGE_CONTENT_TYPES,
    IMAGE_DATASET_TYPE,
};
pub use parse::{diagnose, load, parse, Diagnosis};
pub use text::{TextConfig, TextGranularity, DEFAULT_MAX_TOP_TOKENS};
pub use time_series::{
    AsymmetricShapleyConfig, BaselineValues, Direction, Granularity, SeriesBaseline,
    TimeSeriesBaseline, TimeSeriesDataConfig, TimeSeriesFormat, TimeSeriesPredictorConfig,
};
pub use values::{ConfigValue, NameOrIndex};

use serde::Deserialize;

/// The whole analysis configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnalysisConfig {
    /// Schema version; only "1.0" exists.
    pub version: Option<String>,
    /// MIME type of the dataset, e.g. `text/csv`.
    pub dataset_type: Mime,
    /// Where the dataset is, overriding the processing input.
    pub dataset_uri: Option<String>,
    /// Column names.
    pub headers: Option<Vec<String>>,
    /// Ground-truth label column (name, index or JMESPath).
    pub label: Option<NameOrIndex>,
    /// Column holding predictions already made.
    pub predicted_label: Option<NameOrIndex>,
    /// JMESPath to the features of a JSON / JSON Lines record.
    pub features: Option<String>,
    /// Positive label values, or one threshold.
    pub label_values_or_threshold: Option<Vec<ConfigValue>>,
    /// Score above which a binary prediction is positive.
    pub probability_threshold: Option<f64>,
    /// Sensitive attributes.
    pub facet: Option<Vec<Facet>>,
    /// Separate dataset holding the facet columns.
    pub facet_dataset_uri: Option<String>,
    /// Column names of the facet dataset.
    pub facet_headers: Option<Vec<String>>,
    /// Separate dataset holding predicted labels.
    pub predicted_label_dataset_uri: Option<String>,
    /// Column names of the predicted-label dataset.
    pub predicted_label_headers: Option<Vec<String>>,
    /// Columns never sent to the model.
    pub excluded_columns: Option<Vec<NameOrIndex>>,
    /// Identifier column joining side datasets and local SHAP rows.
    pub joinsource_name_or_index: Option<NameOrIndex>,
    /// Column defining subgroups for CDDL / CDDPL.
    pub group_variable: Option<NameOrIndex>,
    /// Per-segment metrics (not supported yet).
    pub segment_config: Option<serde_json::Value>,
    /// Where items, timestamps and series are in a time-series dataset.
    pub time_series_data_config: Option<TimeSeriesDataConfig>,
    /// The analyses to run.
    pub methods: Methods,
    /// How to reach the model.
    pub predictor: Option<Predictor>,
}

/// One sensitive attribute.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Facet {
    /// The facet column.
    pub name_or_index: NameOrIndex,
    /// Sensitive values, or one threshold; absent means one-vs-rest.
    pub value_or_threshold: Option<Vec<ConfigValue>>,
}

/// `methods`: which analyses run.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Methods {
    /// Bias metrics of the data alone.
    pub pre_training_bias: Option<BiasMethods>,
    /// Bias metrics of the model's predictions.
    pub post_training_bias: Option<BiasMethods>,
    /// Kernel SHAP explanations.
    pub shap: Option<ShapConfig>,
    /// Partial dependence plots.
    pub pdp: Option<PdpConfig>,
    /// Report files.
    pub report: Option<ReportConfig>,
    /// Time-series explanations: asymmetric Shapley values of forecasts.
    pub asymmetric_shapley_value: Option<AsymmetricShapleyConfig>,
}

/// `methods.pre_training_bias` / `methods.post_training_bias`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BiasMethods {
    /// `"all"` or a list of metric names.
    pub methods: MetricNames,
}

/// A metric selection: `"all"` or names.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum MetricNames {
    /// One string: `"all"` (or a single name).
    One(String),
    /// A list of names (`["all"]` means all).
    List(Vec<String>),
}

impl MetricNames {
    /// The requested names, or `None` for all of them.
    pub fn selected(&self) -> Option<Vec<String>> {
        let names: Vec<String> = match self {
            MetricNames::One(s) => vec![s.clone()],
            MetricNames::List(v) => v.clone(),
        };
        if names.iter().any(|n| n.eq_ignore_ascii_case("all")) {
            None
        } else {
            Some(names)
        }
    }
}

/// `methods.shap`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShapConfig {
    /// Baseline rows inline, or a file path / URI.
    pub baseline: Option<serde_json::Value>,
    /// Size of the computed baseline when none is given.
    pub num_clusters: Option<u32>,
    /// Coalitions sampled per record.
    pub num_samples: Option<u32>,
    /// `mean_abs`, `median` or `mean_sq`.
    pub agg_method: Option<String>,
    /// Explain log-odds instead of probabilities.
    pub use_logit: Option<bool>,
    /// Write `explanations_shap/out.csv` (`out.jsonl` with `text_config`).
    pub save_local_shap_values: Option<bool>,
    /// Random seed for reproducible runs.
    pub seed: Option<u64>,
    /// Text features: each unit of a text column is a player.
    pub text_config: Option<TextConfig>,
    /// Images: each superpixel of an image is a player.
    pub image_config: Option<ImageConfig>,
    /// Only these features are explained.
    pub features_to_explain: Option<Vec<NameOrIndex>>,
    /// openclarify's extension: stop sampling a row once every value's
    /// standard error is below this; `num_samples` stays the cap.
    pub target_stderr: Option<f64>,
}

/// `methods.pdp`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PdpConfig {
    /// Buckets for numerical features.
    pub grid_resolution: Option<u32>,
    /// Features to plot.
    pub features: Option<Vec<NameOrIndex>>,
    /// Without `features`: this many top features by SHAP.
    pub top_k_features: Option<u32>,
}

/// `methods.report`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportConfig {
    /// Base file name of the report files.
    pub name: String,
    /// Title shown in the report.
    pub title: Option<String>,
}

/// `predictor`: the model endpoint and how to talk to it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Predictor {
    /// An existing SageMaker endpoint.
    pub endpoint_name: Option<String>,
    /// openclarify's extension: a plain HTTP model server.
    pub endpoint_url: Option<String>,
    /// A model to deploy as a shadow endpoint.
    pub model_name: Option<String>,
    /// Prefix of the shadow endpoint's name.
    pub endpoint_name_prefix: Option<String>,
    /// Shadow endpoint instance type.
    pub instance_type: Option<String>,
    /// Shadow endpoint instance count.
    pub initial_instance_count: Option<u32>,
    /// Elastic Inference accelerator (deprecated by AWS).
    pub accelerator_type: Option<String>,
    /// Model of a multi-model endpoint.
    pub target_model: Option<String>,
    /// Opaque value passed to the model.
    pub custom_attributes: Option<String>,
    /// MIME type of request bodies.
    pub content_type: Option<Mime>,
    /// MIME type of responses.
    pub accept_type: Option<Mime>,
    /// Request template (string, or object for time series).
    pub content_template: Option<serde_json::Value>,
    /// Per-record template for `application/json`.
    pub record_template: Option<String>,
    /// Where the predicted label is in a response.
    pub label: Option<NameOrIndex>,
    /// Where the score(s) are in a response.
    pub probability: Option<NameOrIndex>,
    /// Class names in score order.
    pub label_headers: Option<Vec<ConfigValue>>,
    /// Where a forecaster's answer holds each record's forecast.
    pub time_series_predictor_config: Option<TimeSeriesPredictorConfig>,
}

impl Predictor {
    /// The request and answer formats: `content_type` (default
    /// `dataset_type`) and `accept_type` (default the content type).
    ///
    /// An image job sends `image/jpeg` unless told otherwise, and reads
    /// the answer to an image as JSON unless `accept_type` says otherwise.
    pub fn wire_types(&self, dataset_type: &Mime) -> (Mime, Mime) {
        let content = self.content_type.clone().unwrap_or_else(|| {
            match dataset_type.as_str() == IMAGE_DATASET_TYPE {
                true => Mime::from(IMAGE_CONTENT_TYPES[0]),
                false => dataset_type.clone(),
            }
        });
        let accept = self.accept_type.clone().unwrap_or_else(|| {
            match IMAGE_CONTENT_TYPES.contains(&content.as_str()) {
                true => Mime::from(ContentType::Json.mime()),
                false => content.clone(),
            }
        });
        (content, accept)
    }
}

impl AnalysisConfig {
    /// The dataset's format. Reading the config already rejects any type
    /// openclarify cannot read, so this error only reaches configs built
    /// some other way.
    pub fn dataset_format(&self) -> crate::error::Result<ContentType> {
        self.dataset_type.kind().ok_or_else(|| {
            crate::error::JobError::client(format!(
                "dataset_type: unknown dataset type {:?}; use one of text/csv, application/jsonlines, application/json, application/x-parquet.",
                self.dataset_type.as_str()
            ))
        })
    }

    /// The model's request and answer formats: `predictor.content_type`
    /// (default the dataset's type) and `predictor.accept_type` (default the
    /// content type). `None` without a predictor.
    pub fn wire_types(&self) -> Option<(Mime, Mime)> {
        let p = self.predictor.as_ref()?;
        Some(p.wire_types(&self.dataset_type))
    }

    /// The image settings when this is an image job (`dataset_type`
    /// `application/x-image` with `methods.shap.image_config`).
    pub fn image_config(&self) -> Option<&ImageConfig> {
        self.methods.shap.as_ref()?.image_config.as_ref()
    }

    /// Whether the job calls the model: explanations always do;
    /// post-training bias does unless the dataset already holds the
    /// predicted labels (`has_predicted_label`).
    pub fn needs_model(&self, has_predicted_label: bool) -> bool {
        let m = &self.methods;
        m.shap.is_some()
            || m.pdp.is_some()
            || m.asymmetric_shapley_value.is_some()
            || (m.post_training_bias.is_some() && !has_predicted_label)
    }
}
