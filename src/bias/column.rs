//! How smclarify turns a column and configured values into a row selection.
//!
//! This is `smclarify.bias.report` and `metrics.common` restated on distinct
//! values instead of rows: type detection (`series_datatype`), categorical
//! membership with its type-conversion retry (`_categorical_data_idx`,
//! `convert_positive_label_values`) and threshold intervals
//! (`_interval_index`). Quirks are kept on purpose; each is named where it
//! happens.

use super::state::Key;
use crate::config::ConfigValue;
use crate::dataset::value::{decode_key, Cell, ColumnKind, Value};
use crate::pyfmt;
use rustc_hash::FxHashMap;

/// smclarify's `UNIQUENESS_THRESHOLD`.
const UNIQUENESS_THRESHOLD: f64 = 0.05;

/// Categorical or continuous, as smclarify decides it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataType {
    /// Compared by membership in a list of values.
    Categorical,
    /// Compared with a threshold.
    Continuous,
}

/// A column's distinct values with their row counts, typed as pandas would.
#[derive(Debug, Clone)]
pub struct TypedColumn {
    /// The pandas dtype.
    pub kind: ColumnKind,
    /// Raw key → typed value.
    pub values: FxHashMap<Key, Value>,
    /// Typed distinct values (missing included) → rows.
    pub counts: FxHashMap<Value, u64>,
    /// The value in dataset row 0.
    pub row_zero: Value,
}

impl TypedColumn {
    /// Types a column from its raw keys and their row counts.
    pub fn new<'a>(
        keys: impl Iterator<Item = (&'a Key, u64)> + Clone,
        row_zero: &Key,
    ) -> TypedColumn {
        let cells: Vec<Cell> = keys.clone().map(|(k, _)| decode_key(k)).collect();
        let kind = ColumnKind::infer(&cells);
        let mut values = FxHashMap::default();
        let mut counts: FxHashMap<Value, u64> = FxHashMap::default();
        for ((key, n), cell) in keys.zip(&cells) {
            let v = kind.value_of(cell);
            *counts.entry(v.clone()).or_insert(0) += n;
            values.insert(key.clone(), v);
        }
        let row_zero = kind.value_of(&decode_key(row_zero));
        TypedColumn {
            kind,
            values,
            counts,
            row_zero,
        }
    }

    /// The typed value of a raw key seen in this column.
    pub fn value(&self, key: &Key) -> &Value {
        &self.values[key]
    }

    fn non_missing(&self) -> impl Iterator<Item = (&Value, u64)> {
        self.counts
            .iter()
            .filter(|(v, _)| !v.is_missing())
            .map(|(v, n)| (v, *n))
    }

    /// `series.nunique() / series.count()` with smclarify's `divide`.
    fn uniqueness(&self) -> f64 {
        let (unique, count) = self
            .non_missing()
            .fold((0u64, 0u64), |(u, c), (_, n)| (u + 1, c + n));
        if count == 0 {
            0.0
        } else {
            unique as f64 / count as f64
        }
    }

    /// smclarify's `series_datatype(series, values)`.
    pub fn data_type(&self, configured: Option<&[ConfigValue]>) -> DataType {
        if configured.is_some_and(|v| v.len() > 1) {
            return DataType::Categorical;
        }
        let unique_enough = self.uniqueness() >= UNIQUENESS_THRESHOLD;
        match self.kind {
            ColumnKind::Float => DataType::Continuous,
            ColumnKind::Int if unique_enough => DataType::Continuous,
            ColumnKind::Object if unique_enough && self.casts_to_int() => DataType::Continuous,
            _ => DataType::Categorical,
        }
    }

    /// Whether `series.astype("int64")` would succeed on an object column.
    fn casts_to_int(&self) -> bool {
        self.counts.keys().all(|v| match v {
            Value::Int(_) | Value::Bool(_) => true,
            Value::Float(f) => f.is_finite(),
            Value::Str(s) => py_int(s).is_some(),
            Value::Missing => false,
        })
    }

