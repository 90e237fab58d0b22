//! Explainability: Kernel SHAP, its global aggregates, computed baselines and
//! partial dependence, as pure computations without I/O, and [`run`], which
//! drives them against the model for a job.
//!
//! Every model-dependent step is split in two so that the caller can batch
//! model calls freely (many explained rows per HTTP request):
//! first build the synthetic rows to evaluate, then hand back the model's
//! outputs to finish the computation. Cells are generic (`T: Clone`), so rows
//! may hold numbers, strings, or the caller's own cell type.
//!
//! - [`kernel_shap`] holds coalitions, synthetic rows and the constrained
//!   weighted least-squares solve, reproducible per dataset row; its
//!   standard errors come from `draw_variance`.
//! - [`aggregate`] holds `global_shap_values` (`mean_abs`, `median`, `mean_sq`)
//!   from local values, as a mergeable state.
//! - [`exact_sum`] holds float sums whose bits do not depend on the order of
//!   their terms, so merged shards equal one pass.
//! - [`clusters`] holds a baseline summarising the data when none is configured
//!   (k-means, or k-prototypes when categorical columns are present).
//! - [`pdp`] holds partial dependence grids, synthetic rows and averages.
//! - [`text`] holds text cells cut into units (tokens, sentences,
//!   paragraphs) and rendered with absent units replaced.
//! - [`run`] reads the rows, settles the baseline, batches synthetic rows
//!   into model calls and writes `explanations` and `explanations_shap/`.

pub mod aggregate;
pub mod clusters;
mod draw_variance;
pub mod exact_sum;
pub mod kernel_shap;
mod least_squares;
pub mod pdp;
pub mod run;
pub mod text;

pub use aggregate::{AggregationMethod, GlobalShapState};
pub use kernel_shap::{
    coalition_budget, KernelShap, KernelShapSettings, Link, RowExplanation, RowPlan,
};
