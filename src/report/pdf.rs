//! `report.pdf`, written in-process with krilla: A4 pages, the bundled
//! font embedded (subset), charts placed as vector graphics via krilla-svg.
//! (About 650 lines with its tests: layout and rendering share their types.)
//!
//! krilla draws but does not lay out, so layout is done here in two steps:
//! [`layout`] places every text run, shaded box and chart on numbered pages
//! (wrapping lines with the font's real advance widths, breaking pages
//! before a row or chart that would not fit, repeating table headers), and
//! [`render`] draws those placements. Keeping the steps apart lets tests
//! check pagination without decoding a PDF.

use super::charts::Svg;
use super::document::{Block, Report, Table, GUIDE_HEADING};
use super::fonts::{self, text_width, Weight};
use anyhow::{anyhow, Result};
use krilla::color::rgb;
use krilla::destination::XyzDestination;
use krilla::geom::{PathBuilder, Point, Rect, Size};
use krilla::metadata::Metadata;
use krilla::num::NormalizedF32;
use krilla::outline::{Outline, OutlineNode};
use krilla::page::PageSettings;
use krilla::paint::Fill;
use krilla::surface::Surface;
use krilla::text::{Font, TextDirection};
use krilla::Document;
use krilla_svg::{SurfaceExt, SvgSettings};
use std::sync::{Arc, OnceLock};

const PAGE_WIDTH: f32 = 595.0;
const PAGE_HEIGHT: f32 = 842.0;
const MARGIN: f32 = 50.0;
const CONTENT_WIDTH: f32 = PAGE_WIDTH - 2.0 * MARGIN;
/// Lowest y content may reach; the footer lives below.
const CONTENT_BOTTOM: f32 = PAGE_HEIGHT - MARGIN - 10.0;
const BODY: f32 = 10.0;
const TABLE_TEXT: f32 = 8.5;
const CELL_PADDING: f32 = 4.0;

type Colour = (u8, u8, u8);
const INK: Colour = (0x22, 0x22, 0x22);
const MUTED: Colour = (0x66, 0x66, 0x66);
const ALERT: Colour = (0xD5, 0x5E, 0x00);
const ALERT_BG: Colour = (0xfd, 0xec, 0xe2);
const HEADER_BG: Colour = (0xee, 0xee, 0xee);
const RULE: Colour = (0xcc, 0xcc, 0xcc);

/// Something drawn at a fixed place on a page. `y` grows downwards from
/// the page top, as in SVG; for text it is the baseline.
#[derive(Debug)]
enum Placed {
    Text {
        x: f32,
        y: f32,
        size: f32,
        weight: Weight,
        colour: Colour,
        text: String,
    },
    Box {
        x: f32,
        y: f32,
        width: f32,
        height: f32,
        colour: Colour,
    },
    Chart {
        x: f32,
        y: f32,
        scale: f32,
        // Boxed: a parsed tree is far larger than the other placements.
        chart: Box<usvg::Tree>,
    },
}

/// The laid-out document.
struct Pages {
    pages: Vec<Vec<Placed>>,
    /// Section titles with the page and y where each starts, for bookmarks.
    outline: Vec<(String, usize, f32)>,
    /// Vertical position of the next block on the last page.
    y: f32,
}

impl Pages {
    fn new() -> Pages {
        Pages {
            pages: vec![Vec::new()],
            outline: Vec::new(),
            y: MARGIN,
        }
    }

    fn place(&mut self, item: Placed) {
        self.pages
            .last_mut()
            .expect("there is always a page")
            .push(item);
    }

    fn new_page(&mut self) {
        self.pages.push(Vec::new());
        self.y = MARGIN;
    }

    /// Starts a new page unless `height` more fits on this one.
    fn reserve(&mut self, height: f32) {
        if self.y + height > CONTENT_BOTTOM && self.y > MARGIN {
            self.new_page();
        }
    }

    /// Wrapped lines of text, each placed, breaking pages between lines.
    fn text(&mut self, text: &str, size: f32, weight: Weight, colour: Colour, x: f32, width: f32) {
        let leading = size * 1.4;
        for line in wrap(text, size, weight, width) {
            self.reserve(leading);
            self.y += leading;
            self.place(Placed::Text {
                x,
                y: self.y - leading * 0.3,
                size,
                weight,
                colour,
                text: line,
            });
        }
    }