    /// The column as numbers, as `pd.to_numeric` gives them (`None` for NaN).
    fn numeric(&self, v: &Value) -> Option<f64> {
        match v {
            Value::Str(s) => py_int(s).map(|i| i as f64).or_else(|| py_float(s)),
            other => other.as_f64(),
        }
    }

    /// Whether every non-missing value is an integer after `pd.to_numeric`.
    fn numeric_is_int(&self) -> bool {
        match self.kind {
            ColumnKind::Int => true,
            ColumnKind::Object => self
                .counts
                .keys()
                .all(|v| matches!(v, Value::Int(_) | Value::Str(_))),
            _ => false,
        }
    }

    /// The maximum numeric value and whether it prints as an integer.
    fn max(&self) -> Option<Number> {
        let max = self
            .non_missing()
            .filter_map(|(v, _)| self.numeric(v))
            .fold(None, |m: Option<f64>, x| Some(m.map_or(x, |m| m.max(x))))?;
        Some(Number {
            value: max,
            is_int: self.numeric_is_int(),
        })
    }
}

/// A number with the int-or-float type that decides how Python prints it.
#[derive(Debug, Clone, Copy)]
pub struct Number {
    /// The value.
    pub value: f64,
    /// Printed without a decimal point.
    pub is_int: bool,
}

/// Which rows a configured value list or threshold selects.
#[derive(Debug, Clone)]
pub enum Selection {
    /// Rows whose value equals one of these (Python `==`).
    Values(Vec<Value>),
    /// Rows with `lo < value <= hi` (pandas right-closed interval).
    Interval {
        /// Open lower bound.
        lo: f64,
        /// Closed upper bound.
        hi: f64,
    },
    /// An empty interval index: nothing is selected.
    Nothing,
}

impl Selection {
    /// Whether a row with value `v` is selected.
    pub fn contains(&self, v: &Value) -> bool {
        match self {
            Selection::Values(vs) => vs.iter().any(|c| c.py_eq(v)),
            Selection::Interval { lo, hi } => match v {
                Value::Str(s) => py_float(s).is_some_and(|x| *lo < x && x <= *hi),
                other => other.as_f64().is_some_and(|x| *lo < x && x <= *hi),
            },
            Selection::Nothing => false,
        }
    }
}

/// A config value as the Python object smclarify compares with.
pub fn config_value(v: &ConfigValue) -> Value {
    match v {
        ConfigValue::Int(i) => Value::Int(*i),
        ConfigValue::Float(f) => Value::Float(*f),
        ConfigValue::Str(s) => Value::Str(s.clone()),
        ConfigValue::Bool(b) => Value::Bool(*b),
    }
}

/// smclarify's `_categorical_data_idx`: membership in the configured
/// values; when that selects no row at all, the values are converted to the
/// type of row 0's value and tried again.
pub fn categorical(col: &TypedColumn, configured: &[ConfigValue]) -> Result<Selection, String> {
    let direct: Vec<Value> = configured.iter().map(config_value).collect();
    let hits = col.counts.keys().any(|v| direct.iter().any(|c| c.py_eq(v)));
    if hits || configured.is_empty() {
        return Ok(Selection::Values(direct));
    }
    convert_values(&col.row_zero, configured).map(Selection::Values)
}

