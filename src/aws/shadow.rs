//! Shadow endpoints: with `predictor.model_name` and no
//! `endpoint_name`, the job deploys the model on an endpoint of its own,
//! uses it, and deletes it.
//!
//! A shadow endpoint costs money by the hour, so it must never outlive the
//! job: [`ShadowEndpoint`] deletes the endpoint and its config when dropped
//! (success, error or panic), and a SIGTERM or SIGINT handler (a stopped
//! processing job, `MaxRuntimeInSeconds`, Ctrl-C) deletes them before the
//! process exits with 143. Whichever comes first deletes; the other waits
//! for it. A resource that cannot be deleted is logged with the command that
//! deletes it.

use super::control::{is_not_found, ControlPlane};
use crate::config;
use crate::error::{JobError, Result};
use rand::{Rng, SeedableRng};
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The name prefix when the config gives none.
const DEFAULT_PREFIX: &str = "sm-clarify";
/// Longest endpoint (and endpoint config) name SageMaker accepts.
const MAX_NAME: usize = 63;
/// How often the endpoint's status is polled while it is created.
const POLL: Duration = Duration::from_secs(15);
/// How long creation may take before the job gives up (and deletes it).
const CREATE_TIMEOUT: Duration = Duration::from_secs(60 * 60);
/// How long deletion keeps retrying (e.g. while the endpoint is still
/// Creating, when SageMaker refuses to delete it).
const DELETE_TIMEOUT: Duration = Duration::from_secs(120);

/// A shadow endpoint the job created; deleted when dropped.
pub struct ShadowEndpoint {
    cleanup: Arc<Cleanup>,
}

/// What to delete, once, by whoever gets there first.
struct Cleanup {
    control: ControlPlane,
    name: String,
    /// Whether the endpoint itself was created (its config always is).
    endpoint_created: std::sync::atomic::AtomicBool,
    /// Set once both are deleted (or given up on).
    done: tokio::sync::Mutex<bool>,
}

impl ShadowEndpoint {
    /// Deploys `predictor.model_name` on a new, uniquely named endpoint
    /// (prefix `endpoint_name_prefix`, default `sm-clarify`) and waits until
    /// it is InService, logging progress. On any failure both resources are
    /// deleted before the error returns.
    pub fn create(p: &config::Predictor) -> Result<ShadowEndpoint> {
        let (model, instance_type, count) =
            match (&p.model_name, &p.instance_type, p.initial_instance_count) {
                (Some(m), Some(t), Some(c)) => (m, t, c),
                _ => {
                    return Err(JobError::client(
                        "predictor: a shadow endpoint needs model_name, instance_type and initial_instance_count (or give endpoint_name to use an existing endpoint).",
                    ))
                }
            };
        let name = unique_name(
            p.endpoint_name_prefix.as_deref().unwrap_or(DEFAULT_PREFIX),
            model,
        );
        let mut variant = json!({
            "VariantName": "AllTraffic",
            "ModelName": model,
            "InitialInstanceCount": count,
            "InstanceType": instance_type,
            "InitialVariantWeight": 1.0,
        });
        if let Some(a) = &p.accelerator_type {
            variant["AcceleratorType"] = json!(a);
        }
        let cleanup = Arc::new(Cleanup {
            control: ControlPlane::new()?,
            name: name.clone(),
            endpoint_created: false.into(),
            done: tokio::sync::Mutex::new(false),
        });
        tracing::info!(endpoint = %name, model = %model, instance_type = %instance_type, count, "creating a shadow endpoint");
        let created = super::block_on(async {
            cleanup
                .control
                .call(
                    "CreateEndpointConfig",
                    &json!({"EndpointConfigName": name, "ProductionVariants": [variant]}),
                )
                .await
        })?;
        created.map_err(|e| {
            JobError::client(format!("Failed to create shadow endpoint {name}: the endpoint config was refused ({e}). Check predictor.model_name, instance_type and the job role's sagemaker:CreateEndpointConfig permission."))
        })?;
        let shadow = ShadowEndpoint { cleanup };
        shadow.cleanup.clone().delete_on_signal()?;
        let created = super::block_on(async {
            shadow
                .cleanup
                .control
                .call(
                    "CreateEndpoint",
                    &json!({"EndpointName": name, "EndpointConfigName": name}),
                )
                .await
        })?;
        created.map_err(|e| {
            JobError::client(format!("Failed to create shadow endpoint {name}: {e}."))
        })?;
        shadow
            .cleanup
            .endpoint_created
            .store(true, std::sync::atomic::Ordering::SeqCst);
        super::block_on(shadow.wait_in_service())??;
        Ok(shadow)
    }

    /// The endpoint's name.
    pub fn name(&self) -> &str {
        &self.cleanup.name
    }

