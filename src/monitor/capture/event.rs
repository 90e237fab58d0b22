//! The shape of a capture line (or a merged line): `captureData` with the
//! request and the answer, `eventMetadata`, and `groundTruthData`.

use base64::Engine;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

/// One part of a capture line: a request, an answer, or ground truth.
/// Text borrows the line it was parsed from where JSON escapes allow
/// (`'static` when owned): an event is parsed for every captured line.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Payload<'a> {
    /// MIME type the endpoint saw (absent for ground truth).
    #[serde(
        rename = "observedContentType",
        default,
        skip_serializing_if = "Option::is_none",
        borrow
    )]
    pub content_type: Option<Cow<'a, str>>,
    /// The body, as text or base64.
    #[serde(borrow)]
    pub data: Cow<'a, str>,
    /// `CSV`, `JSON` or `BASE64`.
    #[serde(default, borrow)]
    pub encoding: Option<Cow<'a, str>>,
}

impl Payload<'_> {
    /// The same payload owning its text, to be kept after its line is gone.
    pub fn into_owned(self) -> Payload<'static> {
        Payload {
            content_type: self.content_type.map(|t| Cow::Owned(t.into_owned())),
            data: Cow::Owned(self.data.into_owned()),
            encoding: self.encoding.map(|e| Cow::Owned(e.into_owned())),
        }
    }

    /// The body as text, base64 decoded when its encoding says so.
    pub(super) fn text(&self) -> std::result::Result<Cow<'_, str>, String> {
        if !self
            .encoding
            .as_deref()
            .is_some_and(|e| e.eq_ignore_ascii_case("BASE64"))
        {
            return Ok(Cow::Borrowed(&self.data));
        }
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(self.data.trim())
            .map_err(|e| format!("data is not valid base64 ({e})"))?;
        String::from_utf8(bytes)
            .map(Cow::Owned)
            .map_err(|_| "the base64 data is not UTF-8 text".into())
    }

    /// How the body is laid out: by content type, else by encoding, else
    /// by its first character.
    pub(super) fn body(&self, text: &str) -> Body {
        // Compared in place, without a case-folded copy: this runs for
        // every part of every event.
        let is = |value: Option<&str>, names: &[&str]| {
            value.is_some_and(|v| names.iter().any(|n| v.eq_ignore_ascii_case(n)))
        };
        let kind = self
            .content_type
            .as_deref()
            .map(|t| t.split(';').next().unwrap_or("").trim());
        let encoding = self.encoding.as_deref();
        let json_lines = [
            "application/jsonlines",
            "application/x-jsonlines",
            "application/x-ndjson",
        ];
        if is(kind, &["text/csv"]) {
            Body::Csv
        } else if is(kind, &json_lines) {
            Body::JsonLines
        } else if is(kind, &["application/json"]) {
            Body::Json
        } else if is(encoding, &["CSV"]) {
            Body::Csv
        } else if is(encoding, &["JSON"]) || text.trim_start().starts_with(['{', '[']) {
            Body::Json
        } else {
            Body::Csv
        }
    }
}

/// How a body is laid out.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Body {
    /// CSV lines, one record each.
    Csv,
    /// One JSON document.
    Json,
    /// JSON Lines, one record each.
    JsonLines,
}

/// `eventMetadata`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Metadata<'a> {
    /// The capture's own id; ground truth is keyed by it when the request
    /// had no inference id.
    #[serde(rename = "eventId", default, borrow)]
    pub event_id: Option<Cow<'a, str>>,
    /// The caller's `InferenceId`, the preferred join key.
    #[serde(rename = "inferenceId", default, borrow)]
    pub inference_id: Option<Cow<'a, str>>,
    /// When the endpoint answered.
    #[serde(rename = "inferenceTime", default, borrow)]
    pub inference_time: Option<Cow<'a, str>>,
}

impl Metadata<'_> {
    /// The id ground truth joins on: `inferenceId`, else `eventId`.
    pub fn join_key(&self) -> Option<&str> {
        self.inference_id.as_deref().or(self.event_id.as_deref())
    }

    /// How errors name the event.
    pub(super) fn name(&self) -> String {
        match (&self.event_id, &self.inference_id) {
            (Some(e), _) => format!("event {e}"),
            (None, Some(i)) => format!("event with inferenceId {i}"),
            (None, None) => "an event without eventId".into(),
        }
    }
}

/// `captureData`: what the endpoint was asked and what it answered.
#[derive(Debug, Deserialize)]
pub(super) struct CaptureData<'a> {
    /// The request.
    #[serde(rename = "endpointInput", borrow)]
    pub(super) input: Option<Payload<'a>>,
    /// The answer.
    #[serde(rename = "endpointOutput", borrow)]
    pub(super) output: Option<Payload<'a>>,
}

/// One capture line (or merged line), as far as monitoring reads it.
#[derive(Debug, Deserialize)]
pub(super) struct Event<'a> {
    /// The request and the answer.
    #[serde(rename = "captureData", borrow)]
    pub(super) capture: Option<CaptureData<'a>>,
    /// Ids and time.
    #[serde(rename = "eventMetadata", default, borrow)]
    pub(super) metadata: Metadata<'a>,
    /// The ground truth a merged line carries.
    #[serde(rename = "groundTruthData", borrow)]
    pub(super) ground_truth: Option<Payload<'a>>,
}
