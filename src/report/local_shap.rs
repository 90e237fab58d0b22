//! How local SHAP values spread over the records, read from
//! `explanations_shap/out.csv`.
//!
//! The file has one column per label and explained feature, named
//! `<feature>_<label>` (as Clarify names them), and one row per record, so it can be
//! far larger than memory should hold for a chart. Rows are therefore
//! sampled: a fixed-seed reservoir of at most [`SAMPLE_ROWS`] rows, whose
//! quantiles match the full data's to well below what a chart can show.

use super::charts::Quantiles;
use anyhow::{Context, Result};
use rand::{rngs::SmallRng, Rng, SeedableRng};
use std::collections::HashMap;
use std::path::Path;

/// Most rows kept for the quantiles.
pub const SAMPLE_ROWS: usize = 100_000;

/// Spread of the local SHAP values of each (label, feature) pair.
#[derive(Debug, Clone, Default)]
pub struct LocalShap {
    spread: HashMap<(String, String), Quantiles>,
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
        let mut sample: Vec<Vec<f64>> = Vec::new();
        let mut rng = SmallRng::seed_from_u64(0x5eed);
        for (index, record) in reader.records().enumerate() {
            let record = record.with_context(|| format!("{} row {}", path.display(), index + 2))?;
            let row = wanted
                .iter()
                .map(|(column, _, _)| {
                    record
                        .get(*column)
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(f64::NAN)
                })
                .collect();
            // Reservoir sampling: every row ends up kept with equal chance.
            if sample.len() < SAMPLE_ROWS {
                sample.push(row);
            } else {
                let slot = rng.random_range(0..=index);
                if slot < SAMPLE_ROWS {
                    sample[slot] = row;
                }
            }
        }
        let spread = wanted
            .into_iter()
            .enumerate()
            .filter_map(|(i, (_, label, feature))| {
                let values: Vec<f64> = sample
                    .iter()
                    .map(|row| row[i])
                    .filter(|v| v.is_finite())
                    .collect();
                Some(((label, feature), quantiles(values)?))
            })
            .collect();
        Ok(LocalShap { spread })
    }

    /// The spread of `feature`'s values for `label`, if the file had them.
    pub fn spread(&self, label: &str, feature: &str) -> Option<Quantiles> {
        self.spread
            .get(&(label.to_string(), feature.to_string()))
            .copied()
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
    }
}
