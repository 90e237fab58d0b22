//! Reading and validating `analysis_config.json`.

use super::{AnalysisConfig, ContentType, IMAGE_CONTENT_TYPES, IMAGE_DATASET_TYPE};
use crate::error::{JobError, Result};
use crate::metric_registry::{self, Stage};
use std::path::Path;

const SCHEMA_ERROR: &str = "Analysis configuration schema validation error";

/// Reads and validates the config file at `path`.
pub fn load(path: &Path) -> Result<AnalysisConfig> {
    let bytes = std::fs::read(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            JobError::client(format!(
                "Analysis configuration file not found at {}. Mount the config folder there or pass --config FILE.",
                path.display()
            ))
        } else {
            JobError::client(format!("Cannot read the analysis configuration {}: {e}", path.display()))
        }
    })?;
    parse(&bytes)
}

/// Parses and validates config JSON.
pub fn parse(bytes: &[u8]) -> Result<AnalysisConfig> {
    let mut config = typed(json_object(bytes)?).map_err(|e| schema_error(&e))?;
    normalise(&mut config);
    validate(&config)?;
    Ok(config)
}

/// Every problem of a config at once, for `openclarify check`.
#[derive(Debug)]
pub struct Diagnosis {
    /// The config, when it has no problem.
    pub config: Option<AnalysisConfig>,
    /// Each problem as the job would report it, key path included.
    pub problems: Vec<JobError>,
}

/// Rounds of "report the faulty key, drop it, parse again": enough for any
/// config a person wrote, and a bound on the work for one that is garbage.
const DIAGNOSE_ROUNDS: usize = 20;

/// Parses config JSON collecting every problem instead of stopping at the
/// first: a key with the wrong name or type is reported and removed, and
/// parsing starts again; once the types fit, every cross-key rule is checked.
pub fn diagnose(bytes: &[u8]) -> Diagnosis {
    let mut value = match json_object(bytes) {
        Ok(v) => v,
        Err(e) => {
            return Diagnosis {
                config: None,
                problems: vec![e],
            }
        }
    };
    let mut problems = Vec::new();
    for _ in 0..DIAGNOSE_ROUNDS {
        match typed(value.clone()) {
            Ok(mut config) => {
                normalise(&mut config);
                problems.extend(self::problems(&config));
                let config = problems.is_empty().then_some(config);
                return Diagnosis { config, problems };
            }
            Err(e) => {
                problems.push(schema_error(&e));
                // A required key that is missing cannot be removed; what
                // follows would only repeat it.
                if !remove_at(&mut value, &e) {
                    break;
                }
            }
        }
    }
    Diagnosis {
        config: None,
        problems,
    }
}

/// Removes the key or array item a serde error points at (for an unknown
/// key, the key itself); false when there is nothing to remove.
fn remove_at(
    value: &mut serde_json::Value,
    e: &serde_path_to_error::Error<serde_json::Error>,
) -> bool {
    use serde_path_to_error::Segment;
    let inner = e.inner().to_string();
    let unknown = inner
        .strip_prefix("unknown field `")
        .and_then(|rest| rest.split('`').next());
    let mut segments: Vec<&Segment> = e.path().iter().collect();
    let last_is_unknown = matches!(
        (segments.last(), unknown),
        (Some(Segment::Map { key }), Some(field)) if key == field
    );
    let target = match (unknown, last_is_unknown) {
        (Some(field), false) => Some(Segment::Map {
            key: field.to_string(),
        }),
        _ => segments.pop().cloned(),
    };
    let mut at = value;
    for segment in segments {
        let next = match (segment, at) {
            (Segment::Map { key }, serde_json::Value::Object(map)) => map.get_mut(key),
            (Segment::Seq { index }, serde_json::Value::Array(items)) => items.get_mut(*index),
            _ => None,
        };
        match next {
            Some(next) => at = next,
            None => return false,
        }
    }
    match (target, at) {
        (Some(Segment::Map { key }), serde_json::Value::Object(map)) => {
            map.shift_remove(&key).is_some()
        }
        (Some(Segment::Seq { index }), serde_json::Value::Array(items)) if index < items.len() => {
            items.remove(index);
            true
        }
        _ => false,
    }
}

/// The file as a JSON object (a UTF-8 byte order mark is allowed).
fn json_object(bytes: &[u8]) -> Result<serde_json::Value> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
        JobError::client(format!(
            "Unable to load analysis configuration as JSON. {e}. Check the file with a JSON validator."
        ))
    })?;
    if !value.is_object() {
        return Err(JobError::client(format!(
            "{SCHEMA_ERROR}: the configuration must be a JSON object, found {}.",
            json_kind(&value)
        )));
    }
    Ok(value)
}

