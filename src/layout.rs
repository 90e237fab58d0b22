//! The SageMaker processing layout: default paths, the failure-message
//! file, and atomic writes.
//!
//! A processing job finds its config in `/opt/ml/processing/input/config`,
//! its data in `/opt/ml/processing/input/data`, and writes results to
//! `/opt/ml/processing/output`. On failure the platform shows the first
//! 1024 bytes of `/opt/ml/output/message` as the job's exit message.

use crate::error::{JobError, Result};
use std::path::{Path, PathBuf};

/// The analysis results, in the output folder.
pub const ANALYSIS_FILE: &str = "analysis.json";
/// The local SHAP values (`save_local_shap_values`), in the output folder.
pub const LOCAL_SHAP_FILE: &str = "explanations_shap/out.csv";
/// The standard errors of the local SHAP values, beside them, with the same
/// columns (an openclarify extension).
pub const LOCAL_SHAP_STDERR_FILE: &str = "explanations_shap/out_stderr.csv";
/// Local SHAP values of a job with text features (`text_config`), one JSON
/// object per record.
pub const LOCAL_SHAP_TEXT_FILE: &str = "explanations_shap/out.jsonl";
/// Per-segment SHAP values of an image job (`image_config`), one JSON
/// object per image; the heat maps sit in the output folder itself.
pub const LOCAL_SHAP_IMAGE_FILE: &str = LOCAL_SHAP_TEXT_FILE;
/// The baseline rows SHAP used, in the output folder.
pub const BASELINE_FILE: &str = "explanations_shap/baseline.csv";

/// Root of the processing folders; `OPENCLARIFY_PROCESSING_ROOT` moves it.
pub fn processing_root() -> PathBuf {
    std::env::var_os("OPENCLARIFY_PROCESSING_ROOT")
        .map_or_else(|| PathBuf::from("/opt/ml/processing"), PathBuf::from)
}

/// Default config file.
pub fn default_config() -> PathBuf {
    processing_root().join("input/config/analysis_config.json")
}

/// Default dataset location (a file or a folder of part files).
pub fn default_data() -> PathBuf {
    processing_root().join("input/data")
}

/// Default output folder.
pub fn default_output() -> PathBuf {
    processing_root().join("output")
}

/// Where the platform reads a failed job's reason.
pub fn default_failure_file() -> PathBuf {
    PathBuf::from("/opt/ml/output/message")
}

/// Where SageMaker describes the job's instances (`resourceconfig.json`)
/// and inputs (`processingjobconfig.json`); `OPENCLARIFY_SAGEMAKER_CONFIG`
/// moves it (tests).
pub fn sagemaker_config_dir() -> PathBuf {
    std::env::var_os("OPENCLARIFY_SAGEMAKER_CONFIG")
        .map_or_else(|| PathBuf::from("/opt/ml/config"), PathBuf::from)
}

/// Whether this instance computes the job. A processing job with several
/// instances gives each the same command; `run` computes in one process,
/// so it must neither compute on part of the data nor write the same
/// outputs from several instances:
///
/// - When an input is `ShardedByS3Key`, no instance holds the whole
///   dataset: the job fails, pointing to the Spark driver.
/// - Otherwise (`FullyReplicated`, the SDK's choice) the first listed host
///   computes the whole job, whose result is the single-instance one, and
///   the others log why and exit successfully without output, so the job
///   still succeeds and no two instances upload the same files.
///
/// Without `resourceconfig.json` (outside SageMaker) or with one host, the
/// job runs here.
pub fn computes_here() -> Result<bool> {
    let dir = sagemaker_config_dir();
    let read = |name: &str| -> Result<Option<serde_json::Value>> {
        let path = dir.join(name);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
                JobError::algorithm(format!("{} is not valid JSON: {e}", path.display()))
            }),
            Err(_) => Ok(None),
        }
    };
    let Some(resources) = read("resourceconfig.json")? else {
        return Ok(true);
    };
    let hosts: Vec<&str> = resources["hosts"]
        .as_array()
        .map(|h| h.iter().filter_map(|v| v.as_str()).collect())
        .unwrap_or_default();
    if hosts.len() <= 1 {
        return Ok(true);
    }
    let sharded = read("processingjobconfig.json")?.is_some_and(|job| {
        job["ProcessingInputs"].as_array().is_some_and(|inputs| {
            inputs
                .iter()
                .any(|i| i["S3Input"]["S3DataDistributionType"].as_str() == Some("ShardedByS3Key"))
        })
    });
    if sharded {
        return Err(JobError::client(format!(
            "This processing job has {} instances and an input distributed ShardedByS3Key, so no instance holds the whole dataset and openclarify run would compute on part of it. Use one instance, or FullyReplicated inputs, or the Spark driver (scripts/spark/) to spread the job over several machines.",
            hosts.len()
        )));
    }
    let current = resources["current_host"].as_str().unwrap_or_default();
    if current == hosts[0] {
        tracing::warn!(
            hosts = hosts.len(),
            "this job has {} instances; {current} computes it on the whole dataset and the others stay idle. To spread one job over several machines use the Spark driver (scripts/spark/).",
            hosts.len()
        );
        Ok(true)
    } else {
        tracing::info!(
            "instance {current} of {}: the first instance ({}) computes the whole job on the full data; this one writes nothing. To spread one job over several machines use the Spark driver (scripts/spark/).",
            hosts.len(),
            hosts[0]
        );
        Ok(false)
    }
}

/// Removes an `analysis.json` that an earlier run left in `output`, so that
/// a run that fails or is killed never leaves one that looks like its own.
pub fn remove_earlier_analysis(output: &Path) -> Result<()> {
    let path = output.join(ANALYSIS_FILE);
    match std::fs::remove_file(&path) {
        Ok(()) => {
            tracing::info!(path = %path.display(), "removed the analysis.json of an earlier run");
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(JobError::client(format!(
            "Cannot remove the earlier run's {}: {e}. Is the output folder writable?",
            path.display()
        ))),
    }
}

/// Writes `contents` to `path` atomically: staged, flushed, then renamed,
/// so readers never see a half-written file ([`crate::staging`]).
pub fn write_atomic(path: &Path, contents: &[u8]) -> Result<()> {
    crate::staging::write_atomic(path, contents).map_err(|e| {
        JobError::client(format!(
            "Cannot write {}: {e}. Is the output folder writable?",
            path.display()
        ))
    })
}

/// Records a failure where the platform reads it: at most 1024 bytes, cut
/// on a UTF-8 character boundary. Errors writing it are only logged, since
/// the job is failing already.
pub fn write_failure(path: &Path, error: &JobError) {
    let text = error.to_string();
    let cut = text.floor_char_boundary(1024);
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    if let Err(e) = std::fs::write(path, &text.as_bytes()[..cut]) {
        tracing::warn!(
            "could not write the failure message to {}: {e}",
            path.display()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_message_is_cut_on_a_char_boundary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("msg/message");
        write_failure(&path, &JobError::client("é".repeat(1000)));
        let written = std::fs::read_to_string(&path).unwrap();
        assert!(written.len() <= 1024 && written.starts_with("ClientError: é"));
    }

    #[test]
    fn atomic_write_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        write_atomic(&dir.path().join("a.json"), b"{}").unwrap();
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["a.json"]);
    }
}
