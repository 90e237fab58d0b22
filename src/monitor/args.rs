//! Command-line arguments of `compare` (and the other monitoring
//! subcommands), kept here so that `cli.rs` only lists the subcommands.

use std::path::PathBuf;

/// Arguments of `compare`.
#[derive(Debug, clap::Args)]
pub struct CompareArgs {
    /// The baseline `analysis.json` (Model Monitor's "constraints" file).
    #[arg(long)]
    pub baseline: PathBuf,
    /// The `analysis.json` to check.
    #[arg(long)]
    pub current: PathBuf,
    /// Folder for `constraint_violations.json`, written only when a check
    /// is violated.
    #[arg(long)]
    pub output: PathBuf,
    /// Exit with status 1 ("ClientError: Clarify check failed. See
    /// violation report") when a check is violated.
    #[arg(long)]
    pub fail_on_violation: bool,
    /// Feature-attribution drift is violated when nDCG is below this.
    #[arg(long, default_value_t = super::compare::DEFAULT_NDCG_THRESHOLD)]
    pub ndcg_threshold: f64,
}

/// Model Monitor's attribute settings, as flags or its environment variables.
#[derive(Debug, Clone, clap::Args)]
pub struct AttributeArgs {
    /// JMESPath to the features of a JSON / JSON Lines request
    /// [default: the config's `features`]
    #[arg(long, env = "features_attribute")]
    pub features_attribute: Option<String>,
    /// Column index (CSV) or JMESPath (JSON) of the predicted label in the
    /// answer [default: the config's predictor.label]
    #[arg(long, env = "inference_attribute")]
    pub inference_attribute: Option<String>,
    /// Column index (CSV) or JMESPath (JSON) of the score in the answer; the
    /// predicted label is 1 when the score is strictly above the threshold
    /// [default: the config's predictor.probability]
    #[arg(long, env = "probability_attribute")]
    pub probability_attribute: Option<String>,
    /// Score threshold [default: the config's probability_threshold, else 0.5]
    #[arg(long, env = "probability_threshold_attribute")]
    pub probability_threshold_attribute: Option<f64>,
    /// Comma-separated indices of CSV request columns that are not features.
    #[arg(long, env = "exclude_features_attribute")]
    pub exclude_features_attribute: Option<String>,
}

impl AttributeArgs {
    /// The settings as the capture reader takes them.
    pub fn attributes(&self) -> super::capture::Attributes {
        super::capture::Attributes {
            features: self.features_attribute.clone(),
            inference: self.inference_attribute.clone(),
            probability: self.probability_attribute.clone(),
            probability_threshold: self.probability_threshold_attribute,
            exclude_features: self.exclude_features_attribute.clone(),
        }
    }
}

/// The analysis window, as flags or Model Monitor's `start_time` / `end_time`.
#[derive(Debug, Clone, clap::Args)]
pub struct WindowArgs {
    /// Keep events whose inferenceTime is at or after this ISO-8601 time.
    #[arg(long, env = "start_time")]
    pub start_time: Option<String>,
    /// Keep events whose inferenceTime is before this ISO-8601 time.
    #[arg(long, env = "end_time")]
    pub end_time: Option<String>,
}

impl WindowArgs {
    /// The window, or which bound does not read as a time.
    pub fn window(&self) -> crate::error::Result<super::capture::Window> {
        let parse = |key: &str, v: &Option<String>| {
            v.as_deref()
                .map(|t| {
                    super::capture::parse_time(t)
                        .map_err(|e| crate::error::JobError::client(format!("{key}: {e}.")))
                })
                .transpose()
        };
        Ok(super::capture::Window {
            start: parse("start_time", &self.start_time)?,
            end: parse("end_time", &self.end_time)?,
        })
    }
}

/// Arguments of `join-ground-truth`.
#[derive(Debug, clap::Args)]
pub struct JoinArgs {
    /// Captured data (the data-capture folder), searched recursively.
    #[arg(long)]
    pub captured: PathBuf,
    /// Ground-truth JSON Lines, searched recursively.
    #[arg(long)]
    pub ground_truth: PathBuf,
    /// Where the merged JSON Lines go (same relative paths as the capture files).
    #[arg(long)]
    pub output: PathBuf,
    /// The window (events outside it are left out).
    #[command(flatten)]
    pub window: WindowArgs,
}

