//! Text explanations in the report (`methods.shap.text_config`): for each
//! output, the top units of every text column (`global_top_shap_text`) as
//! bars, and a sample of records from `explanations_shap/out.jsonl` with
//! each unit shaded by its attribution (red raises the score, blue lowers
//! it, the stronger the shade the larger the value within the record).
//!
//! The shaded texts are SVG like the other charts, so the HTML page, the
//! notebook and the PDF show the same picture.

use super::charts::{self, Anchor, Canvas, Series, Svg, ALERT, CALM, FONT, INK, WIDTH};
use super::document::{py, Block, Chart, Section};
use super::fonts::{text_width, Weight};
use super::format_number;
use crate::layout::LOCAL_SHAP_TEXT_FILE;
use serde_json::Value as Json;
use std::path::Path;

/// Units drawn per top-units chart.
const TOP_UNITS_SHOWN: usize = 15;

/// Records shown shaded per output.
const SAMPLE_RECORDS: usize = 4;

/// The darkest shade, so the text on it stays legible.
const MAX_SHADE: f64 = 0.6;

/// Line height of the shaded text.
const LINE: f64 = 24.0;

/// The text section, when the SHAP results hold `global_top_shap_text`;
/// records are sampled from `out_dir`'s `out.jsonl` when it was written.
pub fn text_section(analysis: &Json, out_dir: &Path) -> Option<Section> {
    let shap = analysis
        .get("explanations")?
        .get("kernel_shap")?
        .as_object()?;
    if !shap
        .values()
        .any(|r| r.get("global_top_shap_text").is_some())
    {
        return None;
    }
    let records = read_records(&out_dir.join(LOCAL_SHAP_TEXT_FILE));
    let mut blocks = vec![Block::Paragraph {
        text: "Each unit of a text column (token, sentence or paragraph) is a feature of its own. The bars give, per text column, the units with the largest aggregate SHAP value over all their occurrences (global_top_shap_text); the texts below show sample records with each unit shaded by its SHAP value: red raises the score, blue lowers it, and the darker the shade the larger the value within that record.".into(),
    }];
    for (output, (label, result)) in shap.iter().enumerate() {
        let columns = result.get("global_top_shap_text").and_then(Json::as_object);
        for (column, top) in columns.into_iter().flatten() {
            let units: Vec<(String, f64)> = top
                .as_object()
                .into_iter()
                .flatten()
                .take(TOP_UNITS_SHOWN)
                .map(|(unit, value)| (unit.clone(), value.as_f64().unwrap_or(f64::NAN)))
                .collect();
            if units.is_empty() {
                continue;
            }
            let names: Vec<String> = units.iter().map(|(u, _)| u.clone()).collect();
            let values: Vec<f64> = units.iter().map(|(_, v)| *v).collect();
            blocks.push(Block::Chart(Chart {
                caption: format!("Top units of {column} for {label}, largest aggregate SHAP value first (at most {TOP_UNITS_SHOWN} shown)."),
                svg: charts::bar_chart(
                    &format!("Top units of {column}, {label}"),
                    &names,
                    &[Series { name: label, values: &values }],
                    "aggregate SHAP value over occurrences",
                ),
                source: format!(
                    "pd.Series(analysis['explanations']['kernel_shap'][{}]['global_top_shap_text'][{}]).head({TOP_UNITS_SHOWN}).plot.barh()",
                    py(label),
                    py(column)
                ),
            }));
        }
        for (row, record) in sample(&records) {
            blocks.extend(record_blocks(row, record, output, label));
        }
    }
    Some(Section {
        id: "text-explanations".into(),
        title: "Text explanations".into(),
        blocks,
    })
}

/// The records of `out.jsonl`; none when it is missing or unreadable.
fn read_records(path: &Path) -> Vec<Json> {
    std::fs::read_to_string(path)
        .map(|text| {
            text.lines()
                .filter_map(|line| serde_json::from_str(line).ok())
                .collect()
        })
        .unwrap_or_default()
}

/// Up to [`SAMPLE_RECORDS`] records spread evenly over the file, with
/// their row numbers.
fn sample(records: &[Json]) -> Vec<(usize, &Json)> {
    let count = records.len().min(SAMPLE_RECORDS);
    let mut rows: Vec<usize> = (0..count)
        .map(|i| i * (records.len() - 1) / (count - 1).max(1))
        .collect();
    rows.dedup();
    rows.into_iter().map(|row| (row, &records[row])).collect()
}

/// The shaded text of every text column of one record, for output `output`.
fn record_blocks(row: usize, record: &Json, output: usize, label: &str) -> Vec<Block> {
    let features = record.get("explanations").and_then(Json::as_array);
    features
        .into_iter()
        .flatten()
        .enumerate()
        .filter(|(_, f)| f.get("data_type").and_then(Json::as_str) == Some("free_text"))
        .filter_map(|(index, feature)| {
            let name = feature.get("feature_name").and_then(Json::as_str).unwrap_or("?");
            let units: Vec<ShadedUnit> = feature
                .get("attributions")
                .and_then(Json::as_array)
                .into_iter()
                .flatten()
                .filter_map(|a| {
                    Some(ShadedUnit {
                        text: a.get("description")?.get("partial_text")?.as_str()?.to_string(),
                        start: a.get("description")?.get("start_idx")?.as_u64()? as usize,
                        value: a.get("attribution")?.get(output)?.as_f64()?,
                    })
                })
                .collect();
            (!units.is_empty()).then(|| {
                let strongest = units.iter().max_by(|a, b| a.value.abs().total_cmp(&b.value.abs()));
                let strongest = strongest.map(|u| format!("; the strongest unit is {:?} ({})", u.text, format_number(u.value)));
                Block::Chart(Chart {
                    caption: format!(
                        "Record {row} (counting from 0), {name}, {label}: each unit shaded by its SHAP value{}.",
                        strongest.unwrap_or_default()
                    ),
                    svg: shaded_text(&format!("{name} of record {row}, {label}"), &units),
                    source: notebook_source(row, index, output),
                })
            })
        })
        .collect()
}

