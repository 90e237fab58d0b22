//! Cells as read, and the column types pandas would give them.
//!
//! A CSV cell is untyped text until the whole column has been seen: pandas
//! makes a column `int64` only if every cell is an integer, `float64` if every
//! cell is a number or missing, and so on. smclarify's decisions (categorical
//! or continuous, how a value prints) follow that column type, so readers keep
//! cells raw and [`ColumnKind::infer`] types a column from its distinct values.

use std::cmp::Ordering;
use std::hash::{Hash, Hasher};

/// A borrowed cell, as a reader hands it out.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CellRef<'a> {
    /// Empty or absent.
    Missing,
    /// Untyped text from a CSV file.
    Text(&'a [u8]),
    /// A JSON or Parquet string.
    Str(&'a str),
    /// An integer.
    Int(i64),
    /// A floating-point number.
    Float(f64),
    /// A boolean.
    Bool(bool),
}

/// An owned cell: the same variants as [`CellRef`].
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// Empty or absent.
    Missing,
    /// Untyped text from a CSV file.
    Text(Box<[u8]>),
    /// A JSON or Parquet string.
    Str(Box<str>),
    /// An integer.
    Int(i64),
    /// A floating-point number.
    Float(f64),
    /// A boolean.
    Bool(bool),
}

impl Cell {
    /// Borrows the cell.
    pub fn as_ref(&self) -> CellRef<'_> {
        match self {
            Cell::Missing => CellRef::Missing,
            Cell::Text(t) => CellRef::Text(t),
            Cell::Str(s) => CellRef::Str(s),
            Cell::Int(i) => CellRef::Int(*i),
            Cell::Float(f) => CellRef::Float(*f),
            Cell::Bool(b) => CellRef::Bool(*b),
        }
    }
}

impl CellRef<'_> {
    /// Copies the cell into an owned one.
    pub fn to_owned(self) -> Cell {
        match self {
            CellRef::Missing => Cell::Missing,
            CellRef::Text(t) => Cell::Text(t.into()),
            CellRef::Str(s) => Cell::Str(s.into()),
            CellRef::Int(i) => Cell::Int(i),
            CellRef::Float(f) => Cell::Float(f),
            CellRef::Bool(b) => Cell::Bool(b),
        }
    }

    /// Appends a compact, type-tagged byte encoding used as a hash key.
    /// Two cells encode equally exactly when they are the same raw cell.
    pub fn encode_into(self, buf: &mut Vec<u8>) {
        match self {
            CellRef::Missing => buf.push(b'N'),
            CellRef::Text(t) => {
                buf.push(b'T');
                buf.extend_from_slice(t);
            }
            CellRef::Str(s) => {
                buf.push(b'S');
                buf.extend_from_slice(s.as_bytes());
            }
            CellRef::Int(i) => {
                buf.push(b'I');
                buf.extend_from_slice(&i.to_le_bytes());
            }
            CellRef::Float(f) => {
                buf.push(b'F');
                buf.extend_from_slice(&f.to_bits().to_le_bytes());
            }
            CellRef::Bool(b) => {
                buf.push(b'B');
                buf.push(b as u8);
            }
        }
    }
}

/// Decodes a key written by [`CellRef::encode_into`].
pub fn decode_key(key: &[u8]) -> Cell {
    let body = &key[1..];
    let eight = || <[u8; 8]>::try_from(body).expect("numeric keys hold 8 bytes");
    match key[0] {
        b'T' => Cell::Text(body.into()),
        b'S' => Cell::Str(String::from_utf8_lossy(body).into()),
        b'I' => Cell::Int(i64::from_le_bytes(eight())),
        b'F' => Cell::Float(f64::from_bits(u64::from_le_bytes(eight()))),
        b'B' => Cell::Bool(body[0] == 1),
        _ => Cell::Missing,
    }
}

/// A typed value, after the column's type is known.
#[derive(Debug, Clone)]
pub enum Value {
    /// NaN / None: equal to nothing, never inside an interval.
    Missing,
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A string.
    Str(String),
}

