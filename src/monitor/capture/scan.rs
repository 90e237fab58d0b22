//! Streaming a folder of capture files (and the batch transforms its
//! manifests list) into decoded records, decoded in parallel batches.

use super::decode::{Decoder, Records};
use super::event::Event;
use super::ground_truth::GroundTruth;
use super::{manifest, read_error, Window};
use crate::error::{JobError, Result};
use rayon::prelude::*;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::Arc;

/// What a scan saw, for the log and for "empty window" decisions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Capture files read.
    pub files: u64,
    /// Events read.
    pub events: u64,
    /// Events outside the window (left out).
    pub outside_window: u64,
    /// Events in the window without ground truth (left out of bias).
    pub without_ground_truth: u64,
    /// Records of the events in the window.
    pub records: u64,
}

/// One event in the window, as read: its records, and where it came from.
#[derive(Debug)]
pub struct Decoded {
    /// The capture file (or, for batch transform, the transform's input file).
    pub file: Arc<Path>,
    /// Its records.
    pub records: Records,
}

/// Events parsed per batch: events are decoded in parallel within a batch,
/// and memory holds a few batches.
const BATCH_EVENTS: usize = 4096;

/// Batches the reading thread may have ready before the decoder takes them.
const BATCHES_AHEAD: usize = 2;