/// smclarify's `convert_positive_label_values`.
fn convert_values(row_zero: &Value, configured: &[ConfigValue]) -> Result<Vec<Value>, String> {
    const NOT_POSITIVE: &str = "'label' has not positive elements. Double-check if 'label' and 'positive_label_values'have correct data-types or values.";
    let already = matches!(
        (row_zero, &configured[0]),
        (Value::Str(_), ConfigValue::Str(_)) | (Value::Missing, ConfigValue::Float(_))
    );
    if already {
        return Ok(configured.iter().map(config_value).collect());
    }
    match row_zero {
        Value::Int(_) => {
            let ints: Option<Vec<Value>> = configured
                .iter()
                .map(|c| to_int(c).map(Value::Int))
                .collect();
            if let Some(ints) = ints {
                return Ok(ints);
            }
            // int('1.0') fails with "invalid literal for int()": Python retries with float.
            configured
                .iter()
                .map(|c| {
                    to_float(c).map(Value::Float).ok_or_else(|| {
                        format!("could not convert string to float: '{}'", c.py_str())
                    })
                })
                .collect()
        }
        Value::Float(_) | Value::Missing => configured
            .iter()
            .map(|c| {
                to_float(c)
                    .map(Value::Float)
                    .ok_or_else(|| NOT_POSITIVE.to_string())
            })
            .collect(),
        Value::Str(_) => Ok(configured.iter().map(|c| Value::Str(c.py_str())).collect()),
        // np.bool_(x) is Python truthiness: any non-empty string is True.
        Value::Bool(_) => Ok(configured
            .iter()
            .map(|c| {
                Value::Bool(match c {
                    ConfigValue::Bool(b) => *b,
                    ConfigValue::Int(i) => *i != 0,
                    ConfigValue::Float(f) => *f != 0.0,
                    ConfigValue::Str(s) => !s.is_empty(),
                })
            })
            .collect()),
    }
}

fn to_int(c: &ConfigValue) -> Option<i64> {
    match c {
        ConfigValue::Int(i) => Some(*i),
        ConfigValue::Float(f) if f.is_finite() => Some(f.trunc() as i64),
        ConfigValue::Float(_) => None,
        ConfigValue::Bool(b) => Some(*b as i64),
        ConfigValue::Str(s) => py_int(s),
    }
}

fn to_float(c: &ConfigValue) -> Option<f64> {
    match c {
        ConfigValue::Int(i) => Some(*i as f64),
        ConfigValue::Float(f) => Some(*f),
        ConfigValue::Bool(b) => Some(*b as i64 as f64),
        ConfigValue::Str(s) => py_float(s),
    }
}

/// Python's `int(str)`.
pub fn py_int(s: &str) -> Option<i64> {
    let t = s.trim();
    let digits = t.strip_prefix(['+', '-']).unwrap_or(t);
    if digits.is_empty()
        || digits.starts_with('_')
        || digits.ends_with('_')
        || digits.contains("__")
    {
        return None;
    }
    if !digits.bytes().all(|b| b.is_ascii_digit() || b == b'_') {
        return None;
    }
    t.replace('_', "").parse().ok()
}

/// Python's `float(str)`.
pub fn py_float(s: &str) -> Option<f64> {
    let t = s.trim();
    let lower = t.to_ascii_lowercase();
    match lower.trim_start_matches(['+', '-']) {
        "inf" | "infinity" => {
            return Some(if lower.starts_with('-') {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            })
        }
        "nan" => return Some(f64::NAN),
        _ => {}
    }
    if t.is_empty() || !t.bytes().any(|b| b.is_ascii_digit()) {
        return None;
    }
    t.replace('_', "").parse().ok()
}

/// smclarify's continuous path: the single threshold (converted with
/// `float()` when it is not a number) and `_interval_index`. `extra_max` is
/// the predicted labels' maximum, which post-training includes.
pub fn continuous(
    col: &TypedColumn,
    configured: &[ConfigValue],
    extra_max: Option<Number>,
) -> Result<(Selection, String), String> {
    let Some(first) = configured.first() else {
        return Err("Threshold values must be provided for continuous features".into());
    };
    let threshold = match first {
        ConfigValue::Int(i) => Number {
            value: *i as f64,
            is_int: true,
        },
        ConfigValue::Bool(b) => Number {
            value: *b as i64 as f64,
            is_int: true,
        },
        ConfigValue::Float(f) => Number {
            value: *f,
            is_int: false,
        },
        ConfigValue::Str(s) => match py_float(s) {
            Some(f) => Number {
                value: f,
                is_int: false,
            },
            None => return Err(
                "Facet/label value provided must be a single numeric threshold for continuous data"
                    .into(),
            ),
        },
    };
    let max = match (col.max(), extra_max) {
        (Some(a), Some(b)) => Some(if b.value > a.value {
            Number {
                is_int: a.is_int && b.is_int,
                ..b
            }
        } else {
            Number {
                is_int: a.is_int && b.is_int,
                ..a
            }
        }),
        (a, b) => a.or(b),
    };
    let Some(max) = max else {
        return Ok((Selection::Nothing, String::new()));
    };
    // `abs(max_value) not in thresholds`: the max is only added when its
    // absolute value differs from the threshold (a quirk for negative maxima).
    if max.value.abs() == threshold.value {
        return Ok((Selection::Nothing, String::new()));
    }
    let (lo, hi) = if threshold.value <= max.value {
        (threshold, max)
    } else {
        (max, threshold)
    };
    let ints = lo.is_int && hi.is_int;
    let show = |n: Number| {
        if ints {
            format!("{}", n.value as i64)
        } else {
            pyfmt::float(n.value)
        }
    };
    let text = format!("({}, {}]", show(lo), show(hi));
    Ok((
        Selection::Interval {
            lo: lo.value,
            hi: hi.value,
        },
        text,
    ))
}

