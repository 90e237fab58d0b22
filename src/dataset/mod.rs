//! Reading the dataset as the config describes it.
//!
//! [`Dataset::open`] resolves which column is the label, the facets, the
//! group variable, the predicted label and the features (by name, index or
//! JMESPath), then [`Dataset::chunks`] streams the rows in chunks of a few
//! thousand, each row as raw cells ([`value::CellRef`]). Nothing here knows
//! what the rows are used for.

mod csv_reader;
pub mod files;
mod json_reader;
#[cfg(feature = "parquet")]
mod parquet_reader;
mod side;
pub mod value;

use crate::config::{AnalysisConfig, ContentType, NameOrIndex};
use crate::error::{JobError, Result};
pub use csv_reader::{CsvLayout, HeaderMode};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use value::{Cell, CellRef};

/// Rows per chunk: large enough to amortise per-chunk work, small enough
/// that a handful of chunks in flight stay in the low megabytes, and a
/// multiple of the default model batch (1000 records) so that model
/// requests are full batches rather than one short batch per chunk.
pub const CHUNK_ROWS: usize = 8000;

/// Which column plays which role, as indices into a row's cells.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Schema {
    /// Names of all columns, in row order.
    pub headers: Vec<String>,
    /// The ground-truth label column.
    pub label: Option<usize>,
    /// A column of predictions already made.
    pub predicted_label: Option<usize>,
    /// One column per configured facet, in config order.
    pub facets: Vec<usize>,
    /// The group variable for CDDL / CDDPL.
    pub group: Option<usize>,
    /// The join/identifier column.
    pub joinsource: Option<usize>,
    /// The columns sent to the model, in dataset order.
    pub features: Vec<usize>,
}

impl Schema {
    /// The names of the columns sent to the model, in dataset order.
    pub fn feature_names(&self) -> Vec<String> {
        self.features
            .iter()
            .map(|&c| self.headers[c].clone())
            .collect()
    }

    /// The columns no role claims (not a feature, label, prediction, facet,
    /// group or join source): neither sent to the model nor analysed.
    pub fn excluded_columns(&self) -> Vec<usize> {
        (0..self.headers.len())
            .filter(|c| {
                !self.features.contains(c)
                    && Some(*c) != self.label
                    && Some(*c) != self.predicted_label
                    && !self.facets.contains(c)
                    && Some(*c) != self.group
                    && Some(*c) != self.joinsource
            })
            .collect()
    }
}

/// Rows of one chunk, in the representation their reader produced.
#[derive(Debug)]
enum Rows {
    /// CSV records: every cell is untyped text.
    Csv(Vec<csv::ByteRecord>),
    /// Typed cells from JSON, JSON Lines or Parquet.
    Cells(Vec<Vec<Cell>>),
}

/// A run of consecutive rows.
#[derive(Debug)]
pub struct Chunk {
    /// Index of the first row in the whole dataset (zero-based).
    pub first_row: u64,
    rows: Rows,
    /// A column added after reading (the model's predictions): its index
    /// in the schema and one cell per row.
    added: Option<(usize, Vec<Cell>)>,
}

impl Chunk {
    /// A chunk of CSV records starting at dataset row `first_row`.
    fn csv(first_row: u64, records: Vec<csv::ByteRecord>) -> Chunk {
        Chunk {
            first_row,
            rows: Rows::Csv(records),
            added: None,
        }
    }

    /// A chunk of typed rows starting at dataset row `first_row`.
    pub(crate) fn cells(first_row: u64, rows: Vec<Vec<Cell>>) -> Chunk {
        Chunk {
            first_row,
            rows: Rows::Cells(rows),
            added: None,
        }
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        match &self.rows {
            Rows::Csv(r) => r.len(),
            Rows::Cells(r) => r.len(),
        }
    }

    /// True when the chunk has no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Attaches a column computed for these rows (one cell per row) as
    /// column `col` of the schema, e.g. the predictions of the model.
    pub fn add_column(&mut self, col: usize, cells: Vec<Cell>) {
        debug_assert_eq!(cells.len(), self.len());
        self.added = Some((col, cells));
    }