    fn gap(&mut self, height: f32) {
        self.y += height;
    }
}

/// The PDF for `report`.
pub fn render(report: &Report) -> Result<Vec<u8>> {
    let laid_out = layout(report)?;
    let regular = Font::new(fonts::REGULAR.into(), 0)
        .ok_or_else(|| anyhow!("the bundled font does not load"))?;
    let bold = Font::new(fonts::BOLD.into(), 0)
        .ok_or_else(|| anyhow!("the bundled bold font does not load"))?;
    let mut document = Document::new();
    let count = laid_out.pages.len();
    for (number, items) in laid_out.pages.iter().enumerate() {
        let settings = PageSettings::from_wh(PAGE_WIDTH, PAGE_HEIGHT).expect("A4 is a valid size");
        let mut page = document.start_page_with(settings);
        let mut surface = page.surface();
        for item in items {
            draw(&mut surface, item, &regular, &bold);
        }
        let footer = format!("{}  ·  page {} of {count}", report.title, number + 1);
        let footer = Placed::Text {
            x: MARGIN,
            y: PAGE_HEIGHT - MARGIN + 16.0,
            size: 8.0,
            weight: Weight::Regular,
            colour: MUTED,
            text: footer,
        };
        draw(&mut surface, &footer, &regular, &bold);
        surface.finish();
        page.finish();
    }
    let mut outline = Outline::new();
    for (title, page, y) in &laid_out.outline {
        outline.push_child(OutlineNode::new(
            title.clone(),
            XyzDestination::new(*page, Point::from_xy(MARGIN, *y)),
        ));
    }
    document.set_outline(outline);
    document.set_metadata(
        Metadata::new()
            .title(report.title.clone())
            .creator(format!("openclarify {}", env!("CARGO_PKG_VERSION"))),
    );
    document
        .finish()
        .map_err(|e| anyhow!("the PDF could not be assembled: {e:?}"))
}

fn draw(surface: &mut Surface, item: &Placed, regular: &Font, bold: &Font) {
    match item {
        Placed::Text {
            x,
            y,
            size,
            weight,
            colour,
            text,
        } => {
            surface.set_fill(Some(fill(*colour)));
            let font = match weight {
                Weight::Regular => regular,
                Weight::Bold => bold,
            };
            surface.draw_text(
                Point::from_xy(*x, *y),
                font.clone(),
                *size,
                text,
                false,
                TextDirection::Auto,
            );
        }
        Placed::Box {
            x,
            y,
            width,
            height,
            colour,
        } => {
            let mut path = PathBuilder::new();
            if let Some(rect) = Rect::from_xywh(*x, *y, *width, *height) {
                path.push_rect(rect);
            }
            if let Some(path) = path.finish() {
                surface.set_fill(Some(fill(*colour)));
                surface.draw_path(&path);
            }
        }
        Placed::Chart { x, y, scale, chart } => {
            let size = chart.size();
            if let Some(size) = Size::from_wh(size.width() * scale, size.height() * scale) {
                surface.push_transform(&krilla::geom::Transform::from_translate(*x, *y));
                surface.draw_svg(chart, size, SvgSettings::default());
                surface.pop();
            }
        }
    }
}

fn fill((r, g, b): Colour) -> Fill {
    Fill {
        paint: rgb::Color::new(r, g, b).into(),
        opacity: NormalizedF32::ONE,
        rule: Default::default(),
    }
}

