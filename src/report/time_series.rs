//! The report's section on time-series explanations: which series and
//! which time steps matter most across items, and for a sample of items
//! the history, the forecast and a heat strip of attributions per series
//! and step. It reads the items from `out.jsonl`, which
//! `explanations.asymmetric_shapley_value.explanation_results_path` names.

use super::charts::{self, Anchor, Canvas, Series, Svg, GRID, INK, MUTED, PALETTE, SMALL, WIDTH};
use super::document::{Block, Chart, Row, Section, Table};
use super::fonts::Weight;
use super::{format_number, percent};
use crate::timeseries::run::{ITEMS_DRAWN, TIMEWISE_FEATURE_NAME};
use serde_json::Value as Json;
use std::path::Path;

/// Steps of the "which steps matter" chart, counted back from the horizon.
const STEPS_SHOWN: usize = 24;

/// One output line, read for drawing.
struct Line {
    /// The item id as a person reads it (a string without quotes).
    id: String,
    /// The item id as JSON text, as the notebook's code matches it.
    id_json: String,
    offset: Vec<f64>,
    entries: Vec<(String, Option<String>, Vec<f64>)>,
}

impl Line {
    fn read(json: &Json) -> Option<Line> {
        let numbers =
            |v: &Json| -> Option<Vec<f64>> { v.as_array()?.iter().map(Json::as_f64).collect() };
        let entries = json["explanations"]
            .as_array()?
            .iter()
            .map(|e| {
                Some((
                    e["feature_name"].as_str()?.to_string(),
                    e.get("timestamp")
                        .and_then(Json::as_str)
                        .map(str::to_string),
                    numbers(&e["scores"])?,
                ))
            })
            .collect::<Option<_>>()?;
        let id = &json["item_id"];
        Some(Line {
            id: id.as_str().map_or_else(|| id.to_string(), str::to_string),
            id_json: id.to_string(),
            offset: numbers(&json["offset"])?,
            entries,
        })
    }

    /// Mean |score| over the forecast steps of one entry.
    fn weight(scores: &[f64]) -> f64 {
        scores.iter().map(|s| s.abs()).sum::<f64>() / scores.len().max(1) as f64
    }

    /// The forecast: offset plus every score.
    fn forecast(&self) -> Vec<f64> {
        let mut f = self.offset.clone();
        for (_, _, scores) in &self.entries {
            for (v, s) in f.iter_mut().zip(scores) {
                *v += s;
            }
        }
        f
    }

    /// The distinct timestamps in order of first appearance.
    fn timestamps(&self) -> Vec<&str> {
        let mut seen: Vec<&str> = Vec::new();
        for (_, t, _) in &self.entries {
            if let Some(t) = t.as_deref() {
                if !seen.contains(&t) {
                    seen.push(t);
                }
            }
        }
        seen
    }
}

/// The section for `explanations.asymmetric_shapley_value` of `analysis`,
/// or `None` when the job has none; a results file that cannot be read
/// becomes a notice.
pub fn section(analysis: &Json, histories: &[(String, Vec<f64>)]) -> Option<Section> {
    let block = analysis.pointer("/explanations/asymmetric_shapley_value")?;
    let path = block["explanation_results_path"].as_str()?;
    let section = |blocks| Section {
        id: "time-series".into(),
        title: "Time series: what drives the forecasts".into(),
        blocks,
    };
    let mut blocks = vec![Block::Paragraph {
        text: format!(
            "Asymmetric Shapley values ({}, {}): each score is how much revealing a value (instead of its baseline) moved each forecast step, with time steps revealed in order; an item's scores add up to its forecast minus the forecast at the baseline (the offset). Blue cells pushed the forecast up, red down.",
            block["granularity"].as_str().unwrap_or("?"),
            block["direction"].as_str().unwrap_or("?")
        ),
    }];
    let lines: Vec<Line> = match std::fs::read_to_string(path) {
        Ok(body) => body
            .lines()
            .filter_map(|l| serde_json::from_str::<Json>(l).ok())
            .filter_map(|j| Line::read(&j))
            .collect(),
        Err(e) => {
            blocks.push(Block::Notice {
                text: format!("The item explanations cannot be read from {path}: {e}."),
            });
            return Some(section(blocks));
        }
    };
    let relative = Path::new(path)
        .components()
        .rev()
        .take(3)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect::<std::path::PathBuf>();
    let source_path = relative.display().to_string();
    blocks.extend(series_summary(&lines, &source_path));
    blocks.extend(step_summary(&lines));
    for line in lines.iter().take(ITEMS_DRAWN) {
        let history = histories
            .iter()
            .find(|(id, _)| *id == line.id_json)
            .map_or(&[][..], |(_, h)| &h[..]);
        blocks.push(Block::Heading {
            text: format!("Item {}", line.id),
        });
        blocks.push(Block::Chart(Chart {
            caption: format!(
                "Item {}: target history (black), forecast (orange) and offset, the forecast at the baseline (grey), above; below, each series' attribution per timestamp, averaged over the forecast steps (blue up, red down).",
                line.id
            ),
            svg: item_chart(line, history),
            source: item_source(&source_path, &line.id_json),
        }));
    }
    if lines.len() > ITEMS_DRAWN {
        blocks.push(Block::Notice {
            text: format!("{} more items are in {path}.", lines.len() - ITEMS_DRAWN),
        });
    }
    Some(section(blocks))
}