/// The max of a column, for the post-training interval over label ∪ prediction.
pub fn column_max(col: &TypedColumn) -> Option<Number> {
    col.max()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(cells: &[&str]) -> TypedColumn {
        let mut counts: FxHashMap<Key, u64> = FxHashMap::default();
        for c in cells {
            let mut k = Vec::new();
            crate::dataset::value::CellRef::Text(c.as_bytes()).encode_into(&mut k);
            *counts.entry(k.into()).or_insert(0) += 1;
        }
        let mut zero = Vec::new();
        crate::dataset::value::CellRef::Text(cells[0].as_bytes()).encode_into(&mut zero);
        TypedColumn::new(counts.iter().map(|(k, n)| (k, *n)), &zero.into())
    }

    #[test]
    fn detects_types_like_smclarify() {
        let ints: Vec<String> = (0..100).map(|i| (i % 2).to_string()).collect();
        let refs: Vec<&str> = ints.iter().map(String::as_str).collect();
        assert_eq!(
            column(&refs).data_type(Some(&[ConfigValue::Int(1)])),
            DataType::Categorical
        );
        assert_eq!(
            column(&["0.0", "1.0"]).data_type(None),
            DataType::Continuous
        );
        assert_eq!(
            column(&["1", "2", "3"]).data_type(None),
            DataType::Continuous
        );
        assert_eq!(
            column(&["1", "2", "3"]).data_type(Some(&[ConfigValue::Int(1), ConfigValue::Int(2)])),
            DataType::Categorical
        );
        assert_eq!(column(&["a", "b"]).data_type(None), DataType::Categorical);
    }

    #[test]
    fn categorical_retries_with_the_type_of_row_zero() {
        let col = column(&["a", "1", "b"]);
        let sel = categorical(&col, &[ConfigValue::Int(1)]).unwrap();
        assert!(sel.contains(&Value::Str("1".into())));
        let col = column(&["True", "False"]);
        // np.bool_("False") is True: both strings select the True rows.
        let sel = categorical(&col, &[ConfigValue::Str("False".into())]).unwrap();
        assert!(sel.contains(&Value::Bool(true)) && !sel.contains(&Value::Bool(false)));
    }

    #[test]
    fn intervals_print_like_pandas() {
        let col = column(&["20", "75", "40"]);
        let (sel, text) = continuous(&col, &[ConfigValue::Int(40)], None).unwrap();
        assert_eq!(text, "(40, 75]");
        assert!(sel.contains(&Value::Int(75)) && !sel.contains(&Value::Int(40)));
        let (_, text) = continuous(&col, &[ConfigValue::Str("40".into())], None).unwrap();
        assert_eq!(text, "(40.0, 75.0]");
        let (sel, text) = continuous(&col, &[ConfigValue::Int(75)], None).unwrap();
        assert_eq!((text.as_str(), sel.contains(&Value::Int(75))), ("", false));
        assert!(continuous(&col, &[ConfigValue::Str("old".into())], None).is_err());
    }
}
