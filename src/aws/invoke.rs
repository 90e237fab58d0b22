//! SageMaker Runtime `InvokeEndpoint` as the predictor's transport.
//!
//! The predictor batches, bounds requests in flight, retries and falls back
//! to one record per request the same way for every transport; this module
//! only sends one body and says, when it fails, which class of failure it
//! is ([`FailureKind`]) and why in words a user can act on. The SDK's own retries are off so that the
//! predictor's policy is the only one (they would multiply otherwise).

use super::control::ControlPlane;
use crate::error::Result;
use crate::failure::{Failure, FailureKind};
use crate::http::snippet;
use aws_sdk_sagemakerruntime::config::http::HttpResponse;
use aws_sdk_sagemakerruntime::config::retry::RetryConfig;
use aws_sdk_sagemakerruntime::config::timeout::TimeoutConfig;
use aws_sdk_sagemakerruntime::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_sagemakerruntime::operation::invoke_endpoint::InvokeEndpointError;
use aws_sdk_sagemakerruntime::primitives::Blob;
use aws_sdk_sagemakerruntime::Client;
use std::time::Duration;

/// A SageMaker endpoint reached through `InvokeEndpoint`.
pub struct Endpoint {
    client: Client,
    name: String,
    target_model: Option<String>,
    custom_attributes: Option<String>,
    described: String,
}

impl Endpoint {
    /// Connects to endpoint `name`: loads the AWS configuration, checks
    /// that credentials exist, and that the endpoint is InService (when the
    /// role may describe it). `target_model` and `custom_attributes` go with
    /// every request; `timeout` bounds each attempt.
    pub fn connect(
        name: &str,
        target_model: Option<&str>,
        custom_attributes: Option<&str>,
        timeout: Duration,
    ) -> Result<Endpoint> {
        let sdk = super::sdk_config()?;
        super::block_on(super::credentials(sdk))??;
        ControlPlane::new()?.check_in_service(name)?;
        let config = aws_sdk_sagemakerruntime::config::Builder::from(sdk)
            .retry_config(RetryConfig::disabled())
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(10))
                    .operation_attempt_timeout(timeout)
                    .build(),
            )
            .build();
        let region = super::region()?;
        // Custom attributes may carry anything a model owner put there: never
        // logged, only whether they are sent.
        tracing::debug!(
            endpoint = name,
            target_model,
            custom_attributes = custom_attributes.is_some(),
            "InvokeEndpoint settings"
        );
        Ok(Endpoint {
            client: Client::from_conf(config),
            name: name.to_string(),
            target_model: target_model.map(str::to_string),
            custom_attributes: custom_attributes.map(str::to_string),
            described: format!("SageMaker endpoint {name} in {region}"),
        })
    }

    /// The endpoint as messages name it.
    pub fn describe(&self) -> &str {
        &self.described
    }

    /// Sends one body and returns the answer's bytes. The error is
    /// classified, and says what went wrong.
    pub async fn invoke(
        &self,
        body: Vec<u8>,
        content_type: &str,
        accept: &str,
    ) -> std::result::Result<Vec<u8>, Failure> {
        let runtime =
            super::runtime().map_err(|e| Failure::new(FailureKind::BadAnswer, e.message))?;
        let mut request = self
            .client
            .invoke_endpoint()
            .endpoint_name(&self.name)
            .content_type(content_type)
            .accept(accept)
            .body(Blob::new(body));
        if let Some(t) = &self.target_model {
            request = request.target_model(t);
        }
        if let Some(a) = &self.custom_attributes {
            request = request.custom_attributes(a);
        }
        // On the AWS runtime, which owns the SDK's connection pool.
        let sent = runtime.spawn(request.send()).await.map_err(|e| {
            Failure::new(
                FailureKind::ServerError,
                format!("the SageMaker call was cancelled: {e}"),
            )
        })?;
        match sent {
            Ok(answer) => Ok(answer.body.map(Blob::into_inner).unwrap_or_default()),
            Err(e) => Err(classify(&e, &self.name)),
        }
    }
}