impl Value {
    /// The value as a number, if it is one (booleans count, as in Python).
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Float(f) if !f.is_nan() => Some(*f),
            Value::Bool(b) => Some(*b as i64 as f64),
            _ => None,
        }
    }

    /// Python's `str()` of the value, as smclarify prints group names.
    pub fn py_str(&self) -> String {
        match self {
            Value::Missing => "nan".into(),
            Value::Bool(true) => "True".into(),
            Value::Bool(false) => "False".into(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => crate::pyfmt::float(*f),
            Value::Str(s) => s.clone(),
        }
    }

    /// Python `==` between two values (numbers compare by value, `1 == True`).
    pub fn py_eq(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Missing, _) | (_, Value::Missing) => false,
            (Value::Str(a), Value::Str(b)) => a == b,
            (Value::Str(_), _) | (_, Value::Str(_)) => false,
            (a, b) => a.as_f64() == b.as_f64(),
        }
    }

    /// Whether the value is missing (NaN or None).
    pub fn is_missing(&self) -> bool {
        matches!(self, Value::Missing) || matches!(self, Value::Float(f) if f.is_nan())
    }
}

impl PartialEq for Value {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Value {}

impl Hash for Value {
    fn hash<H: Hasher>(&self, state: &mut H) {
        match self {
            Value::Missing => 0u8.hash(state),
            Value::Bool(b) => (1u8, *b).hash(state),
            Value::Int(i) => (2u8, *i).hash(state),
            Value::Float(f) => (3u8, f.to_bits()).hash(state),
            Value::Str(s) => (4u8, s).hash(state),
        }
    }
}

impl PartialOrd for Value {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Value {
    /// A total order for grouping and sorting: numbers by value, then strings.
    fn cmp(&self, other: &Self) -> Ordering {
        fn rank(v: &Value) -> u8 {
            match v {
                Value::Missing => 3,
                Value::Str(_) => 2,
                Value::Float(f) if f.is_nan() => 3,
                _ => 1,
            }
        }
        match (self, other) {
            (Value::Str(a), Value::Str(b)) => a.cmp(b),
            (Value::Int(a), Value::Int(b)) => a.cmp(b),
            (Value::Bool(a), Value::Bool(b)) => a.cmp(b),
            (Value::Float(a), Value::Float(b)) => a.total_cmp(b),
            (a, b) if rank(a) == 1 && rank(b) == 1 => {
                let (x, y) = (a.as_f64().unwrap_or(0.0), b.as_f64().unwrap_or(0.0));
                x.total_cmp(&y).then(kind_order(a).cmp(&kind_order(b)))
            }
            (a, b) => rank(a).cmp(&rank(b)),
        }
    }
}

fn kind_order(v: &Value) -> u8 {
    match v {
        Value::Bool(_) => 0,
        Value::Int(_) => 1,
        _ => 2,
    }
}

/// The pandas dtype a column would get when read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    /// Every value an integer, none missing.
    Int,
    /// Numbers with at least one float or missing value.
    Float,
    /// Only booleans, none missing.
    Bool,
    /// Anything else: strings, or a mix (pandas `object`).
    Object,
}

/// Strings pandas' `read_csv` reads as missing by default.
const NA_STRINGS: &[&str] = &[
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
    "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
];

/// What a CSV text cell can be read as.
#[derive(Debug, Clone, Copy, PartialEq)]
enum TextKind {
    Missing,
    Int(i64),
    Float(f64),
    Bool(bool),
    Str,
}

fn classify_text(t: &[u8]) -> TextKind {
    let Ok(s) = std::str::from_utf8(t) else {
        return TextKind::Str;
    };
    let trimmed = s.trim();
    if NA_STRINGS.contains(&trimmed) {
        return TextKind::Missing;
    }
    if let Ok(i) = trimmed.parse::<i64>() {
        return TextKind::Int(i);
    }
    if let Some(f) = parse_float(trimmed) {
        return TextKind::Float(f);
    }
    match trimmed {
        "True" | "TRUE" | "true" => TextKind::Bool(true),
        "False" | "FALSE" | "false" => TextKind::Bool(false),
        _ => TextKind::Str,
    }
}

/// Parses a float the way pandas' CSV reader accepts it (`inf`, `-Infinity`...).
pub fn parse_float(s: &str) -> Option<f64> {
    let lower = s.to_ascii_lowercase();
    match lower.trim_start_matches(['+', '-']) {
        "inf" | "infinity" => {
            return Some(if lower.starts_with('-') {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            });
        }
        "nan" => return None,
        _ => {}
    }
    s.parse::<f64>()
        .ok()
        .filter(|_| s.bytes().any(|b| b.is_ascii_digit()))
}

impl ColumnKind {
    /// Infers the pandas dtype from the distinct raw cells of a column.
    pub fn infer<'a>(cells: impl IntoIterator<Item = &'a Cell>) -> ColumnKind {
        let (mut missing, mut ints, mut floats, mut bools, mut strs) =
            (false, false, false, false, false);
        for cell in cells {
            match cell {
                Cell::Missing => missing = true,
                Cell::Int(_) => ints = true,
                Cell::Float(f) if f.is_nan() => missing = true,
                Cell::Float(_) => floats = true,
                Cell::Bool(_) => bools = true,
                Cell::Str(_) => strs = true,
                Cell::Text(t) => match classify_text(t) {
                    TextKind::Missing => missing = true,
                    TextKind::Int(_) => ints = true,
                    TextKind::Float(_) => floats = true,
                    TextKind::Bool(_) => bools = true,
                    TextKind::Str => strs = true,
                },
            }
        }
        if strs || (bools && (ints || floats || missing)) {
            ColumnKind::Object
        } else if bools {
            ColumnKind::Bool
        } else if floats || missing {
            // pandas reads an integer column with a gap, or one with nothing
            // but gaps, as float64.
            ColumnKind::Float
        } else {
            ColumnKind::Int
        }
    }

