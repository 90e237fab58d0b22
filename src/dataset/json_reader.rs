//! JSON Lines and JSON datasets: columns located by JMESPath.
//!
//! A row becomes `[features..., label, predicted_label, extra...]`, where the
//! extras are facets, group variable or join source given as JMESPath
//! expressions rather than header names, as Clarify reads JSON Lines and
//! JSON datasets.

use super::value::Cell;
use super::{files, Chunk, CHUNK_ROWS};
use crate::config::{AnalysisConfig, NameOrIndex};
use crate::error::{JobError, Result};
use jmespath::{Expression, Variable};
use std::io::BufRead;
use std::path::{Path, PathBuf};

/// Compiled locators and the resulting header list.
pub struct JsonLayout {
    /// Column names: features, then label, predicted label, extras.
    pub headers: Vec<String>,
    features: Expression<'static>,
    /// Label, predicted label and extra columns, in row order after features.
    others: Vec<Expression<'static>>,
    width: usize,
    /// Columns the `label` / `predicted_label` locators fill: right after
    /// the features, whatever `headers` names them.
    pub placed: Placed,
    /// Number of features, from the first record.
    pub feature_count: usize,
}

/// Where a reader put the label and predicted label columns.
#[derive(Debug, Default, Clone, Copy)]
pub struct Placed {
    /// The ground-truth label column.
    pub label: Option<usize>,
    /// The predicted label column.
    pub predicted_label: Option<usize>,
}

fn compile(key: &str, expr: &str) -> Result<Expression<'static>> {
    jmespath::compile(expr).map_err(|e| {
        JobError::client(format!(
            "{key}: {expr:?} is not a valid JMESPath expression: {e}"
        ))
    })
}

impl JsonLayout {
    /// Compiles the config's locators; `lines` is true for JSON Lines.
    pub fn new(config: &AnalysisConfig, paths: &[PathBuf], lines: bool) -> Result<JsonLayout> {
        let features_expr = config.features.as_deref().ok_or_else(|| {
            JobError::client("features: required for JSON datasets; give a JMESPath to the feature array, e.g. \"features\".")
        })?;
        let features = compile("features", features_expr)?;
        let first = first_features(&features, features_expr, &paths[0], lines)?;
        Self::with_feature_count(config, first)
    }

    /// Compiles the config's locators for records of `first` features (a
    /// shard, whose records are known to have as many as the whole
    /// dataset's first one).
    pub fn with_feature_count(config: &AnalysisConfig, first: usize) -> Result<JsonLayout> {
        let features_expr = config.features.as_deref().unwrap_or_default();
        let features = compile("features", features_expr)?;
        let mut others = Vec::new();
        let mut names = Vec::new();
        let mut placed = Placed::default();
        for (key, locator) in [
            ("label", &config.label),
            ("predicted_label", &config.predicted_label),
        ] {
            match locator {
                Some(NameOrIndex::Name(expr)) => {
                    let column = Some(first + others.len());
                    if key == "label" {
                        placed.label = column;
                    } else {
                        placed.predicted_label = column;
                    }
                    others.push(compile(key, expr)?);
                    names.push(expr.clone());
                }
                Some(NameOrIndex::Index(_)) => {
                    return Err(JobError::client(format!(
                        "{key}: must be a JMESPath string for JSON datasets, not an index."
                    )))
                }
                None => {}
            }
        }
        let mut headers: Vec<String> = match &config.headers {
            Some(h) if h.len() == first + names.len() => h.clone(),
            Some(h) => {
                return Err(JobError::client(format!(
                    "Headers in config do not match with the number of columns in the dataset: headers has {} names, expected {} features{}.",
                    h.len(),
                    first,
                    if names.is_empty() { String::new() } else { format!(" + {}", names.join(" + ")) }
                )))
            }
            None => (0..first).map(|i| format!("column_{i}")).chain(names).collect(),
        };
        let extra_locators = config
            .facet
            .iter()
            .flatten()
            .map(|f| ("facet", &f.name_or_index))
            .chain(config.group_variable.iter().map(|g| ("group_variable", g)))
            .chain(
                config
                    .joinsource_name_or_index
                    .iter()
                    .map(|j| ("joinsource_name_or_index", j)),
            );
        for (key, locator) in extra_locators {
            if let NameOrIndex::Name(expr) = locator {
                if !headers.contains(expr) {
                    if let Ok(e) = compile(key, expr) {
                        others.push(e);
                        headers.push(expr.clone());
                    }
                }
            }
        }
        Ok(JsonLayout {
            width: headers.len(),
            headers,
            features,
            others,
            placed,
            feature_count: first,
        })
    }

