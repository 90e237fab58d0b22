//! `report.ipynb`: the report as a Jupyter notebook (nbformat 4.5).
//!
//! Text goes into markdown cells. The first code cell defines helpers that
//! redraw the report's charts and tables with pandas and matplotlib from
//! `analysis.json` and `explanations_shap/out.csv`
//! (`templates/notebook_helpers.py`); each table and chart is then a code
//! cell calling one of them, with the rendered table (`text/html`, its
//! highlighting as inline styles) or chart (`image/svg+xml`) stored as the
//! cell's output. So the notebook opens with everything shown without
//! running anything, and "Run All" redraws the same charts and tables.
//! Tables of data that `analysis.json` does not hold (group sizes, the
//! findings, the configuration) are redrawn from the values in their cell. The JSON is written with serde; the format is
//! a handful of plain objects, and `scripts/check-report.sh` validates it
//! with the reference `nbformat` package.

use super::document::{Block, Report, Table, GUIDE_HEADING};
use super::html;
use anyhow::Result;
use serde_json::{json, Value as Json};

/// Loads the data and defines the drawing helpers every later code cell
/// calls.
const HELPERS: &str = include_str!("templates/notebook_helpers.py");

/// The notebook for `report`.
pub fn render(report: &Report) -> Result<Vec<u8>> {
    let mut cells = Cells::default();
    cells.markdown.push(format!("# {}", escape(&report.title)));
    cells.markdown.push(markdown_table(&report.summary));
    cells.code(HELPERS.trim_end(), vec![]);
    for section in &report.sections {
        cells
            .markdown
            .push(format!("## {}", escape(&section.title)));
        for block in &section.blocks {
            match block {
                Block::Heading { text } => cells.markdown.push(format!("### {}", escape(text))),
                Block::Paragraph { text } => cells.markdown.push(escape(text)),
                Block::Notice { text } => cells.markdown.push(format!("> {}", escape(text))),
                Block::Table(table) => {
                    let output = display(
                        json!({"text/html": html::table(table)?, "text/plain": plain_table(table)}),
                    );
                    cells.code(&table_code(table), vec![output]);
                }
                Block::Gallery { tiles } => cells.markdown.extend(
                    tiles
                        .iter()
                        .map(|t| format!("![{}]({})", escape(&t.caption), t.file)),
                ),
                Block::Chart(chart) => {
                    let output = display(
                        json!({"image/svg+xml": chart.svg.markup, "text/plain": chart.caption}),
                    );
                    cells.code(&chart.source, vec![output]);
                    cells.markdown.push(format!("*{}*", escape(&chart.caption)));
                }
            }
        }
    }
    cells.markdown.push(format!("## {GUIDE_HEADING}"));
    cells
        .markdown
        .extend(report.guide.iter().map(|p| escape(p)));
    cells.flush_markdown();
    let notebook = json!({
        "cells": cells.done,
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
            "title": report.title,
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    });
    Ok(crate::output::pretty(&notebook))
}

/// The code that redraws `table`: its helper call, or `show_table` with
/// the cells themselves (JSON strings and numbers are Python literals).
fn table_code(table: &Table) -> String {
    if !table.source.is_empty() {
        return table.source.clone();
    }
    let flags = |f: fn(&super::document::Row) -> bool| -> Json {
        table.rows.iter().map(|r| u8::from(f(r))).collect()
    };
    let rows: Vec<&Vec<String>> = table.rows.iter().map(|r| &r.cells).collect();
    let numeric: Vec<u8> = table.numeric.iter().map(|n| u8::from(*n)).collect();
    format!(
        "show_table(\n    {},\n    {},\n    numeric={},\n    notable={},\n    muted={},\n)",
        json!(table.columns),
        json!(rows),
        json!(numeric),
        flags(|r| r.notable),
        flags(|r| r.muted),
    )
}

/// Builds the cell list, merging consecutive text into one markdown cell.
#[derive(Default)]
struct Cells {
    done: Vec<Json>,
    markdown: Vec<String>,
}

impl Cells {
    fn next_id(&self) -> String {
        format!("cell-{}", self.done.len())
    }

    fn flush_markdown(&mut self) {
        if self.markdown.is_empty() {
            return;
        }
        let source = std::mem::take(&mut self.markdown).join("\n\n");
        let cell = json!({"cell_type": "markdown", "id": self.next_id(), "metadata": {}, "source": source});
        self.done.push(cell);
    }

    fn code(&mut self, source: &str, outputs: Vec<Json>) {
        self.flush_markdown();
        let cell = json!({
            "cell_type": "code", "id": self.next_id(), "metadata": {},
            "execution_count": null, "source": source, "outputs": outputs,
        });
        self.done.push(cell);
    }
}

fn display(data: Json) -> Json {
    json!({"output_type": "display_data", "data": data, "metadata": {}})
}

fn markdown_table(table: &Table) -> String {
    let line = |cells: &[String]| {
        format!(
            "| {} |",
            cells
                .iter()
                .map(|c| escape(c))
                .collect::<Vec<_>>()
                .join(" | ")
        )
    };
    let mut lines = vec![
        line(&table.columns),
        format!("|{}", "---|".repeat(table.columns.len())),
    ];
    lines.extend(table.rows.iter().map(|r| line(&r.cells)));
    lines.join("\n")
}

/// The table as aligned text, for front ends that show no HTML.
fn plain_table(table: &Table) -> String {
    let mut lines = vec![table.columns.join("\t")];
    lines.extend(table.rows.iter().map(|r| r.cells.join("\t")));
    lines.join("\n")
}

/// Escapes the characters markdown would read as formatting, so names like
/// `credit_amount` or `<=50K` show as written.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(
            c,
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '#' | '|'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{document, RunSummary};

    #[test]
    fn notebook_is_nbformat_4_with_stored_outputs() {
        let analysis = serde_json::json!({"pre_training_bias_metrics": {"label": "y", "label_value_or_threshold": "1", "facets": {"sex": [
            {"value_or_threshold": "f", "metrics": [{"name": "CI", "description": "Class Imbalance (CI)", "value": 0.3}]}]}}});
        let report = document::build(&analysis, None, &RunSummary::example(), "T");
        let notebook: Json = serde_json::from_slice(&render(&report).unwrap()).unwrap();
        assert_eq!(
            (
                notebook["nbformat"].as_u64(),
                notebook["nbformat_minor"].as_u64()
            ),
            (Some(4), Some(5))
        );
        let cells = notebook["cells"].as_array().unwrap();
        let ids: std::collections::HashSet<_> =
            cells.iter().map(|c| c["id"].as_str().unwrap()).collect();
        assert_eq!(ids.len(), cells.len(), "cell ids are unique");
        let outputs: Vec<&Json> = cells
            .iter()
            .flat_map(|c| c["outputs"].as_array().into_iter().flatten())
            .collect();
        assert!(outputs.iter().any(|o| o["data"]["image/svg+xml"]
            .as_str()
            .is_some_and(|s| s.starts_with("<svg"))));
        assert!(outputs.iter().any(|o| o["data"]["text/html"]
            .as_str()
            .is_some_and(|s| s.contains("Class Imbalance"))));
    }

    #[test]
    fn markdown_characters_are_escaped() {
        assert_eq!(escape("credit_amount <=50K"), r"credit\_amount \<=50K");
    }
}
