//! The scoring half of the demo model: how raw feature values become
//! numbers, and how a record of numbers becomes a probability.
//!
//! A [`Model`] is a logistic regression over encoded features. Numeric
//! features are used as they are; a categorical feature is encoded as the
//! position of its value in the sorted list of the values seen in training,
//! so a request may carry either the raw string or that numeric code. A
//! text feature is encoded as the sum of its words' weights (a bag of words),
//! so the model is additive over words in log-odds.

use unicode_segmentation::UnicodeSegmentation;

/// How one feature's raw values become numbers.
#[derive(Debug, Clone, PartialEq)]
pub enum Encoding {
    /// The value is a number and is used as it is.
    Numeric,
    /// The value is one of these strings (sorted), encoded as its index.
    /// A number is taken to be such a code already.
    Categorical(Vec<String>),
    /// The value is text, encoded as the sum of its words' weights: the
    /// words are its Unicode words (UAX #29) lower-cased, and a word not in
    /// this list (sorted by word) weighs 0.
    BagOfWords(Vec<(String, f64)>),
}

/// A feature the model expects, in request order.
#[derive(Debug, Clone, PartialEq)]
pub struct Feature {
    /// The column name in the training data.
    pub name: String,
    /// How its raw values are turned into numbers.
    pub encoding: Encoding,
}

/// One raw feature value as it arrives in a request.
#[derive(Debug, Clone, Copy)]
pub enum RawValue<'a> {
    /// A JSON number.
    Number(f64),
    /// A CSV cell or a JSON string: a category, or a number written as text.
    Text(&'a str),
}

/// What the model answers for one record; serialised as
/// `{"predicted_label":1,"score":0.83}` in JSON responses.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Prediction {
    /// 1 when the score exceeds 0.5, as Clarify's default probability threshold decides.
    pub predicted_label: u8,
    /// The probability of the positive label.
    pub score: f64,
}

/// A logistic regression over encoded features.
///
/// The weights apply to the encoded values directly: training folds the
/// standardisation it used into them, so scoring is one dot product.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    features: Vec<Feature>,
    weights: Vec<f64>,
    intercept: f64,
}

impl Model {
    /// A model with one weight per feature.
    ///
    /// # Panics
    /// When there are no features, or `weights` and `features` differ in
    /// length: both are bugs in the caller.
    pub fn new(features: Vec<Feature>, weights: Vec<f64>, intercept: f64) -> Model {
        assert!(!features.is_empty(), "a model needs at least one feature");
        assert_eq!(features.len(), weights.len(), "one weight per feature");
        Model {
            features,
            weights,
            intercept,
        }
    }

    /// The features a record must contain, in order.
    pub fn features(&self) -> &[Feature] {
        &self.features
    }

    /// The weight of each encoded feature, in feature order.
    pub fn weights(&self) -> &[f64] {
        &self.weights
    }

    /// The constant term of the linear predictor.
    pub fn intercept(&self) -> f64 {
        self.intercept
    }

    /// Encodes the raw value of feature number `feature` into a number, or
    /// explains in one line why it cannot be.
    pub fn encode(&self, feature: usize, value: RawValue<'_>) -> Result<f64, String> {
        let Feature { name, encoding } = &self.features[feature];
        match (encoding, value) {
            (_, RawValue::Number(number)) => Ok(number),
            (Encoding::Numeric, RawValue::Text(text)) => parse_number(text)
                .ok_or_else(|| format!("feature '{name}' expects a number, got '{text}'")),
            (Encoding::BagOfWords(lexicon), RawValue::Text(text)) => Ok(text
                .unicode_words()
                .map(|word| {
                    let word = word.to_lowercase();
                    lexicon
                        .binary_search_by(|(known, _)| known.as_str().cmp(&word))
                        .map_or(0.0, |at| lexicon[at].1)
                })
                .sum()),
            (Encoding::Categorical(categories), RawValue::Text(text)) => {
                // The vocabulary comes first, so a category that looks like a
                // number ("10") still maps to its own code.
                match categories.binary_search_by(|category| category.as_str().cmp(text.trim())) {
                    Ok(code) => Ok(code as f64),
                    Err(_) => parse_number(text).ok_or_else(|| {
                        format!(
                            "feature '{name}' has no category '{text}' (known: {})",
                            categories.join(", ")
                        )
                    }),
                }
            }
        }
    }

    /// Scores one encoded record (one number per feature).
    pub fn predict(&self, encoded: &[f64]) -> Prediction {
        let linear = self.intercept
            + self
                .weights
                .iter()
                .zip(encoded)
                .map(|(weight, value)| weight * value)
                .sum::<f64>();
        let score = sigmoid(linear);
        Prediction {
            predicted_label: u8::from(score > 0.5),
            score,
        }
    }
}

/// Reads a finite number written as text; NaN and infinities are refused
/// because no logistic regression can score them.
pub(super) fn parse_number(text: &str) -> Option<f64> {
    text.trim()
        .parse::<f64>()
        .ok()
        .filter(|value| value.is_finite())
}

/// The logistic function, written so that neither tail overflows.
pub(super) fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn colour_and_size() -> Model {
        Model::new(
            vec![
                Feature {
                    name: "colour".into(),
                    encoding: Encoding::Categorical(vec!["blue".into(), "red".into()]),
                },
                Feature {
                    name: "size".into(),
                    encoding: Encoding::Numeric,
                },
            ],
            vec![2.0, -1.0],
            0.5,
        )
    }

    #[test]
    fn categories_encode_to_their_sorted_position_and_codes_pass_through() {
        let model = colour_and_size();
        assert_eq!(model.encode(0, RawValue::Text("blue")), Ok(0.0));
        assert_eq!(model.encode(0, RawValue::Text("red")), Ok(1.0));
        assert_eq!(model.encode(0, RawValue::Text("1")), Ok(1.0));
        assert_eq!(model.encode(0, RawValue::Number(1.0)), Ok(1.0));
        let unknown = model.encode(0, RawValue::Text("green")).unwrap_err();
        assert_eq!(
            unknown,
            "feature 'colour' has no category 'green' (known: blue, red)"
        );
    }

    #[test]
    fn numeric_features_accept_numbers_written_as_text_only() {
        let model = colour_and_size();
        assert_eq!(model.encode(1, RawValue::Text(" 2.5")), Ok(2.5));
        assert!(model.encode(1, RawValue::Text("big")).is_err());
        assert!(model.encode(1, RawValue::Text("")).is_err());
        assert!(model.encode(1, RawValue::Text("NaN")).is_err());
    }

    #[test]
    fn prediction_is_the_sigmoid_of_the_linear_predictor() {
        let model = colour_and_size();
        let prediction = model.predict(&[1.0, 2.5]);
        assert_eq!(prediction.score, sigmoid(0.5 + 2.0 - 2.5));
        assert_eq!(prediction.score, 0.5);
        assert_eq!(
            prediction.predicted_label, 0,
            "exactly 0.5 is not above the threshold"
        );
        assert_eq!(model.predict(&[1.0, 0.0]).predicted_label, 1);
        assert!(sigmoid(-800.0) >= 0.0 && sigmoid(800.0) <= 1.0);
    }
}