/// Places the whole report on pages.
fn layout(report: &Report) -> Result<Pages> {
    let mut pages = Pages::new();
    pages.text(
        &report.title,
        20.0,
        Weight::Bold,
        INK,
        MARGIN,
        CONTENT_WIDTH,
    );
    pages.gap(8.0);
    table(&mut pages, &report.summary);
    pages.gap(6.0);
    for section in &report.sections {
        // Every section starts a page, as the HTML page prints.
        pages.new_page();
        pages
            .outline
            .push((section.title.clone(), pages.pages.len() - 1, pages.y));
        pages.text(
            &section.title,
            16.0,
            Weight::Bold,
            INK,
            MARGIN,
            CONTENT_WIDTH,
        );
        pages.gap(6.0);
        for (index, block) in section.blocks.iter().enumerate() {
            match block {
                Block::Heading { text } => {
                    // Keep a heading with the chart or first lines after it.
                    let next = match section.blocks.get(index + 1) {
                        Some(Block::Chart(c)) => chart_scale(&c.svg).1,
                        _ => 60.0,
                    };
                    pages.reserve(30.0 + next);
                    pages.gap(8.0);
                    pages.text(text, 12.5, Weight::Bold, INK, MARGIN, CONTENT_WIDTH);
                    pages.gap(2.0);
                }
                Block::Paragraph { text } => {
                    pages.text(text, BODY, Weight::Regular, INK, MARGIN, CONTENT_WIDTH);
                    pages.gap(4.0);
                }
                Block::Notice { text } => {
                    // Warnings call for attention; reasons for what was not
                    // computed are not findings.
                    let colour = if text.starts_with('⚠') {
                        ALERT
                    } else {
                        MUTED
                    };
                    pages.text(text, BODY, Weight::Regular, colour, MARGIN, CONTENT_WIDTH);
                    pages.gap(4.0);
                }
                Block::Table(t) => {
                    table(&mut pages, t);
                    pages.gap(8.0);
                }
                Block::Gallery { tiles } => {
                    // The PDF names the pictures; the HTML page shows them.
                    for tile in tiles {
                        let line = format!("{}: {}", tile.caption, tile.file);
                        pages.text(&line, BODY, Weight::Regular, MUTED, MARGIN, CONTENT_WIDTH);
                    }
                    pages.gap(4.0);
                }
                Block::Chart(c) => {
                    chart(&mut pages, &c.svg)?;
                    pages.text(
                        &c.caption,
                        8.5,
                        Weight::Regular,
                        MUTED,
                        MARGIN,
                        CONTENT_WIDTH,
                    );
                    pages.gap(8.0);
                }
            }
        }
    }
    // The reading guide closes the report, after the results.
    pages.reserve(120.0);
    pages.gap(14.0);
    pages.text(
        GUIDE_HEADING,
        12.5,
        Weight::Bold,
        INK,
        MARGIN,
        CONTENT_WIDTH,
    );
    pages.gap(2.0);
    for paragraph in &report.guide {
        pages.text(paragraph, BODY, Weight::Regular, INK, MARGIN, CONTENT_WIDTH);
        pages.gap(4.0);
    }
    Ok(pages)
}

/// The fonts charts are drawn with: only the bundled ones, never the
/// system's, so the PDF looks the same on every machine.
fn chart_fonts() -> Arc<usvg::fontdb::Database> {
    static FONTS: OnceLock<Arc<usvg::fontdb::Database>> = OnceLock::new();
    FONTS
        .get_or_init(|| {
            let mut db = usvg::fontdb::Database::new();
            db.load_font_data(fonts::REGULAR.to_vec());
            db.load_font_data(fonts::BOLD.to_vec());
            db.set_sans_serif_family("DejaVu Sans");
            Arc::new(db)
        })
        .clone()
}

/// The scale a chart is placed at, filling the content width but never
/// taller than a page, and its height on the page.
fn chart_scale(svg: &Svg) -> (f32, f32) {
    let (width, height) = (svg.width as f32, svg.height as f32);
    let scale = (CONTENT_WIDTH / width).min((CONTENT_BOTTOM - MARGIN) / height);
    (scale, height * scale)
}

fn chart(pages: &mut Pages, svg: &Svg) -> Result<()> {
    let options = usvg::Options {
        fontdb: chart_fonts(),
        font_family: "DejaVu Sans".into(),
        ..Default::default()
    };
    let tree = usvg::Tree::from_str(&svg.markup, &options)
        .map_err(|e| anyhow!("a chart's SVG does not parse: {e}"))?;
    let (scale, height) = chart_scale(svg);
    pages.reserve(height);
    pages.place(Placed::Chart {
        x: MARGIN,
        y: pages.y,
        scale,
        chart: Box::new(tree),
    });
    pages.gap(height + 2.0);
    Ok(())
}

