//! Predictions for a stream of dataset chunks: each chunk gets the model's
//! predicted label for every row as an added column, in row order, while
//! the next chunks are already being read and predicted.

use super::outputs::Labeler;
use super::Predictor;
use crate::dataset::value::{Cell, ColumnKind};
use crate::dataset::Chunk;
use crate::error::{JobError, Result};
use futures_util::StreamExt;
use std::io::Write;
use std::path::Path;

/// Chunks predicted ahead of the consumer: with the semaphore in the
/// predictor this keeps requests flowing across chunk boundaries, and four
/// chunks of eight full batches give 16 requests in flight work to do.
const CHUNKS_AHEAD: usize = 4;

/// Where predicted labels go besides the analyses.
pub struct PredictionSink {
    path: std::path::PathBuf,
    out: std::io::BufWriter<std::fs::File>,
}

impl PredictionSink {
    /// A CSV file with the header `predicted_label` and one line per row,
    /// the form `smclarify_reference.py --predicted` reads.
    pub fn create(path: &Path) -> Result<PredictionSink> {
        let file = std::fs::File::create(path)
            .map_err(|e| JobError::client(format!("Cannot create {}: {e}", path.display())))?;
        let mut sink = PredictionSink {
            path: path.to_path_buf(),
            out: std::io::BufWriter::new(file),
        };
        sink.line(b"predicted_label")?;
        Ok(sink)
    }

    fn line(&mut self, text: &[u8]) -> Result<()> {
        self.out
            .write_all(text)
            .and_then(|_| self.out.write_all(b"\n"))
            .map_err(|e| JobError::client(format!("Cannot write {}: {e}", self.path.display())))
    }

    fn labels(&mut self, labels: &[Cell]) -> Result<()> {
        for label in labels {
            let text = ColumnKind::Object.value_of(label).py_str();
            self.line(text.as_bytes())?;
        }
        Ok(())
    }

    fn finish(mut self) -> Result<()> {
        self.out
            .flush()
            .map_err(|e| JobError::client(format!("Cannot write {}: {e}", self.path.display())))
    }
}

/// Runs `consume` over `chunks` with the model's predicted labels added as
/// column `column`. `features` are the columns sent to the model.
pub fn with_predicted_labels<I, R>(
    predictor: &Predictor,
    labeler: &Labeler,
    chunks: I,
    column: usize,
    features: &[usize],
    mut sink: Option<PredictionSink>,
    consume: impl FnOnce(&mut (dyn Iterator<Item = Result<Chunk>> + Send)) -> Result<R> + Send,
) -> Result<R>
where
    I: Iterator<Item = Result<Chunk>> + Send,
    R: Send,
{
    let runtime = super::runtime()?;
    let (sender, receiver) = std::sync::mpsc::sync_channel::<Result<Chunk>>(CHUNKS_AHEAD);
    std::thread::scope(|scope| {
        let producer = scope.spawn(move || {
            runtime.block_on(async {
                let mut predicted = futures_util::stream::iter(chunks)
                    .map(|chunk| async move {
                        let chunk = chunk?;
                        let labels = predict_chunk(predictor, labeler, &chunk, features).await?;
                        Ok::<_, JobError>((chunk, labels))
                    })
                    .buffered(CHUNKS_AHEAD);
                while let Some(outcome) = predicted.next().await {
                    let outcome = outcome.and_then(|(mut chunk, labels)| {
                        if let Some(s) = sink.as_mut() {
                            s.labels(&labels)?;
                        }
                        chunk.add_column(column, labels);
                        Ok(chunk)
                    });
                    let failed = outcome.is_err();
                    if sender.send(outcome).is_err() || failed {
                        return Ok(());
                    }
                }
                sink.map_or(Ok(()), PredictionSink::finish)
            })
        });
        let result = consume(&mut receiver.into_iter());
        let produced = producer.join().unwrap_or_else(|_| {
            Err(JobError::algorithm(
                "The prediction thread stopped unexpectedly.",
            ))
        });
        let value = result?;
        produced.map(|_| value)
    })
}

async fn predict_chunk(
    predictor: &Predictor,
    labeler: &Labeler,
    chunk: &Chunk,
    features: &[usize],
) -> Result<Vec<Cell>> {
    let mut cells = Vec::with_capacity(features.len());
    let encoded: Vec<Vec<u8>> = (0..chunk.len())
        .map(|row| {
            cells.clear();
            cells.extend(features.iter().map(|&c| chunk.cell(row, c)));
            predictor.encode(&cells)
        })
        .collect();
    let outputs = predictor.predict_encoded(chunk.first_row, &encoded).await?;
    outputs
        .iter()
        .enumerate()
        .map(|(i, output)| {
            labeler.label(output).map_err(|why| {
                JobError::client(format!(
                    "Cannot get a predicted label for dataset row {}: {why}. The model answered label={} score={}; check predictor.label, predictor.probability and predictor.label_headers.",
                    chunk.first_row + i as u64,
                    output.label.as_ref().map_or("(none)".into(), |v| v.to_string()),
                    output.score.as_ref().map_or("(none)".into(), |v| v.to_string()),
                ))
            })
        })
        .collect()
}