/// The object as typed config, or the first key that does not fit.
fn typed(
    value: serde_json::Value,
) -> std::result::Result<AnalysisConfig, serde_path_to_error::Error<serde_json::Error>> {
    serde_path_to_error::deserialize(value)
}

fn json_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// Turns a serde error into `<path>: <what>`, naming the closest known key
/// for an unknown one.
fn schema_error(e: &serde_path_to_error::Error<serde_json::Error>) -> JobError {
    let path = e.path().to_string();
    let inner = e.inner().to_string();
    let inner = inner
        .split(" at line ")
        .next()
        .unwrap_or(&inner)
        .to_string();
    if let Some(rest) = inner.strip_prefix("unknown field `") {
        let (field, expected) = rest.split_once('`').unwrap_or((rest, ""));
        let known: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
        let key_path = if path == "." {
            field.to_string()
        } else {
            path.clone()
        };
        let hint = closest(field, &known)
            .map(|k| format!("; did you mean \"{k}\"?"))
            .unwrap_or_else(|| format!("; known keys here: {}", known.join(", ")));
        return JobError::client(format!("{SCHEMA_ERROR}: {key_path}: unknown key{hint}"));
    }
    if let Some(field) = inner.strip_prefix("missing field `") {
        let field = field.trim_end_matches('`');
        let key_path = if path == "." {
            field.to_string()
        } else {
            format!("{path}.{field}")
        };
        return JobError::client(format!(
            "{SCHEMA_ERROR}: {key_path}: required key is missing."
        ));
    }
    let inner = inner.replace(
        "data did not match any variant of untagged enum MetricNames",
        "expected \"all\" or a list of metric names",
    );
    JobError::client(format!("{SCHEMA_ERROR}: {path}: {inner}."))
}