/// An event waiting in a batch: a capture line still to parse, or an
/// event built from batch-transform files.
enum Pending {
    Line(String),
    Built(Box<Event<'static>>),
}

/// Where a pending event came from, for error messages.
struct Item {
    file: Arc<Path>,
    line: usize,
    event: Pending,
}

/// Streams the events under `captured` (recursively, files in path order,
/// then the batch transforms its manifests list) that fall in `window`,
/// decoded into records, in batches handed to `sink` in that order.
///
/// Three stages overlap, so that a run is not the sum of them: a thread
/// reads lines into batches, the pool decodes batch k, and `sink` takes
/// batch k - 1 meanwhile.
pub fn scan(
    captured: &Path,
    window: &Window,
    decoder: &Decoder,
    ground_truth: Option<&GroundTruth>,
    sink: impl FnMut(Vec<Decoded>) -> Result<()> + Send,
) -> Result<Stats> {
    let (files, manifests) = capture_files(captured)?;
    let (batches, received) = mpsc::sync_channel(BATCHES_AHEAD);
    std::thread::scope(|scope| {
        let reader = scope.spawn(move || read_batches(files, manifests, batches));
        let decoded = decode_batches(received, window, decoder, ground_truth, sink);
        // The reader has ended: it finished, or its next send failed once
        // the decoder dropped the receiving end.
        let files = reader
            .join()
            .map_err(|_| JobError::algorithm("The capture reading thread stopped unexpectedly."))?;
        Ok(Stats { files, ..decoded? })
    })
}

/// The reading stage: the lines of every capture file, then the events of
/// the batch transforms, in batches of [`BATCH_EVENTS`] sent to the decoder
/// (a read error is sent in their place). Returns how many files it read.
fn read_batches(
    files: Vec<PathBuf>,
    manifests: Vec<PathBuf>,
    batches: SyncSender<Result<Vec<Item>>>,
) -> u64 {
    let mut read = 0;
    let mut batch = Vec::with_capacity(BATCH_EVENTS);
    // `false` when the decoder stopped listening (it failed): stop reading.
    let push = |item: Item, batch: &mut Vec<Item>| -> bool {
        batch.push(item);
        batch.len() < BATCH_EVENTS
            || batches
                .send(Ok(std::mem::replace(
                    batch,
                    Vec::with_capacity(BATCH_EVENTS),
                )))
                .is_ok()
    };
    let outcome = (|| -> Result<()> {
        for file in files {
            read += 1;
            let reader = std::io::BufReader::new(crate::dataset::files::open(&file)?);
            let file: Arc<Path> = file.into();
            for (n, line) in reader.lines().enumerate() {
                let line = line.map_err(|e| read_error(&file, e))?;
                if line.trim().is_empty() {
                    continue;
                }
                let (file, line, event) = (file.clone(), n + 1, Pending::Line(line));
                if !push(Item { file, line, event }, &mut batch) {
                    return Ok(());
                }
            }
        }
        for transform in manifest::pair(&manifests)? {
            read += 1;
            let mut last: Option<Arc<Path>> = None;
            manifest::for_each_event(&transform, |file, line, event| {
                let file = match &last {
                    Some(f) if **f == *file => f.clone(),
                    _ => last.insert(file.into()).clone(),
                };
                let event = Pending::Built(Box::new(event));
                match push(Item { file, line, event }, &mut batch) {
                    true => Ok(()),
                    false => Err(JobError::algorithm("the decoder stopped")),
                }
            })?;
        }
        Ok(())
    })();
    // After a failed send the decoder is gone and this send fails too: fine.
    let _ = batches.send(outcome.map(|()| batch));
    read
}

/// The decoding stage: each batch decoded in parallel while `sink` takes
/// the batch before it. Returns the counts (all but `files`).
fn decode_batches(
    batches: Receiver<Result<Vec<Item>>>,
    window: &Window,
    decoder: &Decoder,
    ground_truth: Option<&GroundTruth>,
    mut sink: impl FnMut(Vec<Decoded>) -> Result<()> + Send,
) -> Result<Stats> {
    let mut stats = Stats::default();
    let mut ready: Option<Vec<Decoded>> = None;
    for batch in batches {
        let batch = batch?;
        let waiting = ready.take();
        let (decoded, sunk) = rayon::join(
            || -> Result<Vec<Option<(Decoded, bool)>>> {
                batch
                    .into_par_iter()
                    .map(|item| decode(item, window, decoder, ground_truth))
                    .collect()
            },
            || waiting.map_or(Ok(()), &mut sink),
        );
        sunk?;
        ready = Some(count(decoded?, &mut stats));
    }
    if let Some(last) = ready {
        sink(last)?;
    }
    Ok(stats)
}

/// Counts a decoded batch into `stats` and keeps the events in the window.
fn count(decoded: Vec<Option<(Decoded, bool)>>, stats: &mut Stats) -> Vec<Decoded> {
    stats.events += decoded.len() as u64;
    let mut kept = Vec::with_capacity(decoded.len());
    for d in decoded {
        match d {
            None => stats.outside_window += 1,
            Some((d, joined)) => {
                stats.records += d.records.features.len() as u64;
                stats.without_ground_truth += !joined as u64;
                kept.push(d);
            }
        }
    }
    kept
}

/// The files under `captured`, recursively: capture (or merged) JSON Lines
/// files, and batch-transform manifests (a JSON array, not events).
pub fn capture_files(captured: &Path) -> Result<(Vec<PathBuf>, Vec<PathBuf>)> {
    Ok(crate::dataset::files::list(captured)?
        .into_iter()
        .partition(|f| !manifest::is_manifest(f)))
}

/// Decodes one event: `None` when it is outside the window; the bool says
/// whether it has ground truth.
fn decode(
    item: Item,
    window: &Window,
    decoder: &Decoder,
    ground_truth: Option<&GroundTruth>,
) -> Result<Option<(Decoded, bool)>> {
    let at = || format!("{} line {}", item.file.display(), item.line);
    // The parsed event borrows its line's text where JSON escapes allow.
    let line: String;
    let event: Event<'_> = match item.event {
        Pending::Built(event) => *event,
        Pending::Line(text) => {
            line = text;
            serde_json::from_str(&line).map_err(|e| {
            JobError::client(format!(
                "{}: not a captured event ({e}); expected SageMaker data-capture JSON Lines (captureData, eventMetadata).",
                at()
            ))
        })?
        }
    };
    if !window.contains(event.metadata.inference_time.as_deref()) {
        return Ok(None);
    }
    let truth = ground_truth.and_then(|g| g.find(&event.metadata));
    let joined = event.ground_truth.is_some() || truth.is_some();
    let records = decoder
        .records(&event, truth)
        .map_err(|e| JobError::client(format!("{}: {e}.", at())))?;
    Ok(Some((
        Decoded {
            file: item.file,
            records,
        },
        joined,
    )))
}