fn table(pages: &mut Pages, table: &Table) {
    let widths = column_widths(table);
    let header_cells: Vec<(String, Weight)> = table
        .columns
        .iter()
        .map(|c| (c.clone(), Weight::Bold))
        .collect();
    let draw_header = |pages: &mut Pages| {
        row(
            pages,
            &widths,
            &table.numeric,
            &header_cells,
            RowLook::Header,
        )
    };
    draw_header(pages);
    for r in &table.rows {
        let cells: Vec<(String, Weight)> = r
            .cells
            .iter()
            .map(|c| (c.clone(), Weight::Regular))
            .collect();
        let height = row_height(&widths, &cells);
        if pages.y + height > CONTENT_BOTTOM {
            pages.new_page();
            draw_header(pages);
        }
        let look = if r.notable {
            RowLook::Notable
        } else if r.muted {
            RowLook::Muted
        } else {
            RowLook::Plain
        };
        row(pages, &widths, &table.numeric, &cells, look);
    }
}

fn row_height(widths: &[f32], cells: &[(String, Weight)]) -> f32 {
    let lines = cells
        .iter()
        .zip(widths)
        .map(|((text, weight), w)| wrap(text, TABLE_TEXT, *weight, w - 2.0 * CELL_PADDING).len())
        .max()
        .unwrap_or(1);
    lines as f32 * TABLE_TEXT * 1.35 + 2.0 * CELL_PADDING
}

/// How a table row is drawn.
#[derive(Clone, Copy, PartialEq)]
enum RowLook {
    /// The header: shaded, bold.
    Header,
    /// A row with nothing to point out.
    Plain,
    /// A highlighted row: shaded; its numbers bold in the alert colour,
    /// its text in ink (as the HTML page draws it).
    Notable,
    /// Something not computed: grey text.
    Muted,
}

/// One table row. Numeric columns are right-aligned, so signs and
/// decimals line up; other cells start at the cell's left edge.
fn row(
    pages: &mut Pages,
    widths: &[f32],
    numeric: &[bool],
    cells: &[(String, Weight)],
    look: RowLook,
) {
    let background = match look {
        RowLook::Header => Some(HEADER_BG),
        RowLook::Notable => Some(ALERT_BG),
        RowLook::Plain | RowLook::Muted => None,
    };
    let height = row_height(widths, cells);
    pages.reserve(height);
    let top = pages.y;
    if let Some(colour) = background {
        pages.place(Placed::Box {
            x: MARGIN,
            y: top,
            width: CONTENT_WIDTH,
            height,
            colour,
        });
    }
    let mut x = MARGIN;
    for (column, ((text, weight), width)) in cells.iter().zip(widths).enumerate() {
        let is_number = numeric.get(column).copied().unwrap_or(false);
        let (colour, weight) = match look {
            RowLook::Notable if is_number => (ALERT, Weight::Bold),
            RowLook::Muted => (MUTED, *weight),
            _ => (INK, *weight),
        };
        let lines = wrap(text, TABLE_TEXT, weight, width - 2.0 * CELL_PADDING);
        for (i, line) in lines.into_iter().enumerate() {
            let y = top + CELL_PADDING + TABLE_TEXT * (1.0 + 1.35 * i as f32);
            let left = if is_number {
                let used = text_width(&line, TABLE_TEXT as f64, weight) as f32;
                x + width - CELL_PADDING - used
            } else {
                x + CELL_PADDING
            };
            pages.place(Placed::Text {
                x: left,
                y,
                size: TABLE_TEXT,
                weight,
                colour,
                text: line,
            });
        }
        x += width;
    }
    pages.place(Placed::Box {
        x: MARGIN,
        y: top + height - 0.5,
        width: CONTENT_WIDTH,
        height: 0.5,
        colour: RULE,
    });
    pages.y = top + height;
}