    /// Types one raw cell the way pandas does for a column of this kind.
    pub fn value_of(self, cell: &Cell) -> Value {
        match cell {
            Cell::Missing => Value::Missing,
            Cell::Float(f) if f.is_nan() => Value::Missing,
            Cell::Text(t) => {
                let kind = classify_text(t);
                match (self, kind) {
                    (_, TextKind::Missing) => Value::Missing,
                    (ColumnKind::Int, TextKind::Int(i)) => Value::Int(i),
                    (ColumnKind::Float, TextKind::Int(i)) => Value::Float(i as f64),
                    (ColumnKind::Float, TextKind::Float(f)) => Value::Float(f),
                    (ColumnKind::Bool, TextKind::Bool(b)) => Value::Bool(b),
                    _ => Value::Str(String::from_utf8_lossy(t).into_owned()),
                }
            }
            Cell::Str(s) => Value::Str(s.to_string()),
            Cell::Int(i) if self == ColumnKind::Float => Value::Float(*i as f64),
            Cell::Int(i) => Value::Int(*i),
            Cell::Float(f) => Value::Float(*f),
            Cell::Bool(b) => Value::Bool(*b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Cell {
        Cell::Text(s.as_bytes().into())
    }

    #[test]
    fn csv_columns_type_like_pandas() {
        assert_eq!(ColumnKind::infer(&[text("1"), text("2")]), ColumnKind::Int);
        assert_eq!(ColumnKind::infer(&[text("1"), text("")]), ColumnKind::Float);
        assert_eq!(
            ColumnKind::infer(&[text("1"), text("2.5")]),
            ColumnKind::Float
        );
        assert_eq!(
            ColumnKind::infer(&[text("True"), text("false")]),
            ColumnKind::Bool
        );
        assert_eq!(
            ColumnKind::infer(&[text("True"), text("")]),
            ColumnKind::Object
        );
        assert_eq!(
            ColumnKind::infer(&[text("a"), text("1")]),
            ColumnKind::Object
        );
        assert_eq!(
            ColumnKind::infer(&[text("inf"), text("1")]),
            ColumnKind::Float
        );
    }

    #[test]
    fn values_follow_the_column_type() {
        assert_eq!(ColumnKind::Float.value_of(&text("1")), Value::Float(1.0));
        assert_eq!(
            ColumnKind::Object.value_of(&text("1")),
            Value::Str("1".into())
        );
        assert!(ColumnKind::Int.value_of(&text("NA")).is_missing());
        assert_eq!(Value::Float(1.0).py_str(), "1.0");
        assert!(Value::Int(1).py_eq(&Value::Float(1.0)));
        assert!(!Value::Int(1).py_eq(&Value::Str("1".into())));
    }

    #[test]
    fn keys_round_trip() {
        for cell in [
            Cell::Missing,
            text("ab"),
            Cell::Str("x".into()),
            Cell::Int(-3),
            Cell::Float(2.5),
            Cell::Bool(true),
        ] {
            let mut buf = Vec::new();
            cell.as_ref().encode_into(&mut buf);
            assert_eq!(decode_key(&buf), cell);
        }
    }
}
