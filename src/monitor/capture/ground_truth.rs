//! Ground truth: JSON Lines uploaded by the user, each keyed by the id of
//! the captured event it labels (spec A.3 "Ground truth").

use super::event::{Metadata, Payload};
use super::read_error;
use crate::error::{JobError, Result};
use rustc_hash::FxHashMap;
use serde::Deserialize;
use std::io::BufRead;
use std::path::Path;

/// A ground-truth line.
#[derive(Debug, Deserialize)]
struct GroundTruthLine<'a> {
    #[serde(rename = "groundTruthData", borrow)]
    data: Payload<'a>,
    #[serde(rename = "eventMetadata", default, borrow)]
    metadata: Metadata<'a>,
}

/// Ground truth by the id it was uploaded under (`eventMetadata.eventId`
/// of each ground-truth line, which holds the capture's inference id or
/// event id).
#[derive(Debug, Default)]
pub struct GroundTruth {
    by_id: FxHashMap<String, Payload<'static>>,
}

impl GroundTruth {
    /// Reads every ground-truth JSON Lines file under `dir`, recursively.
    pub fn load(dir: &Path) -> Result<GroundTruth> {
        let mut by_id = FxHashMap::default();
        for file in crate::dataset::files::list(dir)? {
            let reader = std::io::BufReader::new(crate::dataset::files::open(&file)?);
            for (n, line) in reader.lines().enumerate() {
                let line = line.map_err(|e| read_error(&file, e))?;
                if line.trim().is_empty() {
                    continue;
                }
                let parsed: GroundTruthLine = serde_json::from_str(&line).map_err(|e| {
                    JobError::client(format!(
                        "{} line {}: not a ground-truth record ({e}); each line needs groundTruthData {{data, encoding}} and eventMetadata.eventId.",
                        file.display(),
                        n + 1
                    ))
                })?;
                let Some(id) = parsed.metadata.event_id else {
                    return Err(JobError::client(format!(
                        "{} line {}: the ground-truth record has no eventMetadata.eventId, so it cannot be joined to a captured event.",
                        file.display(),
                        n + 1
                    )));
                };
                by_id.insert(id.into_owned(), parsed.data.into_owned());
            }
        }
        tracing::info!(records = by_id.len(), "ground truth read");
        Ok(GroundTruth { by_id })
    }

    /// The ground truth of an event: by `inferenceId` when the event has
    /// one (and only by it), otherwise by `eventId`.
    pub fn find(&self, metadata: &Metadata<'_>) -> Option<&Payload<'static>> {
        self.by_id.get(metadata.join_key()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_on_inference_id_only_when_there_is_one() {
        let mut by_id = FxHashMap::default();
        let payload = |d: &'static str| Payload {
            content_type: None,
            data: d.into(),
            encoding: Some("CSV".into()),
        };
        by_id.insert("i1".to_string(), payload("1"));
        by_id.insert("e1".to_string(), payload("0"));
        by_id.insert("e2".to_string(), payload("0"));
        let gt = GroundTruth { by_id };
        let meta = |e: &'static str, i: Option<&'static str>| Metadata {
            event_id: Some(e.into()),
            inference_id: i.map(Into::into),
            inference_time: None,
        };
        assert_eq!(gt.find(&meta("e1", Some("i1"))).unwrap().data, "1");
        assert!(gt.find(&meta("e2", Some("i9"))).is_none());
        assert_eq!(gt.find(&meta("e2", None)).unwrap().data, "0");
    }
}
