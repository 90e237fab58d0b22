//! The demo image models (`demo-model --vision classifier|detector`): small,
//! deterministic models of images, for image explanations whose values
//! can be reasoned about.
//!
//! A request is one JPEG or PNG image (`Content-Type: image/jpeg` or
//! `image/png`), or a batch as a NumPy `uint8` array of shape
//! `(N, height, width, 3)` (`application/x-npy`). The answer is JSON: per
//! image, the classifier's scores or the detector's detections; a batch
//! gets a list with one entry per image.
//!
//! - The classifier scores the classes `red`, `green`, `blue` as the
//!   softmax of `8 ×` the image's mean red, green and blue (in [0, 1]).
//! - The detector looks at each quadrant of the image: where a quadrant has
//!   bright pixels (luma ≥ 128), it reports the box around them, the box's
//!   mean luma in [0, 1] as the score, and as class the channel (0 red, 1
//!   green, 2 blue) with the largest mean in the box. Detections are
//!   `[class_id, score, xmin, ymin, xmax, ymax]`, coordinates in [0, 1].

use crate::images::picture;
use image::RgbImage;
use serde_json::{json, Value as Json};

/// Which image model to serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Vision {
    /// Scores `red`, `green`, `blue` from the image's mean colour.
    Classifier,
    /// Finds the bright region of each quadrant.
    Detector,
}

/// The classifier's class names, in score order.
pub const CLASSES: [&str; 3] = ["red", "green", "blue"];

/// How sharply the classifier's softmax separates the colours.
const SHARPNESS: f64 = 8.0;

/// Luma at which the detector counts a pixel as bright.
const BRIGHT: f64 = 128.0;

impl Vision {
    /// The answer to a request body of `content_type`, or why it cannot be read.
    pub fn answer(self, content_type: &str, body: &[u8]) -> Result<String, String> {
        match content_type {
            "application/x-npy" => {
                let images = read_npy(body)?;
                let answers: Vec<Json> = images.iter().map(|i| self.score(i)).collect();
                Ok(Json::Array(answers).to_string())
            }
            _ => Ok(self.score(&picture::decode(body)?).to_string()),
        }
    }

    /// One image's answer.
    fn score(self, image: &RgbImage) -> Json {
        match self {
            Vision::Classifier => json!(classify(image)),
            Vision::Detector => json!(detect(image)),
        }
    }
}

/// The classifier's scores for `red`, `green`, `blue`.
pub fn classify(image: &RgbImage) -> [f64; 3] {
    let mean = mean_colour(image.pixels().map(|p| p.0));
    let exps = mean.map(|m| (SHARPNESS * m / 255.0).exp());
    let total: f64 = exps.iter().sum();
    exps.map(|e| e / total)
}

/// The mean of each channel over `pixels` (0 for none).
fn mean_colour(pixels: impl Iterator<Item = [u8; 3]>) -> [f64; 3] {
    let mut sum = [0.0; 3];
    let mut count = 0.0;
    for p in pixels {
        for c in 0..3 {
            sum[c] += f64::from(p[c]);
        }
        count += 1.0;
    }
    match count > 0.0 {
        true => sum.map(|s| s / count),
        false => sum,
    }
}

/// Luma of a pixel (ITU-R 601), 0 to 255.
fn luma(p: [u8; 3]) -> f64 {
    0.299 * f64::from(p[0]) + 0.587 * f64::from(p[1]) + 0.114 * f64::from(p[2])
}

