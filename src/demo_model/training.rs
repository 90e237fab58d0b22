//! Training the demo model: reading a CSV table, choosing each column's
//! encoding, and fitting a logistic regression to it.
//!
//! The fit is regularised maximum likelihood with the objective of
//! scikit-learn's default `LogisticRegression()` (an L2 penalty of ½‖w‖² on
//! standardised features, intercept unpenalised), minimised by a fixed number
//! of Newton steps from zero. There is no randomness anywhere, so the same
//! data always gives the same weights, bit for bit.

use super::model::{parse_number, sigmoid, Encoding, Feature, Model, RawValue};
use anyhow::{bail, Context};
use std::collections::BTreeSet;

/// Newton's method converges in under ten steps on this objective; the
/// margin costs microseconds and makes the count independent of the data.
const NEWTON_STEPS: usize = 25;

/// The L2 penalty weight on the standardised coefficients (scikit-learn's `C = 1`).
const RIDGE: f64 = 1.0;

/// Trains on the bundled German credit data: label `risk`, positive value 1.
pub fn german() -> Model {
    fit_csv(super::GERMAN_CSV, "risk", "1").expect("the bundled German credit data trains")
}

/// A fixed model over `feature_count` numeric features named `feature_0`,
/// `feature_1`, …, with weights 1, −1/2, 1/3, −1/4, … and no intercept.
pub fn synthetic(feature_count: usize) -> Model {
    let features = (0..feature_count)
        .map(|index| Feature {
            name: format!("feature_{index}"),
            encoding: Encoding::Numeric,
        })
        .collect();
    let weights = (0..feature_count)
        .map(|index| {
            let sign = if index % 2 == 0 { 1.0 } else { -1.0 };
            sign / (index + 1) as f64
        })
        .collect();
    Model::new(features, weights, 0.0)
}

/// The text demo's review model: log-odds `−0.2 + bag(review) + 0.4 ·
/// verified`, where `bag` sums the weights the bundled lexicon gives the
/// review's words ([`super::REVIEW_LEXICON`]).
pub fn reviews() -> Model {
    let mut lexicon: Vec<(String, f64)> = super::REVIEW_LEXICON
        .lines()
        .skip(1)
        .filter_map(|line| {
            let (word, weight) = line.split_once(',')?;
            Some((word.to_string(), weight.parse().ok()?))
        })
        .collect();
    lexicon.sort_by(|a, b| a.0.cmp(&b.0));
    let features = vec![
        Feature {
            name: "review".into(),
            encoding: Encoding::BagOfWords(lexicon),
        },
        Feature {
            name: "verified".into(),
            encoding: Encoding::Numeric,
        },
    ];
    Model::new(features, vec![1.0, 0.4], -0.2)
}