/// Which series matter most: mean |attribution| per item, summed over
/// each series' timestamps.
fn series_summary(lines: &[Line], source_path: &str) -> Vec<Block> {
    let mut names: Vec<String> = Vec::new();
    let mut totals: Vec<f64> = Vec::new();
    for line in lines {
        for (name, _, scores) in &line.entries {
            let i = names.iter().position(|n| n == name).unwrap_or_else(|| {
                names.push(name.clone());
                totals.push(0.0);
                names.len() - 1
            });
            totals[i] += Line::weight(scores) / lines.len().max(1) as f64;
        }
    }
    let sum: f64 = totals.iter().sum();
    let mut order: Vec<usize> = (0..names.len()).collect();
    order.sort_by(|a, b| totals[*b].total_cmp(&totals[*a]));
    let rows = order
        .iter()
        .map(|&i| {
            Row::plain(vec![
                names[i].clone(),
                format_number(totals[i]),
                percent(totals[i] / sum.max(f64::MIN_POSITIVE)),
            ])
        })
        .collect();
    let categories: Vec<String> = order.iter().map(|&i| names[i].clone()).collect();
    let values: Vec<f64> = order.iter().map(|&i| totals[i]).collect();
    vec![
        Block::Heading { text: "Which series matter most".into() },
        Block::Table(Table::new(
            vec!["Series".into(), "Mean |attribution| per item".into(), "Share".into()],
            vec![false, true, true],
            rows,
        )),
        Block::Chart(Chart {
            caption: "Mean absolute attribution per item, summed over each series' timestamps and averaged over the forecast steps.".into(),
            svg: charts::bar_chart(
                "Which series matter most",
                &categories,
                &[Series { name: "mean |attribution|", values: &values }],
                "mean |attribution| per item",
            ),
            source: format!(
                "import json, collections\nimport matplotlib.pyplot as plt\nlines = [json.loads(l) for l in open({source_path:?})]\ntotals = collections.Counter()\nfor line in lines:\n    for e in line['explanations']:\n        totals[e['feature_name']] += sum(map(abs, e['scores'])) / len(e['scores']) / len(lines)\nnames, values = zip(*totals.most_common())\nplt.barh(names[::-1], values[::-1]); plt.xlabel('mean |attribution| per item'); plt.show()"
            ),
        }),
    ]
}

/// Which time steps matter most: mean |attribution| per item by position
/// relative to the first forecast step (−1 the last history step). A
/// timewise line does not tell history from horizon (one `time_step` entry
/// per timestamp), so there positions count back from the last timestamp.
fn step_summary(lines: &[Line]) -> Vec<Block> {
    let timewise = lines
        .first()
        .and_then(|l| l.entries.first())
        .is_some_and(|(name, _, _)| name == TIMEWISE_FEATURE_NAME);
    let mut by_position: std::collections::BTreeMap<i64, f64> = Default::default();
    for line in lines {
        let timestamps = line.timestamps();
        // The first entries are the target's, one per history timestamp
        // (timewise: every timestamp's).
        let history = line
            .entries
            .iter()
            .filter(|(name, t, _)| t.is_some() && Some(name) == line.entries.first().map(|e| &e.0))
            .count();
        for (_, t, scores) in &line.entries {
            let Some(t) = t.as_deref() else { continue };
            let index = timestamps.iter().position(|x| *x == t).unwrap_or(0) as i64;
            *by_position.entry(index - history as i64).or_default() +=
                Line::weight(scores) / lines.len().max(1) as f64;
        }
    }
    let shown: Vec<(i64, f64)> = by_position
        .into_iter()
        .filter(|(p, _)| *p >= -(STEPS_SHOWN as i64))
        .collect();
    if shown.is_empty() {
        return Vec::new();
    }
    let categories: Vec<String> = shown
        .iter()
        .map(|(p, _)| match (timewise, *p < 0) {
            (true, _) => format!("step {p}"),
            (false, true) => format!("history {p}"),
            (false, false) => format!("horizon +{}", p + 1),
        })
        .collect();
    let caption = match timewise {
        true => format!("Mean absolute attribution per item by time step, counted back from each item's last timestamp (\"step -1\"); the last {STEPS_SHOWN} steps are shown."),
        false => format!("Mean absolute attribution per item by time step: \"history -1\" is the last step with a target value, \"horizon +1\" the first forecast step (related series only); the last {STEPS_SHOWN} history steps are shown."),
    };
    let values: Vec<f64> = shown.iter().map(|(_, v)| *v).collect();
    vec![
        Block::Heading {
            text: "Which time steps matter most".into(),
        },
        Block::Chart(Chart {
            caption,
            svg: charts::bar_chart(
                "Which time steps matter most",
                &categories,
                &[Series {
                    name: "mean |attribution|",
                    values: &values,
                }],
                "mean |attribution| per item",
            ),
            source: String::new(),
        }),
    ]
}