    /// The cells of one row at the given columns, owned (a model record).
    pub fn record(&self, row: usize, cols: &[usize]) -> Vec<Cell> {
        cols.iter().map(|&c| self.cell(row, c).to_owned()).collect()
    }

    /// The cell at `row` (within the chunk) and column `col`.
    pub fn cell(&self, row: usize, col: usize) -> CellRef<'_> {
        if let Some((added, cells)) = &self.added {
            if col == *added {
                return cells[row].as_ref();
            }
        }
        match &self.rows {
            Rows::Csv(r) => match r[row].get(col) {
                Some(t) => CellRef::Text(t),
                None => CellRef::Missing,
            },
            Rows::Cells(r) => r[row].get(col).map_or(CellRef::Missing, Cell::as_ref),
        }
    }
}

/// A dataset ready to be streamed.
pub struct Dataset {
    /// Column roles.
    pub schema: Schema,
    files: Vec<PathBuf>,
    format: Format,
    side: Option<side::SideColumns>,
    /// The dataset index of the first row (non-zero for a shard).
    row_offset: u64,
}

/// How the shards of a dataset are read, fixed from the whole dataset so
/// that a shard without a header line is read like the first one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ShardFormat {
    /// CSV lines, with the whole dataset's header and width.
    Csv(CsvLayout),
    /// JSON Lines records of this many features, located by the config's
    /// JMESPath expressions.
    JsonLines(usize),
}

enum Format {
    Csv(csv_reader::CsvLayout),
    JsonLines(json_reader::JsonLayout),
    Json(json_reader::JsonLayout),
    #[cfg(feature = "parquet")]
    Parquet,
}

impl Dataset {
    /// Finds the files under `data` and resolves the columns named in the
    /// config. Relative URIs in the config (`dataset_uri`, side datasets)
    /// resolve against the folder holding `data` ([`files::input_root`]).
    pub fn open(config: &AnalysisConfig, data: &Path) -> Result<Dataset> {
        let input_root = &files::input_root(data);
        let data_path = match &config.dataset_uri {
            Some(uri) => files::resolve_uri("dataset_uri", uri, input_root)?,
            None => data.to_path_buf(),
        };
        let files = files::list(&data_path)?;
        let (headers, format) = match config.dataset_format()? {
            ContentType::Csv => {
                let (headers, layout) = csv_reader::detect_layout(config, &files)?;
                (headers, Format::Csv(layout))
            }
            ContentType::JsonLines => {
                let layout = json_reader::JsonLayout::new(config, &files, true)?;
                (layout.headers.clone(), Format::JsonLines(layout))
            }
            ContentType::Json => {
                let layout = json_reader::JsonLayout::new(config, &files, false)?;
                (layout.headers.clone(), Format::Json(layout))
            }
            ContentType::Parquet => parquet_headers(&files)?,
        };
        let main_columns = headers.len();
        let side = side::SideColumns::load(config, input_root, &headers)?;
        let mut all_headers = headers;
        if let Some(s) = &side {
            all_headers.extend(s.headers.iter().cloned());
        }
        let placed = match &format {
            Format::JsonLines(layout) | Format::Json(layout) => layout.placed,
            _ => json_reader::Placed::default(),
        };
        let schema = resolve(config, all_headers, main_columns, side.as_ref(), placed)?;
        Ok(Dataset {
            schema,
            files,
            format,
            side,
            row_offset: 0,
        })
    }

