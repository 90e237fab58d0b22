//! The report's charts, as self-contained SVG.
//!
//! Length (about 980 lines, 140 of them tests): every chart shares the same
//! few drawing primitives, scales and text measurement here, so they stay
//! in one file rather than one file per chart importing all of them.
//!
//! SVG is drawn here rather than with a plotting crate: the charts are few
//! and simple, the diverging bias bars need a per-row scale and fairness
//! bands no plotting crate draws as such, and plotters (the usual choice)
//! needs a font backend to lay out text. Writing the SVG directly keeps the
//! output deterministic, free of fonts and scripts, and small enough to
//! embed in all three formats. Every chart has a `<title>` for screen
//! readers and scales to its container (`viewBox`, no fixed size in CSS).

use super::fonts::{self, text_width, Weight};
use super::format_number;
use super::guide::{family, MetricGuide, Scale};
use serde::Serialize;
use std::fmt::Write;

/// A finished chart: SVG markup and its natural size in CSS pixels.
#[derive(Debug, Clone, Serialize)]
pub struct Svg {
    /// The `<svg>` element.
    pub markup: String,
    /// Natural width.
    pub width: f64,
    /// Natural height.
    pub height: f64,
}

/// Values drawn in one colour, e.g. the predictions for one model output.
#[derive(Debug, Clone, Copy)]
pub struct Series<'a> {
    /// Legend text.
    pub name: &'a str,
    /// One value per category or x position.
    pub values: &'a [f64],
}

/// One row of a bias chart.
#[derive(Debug, Clone)]
pub struct BiasBar<'a> {
    /// Metric code, e.g. `DPL`.
    pub name: &'a str,
    /// The value, or the metric's error message. NaN means "no value".
    pub value: Result<f64, &'a str>,
    /// How to read the metric; `None` for a metric openclarify does not know.
    pub guide: Option<MetricGuide>,
}

/// The five numbers a box plot draws.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quantiles {
    /// 5th percentile (left whisker).
    pub p05: f64,
    /// First quartile (box start).
    pub q1: f64,
    /// Median (line in the box).
    pub median: f64,
    /// Third quartile (box end).
    pub q3: f64,
    /// 95th percentile (right whisker).
    pub p95: f64,
}

/// Okabe–Ito colours: distinguishable with the common colour-vision
/// deficiencies and in greyscale print.
pub(super) const PALETTE: &[&str] = &[
    "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00",
];
pub(super) const CALM: &str = "#0072B2";
/// Bars of metrics with no rule-of-thumb band.
const NO_BAND: &str = "#999999";
pub(super) const ALERT: &str = "#D55E00";
const BAND: &str = "#d9f0d3";
pub(super) const INK: &str = "#222222";
pub(super) const MUTED: &str = "#666666";
pub(super) const GRID: &str = "#dddddd";

pub(super) const WIDTH: f64 = 640.0;
/// Room under a plot for its tick labels and axis title.
pub(super) const AXIS_TITLE_ROOM: f64 = 44.0;
pub(super) const FONT: f64 = 12.0;
pub(super) const SMALL: f64 = 11.0;
/// Size of the numbers at the ends of a bias chart row. No chart text is
/// under 11 units, so a chart drawn at its own size (as phones show it,
/// scrolling sideways) stays readable.
const END_LABEL: f64 = 11.0;
/// Labels longer than this are shortened with an ellipsis (the full text
/// stays in the row's tooltip and in the tables).
const LABEL_MAX: f64 = 190.0;

