//! Running `methods.asymmetric_shapley_value` against the forecaster, in
//! the three steps every analysis has ([`crate::job`]):
//!
//! - [`read`] reads the items of the documents (the whole dataset or a
//!   shard), once for both of the next steps;
//! - [`plan`] takes the items' order from the whole dataset, so that shards
//!   explained on different machines merge into the same file;
//! - [`partial`] explains the items of one shard: each item's coalitions
//!   ([`super::shapley::Plan`]) become forecast requests, sent for many
//!   items at once in batched, concurrent calls, and their forecasts become
//!   scores; the state keeps one [`ExplainedItem`] per item;
//! - [`finish`] writes `asymmetric_shapley_value/<granularity>_<direction>/out.jsonl`
//!   in dataset order and returns the `explanations` block of `analysis.json`.

use super::baseline::Baselines;
use super::dataset::{self, Item};
use super::request::{ItemTexts, RecordTemplate};
use super::shapley::{Layout, Method, Plan, Player};
use crate::config::{AnalysisConfig, AsymmetricShapleyConfig, TimeSeriesDataConfig};
use crate::error::{JobError, Result};
use crate::predictor::{ModelAccess, Predictor};
use futures_util::{StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value as Json};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Forecast records per `predict` call: many full requests at the default
/// batch size, while the rendered records held at once stay small.
const RECORDS_PER_CALL: usize = 20_000;

/// `predict` calls in flight at once (each split into concurrent requests).
const CALLS_IN_FLIGHT: usize = 2;

/// The entry name of a time step with granularity timewise, whose AWS
/// output shape is not public: one entry per timestamp covering every series.
pub const TIMEWISE_FEATURE_NAME: &str = "time_step";

/// What the time-series analysis needs from the whole dataset: every
/// item's id, in dataset order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimeSeriesPlan {
    /// Item ids (JSON text) in dataset order.
    pub items: Vec<String>,
}

/// The explained items of a shard (or of the whole dataset).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TimeSeriesState {
    /// One per item, in any order.
    pub explained: Vec<ExplainedItem>,
}

impl TimeSeriesState {
    /// Adds another shard's items.
    pub fn merge(mut self, other: TimeSeriesState) -> TimeSeriesState {
        self.explained.extend(other.explained);
        self
    }

    /// Forecast records sent for the items.
    pub fn model_records(&self) -> u64 {
        self.explained.iter().map(|e| e.model_records).sum()
    }
}

/// One item's explanation: the output line, and what the report draws.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExplainedItem {
    /// The item's place in the whole dataset.
    pub position: u64,
    /// The item as read.
    pub item: Item,
    /// The forecast with every value at its baseline.
    pub offset: Vec<f64>,
    /// Entries in output order.
    pub entries: Vec<Entry>,
    /// Distinct coalitions forecast for this item.
    pub model_records: u64,
}

/// One entry of an output line: a player's scores per forecast step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// The series (header name), `time_step` (timewise), or the static covariate.
    pub feature_name: String,
    /// The timestamp, for series entries.
    pub timestamp: Option<String>,
    /// One attribution per forecast step.
    pub scores: Vec<f64>,
}

/// The configured analysis and dataset keys; `None` when the config has no
/// asymmetric Shapley values.
fn keys(config: &AnalysisConfig) -> Option<(&AsymmetricShapleyConfig, &TimeSeriesDataConfig)> {
    Some((
        config.methods.asymmetric_shapley_value.as_ref()?,
        config.time_series_data_config.as_ref()?,
    ))
}

/// The items of a time-series dataset (or shard), and where they were read.
#[derive(Debug, Clone)]
pub struct Documents {
    /// The file or folder read; relative baseline paths resolve beside it.
    pub path: PathBuf,
    /// Its items, in order.
    pub items: Vec<Item>,
}

/// Reads the items of the documents at `path` with the config's
/// `time_series_data_config`.
pub fn read(config: &AnalysisConfig, path: &Path) -> Result<Documents> {
    let (_, data_config) =
        keys(config).expect("a time-series job's config has time-series keys (validated)");
    let items = dataset::read(data_config, path)?;
    tracing::info!(items = items.len(), "time-series dataset read");
    Ok(Documents {
        path: path.to_path_buf(),
        items,
    })
}

/// The item order of the whole dataset.
pub fn plan(documents: &Documents) -> TimeSeriesPlan {
    TimeSeriesPlan {
        items: documents.items.iter().map(|i| i.id.clone()).collect(),
    }
}

