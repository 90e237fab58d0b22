//! The charts of single records' SHAP values: the beeswarm (one dot per
//! record and feature, coloured by the feature's value) and the waterfall
//! of one record (from the expected value, feature by feature, to its
//! score). They use the drawing primitives of [`super::charts`].

use super::charts::{
    Anchor, Axis, Canvas, Frame, Svg, AXIS_TITLE_ROOM, FONT, INK, MUTED, PALETTE, SMALL, WIDTH,
};
use super::fonts::{text_width, Weight};
use super::format_number;

/// Colour of the lowest feature values and of SHAP values that lower the
/// score (shap's blue); blue against red stays apart with the common
/// colour-vision deficiencies.
pub const LOW: (u8, u8, u8) = (0x00, 0x8b, 0xfb);
/// Colour of the highest feature values and of SHAP values that raise the
/// score (shap's red).
pub const HIGH: (u8, u8, u8) = (0xff, 0x00, 0x51);
/// Dots whose feature value is unknown, and categories past the palette.
const UNKNOWN: &str = "#bbbbbb";
/// Categories given a colour of their own; the rest share grey.
pub const NAMED_CATEGORIES: usize = 5;

/// How one dot is coloured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Shade {
    /// A numeric feature's value as its rank among the records drawn, from
    /// 0 (lowest) to 1 (highest).
    Level(f64),
    /// A categorical feature's value: the index of its category in the
    /// row's legend (indices from [`NAMED_CATEGORIES`] on are "other").
    Category(usize),
    /// The feature value is not known.
    Unknown,
}

/// One feature's row of a beeswarm.
#[derive(Debug, Clone)]
pub struct SwarmRow {
    /// The feature's name as shown.
    pub label: String,
    /// (SHAP value, colour) per record.
    pub points: Vec<(f64, Shade)>,
    /// For a categorical feature: its categories, most frequent first,
    /// for the legend; empty for numeric features.
    pub categories: Vec<String>,
}

/// `t` (0 to 1) on the scale from [`LOW`] to [`HIGH`], as `#rrggbb`.
fn level_colour(t: f64) -> String {
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.5
    };
    let mix = |a: u8, b: u8| (f64::from(a) + (f64::from(b) - f64::from(a)) * t).round() as u8;
    format!(
        "#{:02x}{:02x}{:02x}",
        mix(LOW.0, HIGH.0),
        mix(LOW.1, HIGH.1),
        mix(LOW.2, HIGH.2)
    )
}

fn hex((r, g, b): (u8, u8, u8)) -> String {
    format!("#{r:02x}{g:02x}{b:02x}")
}

fn shade_colour(shade: Shade) -> String {
    match shade {
        Shade::Level(t) => level_colour(t),
        Shade::Category(i) if i < NAMED_CATEGORIES => PALETTE[i % PALETTE.len()].to_string(),
        Shade::Category(_) | Shade::Unknown => UNKNOWN.to_string(),
    }
}

/// Vertical offsets that keep dots of one row from covering each other:
/// in order of x, each dot takes the first free slot of 0, +d, -d, +2d, …
/// (shap's layout), within `limit` of the row's middle.
fn swarm_offsets(xs: &[f64], radius: f64, limit: f64) -> Vec<f64> {
    let mut order: Vec<usize> = (0..xs.len()).collect();
    order.sort_by(|a, b| xs[*a].total_cmp(&xs[*b]));
    let step = radius * 1.8;
    let slots = (limit / step).floor().max(0.0) as i64;
    let candidates: Vec<f64> = (0..=slots)
        .flat_map(|k| [k as f64 * step, -(k as f64) * step])
        .skip(1)
        .collect();
    let mut offsets = vec![0.0; xs.len()];
    let mut placed: Vec<(f64, f64)> = Vec::new();
    for i in order {
        let x = xs[i];
        // Only dots within one diameter to the left can collide.
        let near: Vec<f64> = placed
            .iter()
            .rev()
            .take_while(|(px, _)| x - px < 2.0 * radius)
            .map(|(_, y)| *y)
            .collect();
        let free = candidates
            .iter()
            .find(|y| near.iter().all(|ny| (*ny - **y).abs() >= step))
            // A full column: overlap at the slot with the fewest neighbours.
            .or_else(|| {
                candidates
                    .iter()
                    .min_by_key(|y| near.iter().filter(|ny| (**ny - **y).abs() < step).count())
            })
            .copied()
            .unwrap_or(0.0);
        offsets[i] = free;
        placed.push((x, free));
    }
    offsets
}

