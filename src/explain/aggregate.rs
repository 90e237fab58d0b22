//! `global_shap_values`: local SHAP values aggregated per feature and output,
//! with the standard error each aggregate inherits from the local values'.
//!
//! The methods are Clarify's `methods.shap.agg_method` values: `mean_abs` is the
//! mean of |φ|, `mean_sq` the mean of φ² (no square root), and `median` the
//! median of the raw, signed φ (Clarify's docs do not say the values are
//! made absolute, so they are not). A median of an even count is
//! the mean of the two middle values, as numpy computes it.
//!
//! Standard errors propagate to first order (the delta method), with the
//! rows' sampling errors independent (each row has its own random stream):
//! - `mean_abs`: `√(Σ σ_i²) / n`, since |φ| moves as much as φ does;
//! - `mean_sq`: `√(Σ (2 φ_i σ_i)²) / n` (the bias `σ_i²` of φ̂² is not added);
//! - `median`: the error of the middle value, or `√(σ_a² + σ_b²) / 2` for the
//!   two middle values of an even count, since a small change of the other
//!   values does not move the median. It understates the error when values
//!   near the median are closer together than their errors.
//!
//! Exact local values (σ = 0) give an aggregate error of 0, and a NaN error
//! (one that could not be estimated) makes the aggregate's NaN.
//!
//! [`GlobalShapState`] folds rows in and merges with another state, so shards
//! can be aggregated anywhere. For the means it keeps only exact sums
//! ([`ExactSum`]) and a count: constant memory, and the result has the same
//! bits whatever the split and merge order. The median cannot be merged from a summary, so for `median`
//! the state keeps every local value and its error (2 × rows × features ×
//! outputs floats); merging concatenates them and the result does not
//! depend on the order.

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
    /// Σ|φ| or Σφ², and the sum of the squared error terms (σ² or (2φσ)²),
    /// both flattened output-major.
    Sums {
        values: Vec<ExactSum>,
        variances: Vec<ExactSum>,
    },
    /// Every (φ, σ), one vector per (output, feature), flattened output-major.
    Values(Vec<Vec<(f64, f64)>>),
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
            AggregationMethod::MeanAbs | AggregationMethod::MeanSq => Accumulated::Sums {
                values: vec![ExactSum::default(); cells],
                variances: vec![ExactSum::default(); cells],
            },
        };
        GlobalShapState {
            method,
            num_outputs,
            num_features,
            rows: 0,
            accumulated,
        }
    }

    /// Adds one explained row: one vector of SHAP values per output, and
    /// their standard errors in the same shape, as
    /// [`super::KernelShap::solve`] returns them.
    pub fn add_row(&mut self, local: &[Vec<f64>], stderr: &[Vec<f64>]) {
        assert_eq!(local.len(), self.num_outputs, "one vector per output");
        assert_eq!(
            stderr.len(),
            self.num_outputs,
            "one error vector per output"
        );
        assert!(
            local
                .iter()
                .chain(stderr)
                .all(|v| v.len() == self.num_features),
            "one value per feature"
        );
        let values = local.iter().flatten().zip(stderr.iter().flatten());
        match &mut self.accumulated {
            Accumulated::Sums {
                values: sums,
                variances,
            } => {
                let square = self.method == AggregationMethod::MeanSq;
                for ((sum, variance), (phi, sigma)) in sums.iter_mut().zip(variances).zip(values) {
                    match square {
                        true => {
                            sum.add(phi * phi);
                            variance.add((2.0 * phi * sigma).powi(2));
                        }
                        false => {
                            sum.add(phi.abs());
                            variance.add(sigma * sigma);
                        }
                    }
                }
            }
            Accumulated::Values(all) => {
                for (cell, (phi, sigma)) in all.iter_mut().zip(values) {
                    cell.push((*phi, *sigma));
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
            (
                Accumulated::Sums {
                    values: mine,
                    variances: my_variances,
                },
                Accumulated::Sums {
                    values: theirs,
                    variances: their_variances,
                },
            ) => {
                mine.iter_mut().zip(&theirs).for_each(|(a, b)| a.merge(b));
                my_variances
                    .iter_mut()
                    .zip(&their_variances)
                    .for_each(|(a, b)| a.merge(b));
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
            Accumulated::Sums { values, .. } => values
                .iter()
                .map(|s| s.value() / self.rows as f64)
                .collect(),
            Accumulated::Values(all) => all.iter().map(|pairs| median(pairs).0).collect(),
        };
        self.by_output(flat)
    }

    /// The standard error of each global value, in the same shape as
    /// [`GlobalShapState::global_values`], propagated as the module
    /// documentation describes.
    pub fn global_stderr(&self) -> Vec<Vec<f64>> {
        let flat: Vec<f64> = match &self.accumulated {
            Accumulated::Sums { variances, .. } => variances
                .iter()
                .map(|s| s.value().sqrt() / self.rows as f64)
                .collect(),
            Accumulated::Values(all) => all.iter().map(|pairs| median(pairs).1).collect(),
        };
        self.by_output(flat)
    }

    /// Output-major flat values as one vector per output.
    fn by_output(&self, flat: Vec<f64>) -> Vec<Vec<f64>> {
        if self.num_features == 0 {
            return vec![Vec::new(); self.num_outputs];
        }
        flat.chunks(self.num_features)
            .map(<[f64]>::to_vec)
            .collect()
    }
}

/// numpy's median of the values, the middle value or the mean of the two
/// middle values, with its standard error from theirs; NaN if any value is
/// NaN or there are none. Ties are ordered by error, so the result does not
/// depend on the order the pairs were added in.
fn median(pairs: &[(f64, f64)]) -> (f64, f64) {
    if pairs.is_empty() || pairs.iter().any(|(v, _)| v.is_nan()) {
        return (f64::NAN, f64::NAN);
    }
    let mut sorted = pairs.to_vec();
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    let mid = sorted.len() / 2;
    if sorted.len() % 2 == 1 {
        sorted[mid]
    } else {
        let ((a, sa), (b, sb)) = (sorted[mid - 1], sorted[mid]);
        ((a + b) / 2.0, (sa * sa + sb * sb).sqrt() / 2.0)
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
        rows.iter().for_each(|r| state.add_row(r, &errors(r)));
        state
    }

    /// Standard errors for `row`'s values, varying with them.
    fn errors(row: &[Vec<f64>]) -> Vec<Vec<f64>> {
        row.iter()
            .map(|values| values.iter().map(|v| 0.1 + v.abs() / 7.0).collect())
            .collect()
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
            state.add_row(&[vec![v]], &[vec![0.0]]);
        }
        assert_eq!(state.global_values(), vec![vec![3.0]]);
        assert_eq!(state.global_stderr(), vec![vec![0.0]], "exact values");
    }

    #[test]
    fn stderr_propagates_to_first_order() {
        // Hand-computed: φ = 1, −2, 3 with σ = 0.3, 0.4, 1.2 (and a fourth
        // row φ = 5, σ = 0.9 for an even median).
        let state = |method, rows: &[(f64, f64)]| {
            let mut state = GlobalShapState::new(method, 1, 1);
            rows.iter()
                .for_each(|&(phi, sigma)| state.add_row(&[vec![phi]], &[vec![sigma]]));
            state.global_stderr()[0][0]
        };
        let rows = [(1.0, 0.3), (-2.0, 0.4), (3.0, 1.2)];
        let close = |a: f64, b: f64| assert!((a - b).abs() < 1e-12, "{a} != {b}");
        close(state(AggregationMethod::MeanAbs, &rows), 1.3 / 3.0);
        close(state(AggregationMethod::MeanSq, &rows), 7.4 / 3.0);
        close(state(AggregationMethod::Median, &rows), 0.3);
        let even = [rows[0], rows[1], rows[2], (5.0, 0.9)];
        close(
            state(AggregationMethod::Median, &even),
            (0.09f64 + 1.44).sqrt() / 2.0,
        );
        assert!(state(AggregationMethod::MeanAbs, &[(1.0, f64::NAN)]).is_nan());
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
                let whole = fold(method, &rows);
                let mut left = fold(method, &rows[..split]);
                left.merge(fold(method, &rows[split..]));
                for (a, b) in whole.global_values().iter().flatten().zip(left.global_values().iter().flatten()) {
                    prop_assert_eq!(a.to_bits(), b.to_bits());
                }
                for (a, b) in whole.global_stderr().iter().flatten().zip(left.global_stderr().iter().flatten()) {
                    prop_assert_eq!(a.to_bits(), b.to_bits());
                }
            }
        }
    }
}
