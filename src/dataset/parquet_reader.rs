//! Parquet datasets, read row by row with the `parquet` crate's record API
//! (no Arrow needed: the job only ever looks at a few cells of each row).

use super::value::Cell;
use super::{Chunk, CHUNK_ROWS};
use crate::error::{JobError, Result};
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::Field;
use std::fs::File;
use std::path::{Path, PathBuf};

fn open(path: &Path) -> Result<SerializedFileReader<File>> {
    let file = File::open(path)
        .map_err(|e| JobError::client(format!("Cannot open {}: {e}", path.display())))?;
    SerializedFileReader::new(file).map_err(|e| {
        JobError::client(format!(
            "{} is not a readable Parquet file: {e}. Is it truncated?",
            path.display()
        ))
    })
}

/// Runs `read` on the file at `path`, turning a panic inside the parquet
/// crate into a ClientError. Some corrupt files (found by fuzzing: a
/// dictionary page that is missing) make that crate panic instead of
/// returning an error; the user still deserves a sentence about the file.
fn guarded<T>(path: &Path, read: impl FnOnce() -> Result<T>) -> Result<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(read)).unwrap_or_else(|panic| {
        let reason = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "no reason given".into());
        Err(JobError::client(format!(
            "{} is a damaged Parquet file: the reader gave up ({reason}). Is it truncated or written by a broken tool?",
            path.display()
        )))
    })
}

/// Column names of a Parquet file.
pub fn headers(path: &Path) -> Result<Vec<String>> {
    guarded(path, || read_headers(path))
}

fn read_headers(path: &Path) -> Result<Vec<String>> {
    let reader = open(path)?;
    let schema = reader.metadata().file_metadata().schema_descr();
    Ok(schema
        .root_schema()
        .get_fields()
        .iter()
        .map(|f| f.name().to_string())
        .collect())
}

fn to_cell(field: &Field) -> Cell {
    match field {
        Field::Null => Cell::Missing,
        Field::Bool(b) => Cell::Bool(*b),
        Field::Byte(v) => Cell::Int(*v as i64),
        Field::Short(v) => Cell::Int(*v as i64),
        Field::Int(v) => Cell::Int(*v as i64),
        Field::Long(v) => Cell::Int(*v),
        Field::UByte(v) => Cell::Int(*v as i64),
        Field::UShort(v) => Cell::Int(*v as i64),
        Field::UInt(v) => Cell::Int(*v as i64),
        Field::ULong(v) => Cell::Int(*v as i64),
        Field::Float16(v) => Cell::Float(f64::from(*v)),
        Field::Float(v) => Cell::Float(*v as f64),
        Field::Double(v) => Cell::Float(*v),
        Field::Str(s) => Cell::Str(s.as_str().into()),
        other => Cell::Str(other.to_string().into()),
    }
}

/// Streams all rows of all files in chunks, one Parquet row group at a time,
/// so memory holds a row group's rows, not a file's.
pub fn chunks(paths: &[PathBuf], width: usize) -> impl Iterator<Item = Result<Chunk>> + Send + '_ {
    let mut next_row = 0u64;
    paths
        .iter()
        .flat_map(move |path| row_groups(path, width))
        .flat_map(move |group| {
            let mut out = Vec::new();
            match group {
                Err(e) => out.push(Err(e)),
                Ok(rows) => {
                    let mut rows = rows.into_iter().peekable();
                    while rows.peek().is_some() {
                        let batch: Vec<Vec<Cell>> = rows.by_ref().take(CHUNK_ROWS).collect();
                        let chunk = Chunk::cells(next_row, batch);
                        next_row += chunk.len() as u64;
                        out.push(Ok(chunk));
                    }
                }
            }
            out
        })
}

/// The rows of each row group of the file at `path`, read only when the
/// iterator reaches that group.
fn row_groups(
    path: &Path,
    width: usize,
) -> Box<dyn Iterator<Item = Result<Vec<Vec<Cell>>>> + Send + '_> {
    let reader = match guarded(path, || open(path)) {
        Ok(reader) => reader,
        Err(e) => return Box::new(std::iter::once(Err(e))),
    };
    let metadata = reader.metadata();
    // Row number, within the file, of each group's first row (for messages).
    let first_rows: Vec<usize> = metadata
        .row_groups()
        .iter()
        .scan(0usize, |first, group| {
            let this = *first;
            *first += group.num_rows().max(0) as usize;
            Some(this)
        })
        .collect();
    Box::new(
        first_rows
            .into_iter()
            .enumerate()
            .map(move |(group, first_row)| {
                guarded(path, || read_group(&reader, path, group, first_row, width))
            }),
    )
}

fn read_group(
    reader: &SerializedFileReader<File>,
    path: &Path,
    group: usize,
    first_row: usize,
    width: usize,
) -> Result<Vec<Vec<Cell>>> {
    let cannot_read =
        |e| JobError::client(format!("{}: cannot read Parquet rows: {e}", path.display()));
    let group_reader = reader.get_row_group(group).map_err(cannot_read)?;
    let iter = group_reader.get_row_iter(None).map_err(cannot_read)?;
    let mut rows = Vec::new();
    for (i, row) in iter.enumerate() {
        let row = row.map_err(|e| {
            JobError::client(format!(
                "{}: row {}: {e}. Is the file truncated?",
                path.display(),
                first_row + i
            ))
        })?;
        let cells: Vec<Cell> = row.get_column_iter().map(|(_, f)| to_cell(f)).collect();
        if cells.len() != width {
            return Err(JobError::client(format!(
                "{}: has {} columns but the first file has {width}. All Parquet files need the same columns.",
                path.display(),
                cells.len()
            )));
        }
        rows.push(cells);
    }
    Ok(rows)
}
