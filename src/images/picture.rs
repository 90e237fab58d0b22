//! Images as RGB pixels: decoding the dataset's files, encoding what the
//! model is sent and what the job writes, and the baseline an absent
//! segment takes (a configured image resized to the input, or white noise).

use crate::error::{JobError, Result};
use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::{ExtendedColorType, ImageEncoder, RgbImage};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::path::Path;

/// JPEG quality of the images sent to the model: high, so that the model
/// sees the masked pixels rather than compression artefacts.
const REQUEST_JPEG_QUALITY: u8 = 95;

/// JPEG quality of the heat maps the job writes.
pub const OUTPUT_JPEG_QUALITY: u8 = 90;

/// The file name extensions read as images (in any case).
pub const IMAGE_EXTENSIONS: [&str; 3] = ["jpg", "jpeg", "png"];

/// How images go to the model (`predictor.content_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestFormat {
    /// `image/jpeg`: one JPEG per request.
    Jpeg,
    /// `image/png`: one PNG per request.
    Png,
    /// `application/x-npy`: raw pixels, many images per request.
    Npy,
}

impl RequestFormat {
    /// The format of a content type ([`crate::config::IMAGE_CONTENT_TYPES`]).
    pub fn of(content_type: &str) -> Option<RequestFormat> {
        match content_type {
            "image/jpeg" => Some(RequestFormat::Jpeg),
            "image/png" => Some(RequestFormat::Png),
            "application/x-npy" => Some(RequestFormat::Npy),
            _ => None,
        }
    }

    /// One image as a request record.
    pub fn encode(self, image: &RgbImage) -> Result<Vec<u8>> {
        match self {
            RequestFormat::Jpeg => jpeg(image, REQUEST_JPEG_QUALITY),
            RequestFormat::Png => png(image),
            RequestFormat::Npy => Ok(crate::predictor::request::npy_record(
                image.width(),
                image.height(),
                image.as_raw(),
            )),
        }
    }

    /// About how many bytes one record of a `width × height` image takes,
    /// to bound the records of one model call.
    pub fn record_bytes(self, width: u32, height: u32) -> usize {
        let raw = width as usize * height as usize * 3;
        match self {
            RequestFormat::Npy | RequestFormat::Png => raw,
            RequestFormat::Jpeg => raw / 4,
        }
    }
}

/// Whether `path` names an image file the job reads.
pub fn is_image_file(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| IMAGE_EXTENSIONS.iter().any(|x| x.eq_ignore_ascii_case(e)))
}

/// Reads and decodes an image file (JPEG or PNG, any colour type) to RGB.
pub fn read(path: &Path) -> Result<RgbImage> {
    let bytes = std::fs::read(path)
        .map_err(|e| JobError::client(format!("Cannot read the image {}: {e}", path.display())))?;
    decode(&bytes).map_err(|e| {
        JobError::client(format!(
            "The image {} cannot be decoded ({e}); give JPEG or PNG files.",
            path.display()
        ))
    })
}

/// Decodes JPEG or PNG bytes to RGB.
pub fn decode(bytes: &[u8]) -> std::result::Result<RgbImage, String> {
    image::load_from_memory(bytes)
        .map(|image| image.to_rgb8())
        .map_err(|e| e.to_string())
}

/// `image` as JPEG of the given quality.
pub fn jpeg(image: &RgbImage, quality: u8) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    JpegEncoder::new_with_quality(&mut bytes, quality)
        .encode_image(image)
        .map_err(|e| JobError::algorithm(format!("Cannot encode an image as JPEG: {e}")))?;
    Ok(bytes)
}

/// `image` as PNG.
pub fn png(image: &RgbImage) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    PngEncoder::new(&mut bytes)
        .write_image(
            image.as_raw(),
            image.width(),
            image.height(),
            ExtendedColorType::Rgb8,
        )
        .map_err(|e| JobError::algorithm(format!("Cannot encode an image as PNG: {e}")))?;
    Ok(bytes)
}

/// What an absent segment's pixels become.
#[derive(Debug, Clone)]
pub enum Baseline {
    /// `methods.shap.baseline`: an image, resized to each input.
    Image(RgbImage),
    /// White noise: uniform random bytes, the same for every image of a
    /// size, from `methods.shap.seed` (0 when absent).
    Noise {
        /// The seed of the noise.
        seed: u64,
    },
}

impl Baseline {
    /// The baseline for an input of `width × height`: the configured
    /// image resized (bicubic, as Pillow's default), or the noise of that size.
    pub fn for_size(&self, width: u32, height: u32) -> RgbImage {
        match self {
            Baseline::Image(image) if image.dimensions() == (width, height) => image.clone(),
            Baseline::Image(image) => image::imageops::resize(
                image,
                width,
                height,
                image::imageops::FilterType::CatmullRom,
            ),
            Baseline::Noise { seed } => {
                let mut rng = ChaCha8Rng::seed_from_u64(*seed);
                rng.set_stream((u64::from(width) << 32) | u64::from(height));
                let mut pixels = vec![0u8; width as usize * height as usize * 3];
                rng.fill(pixels.as_mut_slice());
                RgbImage::from_raw(width, height, pixels).expect("3 bytes per pixel")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn png_round_trips_exactly_and_jpeg_closely() {
        let image = RgbImage::from_fn(16, 8, |x, y| image::Rgb([x as u8 * 10, y as u8 * 20, 7]));
        assert_eq!(decode(&png(&image).unwrap()).unwrap(), image);
        let back = decode(&jpeg(&image, 95).unwrap()).unwrap();
        let worst = image
            .as_raw()
            .iter()
            .zip(back.as_raw())
            .map(|(a, b)| a.abs_diff(*b))
            .max()
            .unwrap();
        assert!(worst < 16, "{worst}");
    }

    #[test]
    fn noise_is_fixed_by_seed_and_size() {
        let noise = Baseline::Noise { seed: 3 };
        assert_eq!(noise.for_size(8, 4), noise.for_size(8, 4));
        assert_ne!(
            noise.for_size(8, 4),
            Baseline::Noise { seed: 4 }.for_size(8, 4)
        );
        let bytes = noise.for_size(64, 64).into_raw();
        let mean = bytes.iter().map(|&b| f64::from(b)).sum::<f64>() / bytes.len() as f64;
        assert!((mean - 127.5).abs() < 5.0, "{mean}");
    }

    #[test]
    fn a_baseline_image_is_resized_to_the_input() {
        let grey = Baseline::Image(RgbImage::from_pixel(10, 10, image::Rgb([9, 9, 9])));
        let resized = grey.for_size(4, 6);
        assert_eq!(resized.dimensions(), (4, 6));
        assert!(resized.pixels().all(|p| p.0 == [9, 9, 9]));
    }
}