/// Trains on a CSV table with a header row. The `label` column is the
/// target (a row is positive when its label equals `positive_label`, as
/// text or as a number); every other column is a feature, numeric when all
/// its cells are numbers and categorical otherwise.
pub fn fit_csv(text: &str, label: &str, positive_label: &str) -> anyhow::Result<Model> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = reader.headers()?.iter().map(String::from).collect();
    let label_column = headers
        .iter()
        .position(|header| header == label)
        .with_context(|| format!("no column '{label}' among {}", headers.join(", ")))?;
    let mut cells: Vec<Vec<String>> = vec![Vec::new(); headers.len()];
    for record in reader.records() {
        for (column, cell) in cells.iter_mut().zip(record?.iter()) {
            column.push(cell.to_owned());
        }
    }
    if cells[label_column].is_empty() {
        bail!("the training data has no rows");
    }
    if headers.len() < 2 {
        bail!("the training data has no feature columns besides '{label}'");
    }

    let labels: Vec<f64> = cells
        .remove(label_column)
        .iter()
        .map(|cell| f64::from(u8::from(same_label(cell, positive_label))))
        .collect();
    let features: Vec<Feature> = headers
        .into_iter()
        .filter(|header| header != label)
        .zip(&cells)
        .map(|(name, column)| Feature {
            name,
            encoding: choose_encoding(column),
        })
        .collect();

    // Encoding through the model itself keeps training and serving in step.
    let unfitted = Model::new(features, vec![0.0; cells.len()], 0.0);
    let columns = cells
        .iter()
        .enumerate()
        .map(|(feature, column)| {
            column
                .iter()
                .enumerate()
                .map(|(row, cell)| {
                    unfitted
                        .encode(feature, RawValue::Text(cell))
                        .map_err(|message| anyhow::anyhow!("data row {}: {message}", row + 1))
                })
                .collect::<anyhow::Result<Vec<f64>>>()
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let (weights, intercept) = fit_logistic(&columns, &labels);
    Ok(Model::new(unfitted.features().to_vec(), weights, intercept))
}

/// True when a label cell names the positive class, either literally or as
/// the same number ("1.0" and "1").
fn same_label(cell: &str, positive_label: &str) -> bool {
    cell == positive_label
        || matches!((parse_number(cell), parse_number(positive_label)), (Some(a), Some(b)) if a == b)
}

/// Numeric when every cell is a number; otherwise the sorted distinct values.
fn choose_encoding(column: &[String]) -> Encoding {
    if column.iter().all(|cell| parse_number(cell).is_some()) {
        Encoding::Numeric
    } else {
        let categories: BTreeSet<&String> = column.iter().collect();
        Encoding::Categorical(categories.into_iter().cloned().collect())
    }
}

/// Fits the penalised logistic regression to encoded feature columns and
/// 0/1 labels, returning weights and intercept for the unstandardised
/// features.
fn fit_logistic(columns: &[Vec<f64>], labels: &[f64]) -> (Vec<f64>, f64) {
    let standardisers: Vec<(f64, f64)> = columns
        .iter()
        .map(|column| mean_and_scale(column))
        .collect();
    // Row-major design matrix with a leading 1 for the intercept.
    let width = columns.len() + 1;
    let design: Vec<f64> = (0..labels.len())
        .flat_map(|row| {
            std::iter::once(1.0).chain(
                columns
                    .iter()
                    .zip(&standardisers)
                    .map(move |(column, (mean, scale))| (column[row] - mean) / scale),
            )
        })
        .collect();

    let mut coefficients = vec![0.0; width];
    for _ in 0..NEWTON_STEPS {
        let mut gradient = vec![0.0; width];
        let mut hessian = vec![0.0; width * width];
        for (x, label) in design.chunks_exact(width).zip(labels) {
            let probability = sigmoid(dot(x, &coefficients));
            let curvature = probability * (1.0 - probability);
            for i in 0..width {
                gradient[i] += (probability - label) * x[i];
                for j in 0..=i {
                    hessian[i * width + j] += curvature * x[i] * x[j];
                }
            }
        }
        for i in 1..width {
            gradient[i] += RIDGE * coefficients[i];
            hessian[i * width + i] += RIDGE;
        }
        let step = solve_positive_definite(hessian, gradient, width);
        for (coefficient, delta) in coefficients.iter_mut().zip(step) {
            *coefficient -= delta;
        }
    }

    // Fold the standardisation into the coefficients: w·(x − m)/s = (w/s)·x − w·m/s.
    let weights: Vec<f64> = coefficients[1..]
        .iter()
        .zip(&standardisers)
        .map(|(weight, (_, scale))| weight / scale)
        .collect();
    let intercept = coefficients[0]
        - weights
            .iter()
            .zip(&standardisers)
            .map(|(weight, (mean, _))| weight * mean)
            .sum::<f64>();
    (weights, intercept)
}

/// The mean and the population standard deviation of a column, with a
/// constant column scaled by 1 as scikit-learn's `StandardScaler` does.
fn mean_and_scale(column: &[f64]) -> (f64, f64) {
    let count = column.len() as f64;
    let mean = column.iter().sum::<f64>() / count;
    let variance = column
        .iter()
        .map(|value| (value - mean).powi(2))
        .sum::<f64>()
        / count;
    let deviation = variance.sqrt();
    (mean, if deviation > 0.0 { deviation } else { 1.0 })
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Solves `matrix · x = rhs` by Cholesky factorisation, for a symmetric
/// positive definite `size`×`size` matrix of which only the lower triangle
/// (row-major) is read.
fn solve_positive_definite(mut matrix: Vec<f64>, mut rhs: Vec<f64>, size: usize) -> Vec<f64> {
    let at = |row: usize, column: usize| row * size + column;
    for j in 0..size {
        let diagonal =
            (matrix[at(j, j)] - (0..j).map(|k| matrix[at(j, k)].powi(2)).sum::<f64>()).sqrt();
        matrix[at(j, j)] = diagonal;
        for i in j + 1..size {
            let below = (0..j)
                .map(|k| matrix[at(i, k)] * matrix[at(j, k)])
                .sum::<f64>();
            matrix[at(i, j)] = (matrix[at(i, j)] - below) / diagonal;
        }
    }
    for i in 0..size {
        let known = (0..i).map(|k| matrix[at(i, k)] * rhs[k]).sum::<f64>();
        rhs[i] = (rhs[i] - known) / matrix[at(i, i)];
    }
    for i in (0..size).rev() {
        let known = (i + 1..size)
            .map(|k| matrix[at(k, i)] * rhs[k])
            .sum::<f64>();
        rhs[i] = (rhs[i] - known) / matrix[at(i, i)];
    }
    rhs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reviews_weigh_the_sum_of_their_words() {
        let model = reviews();
        let encoded = model
            .encode(0, RawValue::Text("Great! LOVE it, <UNK> 好"))
            .unwrap();
        // great 1.0, love 1.25, it 0 (not in the lexicon), unk -0.05, 好 0.8.
        assert!((encoded - 3.0).abs() < 1e-12, "{encoded}");
        assert_eq!(model.encode(0, RawValue::Text("")), Ok(0.0));
        assert_eq!(model.weights(), [1.0, 0.4]);
    }

    /// The German credit rows encoded for `model`, each with its 0/1 label.
    fn encoded_german_rows(model: &Model) -> Vec<(Vec<f64>, f64)> {
        let mut reader = csv::Reader::from_reader(crate::demo_model::GERMAN_CSV.as_bytes());
        reader
            .records()
            .map(|record| {
                let record = record.unwrap();
                let encoded = record
                    .iter()
                    .skip(1) // the label, `risk`, is the first column
                    .enumerate()
                    .map(|(feature, cell)| model.encode(feature, RawValue::Text(cell)).unwrap())
                    .collect();
                (encoded, f64::from(u8::from(&record[0] == "1")))
            })
            .collect()
    }

    #[test]
    fn german_model_encodes_the_string_columns_and_fits_well() {
        let model = german();
        let names: Vec<&str> = model.features().iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "sex",
                "job",
                "housing",
                "saving_accounts",
                "checking_account",
                "credit_amount",
                "duration",
                "purpose",
                "age"
            ]
        );
        assert_eq!(
            model.features()[0].encoding,
            Encoding::Categorical(vec!["female".into(), "male".into()])
        );
        assert_eq!(model.features()[1].encoding, Encoding::Numeric);
        let rows = encoded_german_rows(&model);
        let correct = rows
            .iter()
            .filter(|(encoded, label)| f64::from(model.predict(encoded).predicted_label) == *label)
            .count();
        let accuracy = correct as f64 / rows.len() as f64;
        assert!(accuracy > 0.70, "training accuracy {accuracy}");
    }

    #[test]
    fn training_twice_gives_identical_weights() {
        let (first, second) = (german(), german());
        assert_eq!(first, second);
        assert!(first.weights().iter().all(|w| w.is_finite() && *w != 0.0));
    }

    #[test]
    fn newton_reaches_the_stationary_point_of_the_penalised_likelihood() {
        // At the optimum, the gradient of the objective in the standardised
        // space vanishes; check it in the original space for the intercept,
        // whose gradient is Σ(p − y) whatever the scaling.
        let model = german();
        let residual: f64 = encoded_german_rows(&model)
            .iter()
            .map(|(encoded, label)| model.predict(encoded).score - label)
            .sum();
        assert!(residual.abs() < 1e-9, "intercept gradient {residual}");
    }

    #[test]
    fn a_custom_table_trains_with_a_textual_positive_label() {
        let text =
            "x,colour,outcome\n1,red,yes\n2,blue,no\n3,red,yes\n4,blue,no\n5,red,yes\n0,blue,yes\n";
        let model = fit_csv(text, "outcome", "yes").unwrap();
        assert_eq!(model.features().len(), 2);
        let red = model.encode(1, RawValue::Text("red")).unwrap();
        let blue = model.encode(1, RawValue::Text("blue")).unwrap();
        assert!(model.predict(&[3.0, red]).score > model.predict(&[3.0, blue]).score);
        assert!(fit_csv(text, "missing", "1")
            .unwrap_err()
            .to_string()
            .contains("no column 'missing'"));
        assert!(fit_csv("a,b\n", "a", "1").is_err());
        assert!(fit_csv("a\n1\n", "a", "1").is_err());
    }

    #[test]
    fn synthetic_weights_alternate_and_shrink() {
        let model = synthetic(4);
        assert_eq!(model.weights(), [1.0, -0.5, 1.0 / 3.0, -0.25]);
        assert_eq!(model.features()[3].name, "feature_3");
        assert_eq!(model.predict(&[0.0; 4]).score, 0.5);
    }

    #[test]
    fn cholesky_solves_a_small_system() {
        // [[4, 2], [2, 3]] x = [2, 1]  →  x = [0.5, 0]
        let solution = solve_positive_definite(vec![4.0, 0.0, 2.0, 3.0], vec![2.0, 1.0], 2);
        assert!((solution[0] - 0.5).abs() < 1e-12 && solution[1].abs() < 1e-12);
    }
}
