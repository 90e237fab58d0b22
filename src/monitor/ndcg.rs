//! nDCG of current feature attributions against the baseline's, exactly as
//! `sklearn.metrics.ndcg_score(y_true=[baseline], y_score=[current])`
//! computes it (AWS's feature-attribution drift check links to it).
//!
//! The gain of each rank is the *baseline* attribution of the feature the
//! *current* attributions put there; the ideal ranking sorts by baseline.
//! Features that tie in the current values share their ranks: their gains
//! are averaged over the discounts of those ranks (`ignore_ties=False`,
//! scikit-learn's default).

/// Why an nDCG cannot be computed; the wording is scikit-learn's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NdcgError {
    /// Fewer than two features.
    OneDocument(usize),
    /// A baseline value below zero.
    NegativeTrue,
    /// A NaN or infinite value.
    NotFinite,
    /// The two vectors have different lengths.
    Lengths(usize, usize),
}

impl std::fmt::Display for NdcgError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NdcgError::OneDocument(n) => write!(
                f,
                "Computing NDCG is only meaningful when there is more than 1 document. Got {n} instead."
            ),
            NdcgError::NegativeTrue => {
                write!(f, "ndcg_score should not be used on negative y_true values.")
            }
            NdcgError::NotFinite => write!(f, "Input contains NaN or infinity."),
            NdcgError::Lengths(a, b) => write!(
                f,
                "Found input variables with inconsistent numbers of samples: [{a}, {b}]"
            ),
        }
    }
}

/// `ndcg_score([y_true], [y_score])` for one sample, ties in `y_score`
/// averaged. An all-zero `y_true` gives 0.0, as in scikit-learn.
pub fn ndcg_score(y_true: &[f64], y_score: &[f64]) -> Result<f64, NdcgError> {
    if y_true.len() != y_score.len() {
        return Err(NdcgError::Lengths(y_true.len(), y_score.len()));
    }
    if y_true.iter().chain(y_score).any(|v| !v.is_finite()) {
        return Err(NdcgError::NotFinite);
    }
    if y_true.iter().any(|&v| v < 0.0) {
        return Err(NdcgError::NegativeTrue);
    }
    if y_true.len() <= 1 {
        return Err(NdcgError::OneDocument(y_true.len()));
    }
    let discount: Vec<f64> = (0..y_true.len())
        .map(|i| 1.0 / (((i + 2) as f64).ln() / 2f64.ln()))
        .collect();
    // The ideal DCG, as scikit-learn computes it: `y_true` sorted
    // descending, dotted with the discounts (ties cannot matter here).
    let mut sorted = y_true.to_vec();
    sorted.sort_by(|a, b| b.total_cmp(a));
    let ideal: f64 = sorted.iter().zip(&discount).map(|(g, d)| g * d).sum();
    let discount_cumsum: Vec<f64> = discount
        .iter()
        .scan(0.0, |sum, d| {
            *sum += d;
            Some(*sum)
        })
        .collect();
    if ideal == 0.0 {
        return Ok(0.0);
    }
    Ok(tie_averaged_dcg(y_true, y_score, &discount_cumsum) / ideal)
}

/// scikit-learn's `_tie_averaged_dcg`: features grouped by equal score,
/// highest first; each group contributes its mean gain times the sum of
/// its ranks' discounts.
fn tie_averaged_dcg(y_true: &[f64], y_score: &[f64], discount_cumsum: &[f64]) -> f64 {
    let mut order: Vec<usize> = (0..y_score.len()).collect();
    order.sort_by(|&a, &b| y_score[b].total_cmp(&y_score[a]));
    let mut dcg = 0.0;
    let mut start = 0;
    let mut previous_cumsum = 0.0;
    while start < order.len() {
        let score = y_score[order[start]];
        let end = start
            + order[start..]
                .iter()
                .take_while(|&&i| y_score[i] == score)
                .count();
        let gain: f64 =
            order[start..end].iter().map(|&i| y_true[i]).sum::<f64>() / (end - start) as f64;
        let cumsum = discount_cumsum[end - 1];
        dcg += gain * (cumsum - previous_cumsum);
        previous_cumsum = cumsum;
        start = end;
    }
    dcg
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The AWS documentation's example: baseline SAT .70, GPA .50,
    /// ClassRank .05; live .10, .20, .70. Expected value printed by
    /// scikit-learn 1.9.1 (spec monitoring.md A.6).
    #[test]
    fn documented_example() {
        let got = ndcg_score(&[0.70, 0.50, 0.05], &[0.10, 0.20, 0.70]).unwrap();
        assert!((got - 0.687639624122622).abs() < 1e-15, "{got}");
    }

    /// Ties in the current values are averaged (spec A.6: 0.9645283320308997,
    /// where `ignore_ties=True` would give 0.9290566640617995).
    #[test]
    fn ties_are_averaged() {
        let got = ndcg_score(&[0.7, 0.5, 0.05], &[0.3, 0.3, 0.1]).unwrap();
        assert!((got - 0.9645283320308997).abs() < 1e-15, "{got}");
    }

    #[test]
    fn edge_cases_fail_or_give_zero_as_sklearn_does() {
        assert_eq!(ndcg_score(&[0.0, 0.0, 0.0], &[0.1, 0.2, 0.3]), Ok(0.0));
        assert_eq!(ndcg_score(&[1.0], &[1.0]), Err(NdcgError::OneDocument(1)));
        assert_eq!(
            ndcg_score(&[-0.1, 0.5], &[0.1, 0.2]),
            Err(NdcgError::NegativeTrue)
        );
        assert_eq!(
            NdcgError::OneDocument(1).to_string(),
            "Computing NDCG is only meaningful when there is more than 1 document. Got 1 instead."
        );
        assert_eq!(
            ndcg_score(&[0.5, f64::NAN], &[0.1, 0.2]),
            Err(NdcgError::NotFinite)
        );
    }

    /// Random vectors (with ties and zeros) against values scikit-learn
    /// printed: test-fixtures/monitor/ndcg_sklearn.json, written by
    /// scripts/gen-ndcg-fixture.py.
    #[test]
    fn equals_sklearn_on_random_vectors() {
        let text = include_str!("../../test-fixtures/monitor/ndcg_sklearn.json");
        let cases: Vec<serde_json::Value> = serde_json::from_str(text).unwrap();
        assert!(cases.len() >= 100);
        for case in cases {
            let floats = |k: &str| -> Vec<f64> {
                case[k]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_f64().unwrap())
                    .collect()
            };
            let want = case["ndcg"].as_f64().unwrap();
            let got = ndcg_score(&floats("y_true"), &floats("y_score")).unwrap();
            assert!(
                (got - want).abs() <= 1e-12 * want.abs().max(1.0),
                "{case}: got {got}"
            );
        }
    }
}
