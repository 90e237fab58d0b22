//! The plan and state files: what they were made from, then their body.
//!
//! Layout, all integers little-endian:
//!
//! | bytes | field |
//! |---|---|
//! | 8 | magic `OCLARIFY` |
//! | 2 | format version ([`FORMAT_VERSION`]) |
//! | 1 | kind: 1 plan, 2 state |
//! | 1 + n | openclarify version: length, then UTF-8 |
//! | 8 | fingerprint of the config file's bytes |
//! | 8 | fingerprint of the plan's body (0 in a plan) |
//! | rest | gzip of the body in postcard (serde, field order is the schema) |
//!
//! The header is read by hand before the body, so a file from another
//! format version, openclarify version, config or plan is refused with a
//! sentence saying which, rather than failing to decode. A state can also
//! travel as text: base64 of these bytes, one state per line (what
//! `partial --output -` prints for Spark's `RDD.pipe`).

use crate::error::{JobError, Result};
use base64::Engine;
use serde::{de::DeserializeOwned, Serialize};
use std::io::{Read, Write};
use std::path::Path;

const MAGIC: &[u8; 8] = b"OCLARIFY";

/// The layout version of plan and state files; bump it when a serialised
/// type changes. 2: the job plan gained a slot per analysis (bias's says
/// whether the model supplies the predicted labels). 4: time-series slots
/// in the job plan and state, plans without a table shard format, and the
/// text columns and units of the explain plan and state. 5: image slots in
/// the job plan and state.
pub const FORMAT_VERSION: u16 = 5;

/// The openclarify version that writes and accepts files.
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// What a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Written by `openclarify plan`.
    Plan = 1,
    /// Written by `openclarify partial`.
    State = 2,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Plan => "plan",
            Kind::State => "state",
        }
    }

    fn command(self) -> &'static str {
        match self {
            Kind::Plan => "openclarify plan",
            Kind::State => "openclarify partial",
        }
    }
}

/// What a file was made from: checked before its body is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Origin {
    /// Fingerprint of the config file.
    pub config: u64,
    /// Fingerprint of the plan's body (0 for a plan itself).
    pub plan: u64,
}

/// A 64-bit FNV-1a fingerprint: stable across versions and platforms, to
/// tell files made from different inputs apart (not a security measure).
pub fn fingerprint(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The body's encoding, whose fingerprint a plan is known by.
pub fn encode_body<T: Serialize>(body: &T) -> Result<Vec<u8>> {
    postcard::to_stdvec(body)
        .map_err(|e| JobError::algorithm(format!("Cannot encode the plan or state: {e}")))
}

/// The bytes of a file of `kind` made from `origin`, holding `body` (as
/// [`encode_body`] gives it).
pub fn encode(kind: Kind, origin: Origin, body: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(body.len() / 4 + 64);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.push(kind as u8);
    out.push(VERSION.len() as u8);
    out.extend_from_slice(VERSION.as_bytes());
    out.extend_from_slice(&origin.config.to_le_bytes());
    out.extend_from_slice(&origin.plan.to_le_bytes());
    let mut gz = flate2::write::GzEncoder::new(out, flate2::Compression::fast());
    gz.write_all(body)
        .and_then(|()| gz.finish())
        .map_err(|e| JobError::algorithm(format!("Cannot compress the plan or state: {e}")))
}

/// The text form of a file: one base64 line.
pub fn to_text(bytes: &[u8]) -> String {
    let mut line = base64::engine::general_purpose::STANDARD.encode(bytes);
    line.push('\n');
    line
}

/// The files stored at `path`: the binary form, or one base64 line per
/// file.
pub fn read_all(path: &Path) -> Result<Vec<Vec<u8>>> {
    let bytes = std::fs::read(path)
        .map_err(|e| JobError::client(format!("Cannot read {}: {e}", path.display())))?;
    if bytes.starts_with(MAGIC) {
        return Ok(vec![bytes]);
    }
    let not_ours = || {
        JobError::client(format!(
            "{} is not a plan or state written by openclarify (neither its binary form nor base64 lines of it).",
            path.display()
        ))
    };
    let text = std::str::from_utf8(&bytes).map_err(|_| not_ours())?;
    let files: Vec<Vec<u8>> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|line| {
            base64::engine::general_purpose::STANDARD
                .decode(line)
                .ok()
                .filter(|b| b.starts_with(MAGIC))
                .ok_or_else(not_ours)
        })
        .collect::<Result<_>>()?;
    match files.is_empty() {
        true => Err(not_ours()),
        false => Ok(files),
    }
}

