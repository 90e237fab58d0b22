//! `openclarify demo`: the bundled German credit example, no setup needed.
//!
//! It lays out a processing folder (config, data, output) under the chosen
//! directory, starts the demo model on a free loopback port, runs the job
//! there exactly as `run` would (calling the model over HTTP for the
//! post-training metrics), and prints where the results are.

use crate::demo_model::{self, DemoModelOptions, GERMAN_CSV};
use crate::error::{JobError, Result};
use crate::job;
use crate::predictor::ModelAccess;
use std::path::Path;

const DEMO_CONFIG: &str = include_str!("../test-fixtures/demo/analysis_config.json");

/// Writes the example's inputs under `root` and runs it.
pub fn run(root: &Path) -> Result<()> {
    let write = |rel: &str, text: &str| -> Result<std::path::PathBuf> {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().expect("relative paths have a parent"))
            .and_then(|_| std::fs::write(&path, text))
            .map_err(|e| {
                JobError::client(format!(
                    "Cannot write the demo inputs under {}: {e}",
                    root.display()
                ))
            })?;
        Ok(path)
    };
    let paths = job::JobPaths {
        config: write("input/config/analysis_config.json", DEMO_CONFIG)?,
        data: write("input/data/german.csv", GERMAN_CSV)?,
        output: root.join("output"),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| JobError::algorithm(format!("Cannot start the async runtime: {e}")))?;
    let (address, server) = runtime
        .block_on(demo_model::spawn_local(&DemoModelOptions::default()))
        .map_err(|e| JobError::algorithm(format!("Cannot start the demo model: {e:#}")))?;
    let options = job::JobOptions {
        model: ModelAccess {
            endpoint_url: Some(format!("http://{address}")),
            ..ModelAccess::default()
        },
        ..job::JobOptions::default()
    };
    let outcome = job::run(&paths, &options);
    server.abort();
    let summary = outcome?;
    println!(
        "openclarify demo: {} rows analysed in {:.2?}.",
        summary.rows, summary.elapsed
    );
    println!("  config:  {}", paths.config.display());
    println!("  data:    {}", paths.data.display());
    println!(
        "  model:   demo model at {} (stopped)",
        options.model.endpoint_url.as_deref().unwrap_or_default()
    );
    println!("  results: {}", summary.analysis.display());
    // The demo config asks for the reports as `report.*`.
    for format in ["html", "ipynb", "pdf"] {
        let path = paths.output.join(format!("report.{format}"));
        if path.is_file() {
            println!("  report:  {}", path.display());
        } else {
            println!(
                "  report:  {} was not written (see the log above)",
                path.display()
            );
        }
    }
    Ok(())
}
