//! Helpers for end-to-end tests: run the real binary the way a user does.
#![allow(dead_code)] // each test binary uses a different subset

use serde_json::Value as Json;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository's `test-fixtures/` folder.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("test-fixtures")
}

/// Runs `openclarify` with `args`, returning its output.
pub fn openclarify(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_openclarify"))
        .args(args)
        .env("OPENCLARIFY_LOG", "warn")
        .output()
        .expect("binary runs")
}

/// `openclarify run` on explicit paths, with a failure file in `out`'s parent.
pub fn run_job(config: &Path, data: &Path, out: &Path) -> Output {
    let failure = out.parent().unwrap().join("message");
    openclarify(&[
        "run",
        "--config",
        config.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
        "--failure-file",
        failure.to_str().unwrap(),
    ])
}

/// Reads a JSON file.
pub fn read_json(path: &Path) -> Json {
    serde_json::from_slice(
        &std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
    .unwrap()
}

/// Asserts two JSON documents are equal, numbers to 1e-9 relative.
pub fn assert_close(got: &Json, want: &Json, path: &str) {
    match (got, want) {
        (Json::Number(a), Json::Number(b)) => {
            let (a, b) = (a.as_f64().unwrap(), b.as_f64().unwrap());
            assert!(
                a == b || (a - b).abs() <= 1e-9 * a.abs().max(b.abs()),
                "{path}: {a} != {b}"
            );
        }
        (Json::Array(a), Json::Array(b)) => {
            assert_eq!(a.len(), b.len(), "{path}: lengths differ");
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                assert_close(x, y, &format!("{path}[{i}]"));
            }
        }
        (Json::Object(a), Json::Object(b)) => {
            let (ka, kb): (Vec<_>, Vec<_>) = (a.keys().collect(), b.keys().collect());
            assert_eq!(ka, kb, "{path}: keys differ");
            for (k, v) in a {
                assert_close(v, &b[k], &format!("{path}.{k}"));
            }
        }
        _ => assert_eq!(got, want, "{path}"),
    }
}
