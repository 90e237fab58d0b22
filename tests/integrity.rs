//! Output integrity: whatever moment a job is killed at, the output folder
//! never holds an `analysis.json` that looks complete but is not this run's
//! full result, nor a temporary or half-written file.

mod common;

use common::*;
use std::process::{Command, Stdio};
use std::time::Instant;

/// The demo job (bias, SHAP and PDP against the demo model) as a command.
fn demo_job(config: &std::path::Path, out: &std::path::Path, url: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_openclarify"));
    command
        .args(["run", "--config", config.to_str().unwrap()])
        .args(["--data", fixtures().join("german.csv").to_str().unwrap()])
        .args(["--output", out.to_str().unwrap(), "--endpoint-url", url])
        .args([
            "--failure-file",
            out.with_extension("message").to_str().unwrap(),
        ])
        .env("OPENCLARIFY_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    command
}

/// Whether a file of the reference run may differ from a killed run's
/// complete one: the reports show the run's time and duration.
fn shows_the_run_time(name: &str) -> bool {
    name.starts_with("report.")
}

/// SIGKILL at moments spread over a whole run (from start-up to the last
/// report): each time, `analysis.json` is either absent or byte for byte the
/// uninterrupted run's, and every file in the output folder is a complete
/// output of the uninterrupted run (the same bytes, or for a report the
/// same name): no temporary or half-written file. The moments are spread
/// evenly, not drawn at random, so that a failure can be replayed.
#[test]
fn a_killed_job_never_leaves_a_wrong_analysis() {
    let model = DemoModel::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let config = demo_config(
        dir.path(),
        &[
            "pre_training_bias",
            "post_training_bias",
            "shap",
            "pdp",
            "report",
        ],
    );
    let reference_out = dir.path().join("reference");
    let started = Instant::now();
    let status = demo_job(&config, &reference_out, &model.url)
        .status()
        .unwrap();
    let whole_run = started.elapsed();
    assert!(status.success());
    let reference = std::fs::read(reference_out.join("analysis.json")).unwrap();
    let reference_files = files_under(&reference_out);

    const KILLS: u32 = 24;
    let mut complete = 0;
    for kill in 0..KILLS {
        let out = dir.path().join(format!("killed-{kill}"));
        let mut child = demo_job(&config, &out, &model.url).spawn().unwrap();
        std::thread::sleep(whole_run * kill / (KILLS / 2));
        child.kill().unwrap(); // SIGKILL on Unix
        child.wait().unwrap();
        match std::fs::read(out.join("analysis.json")) {
            Ok(written) => {
                assert!(
                    written == reference,
                    "kill {kill}: analysis.json differs from the uninterrupted run's"
                );
                complete += 1;
            }
            Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::NotFound, "kill {kill}"),
        }
        for (name, bytes) in files_under(&out) {
            let reference = reference_files.iter().find(|(n, _)| *n == name);
            let Some((_, want)) = reference else {
                panic!("kill {kill}: {name} is not an output of the uninterrupted run");
            };
            assert!(
                shows_the_run_time(&name) || bytes == *want,
                "kill {kill}: {name} differs from the uninterrupted run's"
            );
        }
    }

    // The late kills land after the run has finished; a test where every
    // kill came too early would not have checked anything.
    assert!(
        complete > 0 && complete < KILLS,
        "{complete} of {KILLS} runs left an analysis.json"
    );
}

/// An `analysis.json` left in the output folder by an earlier run is
/// removed when a new run starts, so a failed run never leaves one behind.
#[test]
fn a_failed_run_removes_an_earlier_analysis() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("analysis.json"), "{\"version\": \"1.0\"}").unwrap();
    let config = dir.path().join("analysis_config.json");
    std::fs::write(&config, r#"{"dataset_type": "text/csv", "label": "no such column", "methods": {"pre_training_bias": {"methods": "all"}}, "facet": [{"name_or_index": "sex"}]}"#).unwrap();
    let output = run_job(&config, &fixtures().join("german.csv"), &out);
    assert_eq!(output.status.code(), Some(1));
    assert!(!out.join("analysis.json").exists());
}
