//! End-to-end tests: a server on a local port, driven over HTTP with reqwest.

use super::*;
use clap::Parser;
use std::time::Instant;

/// Two German credit applicants, features only, in the model's column order.
const APPLICANTS: [&str; 2] = [
    "male,2,own,not_known,little,1169,6,radio/TV,67",
    "female,2,own,little,moderate,5951,48,radio/TV,22",
];

struct Reply {
    status: StatusCode,
    content_type: String,
    body: String,
}

async fn post(
    address: SocketAddr,
    content_type: &str,
    accept: Option<&str>,
    body: String,
) -> Reply {
    let mut request = reqwest::Client::new()
        .post(format!("http://{address}/invocations"))
        .header("Content-Type", content_type)
        .body(body);
    if let Some(accept) = accept {
        request = request.header("Accept", accept);
    }
    let response = request.send().await.expect("the server answers");
    let content_type = response
        .headers()
        .get("Content-Type")
        .map_or("", |value| value.to_str().unwrap())
        .to_owned();
    Reply {
        status: response.status(),
        content_type,
        body: response.text().await.unwrap(),
    }
}

async fn start(arguments: &[&str]) -> SocketAddr {
    let options = DemoModelOptions::parse_from(
        std::iter::once("demo-model").chain(arguments.iter().copied()),
    );
    spawn_local(&options).await.expect("the server starts").0
}

/// The applicants' features as JSON arrays, strings quoted and numbers not.
fn applicants_as_json() -> Vec<String> {
    APPLICANTS
        .iter()
        .map(|line| {
            let values: Vec<serde_json::Value> = line
                .split(',')
                .map(|cell| cell.parse::<f64>().map_or_else(|_| cell.into(), Into::into))
                .collect();
            serde_json::to_string(&values).unwrap()
        })
        .collect()
}

/// The applicants encoded by the German credit model.
fn encoded_applicants(model: &Model) -> Vec<Vec<f64>> {
    APPLICANTS
        .iter()
        .map(|line| {
            line.split(',')
                .enumerate()
                .map(|(feature, cell)| model.encode(feature, RawValue::Text(cell)).unwrap())
                .collect()
        })
        .collect()
}

#[tokio::test]
async fn ping_answers_ok() {
    let address = start(&[]).await;
    let response = reqwest::get(format!("http://{address}/ping"))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn every_content_type_round_trips_to_every_accept_type() {
    let address = start(&[]).await;
    let records = applicants_as_json();
    let requests = [
        ("text/csv", APPLICANTS.join("\n")),
        (
            "application/jsonlines",
            records
                .iter()
                .map(|record| format!("{{\"features\":{record}}}\n"))
                .collect(),
        ),
        (
            "application/json",
            format!("{{\"instances\":[{}]}}", records.join(",")),
        ),
        ("application/json", format!("[{}]", records.join(","))),
    ];
    let model = training::german();
    let expected: Vec<Prediction> = encoded_applicants(&model)
        .iter()
        .map(|encoded| model.predict(encoded))
        .collect();
    let csv = expected
        .iter()
        .map(|p| format!("{}\n", p.score))
        .collect::<String>();
    let json_lines = expected
        .iter()
        .map(|p| serde_json::to_string(p).unwrap() + "\n")
        .collect::<String>();
    let json = serde_json::json!({ "predictions": expected }).to_string();
    for (content_type, body) in requests {
        for (accept, answer) in [
            ("text/csv", &csv),
            ("application/jsonlines", &json_lines),
            ("application/json", &json),
        ] {
            let reply = post(address, content_type, Some(accept), body.clone()).await;
            assert_eq!(
                reply.status,
                StatusCode::OK,
                "{content_type} → {accept}: {}",
                reply.body
            );
            assert_eq!(&reply.body, answer, "{content_type} → {accept}");
            assert_eq!(reply.content_type, accept);
        }
        let default = post(address, content_type, None, body).await;
        assert_eq!(
            default.content_type, content_type,
            "Accept defaults to the request's format"
        );
    }
    // A single JSON record, as Clarify sends with a `$record` content template.
    let single = post(
        address,
        "application/json",
        None,
        format!("{{\"features\":{}}}", records[0]),
    )
    .await;
    assert_eq!(
        single.body,
        serde_json::json!({ "predictions": [expected[0]] }).to_string()
    );
}

#[tokio::test]
async fn category_strings_and_their_codes_score_the_same() {
    let address = start(&[]).await;
    let as_codes: Vec<String> = encoded_applicants(&training::german())
        .iter()
        .map(|codes| {
            codes
                .iter()
                .map(f64::to_string)
                .collect::<Vec<_>>()
                .join(",")
        })
        .collect();
    assert_ne!(
        as_codes[0], APPLICANTS[0],
        "the applicants have categorical values"
    );
    let from_strings = post(address, "text/csv", None, APPLICANTS.join("\n")).await;
    let from_codes = post(address, "text/csv", None, as_codes.join("\n")).await;
    assert_eq!(from_strings.status, StatusCode::OK);
    assert_eq!(from_strings.body, from_codes.body);
}

#[tokio::test]
async fn bad_requests_get_a_one_line_reason() {
    let address = start(&[]).await;
    let cases = [
        (
            "text/csv",
            "male,2,own",
            StatusCode::BAD_REQUEST,
            "record 1 has 3 features; the model expects 9\n",
        ),
        (
            "application/json",
            "{\"instances\":",
            StatusCode::BAD_REQUEST,
            "body is not JSON: EOF while parsing a value at line 1 column 13\n",
        ),
        (
            "text/plain",
            "1,2",
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Content-Type must be text/csv, application/jsonlines or application/json\n",
        ),
    ];
    for (content_type, body, status, reason) in cases {
        let reply = post(address, content_type, None, body.into()).await;
        assert_eq!((reply.status, reply.body.as_str()), (status, reason));
    }
    let unacceptable = post(address, "text/csv", Some("text/html"), APPLICANTS[0].into()).await;
    assert_eq!(unacceptable.status, StatusCode::NOT_ACCEPTABLE);
}

#[tokio::test]
async fn every_nth_request_fails_with_the_chosen_status() {
    let address = start(&[
        "--synthetic",
        "2",
        "--fail-every",
        "2",
        "--fail-status",
        "429",
    ])
    .await;
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let reply = post(address, "text/csv", None, "1,2".into()).await;
        statuses.push(reply.status.as_u16());
        if reply.status != StatusCode::OK {
            assert_eq!(
                reply.body,
                format!("injected failure of request {}\n", statuses.len())
            );
        }
    }
    assert_eq!(statuses, [200, 429, 200, 429]);
}

