//! Batch-transform capture (spec A.3 "Batch-transform capture"): a
//! transform job with `DataCaptureConfig` writes no events, only
//! manifests — `<destination>/input/yyyy/mm/dd/hh/<name>.json` and
//! `<destination>/output/…` — each a JSON array
//! `[{"prefix": "s3://bucket/path/"}, "key", …]` whose entries after the
//! first are keys appended to the prefix (an empty key is the prefix
//! itself). The files they list are the transform's input and its output.
//!
//! Documented: the manifest layout and format, and that each output line
//! is `{"SageMakerInferenceId", "SageMakerInferenceTime", "SageMakerOutput"}`
//! when the job sets `GenerateInferenceId`, and that ground truth joins on
//! that id. Our choices where the sources are silent:
//!
//! - an input manifest is paired with the output manifest at the same
//!   path under `output/` instead of `input/`, and the files they list are
//!   paired in order (the n-th input file with the n-th output file);
//! - a file that is one JSON document is one event (a transform with no
//!   `SplitType`); otherwise each line is one event, paired with the same
//!   line of the output file (`SplitType: Line`);
//! - an event's time is its `SageMakerInferenceTime`, else the start of
//!   the hour the manifest's folder names;
//! - listed files are read as `resolve_uri` reads dataset URIs: S3 URIs
//!   are downloaded (feature `aws`), `file://` and absolute paths read as
//!   they are, and relative ones against the manifest's folder.

use super::event::{CaptureData, Event, Metadata, Payload};
use crate::error::{JobError, Result};
use chrono::{TimeZone, Utc};
use serde_json::Value as Json;
use std::path::{Component, Path, PathBuf};

/// Whether `file` is a manifest: a JSON array, where a capture file holds
/// one JSON object per line.
pub fn is_manifest(file: &Path) -> bool {
    let mut first = [0u8; 1];
    std::fs::File::open(file)
        .and_then(|mut f| std::io::Read::read(&mut f, &mut first))
        .is_ok_and(|n| n == 1 && first[0] == b'[')
}

/// One captured transform: an input manifest and its output manifest.
#[derive(Debug, Clone, PartialEq)]
pub struct Transform {
    /// The manifest of the transform's input files.
    pub input: PathBuf,
    /// The manifest of its output files.
    pub output: PathBuf,
}

/// Pairs the input manifests among `manifests` with their output
/// manifests. An output manifest with no input is logged and skipped: the
/// answers alone hold no features.
pub fn pair(manifests: &[PathBuf]) -> Result<Vec<Transform>> {
    let mut transforms = Vec::new();
    for manifest in manifests {
        if let Some(output) = swap_component(manifest, "input", "output") {
            if !output.is_file() {
                return Err(JobError::client(format!(
                    "{}: a batch-transform input manifest without its output manifest {}; capture both input and output (DataCaptureConfig CaptureOptions).",
                    manifest.display(),
                    output.display()
                )));
            }
            transforms.push(Transform {
                input: manifest.clone(),
                output,
            });
        } else if swap_component(manifest, "output", "input").is_none_or(|i| !i.is_file()) {
            tracing::warn!(
                "{}: a batch-transform manifest with no input manifest beside it under input/; skipped",
                manifest.display()
            );
        }
    }
    Ok(transforms)
}

/// `path` with its last component named `from` renamed `to`.
fn swap_component(path: &Path, from: &str, to: &str) -> Option<PathBuf> {
    let parts: Vec<Component> = path.components().collect();
    let at = parts.iter().rposition(|c| c.as_os_str() == from)?;
    let mut swapped = PathBuf::new();
    for (i, c) in parts.iter().enumerate() {
        swapped.push(if i == at { Path::new(to) } else { Path::new(c) });
    }
    Some(swapped)
}

