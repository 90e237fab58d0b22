//! Reading a time-series dataset: a JSON document in one of the three
//! layouts of `time_series_data_config.dataset_format`, located with its
//! JMESPaths, into [`Item`]s.
//!
//! `columns` and `timestamp_records` give one entry per (item, timestamp):
//! every path yields a list with one value per row, and rows are grouped by
//! item id in order of first appearance. `item_records` gives one object
//! per item: the item-id path yields one id per item, and the other paths,
//! which start with a projection over the items (`[*].` or `[].`), are read
//! inside each item (`[*].timeseries[].target` becomes `timeseries[].target`
//! applied to one item). A folder of several documents is read file by
//! file; their items follow each other.

use crate::config::{TimeSeriesDataConfig, TimeSeriesFormat};
use crate::error::{JobError, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use std::path::Path;

/// One item: a target series with its forecast-horizon rows, the related
/// series over all rows, and the static covariates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    /// The item id as JSON text (`"seattle"` or `1`), written back as given.
    pub id: String,
    /// The timestamps of all rows, as given (a JSON string's content, or
    /// the JSON text of a number).
    pub timestamps: Vec<String>,
    /// The target's non-null prefix: what the model is sent as history.
    pub target: Vec<f64>,
    /// Each related series over all rows, in config order.
    pub related: Vec<Vec<f64>>,
    /// Each static covariate as JSON text, in config order.
    pub statics: Vec<String>,
}

impl Item {
    /// The id as a person reads it and as baseline maps key it: a string's
    /// content, or a number's text.
    pub fn key(&self) -> String {
        match serde_json::from_str::<Json>(&self.id) {
            Ok(Json::String(s)) => s,
            _ => self.id.clone(),
        }
    }
}

/// The compiled JMESPaths of `time_series_data_config`.
struct Paths {
    format: TimeSeriesFormat,
    item_id: Path_,
    timestamp: Path_,
    target: Path_,
    related: Vec<Path_>,
    statics: Vec<Path_>,
}

/// One JMESPath with the config key it came from, for messages.
///
/// JMESPath projections drop null results (`[].target` over rows whose
/// target is null on the forecast horizon gives a shorter list), so a path
/// that ends in a projection is read row by row: the part up to its last
/// `[]`/`[*]` selects the rows, the rest is read in each row, and a row
/// without a value keeps its place as null.
struct Path_ {
    key: String,
    text: String,
    /// The rows, and the expression read in each; or the whole path, which
    /// must select a list itself.
    shape: PathShape,
}

/// How a path's values are found.
enum PathShape {
    /// A path without a projection: it selects the list.
    Whole(jmespath::Expression<'static>),
    /// A projection: rows, then one value in each row.
    PerRow {
        rows: jmespath::Expression<'static>,
        value: jmespath::Expression<'static>,
    },
}

impl Path_ {
    /// Compiles `text`, read inside each item when `per_item` (the leading
    /// projection over items removed).
    fn new(key: String, text: &str, per_item: bool) -> Result<Path_> {
        let text = match per_item {
            true => strip_item_projection(text).ok_or_else(|| {
                JobError::client(format!(
                    "time_series_data_config.{key}: {text:?} must start with a projection over the items ([*]. or [].) for dataset_format item_records, e.g. \"[*].timeseries[].target\"."
                ))
            })?,
            false => text,
        };
        let compile = |t: &str| {
            jmespath::compile(t).map_err(|e| {
                JobError::client(format!(
                    "time_series_data_config.{key}: {text:?} is not a valid JMESPath expression: {e}"
                ))
            })
        };
        let last_projection = ["[].", "[*]."]
            .iter()
            .filter_map(|p| text.rfind(p).map(|at| (at, p.len())))
            .max();
        let shape = match last_projection {
            Some((at, len)) => PathShape::PerRow {
                rows: compile(&text[..at + len - 1])?,
                value: compile(&text[at + len..])?,
            },
            None => PathShape::Whole(compile(text)?),
        };
        Ok(Path_ {
            key,
            text: text.to_string(),
            shape,
        })
    }

    fn failed(&self, e: jmespath::JmespathError) -> JobError {
        JobError::client(format!(
            "time_series_data_config.{}: {:?} failed on the dataset: {e}",
            self.key, self.text
        ))
    }

