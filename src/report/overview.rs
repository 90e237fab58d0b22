//! Who the bias metrics compare and how the model does for them: group
//! sizes, base rates and small-group warnings, model performance overall
//! and per facet group, and the one wording for facet comparisons that
//! every part of the report uses ("sex = female vs all others",
//! "age > 40 (up to 75) vs age ≤ 40").
//!
//! The numbers come from the counts the bias analysis kept at job time
//! ([`crate::bias::groups`]); nothing here reads rows.

use super::document::{Block, Row, Section, Table};
use super::{format_number, percent};
use crate::bias::groups::{Confusion, GroupCounts, Side};

/// Below this many records on either side, a comparison is flagged as too
/// small to judge (the usual rule of thumb for a proportion).
pub const SMALL_GROUP: u64 = 30;

/// The lower end of a threshold facet's interval, e.g. `40` and `75` of
/// `(40, 75]`.
fn interval(value: &str) -> Option<(&str, &str)> {
    let inner = value.strip_prefix('(')?.strip_suffix(']')?;
    let (low, high) = inner.split_once(',')?;
    Some((low.trim(), high.trim()))
}

/// The facet group in words: "sex = female", "age > 40".
pub fn group_name(facet: &str, value: &str) -> String {
    match interval(value) {
        Some((low, _)) => format!("{facet} > {low}"),
        None => format!(
            "{facet} = {}",
            value.split(',').collect::<Vec<_>>().join(" or ")
        ),
    }
}

/// The rest in words: "all others", "age ≤ 40".
pub fn rest_name(facet: &str, value: &str) -> String {
    match interval(value) {
        Some((low, _)) => format!("{facet} ≤ {low}"),
        None => "all others".into(),
    }
}

/// The comparison in words: "sex = female vs all others",
/// "age > 40 (up to 75) vs age ≤ 40".
pub fn comparison(facet: &str, value: &str) -> String {
    let range = interval(value).map_or(String::new(), |(_, high)| format!(" (up to {high})"));
    format!(
        "{}{range} vs {}",
        group_name(facet, value),
        rest_name(facet, value)
    )
}

/// The counts of the comparison of `facet` at `value`, when kept.
pub fn find<'a>(groups: &'a [GroupCounts], facet: &str, value: &str) -> Option<&'a GroupCounts> {
    groups
        .iter()
        .find(|g| g.facet == facet && g.value_or_threshold == value)
}

fn rate(share: Option<f64>) -> String {
    share.map_or_else(|| "n/a".into(), percent)
}

/// One line of sizes and rates for a facet heading.
pub fn group_line(g: &GroupCounts) -> String {
    let mut line = format!(
        "{} records in {} vs {} in {}; positive label rate {} vs {}",
        g.records(Side::Facet),
        group_name(&g.facet, &g.value_or_threshold),
        g.records(Side::Rest),
        rest_name(&g.facet, &g.value_or_threshold),
        rate(g.positive_rate(Side::Facet)),
        rate(g.positive_rate(Side::Rest)),
    );
    if g.has_predictions {
        line.push_str(&format!(
            "; predicted positive rate {} vs {}",
            rate(g.predicted_rate(Side::Facet)),
            rate(g.predicted_rate(Side::Rest)),
        ));
    }
    line.push('.');
    line
}

/// A warning when either side is too small to judge.
pub fn small_group_warning(g: &GroupCounts) -> Option<String> {
    let smallest = g.records(Side::Facet).min(g.records(Side::Rest));
    (smallest < SMALL_GROUP).then(|| {
        format!(
            "⚠ Only {smallest} records on one side of {}: too few to judge. Treat every metric of this comparison as uncertain.",
            comparison(&g.facet, &g.value_or_threshold)
        )
    })
}

