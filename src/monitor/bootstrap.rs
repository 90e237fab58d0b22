//! "Is it noise?": a normal bootstrap interval for each bias metric of a
//! window, and whether a violation holds over the whole interval.
//!
//! AWS's bias-drift overview describes a "Normal Bootstrap Interval": an
//! alert only when the confidence interval of the current value and the
//! allowed range are disjoint. No AWS output shows it, so it is opt-in
//! (`monitor --bootstrap N`) and the default output stays AWS's.
//!
//! Every metric but FT depends on the rows only through the counts per
//! (facet, label, prediction, group) cell that [`BiasState`] keeps, so
//! resampling rows with replacement is resampling those counts from a
//! multinomial: no row needs to be kept. Each replicate is scored by the
//! same section code as the window; the interval is the window's value ±
//! 1.96 replicate standard deviations.

use crate::bias::{self, CountState as BiasState, SectionSpec};
use crate::error::Result;
use rand::{Rng, SeedableRng};
use rustc_hash::FxHashMap;
use serde_json::Value as Json;

/// z for a two-sided 95 % interval.
const Z95: f64 = 1.959963984540054;

/// (section key, facet, facet value, metric) → (low, high).
pub type Intervals = FxHashMap<(String, String, String, String), (f64, f64)>;

/// A resample of `state`: each facet's counts drawn again, `rows` draws
/// with replacement from the observed cells.
fn resample(state: &BiasState, rng: &mut impl Rng) -> BiasState {
    let mut out = state.clone();
    for facet in &mut out.facets {
        let keys: Vec<_> = facet.joint.keys().cloned().collect();
        let mut cumulative = Vec::with_capacity(keys.len());
        let mut total = 0u64;
        for k in &keys {
            total += facet.joint[k];
            cumulative.push(total);
        }
        let mut counts = vec![0u64; keys.len()];
        for _ in 0..total {
            let draw = rng.random_range(0..total);
            counts[cumulative.partition_point(|&c| c <= draw)] += 1;
        }
        facet.joint = keys
            .into_iter()
            .zip(counts)
            .filter(|(_, n)| *n > 0)
            .collect();
    }
    out
}

/// Every numeric metric of a section document, keyed as [`Intervals`].
fn metric_values(key: &str, section: &Json) -> Vec<((String, String, String, String), f64)> {
    let mut out = Vec::new();
    for (facet, groups) in section["facets"].as_object().into_iter().flatten() {
        for group in groups.as_array().into_iter().flatten() {
            let value = crate::pyfmt::json_scalar(&group["value_or_threshold"]);
            for metric in group["metrics"].as_array().into_iter().flatten() {
                if let (Some(name), Some(v)) = (metric["name"].as_str(), metric["value"].as_f64()) {
                    out.push((
                        (
                            key.to_string(),
                            facet.clone(),
                            value.clone(),
                            name.to_string(),
                        ),
                        v,
                    ));
                }
            }
        }
    }
    out
}

/// The intervals of every metric of `sections` (section key, spec, the
/// window's section document) from `replicates` resamples of `state`.
/// Replicates whose metric is undefined (a group emptied by chance) are
/// left out of that metric's spread.
pub fn intervals(
    state: &BiasState,
    sections: &[(&str, &SectionSpec, &Json)],
    replicates: usize,
    seed: u64,
) -> Result<Intervals> {
    let mut rng = rand::rngs::SmallRng::seed_from_u64(seed);
    let mut samples: FxHashMap<(String, String, String, String), Vec<f64>> = FxHashMap::default();
    for _ in 0..replicates {
        let replicate = resample(state, &mut rng);
        for (key, spec, _) in sections {
            // A replicate can fail where the window did not (no positive
            // prediction drawn); it then adds nothing.
            if let Ok(section) = bias::section(&replicate, spec) {
                for (k, v) in metric_values(key, &section) {
                    samples.entry(k).or_default().push(v);
                }
            }
        }
    }
    let mut out = Intervals::default();
    for (key, _, window) in sections {
        for (k, point) in metric_values(key, window) {
            let Some(values) = samples.get(&k).filter(|v| v.len() > 1) else {
                continue;
            };
            let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
            if finite.len() < 2 {
                continue;
            }
            let mean = finite.iter().sum::<f64>() / finite.len() as f64;
            let var =
                finite.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (finite.len() - 1) as f64;
            let half = Z95 * var.sqrt();
            out.insert(k, (point - half, point + half));
        }
    }
    Ok(out)
}

/// Whether every value of `interval` is worse than `baseline` for
/// `metric` (by [`super::compare::bias_worse`]'s rule).
pub fn significant(metric: &str, interval: (f64, f64), baseline: f64) -> bool {
    let ideal = if metric == "DI" { 1.0 } else { 0.0 };
    let (lo, hi) = interval;
    let nearest = if lo <= ideal && ideal <= hi {
        ideal
    } else if (lo - ideal).abs() < (hi - ideal).abs() {
        lo
    } else {
        hi
    };
    super::compare::bias_worse(metric, nearest, baseline)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn significant_only_when_the_whole_interval_is_worse() {
        assert!(significant("DPPL", (0.3, 0.5), 0.2));
        assert!(!significant("DPPL", (0.1, 0.5), 0.2));
        assert!(!significant("DPPL", (-0.1, 0.5), 0.05));
        assert!(significant("DPPL", (-0.6, -0.3), 0.2));
        // DI is judged from 1.
        assert!(significant("DI", (0.2, 0.5), 0.8));
        assert!(!significant("DI", (0.7, 1.2), 0.5));
    }

    /// The resample keeps the row count and only draws observed cells.
    #[test]
    fn resampling_keeps_rows_and_cells() {
        let chunk = crate::dataset::test_chunk(
            &[
                vec!["a", "1", "1"],
                vec!["b", "0", "1"],
                vec!["a", "0", "0"],
                vec!["b", "1", "0"],
                vec!["a", "1", "1"],
            ],
            0,
        );
        let cols = crate::bias::Columns {
            label: 1,
            predicted: Some(2),
            group: None,
            facets: vec![0],
        };
        let state = BiasState::from_chunk(&chunk, &cols);
        let mut rng = rand::rngs::SmallRng::seed_from_u64(1);
        for _ in 0..20 {
            let r = resample(&state, &mut rng);
            assert_eq!(r.facets[0].joint.values().sum::<u64>(), 5);
            assert!(r.facets[0]
                .joint
                .keys()
                .all(|k| state.facets[0].joint.contains_key(k)));
        }
    }
}
