//! The formats of datasets, request bodies and answers, as one closed set.
//!
//! `dataset_type`, `predictor.content_type` and `predictor.accept_type` are
//! parsed once, when the config is read: case-insensitively, surrounding
//! spaces ignored. A [`Mime`] keeps the lower-cased text for messages and
//! headers, and the [`ContentType`] when it is one openclarify handles; what
//! to do with any other type is each key's own sentence (see `parse.rs`,
//! `predictor/request.rs` and `predictor/response.rs`).

use serde::de::Deserializer;
use serde::{Deserialize, Serialize, Serializer};
use std::fmt;

/// A format openclarify reads or sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentType {
    /// `text/csv`.
    Csv,
    /// `application/jsonlines`.
    JsonLines,
    /// `application/json`.
    Json,
    /// `application/x-parquet` (datasets only).
    Parquet,
}

impl ContentType {
    /// Every format, for lookups.
    const ALL: [ContentType; 4] = [
        ContentType::Csv,
        ContentType::JsonLines,
        ContentType::Json,
        ContentType::Parquet,
    ];

    /// The MIME type, as the config and HTTP headers spell it.
    pub fn mime(self) -> &'static str {
        match self {
            ContentType::Csv => "text/csv",
            ContentType::JsonLines => "application/jsonlines",
            ContentType::Json => "application/json",
            ContentType::Parquet => "application/x-parquet",
        }
    }

    /// The format named by `text`, ignoring case and surrounding spaces.
    pub fn parse(text: &str) -> Option<ContentType> {
        let text = text.trim();
        Self::ALL
            .into_iter()
            .find(|t| t.mime().eq_ignore_ascii_case(text))
    }
}

/// A MIME type from the config: its text, lower-cased and trimmed, and the
/// format it names when openclarify knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mime {
    text: String,
    kind: Option<ContentType>,
}

impl Mime {
    /// The lower-cased text, for messages and headers.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The format, or `None` for a type openclarify does not handle.
    pub fn kind(&self) -> Option<ContentType> {
        self.kind
    }
}

impl From<&str> for Mime {
    fn from(text: &str) -> Mime {
        Mime {
            text: text.trim().to_ascii_lowercase(),
            kind: ContentType::parse(text),
        }
    }
}

impl From<ContentType> for Mime {
    fn from(kind: ContentType) -> Mime {
        Mime {
            text: kind.mime().to_string(),
            kind: Some(kind),
        }
    }
}

impl PartialEq<&str> for Mime {
    fn eq(&self, other: &&str) -> bool {
        self.text == *other
    }
}

impl fmt::Display for Mime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for Mime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(|s| Mime::from(s.as_str()))
    }
}

impl Serialize for Mime {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_parse_case_insensitively_and_keep_their_text() {
        let m = Mime::from(" Application/JSONLines ");
        assert_eq!(m.kind(), Some(ContentType::JsonLines));
        assert_eq!(m.as_str(), "application/jsonlines");
        let other = Mime::from("TEXT/TSV");
        assert_eq!((other.kind(), other.as_str()), (None, "text/tsv"));
        for t in ContentType::ALL {
            assert_eq!(ContentType::parse(t.mime()), Some(t));
        }
    }
}
