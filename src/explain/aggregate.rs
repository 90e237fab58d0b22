//! `global_shap_values`: local SHAP values aggregated per feature and output.
//!
//! The methods are Clarify's `methods.shap.agg_method` values: `mean_abs` is the
//! mean of |φ|, `mean_sq` the mean of φ² (no square root), and `median` the
//! median of the raw, signed φ (Clarify's docs do not say the values are
//! made absolute, so they are not). A median of an even count is
//! the mean of the two middle values, as numpy computes it.
//!
//! [`GlobalShapState`] folds rows in and merges with another state, so shards
//! can be aggregated anywhere. For the means it keeps only exact sums
//! ([`ExactSum`]) and a count: constant memory, and the result has the same
//! bits whatever the split and merge order. The median cannot be merged from a summary, so for `median`
//! the state keeps every local value (rows × features × outputs floats);
//! merging concatenates them and the result does not depend on the order.

use super::exact_sum::ExactSum;
use serde::{Deserialize, Serialize};

/// How local values become one global value per feature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AggregationMethod {
    /// Mean of absolute values (Clarify's default).
    MeanAbs,
    /// Median of the signed values.
    Median,
    /// Mean of squared values.
    MeanSq,
}

impl AggregationMethod {
    /// The method named by `methods.shap.agg_method` (already lower-cased by
    /// the config parser); `None` when the key is absent means `mean_abs`.
    /// Returns `None` for an unknown name.
    pub fn from_config(agg_method: Option<&str>) -> Option<Self> {
        match agg_method {
            None | Some("mean_abs") => Some(AggregationMethod::MeanAbs),
            Some("median") => Some(AggregationMethod::Median),
            Some("mean_sq") => Some(AggregationMethod::MeanSq),
            Some(_) => None,
        }
    }
}

/// What the state accumulates for each (output, feature) pair.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Accumulated {
    /// Σ|φ| or Σφ², flattened output-major.
    Sums(Vec<ExactSum>),
    /// Every φ, one vector per (output, feature), flattened output-major.
    Values(Vec<Vec<f64>>),
}

/// Mergeable aggregation state for one explained dataset (or shard of it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GlobalShapState {
    method: AggregationMethod,
    num_outputs: usize,
    num_features: usize,
    rows: u64,
    accumulated: Accumulated,
}

impl GlobalShapState {
    /// An empty state for a model with `num_outputs` outputs and
    /// `num_features` explained features.
    pub fn new(method: AggregationMethod, num_outputs: usize, num_features: usize) -> Self {
        let cells = num_outputs * num_features;
        let accumulated = match method {
            AggregationMethod::Median => Accumulated::Values(vec![Vec::new(); cells]),
            AggregationMethod::MeanAbs | AggregationMethod::MeanSq => {
                Accumulated::Sums(vec![ExactSum::default(); cells])
            }
        };
        GlobalShapState {
            method,
            num_outputs,
            num_features,
            rows: 0,
            accumulated,
        }
    }

    /// Adds one explained row: one vector of SHAP values per output, as
    /// [`super::KernelShap::solve`] returns them.
    pub fn add_row(&mut self, local: &[Vec<f64>]) {
        assert_eq!(local.len(), self.num_outputs, "one vector per output");
        assert!(
            local.iter().all(|v| v.len() == self.num_features),
            "one value per feature"
        );
        let values = local.iter().flatten();
        match &mut self.accumulated {
            Accumulated::Sums(sums) => {
                let square = self.method == AggregationMethod::MeanSq;
                for (sum, phi) in sums.iter_mut().zip(values) {
                    sum.add(if square { phi * phi } else { phi.abs() });
                }
            }
            Accumulated::Values(all) => {
                for (cell, phi) in all.iter_mut().zip(values) {
                    cell.push(*phi);
                }
            }
        }
        self.rows += 1;
    }

    /// Folds another shard's state into this one. Panics if the two were
    /// built for different methods or shapes.
    pub fn merge(&mut self, other: GlobalShapState) {
        assert_eq!(
            (self.method, self.num_outputs, self.num_features),
            (other.method, other.num_outputs, other.num_features),
            "states of the same aggregation"
        );
        match (&mut self.accumulated, other.accumulated) {
            (Accumulated::Sums(mine), Accumulated::Sums(theirs)) => {
                mine.iter_mut().zip(&theirs).for_each(|(a, b)| a.merge(b));
            }
            (Accumulated::Values(mine), Accumulated::Values(theirs)) => {
                mine.iter_mut().zip(theirs).for_each(|(a, b)| a.extend(b));
            }
            _ => unreachable!("the method decides the accumulator"),
        }
        self.rows += other.rows;
    }

