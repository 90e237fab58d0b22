//! openclarify: the SageMaker Clarify processing job, as one static binary.
//!
//! # Layout
//! The modules follow the pipeline, one per stage:
//! - [`config`]: `analysis_config.json` as types, validated with JSON paths.
//! - [`dataset`]: CSV / JSON Lines / JSON / Parquet readers streaming chunks
//!   of raw cells, and which column plays which role.
//! - [`bias`]: mergeable counts and every pre- and post-training metric,
//!   numerically as smclarify computes them.
//! - [`explain`]: Kernel SHAP, computed baselines and partial dependence,
//!   as pure two-phase computations (synthetic rows out, model outputs in).
//! - [`metric_registry`]: every bias metric's name, stage, description and inputs.
//! - [`output`]: `analysis.json` in Clarify's shape.
//! - [`report`]: `report.html`, `report.ipynb` and `report.pdf` for people.
//! - [`job`]: wires the stages for one run; [`check`] checks them without running.
//! - [`distributed`]: `plan`, `partial` and `merge`, one job across machines.
//! - [`http`]: helpers every HTTP client shares (root certificates, body snippets).
//! - [`layout`]: the `/opt/ml/...` processing layout, failure file, atomic writes.
//! - [`cli`] and [`demo`]: the command line and the bundled example.
//! - [`demo_model`]: a model server speaking SageMaker's inference contract.
//! - [`monitor`]: drift against a baseline, as Model Monitor runs Clarify.
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
pub mod http;
pub mod job;
pub mod layout;
pub mod metric_registry;
pub mod monitor;
pub mod output;
pub mod predictor;
pub mod progress;
pub mod pyfmt;
pub mod report;