/// `Enabled` / `Disabled` (Model Monitor's spelling), or true / false.
fn switch(text: &str) -> Result<bool, String> {
    match text.to_ascii_lowercase().as_str() {
        "enabled" | "true" | "1" | "yes" | "on" => Ok(true),
        "disabled" | "false" | "0" | "no" | "off" | "" => Ok(false),
        other => Err(format!("{other:?} is not Enabled or Disabled")),
    }
}

/// Arguments of `monitor`; each also comes from Model Monitor's environment.
#[derive(Debug, clap::Args)]
pub struct MonitorArgs {
    /// The analysis config [default: /opt/ml/processing/input/config/analysis_config.json]
    #[arg(long, env = "OPENCLARIFY_MONITOR_CONFIG")]
    pub config: Option<PathBuf>,
    /// Captured (or merged) data, searched recursively.
    #[arg(long, env = "dataset_source")]
    pub captured: PathBuf,
    /// Ground-truth JSON Lines (not needed when the captured data is merged).
    #[arg(long, env = "OPENCLARIFY_GROUND_TRUTH")]
    pub ground_truth: Option<PathBuf>,
    /// The baseline analysis.json to check against.
    #[arg(long, env = "baseline_constraints")]
    pub baseline_constraints: Option<PathBuf>,
    /// Where results go.
    #[arg(long, env = "output_path")]
    pub output: PathBuf,
    /// The window.
    #[command(flatten)]
    pub window: WindowArgs,
    /// Where the features, predicted label and score are.
    #[command(flatten)]
    pub attributes: AttributeArgs,
    /// Write CloudWatch metric records (Enabled / Disabled).
    #[arg(
        long,
        env = "publish_cloudwatch_metrics",
        num_args = 0..=1,
        default_missing_value = "Enabled",
        value_parser = switch,
    )]
    pub publish_cloudwatch_metrics: Option<bool>,
    /// Folder of the CloudWatch metric records.
    #[arg(
        long,
        env = "OPENCLARIFY_CLOUDWATCH_DIR",
        default_value = "/opt/ml/output/metrics/cloudwatch"
    )]
    pub cloudwatch_dir: PathBuf,
    /// The monitored endpoint (the model SHAP calls when the config names
    /// none; a CloudWatch dimension).
    #[arg(long, env = "sagemaker_endpoint_name")]
    pub endpoint_name: Option<String>,
    /// The monitoring schedule (a CloudWatch dimension).
    #[arg(long, env = "sagemaker_monitoring_schedule_name")]
    pub schedule_name: Option<String>,
    /// Feature-attribution drift is violated when nDCG is below this.
    #[arg(long, default_value_t = super::compare::DEFAULT_NDCG_THRESHOLD)]
    pub ndcg_threshold: f64,
    /// Also write the joined records (features, label, predicted label) as
    /// CSV, e.g. to recompute the bias metrics with another tool.
    #[arg(long)]
    pub save_joined_table: Option<PathBuf>,
    /// Exit with status 1 when a check is violated.
    #[arg(long)]
    pub fail_on_violation: bool,
    /// Bootstrap N resamples of the window for a 95 % interval of each
    /// bias metric; bias violations then also carry `confidence_interval`
    /// and `significant` (true when the whole interval is worse than the
    /// baseline). Off by default: the output stays AWS's.
    #[arg(long, value_name = "N")]
    pub bootstrap: Option<usize>,
    /// The model, for SHAP.
    #[command(flatten)]
    pub model: crate::predictor::ModelAccess,
}

/// `monitor`'s arguments from the environment alone: what `openclarify run`
/// parses when Model Monitor starts the image with `dataset_source` set.
#[derive(Debug, clap::Parser)]
#[command(name = "openclarify run (monitoring)")]
pub struct MonitorFromEnv {
    /// The arguments.
    #[command(flatten)]
    pub args: MonitorArgs,
}

/// Arguments of `monitor-history`.
#[derive(Debug, clap::Args)]
pub struct HistoryArgs {
    /// Monitoring output folders (each with its analysis.json), oldest first.
    #[arg(long, num_args = 1.., required = true)]
    pub runs: Vec<PathBuf>,
    /// The baseline analysis.json the runs were checked against.
    #[arg(long)]
    pub baseline: PathBuf,
    /// Where history.html goes.
    #[arg(long)]
    pub output: PathBuf,
    /// Feature-attribution drift is violated when nDCG is below this.
    #[arg(long, default_value_t = super::compare::DEFAULT_NDCG_THRESHOLD)]
    pub ndcg_threshold: f64,
}
