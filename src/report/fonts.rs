//! The bundled font, and how wide a text set in it is.
//!
//! The production image is `FROM scratch`: it has no fonts, so the PDF
//! embeds DejaVu Sans from the binary (licence in `fonts/LICENSE`). The SVG
//! charts name the same family first, and measuring with its real advance
//! widths lets charts and the PDF size label areas and wrap lines without
//! guessing.

use std::sync::OnceLock;

/// DejaVu Sans Book.
pub const REGULAR: &[u8] = include_bytes!("fonts/DejaVuSans.ttf");
/// DejaVu Sans Bold.
pub const BOLD: &[u8] = include_bytes!("fonts/DejaVuSans-Bold.ttf");
/// The CSS font stack of charts and the HTML page: the bundled family first,
/// so every format looks alike where it is installed.
pub const FAMILY: &str = "'DejaVu Sans', 'Helvetica Neue', Arial, sans-serif";

/// The weight a text is set in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Weight {
    /// Body text.
    Regular,
    /// Headings and table headers.
    Bold,
}

fn face(weight: Weight) -> &'static ttf_parser::Face<'static> {
    static REGULAR_FACE: OnceLock<ttf_parser::Face<'static>> = OnceLock::new();
    static BOLD_FACE: OnceLock<ttf_parser::Face<'static>> = OnceLock::new();
    let (cell, bytes) = match weight {
        Weight::Regular => (&REGULAR_FACE, REGULAR),
        Weight::Bold => (&BOLD_FACE, BOLD),
    };
    cell.get_or_init(|| ttf_parser::Face::parse(bytes, 0).expect("the bundled font parses"))
}

/// Width of `text` at `size` (points or pixels, as `size` is), summing glyph
/// advances. Kerning is ignored: it changes widths by a percent or so, well
/// inside the slack every layout leaves.
pub fn text_width(text: &str, size: f64, weight: Weight) -> f64 {
    let face = face(weight);
    let units: f64 = text
        .chars()
        .map(|c| {
            face.glyph_index(c)
                .and_then(|g| face.glyph_hor_advance(g))
                // A character the font lacks is drawn as a box about this wide.
                .map_or(face.units_per_em() as f64 * 0.6, f64::from)
        })
        .sum();
    units * size / face.units_per_em() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_grow_with_text_size_and_weight() {
        let plain = text_width("Disparate Impact", 10.0, Weight::Regular);
        assert!(plain > 60.0 && plain < 120.0, "{plain}");
        assert!((text_width("Disparate Impact", 20.0, Weight::Regular) - 2.0 * plain).abs() < 1e-9);
        assert!(text_width("Disparate Impact", 10.0, Weight::Bold) > plain);
        assert_eq!(text_width("", 10.0, Weight::Regular), 0.0);
    }
}
