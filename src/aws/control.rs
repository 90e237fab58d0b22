//! The SageMaker control-plane calls a job makes: describing an endpoint,
//! and creating and deleting a shadow endpoint and its config.
//!
//! These are five JSON 1.1 calls (`POST /` with `X-Amz-Target:
//! SageMaker.<Action>`), signed here with SigV4 and sent with reqwest. The
//! generated `aws-sdk-sagemaker` crate covers all ~370 SageMaker actions in
//! about 700,000 lines of Rust; building it would add many minutes to every
//! release build for five calls (README, design).

use crate::error::{JobError, Result};
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4::SigningParams;
use serde_json::{json, Value};
use std::time::{Duration, SystemTime};

/// A failed control-plane call: the service's error code and message.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// The error type, e.g. `ValidationException`, `ThrottlingException`.
    pub code: String,
    /// The service's message.
    pub message: String,
    /// The HTTP status.
    pub status: u16,
}

impl ApiError {
    /// Whether a later attempt may pass: throttling and server faults.
    fn retryable(&self) -> bool {
        self.status == 429 || self.status >= 500 || self.code.contains("Throttl")
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

/// Signed access to the SageMaker API of the configured region.
pub struct ControlPlane {
    client: reqwest::Client,
    url: String,
    region: String,
}

/// Attempts per control-plane call when throttled or the service faults.
const ATTEMPTS: u32 = 5;

impl ControlPlane {
    /// The API of the configured region, or the `AWS_ENDPOINT_URL_SAGEMAKER`
    /// / `AWS_ENDPOINT_URL` override.
    pub fn new() -> Result<ControlPlane> {
        let region = super::region()?;
        let url = super::endpoint_override("SAGEMAKER")?
            .unwrap_or_else(|| format!("https://api.sagemaker.{region}.amazonaws.com"));
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .tls_certs_merge(crate::http::bundled_roots())
            .build()
            .map_err(|e| JobError::algorithm(format!("Cannot build the HTTP client: {e}")))?;
        Ok(ControlPlane {
            client,
            url: format!("{}/", url.trim_end_matches('/')),
            region,
        })
    }

    /// Calls `action` with `input`, retrying throttling and server faults
    /// with backoff. Returns the answer's JSON, or the service's error.
    pub async fn call(&self, action: &str, input: &Value) -> std::result::Result<Value, ApiError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.call_once(action, input).await {
                Err(e) if e.retryable() && attempt < ATTEMPTS => {
                    tracing::debug!(action, attempt, "retrying: {e}");
                    tokio::time::sleep(Duration::from_millis(500 << attempt)).await;
                }
                outcome => return outcome,
            }
        }
    }

