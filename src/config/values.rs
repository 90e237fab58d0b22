//! The two polymorphic value shapes of the schema, with messages that say
//! what was expected instead of serde's "did not match any variant".

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;
use std::fmt;

/// A column reference: a name (or JMESPath) or a zero-based index.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum NameOrIndex {
    /// Column name, or a JMESPath for JSON datasets.
    Name(String),
    /// Zero-based column index.
    Index(usize),
}

impl fmt::Display for NameOrIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NameOrIndex::Name(n) => write!(f, "{n:?}"),
            NameOrIndex::Index(i) => write!(f, "index {i}"),
        }
    }
}

impl<'de> Deserialize<'de> for NameOrIndex {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = NameOrIndex;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a column name (string) or a zero-based column index (integer)")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<NameOrIndex, E> {
                Ok(NameOrIndex::Name(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<NameOrIndex, E> {
                Ok(NameOrIndex::Index(v as usize))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<NameOrIndex, E> {
                if v < 0 {
                    Err(E::invalid_value(de::Unexpected::Signed(v), &self))
                } else {
                    Ok(NameOrIndex::Index(v as usize))
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// A value from a list like `label_values_or_threshold`.
#[derive(Debug, Clone, PartialEq)]
pub enum ConfigValue {
    /// A JSON integer.
    Int(i64),
    /// A JSON number with a fraction or exponent.
    Float(f64),
    /// A JSON string.
    Str(String),
    /// A JSON boolean.
    Bool(bool),
}

impl ConfigValue {
    /// Python's `str()` of the value as it was written in the config.
    pub fn py_str(&self) -> String {
        match self {
            ConfigValue::Int(i) => i.to_string(),
            ConfigValue::Float(f) => crate::pyfmt::float(*f),
            ConfigValue::Str(s) => s.clone(),
            ConfigValue::Bool(true) => "True".into(),
            ConfigValue::Bool(false) => "False".into(),
        }
    }
}

impl<'de> Deserialize<'de> for ConfigValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = ConfigValue;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number, a string or a boolean")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ConfigValue, E> {
                Ok(ConfigValue::Str(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ConfigValue, E> {
                i64::try_from(v)
                    .map(ConfigValue::Int)
                    .or(Ok(ConfigValue::Float(v as f64)))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<ConfigValue, E> {
                Ok(ConfigValue::Int(v))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<ConfigValue, E> {
                Ok(ConfigValue::Float(v))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<ConfigValue, E> {
                Ok(ConfigValue::Bool(v))
            }
        }
        d.deserialize_any(V)
    }
}