    /// How shards of this dataset are to be read, or why it cannot be cut
    /// into line-based shards.
    pub fn shard_format(&self) -> std::result::Result<ShardFormat, &'static str> {
        if self.side.is_some() {
            return Err(
                "facet_dataset_uri and predicted_label_dataset_uri are joined to the whole dataset",
            );
        }
        match &self.format {
            Format::Csv(layout) => Ok(ShardFormat::Csv(layout.clone())),
            Format::JsonLines(layout) => Ok(ShardFormat::JsonLines(layout.feature_count)),
            Format::Json(_) => Err("an application/json dataset is one document, not lines"),
            #[cfg(feature = "parquet")]
            Format::Parquet => Err("Parquet files are not cut into lines"),
        }
    }

    /// Opens one shard of a dataset: `files` read as `format` says (with
    /// `header` deciding about CSV header lines), the columns as `schema`
    /// (from the whole dataset) names them, rows numbered from `row_offset`.
    pub fn open_shard(
        config: &AnalysisConfig,
        files: Vec<PathBuf>,
        format: &ShardFormat,
        header: HeaderMode,
        schema: Schema,
        row_offset: u64,
    ) -> Result<Dataset> {
        let format = match format {
            ShardFormat::Csv(layout) => Format::Csv(layout.for_shard(header)),
            ShardFormat::JsonLines(features) => Format::JsonLines(
                json_reader::JsonLayout::with_feature_count(config, *features)?,
            ),
        };
        Ok(Dataset {
            schema,
            files,
            format,
            side: None,
            row_offset,
        })
    }

    /// Streams every row, in file order then line order, in chunks.
    pub fn chunks(&self) -> Result<Box<dyn Iterator<Item = Result<Chunk>> + Send + '_>> {
        let inner: Box<dyn Iterator<Item = Result<Chunk>> + Send + '_> = match &self.format {
            Format::Csv(layout) => Box::new(csv_reader::chunks(layout, &self.files)),
            Format::JsonLines(layout) => Box::new(json_reader::lines_chunks(layout, &self.files)),
            Format::Json(layout) => Box::new(json_reader::document_chunks(layout, &self.files)),
            #[cfg(feature = "parquet")]
            Format::Parquet => Box::new(parquet_reader::chunks(
                &self.files,
                self.schema.headers.len(),
            )),
        };
        let inner = match &self.side {
            None => inner,
            Some(side) => Box::new(side.join(inner)),
        };
        let offset = self.row_offset;
        Ok(match offset {
            0 => inner,
            _ => Box::new(inner.map(move |chunk| {
                chunk.map(|mut c| {
                    c.first_row += offset;
                    c
                })
            })),
        })
    }
}

#[cfg(feature = "parquet")]
fn parquet_headers(files: &[PathBuf]) -> Result<(Vec<String>, Format)> {
    Ok((parquet_reader::headers(&files[0])?, Format::Parquet))
}

#[cfg(not(feature = "parquet"))]
fn parquet_headers(_: &[PathBuf]) -> Result<(Vec<String>, Format)> {
    Err(JobError::client(
        "dataset_type application/x-parquet needs a build with the `parquet` feature (on by default).",
    ))
}

/// A JSON value a JMESPath located, as a cell, typed as JSON datasets
/// type their cells (captured traffic is read the same way).
pub fn jmespath_cell(v: &jmespath::Variable) -> Cell {
    json_reader::to_cell(v)
}

/// Finds a column by name or index. `key` is the config path for messages.
fn find_column(
    headers: &[String],
    wanted: &NameOrIndex,
    key: &str,
    not_found: &str,
) -> Result<usize> {
    match wanted {
        NameOrIndex::Index(i) if *i < headers.len() => Ok(*i),
        NameOrIndex::Index(i) => Err(JobError::client(format!(
            "{not_found} {key}: column index {i} is out of range; the dataset has {} columns (0..{}).",
            headers.len(),
            headers.len().saturating_sub(1)
        ))),
        NameOrIndex::Name(n) => headers.iter().position(|h| h == n).ok_or_else(|| {
            let shown: Vec<&str> = headers.iter().take(20).map(String::as_str).collect();
            JobError::client(format!(
                "{not_found} {key}: no column named {n:?}; the columns are {}{}.",
                shown.join(", "),
                if headers.len() > 20 { ", ..." } else { "" }
            ))
        }),
    }
}

