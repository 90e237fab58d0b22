//! `analysis.json`, shaped and ordered as Clarify writes it.

use crate::error::Result;
use serde::Serialize;
use serde_json::{Map, Value as Json};
use std::path::Path;

/// The sections of `analysis.json`; absent ones are not written.
#[derive(Debug, Default)]
pub struct Analysis {
    /// `post_training_bias_metrics`.
    pub post_training_bias: Option<Json>,
    /// `pre_training_bias_metrics`.
    pub pre_training_bias: Option<Json>,
    /// `explanations` (`kernel_shap`, `pdp`).
    pub explanations: Option<Json>,
}

impl Analysis {
    /// The document, keys in the order AWS's own output uses.
    pub fn to_json(&self) -> Json {
        let mut doc = Map::new();
        doc.insert("version".into(), Json::from("1.0"));
        let sections = [
            ("post_training_bias_metrics", &self.post_training_bias),
            ("pre_training_bias_metrics", &self.pre_training_bias),
            ("explanations", &self.explanations),
        ];
        for (key, section) in sections {
            if let Some(s) = section {
                doc.insert(key.into(), s.clone());
            }
        }
        Json::Object(doc)
    }

    /// Writes `analysis.json` into `dir` atomically, pretty-printed with a
    /// four-space indent like Clarify's.
    pub fn write(&self, dir: &Path) -> Result<()> {
        crate::layout::write_atomic(
            &dir.join(crate::layout::ANALYSIS_FILE),
            &pretty(&self.to_json()),
        )
    }
}

/// Pretty JSON with a four-space indent and a final newline.
pub fn pretty(value: &Json) -> Vec<u8> {
    let mut out = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut out, formatter);
    value
        .serialize(&mut ser)
        .expect("serialising a JSON value cannot fail");
    out.push(b'\n');
    out
}
