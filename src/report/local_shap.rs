//! The local SHAP values of `explanations_shap/out.csv`, as the report
//! draws them: how they spread per feature (box plots), a sample of records
//! (the beeswarm) and the records with the lowest and highest score (their
//! waterfalls).
//!
//! The file has one column per label and explained feature, named
//! `<feature>_<label>` (as Clarify names them), and one row per record in
//! dataset order, so it can be far larger than memory should hold for a
//! chart. Rows are therefore sampled: a fixed-seed reservoir of at most
//! [`SAMPLE_ROWS`] rows, whose quantiles match the full data's to well
//! below what a chart can show; the beeswarm takes [`SWARM_ROWS`] of them,
//! evenly spaced in dataset order. The extremes are found over every row.

use super::charts::Quantiles;
use super::records::FeatureValues;
use anyhow::{Context, Result};
use rand::{rngs::SmallRng, Rng, SeedableRng};
use std::collections::HashMap;
use std::path::Path;

/// Most rows kept for the quantiles.
pub const SAMPLE_ROWS: usize = 100_000;

/// Most records drawn in a beeswarm: enough to show the shape, few enough
/// that every dot stays visible and the chart stays small in each format.
pub const SWARM_ROWS: usize = 300;

/// One record's local SHAP values for one label.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// The record's zero-based position in the dataset (and in `out.csv`).
    pub row: u64,
    /// (feature, SHAP value), in the file's column order.
    pub values: Vec<(String, f64)>,
}

impl Record {
    /// The sum of the record's SHAP values: its score minus the expected
    /// value (SHAP values add up to that difference).
    pub fn total(&self) -> f64 {
        self.values
            .iter()
            .map(|(_, v)| *v)
            .filter(|v| v.is_finite())
            .sum()
    }
}

/// The local SHAP values the report draws.
#[derive(Debug, Clone, Default)]
pub struct LocalShap {
    spread: HashMap<(String, String), Quantiles>,
    /// The beeswarm's rows, in dataset order, with every column's value.
    swarm: Vec<(u64, Vec<f64>)>,
    /// (label, feature) of each value of a row.
    columns: Vec<(String, String)>,
    /// Per label: the records with the lowest and the highest score.
    extremes: HashMap<String, (Record, Record)>,
    /// The feature values of [`LocalShap::rows_drawn`], when the dataset
    /// could be read.
    values: Option<FeatureValues>,
}
impl LocalShap {
    /// Reads `out.csv` at `path`, keeping the columns of `features` for each
    /// of `labels` (the names in `explanations.kernel_shap`); other columns,
    /// such as the join source, are skipped.
    pub fn read(path: &Path, labels: &[(&str, Vec<&str>)]) -> Result<LocalShap> {
        let mut reader = csv::Reader::from_path(path)
            .with_context(|| format!("cannot open {}", path.display()))?;
        let headers = reader.headers()?.clone();
        let wanted: Vec<(usize, String, String)> = labels
            .iter()
            .flat_map(|(label, features)| features.iter().map(move |f| (*label, *f)))
            .filter_map(|(label, feature)| {
                let column = headers
                    .iter()
                    .position(|h| h == format!("{feature}_{label}"))?;
                Some((column, label.to_string(), feature.to_string()))
            })
            .collect();
        let columns: Vec<(String, String)> = wanted
            .iter()
            .map(|(_, label, feature)| (label.clone(), feature.clone()))
            .collect();
        let mut extremes = Extremes::new(&columns);
        let mut sample: Vec<(u64, Vec<f64>)> = Vec::new();
        let mut rng = SmallRng::seed_from_u64(0x5eed);
        for (index, record) in reader.records().enumerate() {
            let record = record.with_context(|| format!("{} row {}", path.display(), index + 2))?;
            let row: Vec<f64> = wanted
                .iter()
                .map(|(column, _, _)| {
                    record
                        .get(*column)
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(f64::NAN)
                })
                .collect();
            extremes.see(index as u64, &row);
            // Reservoir sampling: every row ends up kept with equal chance.
            if sample.len() < SAMPLE_ROWS {
                sample.push((index as u64, row));
            } else {
                let slot = rng.random_range(0..=index);
                if slot < SAMPLE_ROWS {
                    sample[slot] = (index as u64, row);
                }
            }
        }
        let spread = columns
            .iter()
            .enumerate()
            .filter_map(|(i, key)| {
                let values: Vec<f64> = sample
                    .iter()
                    .map(|(_, row)| row[i])
                    .filter(|v| v.is_finite())
                    .collect();
                Some((key.clone(), quantiles(values)?))
            })
            .collect();
        sample.sort_unstable_by_key(|(row, _)| *row);
        let step = sample.len().div_ceil(SWARM_ROWS).max(1);
        let swarm = sample.into_iter().step_by(step).collect();
        Ok(LocalShap {
            spread,
            swarm,
            extremes: extremes.records(&columns),
            columns,
            values: None,
        })
    }