/// Diverging bars around parity, one row per metric: each row has its own
/// scale (differences span -1..1, DI a log scale around 1), so the neutral
/// line is shared and a long bar always means a large imbalance. The
/// rule-of-thumb band is shaded; bars outside it are drawn in the alert
/// colour. Negative differences extend left of the line, positive right.
pub fn bias_chart(title: &str, rows: &[BiasBar]) -> Svg {
    const ROW: f64 = 26.0;
    const TOP: f64 = 30.0;
    const VALUE_COLUMN: f64 = 76.0;
    let label_width = rows
        .iter()
        .map(|r| text_width(r.name, FONT, Weight::Bold))
        .fold(40.0, f64::max)
        + 14.0;
    // Each row's scale, and room beside the track for its end labels.
    let scales: Vec<(Scale, Option<f64>, f64)> = rows
        .iter()
        .map(|row| {
            let scale = row
                .guide
                .map_or(Scale::Difference { bound: None }, |g| g.scale);
            let number = row.value.ok().filter(|v| !v.is_nan());
            (scale, number, half_range(scale, number.unwrap_or(0.0)))
        })
        .collect();
    let end_label_width = scales
        .iter()
        .flat_map(|(scale, _, half_range)| {
            let (left, right) = end_labels(*scale, *half_range);
            [left, right]
        })
        .map(|label| text_width(&label, END_LABEL, Weight::Regular))
        .fold(0.0, f64::max)
        + 6.0;
    let track_left = label_width + 4.0 + end_label_width;
    let track_right = WIDTH - VALUE_COLUMN - end_label_width;
    let centre = (track_left + track_right) / 2.0;
    let half = (track_right - track_left) / 2.0;
    let height = TOP + ROW * rows.len() as f64 + 12.0;
    let mut canvas = Canvas::new(WIDTH, height, title);
    canvas.text(
        centre,
        14.0,
        "parity",
        SMALL,
        Anchor::Middle,
        MUTED,
        Weight::Regular,
    );
    for (i, (row, &(scale, number, half_range))) in rows.iter().zip(&scales).enumerate() {
        let top = TOP + ROW * i as f64;
        let middle = top + ROW / 2.0;
        let x = |value: f64| centre + half * position(scale, value, half_range).0;
        if i > 0 && family(row.name).0 != family(rows[i - 1].name).0 {
            // A rule between kinds of metric (selection rates, error rates…).
            canvas.line(8.0, top, WIDTH - 4.0, top, MUTED, 0.5);
        }
        canvas.open_group(&row_tooltip(row));
        canvas.text(
            label_width,
            middle + 4.0,
            row.name,
            FONT,
            Anchor::End,
            INK,
            Weight::Bold,
        );
        if let Some((low, high)) = row.guide.and_then(|g| g.band) {
            canvas.rect(x(low), top + 3.0, x(high) - x(low), ROW - 6.0, BAND);
        }
        canvas.line(track_left, middle, track_right, middle, GRID, 1.0);
        let (left_end, right_end) = end_labels(scale, half_range);
        canvas.text(
            track_left - 3.0,
            middle + 3.5,
            &left_end,
            END_LABEL,
            Anchor::End,
            MUTED,
            Weight::Regular,
        );
        canvas.text(
            track_right + 3.0,
            middle + 3.5,
            &right_end,
            END_LABEL,
            Anchor::Start,
            MUTED,
            Weight::Regular,
        );
        let value_x = WIDTH - 4.0;
        match (row.value, number) {
            (Err(_), _) => {
                // Not a finding: neutral grey, the reason is in the section.
                canvas.text(
                    centre + 6.0,
                    middle + 4.0,
                    "not computed (reason above the charts)",
                    SMALL,
                    Anchor::Start,
                    MUTED,
                    Weight::Regular,
                );
                canvas.text(
                    value_x,
                    middle + 4.0,
                    "—",
                    FONT,
                    Anchor::End,
                    MUTED,
                    Weight::Regular,
                );
            }
            (Ok(_), None) => {
                canvas.text(
                    value_x,
                    middle + 4.0,
                    "n/a",
                    FONT,
                    Anchor::End,
                    MUTED,
                    Weight::Regular,
                );
            }
            (Ok(_), Some(value)) => {
                let (offset, clipped) = position(scale, value, half_range);
                let end = centre + half * offset;
                let notable = row.guide.is_some_and(|g| g.is_notable(value));
                // Metrics without a band are neither passing nor failing.
                let colour = match row.guide.and_then(|g| g.band) {
                    _ if notable => ALERT,
                    Some(_) => CALM,
                    None => NO_BAND,
                };
                canvas.rect(
                    centre.min(end),
                    middle - 6.0,
                    (end - centre).abs(),
                    12.0,
                    colour,
                );
                if clipped {
                    // An arrow head past the track end: the value is off the scale.
                    let tip = end + 7.0 * offset.signum();
                    canvas.polygon(
                        &[(end, middle - 6.0), (tip, middle), (end, middle + 6.0)],
                        colour,
                    );
                }
                let weight = if notable {
                    Weight::Bold
                } else {
                    Weight::Regular
                };
                canvas.text(
                    value_x,
                    middle + 4.0,
                    &format_number(value),
                    FONT,
                    Anchor::End,
                    INK,
                    weight,
                );
            }
        }
        canvas.close_group();
    }
    canvas.dashed_line(centre, TOP - 6.0, centre, height - 8.0, INK);
    canvas.finish()
}

fn row_tooltip(row: &BiasBar) -> String {
    let (value, meaning) = match (row.value, row.guide) {
        (Ok(v), Some(g)) => (format_number(v), g.tells(v)),
        (Ok(v), None) => (format_number(v), String::new()),
        (Err(e), g) => (
            format!("error: {e}"),
            g.map_or_else(String::new, |g| g.meaning.to_string()),
        ),
    };
    match row.guide {
        Some(g) => format!("{} = {value} (range {}). {meaning}", row.name, g.range),
        None => format!("{} = {value}", row.name),
    }
}