/// One item: its target history (when known), forecast and offset over
/// one column per timestamp (forecast step k under the (L + k)-th
/// timestamp), and below them a heat strip with one row per series (statics
/// as one cell) in the same columns.
fn item_chart(line: &Line, history: &[f64]) -> Svg {
    let timestamps = line.timestamps();
    let mut rows: Vec<(String, Vec<Option<f64>>)> = Vec::new();
    for (name, t, scores) in &line.entries {
        let value = scores.iter().sum::<f64>() / scores.len().max(1) as f64;
        let row = match rows.iter().position(|(n, _)| n == name) {
            Some(r) => r,
            None => {
                rows.push((name.clone(), vec![None; timestamps.len().max(1)]));
                rows.len() - 1
            }
        };
        let column = t
            .as_deref()
            .and_then(|t| timestamps.iter().position(|x| *x == t))
            .unwrap_or(0);
        rows[row].1[column] = Some(value);
    }
    let largest = rows
        .iter()
        .flat_map(|(_, cells)| cells.iter().flatten())
        .fold(0.0f64, |m, v| m.max(v.abs()))
        .max(f64::MIN_POSITIVE);
    let forecast = line.forecast();
    let columns = timestamps.len().max(history.len() + forecast.len()).max(1);
    let (left, right) = (110.0, WIDTH - 18.0);
    let (plot_top, plot_bottom) = (24.0, 144.0);
    let strip_top = plot_bottom + 36.0;
    let cell_height = 18.0;
    let height = strip_top + cell_height * rows.len() as f64 + 40.0;
    let mut canvas = Canvas::new(WIDTH, height, &format!("Item {}", line.id));
    let note = |canvas: &mut Canvas, x: f64, y: f64, text: &str, anchor: Anchor| {
        canvas.text(x, y, text, SMALL, anchor, MUTED, Weight::Regular);
    };
    let values = || history.iter().chain(&forecast).chain(&line.offset).copied();
    let low = values().fold(f64::INFINITY, f64::min);
    let high = values().fold(f64::NEG_INFINITY, f64::max);
    let span = (high - low).max(f64::MIN_POSITIVE);
    let cell_width = (right - left) / columns as f64;
    let px = |column: usize| left + cell_width * (column as f64 + 0.5);
    let py = |v: f64| plot_bottom - (plot_bottom - plot_top) * (v - low) / span;
    canvas.line(left, plot_bottom, right, plot_bottom, GRID, 1.0);
    let start = history.len();
    if start > 0 {
        canvas.dashed_line(
            left + cell_width * start as f64,
            plot_top,
            left + cell_width * start as f64,
            plot_bottom,
            GRID,
        );
    }
    let lines = [
        (history, 0, INK, "history"),
        (&line.offset[..], start, MUTED, "offset"),
        (&forecast[..], start, PALETTE[1], "forecast"),
    ];
    for (values, first, colour, name) in lines {
        let points: Vec<(f64, f64)> = values
            .iter()
            .enumerate()
            .map(|(k, v)| (px(first + k), py(*v)))
            .collect();
        canvas.polyline(&points, colour);
        if let Some(&(x, y)) = points.last() {
            canvas.text(
                x,
                y - 6.0,
                name,
                SMALL,
                Anchor::End,
                colour,
                Weight::Regular,
            );
        }
    }
    note(
        &mut canvas,
        left - 6.0,
        py(high) + 4.0,
        &format_number(high),
        Anchor::End,
    );
    note(
        &mut canvas,
        left - 6.0,
        py(low) + 4.0,
        &format_number(low),
        Anchor::End,
    );
    for (r, (name, cells)) in rows.iter().enumerate() {
        let y = strip_top + r as f64 * cell_height;
        canvas.text(
            left - 6.0,
            y + 13.0,
            name,
            SMALL,
            Anchor::End,
            INK,
            Weight::Regular,
        );
        for (c, value) in cells.iter().enumerate() {
            let Some(value) = value else { continue };
            let when = timestamps.get(c).copied().unwrap_or("all steps");
            canvas.open_group(&format!("{name} at {when}: {}", format_number(*value)));
            canvas.rect(
                left + c as f64 * cell_width,
                y,
                cell_width.max(1.0),
                cell_height - 2.0,
                &shade(*value / largest),
            );
            canvas.close_group();
        }
    }
    let bottom = strip_top + cell_height * rows.len() as f64 + 14.0;
    if let (Some(first), Some(last)) = (timestamps.first(), timestamps.last()) {
        note(&mut canvas, left, bottom, first, Anchor::Start);
        note(
            &mut canvas,
            left + cell_width * timestamps.len() as f64,
            bottom,
            last,
            Anchor::End,
        );
    }
    canvas.finish()
}

