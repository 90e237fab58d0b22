//! Partial dependence (`methods.pdp`), in two phases like Kernel SHAP.
//!
//! For one feature: build its grid ([`numerical_grid`] or
//! [`categorical_grid`]), send [`synthetic_rows`] to the model (every data
//! row with the feature set to each grid value), then
//! [`PdpSums`] adds up the answers per grid value, shard by shard, and
//! [`Grid::partial_dependence`] averages them into the element of
//! `explanations.pdp` in `analysis.json` (feature name, type, grid values,
//! model output per grid value and data distribution).
//!
//! The grid follows the contract: a numerical feature gets the centres of
//! `grid_resolution` equal-width buckets over `[min, max]`, a categorical one
//! all its distinct values (not capped, in order of first appearance);
//! `data_distribution` is the fraction of rows in each bucket or category
//! (Clarify's docs leave counts versus fractions open; its example output
//! holds fractions).

use super::exact_sum::ExactSum;
use crate::config::PdpConfig;
use serde::{Deserialize, Serialize};

/// `grid_resolution` when the config omits it: the SDK's `PDPConfig` default
/// (the schema requires the key, so this only covers hand-written configs).
pub const DEFAULT_GRID_RESOLUTION: usize = 15;

/// The number of buckets for numerical features configured in `methods.pdp`.
pub fn grid_resolution(config: &PdpConfig) -> usize {
    config
        .grid_resolution
        .map_or(DEFAULT_GRID_RESOLUTION, |r| r as usize)
}

/// How a feature's grid was built; serialised as the contract's `data_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DataType {
    /// Equal-width buckets over the feature's range.
    Numerical,
    /// The feature's distinct values.
    Categorical,
}

/// The values one feature is set to, with the share of data rows each stands for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Grid<V> {
    /// Numerical or categorical.
    pub data_type: DataType,
    /// Bucket centres, or distinct categories.
    pub feature_values: Vec<V>,
    /// Fraction of rows per bucket or category, aligned with `feature_values`.
    pub data_distribution: Vec<f64>,
}

/// The grid of a numerical feature: centres of `grid_resolution` equal-width
/// buckets over `[min, max]`, each with the fraction of values falling in it
/// (buckets are closed on the left; the maximum belongs to the last one).
/// NaN values are ignored. A constant feature has a single grid value, and a
/// feature with no values an empty grid.
pub fn numerical_grid(values: &[f64], grid_resolution: usize) -> Grid<f64> {
    let present: Vec<f64> = values.iter().copied().filter(|v| !v.is_nan()).collect();
    let (min, max) = present
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    let buckets = if present.is_empty() {
        0
    } else if min == max {
        1
    } else {
        grid_resolution.max(1)
    };
    let width = (max - min) / buckets as f64;
    let mut counts = vec![0usize; buckets];
    for v in &present {
        let bucket = if width > 0.0 {
            ((v - min) / width) as usize
        } else {
            0
        };
        counts[bucket.min(buckets - 1)] += 1;
    }
    Grid {
        data_type: DataType::Numerical,
        feature_values: (0..buckets)
            .map(|b| min + (b as f64 + 0.5) * width)
            .collect(),
        data_distribution: fractions(&counts, present.len()),
    }
}

/// The grid of a categorical feature: its distinct values in order of first
/// appearance, each with the fraction of rows holding it.
pub fn categorical_grid<V: Clone + PartialEq>(values: &[V]) -> Grid<V> {
    let mut distinct: Vec<V> = Vec::new();
    let mut counts: Vec<usize> = Vec::new();
    for v in values {
        match distinct.iter().position(|d| d == v) {
            Some(i) => counts[i] += 1,
            None => {
                distinct.push(v.clone());
                counts.push(1);
            }
        }
    }
    Grid {
        data_type: DataType::Categorical,
        feature_values: distinct,
        data_distribution: fractions(&counts, values.len()),
    }
}

fn fractions(counts: &[usize], total: usize) -> Vec<f64> {
    counts.iter().map(|&c| c as f64 / total as f64).collect()
}