/// How far the row's scale reaches on each side of parity, in the metric's
/// units (log₂ units for ratios). Unbounded metrics grow the scale to a
/// round number that fits the value.
fn half_range(scale: Scale, value: f64) -> f64 {
    let fit = |v: f64| nice_ceiling(if v.is_finite() { v.abs().max(1.0) } else { 1.0 });
    match scale {
        Scale::Difference { bound: Some(b) } | Scale::Distance { bound: Some(b) } => b,
        Scale::Difference { bound: None } | Scale::Distance { bound: None } => fit(value),
        // 1/4 to 4: wide enough for any DI worth reading; beyond it is clipped.
        Scale::Ratio => 2.0,
    }
}

/// Where `value` sits on a row as a fraction of the half track (-1 left
/// end, 0 parity, 1 right end), and whether it had to be clipped to fit.
fn position(scale: Scale, value: f64, half_range: f64) -> (f64, bool) {
    let distance = match scale {
        Scale::Ratio if value <= 0.0 => f64::NEG_INFINITY,
        Scale::Ratio => value.log2(),
        Scale::Difference { .. } | Scale::Distance { .. } => value,
    };
    let fraction = distance / half_range;
    (fraction.clamp(-1.0, 1.0), fraction.abs() > 1.0)
}

fn end_labels(scale: Scale, half_range: f64) -> (String, String) {
    match scale {
        Scale::Ratio => (
            format_number(half_range.exp2().recip()),
            format_number(half_range.exp2()),
        ),
        Scale::Distance { .. } => (String::new(), format_number(half_range)),
        Scale::Difference { .. } => (format_number(-half_range), format_number(half_range)),
    }
}

/// Horizontal bars, one group per category and one bar per series; used
/// for global SHAP values (sorted by the caller) and categorical PDPs.
/// `value_title` names the value axis and its unit.
pub fn bar_chart(title: &str, categories: &[String], series: &[Series], value_title: &str) -> Svg {
    bar_chart_with_errors(title, categories, series, &[], value_title)
}

/// A [`bar_chart`] whose bars carry ±1 standard error whiskers: `errors`
/// has, per series, one standard error per category (NaN: none), or is
/// empty when no series has them.
pub fn bar_chart_with_errors(
    title: &str,
    categories: &[String],
    series: &[Series],
    errors: &[Option<Vec<f64>>],
    value_title: &str,
) -> Svg {
    bars(title, categories, series, errors, value_title, &[])
}

/// A [`bar_chart`] whose value axis also reaches `span` (low, high), so that
/// charts drawn with the same span share one scale (categorical PDPs with
/// the numeric ones).
pub fn bar_chart_spanning(
    title: &str,
    categories: &[String],
    series: &[Series],
    value_title: &str,
    span: (f64, f64),
) -> Svg {
    let reach: Vec<f64> = [span.0, span.1]
        .into_iter()
        .filter(|v| v.is_finite())
        .collect();
    bars(title, categories, series, &[], value_title, &reach)
}

/// Horizontal bars with optional whiskers, on an axis that holds 0, every
/// bar (and whisker) and the values in `reach`.
fn bars(
    title: &str,
    categories: &[String],
    series: &[Series],
    errors: &[Option<Vec<f64>>],
    value_title: &str,
    reach: &[f64],
) -> Svg {
    let error = |s: usize, i: usize| {
        errors
            .get(s)
            .and_then(Option::as_ref)
            .and_then(|e| e.get(i).copied())
            .filter(|e| e.is_finite())
    };
    let bar = 14.0;
    let row = bar * series.len() as f64 + 8.0;
    let legend = legend_height(series);
    let top = legend + 8.0;
    let plot = Frame::for_labels(categories, top, row * categories.len() as f64);
    let values = series.iter().enumerate().flat_map(|(s, one)| {
        one.values.iter().enumerate().flat_map(move |(i, v)| {
            let e = error(s, i).unwrap_or(0.0);
            [v - e, v + e]
        })
    });
    let axis = Axis::fit(values.chain([0.0]).chain(reach.iter().copied()));
    let height = plot.bottom + AXIS_TITLE_ROOM;
    let mut canvas = Canvas::new(WIDTH, height, title);
    draw_legend(&mut canvas, series);
    plot.x_grid(&mut canvas, &axis);
    plot.axis_title(&mut canvas, value_title);
    for (i, category) in categories.iter().enumerate() {
        let group_top = top + row * i as f64 + 4.0;
        canvas.open_group(category);
        plot.row_label(&mut canvas, category, group_top + row / 2.0 - 4.0);
        for (s, one) in series.iter().enumerate() {
            let Some(&value) = one.values.get(i).filter(|v| v.is_finite()) else {
                continue;
            };
            let y = group_top + bar * s as f64;
            let (zero, end) = (plot.x(&axis, 0.0), plot.x(&axis, value));
            canvas.rect(
                zero.min(end),
                y,
                (end - zero).abs(),
                bar - 2.0,
                PALETTE[s % PALETTE.len()],
            );
            let mut tip = end;
            if let Some(e) = error(s, i) {
                let (low, high) = (plot.x(&axis, value - e), plot.x(&axis, value + e));
                let middle = y + (bar - 2.0) / 2.0;
                canvas.line(low, middle, high, middle, INK, 1.0);
                for cap in [low, high] {
                    canvas.line(cap, middle - 3.5, cap, middle + 3.5, INK, 1.0);
                }
                tip = if value < 0.0 { low } else { high };
            }
            let (label_x, anchor) = if value < 0.0 {
                (tip - 3.0, Anchor::End)
            } else {
                (tip + 3.0, Anchor::Start)
            };
            canvas.text(
                label_x,
                y + bar - 4.0,
                &format_number(value),
                SMALL,
                anchor,
                INK,
                Weight::Regular,
            );
        }
        canvas.close_group();
    }
    plot.zero_line(&mut canvas, &axis);
    canvas.finish()
}

