//! Side datasets: `facet_dataset_uri` and `predicted_label_dataset_uri`.
//!
//! Their columns are appended to every row of the main dataset, joined by
//! position, or on `joinsource_name_or_index` when it is configured, as
//! Clarify joins them (CSV only). Side files hold a few columns, so they are loaded whole.

use super::value::Cell;
use super::{files, Chunk, Rows};
use crate::config::{AnalysisConfig, NameOrIndex};
use crate::error::{JobError, Result};
use rustc_hash::FxHashMap;
use std::path::Path;

/// One loaded side file.
struct SideFile {
    key: &'static str,
    records: Vec<csv::ByteRecord>,
    /// Columns of the side file appended to each row.
    taken: Vec<usize>,
    /// Join-key value → record, when joining on the join source.
    by_key: Option<FxHashMap<Vec<u8>, usize>>,
}

/// The side columns appended to every row, and how to find them.
pub struct SideColumns {
    /// Names of the appended columns.
    pub headers: Vec<String>,
    /// Offset of the facet dataset's columns among all columns.
    pub facet_offset: Option<usize>,
    /// The predicted-label column among all columns.
    pub predicted_label: Option<usize>,
    files: Vec<SideFile>,
    /// The main dataset's join-source column.
    main_key: Option<usize>,
}

impl SideColumns {
    /// Loads the side files named in the config, if any. `main_headers` are
    /// the main dataset's columns.
    pub fn load(
        config: &AnalysisConfig,
        input_root: &Path,
        main_headers: &[String],
    ) -> Result<Option<SideColumns>> {
        if config.facet_dataset_uri.is_none() && config.predicted_label_dataset_uri.is_none() {
            return Ok(None);
        }
        let join = config.joinsource_name_or_index.as_ref();
        let main_key = match join {
            Some(j) => Some(super::find_column(
                main_headers,
                j,
                "joinsource_name_or_index",
                "Join source column not found.",
            )?),
            None => None,
        };
        let mut side = SideColumns {
            headers: Vec::new(),
            facet_offset: None,
            predicted_label: None,
            files: Vec::new(),
            main_key,
        };
        let specs = [
            (
                "facet_dataset_uri",
                &config.facet_dataset_uri,
                &config.facet_headers,
            ),
            (
                "predicted_label_dataset_uri",
                &config.predicted_label_dataset_uri,
                &config.predicted_label_headers,
            ),
        ];
        for (key, uri, headers) in specs {
            let Some(uri) = uri else { continue };
            let (names, records) = read_side(
                key,
                &files::resolve_uri(key, uri, input_root)?,
                headers.as_deref(),
            )?;
            let key_col = match join {
                Some(j) => Some(super::find_column(
                    &names,
                    j,
                    &format!("joinsource_name_or_index (in {key})"),
                    "Join source column not found.",
                )?),
                None => None,
            };
            let taken: Vec<usize> = (0..names.len()).filter(|c| Some(*c) != key_col).collect();
            let offset = main_headers.len() + side.headers.len();
            if key == "facet_dataset_uri" {
                side.facet_offset = Some(offset);
            } else {
                let wanted = match &config.predicted_label {
                    Some(NameOrIndex::Name(n)) => taken.iter().position(|&c| &names[c] == n),
                    _ => taken
                        .iter()
                        .position(|&c| names[c] == "predicted_label")
                        .or(Some(0)),
                };
                side.predicted_label = wanted.map(|p| offset + p);
            }
            side.headers.extend(taken.iter().map(|&c| names[c].clone()));
            let by_key = key_col.map(|k| {
                records
                    .iter()
                    .enumerate()
                    .map(|(i, r)| (r[k].to_vec(), i))
                    .collect()
            });
            side.files.push(SideFile {
                key,
                records,
                taken,
                by_key,
            });
        }
        Ok(Some(side))
    }

