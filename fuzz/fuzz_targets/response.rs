//! Any bytes as a model's answer, for each accept type and both kinds of
//! locator: reading gives one output per record or a `ParseError`, never a
//! panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use openclarify::config::{Mime, NameOrIndex};
use openclarify::predictor::response::ResponseReader;

/// (accept type, label locator, probability locator), as configs write them.
const READERS: [(&str, Option<&str>, Option<&str>); 6] = [
    ("text/csv", None, None),
    ("text/csv", Some("0"), Some("1")),
    ("application/jsonlines", None, Some("score")),
    (
        "application/jsonlines",
        Some("predicted_label"),
        Some("probabilities"),
    ),
    ("application/json", None, Some("predictions[*].score")),
    (
        "application/json",
        Some("[*].label"),
        Some("[*].probabilities"),
    ),
];

fuzz_target!(|data: &[u8]| {
    let [choice, records, body @ ..] = data else {
        return;
    };
    let (accept, label, probability) = READERS[usize::from(*choice) % READERS.len()];
    let locate = |l: Option<&str>| l.map(|s| NameOrIndex::Name(s.to_string()));
    let accept = Mime::from(accept);
    let reader = ResponseReader::new(
        &accept,
        locate(label).as_ref(),
        locate(probability).as_ref(),
    )
    .expect("the fixed locators are valid");
    let records = usize::from(records % 8);
    if let Ok(outputs) = reader.read(body, records) {
        assert_eq!(outputs.len(), records, "one output per record");
    }
});
