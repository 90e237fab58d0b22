//! Explaining forecasts: asymmetric Shapley values of time series
//! (`methods.asymmetric_shapley_value`), an analysis beside bias and
//! explain that drives itself through the job's plan, partial and finish.
//!
//! # Layout
//! - `dataset`: the JSON dataset in its three layouts, read into items.
//! - `shapley`: the players, admissible orders and coalitions of one item,
//!   and its scores from their forecasts — the whole algorithm, pure.
//! - `baseline`: what an absent value becomes (zero, mean, a dataset, and
//!   static covariates per item).
//! - `request`: one forecast request record per coalition.
//! - `run`: plan, partial and finish against the model, and `out.jsonl`.

pub mod baseline;
pub mod dataset;
pub mod request;
pub mod run;
pub mod shapley;