    fn row(&self, doc: &Variable, where_: &dyn Fn() -> String) -> Result<Vec<Cell>> {
        let feats = self
            .features
            .search(doc)
            .map_err(|e| JobError::client(format!("{}: {e}", where_())))?;
        let Some(items) = feats.as_array() else {
            return Err(JobError::client(format!(
                "Data must contain features. {}: features expression {:?} gave {}, not an array.",
                where_(),
                self.features.as_str(),
                short(&feats)
            )));
        };
        let mut row: Vec<Cell> = items.iter().map(|v| to_cell(v)).collect();
        for e in &self.others {
            let v = e
                .search(doc)
                .map_err(|err| JobError::client(format!("{}: {err}", where_())))?;
            row.push(to_cell(&v));
        }
        if row.len() != self.width {
            return Err(JobError::client(format!(
                "{}: the record has {} features; the first record had {}. All records need the same number of features.",
                where_(),
                items.len(),
                self.width - self.others.len()
            )));
        }
        Ok(row)
    }
}

fn short(v: &Variable) -> String {
    let s = v.to_string();
    if s.len() > 80 {
        format!("{}...", &s[..s.floor_char_boundary(80)])
    } else {
        s
    }
}

pub(super) fn to_cell(v: &Variable) -> Cell {
    match v {
        Variable::Null => Cell::Missing,
        Variable::Bool(b) => Cell::Bool(*b),
        Variable::String(s) => Cell::Str(s.as_str().into()),
        Variable::Number(n) => match n.as_i64() {
            Some(i) if !n.to_string().contains(['.', 'e', 'E']) => Cell::Int(i),
            _ => Cell::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        other => Cell::Str(other.to_string().into()),
    }
}

fn parse_variable(bytes: &[u8], where_: &dyn Fn() -> String) -> Result<Variable> {
    let text = std::str::from_utf8(bytes).map_err(|_| {
        JobError::client(format!(
            "{}: not valid UTF-8. Save the file as UTF-8.",
            where_()
        ))
    })?;
    // Without the line break a JSON Lines record ends with, an error at the
    // end of the record points into that line rather than at "line 2".
    Variable::from_json(text.trim_start_matches('\u{feff}').trim_end())
        .map_err(|e| JobError::client(format!("{}: not valid JSON: {e}", where_())))
}

fn first_features(features: &Expression, expr: &str, path: &Path, lines: bool) -> Result<usize> {
    let where_ = || format!("{} (first record)", path.display());
    let doc = if lines {
        let reader = std::io::BufReader::new(files::open(path)?);
        let line = reader
            .lines()
            .map_while(|l| l.ok())
            .find(|l| !l.trim().is_empty())
            .ok_or_else(|| {
                JobError::client(format!(
                    "Dataset is empty: {} has no records.",
                    path.display()
                ))
            })?;
        parse_variable(line.as_bytes(), &where_)?
    } else {
        parse_variable(&files::read_all(path)?, &where_)?
    };
    let found = features
        .search(&doc)
        .map_err(|e| JobError::client(format!("{}: {e}", where_())))?;
    let arr = found.as_array().ok_or_else(|| {
        JobError::client(format!(
            "Data must contain features. {}: features expression {expr:?} gave {}, not an array.",
            where_(),
            short(&found)
        ))
    })?;
    if lines {
        return Ok(arr.len());
    }
    match arr.first().and_then(|r| r.as_array()) {
        Some(row) => Ok(row.len()),
        None => Err(JobError::client(format!(
            "Data must contain features. {}: for application/json the features expression {expr:?} must give a list of records (a 2-D array).",
            where_()
        ))),
    }
}

/// Streams JSON Lines files: one record per non-empty line.
pub fn lines_chunks<'a>(
    layout: &'a JsonLayout,
    paths: &'a [PathBuf],
) -> impl Iterator<Item = Result<Chunk>> + Send + 'a {
    let mut file_index = 0;
    let mut lines: Option<Box<dyn BufRead + Send>> = None;
    let mut line_no = 0u64;
    let mut next_row = 0u64;
    let mut failed = false;
    std::iter::from_fn(move || {
        if failed {
            return None;
        }
        let mut rows = Vec::new();
        let mut buf = Vec::new();
        while rows.len() < CHUNK_ROWS {
            if lines.is_none() {
                let path = paths.get(file_index)?;
                match files::open(path) {
                    Ok(r) => lines = Some(Box::new(std::io::BufReader::new(r))),
                    Err(e) => {
                        failed = true;
                        return Some(Err(e));
                    }
                }
                line_no = 0;
            }
            buf.clear();
            let reader = lines.as_mut().expect("opened above");
            match reader.read_until(b'\n', &mut buf) {
                Ok(0) => {
                    lines = None;
                    file_index += 1;
                    if file_index >= paths.len() {
                        break;
                    }
                    continue;
                }
                Ok(_) => {}
                Err(e) => {
                    failed = true;
                    return Some(Err(JobError::client(format!(
                        "{}: {e}",
                        paths[file_index].display()
                    ))));
                }
            }
            line_no += 1;
            if buf.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let where_ = || format!("{} line {line_no}", paths[file_index].display());
            match parse_variable(&buf, &where_).and_then(|doc| layout.row(&doc, &where_)) {
                Ok(row) => rows.push(row),
                Err(e) => {
                    failed = true;
                    return Some(Err(e));
                }
            }
        }
        if rows.is_empty() {
            return None;
        }
        let chunk = Chunk::cells(next_row, rows);
        next_row += chunk.len() as u64;
        Some(Ok(chunk))
    })
}

