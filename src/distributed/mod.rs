//! Running one job across machines: `plan`, `partial` and `merge`.
//!
//! A distributed engine (Spark) cuts the dataset into shards. `plan` makes
//! one cheap pass over the whole dataset for what every shard must agree
//! on; `partial` computes every requested analysis's mergeable state for
//! one shard; `merge` combines any number of states, in any order and
//! grouping, and writes the same `analysis.json`, `out.csv` and reports as
//! a single-process `run`.

pub use crate::dataset::HeaderMode;
use crate::error::{JobError, Result};
use crate::job::JobOptions;
use std::path::PathBuf;

/// Where `plan` reads and writes.
#[derive(Debug, Clone)]
pub struct PlanPaths {
    /// `analysis_config.json`.
    pub config: PathBuf,
    /// The whole dataset (file or folder).
    pub data: PathBuf,
    /// The plan file to write.
    pub output: PathBuf,
}

/// Where `partial` reads and writes.
#[derive(Debug, Clone)]
pub struct PartialPaths {
    /// `analysis_config.json`.
    pub config: PathBuf,
    /// The plan written by `plan`.
    pub plan: PathBuf,
    /// The shard: a file, a folder, or `-` for stdin.
    pub data: PathBuf,
    /// The state file to write, or `-` for stdout.
    pub output: PathBuf,
}

/// What `partial` needs besides paths.
#[derive(Debug, Clone)]
pub struct PartialOptions {
    /// The shard's first row's index in the whole dataset.
    pub row_offset: u64,
    /// Whether the shard has a header line.
    pub header: HeaderMode,
    /// How to reach the model.
    pub job: JobOptions,
}

/// Where `merge` reads and writes.
#[derive(Debug, Clone)]
pub struct MergePaths {
    /// `analysis_config.json`.
    pub config: PathBuf,
    /// The plan written by `plan`.
    pub plan: PathBuf,
    /// The states written by `partial`.
    pub partials: Vec<PathBuf>,
    /// The output folder (`analysis.json`, `explanations_shap/`, reports).
    pub output: PathBuf,
}

/// Writes the plan for a job: what every shard must agree on.
pub fn plan(_paths: &PlanPaths) -> Result<()> {
    Err(JobError::algorithm(
        "openclarify plan is not implemented yet.",
    ))
}

/// Computes the state of one shard.
pub fn partial(_paths: &PartialPaths, _options: &PartialOptions) -> Result<()> {
    Err(JobError::algorithm(
        "openclarify partial is not implemented yet.",
    ))
}

/// Merges shard states into the job's results.
pub fn merge(_paths: &MergePaths) -> Result<()> {
    Err(JobError::algorithm(
        "openclarify merge is not implemented yet.",
    ))
}
