//! Facet and label values that select no rows, named.
//!
//! smclarify computes every metric of such a group anyway, and each one
//! reads `Facet set is empty` or `No instance of common facet found`, which
//! does not say which value is wrong. The output stays as smclarify writes
//! it; these sentences go to the log (`run`) and make `check` say NOT READY.

use super::column::{DataType, TypedColumn};
use super::{facet_column, label_column, resolution, CountState, SectionSpec};

/// Values listed per column before the rest are only counted.
const SHOWN_VALUES: usize = 12;

/// One sentence per configured label or facet value that selects no rows
/// of `state`, naming the column, the value and the values the column holds
/// (`facet sex: value 0.5 selects no rows; the column's values are female
/// (310), male (690)`). Empty when every value selects some rows.
pub fn empty_selections(state: &CountState, spec: &SectionSpec) -> Vec<String> {
    let (Ok(resolved), Some(first), Some(zero)) = (
        resolution(state, spec),
        state.facets.first(),
        state.row_zero.as_ref(),
    ) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, r) in resolved.iter().enumerate() {
        let (what, column) = match i {
            0 => (
                format!("label {}", spec.label_name),
                label_column(first, zero),
            ),
            k => (
                format!("facet {}", spec.facets[k - 1].0),
                facet_column(&state.facets[k - 1], k - 1, zero),
            ),
        };
        for (value, selected) in &r.groups {
            if *selected == Ok(0) {
                let noun = match r.data_type {
                    DataType::Categorical => "value",
                    DataType::Continuous => "threshold",
                };
                out.push(format!(
                    "{what}: {noun} {value} selects no rows; {}",
                    held_values(&column, r.data_type)
                ));
            }
        }
    }
    out
}

/// What the column holds: its values with their rows (categorical), or
/// their range (continuous).
fn held_values(column: &TypedColumn, data_type: DataType) -> String {
    let mut values: Vec<_> = column.counts.iter().collect();
    values.sort();
    if data_type == DataType::Continuous {
        let present: Vec<_> = values.iter().filter(|(v, _)| !v.is_missing()).collect();
        if let (Some((low, _)), Some((high, _))) = (present.first(), present.last()) {
            return format!(
                "the column's values range from {} to {}",
                low.py_str(),
                high.py_str()
            );
        }
    }
    let mut listed: Vec<String> = values
        .iter()
        .take(SHOWN_VALUES)
        .map(|(v, n)| format!("{} ({n})", v.py_str()))
        .collect();
    if values.len() > SHOWN_VALUES {
        listed.push(format!("and {} more", values.len() - SHOWN_VALUES));
    }
    format!("the column's values are {}", listed.join(", "))
}