    /// The global values, one vector per output with one value per feature.
    /// With no rows every value is NaN (a mean or median of nothing).
    pub fn global_values(&self) -> Vec<Vec<f64>> {
        let flat: Vec<f64> = match &self.accumulated {
            Accumulated::Sums(sums) => sums.iter().map(|s| s.value() / self.rows as f64).collect(),
            Accumulated::Values(all) => all.iter().map(|values| median(values)).collect(),
        };
        if self.num_features == 0 {
            return vec![Vec::new(); self.num_outputs];
        }
        flat.chunks(self.num_features)
            .map(<[f64]>::to_vec)
            .collect()
    }
}

/// numpy's median: the middle value, or the mean of the two middle values;
/// NaN if any value is NaN or there are none.
fn median(values: &[f64]) -> f64 {
    if values.is_empty() || values.iter().any(|v| v.is_nan()) {
        return f64::NAN;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    if sorted.len() % 2 == 1 {
        sorted[mid]
    } else {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const METHODS: [AggregationMethod; 3] = [
        AggregationMethod::MeanAbs,
        AggregationMethod::Median,
        AggregationMethod::MeanSq,
    ];

    fn fold(method: AggregationMethod, rows: &[Vec<Vec<f64>>]) -> GlobalShapState {
        let mut state = GlobalShapState::new(method, 2, 3);
        rows.iter().for_each(|r| state.add_row(r));
        state
    }

    /// Three rows of a two-output, three-feature model.
    fn example() -> Vec<Vec<Vec<f64>>> {
        vec![
            vec![vec![1.0, -2.0, 0.5], vec![0.0, 4.0, -1.0]],
            vec![vec![-3.0, 2.0, 0.5], vec![1.0, -4.0, -1.0]],
            vec![vec![2.0, 0.0, -0.5], vec![2.0, 1.0, 3.0]],
        ]
    }

    #[test]
    fn methods_follow_clarify_definitions() {
        // Hand-computed per (output, feature): mean |φ|, median φ, mean φ².
        let rows = example();
        assert_eq!(
            fold(AggregationMethod::MeanAbs, &rows).global_values(),
            vec![vec![2.0, 4.0 / 3.0, 0.5], vec![1.0, 3.0, 5.0 / 3.0]]
        );
        assert_eq!(
            fold(AggregationMethod::Median, &rows).global_values(),
            vec![vec![1.0, 0.0, 0.5], vec![1.0, 1.0, -1.0]]
        );
        assert_eq!(
            fold(AggregationMethod::MeanSq, &rows).global_values(),
            vec![
                vec![14.0 / 3.0, 8.0 / 3.0, 0.25],
                vec![5.0 / 3.0, 11.0, 11.0 / 3.0]
            ]
        );
    }

    #[test]
    fn median_of_an_even_count_averages_the_middle_pair() {
        let mut state = GlobalShapState::new(AggregationMethod::Median, 1, 1);
        for v in [4.0, -1.0, 10.0, 2.0] {
            state.add_row(&[vec![v]]);
        }
        assert_eq!(state.global_values(), vec![vec![3.0]]);
    }

    #[test]
    fn method_names_from_config() {
        assert_eq!(
            AggregationMethod::from_config(None),
            Some(AggregationMethod::MeanAbs)
        );
        assert_eq!(
            AggregationMethod::from_config(Some("median")),
            Some(AggregationMethod::Median)
        );
        assert_eq!(
            AggregationMethod::from_config(Some("mean_sq")),
            Some(AggregationMethod::MeanSq)
        );
        assert_eq!(AggregationMethod::from_config(Some("mean")), None);
    }

    #[test]
    fn empty_state_gives_nan() {
        for method in METHODS {
            let values = GlobalShapState::new(method, 1, 2).global_values();
            assert!(values[0].iter().all(|v| v.is_nan()));
        }
    }

    fn row() -> impl Strategy<Value = Vec<Vec<f64>>> {
        proptest::collection::vec(proptest::collection::vec(-1e3f64..1e3, 3), 2)
    }

    proptest! {
        /// Splitting the rows anywhere and merging the two states gives the
        /// same global values as one pass, to the bit.
        #[test]
        fn split_and_merge_matches_one_pass(
            rows in proptest::collection::vec(row(), 1..40),
            split in 0usize..40,
        ) {
            let split = split.min(rows.len());
            for method in METHODS {
                let whole = fold(method, &rows).global_values();
                let mut left = fold(method, &rows[..split]);
                left.merge(fold(method, &rows[split..]));
                let merged = left.global_values();
                for (a, b) in whole.iter().flatten().zip(merged.iter().flatten()) {
                    prop_assert_eq!(a.to_bits(), b.to_bits());
                }
            }
        }
    }
}