    /// The spread of `feature`'s values for `label`, if the file had them.
    pub fn spread(&self, label: &str, feature: &str) -> Option<Quantiles> {
        self.spread
            .get(&(label.to_string(), feature.to_string()))
            .copied()
    }

    /// The beeswarm's records of `feature` for `label`: (dataset row, SHAP
    /// value), finite values only.
    pub fn swarm(&self, label: &str, feature: &str) -> Vec<(u64, f64)> {
        let Some(i) = self
            .columns
            .iter()
            .position(|(l, f)| l == label && f == feature)
        else {
            return Vec::new();
        };
        self.swarm
            .iter()
            .map(|(row, values)| (*row, values[i]))
            .filter(|(_, v)| v.is_finite())
            .collect()
    }

    /// The same values, with the feature values of the records drawn.
    pub fn with_values(self, values: FeatureValues) -> LocalShap {
        LocalShap {
            values: Some(values),
            ..self
        }
    }

    /// The feature values of the records drawn, if the dataset was read.
    pub fn values(&self) -> Option<&FeatureValues> {
        self.values.as_ref()
    }

    /// The records with the lowest and the highest score for `label`.
    pub fn extremes(&self, label: &str) -> Option<&(Record, Record)> {
        self.extremes.get(label)
    }

    /// Every dataset row the charts name: the beeswarm's and the extremes',
    /// in dataset order; their feature values colour and label them.
    pub fn rows_drawn(&self) -> Vec<u64> {
        let mut rows: Vec<u64> = self.swarm.iter().map(|(row, _)| *row).collect();
        for (low, high) in self.extremes.values() {
            rows.extend([low.row, high.row]);
        }
        rows.sort_unstable();
        rows.dedup();
        rows
    }
}

/// A row as the extremes keep it: (sum of its SHAP values, dataset row,
/// the values).
type Candidate = (f64, u64, Vec<f64>);

/// The rows with the lowest and the highest sum of SHAP values per label,
/// found in one pass over the file.
struct Extremes {
    /// Per label: its name and the indices of its columns.
    labels: Vec<(String, Vec<usize>)>,
    /// Per label: (sum, row, values) of the lowest and the highest so far.
    found: Vec<Option<[Candidate; 2]>>,
}

impl Extremes {
    fn new(columns: &[(String, String)]) -> Extremes {
        let mut labels: Vec<(String, Vec<usize>)> = Vec::new();
        for (i, (label, _)) in columns.iter().enumerate() {
            match labels.iter_mut().find(|(l, _)| l == label) {
                Some((_, indices)) => indices.push(i),
                None => labels.push((label.clone(), vec![i])),
            }
        }
        let found = vec![None; labels.len()];
        Extremes { labels, found }
    }