/// Streams JSON files: each file is one document holding many records.
pub fn document_chunks<'a>(
    layout: &'a JsonLayout,
    paths: &'a [PathBuf],
) -> impl Iterator<Item = Result<Chunk>> + Send + 'a {
    let mut next_row = 0u64;
    paths.iter().map(move |path| {
        let where_ = || path.display().to_string();
        let doc = parse_variable(&files::read_all(path)?, &where_)?;
        let rows = document_rows(layout, &doc, &where_)?;
        let chunk = Chunk::cells(next_row, rows);
        next_row += chunk.len() as u64;
        Ok(chunk)
    })
}

fn document_rows(
    layout: &JsonLayout,
    doc: &Variable,
    where_: &dyn Fn() -> String,
) -> Result<Vec<Vec<Cell>>> {
    let search = |e: &Expression| {
        e.search(doc)
            .map_err(|err| JobError::client(format!("{}: {err}", where_())))
    };
    let feats = search(&layout.features)?;
    let matrix = feats.as_array().ok_or_else(|| {
        JobError::client(format!(
            "Data must contain features. {}: features expression {:?} selects no list.",
            where_(),
            layout.features.as_str()
        ))
    })?;
    let mut columns = Vec::new();
    for e in &layout.others {
        let v = search(e)?;
        let list = v.as_array().cloned().ok_or_else(|| {
            JobError::client(format!(
                "{}: {:?} must select a list with one value per record.",
                where_(),
                e.as_str()
            ))
        })?;
        if list.len() != matrix.len() {
            return Err(JobError::client(format!(
                "{}: {:?} selects {} values but there are {} records.",
                where_(),
                e.as_str(),
                list.len(),
                matrix.len()
            )));
        }
        columns.push(list);
    }
    let width = layout.width - layout.others.len();
    matrix
        .iter()
        .enumerate()
        .map(|(i, rec)| {
            let items = rec.as_array().filter(|a| a.len() == width).ok_or_else(|| {
                JobError::client(format!(
                    "{}: record {i} does not have {width} features.",
                    where_()
                ))
            })?;
            let mut row: Vec<Cell> = items.iter().map(|v| to_cell(v)).collect();
            row.extend(columns.iter().map(|c| to_cell(&c[i])));
            Ok(row)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Opens `data` as a JSON Lines dataset whose records hold `features`,
    /// and returns the first failure, from opening or from reading.
    fn read_error(data: &str) -> String {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data.jsonl");
        std::fs::write(&path, data).unwrap();
        let config = crate::config::parse(
            br#"{"dataset_type":"application/jsonlines","features":"features","label":"y",
                "label_values_or_threshold":[1],"facet":[{"name_or_index":0}],
                "methods":{"pre_training_bias":{"methods":"all"}}}"#,
        )
        .unwrap();
        let paths = vec![path];
        let layout = match JsonLayout::new(&config, &paths, true) {
            Ok(layout) => layout,
            Err(e) => return e.message,
        };
        let error = lines_chunks(&layout, &paths)
            .find_map(|chunk| chunk.err())
            .expect("reading fails");
        error.message
    }

    #[test]
    fn a_bad_line_is_located_in_that_line() {
        let message = read_error("{\"features\":[1],\"y\":1}\n{\"features\":[2],\"y\":0\n");
        assert!(message.contains("line 2: not valid JSON"), "{message}");
        assert!(message.contains("at line 1 column"), "{message}");
    }

    #[test]
    fn features_that_are_not_a_list_are_shown() {
        let message = read_error("{\"features\":{\"a\":1},\"y\":1}\n");
        assert!(
            message.contains(r#"features expression "features" gave {"a":1}, not an array"#),
            "{message}"
        );
    }
}
