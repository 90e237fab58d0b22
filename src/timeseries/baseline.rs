//! What an absent value becomes: `methods.asymmetric_shapley_value.baseline`.
//!
//! Rules per series kind: `zero` (0.0, the default) or `mean` (the mean of
//! the item's own series: its history for the target, all rows for a
//! related series), and the static covariates per item id. Or a dataset
//! in the same format and paths as the one explained, whose item of the
//! same id gives every baseline value (its series must have the item's lengths).

use super::dataset::{self, Item};
use super::request::{number, value_texts};
use super::shapley::Layout;
use crate::config::{SeriesBaseline, TimeSeriesBaseline, TimeSeriesDataConfig};
use crate::error::{JobError, Result};
use serde_json::Value as Json;
use std::collections::HashMap;
use std::path::Path;

const KEY: &str = "methods.asymmetric_shapley_value.baseline";

/// The baseline of every item.
#[derive(Debug, Clone)]
pub enum Baselines {
    /// `zero`/`mean` per series kind, static covariates per item key.
    Rules {
        /// The target's rule.
        target: SeriesBaseline,
        /// The related series' rule.
        related: SeriesBaseline,
        /// Static covariate values per item key.
        statics: HashMap<String, Json>,
    },
    /// Items of a baseline dataset, by item key.
    Dataset(HashMap<String, Item>),
}

impl Baselines {
    /// Reads the configured baseline; a dataset path is resolved against
    /// `base` (the dataset's folder) or downloaded from S3.
    pub fn load(
        baseline: Option<&TimeSeriesBaseline>,
        data_config: &TimeSeriesDataConfig,
        base: &Path,
    ) -> Result<Baselines> {
        match baseline {
            None => Ok(Baselines::Rules {
                target: SeriesBaseline::Zero,
                related: SeriesBaseline::Zero,
                statics: HashMap::new(),
            }),
            Some(TimeSeriesBaseline::Values(v)) => Ok(Baselines::Rules {
                target: v.target_time_series.unwrap_or_default(),
                related: v.related_time_series.unwrap_or_default(),
                statics: v
                    .static_covariates
                    .clone()
                    .unwrap_or_default()
                    .into_iter()
                    .collect(),
            }),
            Some(TimeSeriesBaseline::Dataset(uri)) => {
                let path = crate::dataset::files::resolve_uri(KEY, uri, base)?;
                let items = dataset::read(data_config, &path).map_err(|e| {
                    JobError::client(format!(
                        "{KEY}: the baseline dataset {uri} cannot be read: {}",
                        e.message
                    ))
                })?;
                Ok(Baselines::Dataset(
                    items.into_iter().map(|i| (i.key(), i)).collect(),
                ))
            }
        }
    }

    /// The baseline of `item` as flat value texts in `layout` order.
    pub fn texts(&self, item: &Item, layout: Layout) -> Result<Vec<String>> {
        let key = item.key();
        match self {
            Baselines::Rules {
                target,
                related,
                statics,
            } => {
                let fill = |rule: SeriesBaseline, series: &[f64]| -> Vec<String> {
                    let value = match rule {
                        SeriesBaseline::Zero => 0.0,
                        SeriesBaseline::Mean => series.iter().sum::<f64>() / series.len() as f64,
                    };
                    vec![number(value); series.len()]
                };
                let mut texts = fill(*target, &item.target);
                for series in &item.related {
                    texts.extend(fill(*related, series));
                }
                if layout.statics > 0 {
                    let given = statics.get(&key).ok_or_else(|| {
                        JobError::client(format!(
                            "{KEY}.static_covariates has no entry for item {}; give a list of {} value(s) for every item.",
                            item.id, layout.statics
                        ))
                    })?;
                    match given {
                        Json::Array(values) if values.len() == layout.statics => {
                            texts.extend(values.iter().map(Json::to_string));
                        }
                        other => {
                            return Err(JobError::client(format!(
                                "{KEY}.static_covariates.{key}: {} is not a list of {} value(s), one per static covariate in time_series_data_config.static_covariates.",
                                crate::http::snippet(&other.to_string()),
                                layout.statics
                            )))
                        }
                    }
                }
                Ok(texts)
            }
            Baselines::Dataset(items) => {
                let base = items.get(&key).ok_or_else(|| {
                    JobError::client(format!(
                        "{KEY}: the baseline dataset has no item {}; it needs one item per item explained.",
                        item.id
                    ))
                })?;
                let same_shape = base.target.len() == item.target.len()
                    && base.related.len() == item.related.len()
                    && base.related.iter().all(|s| s.len() == layout.steps)
                    && base.statics.len() == item.statics.len();
                if !same_shape {
                    return Err(JobError::client(format!(
                        "{KEY}: item {} has {} history values and {} rows in the baseline dataset but {} and {} in the dataset; a baseline item needs the same lengths.",
                        item.id,
                        base.target.len(),
                        base.timestamps.len(),
                        item.target.len(),
                        item.timestamps.len()
                    )));
                }
                Ok(value_texts(base))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_is_the_items_own_series_mean_and_statics_come_per_item() {
        let item = Item {
            id: "\"a\"".into(),
            timestamps: vec!["1".into(), "2".into(), "3".into()],
            target: vec![1.0, 3.0],
            related: vec![vec![1.0, 2.0, 6.0]],
            statics: vec!["5".into()],
        };
        let layout = Layout {
            history: 2,
            steps: 3,
            related: 1,
            statics: 1,
        };
        let rules = Baselines::Rules {
            target: SeriesBaseline::Mean,
            related: SeriesBaseline::Zero,
            statics: [("a".to_string(), serde_json::json!([7]))]
                .into_iter()
                .collect(),
        };
        assert_eq!(
            rules.texts(&item, layout).unwrap(),
            ["2.0", "2.0", "0.0", "0.0", "0.0", "7"]
        );
        let missing = Baselines::Rules {
            target: SeriesBaseline::Zero,
            related: SeriesBaseline::Mean,
            statics: HashMap::new(),
        };
        let e = missing.texts(&item, layout).unwrap_err().to_string();
        assert!(
            e.contains("static_covariates has no entry for item \"a\""),
            "{e}"
        );
    }
}
