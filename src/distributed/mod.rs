//! Running one job across machines: `plan`, `partial` and `merge`.
//!
//! A distributed engine (Spark) cuts the dataset into shards of whole lines.
//! `plan` makes one pass over the whole dataset for what every shard must
//! agree on ([`JobPlan`]: the columns and how a shard is read, the SHAP
//! baseline, the PDP grids); `partial` folds one shard into a mergeable
//! [`JobState`]; `merge` combines any number of states, in any order, and
//! writes the same `analysis.json`, `explanations_shap/out.csv` and reports
//! as a single-process `run`, which is these three steps in one process
//! ([`crate::job`]). Plans and states are files ([`file`]) that name the
//! config, plan and openclarify version they were made from; a mismatch is
//! refused.
//!
//! A CSV shard's header line: with `--header auto` a first line equal to
//! the whole dataset's header (as the plan recorded it) is skipped, the
//! way `run` skips the header repeated at the top of each part file; `yes`
//! skips each shard file's first line whatever it holds, `no` skips none.

pub mod file;

use crate::config::{self, AnalysisConfig};
pub use crate::dataset::HeaderMode;
use crate::dataset::{files, Dataset, ShardFormat};
use crate::error::{JobError, Result};
use crate::job::{self, JobData, JobOptions, JobPlan, JobState};
use file::{Kind, Origin};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

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

/// The body of a plan file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Plan {
    /// What the job needs from the whole dataset.
    job: JobPlan,
    /// How table shards are read; `None` for time series, whose shards are
    /// whole JSON documents of items.
    shards: Option<ShardFormat>,
}