/// The local files a manifest lists, in its order.
pub fn listed(manifest: &Path) -> Result<Vec<PathBuf>> {
    let bad = |why: &str| {
        JobError::client(format!(
            "{}: not a batch-transform manifest ({why}); expected [{{\"prefix\": \"s3://bucket/path/\"}}, \"key\", …].",
            manifest.display()
        ))
    };
    let text = std::fs::read_to_string(manifest)
        .map_err(|e| JobError::client(format!("Cannot read {}: {e}", manifest.display())))?;
    let entries: Vec<Json> =
        serde_json::from_str(&text).map_err(|e| bad(&format!("not a JSON array: {e}")))?;
    let Some((head, keys)) = entries.split_first() else {
        return Err(bad("the array is empty"));
    };
    let prefix = head
        .get("prefix")
        .and_then(Json::as_str)
        .ok_or_else(|| bad("the first entry has no \"prefix\""))?;
    let base = manifest.parent().unwrap_or(Path::new("."));
    keys.iter()
        .map(|key| {
            let key = key.as_str().ok_or_else(|| bad("a key is not a string"))?;
            crate::dataset::files::resolve_uri(
                "batch-transform manifest",
                &format!("{prefix}{key}"),
                base,
            )
        })
        .collect()
}

/// The events of one transform, file pair by file pair, handed to `each`
/// with the input file and the event's line (1 for a whole-file event).
/// Memory holds one input file and its output.
pub(super) fn for_each_event(
    transform: &Transform,
    mut each: impl FnMut(&Path, usize, Event<'static>) -> Result<()>,
) -> Result<()> {
    let inputs = listed(&transform.input)?;
    let outputs = listed(&transform.output)?;
    if inputs.len() != outputs.len() {
        return Err(JobError::client(format!(
            "{} lists {} files but {} lists {}; a transform's input and output manifests must list one output file per input file.",
            transform.input.display(),
            inputs.len(),
            transform.output.display(),
            outputs.len()
        )));
    }
    let hour = hour_of(&transform.input);
    for (input, output) in inputs.iter().zip(&outputs) {
        for (line, event) in file_events(input, output, hour.as_deref())? {
            each(input, line, event)?;
        }
    }
    Ok(())
}

/// The start of the hour a capture folder names (`…/yyyy/mm/dd/hh/file`),
/// as an ISO-8601 time.
fn hour_of(manifest: &Path) -> Option<String> {
    let parts: Vec<u32> = manifest
        .parent()?
        .components()
        .rev()
        .take(4)
        .map(|c| c.as_os_str().to_str()?.parse().ok())
        .collect::<Option<_>>()?;
    let [h, d, m, y] = parts[..] else { return None };
    let time = Utc.with_ymd_and_hms(y as i32, m, d, h, 0, 0).single()?;
    Some(time.format("%Y-%m-%dT%H:%M:%SZ").to_string())
}

/// Pairs an input file with its output file: one event for a file that is
/// one JSON document, else one per line.
fn file_events(
    input: &Path,
    output: &Path,
    hour: Option<&str>,
) -> Result<Vec<(usize, Event<'static>)>> {
    let read = |path: &Path| {
        crate::dataset::files::read_all(path).and_then(|bytes| {
            String::from_utf8(bytes)
                .map_err(|_| JobError::client(format!("{}: not UTF-8 text.", path.display())))
        })
    };
    let (input_text, output_text) = (read(input)?, read(output)?);
    if let Ok(whole) = serde_json::from_str::<Json>(&input_text) {
        let event = event(&whole.to_string(), output_text.trim(), hour);
        return Ok(vec![(1, event)]);
    }
    let lines = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(str::to_string)
            .collect()
    };
    let (ins, outs) = (lines(&input_text), lines(&output_text));
    if ins.len() != outs.len() {
        return Err(JobError::client(format!(
            "{} has {} records but its transform output {} has {}; each input line needs one output line (SplitType Line).",
            input.display(),
            ins.len(),
            output.display(),
            outs.len()
        )));
    }
    Ok(ins
        .iter()
        .zip(&outs)
        .enumerate()
        .map(|(n, (i, o))| (n + 1, event(i, o, hour)))
        .collect())
}

