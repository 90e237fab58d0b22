//! The platform's merge job, offline (`openclarify join-ground-truth`):
//! capture lines with their ground truth added, in the observed format
//! (spec A.3 "Merged data").

use super::event::Metadata;
use super::ground_truth::GroundTruth;
use super::scan::{capture_files, Stats};
use super::{read_error, Window};
use crate::error::{JobError, Result};
use serde::Deserialize;
use std::io::BufRead;
use std::path::Path;

/// Merges ground truth into capture lines (the platform's merge job): each
/// event in the window with ground truth is written, unchanged but for an
/// added `groundTruthData`, to the same relative path under `output`.
/// Events without ground truth are left out, as the merge job leaves them.
pub fn join_ground_truth(
    captured: &Path,
    ground_truth: &GroundTruth,
    window: &Window,
    output: &Path,
) -> Result<Stats> {
    let mut stats = Stats::default();
    let (files, manifests) = capture_files(captured)?;
    if !manifests.is_empty() {
        tracing::warn!(
            manifests = manifests.len(),
            "batch-transform manifests are not merged (monitor reads them, with the ground truth, directly)"
        );
    }
    for file in files {
        stats.files += 1;
        let relative = file.strip_prefix(captured).unwrap_or(&file);
        let target = match relative.as_os_str().is_empty() {
            true => output.join(file.file_name().unwrap_or_default()),
            false => output.join(relative),
        };
        let mut merged = Vec::new();
        let reader = std::io::BufReader::new(crate::dataset::files::open(&file)?);
        for (n, line) in reader.lines().enumerate() {
            let line = line.map_err(|e| read_error(&file, e))?;
            if line.trim().is_empty() {
                continue;
            }
            stats.events += 1;
            let at = || format!("{} line {}", file.display(), n + 1);
            let mut doc: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&line)
                .map_err(|e| {
                JobError::client(format!("{}: not a captured event ({e}).", at()))
            })?;
            let metadata = doc
                .get("eventMetadata")
                .and_then(|m| Metadata::deserialize(m).ok())
                .unwrap_or_default();
            if !window.contains(metadata.inference_time.as_deref()) {
                stats.outside_window += 1;
                continue;
            }
            let truth = match doc.contains_key("groundTruthData") {
                true => None,
                false => match ground_truth.find(&metadata) {
                    Some(t) => Some(t),
                    None => {
                        stats.without_ground_truth += 1;
                        continue;
                    }
                },
            };
            // The merge job's key order: eventVersion, groundTruthData, the rest.
            let mut out = serde_json::Map::new();
            if let Some(v) = doc.remove("eventVersion") {
                out.insert("eventVersion".into(), v);
            }
            if let Some(t) = truth {
                out.insert(
                    "groundTruthData".into(),
                    serde_json::to_value(t).expect("a payload serialises"),
                );
            }
            out.extend(doc);
            merged.extend(serde_json::to_vec(&out).expect("JSON serialises"));
            merged.push(b'\n');
            stats.records += 1;
        }
        if !merged.is_empty() {
            if let Some(dir) = target.parent() {
                std::fs::create_dir_all(dir).map_err(|e| {
                    JobError::client(format!("Cannot create {}: {e}", dir.display()))
                })?;
            }
            crate::layout::write_atomic(&target, &merged)?;
        }
    }
    Ok(stats)
}