/// The class of a failed call, and a sentence saying why it failed.
fn classify(e: &SdkError<InvokeEndpointError, HttpResponse>, endpoint: &str) -> Failure {
    match e {
        SdkError::TimeoutError(_) => Failure::new(
            FailureKind::ServerError,
            format!("no answer from endpoint {endpoint} within the request timeout (raise --request-timeout if the model is slow)"),
        ),
        SdkError::DispatchFailure(_) => Failure::new(
            FailureKind::Unreachable,
            format!(
                "cannot reach SageMaker Runtime for endpoint {endpoint} ({})",
                DisplayErrorContext(e)
            ),
        ),
        SdkError::ResponseError(_) => Failure::new(
            FailureKind::ServerError,
            format!(
                "the answer of endpoint {endpoint} could not be read ({})",
                DisplayErrorContext(e)
            ),
        ),
        SdkError::ServiceError(s) => service_error(s.err(), s.raw().status().as_u16(), endpoint),
        _ => Failure::new(FailureKind::BadAnswer, DisplayErrorContext(e).to_string()),
    }
}

/// A service error in words: the model's own failure, a missing endpoint,
/// throttling, or another service fault.
fn service_error(e: &InvokeEndpointError, status: u16, endpoint: &str) -> Failure {
    let text = e.message().unwrap_or("no message");
    match e {
        InvokeEndpointError::ModelError(m) => {
            let status = m.original_status_code().unwrap_or(0);
            let logs = m
                .log_stream_arn()
                .map(|arn| format!(" (model logs: {arn})"))
                .unwrap_or_default();
            // The model container's own status: a 4xx there is the model
            // rejecting these records, not the caller's credentials.
            let kind = match FailureKind::of_status(status.try_into().unwrap_or(500)) {
                FailureKind::Throttled => FailureKind::Throttled,
                FailureKind::ServerError => FailureKind::ServerError,
                _ => FailureKind::BadAnswer,
            };
            Failure::new(
                kind,
                format!(
                    "the model behind endpoint {endpoint} answered HTTP {status}: {}{logs}",
                    snippet(m.original_message().unwrap_or(text))
                ),
            )
        }
        InvokeEndpointError::ValidationError(_) if text.contains("not found") => Failure::new(
            FailureKind::NotFound,
            format!("endpoint {endpoint} was not found ({text}). Check predictor.endpoint_name and the region (AWS_REGION)."),
        ),
        InvokeEndpointError::ValidationError(_) => Failure::new(
            FailureKind::BadAnswer,
            format!("SageMaker rejected the request to endpoint {endpoint}: {text}"),
        ),
        InvokeEndpointError::ModelNotReadyException(_)
        | InvokeEndpointError::ServiceUnavailable(_)
        | InvokeEndpointError::InternalFailure(_)
        | InvokeEndpointError::InternalDependencyException(_) => Failure::new(
            FailureKind::ServerError,
            format!(
                "endpoint {endpoint} is not ready ({}: {text})",
                e.code().unwrap_or("ServiceUnavailable")
            ),
        ),
        other => match other.code() {
            Some(code @ ("ThrottlingException" | "TooManyRequestsException")) => Failure::new(
                FailureKind::Throttled,
                format!("SageMaker throttled the requests to endpoint {endpoint} ({code}: {text})"),
            ),
            Some(code @ ("AccessDeniedException" | "UnrecognizedClientException")) => Failure::new(
                FailureKind::Unauthorised,
                format!("the job's role may not call endpoint {endpoint} ({code}: {text}); it needs sagemaker:InvokeEndpoint on it."),
            ),
            code => Failure::new(
                FailureKind::of_status(status),
                format!(
                    "endpoint {endpoint} failed (HTTP {status}, {}: {text})",
                    code.unwrap_or("unknown error")
                ),
            ),
        },
    }
}
