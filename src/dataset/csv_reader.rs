//! CSV datasets: header detection and chunked, validated reading.

use super::{files, Chunk, CHUNK_ROWS};
use crate::config::{AnalysisConfig, NameOrIndex};
use crate::error::{JobError, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// What reading needs to know about the files' shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CsvLayout {
    /// The header line, when files start with one (skipped in each file).
    header_row: Option<Vec<String>>,
    /// Skip each file's first line whatever it holds (a shard declared to
    /// start with a header).
    skip_first_line: bool,
    /// Number of columns every row must have.
    columns: usize,
}

/// Whether the files of a shard start with a header line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum HeaderMode {
    /// A first line equal to the dataset's header (as the plan recorded
    /// it) is a header, as `run` treats part files.
    Auto,
    /// Every file starts with a header line.
    Yes,
    /// Every line is a data row.
    No,
}

impl CsvLayout {
    /// This layout for the files of a shard, per `mode`.
    pub fn for_shard(&self, mode: HeaderMode) -> CsvLayout {
        let mut layout = self.clone();
        match mode {
            HeaderMode::Auto => {}
            HeaderMode::Yes => layout.skip_first_line = true,
            HeaderMode::No => layout.header_row = None,
        }
        layout
    }
}

/// Reads the first rows to decide the headers and whether files carry a
/// header row: files starting with the configured `headers` have one; else
/// the first row is one when it names the label or is all text above a row
/// with a number.
pub fn detect_layout(
    config: &AnalysisConfig,
    files: &[PathBuf],
) -> Result<(Vec<String>, CsvLayout)> {
    let first_rows = peek_rows(&files[0], 2)?;
    let Some(first) = first_rows.first() else {
        return Err(JobError::client(format!(
            "Dataset is empty: {} has no rows.",
            files[0].display()
        )));
    };
    let trimmed: Vec<String> = first.iter().map(|c| c.trim().to_string()).collect();
    if let Some(headers) = &config.headers {
        if headers.len() != first.len() {
            return Err(JobError::client(format!(
                "Headers in config do not match with the number of columns in the dataset: headers has {} names, {} has {} columns.",
                headers.len(),
                files[0].display(),
                first.len()
            )));
        }
        // Any file whose first row equals the configured headers starts
        // with a header row, whichever file comes first.
        return Ok((
            headers.clone(),
            CsvLayout {
                header_row: Some(headers.clone()),
                skip_first_line: false,
                columns: first.len(),
            },
        ));
    }
    let is_number = |s: &str| super::value::parse_float(s.trim()).is_some();
    let label_named = matches!(&config.label, Some(NameOrIndex::Name(n)) if trimmed.contains(n));
    let all_text = trimmed.iter().all(|c| !is_number(c));
    let second_numeric = first_rows
        .get(1)
        .is_some_and(|r| r.iter().any(|c| is_number(c)));
    if label_named || (all_text && second_numeric) {
        Ok((
            trimmed,
            CsvLayout {
                header_row: Some(first.clone()),
                skip_first_line: false,
                columns: first.len(),
            },
        ))
    } else {
        let generated = (0..first.len()).map(|i| format!("column_{i}")).collect();
        Ok((
            generated,
            CsvLayout {
                header_row: None,
                skip_first_line: false,
                columns: first.len(),
            },
        ))
    }
}

fn reader<R: std::io::Read>(read: R) -> csv::Reader<R> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(read)
}

fn peek_rows(path: &Path, n: usize) -> Result<Vec<Vec<String>>> {
    let mut rdr = reader(files::open(path)?);
    let mut rows = Vec::new();
    for record in rdr.records().take(n) {
        let record = record.map_err(|e| csv_error(path, &e))?;
        let mut row: Vec<String> = record.iter().map(str::to_string).collect();
        if let Some(first) = row.first_mut() {
            *first = first.trim_start_matches('\u{feff}').to_string();
        }
        rows.push(row);
    }
    Ok(rows)
}

fn csv_error(path: &Path, e: &csv::Error) -> JobError {
    match e.kind() {
        csv::ErrorKind::Utf8 { pos, .. } => JobError::client(format!(
            "{}: line {} is not valid UTF-8. Save the file as UTF-8.",
            path.display(),
            pos.as_ref().map_or(0, |p| p.line())
        )),
        // Once a file is open, a read error almost always comes from its
        // decompression: a gzip file cut short.
        csv::ErrorKind::Io(io) => JobError::client(format!(
            "{}: the file cannot be read to the end ({io}); a gzip file that ends early was cut short, e.g. by an interrupted upload.",
            path.display()
        )),
        _ => JobError::client(format!("{}: cannot read CSV: {e}", path.display())),
    }
}

/// Streams the rows of all files in chunks, checking every row's width and
/// encoding, skipping each file's header row.
pub fn chunks<'a>(
    layout: &'a CsvLayout,
    files: &'a [PathBuf],
) -> impl Iterator<Item = Result<Chunk>> + Send + 'a {
    let mut state = ReadState {
        layout,
        files,
        file_index: 0,
        reader: None,
        next_row: 0,
        failed: false,
        line_in_file: 0,
    };
    std::iter::from_fn(move || state.next_chunk().transpose())
}

