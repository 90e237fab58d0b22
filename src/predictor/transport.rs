//! Where request bodies go: a model server's `/invocations` over plain
//! HTTP(S), or a SageMaker endpoint through `InvokeEndpoint` (feature
//! `aws`). One body in, the answer's bytes or a classified [`Failure`] out; batching,
//! retries and the per-record fallback are the predictor's, the same for
//! both.

use super::Settings;
use crate::error::{JobError, Result};
use crate::failure::{Failure, FailureKind};
use crate::http::{bundled_roots, snippet};
use std::time::Duration;

/// Where request bodies go. Batching, concurrency, retries and the
/// per-record fallback are the same for each.
pub(super) enum Transport {
    /// A model server's `/invocations` over plain HTTP(S).
    Http {
        client: reqwest::Client,
        /// Where requests go, credentials and all.
        request_url: String,
        /// `request_url` without credentials or query, for logs and messages.
        url: String,
        /// SageMaker's custom-attributes and target-model headers, passed on.
        headers: Vec<(&'static str, String)>,
    },
    /// A SageMaker endpoint through `InvokeEndpoint`, signed.
    #[cfg(feature = "aws")]
    SageMaker(crate::aws::invoke::Endpoint),
}

impl Transport {
    /// Plain HTTP to `url` (`/invocations` appended), passing SageMaker's
    /// custom-attributes and target-model headers on as they are.
    pub(super) fn http(
        url: &str,
        p: &crate::config::Predictor,
        settings: &Settings,
    ) -> Result<Transport> {
        let mut headers = Vec::new();
        if let Some(a) = &p.custom_attributes {
            headers.push(("X-Amzn-SageMaker-Custom-Attributes", a.clone()));
        }
        if let Some(t) = &p.target_model {
            headers.push(("X-Amzn-SageMaker-Target-Model", t.clone()));
        }
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs_f64(settings.request_timeout))
            .connect_timeout(Duration::from_secs(10))
            .tls_certs_merge(bundled_roots())
            .build()
            .map_err(|e| JobError::algorithm(format!("Cannot build the HTTP client: {e}")))?;
        let request_url = invocations_url(url)?;
        Ok(Transport::Http {
            client,
            url: redacted(&request_url),
            request_url,
            headers,
        })
    }

    /// `predictor.endpoint_name` through SageMaker Runtime.
    #[cfg(feature = "aws")]
    pub(super) fn endpoint(p: &crate::config::Predictor, settings: &Settings) -> Result<Transport> {
        let name = p.endpoint_name.as_deref().ok_or_else(|| {
            JobError::client(
                "predictor: give endpoint_name (an existing endpoint), model_name with instance_type and initial_instance_count (a shadow endpoint), or a model server's URL (--endpoint-url).",
            )
        })?;
        Ok(Transport::SageMaker(crate::aws::invoke::Endpoint::connect(
            name,
            p.target_model.as_deref(),
            p.custom_attributes.as_deref(),
            Duration::from_secs_f64(settings.request_timeout),
        )?))
    }

    /// Without the `aws` feature only URLs can be called.
    #[cfg(not(feature = "aws"))]
    pub(super) fn endpoint(p: &crate::config::Predictor, _: &Settings) -> Result<Transport> {
        let named = p
            .endpoint_name
            .as_deref()
            .map(|n| format!("endpoint {n:?}"))
            .or_else(|| p.model_name.as_deref().map(|n| format!("model {n:?}")))
            .unwrap_or_else(|| "the model".into());
        Err(JobError::client(format!(
            "predictor: {named} has no URL. Calling SageMaker endpoints by name needs a build with the `aws` feature (the Docker image has it); give the model server's URL with --endpoint-url, the environment variable OPENCLARIFY_ENDPOINT_URL, or the config key predictor.endpoint_url (e.g. http://localhost:8080)."
        )))
    }

    /// Sends one body and returns the answer's bytes. The error is
    /// classified ([`FailureKind`]).
    pub(super) async fn send(
        &self,
        body: Vec<u8>,
        content_type: &str,
        accept: &str,
    ) -> std::result::Result<Vec<u8>, Failure> {
        match self {
            Transport::Http {
                client,
                request_url,
                url,
                headers,
            } => {
                let to = (request_url.as_str(), url.as_str());
                post(client, to, headers, body, content_type, accept).await
            }
            #[cfg(feature = "aws")]
            Transport::SageMaker(endpoint) => endpoint.invoke(body, content_type, accept).await,
        }
    }
}

