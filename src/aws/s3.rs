//! S3 URIs in the config (`dataset_uri`, `facet_dataset_uri`,
//! `predicted_label_dataset_uri`, `methods.shap.baseline`): the container
//! reads them itself, since SageMaker only downloads processing inputs.
//!
//! Each URI is downloaded once into a private folder under the temporary
//! directory and read from there by the same readers as a mounted input
//! (gzip, part files, hidden and empty files skipped). This keeps one code
//! path for every format, and matches what SageMaker does with a processing
//! input. A URI names one object, or else a folder: every object under
//! `<uri>/`, recursively. The folder is removed when the job ends
//! ([`Downloads`]).
//!
//! Credentials and region come from the same AWS configuration as every
//! other call; `AWS_ENDPOINT_URL_S3` or `AWS_ENDPOINT_URL` point at another
//! S3-compatible service.

use crate::error::{JobError, Result};
use async_trait::async_trait;
use aws_credential_types::provider::SharedCredentialsProvider;
use futures_util::StreamExt;
use object_store::aws::{AmazonS3, AmazonS3Builder, AwsCredential};
use object_store::path::Path as ObjectPath;
use object_store::{ClientOptions, CredentialProvider, ObjectStore, ObjectStoreExt};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// The folder downloads go to while a job runs (one per process).
fn download_root() -> PathBuf {
    std::env::temp_dir().join(format!("openclarify-s3-{}", std::process::id()))
}

/// Removes the downloaded inputs when dropped; the job holds one for its
/// whole run.
pub struct Downloads;

impl Drop for Downloads {
    fn drop(&mut self) {
        let root = download_root();
        if root.exists() {
            if let Err(e) = std::fs::remove_dir_all(&root) {
                tracing::warn!(
                    "could not remove the S3 downloads in {}: {e}",
                    root.display()
                );
            }
        }
    }
}

/// Downloads `uri` (config key `key`, for messages) and returns the local
/// file, or the folder holding every object under the prefix.
pub fn download(key: &str, uri: &str) -> Result<PathBuf> {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let (bucket, object) = split(uri).ok_or_else(|| {
        JobError::client(format!(
            "{key}: {uri:?} is not an S3 URI of the form s3://bucket/key."
        ))
    })?;
    let dir = download_root().join(NEXT.fetch_add(1, Ordering::Relaxed).to_string());
    let failed = |e: String| JobError::client(format!("Failed to download data: {uri}: {e}"));
    let store = store(bucket).map_err(|e| failed(e.message))?;
    let local = super::block_on(fetch(&store, object, &dir))?.map_err(failed)?;
    tracing::info!(%uri, local = %local.display(), "downloaded from S3");
    Ok(local)
}

/// `s3://bucket/key` → (`bucket`, `key`); the key may be empty (a whole bucket).
fn split(uri: &str) -> Option<(&str, &str)> {
    let rest = uri.strip_prefix("s3://")?;
    let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
    (!bucket.is_empty()).then_some((bucket, key.trim_end_matches('/')))
}

/// The object itself when `key` names one, else every object under `key/`,
/// written below `dir` with their paths relative to the prefix.
async fn fetch(store: &AmazonS3, key: &str, dir: &Path) -> std::result::Result<PathBuf, String> {
    if !key.is_empty() {
        match store.head(&ObjectPath::from(key)).await {
            Ok(meta) => {
                let name = meta.location.filename().unwrap_or("object").to_string();
                let local = dir.join(name);
                save(store, &meta.location, &local).await?;
                return Ok(local);
            }
            Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err(explain(&e)),
        }
    }
    let prefix = (!key.is_empty()).then(|| ObjectPath::from(key));
    let mut listing = store.list(prefix.as_ref());
    let mut count = 0;
    while let Some(meta) = listing.next().await {
        let meta = meta.map_err(|e| explain(&e))?;
        let relative: Vec<_> = match &prefix {
            Some(p) => meta.location.prefix_match(p).map(Iterator::collect),
            None => Some(meta.location.parts().collect()),
        }
        .unwrap_or_default();
        let mut local = dir.to_path_buf();
        for part in &relative {
            local.push(part.as_ref());
        }
        save(store, &meta.location, &local).await?;
        count += 1;
    }
    if count == 0 {
        return Err("no object with that key, and no objects under it as a prefix.".into());
    }
    Ok(dir.to_path_buf())
}