    /// What `expr` selects in `doc` (JSON null when nothing).
    fn search(&self, expr: &jmespath::Expression<'static>, doc: &Json) -> Result<Json> {
        let found = expr.search(doc).map_err(|e| self.failed(e))?;
        Ok(serde_json::to_value(&*found).expect("JMESPath values are JSON"))
    }

    /// One value: what the path selects in `doc`, read as one value.
    fn one(&self, doc: &Json) -> Result<Json> {
        match &self.shape {
            PathShape::Whole(expr) => self.search(expr, doc),
            PathShape::PerRow { .. } => Err(JobError::client(format!(
                "time_series_data_config.{}: {:?} must select one value per item for dataset_format item_records, e.g. \"[*].color\".",
                self.key, self.text
            ))),
        }
    }

    /// The values the path selects, one per row, nulls in place.
    fn list(&self, doc: &Json, whose: &str) -> Result<Vec<Json>> {
        let found = match &self.shape {
            PathShape::Whole(expr) => self.search(expr, doc)?,
            PathShape::PerRow { rows, value } => match self.search(rows, doc)? {
                Json::Array(rows) => {
                    let values = rows
                        .iter()
                        .map(|row| self.search(value, row))
                        .collect::<Result<Vec<_>>>()?;
                    Json::Array(values)
                }
                other => other,
            },
        };
        match found {
            Json::Array(items) => Ok(items),
            Json::Null => Err(JobError::client(format!(
                "time_series_data_config.{}: {:?} selects nothing in {whose}; check the path against the dataset.",
                self.key, self.text
            ))),
            other => Err(JobError::client(format!(
                "time_series_data_config.{}: {:?} selects {} in {whose}, not a list.",
                self.key,
                self.text,
                crate::http::snippet(&other.to_string())
            ))),
        }
    }
}

/// The path read inside one item: `text` without its leading projection
/// over the items.
fn strip_item_projection(text: &str) -> Option<&str> {
    ["[*].", "[]."].iter().find_map(|p| text.strip_prefix(p))
}

impl Paths {
    fn new(config: &TimeSeriesDataConfig) -> Result<Paths> {
        let format = config.dataset_format.ok_or_else(|| {
            JobError::client("time_series_data_config.dataset_format: is required: one of columns, item_records, timestamp_records.")
        })?;
        let per_item = format == TimeSeriesFormat::ItemRecords;
        let list = |key: &str, paths: &Option<Vec<String>>| -> Result<Vec<Path_>> {
            paths
                .iter()
                .flatten()
                .enumerate()
                .map(|(i, p)| Path_::new(format!("{key}[{i}]"), p, per_item))
                .collect()
        };
        Ok(Paths {
            format,
            item_id: Path_::new("item_id".into(), &config.item_id, false)?,
            timestamp: Path_::new("timestamp".into(), &config.timestamp, per_item)?,
            target: Path_::new(
                "target_time_series".into(),
                &config.target_time_series,
                per_item,
            )?,
            related: list("related_time_series", &config.related_time_series)?,
            statics: list("static_covariates", &config.static_covariates)?,
        })
    }
}

/// Reads every item of the dataset at `path` (a file or a folder of files).
pub fn read(config: &TimeSeriesDataConfig, path: &Path) -> Result<Vec<Item>> {
    let paths = Paths::new(config)?;
    let mut items = Vec::new();
    for file in crate::dataset::files::list(path)? {
        let bytes = crate::dataset::files::read_all(&file)?;
        let doc: Json = serde_json::from_slice(&bytes).map_err(|e| {
            JobError::client(format!(
                "{} is not a JSON document ({e}); a time-series dataset is one JSON document per file.",
                file.display()
            ))
        })?;
        let whose = file.display().to_string();
        let read = match paths.format {
            TimeSeriesFormat::ItemRecords => item_records(&paths, &doc, &whose)?,
            TimeSeriesFormat::Columns | TimeSeriesFormat::TimestampRecords => {
                rows(&paths, &doc, &whose)?
            }
        };
        items.extend(read);
    }
    if items.is_empty() {
        return Err(JobError::client(format!(
            "The dataset {} holds no time-series items; check time_series_data_config.item_id.",
            path.display()
        )));
    }
    let mut seen = std::collections::HashSet::new();
    if let Some(twice) = items.iter().find(|i| !seen.insert(i.id.clone())) {
        return Err(JobError::client(format!(
            "Item {} appears in more than one place of the dataset; an item's rows must be together (item_records) or its ids unique per item.",
            twice.id
        )));
    }
    Ok(items)
}

/// `columns` and `timestamp_records`: each path yields one value per row.
fn rows(paths: &Paths, doc: &Json, whose: &str) -> Result<Vec<Item>> {
    let ids = paths.item_id.list(doc, whose)?;
    let n = ids.len();
    let column = |p: &Path_| -> Result<Vec<Json>> {
        let values = p.list(doc, whose)?;
        if values.len() != n {
            return Err(JobError::client(format!(
                "time_series_data_config.{}: {:?} selects {} values in {whose} but item_id selects {n}; every path must give one value per row (a row without a value needs an explicit null).",
                p.key,
                p.text,
                values.len()
            )));
        }
        Ok(values)
    };
    let timestamps = column(&paths.timestamp)?;
    let target = column(&paths.target)?;
    let related = paths
        .related
        .iter()
        .map(column)
        .collect::<Result<Vec<_>>>()?;
    let statics = paths
        .statics
        .iter()
        .map(column)
        .collect::<Result<Vec<_>>>()?;
    // Rows grouped by item, items in order of first appearance.
    let mut order: Vec<String> = Vec::new();
    let mut rows_of: std::collections::HashMap<String, Vec<usize>> = Default::default();
    for (row, id) in ids.iter().enumerate() {
        let id = id_text(id, row, whose)?;
        rows_of
            .entry(id.clone())
            .or_insert_with(|| {
                order.push(id);
                Vec::new()
            })
            .push(row);
    }
    order
        .into_iter()
        .map(|id| {
            let rows = &rows_of[&id];
            let pick = |values: &[Json]| rows.iter().map(|r| values[*r].clone()).collect();
            let raw = RawItem {
                timestamps: pick(&timestamps),
                target: pick(&target),
                related: related.iter().map(|s| pick(s)).collect(),
                statics: statics.iter().map(|s| values_first(s, rows)).collect(),
            };
            raw.into_item(id, paths)
        })
        .collect()
}

/// A static covariate of an item in row layouts: its value on the item's first row.
fn values_first(values: &[Json], rows: &[usize]) -> Json {
    values[rows[0]].clone()
}

/// `item_records`: one object per item.
fn item_records(paths: &Paths, doc: &Json, whose: &str) -> Result<Vec<Item>> {
    let ids = paths.item_id.list(doc, whose)?;
    let Json::Array(objects) = doc else {
        return Err(JobError::client(format!(
            "{whose} is not a JSON list of items, which dataset_format item_records needs."
        )));
    };
    if objects.len() != ids.len() {
        return Err(JobError::client(format!(
            "time_series_data_config.item_id: {:?} selects {} ids in {whose}, which holds {} items; every item needs an id.",
            paths.item_id.text,
            ids.len(),
            objects.len()
        )));
    }
    ids.iter()
        .zip(objects)
        .enumerate()
        .map(|(i, (id, object))| {
            let id = id_text(id, i, whose)?;
            let whose = format!("item {id} of {whose}");
            let raw = RawItem {
                timestamps: paths.timestamp.list(object, &whose)?,
                target: paths.target.list(object, &whose)?,
                related: paths
                    .related
                    .iter()
                    .map(|p| p.list(object, &whose))
                    .collect::<Result<_>>()?,
                statics: paths
                    .statics
                    .iter()
                    .map(|p| p.one(object))
                    .collect::<Result<_>>()?,
            };
            raw.into_item(id, paths)
        })
        .collect()
}

/// An item's values as the dataset gave them, before checking.
struct RawItem {
    timestamps: Vec<Json>,
    target: Vec<Json>,
    related: Vec<Vec<Json>>,
    statics: Vec<Json>,
}

impl RawItem {
    /// Checks the values and keeps the target's non-null prefix.
    fn into_item(self, id: String, paths: &Paths) -> Result<Item> {
        let rows = self.timestamps.len();
        let at = |row: usize| -> String {
            self.timestamps.get(row).map_or_else(
                || format!("row {row}"),
                |t| format!("timestamp {}", timestamp_text(t)),
            )
        };
        for (path, series) in std::iter::once((&paths.target, &self.target))
            .chain(paths.related.iter().zip(&self.related))
        {
            if series.len() != rows {
                return Err(JobError::client(format!(
                    "Item {id}: time_series_data_config.{} gives {} values but the item has {rows} timestamps; every series needs one value per timestamp.",
                    path.key,
                    series.len()
                )));
            }
        }
        let history = self.target.iter().take_while(|v| !v.is_null()).count();
        if history == 0 {
            return Err(JobError::client(format!(
                "Item {id} has no target values (time_series_data_config.target_time_series is null from its first timestamp); the model needs a history to forecast from."
            )));
        }
        if let Some(late) = self.target[history..].iter().position(|v| !v.is_null()) {
            return Err(JobError::client(format!(
                "Item {id}: the target is null at {} but has a value at {}; only the forecast horizon at the end may be null.",
                at(history),
                at(history + late)
            )));
        }
        let number = |key: &str, row: usize, v: &Json| -> Result<f64> {
            v.as_f64().ok_or_else(|| {
                JobError::client(format!(
                    "Item {id}: time_series_data_config.{key} at {} is {}, not a number.",
                    at(row),
                    crate::http::snippet(&v.to_string())
                ))
            })
        };
        let target = self.target[..history]
            .iter()
            .enumerate()
            .map(|(row, v)| number(&paths.target.key, row, v))
            .collect::<Result<_>>()?;
        let related = paths
            .related
            .iter()
            .zip(&self.related)
            .map(|(p, series)| {
                series
                    .iter()
                    .enumerate()
                    .map(|(row, v)| number(&p.key, row, v))
                    .collect::<Result<Vec<f64>>>()
            })
            .collect::<Result<_>>()?;
        for (p, v) in paths.statics.iter().zip(&self.statics) {
            if v.is_null() || v.is_array() || v.is_object() {
                return Err(JobError::client(format!(
                    "Item {id}: time_series_data_config.{} gives {}, not one value; a static covariate is a number or a string per item.",
                    p.key,
                    crate::http::snippet(&v.to_string())
                )));
            }
        }
        Ok(Item {
            id,
            timestamps: self.timestamps.iter().map(timestamp_text).collect(),
            target,
            related,
            statics: self.statics.iter().map(Json::to_string).collect(),
        })
    }
}

/// An item id as JSON text; ids are strings or numbers.
fn id_text(id: &Json, row: usize, whose: &str) -> Result<String> {
    match id {
        Json::String(_) | Json::Number(_) => Ok(id.to_string()),
        other => Err(JobError::client(format!(
            "time_series_data_config.item_id: entry {row} in {whose} is {}, not a string or number.",
            crate::http::snippet(&other.to_string())
        ))),
    }
}

/// A timestamp as the output echoes it: a string's content, otherwise the JSON text.
fn timestamp_text(t: &Json) -> String {
    match t {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(format: &str, paths: [&str; 5]) -> TimeSeriesDataConfig {
        serde_json::from_value(serde_json::json!({
            "dataset_format": format, "item_id": paths[0], "timestamp": paths[1],
            "target_time_series": paths[2], "related_time_series": [paths[3]],
            "static_covariates": [paths[4]]
        }))
        .unwrap()
    }

    /// The timestamp_records paths of the fixtures.
    fn flat_config() -> TimeSeriesDataConfig {
        config(
            "timestamp_records",
            [
                "[].id",
                "[].timestamp",
                "[].target_ts",
                "[].rts1",
                "[].scv1",
            ],
        )
    }

    fn read_str(config: &TimeSeriesDataConfig, json: &str) -> Result<Vec<Item>> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data.json");
        std::fs::write(&path, json).unwrap();
        read(config, &path)
    }

    /// The same two items (the second with a one-step horizon) in the three layouts.
    fn expected() -> Vec<Item> {
        vec![
            Item {
                id: "1".into(),
                timestamps: vec!["1".into(), "2".into(), "3".into()],
                target: vec![5.0, 6.0, 3.0],
                related: vec![vec![0.25, 0.5, 0.75]],
                statics: vec!["10".into()],
            },
            Item {
                id: "\"b\"".into(),
                timestamps: vec!["2024-01-01".into(), "2024-01-02".into()],
                target: vec![10.0],
                related: vec![vec![1.0, 2.0]],
                statics: vec!["\"red\"".into()],
            },
        ]
    }

    #[test]
    fn the_three_layouts_give_the_same_items() {
        let columns = config(
            "columns",
            ["ids", "timestamps", "target_ts", "rts1", "scv1"],
        );
        let got = read_str(
            &columns,
            r#"{"ids": [1, 1, 1, "b", "b"], "timestamps": [1, 2, 3, "2024-01-01", "2024-01-02"],
                "target_ts": [5, 6, 3, 10, null], "rts1": [0.25, 0.5, 0.75, 1, 2],
                "scv1": [10, 10, 10, "red", "red"]}"#,
        )
        .unwrap();
        assert_eq!(got, expected());
        let records = config(
            "item_records",
            [
                "[*].id",
                "[*].timeseries[].timestamp",
                "[*].timeseries[].target_ts",
                "[*].timeseries[].rts1",
                "[*].scv1",
            ],
        );
        let got = read_str(
            &records,
            r#"[{"id": 1, "scv1": 10, "timeseries": [{"timestamp": 1, "target_ts": 5, "rts1": 0.25},
                  {"timestamp": 2, "target_ts": 6, "rts1": 0.5}, {"timestamp": 3, "target_ts": 3, "rts1": 0.75}]},
                {"id": "b", "scv1": "red", "timeseries": [{"timestamp": "2024-01-01", "target_ts": 10, "rts1": 1},
                  {"timestamp": "2024-01-02", "target_ts": null, "rts1": 2}]}]"#,
        )
        .unwrap();
        assert_eq!(got, expected());
        let flat = flat_config();
        let got = read_str(
            &flat,
            r#"[{"id": 1, "timestamp": 1, "target_ts": 5, "scv1": 10, "rts1": 0.25},
                {"id": "b", "timestamp": "2024-01-01", "target_ts": 10, "scv1": "red", "rts1": 1},
                {"id": 1, "timestamp": 2, "target_ts": 6, "scv1": 10, "rts1": 0.5},
                {"id": "b", "timestamp": "2024-01-02", "target_ts": null, "scv1": "red", "rts1": 2},
                {"id": 1, "timestamp": 3, "target_ts": 3, "scv1": 10, "rts1": 0.75}]"#,
        )
        .unwrap();
        assert_eq!(got, expected());
    }

    #[test]
    fn bad_data_is_named_by_item_and_timestamp() {
        let flat = flat_config();
        let cases = [
            (
                r#"[{"id": 1, "timestamp": "t1", "target_ts": null, "scv1": 1, "rts1": 1},
                    {"id": 1, "timestamp": "t2", "target_ts": 4, "scv1": 1, "rts1": 1}]"#,
                "Item 1 has no target values",
            ),
            (
                r#"[{"id": 1, "timestamp": "t1", "target_ts": 3, "scv1": 1, "rts1": 1},
                    {"id": 1, "timestamp": "t2", "target_ts": null, "scv1": 1, "rts1": 1},
                    {"id": 1, "timestamp": "t3", "target_ts": 4, "scv1": 1, "rts1": 1}]"#,
                "Item 1: the target is null at timestamp t2 but has a value at timestamp t3",
            ),
            (
                r#"[{"id": 1, "timestamp": "t1", "target_ts": 3, "scv1": 1, "rts1": "high"}]"#,
                "Item 1: time_series_data_config.related_time_series[0] at timestamp t1 is \"high\", not a number.",
            ),
            (
                r#"[{"id": 1, "timestamp": "t1", "target_ts": 3, "scv1": 1}]"#,
                "Item 1: time_series_data_config.related_time_series[0] at timestamp t1 is null, not a number.",
            ),
        ];
        for (json, expected) in cases {
            let e = read_str(&flat, json).unwrap_err().to_string();
            assert!(e.contains(expected), "{e}\nexpected: {expected}");
        }
    }
}
