//! Any bytes as a CSV dataset file, read to the end with and without
//! configured headers: every row must come out or the read must fail with
//! a `ClientError`, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

/// The label and facet are the first columns so that most inputs get past
/// column resolution into row reading.
const CONFIGS: [&str; 2] = [
    r#"{"dataset_type":"text/csv","label":"y","label_values_or_threshold":[1],
        "facet":[{"name_or_index":0}],"methods":{"pre_training_bias":{"methods":"all"}}}"#,
    r#"{"dataset_type":"text/csv","headers":["y","f","x"],"label":"y","label_values_or_threshold":[1],
        "facet":[{"name_or_index":"f"}],"methods":{"pre_training_bias":{"methods":"all"}}}"#,
];

fuzz_target!(|data: &[u8]| {
    let Some((&choice, body)) = data.split_first() else {
        return;
    };
    let config = openclarify::config::parse(CONFIGS[usize::from(choice & 1)].as_bytes())
        .expect("the fixed config is valid");
    support::read_dataset(&config, body, "csv");
});

#[path = "support.rs"]
mod support;