/// `-`, the path that means stdin or stdout.
fn is_dash(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// The config and the fingerprint of its bytes.
fn load_config(path: &Path) -> Result<(AnalysisConfig, u64)> {
    let config = config::load(path)?;
    let bytes = std::fs::read(path)
        .map_err(|e| JobError::client(format!("Cannot read {}: {e}", path.display())))?;
    Ok((config, file::fingerprint(&bytes)))
}

/// Writes the plan for a job: what every shard must agree on.
pub fn plan(paths: &PlanPaths) -> Result<()> {
    let (config, config_print) = load_config(&paths.config)?;
    let data = JobData::open(&config, &paths.data)?;
    let shards = match &data {
        JobData::Table(dataset) => Some(dataset.shard_format().map_err(|why| {
            JobError::client(format!(
                "This dataset cannot be read in shards: {why}. Run the job on one machine with openclarify run."
            ))
        })?),
        JobData::TimeSeries(_) | JobData::Images(_) => None,
    };
    let plan = Plan {
        job: job::plan(&config, &data, &paths.data)?,
        shards,
    };
    let body = file::encode_body(&plan)?;
    let origin = Origin {
        config: config_print,
        plan: 0,
    };
    crate::layout::write_atomic(&paths.output, &file::encode(Kind::Plan, origin, &body)?)?;
    tracing::info!(plan = %paths.output.display(), "plan written");
    Ok(())
}

/// The config and plan a `partial` or `merge` works from, and what its
/// states must have been made from.
fn load_plan(config: &Path, plan: &Path) -> Result<(AnalysisConfig, Plan, Origin)> {
    let (config, config_print) = load_config(config)?;
    let mut files = file::read_all(plan)?;
    let bytes = match files.len() {
        1 => files.remove(0),
        n => {
            return Err(JobError::client(format!(
                "{} holds {n} files; --plan takes the one file openclarify plan wrote.",
                plan.display()
            )))
        }
    };
    let expected = Origin {
        config: config_print,
        plan: 0,
    };
    let (body, raw): (Plan, _) = file::decode(&bytes, plan, Kind::Plan, expected)?;
    let origin = Origin {
        config: config_print,
        plan: file::fingerprint(&raw),
    };
    Ok((config, body, origin))
}

/// Computes the state of one shard and writes it (to stdout as a base64
/// line when the output is `-`).
pub fn partial(paths: &PartialPaths, options: &PartialOptions) -> Result<()> {
    let (config, plan, origin) = load_plan(&paths.config, &paths.plan)?;
    // A job reads its rows more than once (bias, then explanations), and
    // stdin only once: it is spooled to a temporary file first.
    let spooled = match is_dash(&paths.data) {
        true => Some(spool_stdin()?),
        false => None,
    };
    let data = spooled.as_ref().map_or(paths.data.as_path(), |f| f.path());
    let mut data = match &plan.shards {
        Some(shards) => JobData::Table(Box::new(Dataset::open_shard(
            &config,
            files::list(data)?,
            shards,
            options.header,
            plan.job.schema.clone(),
            options.row_offset,
        )?)),
        None => JobData::open(&config, data)?,
    };
    let state = job::partial(&config, &plan.job, &mut data, &options.job)?;
    let bytes = file::encode(Kind::State, origin, &file::encode_body(&state)?)?;
    if is_dash(&paths.output) {
        let mut stdout = std::io::stdout().lock();
        stdout
            .write_all(file::to_text(&bytes).as_bytes())
            .and_then(|()| stdout.flush())
            .map_err(|e| JobError::client(format!("Cannot write the state to stdout: {e}")))
    } else {
        crate::layout::write_atomic(&paths.output, &bytes)
    }
}

/// Copies stdin to a temporary file.
fn spool_stdin() -> Result<tempfile::NamedTempFile> {
    let failed = |e: std::io::Error| {
        JobError::client(format!(
            "Cannot copy the shard from stdin to a temporary file in {}: {e}. Set TMPDIR to a writable folder with room for the shard.",
            std::env::temp_dir().display()
        ))
    };
    let mut spooled = tempfile::NamedTempFile::new().map_err(failed)?;
    std::io::copy(&mut std::io::stdin().lock(), &mut spooled).map_err(failed)?;
    spooled.flush().map_err(failed)?;
    Ok(spooled)
}

/// Merges shard states into the job's results under `paths.output`.
pub fn merge(paths: &MergePaths) -> Result<()> {
    let started = Instant::now();
    // As `run` does: a merge that fails never leaves an earlier analysis.json.
    crate::layout::remove_earlier_analysis(&paths.output)?;
    let (config, plan, origin) = load_plan(&paths.config, &paths.plan)?;
    let mut merged: Option<JobState> = None;
    let mut count = 0;
    for path in &paths.partials {
        for bytes in file::read_all(path)? {
            let (state, _): (JobState, _) = file::decode(&bytes, path, Kind::State, origin)?;
            merged = Some(match merged {
                None => state,
                Some(m) => m.merge(state)?,
            });
            count += 1;
        }
    }
    let state = merged.ok_or_else(|| {
        JobError::client(
            "No states to merge: pass the files openclarify partial wrote with --partials.",
        )
    })?;
    let rows = job::finish(&config, &plan.job, state, &paths.output, started)?;
    tracing::info!(
        states = count,
        rows,
        "wrote {}",
        paths.output.join(crate::layout::ANALYSIS_FILE).display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::seq::SliceRandom;
    use rand::SeedableRng;

    const CONFIG: &[u8] =
        br#"{"dataset_type":"text/csv","label":"y","label_values_or_threshold":[1],
        "predicted_label":"p","group_variable":"g",
        "facet":[{"name_or_index":"f"},{"name_or_index":"x","value_or_threshold":[2]}],
        "methods":{"pre_training_bias":{"methods":"all"},"post_training_bias":{"methods":"all"}}}"#;

    /// The `analysis.json` that `finish` writes for `state`, or its failure
    /// (some random datasets have no positive predictions, for instance).
    fn analysis(
        config: &AnalysisConfig,
        plan: &Plan,
        state: JobState,
        out: &Path,
    ) -> Result<String> {
        job::finish(config, &plan.job, state, out, Instant::now())?;
        Ok(std::fs::read_to_string(out.join("analysis.json")).unwrap())
    }

    /// A state through its file form and back, as merge reads it.
    fn round_trip(state: &JobState) -> JobState {
        let origin = Origin { config: 1, plan: 2 };
        let bytes = file::encode(Kind::State, origin, &file::encode_body(state).unwrap()).unwrap();
        file::decode(&bytes, Path::new("s"), Kind::State, origin)
            .unwrap()
            .0
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        /// Cutting the rows into shards anywhere (the first with the header
        /// line, the others without), computing each shard's state, and
        /// merging the states in any order and grouping writes the same
        /// analysis.json as one pass over all rows (or fails the same way).
        #[test]
        fn any_split_merged_in_any_order_equals_one_pass(
            rows in prop::collection::vec((0u8..3, 0u8..5, 0u8..2, 0u8..2, 0u8..3), 2..60),
            cuts in prop::collection::vec(0usize..60, 0..5),
            seed in any::<u64>(),
        ) {
            let dir = tempfile::tempdir().unwrap();
            let config = config::parse(CONFIG).unwrap();
            let lines: Vec<String> = rows
                .iter()
                .map(|(f, x, y, p, g)| format!("{},{x},{y},{p},{g}\n", ["a", "b", "c"][*f as usize]))
                .collect();
            let whole = dir.path().join("whole.csv");
            std::fs::write(&whole, format!("f,x,y,p,g\n{}", lines.concat())).unwrap();
            let dataset = Dataset::open(&config, &whole).unwrap();
            let shards = dataset.shard_format().unwrap();
            let mut data = JobData::Table(Box::new(dataset));
            let plan = Plan {
                job: job::plan(&config, &data, &whole).unwrap(),
                shards: Some(shards),
            };
            let options = JobOptions::default();
            let single = job::partial(&config, &plan.job, &mut data, &options).unwrap();
            let expected = analysis(&config, &plan, single, &dir.path().join("single"));

            let mut bounds: Vec<usize> = cuts.iter().map(|c| c % lines.len()).collect();
            bounds.extend([0, lines.len()]);
            bounds.sort_unstable();
            bounds.dedup();
            let mut states: Vec<JobState> = bounds
                .windows(2)
                .enumerate()
                .map(|(i, w)| {
                    let header = if i == 0 { "f,x,y,p,g\n" } else { "" };
                    let shard = dir.path().join(format!("{i}.csv"));
                    std::fs::write(&shard, format!("{header}{}", lines[w[0]..w[1]].concat())).unwrap();
                    let mut part = JobData::Table(Box::new(Dataset::open_shard(
                        &config,
                        vec![shard],
                        plan.shards.as_ref().unwrap(),
                        HeaderMode::Auto,
                        plan.job.schema.clone(),
                        w[0] as u64,
                    )
                    .unwrap()));
                    round_trip(&job::partial(&config, &plan.job, &mut part, &options).unwrap())
                })
                .collect();
            let mut rng = rand::rngs::SmallRng::seed_from_u64(seed);
            states.shuffle(&mut rng);
            // Two groups merged separately, then together.
            let cut = (seed as usize) % states.len();
            let group = |s: Vec<JobState>| s.into_iter().reduce(|a, b| a.merge(b).unwrap());
            let right = states.split_off(cut);
            let merged = match (group(states), group(right)) {
                (Some(a), Some(b)) => a.merge(b).unwrap(),
                (a, b) => a.or(b).unwrap(),
            };
            let got = analysis(&config, &plan, merged, &dir.path().join("merged"));
            prop_assert_eq!(got, expected);
        }
    }
}
