//! Any bytes as a Parquet dataset file, read to the end: every row must
//! come out or the read must fail with a `ClientError`, never panic. The
//! seed is the german credit Parquet fixture, so mutations reach the
//! footer, the row groups and the column chunks, not just the magic bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

static HOOK: std::sync::Once = std::sync::Once::new();

const CONFIG: &str = r#"{"dataset_type":"application/x-parquet","label":"risk",
    "label_values_or_threshold":[1],"facet":[{"name_or_index":"sex"}],
    "methods":{"pre_training_bias":{"methods":"all"}}}"#;

fuzz_target!(|data: &[u8]| {
    // libfuzzer-sys aborts on any panic through its hook, even one the
    // reader catches and turns into an error (the parquet crate panics on
    // some corrupt files). The default hook only prints; a panic that
    // escapes the target still aborts the run, so crashes are still found.
    HOOK.call_once(|| drop(std::panic::take_hook()));
    let config = openclarify::config::parse(CONFIG.as_bytes()).expect("the fixed config is valid");
    support::read_dataset(&config, data, "parquet");
});

#[path = "support.rs"]
mod support;