/// One row per feature, one dot per record at its SHAP value, coloured by
/// the record's value of the feature: numeric features from blue (low) to
/// red (high), categorical ones a colour per category, named in a legend
/// under the chart. `value_title` names the value axis.
pub fn beeswarm(title: &str, rows: &[SwarmRow], value_title: &str) -> Svg {
    const ROW: f64 = 30.0;
    const RADIUS: f64 = 2.4;
    const LEGEND_LINE: f64 = 18.0;
    let top = 30.0;
    let labels: Vec<String> = rows.iter().map(|r| r.label.clone()).collect();
    let plot = Frame::for_labels(&labels, top, ROW * rows.len() as f64);
    let axis = Axis::fit(
        rows.iter()
            .flat_map(|r| r.points.iter().map(|(v, _)| *v))
            .chain([0.0]),
    );
    let categorical: Vec<&SwarmRow> = rows.iter().filter(|r| !r.categories.is_empty()).collect();
    let legend_top = plot.bottom + AXIS_TITLE_ROOM;
    let height = legend_top + LEGEND_LINE * categorical.len() as f64 + 6.0;
    let mut canvas = Canvas::new(WIDTH, height, title);
    scale_legend(&mut canvas, plot.right, 14.0);
    plot.x_grid(&mut canvas, &axis);
    plot.axis_title(&mut canvas, value_title);
    plot.zero_line(&mut canvas, &axis);
    for (i, row) in rows.iter().enumerate() {
        let middle = top + ROW * i as f64 + ROW / 2.0;
        canvas.open_group(&format!("{}: {} records", row.label, row.points.len()));
        plot.row_label(&mut canvas, &row.label, middle);
        let xs: Vec<f64> = row.points.iter().map(|(v, _)| plot.x(&axis, *v)).collect();
        let offsets = swarm_offsets(&xs, RADIUS, ROW / 2.0 - RADIUS);
        for ((x, offset), (_, shade)) in xs.iter().zip(offsets).zip(&row.points) {
            canvas.circle(*x, middle + offset, RADIUS, &shade_colour(*shade));
        }
        canvas.close_group();
    }
    for (i, row) in categorical.iter().enumerate() {
        let y = legend_top + LEGEND_LINE * i as f64 + 12.0;
        category_legend(&mut canvas, row, y);
    }
    canvas.finish()
}

/// "feature value: low ▮▮▮▮ high", right-aligned at `right`.
fn scale_legend(canvas: &mut Canvas, right: f64, y: f64) {
    const STEPS: usize = 10;
    const STEP: f64 = 8.0;
    let high_width = text_width("high", SMALL, Weight::Regular);
    let bar_right = right - high_width - 4.0;
    let bar_left = bar_right - STEP * STEPS as f64;
    canvas.text(
        right,
        y + 4.0,
        "high",
        SMALL,
        Anchor::End,
        MUTED,
        Weight::Regular,
    );
    for s in 0..STEPS {
        let colour = level_colour(s as f64 / (STEPS - 1) as f64);
        canvas.rect(bar_left + STEP * s as f64, y - 5.0, STEP, 10.0, &colour);
    }
    canvas.text(
        bar_left - 4.0,
        y + 4.0,
        "numeric feature value: low",
        SMALL,
        Anchor::End,
        MUTED,
        Weight::Regular,
    );
}

/// "purpose: ● car ● radio/tv … ● other" on one line at `y`.
fn category_legend(canvas: &mut Canvas, row: &SwarmRow, y: f64) {
    let mut x = 8.0;
    let head = format!("{}:", row.label);
    canvas.text(x, y, &head, SMALL, Anchor::Start, INK, Weight::Regular);
    x += text_width(&head, SMALL, Weight::Regular) + 8.0;
    let mut entries: Vec<(String, Shade)> = row
        .categories
        .iter()
        .take(NAMED_CATEGORIES)
        .enumerate()
        .map(|(i, c)| (c.clone(), Shade::Category(i)))
        .collect();
    if row.categories.len() > NAMED_CATEGORIES {
        entries.push(("other".into(), Shade::Category(NAMED_CATEGORIES)));
    }
    for (name, shade) in entries {
        let width = text_width(&name, SMALL, Weight::Regular);
        if x + 10.0 + width > WIDTH - 4.0 {
            canvas.text(x, y, "…", SMALL, Anchor::Start, MUTED, Weight::Regular);
            break;
        }
        canvas.circle(x + 3.0, y - 4.0, 3.5, &shade_colour(shade));
        canvas.text(
            x + 10.0,
            y,
            &name,
            SMALL,
            Anchor::Start,
            MUTED,
            Weight::Regular,
        );
        x += 10.0 + width + 12.0;
    }
}

