//! openclarify: the SageMaker Clarify processing job, as one binary.
//!
//! # Layout
//! The modules follow the pipeline, one per stage (docs/architecture.md
//! walks through it, and says how to add an analysis):
//! - [`config`]: `analysis_config.json` as types, validated with JSON paths.
//! - [`dataset`]: CSV / JSON Lines / JSON / Parquet readers streaming chunks
//!   of raw cells, and which column plays which role.
//! - [`metric_registry`]: every bias metric's name, stage, description and inputs.
//! - [`bias`]: mergeable counts and every pre- and post-training metric,
//!   numerically as smclarify computes them; `bias::run` drives it for a job.
//! - [`explain`]: Kernel SHAP, computed baselines and partial dependence,
//!   as pure two-phase computations (synthetic rows out, model outputs in);
//!   `explain::run` drives them for a job.
//! - [`predictor`]: the model, over HTTP or SageMaker Runtime.
//! - [`output`]: `analysis.json` in Clarify's shape.
//! - [`report`]: `report.html`, `report.ipynb` and `report.pdf` for people.
//! - [`job`]: wires the analyses for one run; [`check`] checks them without running.
//! - [`distributed`]: `plan`, `partial` and `merge`, one job across machines.
//! - [`http`]: helpers every HTTP client shares (root certificates, body snippets).
//! - [`failure`]: why a model call failed (six classes), and the retry budget.
//! - [`progress`]: the log writer, and progress during long runs.
//! - [`layout`]: the `/opt/ml/...` processing layout, output file names and
//!   the failure file; [`staging`]: atomic writes that no crash leaves half-written.
//! - [`signals`]: SIGTERM and SIGINT end a job cleanly, with a message.
//! - [`cli`] and [`demo`]: the command line and the bundled example.
//! - [`demo_model`]: a model server speaking SageMaker's inference contract.
//! - [`monitor`]: drift against a baseline, as Model Monitor runs Clarify.
//! - [`timeseries`]: asymmetric Shapley values that explain forecasts.
//! - [`images`]: SHAP over superpixels for image classifiers and object detectors.
//! - [`error`] and [`pyfmt`]: the one error type, and floats as Python prints them.
//! - `aws` (feature `aws`): InvokeEndpoint, shadow endpoints and S3 inputs.

#![warn(missing_docs)]

#[cfg(feature = "aws")]
pub mod aws;
pub mod bias;
pub mod check;
pub mod cli;
pub mod config;
pub mod dataset;
pub mod demo;
pub mod demo_model;
pub mod distributed;
pub mod error;
pub mod explain;
pub mod failure;
pub mod http;
pub mod images;
pub mod job;
pub mod layout;
pub mod metric_registry;
pub mod monitor;
pub mod output;
pub mod predictor;
pub mod progress;
pub mod pyfmt;
pub mod report;
pub mod signals;
pub mod staging;
pub mod timeseries;