/// The output names of the series and static covariates: `headers` when
/// the config gives them (item id, timestamp, target, related...,
/// statics..., as the SDK writes them), otherwise the last field of each
/// JMESPath.
fn names(
    config: &AnalysisConfig,
    data: &TimeSeriesDataConfig,
) -> (String, Vec<String>, Vec<String>) {
    let field = |path: &str| {
        path.rsplit(['.', ']', '['])
            .find(|p| !p.is_empty() && *p != "*")
            .unwrap_or(path)
            .to_string()
    };
    let related: Vec<&String> = data.related_time_series.iter().flatten().collect();
    let statics: Vec<&String> = data.static_covariates.iter().flatten().collect();
    match &config.headers {
        Some(h) if h.len() == 3 + related.len() + statics.len() => (
            h[2].clone(),
            h[3..3 + related.len()].to_vec(),
            h[3 + related.len()..].to_vec(),
        ),
        _ => (
            field(&data.target_time_series),
            related.iter().map(|p| field(p)).collect(),
            statics.iter().map(|p| field(p)).collect(),
        ),
    }
}

/// The sampled orders' seed for an item: its id's FNV-1a hash, so an item
/// gets the same orders in any shard and any run.
fn item_seed(id: &str) -> u64 {
    id.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Explains the items of a shard.
pub fn partial(
    config: &AnalysisConfig,
    plan: &TimeSeriesPlan,
    shard: &Documents,
    access: &ModelAccess,
) -> Result<TimeSeriesState> {
    let (asv, data_config) =
        keys(config).expect("a time-series plan comes from a time-series config");
    let positions: HashMap<&str, u64> = plan
        .items
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), i as u64))
        .collect();
    let base = crate::dataset::files::input_root(&shard.path);
    let baselines = Baselines::load(asv.baseline.as_ref(), data_config, &base)?;
    let predictor = config.predictor.as_ref().expect("validated: a predictor");
    let template = RecordTemplate::new(
        predictor.record_template.as_deref(),
        data_config.related_time_series.as_ref().map_or(0, Vec::len),
        data_config.static_covariates.as_ref().map_or(0, Vec::len),
    )?;
    let method = Method {
        direction: asv.direction(),
        granularity: asv.granularity(),
        num_samples: asv.num_samples,
    };
    let names = names(config, data_config);
    let predictor = Predictor::new(config, access, Vec::new())?;
    let runtime = crate::predictor::runtime()?;
    let mut prepared = Vec::with_capacity(shard.items.len());
    for item in &shard.items {
        let position = *positions.get(item.id.as_str()).ok_or_else(|| {
            JobError::client(format!(
                "Item {} of the shard {} is not in the dataset the plan was made from; plan and shards must come from the same data.",
                item.id,
                shard.path.display()
            ))
        })?;
        prepared.push((position, item));
    }
    let _progress =
        crate::progress::Reporter::start(predictor.counters(), "asymmetric Shapley values", None);
    let explained = futures_util::stream::iter(blocks(&prepared, method))
        .map(|block| {
            let (predictor, template, baselines, names) =
                (&predictor, &template, &baselines, &names);
            async move { explain_block(block?, template, baselines, names, predictor).await }
        })
        .buffered(CALLS_IN_FLIGHT);
    let mut state = TimeSeriesState::default();
    runtime.block_on(explained.try_for_each(|items| {
        state.explained.extend(items);
        std::future::ready(Ok(()))
    }))?;
    tracing::info!(
        items = state.explained.len(),
        model_records = state.model_records(),
        "asymmetric Shapley values: {} forecast records for {} items",
        state.model_records(),
        state.explained.len()
    );
    Ok(state)
}

/// An item to explain: its place in the whole dataset, and its plan.
struct Planned<'a> {
    position: u64,
    item: &'a Item,
    plan: Plan,
}

/// The items with their plans, in blocks of about [`RECORDS_PER_CALL`]
/// forecast records, each planned only when the stream asks for it: a plan
/// is made once per item, and only the blocks in flight hold theirs.
fn blocks<'a>(
    items: &'a [(u64, &'a Item)],
    method: Method,
) -> impl Iterator<Item = Result<Vec<Planned<'a>>>> + 'a {
    let mut rest = items.iter();
    std::iter::from_fn(move || {
        let mut block = Vec::new();
        let mut records = 0;
        while records < RECORDS_PER_CALL {
            let Some(&(position, item)) = rest.next() else {
                break;
            };
            let plan = match Plan::new(layout(item), method, item_seed(&item.id)) {
                Ok(plan) => plan,
                Err(e) => return Some(Err(e)),
            };
            records += plan.coalitions.len();
            block.push(Planned {
                position,
                item,
                plan,
            });
        }
        (!block.is_empty()).then_some(Ok(block))
    })
}

