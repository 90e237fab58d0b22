//! Heat maps: each segment of the image tinted by its SHAP value, blue
//! where it raises the explained score and red where it lowers it (the
//! legend AWS's image-classification example gives), more opaque the larger
//! the value; plus the boxes of detected objects.

use super::slic::Segments;
use image::{Rgb, RgbImage};

/// The tint of a positive value.
const POSITIVE: [f64; 3] = [0.0, 60.0, 255.0];
/// The tint of a negative value.
const NEGATIVE: [f64; 3] = [255.0, 30.0, 30.0];
/// The opacity of the largest value's tint; smaller values are fainter.
const MAX_OPACITY: f64 = 0.7;
/// Box outline colours, one per object in turn.
const BOX_COLOURS: [[u8; 3]; 6] = [
    [255, 215, 0],
    [0, 255, 127],
    [255, 0, 255],
    [0, 191, 255],
    [255, 140, 0],
    [255, 255, 255],
];
/// Box outline width in pixels.
const BOX_LINE: u32 = 2;

/// The image with each segment tinted by its value (`values[s]` for
/// segment `s`), opacity in proportion to |value| over the largest |value|.
pub fn heat_map(image: &RgbImage, segments: &Segments, values: &[f64]) -> RgbImage {
    let largest = values.iter().map(|v| v.abs()).fold(0.0, f64::max);
    let mut out = image.clone();
    let pixels: &mut [u8] = &mut out;
    for (pixel, &label) in pixels.chunks_exact_mut(3).zip(&segments.labels) {
        let value = values[label as usize];
        if largest == 0.0 || value == 0.0 || !value.is_finite() {
            continue;
        }
        let tint = if value > 0.0 { POSITIVE } else { NEGATIVE };
        let opacity = MAX_OPACITY * value.abs() / largest;
        for (channel, colour) in pixel.iter_mut().zip(tint) {
            *channel = ((1.0 - opacity) * f64::from(*channel) + opacity * colour).round() as u8;
        }
    }
    out
}

/// Draws the outline of box `k` (0-based: its colour) at `bbox`
/// (`[xmin, ymin, xmax, ymax]` normalised to [0, 1]).
pub fn draw_box(image: &mut RgbImage, bbox: &[f64; 4], k: usize) {
    let (w, h) = image.dimensions();
    if w == 0 || h == 0 {
        return;
    }
    let to = |v: f64, size: u32| ((v * f64::from(size)).round().max(0.0) as u32).min(size - 1);
    let (x0, y0, x1, y1) = (
        to(bbox[0], w),
        to(bbox[1], h),
        to(bbox[2], w),
        to(bbox[3], h),
    );
    let colour = Rgb(BOX_COLOURS[k % BOX_COLOURS.len()]);
    for y in y0..=y1.max(y0) {
        for x in x0..=x1.max(x0) {
            let edge =
                x < x0 + BOX_LINE || x + BOX_LINE > x1 || y < y0 + BOX_LINE || y + BOX_LINE > y1;
            if edge {
                image.put_pixel(x, y, colour);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positive_is_blue_negative_red_and_zero_untouched() {
        let image = RgbImage::from_pixel(3, 1, Rgb([100, 100, 100]));
        let segments = Segments {
            width: 3,
            height: 1,
            labels: vec![0, 1, 2],
            count: 3,
        };
        let map = heat_map(&image, &segments, &[2.0, -1.0, 0.0]);
        let [r, _, b] = map.get_pixel(0, 0).0;
        assert!(b > 200 && r < 50, "{:?}", map.get_pixel(0, 0));
        let [r, _, b] = map.get_pixel(1, 0).0;
        assert!(r > 150 && b < 100, "{:?}", map.get_pixel(1, 0));
        assert_eq!(map.get_pixel(2, 0).0, [100, 100, 100]);
    }

    #[test]
    fn a_box_is_an_outline() {
        let mut image = RgbImage::new(20, 20);
        draw_box(&mut image, &[0.25, 0.25, 0.75, 0.75], 0);
        assert_eq!(image.get_pixel(5, 10).0, BOX_COLOURS[0]);
        assert_eq!(image.get_pixel(10, 10).0, [0, 0, 0]);
        assert_eq!(image.get_pixel(2, 2).0, [0, 0, 0]);
    }
}