/// The rows to send to the model for `feature`: for each grid value in turn,
/// every row of `rows` with that feature set to it (grid-major, so
/// `grid_values.len() × rows.len()` rows).
pub fn synthetic_rows<T: Clone>(rows: &[Vec<T>], feature: usize, grid_values: &[T]) -> Vec<Vec<T>> {
    grid_values
        .iter()
        .flat_map(|value| {
            rows.iter().map(move |row| {
                let mut synthetic = row.clone();
                synthetic[feature] = value.clone();
                synthetic
            })
        })
        .collect()
}

/// One element of `explanations.pdp` in `analysis.json`: one feature's grid
/// and the model's average output at each grid value.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PartialDependence<V> {
    /// The feature's name.
    pub feature_name: String,
    /// `numerical` or `categorical`.
    pub data_type: DataType,
    /// Grid values.
    pub feature_values: Vec<V>,
    /// Fraction of rows per grid value.
    pub data_distribution: Vec<f64>,
    /// One list per model output: the mean prediction at each grid value.
    pub model_predictions: Vec<Vec<f64>>,
    /// Names of the model outputs (`label0`… or the configured headers).
    pub label_headers: Vec<String>,
}

/// The model's answers to [`synthetic_rows`] summed per output and grid
/// value, with the number of data rows: mergeable across shards, and the
/// same bits in any order ([`ExactSum`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PdpSums {
    /// `sums[k][g]`: output `k` summed over the rows set to grid value `g`.
    sums: Vec<Vec<ExactSum>>,
    /// Data rows added.
    rows: u64,
}

impl PdpSums {
    /// Adds the answers for `rows` data rows: `outputs[k]` holds output `k`
    /// for each synthetic row, grid-major as [`synthetic_rows`] builds them.
    pub fn add(&mut self, outputs: &[Vec<f64>], rows: usize) {
        if self.sums.len() < outputs.len() {
            self.sums.resize_with(outputs.len(), Vec::new);
        }
        for (sums, answers) in self.sums.iter_mut().zip(outputs) {
            let per_value = answers.chunks(rows.max(1));
            if sums.len() < per_value.len() {
                sums.resize_with(per_value.len(), ExactSum::default);
            }
            for (sum, chunk) in sums.iter_mut().zip(per_value) {
                chunk.iter().for_each(|&a| sum.add(a));
            }
        }
        self.rows += rows as u64;
    }

    /// Adds another shard's sums.
    pub fn merge(&mut self, other: &PdpSums) {
        if self.sums.len() < other.sums.len() {
            self.sums.resize_with(other.sums.len(), Vec::new);
        }
        for (mine, theirs) in self.sums.iter_mut().zip(&other.sums) {
            if mine.len() < theirs.len() {
                mine.resize_with(theirs.len(), ExactSum::default);
            }
            mine.iter_mut().zip(theirs).for_each(|(a, b)| a.merge(b));
        }
        self.rows += other.rows;
    }
}