#[tokio::test]
async fn every_nth_answer_drops_its_last_prediction() {
    let address = start(&["--synthetic", "1", "--drop-last-line-every", "3"]).await;
    let mut line_counts = Vec::new();
    for _ in 0..3 {
        let reply = post(
            address,
            "application/jsonlines",
            None,
            "[0]\n[1]\n[2]".into(),
        )
        .await;
        line_counts.push(reply.body.lines().count());
    }
    assert_eq!(line_counts, [3, 3, 2]);
}

#[tokio::test]
async fn the_delay_holds_every_answer_back() {
    let address = start(&["--synthetic", "1", "--delay-ms", "150"]).await;
    let started = Instant::now();
    let reply = post(address, "text/csv", None, "0".into()).await;
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (StatusCode::OK, "0.5\n")
    );
    assert!(
        started.elapsed() >= Duration::from_millis(150),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn the_command_line_rejects_inconsistent_switches() {
    let parse = |arguments: &[&str]| {
        DemoModelOptions::try_parse_from(
            std::iter::once("demo-model").chain(arguments.iter().copied()),
        )
    };
    assert!(
        parse(&["--train", "data.csv"]).is_err(),
        "--train needs --label"
    );
    assert!(parse(&["--train", "data.csv", "--label", "y", "--synthetic", "2"]).is_err());
    assert!(parse(&["--fail-status", "200"]).is_err());
    assert!(parse(&["--synthetic", "0"]).is_err());
    let options = parse(&[
        "--train",
        "data.csv",
        "--label",
        "y",
        "--positive-label",
        "yes",
    ])
    .unwrap();
    assert_eq!(options.positive_label, "yes");
    assert_eq!(DemoModelOptions::default().port, 8080);
}

#[test]
fn training_on_a_file_uses_its_label_column() {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), "size,bought\n1,0\n2,0\n3,1\n4,1\n").unwrap();
    let path = file.path().to_str().unwrap();
    let options =
        DemoModelOptions::parse_from(["demo-model", "--train", path, "--label", "bought"]);
    let model = load_model(&options).unwrap();
    assert_eq!(model.features()[0].name, "size");
    assert!(model.predict(&[4.0]).score > model.predict(&[1.0]).score);
    let missing =
        DemoModelOptions::parse_from(["demo-model", "--train", "/no/such.csv", "--label", "y"]);
    assert!(load_model(&missing)
        .unwrap_err()
        .to_string()
        .contains("cannot read /no/such.csv"));
}
