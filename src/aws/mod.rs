//! Running inside SageMaker for real (cargo feature `aws`): endpoint calls
//! signed with the job role's credentials, shadow endpoints, and S3 inputs.
//!
//! Everything here shares one AWS configuration — the SDK's standard
//! credential chain (processing-job container credentials, environment,
//! profile, instance metadata) and region — loaded once per process, and
//! one background runtime that owns the SDK's connections for the whole
//! process. The rest of the job is synchronous or runs on its own short-lived
//! runtimes; sending AWS work to this one means a pooled connection never
//! outlives the runtime that opened it.
//!
//! - [`invoke`]: `InvokeEndpoint` as a transport for the predictor.
//! - [`control`]: the five SageMaker control-plane calls a shadow endpoint
//!   needs, signed with SigV4.
//! - [`shadow`]: a shadow endpoint's lifecycle (create, wait, delete).
//! - [`s3`]: S3 URIs in the config, downloaded before the readers open them.

pub mod control;
pub mod invoke;
pub mod s3;
pub mod shadow;

use crate::error::{JobError, Result};
use aws_config::{BehaviorVersion, SdkConfig};
use aws_credential_types::provider::ProvideCredentials;
use aws_credential_types::Credentials;
use std::future::Future;
use std::sync::OnceLock;

/// The runtime every AWS call runs on, started on first use. Two worker
/// threads: the calls wait on the network, not the CPU.
fn runtime() -> Result<&'static tokio::runtime::Runtime> {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    if let Some(rt) = RUNTIME.get() {
        return Ok(rt);
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("openclarify-aws")
        .enable_all()
        .build()
        .map_err(|e| JobError::algorithm(format!("Cannot start the AWS runtime: {e}")))?;
    Ok(RUNTIME.get_or_init(|| rt))
}

/// Runs `future` to completion on the AWS runtime from synchronous code.
/// A scoped thread does the blocking, so this is safe to call from inside
/// another runtime too (where blocking the caller's thread would panic).
fn block_on<F>(future: F) -> Result<F::Output>
where
    F: Future + Send,
    F::Output: Send,
{
    let rt = runtime()?;
    std::thread::scope(|s| s.spawn(|| rt.block_on(future)).join())
        .map_err(|_| JobError::algorithm("An AWS call panicked."))
}

/// The AWS configuration (credential chain, region, endpoint overrides such
/// as `AWS_ENDPOINT_URL`), loaded once. A missing region is an error here,
/// so every later call can rely on one.
fn sdk_config() -> Result<&'static SdkConfig> {
    static CONFIG: OnceLock<SdkConfig> = OnceLock::new();
    if let Some(c) = CONFIG.get() {
        return Ok(c);
    }
    let loaded = block_on(aws_config::defaults(BehaviorVersion::latest()).load())?;
    if loaded.region().is_none() {
        return Err(JobError::client(
            "No AWS region is configured: set AWS_REGION (a SageMaker processing job sets it for you).",
        ));
    }
    Ok(CONFIG.get_or_init(|| loaded))
}

/// The region every client uses.
fn region() -> Result<String> {
    Ok(sdk_config()?
        .region()
        .map(ToString::to_string)
        .unwrap_or_default())
}

/// The current credentials from the chain, or a sentence saying none were
/// found. Asked once before the first call, so a job without a role fails
/// at once instead of after every retry.
async fn credentials(config: &SdkConfig) -> Result<Credentials> {
    let provider = config.credentials_provider().ok_or_else(|| {
        JobError::client("No AWS credentials provider is configured.".to_string())
    })?;
    provider.provide_credentials().await.map_err(|e| {
        JobError::client(format!(
            "No AWS credentials found ({}). Inside SageMaker the job's role provides them; elsewhere set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY or AWS_PROFILE.",
            aws_sdk_sagemakerruntime::error::DisplayErrorContext(&e)
        ))
    })
}

/// The endpoint URL override for one service: `AWS_ENDPOINT_URL_<SERVICE>`,
/// else the global `AWS_ENDPOINT_URL` (or profile `endpoint_url`), as the
/// SDK resolves them for its own clients.
fn endpoint_override(service_env: &str) -> Result<Option<String>> {
    let specific = std::env::var(format!("AWS_ENDPOINT_URL_{service_env}"));
    if let Some(url) = specific.ok().filter(|v| !v.is_empty()) {
        return Ok(Some(url));
    }
    Ok(sdk_config()?.endpoint_url().map(str::to_string))
}