/// Python that redraws a shaded record in the notebook from `out.jsonl`.
fn notebook_source(row: usize, feature: usize, output: usize) -> String {
    format!(
        r#"import html, json
from IPython.display import HTML
units = json.loads(open({file:?}).readlines()[{row}])['explanations'][{feature}]['attributions']
top = max(abs(u['attribution'][{output}]) for u in units) or 1
HTML(' '.join('<span style="background:rgba({{}},{{:.2f}})">{{}}</span>'.format('213,94,0' if u['attribution'][{output}] > 0 else '0,114,178', {MAX_SHADE} * abs(u['attribution'][{output}]) / top, html.escape(u['description']['partial_text'])) for u in units))"#,
        file = LOCAL_SHAP_TEXT_FILE
    )
}

/// One unit to draw: its text, where it starts (code points), its value.
struct ShadedUnit {
    text: String,
    start: usize,
    value: f64,
}

/// The units laid out as running text, wrapped to the chart width, each on
/// a background shaded by its value relative to the record's largest.
fn shaded_text(title: &str, units: &[ShadedUnit]) -> Svg {
    let strongest = units.iter().map(|u| u.value.abs()).fold(0.0, f64::max);
    let space = text_width(" ", FONT, Weight::Regular);
    let margin = 8.0;
    // Lay out first, to know the height.
    let mut placed = Vec::with_capacity(units.len());
    let (mut x, mut line) = (margin, 0usize);
    let mut previous_end = 0;
    for unit in units {
        let width = text_width(&unit.text, FONT, Weight::Regular).min(WIDTH - 2.0 * margin);
        if unit.start > previous_end && x > margin {
            x += space;
        }
        if x + width > WIDTH - margin && x > margin {
            (x, line) = (margin, line + 1);
        }
        placed.push((x, line, width));
        x += width;
        previous_end = unit.start + unit.text.chars().count();
    }
    let height = (line + 1) as f64 * LINE + 2.0 * margin;
    let mut canvas = Canvas::new(WIDTH, height, title);
    for (unit, (x, line, width)) in units.iter().zip(placed) {
        let top = margin + line as f64 * LINE;
        let shade = match strongest > 0.0 {
            true => MAX_SHADE * unit.value.abs() / strongest,
            false => 0.0,
        };
        canvas.open_group(&format!("{}: {}", unit.text, format_number(unit.value)));
        let base = if unit.value > 0.0 { ALERT } else { CALM };
        canvas.rect(
            x - 1.0,
            top + 2.0,
            width + 2.0,
            LINE - 4.0,
            &tint(base, shade),
        );
        canvas.text(
            x,
            top + LINE - 8.0,
            &unit.text,
            FONT,
            Anchor::Start,
            INK,
            Weight::Regular,
        );
        canvas.close_group();
    }
    canvas.finish()
}

/// `#rrggbb` mixed with white: `shade` 0 is white, 1 the colour itself.
fn tint(colour: &str, shade: f64) -> String {
    let channel = |i: usize| {
        let value = u8::from_str_radix(&colour[1 + 2 * i..3 + 2 * i], 16).unwrap_or(255) as f64;
        (255.0 + (value - 255.0) * shade).round() as u8
    };
    format!("#{:02x}{:02x}{:02x}", channel(0), channel(1), channel(2))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn shades_run_from_white_to_the_colour() {
        assert_eq!(tint("#D55E00", 0.0), "#ffffff");
        assert_eq!(tint("#D55E00", 1.0), "#d55e00");
        assert_eq!(tint("#0072B2", 0.5), "#80b9d9");
    }

    #[test]
    fn the_section_shows_top_units_and_shaded_records() {
        let dir = tempfile::tempdir().unwrap();
        let record = json!({"explanations": [
            {"attributions": [
                {"attribution": [0.5], "description": {"partial_text": "great", "start_idx": 0}},
                {"attribution": [-0.25], "description": {"partial_text": "<fit>", "start_idx": 6}}],
             "data_type": "free_text", "feature_name": "review"},
            {"attributions": [{"attribution": [0.1]}], "data_type": "numerical", "feature_name": "age"}]});
        let file = dir.path().join(LOCAL_SHAP_TEXT_FILE);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, format!("{record}\n")).unwrap();
        let analysis = json!({"explanations": {"kernel_shap": {"label0": {
            "global_shap_values": {"review": 0.7, "age": 0.1},
            "global_top_shap_text": {"review": {"great": 0.5, "<fit>": 0.25}}}}}});
        let section = text_section(&analysis, dir.path()).unwrap();
        let charts: Vec<&Chart> = section
            .blocks
            .iter()
            .filter_map(|b| match b {
                Block::Chart(chart) => Some(chart),
                _ => None,
            })
            .collect();
        assert_eq!(charts.len(), 2, "one top-units chart, one shaded record");
        assert!(charts[1].svg.markup.contains("&lt;fit&gt;"));
        assert!(charts[1].svg.markup.contains(&tint(ALERT, MAX_SHADE)));
        assert!(charts[1].svg.markup.contains(&tint(CALM, MAX_SHADE / 2.0)));
        assert!(charts[1].caption.contains("\"great\""));
        assert!(text_section(&json!({"explanations": {"kernel_shap": {}}}), dir.path()).is_none());
    }
}
