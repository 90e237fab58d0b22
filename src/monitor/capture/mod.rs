//! Captured traffic: SageMaker data-capture JSON Lines, batch-transform
//! capture manifests, the ground truth joined to them, and the records they
//! hold (spec monitoring.md A.3).
//!
//! A capture line is one event: the request (`endpointInput`) and the
//! answer (`endpointOutput`), each with its `observedContentType`, its
//! `data` and an `encoding` (`CSV`, `JSON` or `BASE64`). One event can hold
//! several records (a JSON body with N instances, or N CSV lines). The
//! ground truth of an event is found by its `inferenceId` when it has one,
//! otherwise by its `eventId`; merged files already carry it as
//! `groundTruthData`.
//!
//! - [`event`]: the shape of a capture line.
//! - [`ground_truth`]: ground-truth lines, by the id they join on.
//! - [`decode`]: [`Decoder`] turns an event into records: features from the
//!   input, the predicted label from the output, the label from the ground
//!   truth.
//! - [`manifest`]: batch-transform capture manifests and the transform
//!   input and output files they list.
//! - [`scan`]: streams a folder of capture files, in parallel.
//! - [`merge`]: the platform's merge job (`join-ground-truth`).

pub mod decode;
pub mod event;
pub mod ground_truth;

pub mod manifest;
pub mod merge;
pub mod scan;

pub use decode::{Decoder, Records};
pub use event::{Metadata, Payload};
pub use ground_truth::GroundTruth;
pub use merge::join_ground_truth;
pub use scan::{scan, Decoded, Stats};

use crate::config::{AnalysisConfig, NameOrIndex};
use crate::error::JobError;
use chrono::{DateTime, Utc};
use std::path::Path;

/// Model Monitor's attribute settings: where the features, the predicted
/// label and the score are in the captured request and answer.
#[derive(Debug, Clone, Default)]
pub struct Attributes {
    /// JMESPath to the features of a JSON / JSON Lines request.
    pub features: Option<String>,
    /// Index (CSV) or JMESPath (JSON) of the predicted label in the answer.
    pub inference: Option<String>,
    /// Index (CSV) or JMESPath (JSON) of the score in the answer.
    pub probability: Option<String>,
    /// A score strictly above this predicts 1 (default 0.5).
    pub probability_threshold: Option<f64>,
    /// Comma-separated indices of CSV request columns that are not features.
    pub exclude_features: Option<String>,
}

impl Attributes {
    /// Fills the settings not given from the analysis config: `features`,
    /// `predictor.label`, `predictor.probability` and `probability_threshold`
    /// (what the SDK copies into a schedule from the baselining config).
    pub fn or_config(mut self, config: &AnalysisConfig) -> Attributes {
        let text = |v: &NameOrIndex| match v {
            NameOrIndex::Name(s) => s.clone(),
            NameOrIndex::Index(i) => i.to_string(),
        };
        let predictor = config.predictor.as_ref();
        self.features = self.features.or_else(|| config.features.clone());
        self.inference = self
            .inference
            .or_else(|| predictor.and_then(|p| p.label.as_ref()).map(text));
        self.probability = self
            .probability
            .or_else(|| predictor.and_then(|p| p.probability.as_ref()).map(text));
        self.probability_threshold = self.probability_threshold.or(config.probability_threshold);
        self
    }
}

/// The analysis window: events whose `inferenceTime` is in `[start, end)`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Window {
    /// First instant kept.
    pub start: Option<DateTime<Utc>>,
    /// First instant no longer kept.
    pub end: Option<DateTime<Utc>>,
}

impl Window {
    /// Whether an event at `time` is in the window; an event without a
    /// readable time is in it only when the window is unbounded.
    fn contains(&self, time: Option<&str>) -> bool {
        if self.start.is_none() && self.end.is_none() {
            return true;
        }
        let Some(t) = time.and_then(|t| parse_time(t).ok()) else {
            return false;
        };
        self.start.is_none_or(|s| t >= s) && self.end.is_none_or(|e| t < e)
    }
}

/// Parses an ISO-8601 instant such as `2024-01-19T19:27:57Z`. Spaces are
/// ignored: AWS's own example environment reads `2019-12-01T16: 20: 00Z`.
pub fn parse_time(text: &str) -> std::result::Result<DateTime<Utc>, String> {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    DateTime::parse_from_rfc3339(&compact)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("{text:?} is not an ISO-8601 time such as 2024-01-19T19:00:00Z ({e})"))
}

/// The error of a capture or ground-truth file that cannot be read.
fn read_error(file: &Path, e: std::io::Error) -> JobError {
    JobError::client(format!("Cannot read {}: {e}", file.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_is_half_open_and_tolerates_awss_spaced_times() {
        let w = Window {
            start: Some(parse_time("2019-12-01T15: 20: 00Z").unwrap()),
            end: Some(parse_time("2019-12-01T16:20:00Z").unwrap()),
        };
        assert!(w.contains(Some("2019-12-01T15:20:00Z")));
        assert!(w.contains(Some("2019-12-01T16:19:59Z")));
        assert!(!w.contains(Some("2019-12-01T16:20:00Z")));
        assert!(!w.contains(None));
        assert!(Window::default().contains(None));
        assert!(parse_time("yesterday").is_err());
    }
}