    /// Appends the side columns to each chunk of `inner`.
    pub fn join<'a>(
        &'a self,
        inner: Box<dyn Iterator<Item = Result<Chunk>> + Send + 'a>,
    ) -> impl Iterator<Item = Result<Chunk>> + Send + 'a {
        let mut rows_seen = 0u64;
        let mut finished = false;
        let mut inner = inner;
        std::iter::from_fn(move || {
            if finished {
                return None;
            }
            match inner.next() {
                Some(Ok(chunk)) => {
                    rows_seen = chunk.first_row + chunk.len() as u64;
                    let r = self.extend(chunk);
                    finished = r.is_err();
                    Some(r)
                }
                Some(Err(e)) => {
                    finished = true;
                    Some(Err(e))
                }
                None => {
                    finished = true;
                    self.files
                        .iter()
                        .find(|f| f.by_key.is_none() && f.records.len() as u64 != rows_seen)
                        .map(|f| Err(count_mismatch(f, rows_seen)))
                }
            }
        })
    }

    fn extend(&self, mut chunk: Chunk) -> Result<Chunk> {
        let first = chunk.first_row;
        for row in 0..chunk.len() {
            let mut extra: Vec<&[u8]> = Vec::new();
            for file in &self.files {
                let index = match (&file.by_key, self.main_key) {
                    (Some(map), Some(k)) => {
                        let mut key = Vec::new();
                        if let super::value::CellRef::Text(t) = chunk.cell(row, k) {
                            key.extend_from_slice(t);
                        }
                        *map.get(&key).ok_or_else(|| {
                            JobError::client(format!(
                                "{}: no row has join key {:?} of dataset row {}. Every record needs a match.",
                                file.key,
                                String::from_utf8_lossy(&key),
                                first + row as u64
                            ))
                        })?
                    }
                    _ => (first as usize) + row,
                };
                let record = file
                    .records
                    .get(index)
                    .ok_or_else(|| count_mismatch(file, first + row as u64 + 1))?;
                extra.extend(file.taken.iter().map(|&c| &record[c]));
            }
            let extra: Vec<Vec<u8>> = extra.into_iter().map(<[u8]>::to_vec).collect();
            match &mut chunk.rows {
                Rows::Csv(records) => extra.iter().for_each(|f| records[row].push_field(f)),
                Rows::Cells(rows) => {
                    rows[row].extend(extra.into_iter().map(|f| Cell::Text(f.into())))
                }
            }
        }
        Ok(chunk)
    }
}

fn count_mismatch(file: &SideFile, dataset_rows: u64) -> JobError {
    JobError::client(format!(
        "{} has {} rows but the dataset has {dataset_rows}; joined by position they must match (or set joinsource_name_or_index).",
        file.key,
        file.records.len()
    ))
}

fn read_side(
    key: &str,
    path: &Path,
    headers: Option<&[String]>,
) -> Result<(Vec<String>, Vec<csv::ByteRecord>)> {
    let data = files::read_all(path)?;
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(data.as_slice());
    let mut records = Vec::new();
    for r in rdr.byte_records() {
        records.push(r.map_err(|e| JobError::client(format!("{key}: {}: {e}", path.display())))?);
    }
    let first: Vec<String> = records
        .first()
        .map(|r| {
            r.iter()
                .map(|f| String::from_utf8_lossy(f).trim().to_string())
                .collect()
        })
        .unwrap_or_default();
    let names = match headers {
        Some(h) => {
            if first.as_slice() == h {
                records.remove(0);
            }
            h.to_vec()
        }
        None => {
            let numeric = first.iter().any(|c| super::value::parse_float(c).is_some());
            if numeric || first.is_empty() {
                (0..first.len()).map(|i| format!("column_{i}")).collect()
            } else {
                records.remove(0);
                first
            }
        }
    };
    if records.is_empty() {
        return Err(JobError::client(format!(
            "{key}: {} has no rows.",
            path.display()
        )));
    }
    Ok((names, records))
}
