//! The images a coalition of segments makes: a present segment keeps the
//! input's pixels, an absent one takes the baseline's; for an object, the
//! part of the image outside its context window always takes the baseline.

use super::slic::Segments;
use image::RgbImage;

/// A rectangle of pixels: `x0..x1` × `y0..y1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// First column.
    pub x0: u32,
    /// First row.
    pub y0: u32,
    /// One past the last column.
    pub x1: u32,
    /// One past the last row.
    pub y1: u32,
}

impl Window {
    /// Whether pixel (`x`, `y`) is inside.
    pub fn contains(&self, x: u32, y: u32) -> bool {
        (self.x0..self.x1).contains(&x) && (self.y0..self.y1).contains(&y)
    }

    /// The part of a `width × height` image an object keeps with `context`:
    /// its box (`[xmin, ymin, xmax, ymax]` normalised to [0, 1]) grown
    /// towards each edge of the image by `context` times the distance to
    /// it. Context 0 keeps the box alone, 1 the whole image.
    pub fn around(bbox: &[f64; 4], context: f64, width: u32, height: u32) -> Window {
        let (w, h) = (f64::from(width), f64::from(height));
        let clamp = |v: f64, size: f64| v.clamp(0.0, size);
        let (bx0, by0) = (clamp(bbox[0] * w, w), clamp(bbox[1] * h, h));
        let (bx1, by1) = (clamp(bbox[2] * w, w), clamp(bbox[3] * h, h));
        Window {
            x0: (bx0 - context * bx0).floor() as u32,
            y0: (by0 - context * by0).floor() as u32,
            x1: (bx1 + context * (w - bx1)).ceil() as u32,
            y1: (by1 + context * (h - by1)).ceil() as u32,
        }
    }
}

/// One input image, its segments and its baseline: the source of every
/// masked image of its explanation.
pub struct Masker<'a> {
    /// The input.
    pub image: &'a RgbImage,
    /// The baseline, of the input's size.
    pub baseline: &'a RgbImage,
    /// The input's segments.
    pub segments: &'a Segments,
}

impl Masker<'_> {
    /// The image in which segment `s` keeps the input's pixels where
    /// `keep[s]` (inside `window`, when there is one) and every other
    /// pixel is the baseline's.
    pub fn compose(&self, keep: &[bool], window: Option<&Window>) -> RgbImage {
        let (width, height) = self.image.dimensions();
        let whole = Window {
            x0: 0,
            y0: 0,
            x1: width,
            y1: height,
        };
        let window = window.unwrap_or(&whole);
        let mut out = self.baseline.clone();
        let target: &mut [u8] = &mut out;
        let source = self.image.as_raw();
        let labels = &self.segments.labels;
        let (x0, x1) = (window.x0.min(width) as usize, window.x1.min(width) as usize);
        for y in window.y0.min(height) as usize..window.y1.min(height) as usize {
            let row = y * width as usize;
            for i in row + x0..row + x1 {
                if keep[labels[i] as usize] {
                    target[3 * i..3 * i + 3].copy_from_slice(&source[3 * i..3 * i + 3]);
                }
            }
        }
        out
    }

    /// Which segments have a pixel inside `window` (all of them without
    /// one): the players of an object's explanation.
    pub fn segments_in(&self, window: Option<&Window>) -> Vec<bool> {
        let mut inside = vec![window.is_none(); self.segments.count];
        if let Some(window) = window {
            let width = self.segments.width as u32;
            for (i, &label) in self.segments.labels.iter().enumerate() {
                if window.contains(i as u32 % width, i as u32 / width) {
                    inside[label as usize] = true;
                }
            }
        }
        inside
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 4 × 2 image of two segments (left and right halves).
    fn halves() -> (RgbImage, RgbImage, Segments) {
        let image = RgbImage::from_pixel(4, 2, image::Rgb([200, 0, 0]));
        let baseline = RgbImage::from_pixel(4, 2, image::Rgb([0, 0, 9]));
        let segments = Segments {
            width: 4,
            height: 2,
            labels: vec![0, 0, 1, 1, 0, 0, 1, 1],
            count: 2,
        };
        (image, baseline, segments)
    }

    #[test]
    fn absent_segments_and_the_outside_of_the_window_take_the_baseline() {
        let (image, baseline, segments) = halves();
        let masker = Masker {
            image: &image,
            baseline: &baseline,
            segments: &segments,
        };
        let left = masker.compose(&[true, false], None);
        assert_eq!(left.get_pixel(1, 1).0, [200, 0, 0]);
        assert_eq!(left.get_pixel(2, 1).0, [0, 0, 9]);
        let window = Window {
            x0: 1,
            y0: 0,
            x1: 4,
            y1: 1,
        };
        let both = masker.compose(&[true, true], Some(&window));
        assert_eq!(both.get_pixel(0, 0).0, [0, 0, 9]);
        assert_eq!(both.get_pixel(3, 0).0, [200, 0, 0]);
        assert_eq!(both.get_pixel(3, 1).0, [0, 0, 9]);
        let right_only = Window {
            x0: 2,
            y0: 0,
            x1: 4,
            y1: 2,
        };
        assert_eq!(masker.segments_in(Some(&right_only)), vec![false, true]);
        assert_eq!(masker.segments_in(None), vec![true, true]);
    }

    #[test]
    fn context_grows_the_box_towards_the_edges() {
        let bbox = [0.25, 0.5, 0.5, 0.75];
        let at = |c| Window::around(&bbox, c, 100, 40);
        assert_eq!(
            at(0.0),
            Window {
                x0: 25,
                y0: 20,
                x1: 50,
                y1: 30
            }
        );
        assert_eq!(
            at(1.0),
            Window {
                x0: 0,
                y0: 0,
                x1: 100,
                y1: 40
            }
        );
        assert_eq!(
            at(0.5),
            Window {
                x0: 12,
                y0: 10,
                x1: 75,
                y1: 35
            }
        );
    }
}