/// One box per feature on a shared axis: the box spans the middle half of
/// the records, the line is the median, the whiskers reach the 5th and
/// 95th percentiles. `value_title` names the value axis.
pub fn box_plot(title: &str, rows: &[(String, Quantiles)], value_title: &str) -> Svg {
    let row = 24.0;
    let top = 10.0;
    let labels: Vec<String> = rows.iter().map(|(name, _)| name.clone()).collect();
    let plot = Frame::for_labels(&labels, top, row * rows.len() as f64);
    let axis = Axis::fit(rows.iter().flat_map(|(_, q)| [q.p05, q.p95]).chain([0.0]));
    let mut canvas = Canvas::new(WIDTH, plot.bottom + AXIS_TITLE_ROOM, title);
    plot.x_grid(&mut canvas, &axis);
    plot.axis_title(&mut canvas, value_title);
    for (i, (name, q)) in rows.iter().enumerate() {
        let middle = top + row * i as f64 + row / 2.0;
        let x = |v: f64| plot.x(&axis, v);
        canvas.open_group(&format!(
            "{name}: median {}, middle half {} to {}, 90% within {} to {}",
            format_number(q.median),
            format_number(q.q1),
            format_number(q.q3),
            format_number(q.p05),
            format_number(q.p95)
        ));
        plot.row_label(&mut canvas, name, middle);
        canvas.line(x(q.p05), middle, x(q.p95), middle, INK, 1.0);
        for whisker in [q.p05, q.p95] {
            canvas.line(x(whisker), middle - 4.0, x(whisker), middle + 4.0, INK, 1.0);
        }
        canvas.rect(
            x(q.q1),
            middle - 7.0,
            (x(q.q3) - x(q.q1)).max(1.0),
            14.0,
            "#9ecae1",
        );
        canvas.line(
            x(q.median),
            middle - 7.0,
            x(q.median),
            middle + 7.0,
            INK,
            2.0,
        );
        canvas.close_group();
    }
    plot.zero_line(&mut canvas, &axis);
    canvas.finish()
}

/// Lines of values over a numeric x, one per series, with the share of
/// records per x position as grey bars in a strip under the plot; the y
/// axis fits the data and is untitled.
pub fn line_chart(
    title: &str,
    x: &[f64],
    series: &[Series],
    share: Option<&[f64]>,
    x_label: &str,
) -> Svg {
    line_chart_on(title, x, series, share, (x_label, ""), (f64::NAN, f64::NAN))
}

/// Height of the strip that shows the share of records per x position.
const SHARE_STRIP: f64 = 48.0;