/// The known key nearest to `field` by edit distance, if any is close.
fn closest<'a>(field: &str, known: &[&'a str]) -> Option<&'a str> {
    known
        .iter()
        .map(|k| (strsim::damerau_levenshtein(&field.to_lowercase(), k), *k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// Lower-cases the enum-like strings, as the SDK's schema does (MIME types
/// are lower-cased as they are read, see [`super::Mime`]).
fn normalise(c: &mut AnalysisConfig) {
    if let Some(shap) = c.methods.shap.as_mut() {
        if let Some(a) = shap.agg_method.as_mut() {
            *a = a.to_ascii_lowercase();
        }
    }
}

fn schema(path: &str, detail: impl std::fmt::Display) -> JobError {
    JobError::client(format!("{SCHEMA_ERROR}: {path}: {detail}"))
}

fn unsupported(path: &str, what: &str) -> JobError {
    JobError::client(format!(
        "{path}: {what} is not supported yet by openclarify. Remove the key to run the other analyses."
    ))
}

/// The rules of an image job (`dataset_type` `application/x-image`): the
/// image settings, class names, an image content type, and no analysis
/// that needs a table.
fn image_problems(c: &AnalysisConfig) -> Vec<JobError> {
    let image_job = c
        .methods
        .shap
        .as_ref()
        .and_then(|shap| Some((shap, shap.image_config.as_ref()?)));
    let Some((shap, image)) = image_job else {
        return vec![schema(
            "methods.shap.image_config",
            format!("is required for dataset_type {IMAGE_DATASET_TYPE:?}: add {{\"model_type\": \"IMAGE_CLASSIFICATION\"}} (or OBJECT_DETECTION) under methods.shap."),
        )];
    };
    let mut errors = image.problems();
    if shap.text_config.is_some() {
        errors.push(JobError::client(
            "methods.shap: text_config and image_config cannot be used together; an image job explains images, so remove text_config.",
        ));
    }
    if shap.features_to_explain.is_some() {
        errors.push(JobError::client(
            "methods.shap.features_to_explain cannot be used with image_config; every segment is explained, so remove it.",
        ));
    }
    let m = &c.methods;
    for (key, set) in [
        ("methods.pre_training_bias", m.pre_training_bias.is_some()),
        ("methods.post_training_bias", m.post_training_bias.is_some()),
        ("methods.pdp", m.pdp.is_some()),
        (
            "methods.asymmetric_shapley_value",
            m.asymmetric_shapley_value.is_some(),
        ),
    ] {
        if set {
            errors.push(schema(
                key,
                format!("needs a table, not images (dataset_type {IMAGE_DATASET_TYPE:?}); run it in a separate job, or remove it."),
            ));
        }
    }
    if let Some(p) = &c.predictor {
        if p.label_headers.as_ref().is_none_or(|h| h.is_empty()) {
            errors.push(schema(
                "predictor.label_headers",
                "is required for image jobs: the class names, in the order of the model's scores (classification) or of its class ids (detection).",
            ));
        }
        let (content, _) = p.wire_types(&c.dataset_type);
        if !IMAGE_CONTENT_TYPES.contains(&content.as_str()) {
            errors.push(schema(
                "predictor.content_type",
                format!(
                    "{:?} cannot carry an image; use one of {}.",
                    content.as_str(),
                    IMAGE_CONTENT_TYPES.join(", ")
                ),
            ));
        }
    }
    errors
}

/// The first rule that spans several keys and fails, if any.
fn validate(c: &AnalysisConfig) -> Result<()> {
    problems(c).into_iter().next().map_or(Ok(()), Err)
}

/// Every rule that spans several keys and fails (which predictor keys go
/// together, which methods need which columns), so that `openclarify check`
/// can list them all.
fn problems(c: &AnalysisConfig) -> Vec<JobError> {
    let mut errors = Vec::new();
    if let Some(v) = &c.version {
        if v != "1.0" {
            errors.push(schema(
                ".version",
                format!("only \"1.0\" is supported, found {v:?}."),
            ));
        }
    }
    match c.dataset_type.as_str() {
        _ if c.dataset_type.kind().is_some() => {}
        IMAGE_DATASET_TYPE => errors.extend(image_problems(c)),
        "application/sagemakercapturejson" => {
            errors.push(unsupported("dataset_type", "application/sagemakercapturejson (Model Monitor)"))
        }
        other => {
            errors.push(schema(
                "dataset_type",
                format!(
                    "unknown dataset type {other:?}; use one of text/csv, application/jsonlines, application/json, application/x-parquet."
                ),
            ))
        }
    }
    if c.segment_config.is_some() {
        errors.push(unsupported("segment_config", "segment_config"));
    }
    errors.extend(super::time_series::problems(c));
    if let Some(shap) = &c.methods.shap {
        if let Some(text) = &shap.text_config {
            errors.extend(text.problems());
            if shap.features_to_explain.is_some() {
                errors.push(JobError::client(
                    "methods.shap.features_to_explain cannot be used with text_config; every feature is explained, remove one of the two.",
                ));
            }
        }
        if shap.image_config.is_some() && c.dataset_type.as_str() != IMAGE_DATASET_TYPE {
            errors.push(schema(
                "methods.shap.image_config",
                format!(
                    "explains images, so dataset_type must be {IMAGE_DATASET_TYPE:?}, not {:?}.",
                    c.dataset_type.as_str()
                ),
            ));
        }
        if shap.baseline.is_some() && shap.num_clusters.is_some() {
            errors.push(JobError::client(
                "Baseline and num_clusters cannot be provided together. Please specify one of the two. (methods.shap)",
            ));
        }
        if let Some(target) = shap.target_stderr {
            if !(target.is_finite() && target > 0.0) {
                errors.push(schema(
                    "methods.shap.target_stderr",
                    format!("{target} is not a positive number; give the standard error at which a row's sampling may stop, e.g. 0.005."),
                ));
            }
        }
        if let Some(a) = &shap.agg_method {
            if !["mean_abs", "median", "mean_sq"].contains(&a.as_str()) {
                errors.push(schema(
                    "methods.shap.agg_method",
                    format!("{a:?} is not one of mean_abs, median, mean_sq."),
                ));
            }
        }
    }
    let m = &c.methods;
    if m.pre_training_bias.is_none()
        && m.post_training_bias.is_none()
        && m.shap.is_none()
        && m.pdp.is_none()
        && m.asymmetric_shapley_value.is_none()
    {
        errors.push(JobError::client(
            "analysis_config must have at least one working method: One of the pre_training_bias, post_training_bias, shap, pdp, asymmetric_shapley_value. (methods)",
        ));
    }
    for (key, block, registry) in [
        (
            "methods.pre_training_bias.methods",
            &m.pre_training_bias,
            metric_registry::names(Stage::PreTraining),
        ),
        (
            "methods.post_training_bias.methods",
            &m.post_training_bias,
            metric_registry::names(Stage::PostTraining),
        ),
    ] {
        if let Some(names) = block.as_ref().and_then(|b| b.methods.selected()) {
            if let Some(bad) = names.iter().find(|n| !registry.contains(&n.as_str())) {
                errors.push(JobError::client(format!(
                    "Invalid metric_name: metrics should be one of the registered metrics{registry:?} ({key}: {bad:?})"
                )));
            }
        }
    }
    if m.pre_training_bias.is_some() || m.post_training_bias.is_some() {
        let facets_missing = c.facet.as_ref().is_none_or(|f| f.is_empty());
        if c.label.is_none() || c.label_values_or_threshold.is_none() || facets_missing {
            errors.push(JobError::client(
                "Label, label_values_or_threshold and facet are required for bias analysis. Add the missing keys at the top level of the config.",
            ));
        }
        if c.label_values_or_threshold
            .as_ref()
            .is_some_and(|v| v.is_empty())
        {
            errors.push(JobError::client(
                "Positive label values or thresholds are empty for Label column (label_values_or_threshold).",
            ));
        }
    }
    let csv_only = [
        ("facet_dataset_uri", c.facet_dataset_uri.is_some()),
        ("facet_headers", c.facet_headers.is_some()),
        (
            "predicted_label_dataset_uri",
            c.predicted_label_dataset_uri.is_some(),
        ),
        (
            "predicted_label_headers",
            c.predicted_label_headers.is_some(),
        ),
    ];
    if c.dataset_type.kind() != Some(ContentType::Csv) {
        if let Some((key, _)) = csv_only.iter().find(|(_, set)| *set) {
            errors.push(schema(key, "is only supported with dataset_type text/csv."));
        }
    }
    if c.dataset_type.kind() == Some(ContentType::Json)
        && c.features.is_none()
        && c.time_series_data_config.is_none()
    {
        errors.push(schema(
            "features",
            "is required for dataset_type application/json (a JMESPath to the feature matrix).",
        ));
    }
    if m.post_training_bias.is_some()
        && c.predictor.is_none()
        && c.predicted_label.is_none()
        && c.predicted_label_dataset_uri.is_none()
    {
        errors.push(JobError::client(
            "model_config must be provided when predicted_label_dataset_uri or predicted_label are not provided in data_config. Add a \"predictor\" section or a predicted_label column.",
        ));
    }
    if (m.shap.is_some() || m.pdp.is_some()) && c.predictor.is_none() {
        errors.push(JobError::client(
            "model_config must be provided when explainability methods are selected. Add a \"predictor\" section.",
        ));
    }
    if let Some(pdp) = &m.pdp {
        if pdp.features.is_none() && m.shap.is_none() {
            errors.push(JobError::client(
                "PDP features must be provided when ShapConfig is not provided (methods.pdp.features).",
            ));
        }
    }
    if let Some(p) = &c.predictor {
        if p.endpoint_name.is_some() && p.endpoint_name_prefix.is_some() {
            errors.push(schema(
                "predictor.endpoint_name_prefix",
                "is not allowed together with endpoint_name.",
            ));
        }
        if let Some(prefix) = &p.endpoint_name_prefix {
            // SageMaker's rule for the prefix: letters, digits and inner hyphens.
            let well_formed = prefix.len() <= 23
                && prefix
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !prefix.starts_with('-')
                && !prefix.ends_with('-');
            if !well_formed {
                errors.push(schema(
                    "predictor.endpoint_name_prefix",
                    "must be at most 23 letters, digits and inner hyphens (e.g. \"sm-clarify\").",
                ));
            }
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::parse;

    fn err(json: &str) -> String {
        parse(json.as_bytes()).unwrap_err().to_string()
    }

    const BASE: &str = r#""dataset_type":"text/csv","label":"y","label_values_or_threshold":[1],"facet":[{"name_or_index":"f"}]"#;

    #[test]
    fn unknown_key_names_path_and_closest_key() {
        let e = err(&format!(
            r#"{{{BASE},"methods":{{"pre_training_bias":{{"method":"all"}}}}}}"#
        ));
        assert_eq!(
            e,
            "ClientError: Analysis configuration schema validation error: methods.pre_training_bias.method: unknown key; did you mean \"methods\"?"
        );
        let e = err(&format!(
            r#"{{{BASE},"methods":{{"pre_training_bias":{{"methods":"all"}}}},"lable":"y"}}"#
        ));
        assert!(
            e.contains(": lable: unknown key; did you mean \"label\"?"),
            "{e}"
        );
    }

    #[test]
    fn target_stderr_must_be_a_positive_number() {
        for (value, problem) in [
            ("0", "0 is not a positive number"),
            ("\"a\"", "invalid type"),
        ] {
            let e = err(&format!(
                r#"{{{BASE},"methods":{{"shap":{{"target_stderr":{value}}}}}}}"#
            ));
            assert!(
                e.contains("methods.shap.target_stderr: ") && e.contains(problem),
                "{e}"
            );
        }
        parse(format!(r#"{{{BASE},"methods":{{"shap":{{"target_stderr":0.01}}}},"predictor":{{"endpoint_name":"m"}}}}"#).as_bytes())
            .unwrap();
    }

    #[test]
    fn wrong_type_names_path() {
        let e = err(&format!(
            r#"{{{BASE},"probability_threshold":"high","methods":{{"pre_training_bias":{{"methods":"all"}}}}}}"#
        ));
        assert!(
            e.contains("probability_threshold: invalid type: string \"high\", expected f64"),
            "{e}"
        );
        let e = err(r#"{"dataset_type":"text/csv","label":true,"methods":{}}"#);
        assert!(
            e.contains("label: invalid type: boolean `true`, expected a column name"),
            "{e}"
        );
    }

    #[test]
    fn invalid_json_and_enum_values() {
        assert!(err("{").starts_with("ClientError: Unable to load analysis configuration as JSON."));
        let e = err(&format!(
            r#"{{{BASE},"methods":{{"pre_training_bias":{{"methods":["CI","XX"]}}}}}}"#
        ));
        assert!(
            e.contains(
                "Invalid metric_name: metrics should be one of the registered metrics[\"CI\""
            ),
            "{e}"
        );
        let e =
            err(r#"{"dataset_type":"text/tsv","methods":{"pre_training_bias":{"methods":"all"}}}"#);
        assert!(
            e.contains("dataset_type: unknown dataset type \"text/tsv\""),
            "{e}"
        );
    }

    #[test]
    fn enums_are_case_insensitive_and_unsupported_keys_are_named() {
        let upper = BASE.replace("text/csv", "TEXT/CSV");
        let ok = parse(
            format!(r#"{{{upper},"methods":{{"pre_training_bias":{{"methods":"all"}}}}}}"#)
                .as_bytes(),
        )
        .unwrap();
        assert_eq!(ok.dataset_type, "text/csv");
        let e = err(&format!(
            r#"{{{BASE},"segment_config":[],"methods":{{"pre_training_bias":{{"methods":"all"}}}}}}"#
        ));
        assert!(
            e.contains("segment_config: segment_config is not supported yet"),
            "{e}"
        );
    }

    #[test]
    fn diagnose_reports_every_problem_with_its_path() {
        let d = super::diagnose(
            format!(
                r#"{{{BASE},"lable":"y","probability_threshold":"high","methods":{{"pre_training_bias":{{"methods":"all"}},"shap":{{"agg_method":"max"}}}}}}"#
            )
            .as_bytes(),
        );
        let text: Vec<String> = d.problems.iter().map(|e| e.message.clone()).collect();
        assert!(d.config.is_none());
        assert_eq!(text.len(), 4, "{text:#?}");
        assert!(
            text[0].contains("lable: unknown key; did you mean \"label\"?"),
            "{text:#?}"
        );
        assert!(
            text[1].contains("probability_threshold: invalid type"),
            "{text:#?}"
        );
        assert!(
            text.iter().any(|t| t.contains("methods.shap.agg_method")),
            "{text:#?}"
        );
        assert!(
            text.iter()
                .any(|t| t.contains("model_config must be provided")),
            "{text:#?}"
        );
        let ok = super::diagnose(
            format!(r#"{{{BASE},"methods":{{"pre_training_bias":{{"methods":"all"}}}}}}"#)
                .as_bytes(),
        );
        assert!(ok.problems.is_empty() && ok.config.is_some());
    }

    #[test]
    fn no_method_is_an_error() {
        let e = err(&format!(
            r#"{{{BASE},"methods":{{"report":{{"name":"report"}}}}}}"#
        ));
        assert!(e.contains("at least one working method"), "{e}");
    }

    #[test]
    fn shadow_endpoint_prefix_follows_sagemaker_rules() {
        let with_prefix = |prefix: &str| {
            format!(
                r#"{{{BASE},"methods":{{"shap":{{}}}},"predictor":{{"model_name":"m","instance_type":"ml.m5.large","initial_instance_count":1,"endpoint_name_prefix":"{prefix}"}}}}"#
            )
        };
        assert!(parse(with_prefix("team-a1").as_bytes()).is_ok());
        for bad in ["-a", "a_b", &"x".repeat(24)] {
            assert!(
                err(&with_prefix(bad)).contains("at most 23 letters"),
                "{bad}"
            );
        }
    }
}