/// An event from a transform's input and output text. An output wrapped
/// by `GenerateInferenceId` gives the event its inference id and time.
fn event(input: &str, output: &str, hour: Option<&str>) -> Event<'static> {
    let mut metadata = Metadata {
        inference_time: hour.map(|h| h.to_string().into()),
        ..Metadata::default()
    };
    let mut answer = output.to_string();
    if let Ok(Json::Object(mut wrapped)) = serde_json::from_str::<Json>(output) {
        if let Some(inner) = wrapped.remove("SageMakerOutput") {
            answer = match inner {
                Json::String(s) => s,
                other => other.to_string(),
            };
            let text = |v: Option<Json>| v.and_then(|v| v.as_str().map(|s| s.to_string().into()));
            metadata.inference_id = text(wrapped.remove("SageMakerInferenceId"));
            if let Some(t) = text(wrapped.remove("SageMakerInferenceTime")) {
                metadata.inference_time = Some(t);
            }
        }
    }
    let payload = |data: String| {
        let json = data.trim_start().starts_with(['{', '[']);
        Payload {
            content_type: Some(if json { "application/json" } else { "text/csv" }.into()),
            data: data.into(),
            encoding: None,
        }
    };
    Event {
        capture: Some(CaptureData {
            input: Some(payload(input.to_string())),
            output: Some(payload(answer)),
        }),
        metadata,
        ground_truth: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The spec's manifest (`[{"prefix": …}, ""]`) and a prefix with keys;
    /// input and output manifests paired; JSON Lines input with
    /// an output line wrapped by `GenerateInferenceId` and one not; times from the output, else the hour.
    #[test]
    fn reads_manifests_and_pairs_input_with_output_lines() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let data = root.join("data");
        std::fs::create_dir_all(&data).unwrap();
        std::fs::write(
            data.join("in.jsonl"),
            "{\"features\": [1, 2]}\n{\"features\": [3, 4]}\n",
        )
        .unwrap();
        std::fs::write(
            data.join("in.jsonl.out"),
            "{\"SageMakerInferenceId\":\"id-1\",\"SageMakerInferenceTime\":\"2024-01-19T19:25:34Z\",\"SageMakerOutput\":{\"score\":0.7}}\n0.2\n",
        )
        .unwrap();
        let hour = |side: &str| root.join(format!("capture/{side}/2024/01/19/19"));
        for side in ["input", "output"] {
            std::fs::create_dir_all(hour(side)).unwrap();
        }
        let prefix = format!("file://{}", data.display());
        std::fs::write(
            hour("input").join("m.json"),
            format!("[{{\"prefix\": \"{prefix}/in.jsonl\"}}, \"\"]"),
        )
        .unwrap();
        std::fs::write(
            hour("output").join("m.json"),
            format!("[{{\"prefix\": \"{prefix}/\"}}, \"in.jsonl.out\"]"),
        )
        .unwrap();
        let manifests = vec![hour("input").join("m.json"), hour("output").join("m.json")];
        assert!(manifests.iter().all(|m| is_manifest(m)));
        let transforms = pair(&manifests).unwrap();
        assert_eq!(
            transforms,
            [Transform {
                input: manifests[0].clone(),
                output: manifests[1].clone()
            }]
        );
        let mut events = Vec::new();
        for_each_event(&transforms[0], |file, line, e| {
            events.push((file.to_path_buf(), line, e));
            Ok(())
        })
        .unwrap();
        assert_eq!(events.len(), 2);
        let (file, line, first) = &events[0];
        assert_eq!((file, *line), (&data.join("in.jsonl"), 1));
        assert_eq!(first.metadata.inference_id.as_deref(), Some("id-1"));
        assert_eq!(
            first.metadata.inference_time.as_deref(),
            Some("2024-01-19T19:25:34Z")
        );
        let capture = first.capture.as_ref().unwrap();
        assert_eq!(
            capture.input.as_ref().unwrap().data,
            "{\"features\": [1, 2]}"
        );
        assert_eq!(capture.output.as_ref().unwrap().data, "{\"score\":0.7}");
        let second = &events[1].2;
        assert_eq!(second.metadata.inference_id, None);
        assert_eq!(
            second.metadata.inference_time.as_deref(),
            Some("2024-01-19T19:00:00Z")
        );
        let output = second.capture.as_ref().unwrap().output.as_ref().unwrap();
        assert_eq!(
            (output.data.as_ref(), output.content_type.as_deref()),
            ("0.2", Some("text/csv"))
        );
    }

    #[test]
    fn an_input_manifest_without_output_fails_with_a_sentence() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("input/2024/01/19/19/m.json");
        std::fs::create_dir_all(input.parent().unwrap()).unwrap();
        std::fs::write(&input, "[{\"prefix\": \"x\"}, \"\"]").unwrap();
        let e = pair(&[input]).unwrap_err().to_string();
        assert!(e.contains("without its output manifest"), "{e}");
    }
}
