//! `methods.shap.image_config`: how images are cut into superpixels and,
//! for object detection, which boxes are explained and how.

use crate::error::JobError;
use serde::{Deserialize, Serialize};

/// `dataset_type` of a folder (or S3 prefix) of images.
pub const IMAGE_DATASET_TYPE: &str = "application/x-image";

/// `predictor.content_type` values an image job may send.
pub const IMAGE_CONTENT_TYPES: [&str; 3] = ["image/jpeg", "image/png", "application/x-npy"];

/// `methods.shap.image_config`, as the SDK's `ImageConfig` writes it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageConfig {
    /// `IMAGE_CLASSIFICATION` or `OBJECT_DETECTION`.
    pub model_type: String,
    /// About how many superpixels (default 20).
    pub num_segments: Option<u32>,
    /// SLIC's balance of closeness in the image against colour (default 5).
    pub segment_compactness: Option<f64>,
    /// Only `segmentation` exists.
    pub feature_extraction_method: Option<String>,
    /// Object detection: the top objects explained (default 3).
    pub max_objects: Option<u32>,
    /// Object detection: the least IoU at which a detection in a masked
    /// image is the original object (default 0.5).
    pub iou_threshold: Option<f64>,
    /// Object detection: how much of the image around a box stays (0
    /// masks everything outside the box, 1 nothing; default 1).
    pub context: Option<f64>,
}

/// What the model does with an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ImageModelType {
    /// One score per class in `label_headers`.
    Classification,
    /// Boxes with a class and a score.
    Detection,
}

impl ImageModelType {
    /// The name the config uses.
    pub fn as_str(self) -> &'static str {
        match self {
            ImageModelType::Classification => "IMAGE_CLASSIFICATION",
            ImageModelType::Detection => "OBJECT_DETECTION",
        }
    }
}

/// `num_segments` when the config leaves it out (the SDK's default).
pub const DEFAULT_NUM_SEGMENTS: usize = 20;
/// `segment_compactness` when the config leaves it out.
pub const DEFAULT_COMPACTNESS: f64 = 5.0;
/// `max_objects` when the config leaves it out.
pub const DEFAULT_MAX_OBJECTS: usize = 3;
/// `iou_threshold` when the config leaves it out.
pub const DEFAULT_IOU_THRESHOLD: f64 = 0.5;
/// `context` when the config leaves it out.
pub const DEFAULT_CONTEXT: f64 = 1.0;

impl ImageConfig {
    /// The model type, if `model_type` names one (in any case).
    pub fn model_type(&self) -> Option<ImageModelType> {
        [ImageModelType::Classification, ImageModelType::Detection]
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(self.model_type.trim()))
    }

    /// `num_segments`, or its default.
    pub fn num_segments(&self) -> usize {
        self.num_segments
            .map_or(DEFAULT_NUM_SEGMENTS, |n| n as usize)
    }

    /// `segment_compactness`, or its default.
    pub fn compactness(&self) -> f64 {
        self.segment_compactness.unwrap_or(DEFAULT_COMPACTNESS)
    }

    /// `max_objects`, or its default.
    pub fn max_objects(&self) -> usize {
        self.max_objects.map_or(DEFAULT_MAX_OBJECTS, |n| n as usize)
    }

    /// `iou_threshold`, or its default.
    pub fn iou_threshold(&self) -> f64 {
        self.iou_threshold.unwrap_or(DEFAULT_IOU_THRESHOLD)
    }

    /// `context`, or its default.
    pub fn context(&self) -> f64 {
        self.context.unwrap_or(DEFAULT_CONTEXT)
    }

    /// What is wrong with the keys, each as a sentence naming its JSON path.
    pub fn problems(&self) -> Vec<JobError> {
        let key = |name: &str, what: String| {
            JobError::client(format!("methods.shap.image_config.{name}: {what}"))
        };
        let mut errors = Vec::new();
        if self.model_type().is_none() {
            errors.push(key(
                "model_type",
                format!(
                    "{:?} is not one of IMAGE_CLASSIFICATION, OBJECT_DETECTION.",
                    self.model_type
                ),
            ));
        }
        if self.num_segments == Some(0) {
            errors.push(key(
                "num_segments",
                "0 segments explain nothing; give a positive number (default 20).".into(),
            ));
        }
        if let Some(c) = self.segment_compactness {
            if !(c.is_finite() && c > 0.0) {
                errors.push(key(
                    "segment_compactness",
                    format!("{c} is not a positive number (default 5)."),
                ));
            }
        }
        if let Some(method) = &self.feature_extraction_method {
            if !method.eq_ignore_ascii_case("segmentation") {
                errors.push(key(
                    "feature_extraction_method",
                    format!("{method:?} is not supported; the only method is \"segmentation\"."),
                ));
            }
        }
        if self.max_objects == Some(0) {
            errors.push(key(
                "max_objects",
                "0 objects explains nothing; give a positive number (default 3).".into(),
            ));
        }
        for (name, value) in [
            ("iou_threshold", self.iou_threshold),
            ("context", self.context),
        ] {
            if let Some(v) = value.filter(|v| !(0.0..=1.0).contains(v)) {
                errors.push(key(name, format!("{v} is not between 0 and 1.")));
            }
        }
        errors
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(json: &str) -> ImageConfig {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn defaults_are_the_sdks() {
        let c = config(r#"{"model_type": "image_classification"}"#);
        assert_eq!(c.model_type(), Some(ImageModelType::Classification));
        assert_eq!((c.num_segments(), c.compactness()), (20, 5.0));
        assert_eq!(
            (c.max_objects(), c.iou_threshold(), c.context()),
            (3, 0.5, 1.0)
        );
        assert!(c.problems().is_empty());
    }

    #[test]
    fn each_bad_key_is_named() {
        let c = config(
            r#"{"model_type": "SEGMENTATION", "num_segments": 0, "context": 2,
                "feature_extraction_method": "edges"}"#,
        );
        let messages: Vec<String> = c.problems().into_iter().map(|e| e.message).collect();
        assert_eq!(messages.len(), 4, "{messages:?}");
        for key in [
            "model_type",
            "num_segments",
            "context",
            "feature_extraction_method",
        ] {
            assert!(
                messages
                    .iter()
                    .any(|m| m.contains(&format!("image_config.{key}"))),
                "{key}: {messages:?}"
            );
        }
    }
}