/// Blue for positive, red for negative, white at zero; `share` in [-1, 1].
fn shade(share: f64) -> String {
    let t = share.abs().clamp(0.0, 1.0);
    let (r, g, b) = if share >= 0.0 {
        (0.0, 114.0, 178.0)
    } else {
        (213.0, 94.0, 0.0)
    };
    let mix = |c: f64| (255.0 + (c - 255.0) * t).round() as u8;
    format!("#{:02x}{:02x}{:02x}", mix(r), mix(g), mix(b))
}

/// Python that redraws one item's heat strip from `out.jsonl`.
fn item_source(source_path: &str, id: &str) -> String {
    format!(
        "import json\nimport numpy as np, matplotlib.pyplot as plt\nline = next(l for l in map(json.loads, open({source_path:?})) if json.dumps(l['item_id']) == {id:?})\nstamps = list(dict.fromkeys(e['timestamp'] for e in line['explanations'] if 'timestamp' in e))\nnames = list(dict.fromkeys(e['feature_name'] for e in line['explanations']))\ngrid = np.full((len(names), len(stamps)), np.nan)\nfor e in line['explanations']:\n    grid[names.index(e['feature_name']), stamps.index(e['timestamp']) if 'timestamp' in e else 0] = np.mean(e['scores'])\nm = np.nanmax(np.abs(grid)) or 1\nplt.imshow(grid, cmap='RdBu', vmin=-m, vmax=m, aspect='auto'); plt.yticks(range(len(names)), names); plt.colorbar(); plt.show()"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A line of two entries per timestamp kind, parsed as the report reads it.
    fn line(json: &str) -> Line {
        Line::read(&serde_json::from_str(json).unwrap()).unwrap()
    }

    fn chart_text(blocks: &[Block]) -> String {
        blocks
            .iter()
            .filter_map(|b| match b {
                Block::Chart(c) => Some(format!("{} {}", c.caption, c.svg.markup)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn step_positions_separate_history_and_horizon_only_when_the_line_tells_them_apart() {
        let fine = line(
            r#"{"item_id": 1, "offset": [0.0], "explanations": [
                {"feature_name": "y", "timestamp": "t1", "scores": [1.0]},
                {"feature_name": "r", "timestamp": "t1", "scores": [2.0]},
                {"feature_name": "r", "timestamp": "t2", "scores": [3.0]}]}"#,
        );
        let shown = chart_text(&step_summary(&[fine]));
        assert!(
            shown.contains("history -1") && shown.contains("horizon +1"),
            "{shown}"
        );
        let timewise = line(
            r#"{"item_id": 1, "offset": [0.0], "explanations": [
                {"feature_name": "time_step", "timestamp": "t1", "scores": [1.0]},
                {"feature_name": "time_step", "timestamp": "t2", "scores": [3.0]}]}"#,
        );
        let shown = chart_text(&step_summary(&[timewise]));
        assert!(
            shown.contains("step -2") && shown.contains("step -1"),
            "{shown}"
        );
        assert!(
            !shown.contains("history -") && !shown.contains("horizon +"),
            "{shown}"
        );
    }
}
