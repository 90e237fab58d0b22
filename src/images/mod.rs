//! Image explanations (`methods.shap.image_config`): each image is cut into
//! superpixels, each superpixel is a player of Kernel SHAP (the estimator
//! tabular features use), and a player that is absent shows the baseline's
//! pixels. Classifiers are explained per label; detectors per detected
//! object, each object's value in a masked image being the score of the
//! detection that still finds it.
//!
//! - [`slic`]: SLIC superpixels as scikit-image computes them.
//! - [`picture`]: decoding, encoding, and the baseline image or noise.
//! - [`masking`]: the image a coalition of segments makes, and an object's
//!   context window.
//! - [`shapley`]: segments as players of [`crate::explain::KernelShap`].
//! - [`detection`]: a detector's boxes, IoU, and an object's score.
//! - [`heatmap`]: segments tinted by their values, and boxes.
//! - [`run`]: the job's three steps, the heat maps, `out.jsonl` and the
//!   `analysis.json` block.

pub mod detection;
pub mod heatmap;
pub mod masking;
pub mod picture;
pub mod run;
pub mod shapley;
pub mod slic;
