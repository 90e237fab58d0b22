//! The HTTP side of the demo model: SageMaker's bring-your-own-container
//! inference contract, `GET /ping` and `POST /invocations`; and SageMaker
//! Runtime's `POST /endpoints/{name}/invocations` (`InvokeEndpoint`, any
//! name), so a client's SDK pointed here with `AWS_ENDPOINT_URL` talks to the
//! model as it would to a real endpoint.

use super::faults::Faults;
use super::forecaster::Forecaster;
use super::formats::{read_records, write_predictions, MediaType};
use super::model::Model;
use super::vision::Vision;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// SageMaker refuses invocation payloads above 6 MB, so a real endpoint
/// never sees more; axum's own default (2 MB) would reject Clarify's 5 MB batches.
const MAX_BODY_BYTES: usize = 6 * 1024 * 1024;

/// Everything a request handler needs.
struct ServerState {
    model: Arc<Model>,
    /// When set, invocations are forecast instead of scored by `model`.
    forecaster: Option<Forecaster>,
    /// When set, invocations are images scored by this model instead.
    vision: Option<Vision>,
    faults: Faults,
    /// `/invocations` requests received so far; decides which ones the faults hit.
    invocations: AtomicU64,
}

/// Answers requests on `listener` until `shutdown` completes, then finishes
/// the requests in flight and returns. With a `forecaster`, invocations
/// are forecasts; with `vision`, images.
pub async fn serve(
    listener: tokio::net::TcpListener,
    model: Arc<Model>,
    forecaster: Option<Forecaster>,
    vision: Option<Vision>,
    faults: Faults,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let state = Arc::new(ServerState {
        model,
        forecaster,
        vision,
        faults,
        invocations: AtomicU64::new(0),
    });
    let app = Router::new()
        .route("/ping", get(|| async { StatusCode::OK }))
        .route("/invocations", post(invoke))
        .route("/endpoints/{name}/invocations", post(invoke_endpoint))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state);
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await?;
    Ok(())
}

/// `POST /invocations`: predicts every record of the body, unless a fault
/// switch says otherwise.
async fn invoke(
    State(state): State<Arc<ServerState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request = state.invocations.fetch_add(1, Ordering::Relaxed) + 1;
    let fate = state.faults.fate(request);
    if !fate.delay.is_zero() {
        tokio::time::sleep(fate.delay).await;
    }
    if let Some(status) = fate.fail_with {
        return plain_text(status, format!("injected failure of request {request}"));
    }
    if let Some(forecaster) = state.forecaster {
        return match forecaster.answer(&body) {
            Ok(answer) => ([(header::CONTENT_TYPE, "application/json")], answer).into_response(),
            Err(message) => plain_text(StatusCode::BAD_REQUEST, message),
        };
    }
    let header_text = |name| headers.get(name).and_then(|value| value.to_str().ok());
    if let Some(vision) = state.vision {
        let content_type = header_text(header::CONTENT_TYPE).unwrap_or("image/jpeg");
        return match vision.answer(content_type, &body) {
            Ok(answer) => ([(header::CONTENT_TYPE, "application/json")], answer).into_response(),
            Err(message) => plain_text(StatusCode::BAD_REQUEST, message),
        };
    }
    let Some(request_media) =
        header_text(header::CONTENT_TYPE).map_or(Some(MediaType::Csv), MediaType::parse)
    else {
        return plain_text(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Content-Type must be text/csv, application/jsonlines or application/json".into(),
        );
    };
    let Some(response_media) = MediaType::negotiate(header_text(header::ACCEPT), request_media)
    else {
        return plain_text(
            StatusCode::NOT_ACCEPTABLE,
            "Accept must be text/csv, application/jsonlines or application/json".into(),
        );
    };
    let encoded = match read_records(&state.model, request_media, &body) {
        Ok(encoded) => encoded,
        Err(message) => {
            tracing::debug!(request, "rejected: {message}");
            return plain_text(StatusCode::BAD_REQUEST, message);
        }
    };
    let mut predictions: Vec<_> = encoded
        .chunks_exact(state.model.features().len())
        .map(|record| state.model.predict(record))
        .collect();
    if fate.drop_last_prediction {
        predictions.pop();
    }
    let answer = write_predictions(response_media, &predictions);
    let body = if fate.reset_mid_body {
        cut_off_half_way(answer)
    } else {
        Body::from(answer)
    };
    ([(header::CONTENT_TYPE, response_media.as_str())], body).into_response()
}

/// A body that sends the first half of `answer` and then fails, so the
/// server drops the connection in the middle of a 200 response: what a
/// crashing model process or a load balancer timing out looks like to a client.
fn cut_off_half_way(answer: String) -> Body {
    let mut half = answer.into_bytes();
    half.truncate(half.len() / 2);
    let parts: [Result<Vec<u8>, std::io::Error>; 2] = [
        Ok(half),
        Err(std::io::Error::other("injected connection reset")),
    ];
    Body::from_stream(futures_util::stream::iter(parts))
}

/// `POST /endpoints/{name}/invocations`: [`invoke`], with failures in the
/// shape SageMaker Runtime gives them. A 429 becomes the service's own
/// `ThrottlingException`; any other failure is the model's, wrapped as
/// `ModelError` (HTTP 424) with its status and message.
async fn invoke_endpoint(
    state: State<Arc<ServerState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let answer = invoke(state, headers, body).await;
    let status = answer.status();
    if status.is_success() {
        return answer;
    }
    let message = axum::body::to_bytes(answer.into_body(), MAX_BODY_BYTES)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim_end().to_string())
        .unwrap_or_default();
    let (status, error_type, body) = if status == StatusCode::TOO_MANY_REQUESTS {
        (
            StatusCode::BAD_REQUEST,
            "ThrottlingException",
            serde_json::json!({"message": "Rate exceeded"}),
        )
    } else {
        (
            StatusCode::FAILED_DEPENDENCY,
            "ModelError",
            serde_json::json!({
                "Message": format!("Received client error ({}) from primary with message \"{message}\".", status.as_u16()),
                "OriginalStatusCode": status.as_u16(),
                "OriginalMessage": message,
            }),
        )
    };
    (
        status,
        [
            (header::CONTENT_TYPE, "application/json"),
            (
                header::HeaderName::from_static("x-amzn-errortype"),
                error_type,
            ),
        ],
        body.to_string(),
    )
        .into_response()
}

/// A status with a one-line explanation.
fn plain_text(status: StatusCode, message: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain")],
        message + "\n",
    )
        .into_response()
}
