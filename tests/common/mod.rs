//! Helpers for end-to-end tests: run the real binary the way a user does.
#![allow(dead_code)] // each test binary uses a different subset

use serde_json::Value as Json;
use std::io::{BufRead, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The features of `test-fixtures/german.csv`, in column order (the label,
/// `risk`, comes first in the file).
pub const GERMAN_FEATURES: [&str; 9] = [
    "sex",
    "job",
    "housing",
    "saving_accounts",
    "checking_account",
    "credit_amount",
    "duration",
    "purpose",
    "age",
];

/// The columns of `test-fixtures/german.csv`: the label `risk`, then the features.
pub fn german_headers() -> Vec<&'static str> {
    std::iter::once("risk").chain(GERMAN_FEATURES).collect()
}

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
    run_job_with(config, data, out, &[])
}

/// [`run_job`] with extra arguments (an endpoint URL, retry settings...).
pub fn run_job_with(config: &Path, data: &Path, out: &Path, extra: &[&str]) -> Output {
    let failure = out.parent().unwrap().join("message");
    let mut args = vec![
        "run",
        "--config",
        config.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
        "--failure-file",
        failure.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    openclarify(&args)
}

/// [`run_job_with`] that must succeed: panics with the failure file's
/// sentence and stderr otherwise.
pub fn run_job_ok(config: &Path, data: &Path, out: &Path, extra: &[&str]) {
    let result = run_job_with(config, data, out, extra);
    assert!(
        result.status.success(),
        "job failed: {}\n{}",
        std::fs::read_to_string(out.parent().unwrap().join("message")).unwrap_or_default(),
        String::from_utf8_lossy(&result.stderr)
    );
}

/// The objects of a JSON Lines file, in order.
pub fn read_json_lines(path: &Path) -> Vec<Json> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

/// `openclarify demo-model` running on a free loopback port; stopped on drop.
pub struct DemoModel {
    child: std::process::Child,
    /// Base URL, e.g. `http://127.0.0.1:41234`.
    pub url: String,
}

impl DemoModel {
    /// Starts the demo model with extra arguments (`--fail-every 3`...) and
    /// waits until `/ping` answers.
    pub fn start(extra: &[&str]) -> DemoModel {
        let port = free_port();
        let child = Command::new(env!("CARGO_BIN_EXE_openclarify"))
            .args([
                "demo-model",
                "--host",
                "127.0.0.1",
                "--port",
                &port.to_string(),
            ])
            .args(extra)
            .env("OPENCLARIFY_LOG", "warn")
            .spawn()
            .expect("demo model starts");
        let model = DemoModel {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        for _ in 0..200 {
            if ping(port) {
                return model;
            }
            std::thread::sleep(std::time::Duration::from_millis(25));
        }
        panic!("the demo model did not answer /ping on port {port}");
    }
}

impl Drop for DemoModel {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `openclarify merge` of the `states` files, in that order, into `out`;
/// panics with its stderr when it fails.
pub fn merge_states(config: &Path, plan: &Path, states: &[PathBuf], out: &Path) {
    let path = |p: &Path| p.to_str().unwrap().to_string();
    let mut args = vec![
        "merge".to_string(),
        "--config".into(),
        path(config),
        "--plan".into(),
        path(plan),
        "--partials".into(),
    ];
    args.extend(states.iter().map(|p| path(p)));
    args.extend(["--output".into(), path(out)]);
    succeed(
        "merge",
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
    );
}

/// A loopback port nothing listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port()
}

fn ping(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let mut answer = String::new();
    stream
        .write_all(b"GET /ping HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .and_then(|_| stream.read_to_string(&mut answer))
        .is_ok()
        && answer.starts_with("HTTP/1.1 200")
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
    let differences = json_differences(got, want, path);
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}

/// Every place where two JSON documents differ (numbers compared to 1e-9
/// relative), as `path: got != want` lines; empty when they agree.
pub fn json_differences(got: &Json, want: &Json, path: &str) -> Vec<String> {
    match (got, want) {
        (Json::Number(a), Json::Number(b)) => {
            let (a, b) = (a.as_f64().unwrap(), b.as_f64().unwrap());
            if a == b || (a - b).abs() <= 1e-9 * a.abs().max(b.abs()) {
                vec![]
            } else {
                vec![format!("{path}: {a} != {b}")]
            }
        }
        (Json::Array(a), Json::Array(b)) if a.len() == b.len() => a
            .iter()
            .zip(b)
            .enumerate()
            .flat_map(|(i, (x, y))| json_differences(x, y, &format!("{path}[{i}]")))
            .collect(),
        (Json::Object(a), Json::Object(b)) if a.keys().eq(b.keys()) => a
            .iter()
            .flat_map(|(k, v)| json_differences(v, &b[k], &format!("{path}.{k}")))
            .collect(),
        _ if got == want => vec![],
        _ => vec![format!("{path}: {got} != {want}")],
    }
}

/// The demo config reduced to the named `methods` (e.g. only
/// `pre_training_bias`, which needs no model), written into `dir`.
pub fn demo_config(dir: &Path, methods: &[&str]) -> PathBuf {
    let mut config = read_json(&fixtures().join("demo/analysis_config.json"));
    config["methods"]
        .as_object_mut()
        .unwrap()
        .retain(|method, _| methods.contains(&method.as_str()));
    let path = dir.join(format!("demo_{}.json", methods.join("+")));
    std::fs::write(&path, config.to_string()).unwrap();
    path
}

/// `openclarify plan` of `config` over german credit into `plan`, which
/// must succeed; the `partial` tests start from it.
pub fn plan_german(config: &Path, plan: &Path) {
    plan_job(config, &fixtures().join("german.csv"), plan);
}

/// `openclarify plan` of `config` over `data` into `plan`; panics with its
/// stderr when it fails.
pub fn plan_job(config: &Path, data: &Path, plan: &Path) {
    let path = |p: &Path| p.to_str().unwrap().to_string();
    let args = ["plan", "--config", &path(config), "--data", &path(data)];
    succeed("plan", &[&args[..], &["--output", &path(plan)]].concat());
}

/// `openclarify partial` of the shard `data` into `state` with `extra`
/// arguments (the model's URL, a row offset); panics with its stderr when
/// it fails.
pub fn partial_state(config: &Path, plan: &Path, data: &Path, state: &Path, extra: &[&str]) {
    let path = |p: &Path| p.to_str().unwrap().to_string();
    let (config, plan, data, state) = (path(config), path(plan), path(data), path(state));
    let args = [
        "partial", "--config", &config, "--plan", &plan, "--data", &data, "--output", &state,
    ];
    succeed("partial", &[&args[..], extra].concat());
}

/// Runs `openclarify` with `args`; panics with `what` and its stderr when
/// it fails.
fn succeed(what: &str, args: &[&str]) {
    let done = openclarify(args);
    assert!(
        done.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&done.stderr)
    );
}

/// Every file under `dir` (none when it does not exist) with its contents,
/// by path relative to `dir`, sorted.
pub fn files_under(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut found = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                todo.push(path);
            } else {
                let name = path.strip_prefix(dir).unwrap().display().to_string();
                found.push((name, std::fs::read(&path).unwrap()));
            }
        }
    }
    found.sort();
    found
}

/// A one-route HTTP server on a free port whose answer is computed from
/// the request body, for response shapes the demo model does not produce.
pub struct Scripted {
    /// Base URL, e.g. `http://127.0.0.1:41234`.
    pub url: String,
}

impl Scripted {
    /// Starts the server; `answer` maps a request body to (status, body).
    pub fn start(answer: fn(&str) -> (u16, String)) -> Scripted {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                std::thread::spawn(move || serve_one_connection(stream, answer));
            }
        });
        Scripted { url }
    }
}

fn serve_one_connection(stream: std::net::TcpStream, answer: fn(&str) -> (u16, String)) {
    let mut reader = std::io::BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    loop {
        let mut length = 0;
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        loop {
            line.clear();
            reader.read_line(&mut line).unwrap();
            if line.trim().is_empty() {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().unwrap();
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        let (status, text) = answer(&String::from_utf8_lossy(&body));
        let head = format!(
            "HTTP/1.1 {status} X\r\nContent-Length: {}\r\n\r\n",
            text.len()
        );
        if writer
            .write_all(head.as_bytes())
            .and_then(|_| writer.write_all(text.as_bytes()))
            .is_err()
        {
            return;
        }
    }
}