/// The "Data and groups" section: one row per comparison.
pub fn groups_section(groups: &[GroupCounts]) -> Option<Section> {
    let predicted = groups.iter().any(|g| g.has_predictions);
    let mut columns = vec![
        "Comparison",
        "Records (group / rest)",
        "Positive label rate (group / rest)",
    ];
    if predicted {
        columns.push("Predicted positive rate (group / rest)");
    }
    let rows: Vec<Row> = groups
        .iter()
        .map(|g| {
            let pair = |a: String, b: String| format!("{a} / {b}");
            let mut cells = vec![
                comparison(&g.facet, &g.value_or_threshold),
                pair(
                    g.records(Side::Facet).to_string(),
                    g.records(Side::Rest).to_string(),
                ),
                pair(
                    rate(g.positive_rate(Side::Facet)),
                    rate(g.positive_rate(Side::Rest)),
                ),
            ];
            if predicted {
                cells.push(pair(
                    rate(g.predicted_rate(Side::Facet)),
                    rate(g.predicted_rate(Side::Rest)),
                ));
            }
            let small = small_group_warning(g).is_some();
            if small {
                cells[0].push_str(" ⚠ too few records to judge");
            }
            Row::plain(cells).flagged(small)
        })
        .collect();
    if rows.is_empty() {
        return None;
    }
    let numeric = columns.iter().map(|c| *c != "Comparison").collect();
    let columns = columns.into_iter().map(String::from).collect();
    let mut blocks = vec![Block::Paragraph {
        text: format!("How many records each bias comparison rests on, and how often each side has the positive label{}. Comparisons with fewer than {SMALL_GROUP} records on a side are marked: their metrics can swing by chance.", if predicted { " and the model predicts it" } else { "" }),
    }];
    blocks.push(Block::Table(Table::new(columns, numeric, rows)));
    Some(Section {
        id: "groups".into(),
        title: "Data and groups".into(),
        blocks,
    })
}

fn performance_row(name: String, c: Confusion) -> Row {
    let share = |v: Option<f64>| v.map_or_else(|| "n/a".into(), format_number);
    Row::plain(vec![
        name,
        c.total().to_string(),
        share(c.accuracy()),
        share(c.precision()),
        share(c.recall()),
        c.tp.to_string(),
        c.fp.to_string(),
        c.fn_.to_string(),
        c.tn.to_string(),
    ])
}

/// The "Model performance" section, when the model's predictions were
/// counted: overall, then each side of each comparison.
pub fn performance_section(groups: &[GroupCounts]) -> Option<Section> {
    let first = groups.iter().find(|g| g.has_predictions)?;
    let all = first.confusion(Side::Facet) + first.confusion(Side::Rest);
    let mut rows = vec![performance_row("All records".into(), all)];
    for g in groups.iter().filter(|g| g.has_predictions) {
        let (facet, value) = (&g.facet, &g.value_or_threshold);
        rows.push(performance_row(
            group_name(facet, value),
            g.confusion(Side::Facet),
        ));
        let rest = match rest_name(facet, value).as_str() {
            "all others" => format!(
                "{} (all others)",
                group_name(facet, value).replace(" = ", " ≠ ")
            ),
            other => other.to_string(),
        };
        rows.push(performance_row(rest, g.confusion(Side::Rest)));
    }
    let columns = vec![
        "Who",
        "Records",
        "Accuracy",
        "Precision",
        "Recall",
        "TP",
        "FP",
        "FN",
        "TN",
    ];
    let numeric = (0..columns.len()).map(|i| i > 0).collect();
    let columns = columns.into_iter().map(String::from).collect();
    let blocks = vec![
        Block::Paragraph {
            text: "How often the model's predicted label matches the observed label, overall and for each side of each facet comparison. Precision is the share of predicted positives that are positive; recall the share of positives predicted positive. TP, FP, FN and TN count true and false positives and negatives (the confusion matrix). AD, RD, SD, DAR and DRR in the post-training section are differences of these rates between the two sides.".into(),
        },
        Block::Table(Table::new(columns, numeric, rows)),
    ];
    Some(Section {
        id: "model-performance".into(),
        title: "Model performance".into(),
        blocks,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facets_read_the_same_way_everywhere() {
        assert_eq!(comparison("sex", "female"), "sex = female vs all others");
        assert_eq!(
            comparison("age", "(40, 75]"),
            "age > 40 (up to 75) vs age ≤ 40"
        );
        assert_eq!(
            group_name("purpose", "car,radio/TV"),
            "purpose = car or radio/TV"
        );
    }

    #[test]
    fn small_groups_are_warned_about() {
        let mut cube = crate::bias::metrics::Cube::default();
        cube[1][1][1] = 12;
        cube[0][1][1] = 988;
        let g = GroupCounts {
            facet: "purpose".into(),
            value_or_threshold: "vacation/others".into(),
            cube,
            has_predictions: true,
        };
        let warning = small_group_warning(&g).unwrap();
        assert!(warning.contains("Only 12 records"), "{warning}");
        let section = groups_section(std::slice::from_ref(&g)).unwrap();
        let Block::Table(table) = &section.blocks[1] else {
            panic!("a table")
        };
        assert!(table.rows[0].notable && table.rows[0].cells[1] == "12 / 988");
        let performance = performance_section(&[g]).unwrap();
        let Block::Table(table) = &performance.blocks[1] else {
            panic!("a table")
        };
        assert_eq!(table.rows[0].cells[..3], ["All records", "1000", "1"]);
    }
}