/// The body of a file read from `path`, after checking it is a `kind` of
/// this format and openclarify version, made from `expected` (its plan
/// fingerprint is not checked when `expected.plan` is 0). Returns the raw
/// body too, whose fingerprint identifies a plan.
pub fn decode<T: DeserializeOwned>(
    bytes: &[u8],
    path: &Path,
    kind: Kind,
    expected: Origin,
) -> Result<(T, Vec<u8>)> {
    let shown = path.display();
    let refuse = |why: String| {
        JobError::client(format!(
            "{shown} is refused: {why}. Make it again with `{}` from the same config, plan and openclarify binary.",
            kind.command()
        ))
    };
    let short = || refuse(format!("it is cut short, not a whole {}", kind.name()));
    if !bytes.starts_with(MAGIC) {
        return Err(refuse(format!(
            "it is not an openclarify {} file",
            kind.name()
        )));
    }
    let mut at = MAGIC.len();
    let mut take = |n: usize| -> Result<&[u8]> {
        let slice = bytes.get(at..at + n).ok_or_else(short)?;
        at += n;
        Ok(slice)
    };
    let format = u16::from_le_bytes(take(2)?.try_into().unwrap_or_default());
    if format != FORMAT_VERSION {
        return Err(refuse(format!(
            "it has file format {format}, and this openclarify reads format {FORMAT_VERSION}"
        )));
    }
    let found = take(1)?[0];
    if found != kind as u8 {
        let other = if found == Kind::Plan as u8 {
            "a plan"
        } else {
            "a state"
        };
        return Err(refuse(format!("it is {other}, not a {}", kind.name())));
    }
    let version_len = usize::from(take(1)?[0]);
    let version = String::from_utf8_lossy(take(version_len)?).into_owned();
    if version != VERSION {
        return Err(refuse(format!(
            "it was written by openclarify {version}, and this is openclarify {VERSION}"
        )));
    }
    let mut word =
        || -> Result<u64> { Ok(u64::from_le_bytes(take(8)?.try_into().unwrap_or_default())) };
    let (config, plan) = (word()?, word()?);
    if config != expected.config {
        return Err(refuse(format!(
            "it was made with another analysis config (fingerprint {config:016x}, this one is {:016x})",
            expected.config
        )));
    }
    if expected.plan != 0 && plan != expected.plan {
        return Err(refuse(format!(
            "it was computed with another plan (fingerprint {plan:016x}, this one is {:016x})",
            expected.plan
        )));
    }
    let mut body = Vec::new();
    flate2::read::GzDecoder::new(&bytes[at..])
        .read_to_end(&mut body)
        .map_err(|_| short())?;
    let value = postcard::from_bytes(&body)
        .map_err(|e| refuse(format!("its body cannot be decoded ({e})")))?;
    Ok((value, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin() -> Origin {
        Origin { config: 7, plan: 9 }
    }

    #[test]
    fn a_file_round_trips_in_binary_and_text() {
        let body = encode_body(&(1u32, "x".to_string())).unwrap();
        let bytes = encode(Kind::State, origin(), &body).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s");
        std::fs::write(&path, to_text(&bytes).repeat(2)).unwrap();
        let files = read_all(&path).unwrap();
        assert_eq!(files, vec![bytes.clone(), bytes.clone()]);
        let (value, raw): ((u32, String), _) =
            decode(&files[0], &path, Kind::State, origin()).unwrap();
        assert_eq!((value, raw), ((1, "x".to_string()), body));
    }

    #[test]
    fn mismatches_are_refused_with_the_reason() {
        let body = encode_body(&1u32).unwrap();
        let bytes = encode(Kind::State, origin(), &body).unwrap();
        let path = Path::new("1.state");
        let refused = |kind, expected| {
            decode::<u32>(&bytes, path, kind, expected)
                .unwrap_err()
                .message
        };
        let other_config = Origin { config: 8, plan: 9 };
        assert!(refused(Kind::State, other_config).contains("another analysis config"));
        let other_plan = Origin { config: 7, plan: 1 };
        assert!(refused(Kind::State, other_plan).contains("another plan"));
        assert!(refused(Kind::Plan, origin()).contains("is a state, not a plan"));
        let mut old = bytes.clone();
        old[8] = 0;
        assert!(decode::<u32>(&old, path, Kind::State, origin())
            .unwrap_err()
            .message
            .contains("file format 0"));
        let mut newer = bytes.clone();
        newer[12] = b'9';
        assert!(decode::<u32>(&newer, path, Kind::State, origin())
            .unwrap_err()
            .message
            .contains("written by openclarify 9"));
        let cut = &bytes[..12];
        assert!(decode::<u32>(cut, path, Kind::State, origin())
            .unwrap_err()
            .message
            .contains("cut short"));
    }
}
