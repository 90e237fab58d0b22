//! Monitoring: bias drift and feature-attribution drift against a
//! baseline, as SageMaker Model Monitor runs Clarify (spec monitoring.md).
//!
//! - [`capture`]: captured traffic, ground truth, and the records they hold.
//! - [`run`]: one monitoring execution (`openclarify monitor`).
//! - [`ndcg`]: scikit-learn's `ndcg_score`, for attribution drift.
//! - [`compare`]: the checks and `constraint_violations.json`.
//! - [`bootstrap`]: confidence intervals of bias metrics (opt-in).
//! - [`cloudwatch`]: the metric records Model Monitor publishes.
//! - [`drift_report`]: baseline and current side by side.
//! - [`history`]: drift over many windows (`openclarify monitor-history`).
//! - [`args`]: the command-line arguments of the monitoring subcommands.

pub mod args;
pub mod bootstrap;
pub mod capture;
pub mod cloudwatch;
pub mod compare;
pub mod drift_report;
pub mod history;
pub mod ndcg;
pub mod run;

use crate::error::{JobError, Result};

/// `openclarify compare`: checks `--current` against `--baseline` and
/// writes the violations; returns whether any check was violated.
pub fn compare_command(args: &args::CompareArgs) -> Result<bool> {
    let baseline = compare::read_analysis(&args.baseline, "baseline")?;
    let current = compare::read_analysis(&args.current, "current")?;
    let comparison = compare::compare(&baseline, &current, args.ndcg_threshold)?;
    let written = comparison.write(&args.output)?;
    compare::log_summary(&comparison, written.as_deref());
    Ok(written.is_some())
}

/// `openclarify join-ground-truth`: the platform's merge job, offline.
pub fn join_command(args: &args::JoinArgs) -> Result<()> {
    let ground_truth = capture::GroundTruth::load(&args.ground_truth)?;
    let stats = capture::join_ground_truth(
        &args.captured,
        &ground_truth,
        &args.window.window()?,
        &args.output,
    )?;
    eprintln!(
        "{} events read, {} merged into {}, {} outside the window, {} without ground truth",
        stats.events,
        stats.records,
        args.output.display(),
        stats.outside_window,
        stats.without_ground_truth
    );
    Ok(())
}

/// `openclarify monitor` (and `run` with `dataset_source` set): one
/// monitoring execution; returns whether a check was violated.
pub fn monitor_command(args: &args::MonitorArgs) -> Result<bool> {
    let window = args.window.window()?;
    let paths = run::MonitorPaths {
        config: args
            .config
            .clone()
            .unwrap_or_else(crate::layout::default_config),
        captured: args.captured.clone(),
        ground_truth: args.ground_truth.clone(),
        baseline: args.baseline_constraints.clone(),
        output: args.output.clone(),
    };
    let options = run::MonitorOptions {
        window,
        attributes: args.attributes.attributes(),
        job: crate::job::JobOptions {
            model: args.model.clone(),
            save_predictions: None,
        },
        endpoint_name: args.endpoint_name.clone(),
        ndcg_threshold: args.ndcg_threshold,
        joined_table: args.save_joined_table.clone(),
        bootstrap: args.bootstrap,
    };
    let outcome = run::run(&paths, &options)?;
    if let (Some(true), Some(document)) = (args.publish_cloudwatch_metrics, &outcome.document) {
        let execution = cloudwatch::Execution {
            endpoint: args.endpoint_name.clone(),
            schedule: args.schedule_name.clone(),
            timestamp: window.end.unwrap_or_else(chrono::Utc::now),
        };
        let records = cloudwatch::records(document, &execution);
        let file = cloudwatch::write(&args.cloudwatch_dir, &records)?;
        tracing::info!(records = records.len(), "wrote {}", file.display());
    }
    Ok(outcome.violations.is_some())
}

/// The error a run ends with when `--fail-on-violation` is set and a check
/// was violated: what Pipelines' `ClarifyCheckStep` users see.
pub fn check_failed() -> JobError {
    JobError::client(compare::CHECK_FAILED)
}