struct ReadState<'a> {
    layout: &'a CsvLayout,
    files: &'a [PathBuf],
    file_index: usize,
    reader: Option<csv::Reader<Box<dyn std::io::Read + Send>>>,
    next_row: u64,
    failed: bool,
    line_in_file: u64,
}

impl ReadState<'_> {
    fn next_chunk(&mut self) -> Result<Option<Chunk>> {
        if self.failed {
            return Ok(None);
        }
        let result = self.fill();
        if result.is_err() {
            self.failed = true;
        }
        result
    }

    fn fill(&mut self) -> Result<Option<Chunk>> {
        let mut rows = Vec::with_capacity(CHUNK_ROWS);
        let mut record = csv::ByteRecord::new();
        while rows.len() < CHUNK_ROWS {
            if self.reader.is_none() {
                let Some(path) = self.files.get(self.file_index) else {
                    break;
                };
                self.reader = Some(reader(files::open(path)?));
                self.line_in_file = 0;
            }
            let path = &self.files[self.file_index];
            let rdr = self.reader.as_mut().expect("reader was just opened");
            let more = rdr
                .read_byte_record(&mut record)
                .map_err(|e| csv_error(path, &e))?;
            if !more {
                self.reader = None;
                self.file_index += 1;
                continue;
            }
            self.line_in_file += 1;
            let first_of_file = self.line_in_file == 1;
            if first_of_file {
                strip_bom(&mut record);
                if self.layout.skip_first_line || self.is_header(&record) {
                    continue;
                }
            }
            let line = record.position().map_or(self.line_in_file, |p| p.line());
            if record.len() != self.layout.columns {
                if record.len() == 1 && record.get(0).is_some_and(|f| f.is_empty()) {
                    continue; // a blank line
                }
                // An unclosed quote swallows the following lines into one
                // field, so the row comes out short with line breaks inside.
                let hint = if record.iter().any(|f| f.contains(&b'\n')) {
                    "Check for an unclosed quote: a quoted field runs over several lines from there."
                } else {
                    "Check for a missing or extra separator on that line."
                };
                return Err(JobError::client(format!(
                    "{}: line {line} has {} fields but the dataset has {} columns. {hint}",
                    path.display(),
                    record.len(),
                    self.layout.columns
                )));
            }
            if std::str::from_utf8(record.as_slice()).is_err() {
                return Err(JobError::client(format!(
                    "{}: line {line} is not valid UTF-8. Save the file as UTF-8.",
                    path.display()
                )));
            }
            rows.push(record.clone());
        }
        if rows.is_empty() {
            return Ok(None);
        }
        let chunk = Chunk::csv(self.next_row, rows);
        self.next_row += chunk.len() as u64;
        Ok(Some(chunk))
    }

    fn is_header(&self, record: &csv::ByteRecord) -> bool {
        let Some(header) = &self.layout.header_row else {
            return false;
        };
        record.len() == header.len()
            && record
                .iter()
                .zip(header)
                .all(|(a, b)| a.trim_ascii() == b.trim().as_bytes())
    }
}

fn strip_bom(record: &mut csv::ByteRecord) {
    if record
        .get(0)
        .is_some_and(|f| f.starts_with(b"\xEF\xBB\xBF"))
    {
        let fields: Vec<Vec<u8>> = record
            .iter()
            .enumerate()
            .map(|(i, f)| if i == 0 { f[3..].to_vec() } else { f.to_vec() })
            .collect();
        let pos = record.position().cloned();
        *record = csv::ByteRecord::from(fields);
        record.set_position(pos);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads `data` (written to a file) as a CSV dataset with a `y` label and
    /// returns the first failure.
    fn read_error(data: &[u8]) -> String {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data.csv");
        std::fs::write(&path, data).unwrap();
        let config = crate::config::parse(
            br#"{"dataset_type":"text/csv","label":"y","label_values_or_threshold":[1],
                "facet":[{"name_or_index":"f"}],"methods":{"pre_training_bias":{"methods":"all"}}}"#,
        )
        .unwrap();
        let files = vec![path];
        let (_, layout) = detect_layout(&config, &files).unwrap();
        let error = chunks(&layout, &files)
            .find_map(|chunk| chunk.err())
            .expect("reading fails");
        error.message
    }

    #[test]
    fn an_unclosed_quote_is_named() {
        let message = read_error(b"f,x,y\na,1,1\nb,\"2,0\na,3,0\n");
        assert!(message.contains("line 3 has 2 fields"), "{message}");
        assert!(message.contains("unclosed quote"), "{message}");
    }

    #[test]
    fn a_truncated_gzip_file_is_named() {
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all("f,x,y\n".repeat(2000).as_bytes()).unwrap();
        let whole = gz.finish().unwrap();
        let message = read_error(&whole[..whole.len() / 2]);
        assert!(message.contains("cannot be read to the end"), "{message}");
        assert!(message.contains("cut short"), "{message}");
    }
}