/// Lines of model predictions over a numeric feature, as [`line_chart`].
/// The y axis, titled `y_title`, spans at least `y_span` (NaN ends are
/// ignored), so plots given the same span share a scale and a small effect
/// looks small. The share of records sits in its own strip with its own
/// "% of records" scale, so it is never read against the y axis.
pub fn line_chart_on(
    title: &str,
    x: &[f64],
    series: &[Series],
    share: Option<&[f64]>,
    (x_label, y_title): (&str, &str),
    y_span: (f64, f64),
) -> Svg {
    let top = legend_height(series) + if y_title.is_empty() { 10.0 } else { 30.0 };
    let (left, right, bottom) = (62.0, WIDTH - 18.0, top + 210.0);
    let strip_top = bottom + 24.0;
    let axis_bottom = if share.is_some() {
        strip_top + SHARE_STRIP
    } else {
        bottom
    };
    let height = axis_bottom + 44.0;
    let x_axis = Axis::fit(x.iter().copied());
    let y_values = series.iter().flat_map(|s| s.values.iter().copied());
    // `fit` skips non-finite values, so a NaN span leaves the data's own.
    let y_axis = Axis::fit(y_values.chain([y_span.0, y_span.1]));
    let mut canvas = Canvas::new(WIDTH, height, title);
    canvas.text(
        8.0,
        top - 12.0,
        y_title,
        FONT,
        Anchor::Start,
        INK,
        Weight::Regular,
    );
    let px = |v: f64| left + (right - left) * x_axis.fraction(v);
    let py = |v: f64| bottom - (bottom - top) * y_axis.fraction(v);
    draw_legend(&mut canvas, series);
    for tick in &y_axis.ticks {
        canvas.line(left, py(*tick), right, py(*tick), GRID, 1.0);
        canvas.text(
            left - 5.0,
            py(*tick) + 3.5,
            &format_number(*tick),
            SMALL,
            Anchor::End,
            MUTED,
            Weight::Regular,
        );
    }
    for tick in &x_axis.ticks {
        canvas.text(
            px(*tick),
            axis_bottom + 14.0,
            &format_number(*tick),
            SMALL,
            Anchor::Middle,
            MUTED,
            Weight::Regular,
        );
    }
    if let Some(share) = share {
        share_strip(&mut canvas, (left, right, strip_top), x, share, &px);
    }
    canvas.line(left, bottom, right, bottom, INK, 1.0);
    for (s, one) in series.iter().enumerate() {
        let colour = PALETTE[s % PALETTE.len()];
        let points: Vec<(f64, f64)> = x
            .iter()
            .zip(one.values)
            .filter(|(_, y)| y.is_finite())
            .map(|(xv, yv)| (px(*xv), py(*yv)))
            .collect();
        canvas.polyline(&points, colour);
        for (cx, cy) in points {
            canvas.circle(cx, cy, 2.5, colour);
        }
    }
    canvas.text(
        (left + right) / 2.0,
        axis_bottom + 32.0,
        x_label,
        FONT,
        Anchor::Middle,
        INK,
        Weight::Regular,
    );
    canvas.finish()
}

/// The share of records at each x position as bars in a strip starting at
/// `top`, on a "% of records" scale from 0 to a round share above the
/// largest.
fn share_strip(
    canvas: &mut Canvas,
    (left, right, top): (f64, f64, f64),
    x: &[f64],
    share: &[f64],
    px: &dyn Fn(f64) -> f64,
) {
    let tallest = share
        .iter()
        .copied()
        .filter(|s| s.is_finite())
        .fold(0.0, f64::max);
    let cap = nice_ceiling(tallest.max(0.01));
    let bottom = top + SHARE_STRIP;
    canvas.text(
        left,
        top - 6.0,
        "% of records",
        SMALL,
        Anchor::Start,
        MUTED,
        Weight::Regular,
    );
    for (value, y) in [(0.0, bottom), (cap, top)] {
        canvas.line(left, y, right, y, GRID, 1.0);
        canvas.text(
            left - 5.0,
            y + 3.5,
            &format!("{} %", format_number(value * 100.0)),
            SMALL,
            Anchor::End,
            MUTED,
            Weight::Regular,
        );
    }
    let step = (right - left) / x.len().max(1) as f64;
    for (xv, s) in x.iter().zip(share).filter(|(_, s)| s.is_finite()) {
        let h = SHARE_STRIP * s / cap;
        canvas.rect(px(*xv) - step * 0.4, bottom - h, step * 0.8, h, "#bdbdbd");
    }
}

fn legend_height(series: &[Series]) -> f64 {
    if series.len() > 1 {
        22.0
    } else {
        0.0
    }
}

fn draw_legend(canvas: &mut Canvas, series: &[Series]) {
    if series.len() < 2 {
        return;
    }
    let mut x = 8.0;
    for (s, one) in series.iter().enumerate() {
        canvas.rect(x, 6.0, 12.0, 12.0, PALETTE[s % PALETTE.len()]);
        canvas.text(
            x + 16.0,
            16.0,
            one.name,
            FONT,
            Anchor::Start,
            INK,
            Weight::Regular,
        );
        x += 16.0 + text_width(one.name, FONT, Weight::Regular) + 18.0;
    }
}

/// The horizontal layout shared by bar charts and box plots: a label
/// column sized to the longest label, then the plot area.
pub(super) struct Frame {
    label_width: f64,
    pub(super) left: f64,
    pub(super) right: f64,
    pub(super) top: f64,
    pub(super) bottom: f64,
}