    /// Polls DescribeEndpoint until InService, logging the status and the
    /// time spent every poll.
    async fn wait_in_service(&self) -> Result<()> {
        let name = self.name();
        let started = Instant::now();
        loop {
            let described = self
                .cleanup
                .control
                .call("DescribeEndpoint", &json!({"EndpointName": name}))
                .await
                .map_err(|e| {
                    JobError::client(format!("Failed to create shadow endpoint {name}: {e}."))
                })?;
            let status = described["EndpointStatus"].as_str().unwrap_or("Unknown");
            let waited = started.elapsed().as_secs();
            match status {
                "InService" => {
                    tracing::info!(
                        endpoint = name,
                        seconds = waited,
                        "shadow endpoint InService"
                    );
                    return Ok(());
                }
                "Creating" | "Updating" | "SystemUpdating" => {
                    tracing::info!(
                        endpoint = name,
                        status,
                        "waiting for the shadow endpoint: {}m{:02}s so far (usually 5 to 10 minutes)",
                        waited / 60,
                        waited % 60
                    );
                }
                other => {
                    return Err(JobError::client(format!(
                        "Failed to create shadow endpoint {name}: it is {other}{}.",
                        described["FailureReason"]
                            .as_str()
                            .map(|r| format!(": {r}"))
                            .unwrap_or_default()
                    )))
                }
            }
            if started.elapsed() > CREATE_TIMEOUT {
                return Err(JobError::client(format!(
                    "Failed to create shadow endpoint {name}: still {status} after {} minutes.",
                    CREATE_TIMEOUT.as_secs() / 60
                )));
            }
            tokio::time::sleep(POLL).await;
        }
    }
}

impl Drop for ShadowEndpoint {
    fn drop(&mut self) {
        let cleanup = self.cleanup.clone();
        if let Err(e) = super::block_on(async move { cleanup.delete().await }) {
            tracing::error!("shadow endpoint {} not deleted: {e}", self.name());
        }
    }
}

impl Cleanup {
    /// On SIGTERM or SIGINT: deletes, then ends the process with 143.
    fn delete_on_signal(self: Arc<Self>) -> Result<()> {
        use tokio::signal::unix::{signal, SignalKind};
        let runtime = super::runtime()?;
        let _guard = runtime.enter();
        let listen = |kind| {
            signal(kind).map_err(|e| JobError::algorithm(format!("Cannot watch for SIGTERM: {e}")))
        };
        let (mut term, mut int) = (
            listen(SignalKind::terminate())?,
            listen(SignalKind::interrupt())?,
        );
        runtime.spawn(async move {
            let number = tokio::select! {
                _ = term.recv() => 15,
                _ = int.recv() => 2,
            };
            tracing::warn!("Signal {number} received, cleaning up");
            self.delete().await;
            std::process::exit(143);
        });
        Ok(())
    }

    /// Deletes the endpoint (if created) and its config, once; later calls
    /// wait for the first to finish. Retries while SageMaker refuses (an
    /// endpoint still Creating cannot be deleted yet).
    async fn delete(&self) {
        let mut done = self.done.lock().await;
        if *done {
            return;
        }
        let name = &self.name;
        let mut what = vec![(
            "DeleteEndpointConfig",
            "EndpointConfigName",
            "delete-endpoint-config --endpoint-config-name",
        )];
        if self
            .endpoint_created
            .load(std::sync::atomic::Ordering::SeqCst)
        {
            what.insert(
                0,
                (
                    "DeleteEndpoint",
                    "EndpointName",
                    "delete-endpoint --endpoint-name",
                ),
            );
        }
        for (action, key, cli) in what {
            let started = Instant::now();
            loop {
                match self.control.call(action, &json!({key: name})).await {
                    Ok(_) => {
                        tracing::info!("{action} {name}: done");
                        break;
                    }
                    Err(e) if is_not_found(&e) => break,
                    Err(e) if started.elapsed() < DELETE_TIMEOUT => {
                        tracing::debug!("{action} {name} refused, retrying: {e}");
                        tokio::time::sleep(Duration::from_secs(5)).await;
                    }
                    Err(e) => {
                        tracing::error!("{action} {name} failed ({e}); delete it with: aws sagemaker {cli} {name}");
                        break;
                    }
                }
            }
        }
        *done = true;
    }
}

/// `<prefix>-<model>-<random>`, cut to SageMaker's 63 characters without
/// cutting the random part (which makes it unique), and with no double or
/// trailing hyphen where the cut falls.
fn unique_name(prefix: &str, model: &str) -> String {
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
        ^ u64::from(std::process::id()) << 32;
    let suffix = format!(
        "{:08x}",
        rand::rngs::SmallRng::seed_from_u64(seed).random::<u32>()
    );
    let clean: String = format!("{prefix}-{model}")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .take(MAX_NAME - suffix.len() - 1)
        .collect();
    format!("{}-{suffix}", clean.trim_end_matches('-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_within_limits() {
        let a = unique_name("sm-clarify", "xgboost-model");
        assert!(
            a.starts_with("sm-clarify-xgboost-model-") && a.len() == 33,
            "{a}"
        );
        let long = unique_name("team", &"m".repeat(100));
        assert_eq!(long.len(), MAX_NAME);
        assert!(long.starts_with("team-mmm"));
        let b = unique_name("p", "a_b.");
        assert!(b.starts_with("p-a-b-") && !b.contains("--"), "{b}");
        assert_ne!(unique_name("p", "m"), unique_name("p", "m"));
    }
}
