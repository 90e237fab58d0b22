//! Any bytes as an `application/json` dataset file (one document whose
//! JMESPath locators give a list of records), read to the end: every
//! record must come out or the read must fail with a `ClientError`, never
//! panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

const CONFIG: &str = r#"{"dataset_type":"application/json","features":"instances[*].features",
    "label":"instances[*].label","label_values_or_threshold":[1],"facet":[{"name_or_index":0}],
    "methods":{"pre_training_bias":{"methods":"all"}}}"#;

fuzz_target!(|data: &[u8]| {
    let config = openclarify::config::parse(CONFIG.as_bytes()).expect("the fixed config is valid");
    support::read_dataset(&config, data, "json");
});

#[path = "support.rs"]
mod support;