impl Frame {
    pub(super) fn for_labels(labels: &[String], top: f64, rows_height: f64) -> Frame {
        let label_width = labels
            .iter()
            .map(|l| text_width(l, FONT, Weight::Regular))
            .fold(30.0, f64::max)
            .min(LABEL_MAX);
        Frame {
            label_width,
            left: label_width + 16.0,
            right: WIDTH - 48.0,
            top,
            bottom: top + rows_height,
        }
    }

    pub(super) fn x(&self, axis: &Axis, value: f64) -> f64 {
        self.left + (self.right - self.left) * axis.fraction(value)
    }

    pub(super) fn row_label(&self, canvas: &mut Canvas, label: &str, middle: f64) {
        let shown = shorten(label, self.label_width);
        canvas.text(
            self.label_width + 8.0,
            middle + 4.0,
            &shown,
            FONT,
            Anchor::End,
            INK,
            Weight::Regular,
        );
    }

    pub(super) fn x_grid(&self, canvas: &mut Canvas, axis: &Axis) {
        for tick in &axis.ticks {
            let x = self.x(axis, *tick);
            canvas.line(x, self.top, x, self.bottom, GRID, 1.0);
            canvas.text(
                x,
                self.bottom + 14.0,
                &format_number(*tick),
                SMALL,
                Anchor::Middle,
                MUTED,
                Weight::Regular,
            );
        }
    }

    pub(super) fn axis_title(&self, canvas: &mut Canvas, text: &str) {
        canvas.text(
            (self.left + self.right) / 2.0,
            self.bottom + 34.0,
            text,
            FONT,
            Anchor::Middle,
            INK,
            Weight::Regular,
        );
    }

    pub(super) fn zero_line(&self, canvas: &mut Canvas, axis: &Axis) {
        let x = self.x(axis, 0.0);
        canvas.line(x, self.top, x, self.bottom, INK, 1.0);
    }
}

/// `label` cut to fit `width` at the chart font, ending in an ellipsis.
fn shorten(label: &str, width: f64) -> String {
    if text_width(label, FONT, Weight::Regular) <= width {
        return label.to_string();
    }
    let mut shown = String::new();
    for c in label.chars() {
        if text_width(&shown, FONT, Weight::Regular)
            + text_width("…", FONT, Weight::Regular)
            + text_width(&c.to_string(), FONT, Weight::Regular)
            > width
        {
            break;
        }
        shown.push(c);
    }
    shown + "…"
}

/// A value axis with round tick marks covering the data.
pub(super) struct Axis {
    low: f64,
    high: f64,
    ticks: Vec<f64>,
}

impl Axis {
    /// An axis whose ticks (1, 2 or 5 times a power of ten apart, about
    /// five of them) enclose every finite value.
    pub(super) fn fit(values: impl Iterator<Item = f64>) -> Axis {
        let (mut low, mut high) = values
            .filter(|v| v.is_finite())
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
                (lo.min(v), hi.max(v))
            });
        if !low.is_finite() {
            (low, high) = (0.0, 1.0);
        }
        if high - low < 1e-12 {
            // A flat series still needs a visible span around its value.
            let pad = low.abs().max(1.0) * 0.1;
            (low, high) = (low - pad, high + pad);
        }
        let step = nice_ceiling((high - low) / 5.0);
        let first = (low / step).floor() * step;
        let last = (high / step).ceil() * step;
        let count = ((last - first) / step).round() as usize;
        // Multiplying (not accumulating) keeps ticks like 0.3 free of drift.
        let ticks = (0..=count).map(|i| first + step * i as f64).collect();
        Axis {
            low: first,
            high: last,
            ticks,
        }
    }

    fn fraction(&self, value: f64) -> f64 {
        (value - self.low) / (self.high - self.low)
    }
}

/// The smallest of 1, 2 or 5 times a power of ten that is at least `x`.
fn nice_ceiling(x: f64) -> f64 {
    let power = 10f64.powf(x.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * power)
        .find(|candidate| *candidate >= x * (1.0 - 1e-12))
        .unwrap_or(10.0 * power)
}

#[derive(Clone, Copy)]
pub(super) enum Anchor {
    Start,
    Middle,
    End,
}

/// Writes SVG elements into a string, escaping every text and attribute.
pub(super) struct Canvas {
    out: String,
    width: f64,
    height: f64,
}

