//! Any templates and cell values through the request encoder: building an
//! encoder fails with a `ClientError` or it renders records and bodies,
//! never panicking. Input: content type selector byte, then content
//! template, record template and cells separated by NUL bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use openclarify::config::Mime;
use openclarify::dataset::value::CellRef;
use openclarify::predictor::request::Encoder;

const CONTENT_TYPES: [&str; 3] = ["text/csv", "application/jsonlines", "application/json"];

fuzz_target!(|data: &[u8]| {
    let Some((&choice, rest)) = data.split_first() else {
        return;
    };
    let mut parts = rest.split(|&b| b == 0);
    let content_template = parts.next().map(String::from_utf8_lossy);
    let record_template = parts.next().map(String::from_utf8_lossy);
    let Ok(encoder) = Encoder::new(
        &Mime::from(CONTENT_TYPES[usize::from(choice) % CONTENT_TYPES.len()]),
        content_template.as_deref(),
        record_template.as_deref(),
    ) else {
        return;
    };
    // The remaining parts are cells; each also names its own column, so
    // `${name}` placeholders can meet names with any characters.
    let texts: Vec<&[u8]> = parts.collect();
    let cells: Vec<CellRef> = texts.iter().map(|t| CellRef::Text(t)).collect();
    let names: Vec<String> = texts
        .iter()
        .map(|t| String::from_utf8_lossy(t).into_owned())
        .collect();
    let record = encoder.record(&cells, &names);
    let _ = encoder.body(&[&record, &record], &names);
});
