//! `report.html`: one self-contained page.
//!
//! Styles are inline and charts are inline SVG, so the page needs no
//! network, scripts or fonts; it reflows on a phone and prints cleanly
//! (`@media print`). Templates are Jinja (minijinja) with HTML auto-escaping:
//! every text from `analysis.json` is escaped, only the SVG made by
//! [`super::charts`] (which escapes its own text) is inserted as is.

use super::document::{Report, Table, GUIDE_HEADING};
use super::fonts;
use anyhow::Result;
use minijinja::value::{Serde, Value};
use minijinja::{context, Environment};
use std::sync::OnceLock;

const PAGE: &str = include_str!("templates/report.html");
const TABLE: &str = include_str!("templates/table.html");

fn templates() -> &'static Environment<'static> {
    static ENVIRONMENT: OnceLock<Environment<'static>> = OnceLock::new();
    ENVIRONMENT.get_or_init(|| {
        let mut env = Environment::new();
        // The `.html` names switch on HTML auto-escaping.
        env.add_template("report.html", PAGE)
            .expect("the page template parses");
        env.add_template("table.html", TABLE)
            .expect("the table template parses");
        env
    })
}

/// The page for `report`.
pub fn render(report: &Report) -> Result<Vec<u8>> {
    let page = templates().get_template("report.html")?.render(context! {
        report => Value::from(Serde(report)),
        font_family => fonts::FAMILY,
        guide_heading => GUIDE_HEADING,
        version => env!("CARGO_PKG_VERSION"),
    })?;
    Ok(page.into_bytes())
}

/// One table as an HTML fragment; the notebook shows tables with it.
pub fn table(table: &Table) -> Result<String> {
    Ok(templates()
        .get_template("table.html")?
        .render(context! { table => Value::from(Serde(table)) })?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::document::Row;

    #[test]
    fn cells_are_escaped_and_notable_rows_marked() {
        let t = Table {
            columns: vec!["Metric".into(), "Value".into()],
            numeric: vec![false, true],
            rows: vec![Row {
                cells: vec!["<script>".into(), "1".into()],
                notable: true,
                muted: false,
            }],
            source: String::new(),
        };
        let html = table(&t).unwrap();
        assert!(html.contains("&lt;script&gt;") && !html.contains("<script>"));
        // Inline styles: the notebook shows this fragment without the page's CSS.
        assert!(html.contains(r#"<tr class="notable" style="background:#fdece2">"#));
        assert!(html.contains(
            r#"<td class="num" style="text-align:right;color:#b34700;font-weight:bold">1</td>"#
        ));
        assert!(html.contains(r#"<td style="text-align:left">&lt;script&gt;</td>"#));
    }
}
