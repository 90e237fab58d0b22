//! Any bytes as `analysis_config.json`: parsing and validation must return
//! a config or a `ClientError`, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = openclarify::config::parse(data);
});
