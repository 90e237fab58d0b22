//! Image explanations in the report (`methods.shap.image_config`): a grid
//! per image of its heat maps (and, for detection, the image with its
//! boxes), for the first images of the dataset. The files are the JPEGs
//! the job wrote beside `analysis.json`, which
//! `explanations.image_shap.images` lists.

use super::document::{Block, Section, Tile};
use base64::Engine;
use serde_json::Value as Json;
use std::path::Path;

/// Images shown: the report stays a few megabytes however large the dataset.
const IMAGES_SHOWN: usize = 12;

/// The image section, when `analysis.json` holds image explanations.
pub fn section(analysis: &Json, out_dir: &Path) -> Option<Section> {
    let block = analysis
        .get("explanations")?
        .get(crate::images::run::SECTION)?;
    let images = block.get("images")?.as_array()?;
    let detection = block.get("model_type").and_then(Json::as_str) == Some("OBJECT_DETECTION");
    let what = match detection {
        true => "each detected object (box k, highest score first), over the image with every object's box",
        false => "each of the highest predicted labels",
    };
    let mut blocks = vec![Block::Paragraph {
        text: format!(
            "Each image is cut into superpixels, and each superpixel's SHAP value says how much showing it (instead of the baseline) moved the score: blue raises it, red lowers it, and the stronger the tint the larger the value within that heat map. Heat maps are shown for {what}. {} images were explained; the first {} are shown, and every value is in {}.",
            images.len(),
            images.len().min(IMAGES_SHOWN),
            block.get("explanation_results_path").and_then(Json::as_str).unwrap_or("out.jsonl")
        ),
    }];
    for image in images.iter().take(IMAGES_SHOWN) {
        let name = image
            .get("image")
            .and_then(Json::as_str)
            .unwrap_or_default();
        let mut tiles = Vec::new();
        if let Some(file) = image.get("objects_image").and_then(Json::as_str) {
            tiles.extend(tile(out_dir, file, "detected objects".into()));
        }
        for map in image
            .get("heat_maps")
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
        {
            let (Some(file), Some(label)) = (map["file"].as_str(), map["label"].as_str()) else {
                continue;
            };
            let score = map["prediction"]
                .as_f64()
                .map_or(String::new(), |p| format!(" ({})", super::format_number(p)));
            let caption = match detection {
                true => format!("box {}: {label}{score}", tiles.len()),
                false => format!("{label}{score}"),
            };
            tiles.extend(tile(out_dir, file, caption));
        }
        blocks.push(Block::Heading {
            text: name.to_string(),
        });
        blocks.push(Block::Gallery { tiles });
    }
    Some(Section {
        id: "image-explanations".into(),
        title: "Image explanations: which parts of the image matter".into(),
        blocks,
    })
}

/// A tile for the JPEG `file` (relative to `out_dir`), or none when it
/// cannot be read.
fn tile(out_dir: &Path, file: &str, caption: String) -> Option<Tile> {
    let bytes = std::fs::read(out_dir.join(file))
        .inspect_err(|e| tracing::warn!("the report leaves out {file}: {e}"))
        .ok()?;
    Some(Tile {
        caption,
        file: file.to_string(),
        data_uri: format!(
            "data:image/jpeg;base64,{}",
            base64::engine::general_purpose::STANDARD.encode(bytes)
        ),
    })
}