    fn see(&mut self, row: u64, values: &[f64]) {
        for ((_, indices), found) in self.labels.iter().zip(&mut self.found) {
            let own: Vec<f64> = indices.iter().map(|&i| values[i]).collect();
            let total: f64 = own.iter().filter(|v| v.is_finite()).sum();
            let entry = (total, row, own);
            match found {
                None => *found = Some([entry.clone(), entry]),
                Some([low, high]) => {
                    // Strict comparisons: the first row wins ties.
                    if total < low.0 {
                        *low = entry.clone();
                    }
                    if total > high.0 {
                        *high = entry;
                    }
                }
            }
        }
    }

    fn records(self, columns: &[(String, String)]) -> HashMap<String, (Record, Record)> {
        let record = |indices: &[usize], (_, row, values): Candidate| Record {
            row,
            values: indices
                .iter()
                .zip(values)
                .map(|(&i, v)| (columns[i].1.clone(), v))
                .collect(),
        };
        self.labels
            .into_iter()
            .zip(self.found)
            .filter_map(|((label, indices), found)| {
                let [low, high] = found?;
                Some((label, (record(&indices, low), record(&indices, high))))
            })
            .collect()
    }
}

/// The box-plot numbers of `values` (linear interpolation between order
/// statistics, as numpy's default), or `None` when there are none.
fn quantiles(mut values: Vec<f64>) -> Option<Quantiles> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let at = |q: f64| {
        let position = q * (values.len() - 1) as f64;
        let (below, above) = (position.floor() as usize, position.ceil() as usize);
        values[below] + (values[above] - values[below]) * (position - below as f64)
    };
    Some(Quantiles {
        p05: at(0.05),
        q1: at(0.25),
        median: at(0.5),
        q3: at(0.75),
        p95: at(0.95),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate_like_numpy() {
        let q = quantiles((1..=5).map(f64::from).collect()).unwrap();
        assert_eq!((q.q1, q.median, q.q3), (2.0, 3.0, 4.0));
        assert!((q.p05 - 1.2).abs() < 1e-12 && (q.p95 - 4.8).abs() < 1e-12);
        assert_eq!(quantiles(vec![]), None);
    }

    #[test]
    fn columns_are_matched_by_feature_and_label_and_others_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.csv");
        std::fs::write(
            &path,
            "id,age_years_label0,sex_label0,age_years_label1\n7,1,-1,10\n8,3,-3,30\n",
        )
        .unwrap();
        let labels = [
            ("label0", vec!["age_years", "sex"]),
            ("label1", vec!["age_years"]),
        ];
        let local = LocalShap::read(&path, &labels).unwrap();
        assert_eq!(local.spread("label0", "age_years").unwrap().median, 2.0);
        assert_eq!(local.spread("label0", "sex").unwrap().median, -2.0);
        assert_eq!(local.spread("label1", "age_years").unwrap().median, 20.0);
        assert_eq!(local.spread("label1", "sex"), None);
        let (low, high) = local.extremes("label0").unwrap();
        assert_eq!(
            (low.row, high.row),
            (0, 0),
            "both sums are 0: the first row wins ties"
        );
        assert_eq!(local.swarm("label1", "age_years"), [(0, 10.0), (1, 30.0)]);
        assert_eq!(local.rows_drawn(), [0, 1]);
    }

    #[test]
    fn extremes_are_the_lowest_and_highest_sums_over_every_row() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.csv");
        // Sums per row: 0.3, -0.5, 0.9, 0.1 (row 1's b is missing).
        std::fs::write(
            &path,
            "a_label0,b_label0\n0.1,0.2\n-0.5,\n0.4,0.5\n0.2,-0.1\n",
        )
        .unwrap();
        let local = LocalShap::read(&path, &[("label0", vec!["a", "b"])]).unwrap();
        let (low, high) = local.extremes("label0").unwrap();
        assert_eq!(low.row, 1);
        assert!((low.total() + 0.5).abs() < 1e-12);
        assert_eq!(high.row, 2);
        assert_eq!(
            high.values,
            [("a".to_string(), 0.4), ("b".to_string(), 0.5)]
        );
        assert_eq!(
            local.swarm("label0", "b").len(),
            3,
            "missing values are left out"
        );
    }
}