impl Canvas {
    pub(super) fn new(width: f64, height: f64, title: &str) -> Canvas {
        let mut out = String::new();
        let _ = write!(
            out,
            r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height:.0}" width="{width}" height="{height:.0}" role="img" font-family="{}" font-size="{FONT}"><title>{}</title>"#,
            escape(fonts::FAMILY),
            escape(title)
        );
        Canvas { out, width, height }
    }

    pub(super) fn open_group(&mut self, tooltip: &str) {
        let _ = write!(self.out, "<g><title>{}</title>", escape(tooltip));
    }

    pub(super) fn close_group(&mut self) {
        self.out.push_str("</g>");
    }

    pub(super) fn rect(&mut self, x: f64, y: f64, width: f64, height: f64, fill: &str) {
        let _ = write!(
            self.out,
            r#"<rect x="{x:.1}" y="{y:.1}" width="{width:.1}" height="{height:.1}" fill="{fill}"/>"#
        );
    }

    pub(super) fn line(&mut self, x1: f64, y1: f64, x2: f64, y2: f64, stroke: &str, width: f64) {
        let _ = write!(
            self.out,
            r#"<line x1="{x1:.1}" y1="{y1:.1}" x2="{x2:.1}" y2="{y2:.1}" stroke="{stroke}" stroke-width="{width}"/>"#
        );
    }

    pub(super) fn dashed_line(&mut self, x1: f64, y1: f64, x2: f64, y2: f64, stroke: &str) {
        let _ = write!(
            self.out,
            r#"<line x1="{x1:.1}" y1="{y1:.1}" x2="{x2:.1}" y2="{y2:.1}" stroke="{stroke}" stroke-width="1" stroke-dasharray="3 3"/>"#
        );
    }

    fn polygon(&mut self, points: &[(f64, f64)], fill: &str) {
        let _ = write!(
            self.out,
            r#"<polygon points="{}" fill="{fill}"/>"#,
            point_list(points)
        );
    }

    pub(super) fn polyline(&mut self, points: &[(f64, f64)], stroke: &str) {
        let _ = write!(
            self.out,
            r#"<polyline points="{}" fill="none" stroke="{stroke}" stroke-width="2"/>"#,
            point_list(points)
        );
    }

    pub(super) fn circle(&mut self, cx: f64, cy: f64, r: f64, fill: &str) {
        let _ = write!(
            self.out,
            r#"<circle cx="{cx:.1}" cy="{cy:.1}" r="{r}" fill="{fill}"/>"#
        );
    }

    #[allow(clippy::too_many_arguments)] // a text is all of these at once
    pub(super) fn text(
        &mut self,
        x: f64,
        y: f64,
        text: &str,
        size: f64,
        anchor: Anchor,
        fill: &str,
        weight: Weight,
    ) {
        let anchor = match anchor {
            Anchor::Start => "start",
            Anchor::Middle => "middle",
            Anchor::End => "end",
        };
        let weight = match weight {
            Weight::Regular => "",
            Weight::Bold => r#" font-weight="bold""#,
        };
        let _ = write!(
            self.out,
            r#"<text x="{x:.1}" y="{y:.1}" font-size="{size}" text-anchor="{anchor}" fill="{fill}"{weight}>{}</text>"#,
            escape(text)
        );
    }

    pub(super) fn finish(mut self) -> Svg {
        self.out.push_str("</svg>");
        Svg {
            markup: self.out,
            width: self.width,
            height: self.height.round(),
        }
    }
}