/// One HTTP request to `(request_url, shown_url)`. The error is classified
/// and names only the shown URL.
async fn post(
    client: &reqwest::Client,
    (request_url, url): (&str, &str),
    headers: &[(&'static str, String)],
    body: Vec<u8>,
    content_type: &str,
    accept: &str,
) -> std::result::Result<Vec<u8>, Failure> {
    let mut request = client
        .post(request_url)
        .header(reqwest::header::CONTENT_TYPE, content_type)
        .header(reqwest::header::ACCEPT, accept)
        .body(body);
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    let response = request.send().await.map_err(|e| describe(e, url))?;
    let status = response.status();
    let bytes = response.bytes().await.map_err(|e| {
        let failure = describe(e, url);
        Failure::new(
            failure.kind,
            format!("reading the response failed: {}", failure.message),
        )
    })?;
    if status.is_success() {
        return Ok(bytes.to_vec());
    }
    Err(Failure::new(
        FailureKind::of_status(status.as_u16()),
        format!(
            "HTTP {status}: {}",
            snippet(&String::from_utf8_lossy(&bytes))
        ),
    ))
}

/// A transport error, classified, in words a user can act on, naming `url`
/// (already stripped of credentials) rather than the URL inside reqwest's
/// error. A failure to connect (refused, DNS, TLS handshake) is about the
/// endpoint; a timeout or a connection dropped mid-answer may be about
/// the records (a model that crashes or stalls on some of them).
fn describe(e: reqwest::Error, url: &str) -> Failure {
    if e.is_connect() {
        Failure::new(
            FailureKind::Unreachable,
            format!("connection failed: {}", causes(&e)),
        )
    } else if e.is_timeout() {
        Failure::new(
            FailureKind::ServerError,
            format!("no answer from {url} within the request timeout (raise --request-timeout if the model is slow)"),
        )
    } else {
        let e = e.without_url();
        Failure::new(
            FailureKind::ServerError,
            format!("{e}{}", prefixed(causes(&e))),
        )
    }
}

/// The chain of an error's sources, joined with `: `. The innermost says
/// most (`Connection refused`, `dns error: ...`, `invalid peer certificate`).
fn causes(e: &dyn std::error::Error) -> String {
    let mut text = Vec::new();
    let mut source = e.source();
    while let Some(s) = source {
        text.push(s.to_string());
        source = s.source();
    }
    text.join(": ")
}

/// `: causes`, or nothing when there are none.
fn prefixed(causes: String) -> String {
    match causes.is_empty() {
        true => causes,
        false => format!(": {causes}"),
    }
}

/// `url` without the user name, password and query it may carry, which
/// are secrets often enough that they never go into a log or a message.
fn redacted(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    let path = path.split(['?', '#']).next().unwrap_or_default();
    let scheme = if scheme.is_empty() {
        String::new()
    } else {
        format!("{scheme}://")
    };
    format!("{scheme}{host}{path}")
}

/// `URL` if it already ends in `/invocations`, else `URL/invocations`.
fn invocations_url(url: &str) -> Result<String> {
    let trimmed = url.trim().trim_end_matches('/');
    if !(trimmed.starts_with("http://") || trimmed.starts_with("https://")) {
        return Err(JobError::client(format!(
            "endpoint URL {:?} must start with http:// or https:// (e.g. http://localhost:8080).",
            redacted(url)
        )));
    }
    Ok(if trimmed.ends_with("/invocations") {
        trimmed.to_string()
    } else {
        format!("{trimmed}/invocations")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_urls_carry_no_credentials_or_query() {
        assert_eq!(
            redacted("https://user:s3cret@model.example:8443/v1/invocations?token=abc#x"),
            "https://model.example:8443/v1/invocations"
        );
        assert_eq!(redacted("http://m:8080"), "http://m:8080");
        assert_eq!(redacted("m@host"), "host");
    }

    #[test]
    fn invocations_suffix_is_added_once() {
        assert_eq!(
            invocations_url("http://m:8080").unwrap(),
            "http://m:8080/invocations"
        );
        assert_eq!(
            invocations_url("http://m:8080/invocations/").unwrap(),
            "http://m:8080/invocations"
        );
        assert!(invocations_url("m:8080")
            .unwrap_err()
            .message
            .contains("must start with http://"));
    }
}