/// Where an item's values sit in a coalition.
fn layout(item: &Item) -> Layout {
    Layout {
        history: item.target.len(),
        steps: item.timestamps.len(),
        related: item.related.len(),
        statics: item.statics.len(),
    }
}

/// Explains a block of items in one `predict` call.
async fn explain_block(
    block: Vec<Planned<'_>>,
    template: &RecordTemplate,
    baselines: &Baselines,
    names: &(String, Vec<String>, Vec<String>),
    predictor: &Predictor,
) -> Result<Vec<ExplainedItem>> {
    let mut encoded = Vec::new();
    for Planned { item, plan, .. } in &block {
        let layout = layout(item);
        let baseline = baselines.texts(item, layout)?;
        let texts = ItemTexts::new(template, item, layout, &baseline);
        encoded.extend(plan.coalitions.iter().map(|c| texts.record(c)));
    }
    let first = block.first().map_or(0, |p| p.position);
    let outputs = predictor.predict_encoded(first, &encoded).await?;
    let mut outputs = outputs.into_iter();
    let mut explained = Vec::with_capacity(block.len());
    for Planned {
        position,
        item,
        plan,
    } in block
    {
        let forecasts = outputs
            .by_ref()
            .take(plan.coalitions.len())
            .map(|o| forecast(o.score, item))
            .collect::<Result<Vec<_>>>()?;
        let horizon = forecasts[0].len();
        if let Some(other) = forecasts.iter().find(|f| f.len() != horizon) {
            return Err(JobError::client(format!(
                "The model's forecasts for item {} have different lengths ({horizon} and {}); predictor.time_series_predictor_config.forecast must give the same horizon for every request of an item.",
                item.id,
                other.len()
            )));
        }
        let scores = plan.scores(&forecasts);
        explained.push(ExplainedItem {
            position,
            offset: forecasts[0].clone(),
            entries: entries(item, &plan.players, scores, names),
            model_records: plan.coalitions.len() as u64,
            item: item.clone(),
        });
    }
    Ok(explained)
}

/// One record's forecast vector from what `forecast` located.
fn forecast(located: Option<Json>, item: &Item) -> Result<Vec<f64>> {
    let not_numbers = |v: &Json| {
        JobError::client(format!(
            "predictor.time_series_predictor_config.forecast gives {} for item {}, not a list of numbers (one per forecast step).",
            crate::http::snippet(&v.to_string()),
            item.id
        ))
    };
    match located {
        Some(Json::Array(values)) if !values.is_empty() => values
            .iter()
            .map(|v| v.as_f64().ok_or_else(|| not_numbers(v)))
            .collect(),
        // One forecast step may come back bare.
        Some(Json::Number(n)) => Ok(vec![n.as_f64().unwrap_or(f64::NAN)]),
        Some(other) => Err(not_numbers(&other)),
        None => Err(JobError::client(format!(
            "The model's answer for item {} has no forecast; set predictor.time_series_predictor_config.forecast.",
            item.id
        ))),
    }
}

/// The output entries of an item from its players' scores.
fn entries(
    item: &Item,
    players: &[Player],
    scores: Vec<Vec<f64>>,
    names: &(String, Vec<String>, Vec<String>),
) -> Vec<Entry> {
    let (target, related, statics) = names;
    players
        .iter()
        .zip(scores)
        .map(|(player, scores)| {
            let (feature_name, step) = match *player {
                Player::Step(t) => (TIMEWISE_FEATURE_NAME.to_string(), Some(t)),
                Player::Target(t) => (target.clone(), Some(t)),
                Player::Related(j, t) => (related[j].clone(), Some(t)),
                Player::Static(k) => (statics[k].clone(), None),
            };
            Entry {
                feature_name,
                timestamp: step.map(|t| item.timestamps[t].clone()),
                scores,
            }
        })
        .collect()
}

/// The folder of the output file, relative to the output folder.
pub fn results_folder(asv: &AsymmetricShapleyConfig) -> PathBuf {
    Path::new("asymmetric_shapley_value").join(format!(
        "{}_{}",
        asv.granularity().as_str(),
        asv.direction().as_str()
    ))
}

