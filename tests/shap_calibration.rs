//! Are the standard errors of sampled SHAP values honest? On german credit
//! with a 10-row k-prototypes baseline and a non-linear model, the true
//! error of each sampled value (against brute-force enumeration of all
//! 2^9 coalitions) should lie within 2 standard errors for at least 90% and
//! within 3 for at least 97% of the (row, feature) values, at `num_samples`
//! 64 and 256 (normal errors would give 95.4% and 99.7%).
//!
//! The model runs in-process (the estimator does not care how answers
//! arrive): a sigmoid of step functions, interactions and smooth
//! non-linear terms, the shape of a small tree ensemble's answers, so that
//! Kernel SHAP's regression is far from exact.

mod common;

use common::GERMAN_FEATURES as FEATURES;
use openclarify::explain::clusters::{summarise, BaselineValue, Column};
use openclarify::explain::{KernelShap, KernelShapSettings, Link};

/// Explained rows of german credit (the first ones).
const ROWS: usize = 120;
const CATEGORICAL: [bool; 9] = [true, false, true, true, true, false, false, true, false];

/// german credit's feature columns, categories coded by their sorted
/// position (as the demo model encodes them).
fn german_features() -> Vec<Vec<f64>> {
    let text = std::fs::read_to_string(common::fixtures().join("german.csv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let raw: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    let columns: Vec<usize> = FEATURES
        .iter()
        .map(|f| header.iter().position(|h| h == f).unwrap())
        .collect();
    let codes: Vec<Vec<&str>> = columns
        .iter()
        .map(|&c| {
            let mut values: Vec<&str> = raw.iter().map(|r| r[c]).collect();
            values.sort_unstable();
            values.dedup();
            values
        })
        .collect();
    raw.iter()
        .map(|r| {
            columns
                .iter()
                .enumerate()
                .map(|(j, &c)| match CATEGORICAL[j] {
                    true => codes[j].iter().position(|v| *v == r[c]).unwrap() as f64,
                    false => r[c].parse().unwrap(),
                })
                .collect()
        })
        .collect()
}

/// A 10-row k-prototypes baseline of the data (categories stay codes).
fn baseline(data: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let columns: Vec<Column<u32>> = (0..FEATURES.len())
        .map(|j| match CATEGORICAL[j] {
            true => Column::Categorical(data.iter().map(|r| r[j] as u32).collect()),
            false => Column::Numeric(data.iter().map(|r| r[j]).collect()),
        })
        .collect();
    summarise(&columns, Some(10), 0)
        .into_iter()
        .map(|row| {
            row.into_iter()
                .map(|v| match v {
                    BaselineValue::Numeric(x) => x,
                    BaselineValue::Categorical(code) => code as f64,
                })
                .collect()
        })
        .collect()
}

/// The non-linear model: P(good risk) from steps, interactions and smooth
/// terms of the encoded features.
fn model(x: &[f64]) -> f64 {
    let [sex, job, housing, saving, checking, amount, duration, purpose, age]: [f64; 9] =
        x.try_into().unwrap();
    let step = |c: bool| if c { 1.0 } else { 0.0 };
    let amount = amount / 1000.0;
    let s = -0.4 + 1.1 * step(checking == 0.0) * step(duration > 24.0)
        - 0.8 * step(checking == 2.0)
        + 0.7 * (amount - 4.0).tanh() * step(saving <= 1.0)
        + 0.5 * (age / 9.0).sin()
        + 0.6 * step(housing == 1.0) * step(sex == 1.0)
        + 0.15 * purpose * step(job >= 2.0)
        + 0.04 * (duration - 20.0).max(0.0) * step(amount > 3.0)
        - 0.05 * amount * duration / 12.0;
    1.0 / (1.0 + (-s).exp())
}

/// v(S) for every coalition S (a bit mask) of `row` against `baseline`:
/// the mean answer over baseline rows with S's features taken from `row`.
fn coalition_values(row: &[f64], baseline: &[Vec<f64>]) -> Vec<f64> {
    (0..1usize << row.len())
        .map(|coalition| {
            let mut total = 0.0;
            for background in baseline {
                let mut mixed = background.clone();
                for (j, cell) in mixed.iter_mut().enumerate() {
                    if coalition >> j & 1 == 1 {
                        *cell = row[j];
                    }
                }
                total += model(&mixed);
            }
            total / baseline.len() as f64
        })
        .collect()
}

/// Exact Shapley values by enumeration: every coalition S credits each of
/// its members i with |S−1|! (M − |S|)! / M! · (v(S) − v(S \ i)).
fn brute_force_shapley(values: &[f64], m: usize) -> Vec<f64> {
    let factorials: Vec<f64> = (0..=m)
        .scan(1.0, |product, n| {
            *product *= n.max(1) as f64;
            Some(*product)
        })
        .collect();
    let mut shapley = vec![0.0; m];
    for coalition in 1..1usize << m {
        let size = coalition.count_ones() as usize;
        let share = factorials[size - 1] * factorials[m - size] / factorials[m];
        for (i, phi) in shapley.iter_mut().enumerate() {
            if coalition >> i & 1 == 1 {
                *phi += share * (values[coalition] - values[coalition ^ 1 << i]);
            }
        }
    }
    shapley
}

/// The shares of values whose true error is within 2 and 3 standard errors.
fn coverage(num_samples: usize, data: &[Vec<f64>], baseline: &[Vec<f64>]) -> (f64, f64) {
    let explainer = KernelShap::new(
        baseline.to_vec(),
        KernelShapSettings {
            num_samples: Some(num_samples),
            link: Link::Identity,
            seed: 11,
        },
    );
    let baseline_answers = vec![baseline.iter().map(|b| model(b)).collect::<Vec<f64>>()];
    let (mut within_2, mut within_3, mut count) = (0, 0, 0);
    for (r, row) in data.iter().take(ROWS).enumerate() {
        let plan = explainer.plan(row, r as u64);
        let answers: Vec<f64> = explainer
            .synthetic_rows(row, &plan)
            .iter()
            .map(|z| model(z))
            .collect();
        let explained = explainer.solve(&plan, &[answers], &[model(row)], &baseline_answers);
        let exact = brute_force_shapley(&coalition_values(row, baseline), row.len());
        for ((value, stderr), truth) in explained.values[0]
            .iter()
            .zip(&explained.stderr[0])
            .zip(&exact)
        {
            let error = (value - truth).abs();
            // Exact values (σ = 0) must be exact to rounding.
            within_2 += usize::from(error <= 2.0 * stderr + 1e-12);
            within_3 += usize::from(error <= 3.0 * stderr + 1e-12);
            count += 1;
        }
    }
    (
        within_2 as f64 / count as f64,
        within_3 as f64 / count as f64,
    )
}

#[test]
fn sampled_values_lie_within_their_standard_errors() {
    let data = german_features();
    let baseline = baseline(&data);
    assert_eq!(baseline.len(), 10);
    for num_samples in [64, 256] {
        let (within_2, within_3) = coverage(num_samples, &data, &baseline);
        eprintln!(
            "num_samples {num_samples}: {:.1}% within 2 stderr, {:.1}% within 3 ({ROWS} rows x 9 features)",
            100.0 * within_2,
            100.0 * within_3
        );
        assert!(within_2 >= 0.90, "num_samples {num_samples}: {within_2}");
        assert!(within_3 >= 0.97, "num_samples {num_samples}: {within_3}");
    }
}