fn resolve(
    config: &AnalysisConfig,
    headers: Vec<String>,
    main_columns: usize,
    side: Option<&side::SideColumns>,
    placed: json_reader::Placed,
) -> Result<Schema> {
    let find = |w: &NameOrIndex, key: &str, msg: &str| find_column(&headers, w, key, msg);
    let label = match placed.label {
        Some(col) => Some(col),
        None => config
            .label
            .as_ref()
            .map(|l| find(l, "label", "Headers must contain label."))
            .transpose()?,
    };
    let predicted_label = match (
        &config.predicted_label,
        side.and_then(|s| s.predicted_label)
            .or(placed.predicted_label),
    ) {
        (_, Some(col)) => Some(col),
        (Some(p), None) => Some(find(
            p,
            "predicted_label",
            "Predicted label column not found.",
        )?),
        (None, None) => None,
    };
    let mut facets = Vec::new();
    for (i, facet) in config.facet.iter().flatten().enumerate() {
        let key = format!("facet[{i}].name_or_index");
        let col = match (side.and_then(|s| s.facet_offset), &facet.name_or_index) {
            // With a facet dataset, facet indices count in that dataset.
            (Some(offset), NameOrIndex::Index(k)) => {
                let shifted = NameOrIndex::Index(offset + k);
                find(&shifted, &key, "Unable to locate the facet.")?
            }
            (_, name) => find(name, &key, "Unable to locate the facet.")?,
        };
        facets.push(col);
    }
    let group = config
        .group_variable
        .as_ref()
        .map(|g| find(g, "group_variable", "Group variable not found."))
        .transpose()?;
    let joinsource = config
        .joinsource_name_or_index
        .as_ref()
        .map(|j| {
            find(
                j,
                "joinsource_name_or_index",
                "Join source column not found.",
            )
        })
        .transpose()?;
    let mut excluded = Vec::new();
    for (i, e) in config.excluded_columns.iter().flatten().enumerate() {
        excluded.push(find(
            e,
            &format!("excluded_columns[{i}]"),
            "Excluded column not found.",
        )?);
    }
    let features = (0..main_columns)
        .filter(|c| {
            Some(*c) != label
                && Some(*c) != predicted_label
                && Some(*c) != joinsource
                && !excluded.contains(c)
        })
        .collect();
    Ok(Schema {
        headers,
        label,
        predicted_label,
        facets,
        group,
        joinsource,
        features,
    })
}

/// Builds a CSV chunk from literal rows, for tests of the stages that fold chunks.
#[cfg(test)]
pub fn test_chunk(rows: &[Vec<&str>], first_row: u64) -> Chunk {
    Chunk::csv(
        first_row,
        rows.iter()
            .map(|r| csv::ByteRecord::from(r.clone()))
            .collect(),
    )
}

/// Builds a chunk of typed cells (as JSON datasets give), for tests.
#[cfg(test)]
pub fn test_cells_chunk(rows: Vec<Vec<Cell>>, first_row: u64) -> Chunk {
    Chunk::cells(first_row, rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// With `headers`, the label and predicted label of a JSON dataset are
    /// the columns right after the features, named by `headers` rather than
    /// by their JMESPath, as Clarify names them.
    #[test]
    fn json_label_named_by_headers_not_by_its_jmespath() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("d.json");
        std::fs::write(
            &data,
            r#"{"rows":[{"x":["a",1],"y":1,"p":0},{"x":["b",2],"y":0,"p":0}]}"#,
        )
        .unwrap();
        let config = crate::config::parse(
            br#"{"dataset_type":"application/json","headers":["f","n","risk","pred"],
                "features":"rows[*].x","label":"rows[*].y","predicted_label":"rows[*].p",
                "label_values_or_threshold":[1],"facet":[{"name_or_index":"f"}],
                "methods":{"pre_training_bias":{"methods":"all"}}}"#,
        )
        .unwrap();
        let schema = Dataset::open(&config, &data).unwrap().schema;
        assert_eq!((schema.label, schema.predicted_label), (Some(2), Some(3)));
        assert_eq!(schema.headers[2], "risk");
        assert_eq!(schema.facets, [0]);
        assert_eq!(schema.features, [0, 1]);
    }
}