/// Writes `out.jsonl` from the merged state, in dataset order, and returns
/// the `explanations` block of `analysis.json` and the items explained.
pub fn finish(
    config: &AnalysisConfig,
    state: &mut TimeSeriesState,
    output: &Path,
) -> Result<(Json, u64)> {
    let (asv, _) = keys(config).expect("a time-series state comes from a time-series config");
    state.explained.sort_by_key(|e| e.position);
    let folder = output.join(results_folder(asv));
    std::fs::create_dir_all(&folder)
        .map_err(|e| JobError::client(format!("Cannot create {}: {e}", folder.display())))?;
    let path = folder.join("out.jsonl");
    let mut body = String::new();
    for explained in &state.explained {
        body.push_str(&line(explained));
        body.push('\n');
    }
    crate::layout::write_atomic(&path, body.as_bytes())?;
    tracing::info!(
        "Wrote {} lines to {}",
        state.explained.len(),
        path.display()
    );
    let block = json!({"asymmetric_shapley_value": {
        "direction": asv.direction().as_str(),
        "granularity": asv.granularity().as_str(),
        "explanation_results_path": path.display().to_string(),
    }});
    Ok((block, state.explained.len() as u64))
}

/// Items whose history the report draws (the first ones in dataset order).
pub const ITEMS_DRAWN: usize = 5;

/// The target history of the first [`ITEMS_DRAWN`] items of a finished
/// state, by item id (JSON text), for the report.
pub fn histories(state: &TimeSeriesState) -> Vec<(String, Vec<f64>)> {
    state
        .explained
        .iter()
        .take(ITEMS_DRAWN)
        .map(|e| (e.item.id.clone(), e.item.target.clone()))
        .collect()
}

/// One output line, as Python's `json.dumps` writes it.
fn line(e: &ExplainedItem) -> String {
    let numbers = |v: &[f64]| {
        let texts: Vec<String> = v.iter().map(|x| crate::pyfmt::float(*x)).collect();
        format!("[{}]", texts.join(", "))
    };
    let quoted = |s: &str| serde_json::to_string(s).expect("strings serialise");
    let entries: Vec<String> = e
        .entries
        .iter()
        .map(|entry| {
            let timestamp = entry
                .timestamp
                .as_ref()
                .map_or(String::new(), |t| format!("\"timestamp\": {}, ", quoted(t)));
            format!(
                "{{\"feature_name\": {}, {timestamp}\"scores\": {}}}",
                quoted(&entry.feature_name),
                numbers(&entry.scores)
            )
        })
        .collect();
    format!(
        "{{\"item_id\": {}, \"offset\": {}, \"explanations\": [{}]}}",
        e.item.id,
        numbers(&e.offset),
        entries.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn config() -> AnalysisConfig {
        crate::config::parse(
            br#"{"dataset_type": "application/json",
                 "time_series_data_config": {"dataset_format": "columns", "item_id": "i", "timestamp": "t", "target_time_series": "y"},
                 "methods": {"asymmetric_shapley_value": {"direction": "chronological", "granularity": "timewise"}},
                 "predictor": {"endpoint_name": "m", "time_series_predictor_config": {"forecast": "f"}}}"#,
        )
        .unwrap()
    }

    fn explained(position: u64) -> ExplainedItem {
        ExplainedItem {
            position,
            item: Item {
                id: format!("\"item{position}\""),
                timestamps: vec!["t0".into()],
                target: vec![position as f64],
                related: vec![],
                statics: vec![],
            },
            offset: vec![0.5],
            entries: vec![Entry {
                feature_name: TIMEWISE_FEATURE_NAME.into(),
                timestamp: Some("t0".into()),
                scores: vec![position as f64],
            }],
            model_records: 2,
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]
        /// Items split into shards anywhere and merged in any order and
        /// grouping write the same out.jsonl as one state of all items.
        #[test]
        fn any_split_merged_in_any_order_writes_the_same_file(
            items in 1u64..30,
            shard_of in prop::collection::vec(0usize..4, 30),
            reversed in any::<bool>(),
        ) {
            let config = config();
            let dir = tempfile::tempdir().unwrap();
            let write = |mut state: TimeSeriesState, name: &str| {
                let out = dir.path().join(name);
                finish(&config, &mut state, &out).unwrap();
                std::fs::read(out.join("asymmetric_shapley_value/timewise_chronological/out.jsonl")).unwrap()
            };
            let whole = TimeSeriesState { explained: (0..items).map(explained).collect() };
            let mut shards = vec![TimeSeriesState::default(); 4];
            for position in (0..items).rev() {
                let shard = &mut shards[shard_of[position as usize]];
                shard.explained.push(explained(position));
            }
            if reversed {
                shards.reverse();
            }
            let (left, right) = shards.split_at(2);
            let fold = |s: &[TimeSeriesState]| s.iter().cloned().fold(TimeSeriesState::default(), TimeSeriesState::merge);
            let merged = fold(right).merge(fold(left));
            prop_assert_eq!(merged.model_records(), whole.model_records());
            prop_assert_eq!(write(merged, "merged"), write(whole, "whole"));
        }
    }
}