/// Column widths filling the content width: each column wants its longest
/// cell; when they do not all fit, short columns keep their width and the
/// long ones share the rest in proportion, wrapping their text.
fn column_widths(table: &Table) -> Vec<f32> {
    let measure = |text: &str, weight| {
        text_width(text, TABLE_TEXT as f64, weight) as f32 + 2.0 * CELL_PADDING + 1.0
    };
    let wanted: Vec<f32> = (0..table.columns.len())
        .map(|c| {
            let header = measure(&table.columns[c], Weight::Bold);
            table
                .rows
                .iter()
                .filter_map(|r| r.cells.get(c))
                .map(|t| measure(t, Weight::Regular))
                .fold(header, f32::max)
        })
        .collect();
    let total: f32 = wanted.iter().sum();
    if total <= CONTENT_WIDTH {
        let stretch = CONTENT_WIDTH / total;
        return wanted.iter().map(|w| w * stretch).collect();
    }
    let fair = CONTENT_WIDTH / wanted.len() as f32;
    let fixed: f32 = wanted.iter().filter(|w| **w <= fair).sum();
    let flexible: f32 = wanted.iter().filter(|w| **w > fair).sum();
    wanted
        .iter()
        .map(|w| {
            if *w <= fair {
                *w
            } else {
                w / flexible * (CONTENT_WIDTH - fixed)
            }
        })
        .collect()
}

/// Breaks `text` into lines no wider than `width`, between words where
/// possible and inside a word only when it alone is too wide.
fn wrap(text: &str, size: f32, weight: Weight, width: f32) -> Vec<String> {
    let fits = |s: &str| text_width(s, size as f64, weight) as f32 <= width;
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let candidate = if line.is_empty() {
            word.to_string()
        } else {
            format!("{line} {word}")
        };
        if fits(&candidate) {
            line = candidate;
            continue;
        }
        if !line.is_empty() {
            lines.push(std::mem::take(&mut line));
        }
        for c in word.chars() {
            line.push(c);
            if !fits(&line) && line.chars().count() > 1 {
                line.pop();
                lines.push(std::mem::replace(&mut line, c.to_string()));
            }
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::document::Row;

    #[test]
    fn wrapping_breaks_between_words_and_inside_overlong_ones() {
        let lines = wrap(
            "the quick brown fox jumps over the lazy dog",
            10.0,
            Weight::Regular,
            80.0,
        );
        assert!(lines.len() > 1);
        assert!(lines
            .iter()
            .all(|l| text_width(l, 10.0, Weight::Regular) <= 80.0));
        assert_eq!(
            lines.join(" "),
            "the quick brown fox jumps over the lazy dog"
        );
        let long = wrap(&"x".repeat(100), 10.0, Weight::Regular, 50.0);
        assert!(long.len() > 1 && long.concat() == "x".repeat(100));
        assert_eq!(wrap("", 10.0, Weight::Regular, 50.0), [""]);
    }

    #[test]
    fn long_tables_continue_on_new_pages_with_their_header() {
        let rows = (0..200)
            .map(|i| Row {
                cells: vec![format!("row {i}"), "1".into()],
                notable: false,
                muted: false,
            })
            .collect();
        let t = Table {
            columns: vec!["Name".into(), "Value".into()],
            numeric: vec![false, true],
            rows,
            source: String::new(),
        };
        let mut pages = Pages::new();
        table(&mut pages, &t);
        assert!(pages.pages.len() > 1);
        for page in &pages.pages {
            let first_text = page.iter().find_map(|p| match p {
                Placed::Text { text, .. } => Some(text.as_str()),
                _ => None,
            });
            assert_eq!(first_text, Some("Name"));
            assert!(page
                .iter()
                .all(|p| !matches!(p, Placed::Text { y, .. } if *y > CONTENT_BOTTOM)));
        }
    }

    #[test]
    fn column_widths_fill_the_page() {
        let t = Table {
            columns: vec!["A".into(), "B".into()],
            numeric: vec![false, false],
            rows: vec![Row {
                cells: vec!["short".into(), "long ".repeat(100)],
                notable: false,
                muted: false,
            }],
            source: String::new(),
        };
        let widths = column_widths(&t);
        assert!((widths.iter().sum::<f32>() - CONTENT_WIDTH).abs() < 0.01);
        assert!(widths[0] < widths[1]);
    }
}