/// The detector's detections, one per quadrant with bright pixels.
pub fn detect(image: &RgbImage) -> Vec<[f64; 6]> {
    let (w, h) = image.dimensions();
    let halves = |size: u32| [(0, size / 2), (size / 2, size)];
    let mut found = Vec::new();
    for (y0, y1) in halves(h) {
        for (x0, x1) in halves(w) {
            let mut bounds: Option<[u32; 4]> = None;
            for y in y0..y1 {
                for x in x0..x1 {
                    if luma(image.get_pixel(x, y).0) >= BRIGHT {
                        let b = bounds.get_or_insert([x, y, x + 1, y + 1]);
                        *b = [b[0].min(x), b[1].min(y), b[2].max(x + 1), b[3].max(y + 1)];
                    }
                }
            }
            let Some([bx0, by0, bx1, by1]) = bounds else {
                continue;
            };
            let inside = (by0..by1).flat_map(|y| (bx0..bx1).map(move |x| (x, y)));
            let pixels: Vec<[u8; 3]> = inside.map(|(x, y)| image.get_pixel(x, y).0).collect();
            let brightness =
                pixels.iter().map(|&p| luma(p)).sum::<f64>() / pixels.len() as f64 / 255.0;
            let colour = mean_colour(pixels.into_iter());
            let class = (0..3).fold(0, |best, c| if colour[c] > colour[best] { c } else { best });
            let (fw, fh) = (f64::from(w), f64::from(h));
            found.push([
                class as f64,
                brightness,
                f64::from(bx0) / fw,
                f64::from(by0) / fh,
                f64::from(bx1) / fw,
                f64::from(by1) / fh,
            ]);
        }
    }
    found
}

/// The images of an `application/x-npy` body: a `uint8` array of shape
/// `(N, height, width, 3)`, C order.
fn read_npy(body: &[u8]) -> Result<Vec<RgbImage>, String> {
    let not_npy =
        || "the body is not a .npy uint8 array of shape (N, height, width, 3)".to_string();
    if body.len() < 10 || &body[..6] != b"\x93NUMPY" {
        return Err(not_npy());
    }
    let header_len = usize::from(u16::from_le_bytes([body[8], body[9]]));
    let header = body.get(10..10 + header_len).ok_or_else(not_npy)?;
    let header = std::str::from_utf8(header).map_err(|_| not_npy())?;
    if !header.contains("'|u1'") || header.contains("'fortran_order': True") {
        return Err(not_npy());
    }
    let shape_text = header
        .split("'shape': (")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .ok_or_else(not_npy)?;
    let shape: Vec<usize> = shape_text
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().map_err(|_| not_npy()))
        .collect::<Result<_, _>>()?;
    let &[n, h, w, 3] = shape.as_slice() else {
        return Err(not_npy());
    };
    let data = &body[10 + header_len..];
    let size = h * w * 3;
    if data.len() != n * size {
        return Err(not_npy());
    }
    data.chunks_exact(size.max(1))
        .take(n)
        .map(|pixels| RgbImage::from_raw(w as u32, h as u32, pixels.to_vec()).ok_or_else(not_npy))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgb;

    #[test]
    fn the_classifier_prefers_the_dominant_colour() {
        let red = RgbImage::from_pixel(4, 4, Rgb([255, 0, 0]));
        let scores = classify(&red);
        assert!(scores[0] > 0.99 && (scores.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn the_detector_boxes_the_bright_pixels_of_each_quadrant() {
        let mut image = RgbImage::new(20, 10);
        for y in 1..4 {
            for x in 2..6 {
                image.put_pixel(x, y, Rgb([0, 250, 0]));
            }
        }
        let found = detect(&image);
        assert_eq!(found.len(), 1);
        let [class, score, x0, y0, x1, y1] = found[0];
        assert_eq!(class, 1.0);
        assert!((score - 0.587 * 250.0 / 255.0).abs() < 1e-12);
        assert_eq!([x0, y0, x1, y1], [0.1, 0.1, 0.3, 0.4]);
    }

    #[test]
    fn an_npy_batch_gets_one_answer_per_image() {
        let a = crate::predictor::request::npy_record(2, 1, &[255, 0, 0, 255, 0, 0]);
        let b = crate::predictor::request::npy_record(2, 1, &[0, 0, 255, 0, 0, 255]);
        let encoder = crate::predictor::request::Encoder::new(
            &crate::config::Mime::from("application/x-npy"),
            None,
            None,
        )
        .unwrap();
        let body = encoder.body(&[&a, &b], &[]);
        let answer: Json = serde_json::from_str(
            &Vision::Classifier
                .answer("application/x-npy", &body)
                .unwrap(),
        )
        .unwrap();
        let answers = answer.as_array().unwrap();
        assert_eq!(answers.len(), 2);
        assert!(answers[0][0].as_f64().unwrap() > 0.9 && answers[1][2].as_f64().unwrap() > 0.9);
    }
}