    async fn call_once(&self, action: &str, input: &Value) -> std::result::Result<Value, ApiError> {
        let local = |message: String| ApiError {
            code: "ClientFailure".into(),
            message,
            status: 0,
        };
        let config = super::sdk_config().map_err(|e| local(e.message))?;
        let credentials = super::credentials(config)
            .await
            .map_err(|e| local(e.message))?;
        let body = serde_json::to_vec(input).map_err(|e| local(e.to_string()))?;
        let target = format!("SageMaker.{action}");
        let headers = [
            ("content-type", "application/x-amz-json-1.1"),
            ("x-amz-target", target.as_str()),
        ];
        let identity = credentials.into();
        let params = SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name("sagemaker")
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| local(format!("cannot sign the request: {e}")))?
            .into();
        let signable = SignableRequest::new(
            "POST",
            self.url.as_str(),
            headers.iter().copied(),
            SignableBody::Bytes(&body),
        )
        .map_err(|e| local(format!("cannot sign the request: {e}")))?;
        let (instructions, _) = sign(signable, &params)
            .map_err(|e| local(format!("cannot sign the request: {e}")))?
            .into_parts();
        let mut request = self.client.post(&self.url).body(body);
        for (name, value) in headers.iter().copied().chain(instructions.headers()) {
            request = request.header(name, value);
        }
        let response = request.send().await.map_err(|e| ApiError {
            code: "ConnectionFailure".into(),
            message: format!("cannot reach the SageMaker API at {} ({e})", self.url),
            status: 0,
        })?;
        let status = response.status().as_u16();
        let error_type = response
            .headers()
            .get("x-amzn-errortype")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let text = response.bytes().await.map_err(|e| ApiError {
            code: "ConnectionFailure".into(),
            message: format!("reading the SageMaker API's answer failed ({e})"),
            status,
        })?;
        let answer: Value = serde_json::from_slice(&text).unwrap_or(Value::Null);
        if (200..300).contains(&status) {
            return Ok(answer);
        }
        Err(api_error(status, error_type, &answer, &text))
    }

    /// Checks that endpoint `name` exists and is InService. A role that may
    /// not describe endpoints skips the check (InvokeEndpoint is all a job
    /// strictly needs); a throttled or unreachable API too, with a warning.
    pub fn check_in_service(&self, name: &str) -> Result<()> {
        let described =
            super::block_on(self.call("DescribeEndpoint", &json!({"EndpointName": name})))?;
        match described {
            Ok(d) => match d["EndpointStatus"].as_str() {
                Some("InService") => Ok(()),
                status => Err(JobError::client(format!(
                    "Endpoint {name} is {}, not InService{}. Wait until it is InService, or name another endpoint in predictor.endpoint_name.",
                    status.unwrap_or("in an unknown state"),
                    d["FailureReason"]
                        .as_str()
                        .map(|r| format!(" ({r})"))
                        .unwrap_or_default()
                ))),
            },
            Err(e) if is_not_found(&e) => Err(JobError::client(format!(
                "Endpoint {name} was not found in region {} ({e}). Check predictor.endpoint_name and AWS_REGION.",
                self.region
            ))),
            Err(e) => {
                tracing::warn!(endpoint = name, "could not check that the endpoint is InService: {e}");
                Ok(())
            }
        }
    }
}

/// Whether a DescribeEndpoint error means there is no such endpoint.
pub fn is_not_found(e: &ApiError) -> bool {
    e.code.contains("Validation") && e.message.contains("Could not find")
}

/// The service's error from a JSON 1.1 answer: the type from
/// `x-amzn-errortype` or `__type` (without its `namespace#`), the message
/// from `message` or `Message`.
fn api_error(status: u16, header: Option<String>, answer: &Value, raw: &[u8]) -> ApiError {
    let code = header
        .or_else(|| answer["__type"].as_str().map(str::to_string))
        .map(|c| {
            let c = c.split(':').next().unwrap_or_default();
            c.rsplit('#').next().unwrap_or(c).to_string()
        })
        .unwrap_or_else(|| format!("HTTP{status}"));
    let message = answer["message"]
        .as_str()
        .or_else(|| answer["Message"].as_str())
        .map(str::to_string)
        .unwrap_or_else(|| crate::http::snippet(&String::from_utf8_lossy(raw)));
    ApiError {
        code,
        message,
        status,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_errors_are_read_from_header_or_body() {
        let body = json!({"__type": "com.amazonaws.sagemaker#ValidationException", "Message": "Could not find endpoint \"x\"."});
        let e = api_error(400, None, &body, b"");
        assert_eq!(e.code, "ValidationException");
        assert!(is_not_found(&e) && !e.retryable());
        let e = api_error(
            400,
            Some("ThrottlingException:http://internal".into()),
            &json!({"message": "Rate exceeded"}),
            b"",
        );
        assert_eq!(e.to_string(), "ThrottlingException: Rate exceeded");
        assert!(e.retryable());
        let e = api_error(503, None, &Value::Null, b"<html>down</html>");
        assert_eq!(
            (e.code.as_str(), e.message.as_str()),
            ("HTTP503", "<html>down</html>")
        );
        assert!(e.retryable());
    }
}
