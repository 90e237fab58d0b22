//! Records written as CSV: the captured features SHAP explains, and the
//! joined table `--save-joined-table` keeps.

use crate::dataset::value::Cell;
use crate::error::{JobError, Result};
use std::path::{Path, PathBuf};

/// Writes records as CSV rows (a header line first).
pub(super) struct CsvSink {
    writer: csv::Writer<std::io::BufWriter<std::fs::File>>,
    path: PathBuf,
}

impl CsvSink {
    pub(super) fn create(path: &Path, headers: &[String]) -> Result<CsvSink> {
        let file = std::fs::File::create(path)
            .map_err(|e| JobError::client(format!("Cannot create {}: {e}", path.display())))?;
        let mut sink = CsvSink {
            writer: csv::Writer::from_writer(std::io::BufWriter::new(file)),
            path: path.to_path_buf(),
        };
        sink.write(headers.iter().map(|h| h.as_bytes().to_vec()))?;
        Ok(sink)
    }

    fn write(&mut self, fields: impl IntoIterator<Item = Vec<u8>>) -> Result<()> {
        self.writer
            .write_record(fields)
            .map_err(|e| JobError::client(format!("Cannot write {}: {e}", self.path.display())))
    }

    pub(super) fn write_cells<'a>(
        &mut self,
        cells: impl IntoIterator<Item = &'a Cell>,
    ) -> Result<()> {
        self.write(cells.into_iter().map(cell_text))
    }

    pub(super) fn close(mut self) -> Result<()> {
        self.writer
            .flush()
            .map_err(|e| JobError::client(format!("Cannot write {}: {e}", self.path.display())))
    }
}

/// A cell as CSV text that pandas reads back as the same value.
fn cell_text(cell: &Cell) -> Vec<u8> {
    match cell {
        Cell::Missing => Vec::new(),
        Cell::Text(t) => t.to_vec(),
        Cell::Str(s) => s.as_bytes().to_vec(),
        Cell::Int(i) => i.to_string().into_bytes(),
        Cell::Float(f) => crate::pyfmt::float(*f).into_bytes(),
        Cell::Bool(b) => if *b { "True" } else { "False" }.as_bytes().to_vec(),
    }
}