impl<V> Grid<V> {
    /// Averages the summed answers into the PDP result; `label_headers`
    /// names the outputs.
    pub fn partial_dependence(
        self,
        feature_name: &str,
        label_headers: Vec<String>,
        sums: &PdpSums,
    ) -> PartialDependence<V> {
        let model_predictions = (0..label_headers.len())
            .map(|k| {
                let per_value = sums.sums.get(k).map_or(&[][..], Vec::as_slice);
                (0..self.feature_values.len())
                    .map(|g| per_value.get(g).map_or(f64::NAN, |s| s.value()) / sums.rows as f64)
                    .collect()
            })
            .collect();
        PartialDependence {
            feature_name: feature_name.to_string(),
            data_type: self.data_type,
            feature_values: self.feature_values,
            data_distribution: self.data_distribution,
            model_predictions,
            label_headers,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_close(actual: &[f64], expected: &[f64]) {
        assert_eq!(actual.len(), expected.len(), "{actual:?} vs {expected:?}");
        for (a, e) in actual.iter().zip(expected) {
            assert!((a - e).abs() < 1e-12, "{actual:?} vs {expected:?}");
        }
    }

    #[test]
    fn numerical_grid_uses_bucket_centres_and_fractions() {
        let values: Vec<f64> = (0..10).map(f64::from).collect();
        let grid = numerical_grid(&values, 5);
        assert_eq!(grid.data_type, DataType::Numerical);
        assert_close(&grid.feature_values, &[0.9, 2.7, 4.5, 6.3, 8.1]);
        assert_close(&grid.data_distribution, &[0.2; 5]);
        // NaN is ignored; a constant or empty feature degenerates gracefully.
        assert_eq!(
            numerical_grid(&[f64::NAN, 3.0, 3.0], 15).feature_values,
            vec![3.0]
        );
        assert_eq!(numerical_grid(&[3.0, 3.0], 15).data_distribution, vec![1.0]);
        assert!(numerical_grid(&[], 15).feature_values.is_empty());
    }

    #[test]
    fn categorical_grid_lists_distinct_values() {
        let grid = categorical_grid(&["b", "a", "b", "c"]);
        assert_eq!(grid.data_type, DataType::Categorical);
        assert_eq!(grid.feature_values, vec!["b", "a", "c"]);
        assert_close(&grid.data_distribution, &[0.5, 0.25, 0.25]);
    }

    #[test]
    fn linear_model_gives_a_line_with_its_slope() {
        // f(z) = 3 z0 − 2 z1 + 1: the PDP of z0 is 3 g + mean(−2 z1 + 1).
        let model = |z: &[f64]| vec![3.0 * z[0] - 2.0 * z[1] + 1.0, -z[0]];
        let rows: Vec<Vec<f64>> = (0..20)
            .map(|i| vec![(i % 7) as f64 * 1.5, (i % 3) as f64])
            .collect();
        let column: Vec<f64> = rows.iter().map(|r| r[0]).collect();
        let grid = numerical_grid(&column, 4);
        let synthetic = synthetic_rows(&rows, 0, &grid.feature_values);
        assert_eq!(synthetic.len(), 4 * rows.len());
        let outputs: Vec<Vec<f64>> = (0..2)
            .map(|k| synthetic.iter().map(|r| model(r)[k]).collect())
            .collect();
        let grid_values = grid.feature_values.clone();
        let mut sums = PdpSums::default();
        sums.add(&outputs, rows.len());
        let pdp = grid.partial_dependence("z0", vec!["label0".into(), "label1".into()], &sums);
        let mean_rest = rows.iter().map(|r| -2.0 * r[1] + 1.0).sum::<f64>() / rows.len() as f64;
        let line: Vec<f64> = grid_values.iter().map(|g| 3.0 * g + mean_rest).collect();
        assert_close(&pdp.model_predictions[0], &line);
        let negated: Vec<f64> = grid_values.iter().map(|g| -g).collect();
        assert_close(&pdp.model_predictions[1], &negated);
    }

    #[test]
    fn result_serialises_in_the_contract_shape() {
        let grid = categorical_grid(&["x".to_string(), "y".to_string()]);
        let rows = vec![vec!["x".to_string(), "k".to_string()]];
        let synthetic = synthetic_rows(&rows, 0, &grid.feature_values);
        assert_eq!(synthetic, vec![vec!["x", "k"], vec!["y", "k"]]);
        let mut sums = PdpSums::default();
        sums.add(&[vec![0.25, 0.75]], 1);
        let pdp = grid.partial_dependence("colour", vec!["label0".into()], &sums);
        assert_eq!(
            serde_json::to_value(&pdp).unwrap(),
            serde_json::json!({
                "feature_name": "colour",
                "data_type": "categorical",
                "feature_values": ["x", "y"],
                "data_distribution": [0.5, 0.5],
                "model_predictions": [[0.25, 0.75]],
                "label_headers": ["label0"]
            })
        );
    }

    #[test]
    fn grid_resolution_defaults_to_the_sdk_value() {
        let config = |v| serde_json::from_value::<PdpConfig>(v).unwrap();
        assert_eq!(
            grid_resolution(&config(serde_json::json!({"grid_resolution": 8}))),
            8
        );
        assert_eq!(
            grid_resolution(&config(serde_json::json!({}))),
            DEFAULT_GRID_RESOLUTION
        );
    }
}