/// Streams one object to `local`, creating its folder.
async fn save(store: &AmazonS3, key: &ObjectPath, local: &Path) -> std::result::Result<(), String> {
    let write_error = |e: std::io::Error| format!("cannot write {}: {e}", local.display());
    if let Some(parent) = local.parent() {
        std::fs::create_dir_all(parent).map_err(write_error)?;
    }
    let mut file = std::io::BufWriter::new(std::fs::File::create(local).map_err(write_error)?);
    let mut body = store.get(key).await.map_err(|e| explain(&e))?.into_stream();
    while let Some(bytes) = body.next().await {
        file.write_all(&bytes.map_err(|e| explain(&e))?)
            .map_err(write_error)?;
    }
    file.flush().map_err(write_error)
}

/// An object_store error with a hint for the common causes.
fn explain(e: &object_store::Error) -> String {
    let text = e.to_string();
    if text.contains("AccessDenied") || text.contains("403") {
        format!("{text}. The job's role needs s3:GetObject on the objects (and s3:ListBucket on the bucket for a prefix).")
    } else {
        text
    }
}

/// A client for `bucket` in the configured region, signing with the SDK's
/// credential chain.
fn store(bucket: &str) -> Result<AmazonS3> {
    let config = super::sdk_config()?;
    let provider = config.credentials_provider().ok_or_else(|| {
        JobError::client("No AWS credentials provider is configured.".to_string())
    })?;
    let mut options = ClientOptions::new();
    for der in webpki_root_certs::TLS_SERVER_ROOT_CERTS {
        if let Ok(cert) = object_store::Certificate::from_der(der) {
            options = options.with_root_certificate(cert);
        }
    }
    let mut builder = AmazonS3Builder::new()
        .with_bucket_name(bucket)
        .with_region(super::region()?)
        .with_credentials(Arc::new(SdkCredentials(provider)))
        .with_client_options(options);
    if let Some(url) = super::endpoint_override("S3")? {
        builder = builder
            .with_allow_http(url.starts_with("http://"))
            .with_endpoint(url);
    }
    builder
        .build()
        .map_err(|e| JobError::client(format!("Cannot set up S3 access to bucket {bucket}: {e}")))
}

/// The SDK's credential chain as object_store's credential source, so S3
/// reads use the same role as every other call.
#[derive(Debug)]
struct SdkCredentials(SharedCredentialsProvider);

#[async_trait]
impl CredentialProvider for SdkCredentials {
    type Credential = AwsCredential;

    async fn get_credential(&self) -> object_store::Result<Arc<AwsCredential>> {
        use aws_credential_types::provider::ProvideCredentials;
        let c = self
            .0
            .provide_credentials()
            .await
            .map_err(|e| object_store::Error::Generic {
                store: "S3",
                source: Box::new(e),
            })?;
        Ok(Arc::new(AwsCredential {
            key_id: c.access_key_id().to_string(),
            secret_key: c.secret_access_key().to_string(),
            token: c.session_token().map(str::to_string),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::split;

    #[test]
    fn uris_split_into_bucket_and_key() {
        assert_eq!(split("s3://b/a/c.csv"), Some(("b", "a/c.csv")));
        assert_eq!(split("s3://b/prefix/"), Some(("b", "prefix")));
        assert_eq!(split("s3://b"), Some(("b", "")));
        assert_eq!(split("s3:///k"), None);
        assert_eq!(split("https://b/k"), None);
    }
}