/// One record's score built up from `start` (the expected value): one row
/// per step (a feature and its SHAP value, largest first), each bar
/// running from the running total before it to the total after it; red
/// raises the score, blue lowers it. Dashed lines mark the expected value
/// and the record's score, titled `(start_label, end_label)`.
pub fn waterfall(
    title: &str,
    start: f64,
    steps: &[(String, f64)],
    value_title: &str,
    (start_label, end_label): (&str, &str),
) -> Svg {
    const ROW: f64 = 24.0;
    let top = 34.0;
    let labels: Vec<String> = steps.iter().map(|(l, _)| l.clone()).collect();
    let plot = Frame::for_labels(&labels, top, ROW * steps.len() as f64);
    let totals: Vec<f64> = steps
        .iter()
        .scan(start, |total, (_, v)| {
            *total += v;
            Some(*total)
        })
        .collect();
    let end = totals.last().copied().unwrap_or(start);
    let axis = Axis::fit(totals.iter().copied().chain([start]));
    let mut canvas = Canvas::new(WIDTH, plot.bottom + AXIS_TITLE_ROOM, title);
    plot.x_grid(&mut canvas, &axis);
    plot.axis_title(&mut canvas, value_title);
    let (start_x, end_x) = (plot.x(&axis, start), plot.x(&axis, end));
    canvas.dashed_line(start_x, top - 4.0, start_x, plot.bottom, MUTED);
    canvas.dashed_line(end_x, top - 16.0, end_x, plot.bottom, INK);
    // The two marks' labels, pushed apart when the lines are close.
    let start_text = format!("{start_label} {}", format_number(start));
    let end_text = format!("{end_label} {}", format_number(end));
    let (start_anchor, mut end_anchor) = if end >= start {
        (Anchor::End, Anchor::Start)
    } else {
        (Anchor::Start, Anchor::End)
    };
    // A score at the right end of the axis would run its label off the
    // canvas (and one at the left end, off its left side): turn it inwards.
    let end_width = text_width(&end_text, FONT, Weight::Bold);
    if matches!(end_anchor, Anchor::Start) && end_x + end_width > WIDTH {
        end_anchor = Anchor::End;
    } else if matches!(end_anchor, Anchor::End) && end_x - end_width < 0.0 {
        end_anchor = Anchor::Start;
    }
    canvas.text(
        start_x,
        top - 8.0,
        &start_text,
        SMALL,
        start_anchor,
        MUTED,
        Weight::Regular,
    );
    canvas.text(
        end_x,
        top - 20.0,
        &end_text,
        FONT,
        end_anchor,
        INK,
        Weight::Bold,
    );
    let mut before = start;
    for (i, ((label, value), after)) in steps.iter().zip(&totals).enumerate() {
        let middle = top + ROW * i as f64 + ROW / 2.0;
        let (from, to) = (plot.x(&axis, before), plot.x(&axis, *after));
        canvas.open_group(&format!("{label}: {}", signed(*value)));
        plot.row_label(&mut canvas, label, middle);
        let colour = hex(if *value >= 0.0 { HIGH } else { LOW });
        canvas.rect(
            from.min(to),
            middle - 7.0,
            (to - from).abs().max(1.0),
            14.0,
            &colour,
        );
        let (x, anchor) = if *value >= 0.0 {
            (from.max(to) + 3.0, Anchor::Start)
        } else {
            (from.min(to) - 3.0, Anchor::End)
        };
        canvas.text(
            x,
            middle + 4.0,
            &signed(*value),
            SMALL,
            anchor,
            INK,
            Weight::Regular,
        );
        canvas.close_group();
        before = *after;
    }
    canvas.finish()
}

/// A SHAP value with its sign, e.g. `+0.052` or `-0.013`.
pub fn signed(value: f64) -> String {
    let text = format_number(value);
    if value > 0.0 && !text.starts_with('<') {
        format!("+{text}")
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dots_at_the_same_value_spread_out_without_overlapping() {
        let offsets = swarm_offsets(&[100.0, 100.0, 100.0, 300.0], 2.0, 12.0);
        assert_eq!(offsets[0], 0.0);
        assert_eq!(offsets[3], 0.0, "a dot far away stays on the middle line");
        let step = 2.0 * 1.8;
        assert!((offsets[1] - step).abs() < 1e-9 && (offsets[2] + step).abs() < 1e-9);
    }

    #[test]
    fn the_scale_runs_from_blue_to_red() {
        assert_eq!(level_colour(0.0), hex(LOW));
        assert_eq!(level_colour(1.0), hex(HIGH));
        assert_eq!(level_colour(0.5), "#8046a6");
    }

    #[test]
    fn a_waterfall_ends_at_the_expected_value_plus_every_step() {
        let steps = [("a = 1".to_string(), 0.2), ("b = x".to_string(), -0.05)];
        let svg = waterfall("t", 0.5, &steps, "score", ("expected value", "score")).markup;
        assert!(svg.contains(">expected value 0.5<") && svg.contains(">score 0.65<"));
        assert!(svg.contains(">+0.2<") && svg.contains(">-0.05<"));
        assert!(svg.contains(&hex(HIGH)) && svg.contains(&hex(LOW)));
    }

    #[test]
    fn categorical_rows_get_a_legend_line() {
        let rows = [SwarmRow {
            label: "purpose".into(),
            points: vec![(0.1, Shade::Category(0)), (-0.1, Shade::Category(6))],
            categories: (0..7).map(|i| format!("c{i}")).collect(),
        }];
        let svg = beeswarm("t", &rows, "SHAP value").markup;
        assert!(svg.contains(">purpose:<") && svg.contains(">c4<") && !svg.contains(">c5<"));
        assert!(svg.contains(">other<") && svg.contains(UNKNOWN));
        assert_eq!(svg.matches("<circle").count(), 2 + NAMED_CATEGORIES + 1);
    }
}