fn point_list(points: &[(f64, f64)]) -> String {
    points
        .iter()
        .map(|(x, y)| format!("{x:.1},{y:.1}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Escapes text for SVG/XML content and double-quoted attributes.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::guide::metric_guide;

    fn bar(name: &str, value: f64) -> BiasBar<'_> {
        BiasBar {
            name,
            value: Ok(value),
            guide: metric_guide(name),
        }
    }

    /// The x of the first `<rect>` after the row title of metric `name`,
    /// skipping the band, i.e. the bar's left edge and width.
    fn bar_rect(svg: &str, name: &str) -> (f64, f64) {
        let row = svg
            .split("<g>")
            .find(|g| g.contains(&format!("<title>{name} =")))
            .unwrap();
        let rects: Vec<&str> = row.split("<rect ").skip(1).collect();
        let bar = rects.iter().find(|r| !r.contains(BAND)).unwrap();
        let attr = |key: &str| -> f64 {
            let start = bar.find(&format!("{key}=\"")).unwrap() + key.len() + 2;
            bar[start..].split('"').next().unwrap().parse().unwrap()
        };
        (attr("x"), attr("width"))
    }

    fn centre(svg: &str) -> f64 {
        let dashed = svg
            .split("<line ")
            .find(|l| l.contains("stroke-dasharray"))
            .unwrap();
        let start = dashed.find("x1=\"").unwrap() + 4;
        dashed[start..].split('"').next().unwrap().parse().unwrap()
    }

    #[test]
    fn negative_differences_go_left_of_parity_and_positive_right() {
        let svg = bias_chart("t", &[bar("DPL", -0.3), bar("CI", 0.5)]).markup;
        let parity = centre(&svg);
        let (x, width) = bar_rect(&svg, "DPL");
        assert!(
            x < parity && (x + width - parity).abs() < 0.11,
            "{x} {width} {parity}"
        );
        let (x, width) = bar_rect(&svg, "CI");
        assert!((x - parity).abs() < 0.11 && width > 0.0);
    }

    #[test]
    fn disparate_impact_diverges_around_one_on_a_log_scale() {
        let di = metric_guide("DI").unwrap().scale;
        let (below, _) = position(di, 0.5, half_range(di, 0.5));
        let (above, _) = position(di, 2.0, half_range(di, 2.0));
        assert!(below < 0.0 && (below + above).abs() < 1e-12);
        assert_eq!(position(di, 1.0, 2.0), (0.0, false));
        let svg = bias_chart("t", &[bar("DI", 0.5)]).markup;
        let (x, _) = bar_rect(&svg, "DI");
        assert!(x < centre(&svg));
    }

    #[test]
    fn values_outside_the_band_use_the_alert_colour_and_infinity_is_clipped() {
        let svg = bias_chart(
            "t",
            &[bar("DPPL", 0.05), bar("DI", 0.6), bar("TE", f64::INFINITY)],
        )
        .markup;
        let row = |name: &str| {
            svg.split("<g>")
                .find(|g| g.contains(&format!("<title>{name} =")))
                .unwrap()
                .to_string()
        };
        assert!(row("DPPL").contains(CALM) && !row("DPPL").contains(ALERT));
        assert!(row("DI").contains(ALERT));
        assert!(
            row("TE").contains("<polygon"),
            "an off-scale value gets an arrow head"
        );
        assert!(row("TE").contains(">inf<") || row("TE").contains(">∞<"));
        assert!(
            row("TE").contains(NO_BAND) && !row("TE").contains(CALM),
            "a metric without a band is neither passing nor failing"
        );
    }

    #[test]
    fn errors_show_in_grey_instead_of_a_bar() {
        let rows = [BiasBar {
            name: "CDDL",
            value: Err("Group variable is empty or not provided"),
            guide: metric_guide("CDDL"),
        }];
        let svg = bias_chart("t", &rows).markup;
        assert!(svg.contains(">not computed") && svg.contains("Group variable is empty"));
        assert!(
            !svg.contains(ALERT),
            "a metric not computed is not a finding"
        );
    }

    #[test]
    fn text_is_escaped() {
        let svg = bar_chart(
            "a<b",
            &["x&y".into()],
            &[Series {
                name: "label0",
                values: &[1.0],
            }],
            "mean |SHAP|",
        )
        .markup;
        assert!(svg.contains("a&lt;b") && svg.contains("x&amp;y"));
        assert!(svg.contains(">mean |SHAP|<"), "the value axis is titled");
    }

    #[test]
    fn standard_errors_draw_whiskers_only_where_given() {
        let series = [Series {
            name: "label0",
            values: &[0.4, 0.2],
        }];
        let categories = ["a".to_string(), "b".to_string()];
        let plain = bar_chart("t", &categories, &series, "v").markup;
        let errors = [Some(vec![0.1, f64::NAN])];
        let whiskered = bar_chart_with_errors("t", &categories, &series, &errors, "v").markup;
        let lines = |svg: &str| svg.matches(&format!(r#"stroke="{INK}""#)).count();
        // One whisker for a, with its two caps; none for b (NaN).
        assert_eq!(lines(&whiskered), lines(&plain) + 3);
        // The axis reaches 0.4 + 0.1 = 0.5: the whisker fits the plot.
        assert!(whiskered.contains(">0.5<"));
    }

    #[test]
    fn axes_end_on_round_ticks_that_enclose_the_data() {
        let axis = Axis::fit([0.013, 0.27, -0.04].into_iter());
        assert!(axis.low <= -0.04 && axis.high >= 0.27);
        assert!(axis.ticks.len() >= 3 && axis.ticks.len() <= 12);
        assert_eq!(nice_ceiling(0.27), 0.5);
        assert_eq!(nice_ceiling(3.0), 5.0);
        assert_eq!(nice_ceiling(1.0), 1.0);
    }

    #[test]
    fn long_labels_are_shortened_with_an_ellipsis() {
        let long = "a".repeat(200);
        let shown = shorten(&long, 100.0);
        assert!(shown.ends_with('…') && text_width(&shown, FONT, Weight::Regular) <= 100.0);
        assert_eq!(shorten("Age", 100.0), "Age");
    }
}
