//! Calling the model, as Clarify calls its shadow endpoint (batched
//! requests in the config's content type, answers read with its locators):
//! over plain HTTP (`--endpoint-url`), or through SageMaker Runtime's
//! `InvokeEndpoint` (feature `aws`). Both are a [`Transport`] that sends one
//! body; everything else below is shared.
//!
//! Records are encoded once ([`request::Encoder`]), cut into batches by
//! record count and payload bytes, and posted with a bounded number of
//! requests in flight. Each failure is classified ([`failure`]):
//! unreachable endpoints, throttling, timeouts and 5xx answers are retried
//! with exponential backoff and jitter within a time budget per batch; a
//! batch that still fails with a server error, or whose answer has the
//! wrong number of predictions, is sent again one record per request, and
//! a record that fails on its own ends the job naming its row. A failure
//! that is about the endpoint (unreachable, 401/403, 404, throttled past
//! the budget) ends the job naming the endpoint, never a row. Outputs
//! always come back in row order, one per record: nothing is dropped or
//! shifted.

pub mod labels;
pub mod outputs;
pub mod request;
pub mod response;
mod transport;

use crate::config::AnalysisConfig;
use crate::dataset::value::{Cell, CellRef};
use crate::error::{JobError, Result};
use crate::failure::{Failure, FailureKind, RetryBudget, Tries};
use crate::http::snippet;
use futures_util::future::try_join_all;
use rand::{Rng, SeedableRng};
use request::Encoder;
use response::{ModelOutput, ResponseReader};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{OnceCell, Semaphore};
use transport::Transport;

/// Attempts at a lone record whose answer cannot be read: a model that
/// answers HTML or the wrong shape will not change its mind, so few.
const UNREADABLE_ATTEMPTS: u32 = 3;

/// How to reach the model: the URL given outside the config (flag or
/// environment) and how hard to drive it. The command line flattens it into
/// `run`, `check` and `partial`; [`Predictor::new`], bias and explain take it.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ModelAccess {
    /// The model server's URL (requests go to URL/invocations); overrides
    /// predictor.endpoint_url in the config.
    #[arg(long, env = "OPENCLARIFY_ENDPOINT_URL")]
    pub endpoint_url: Option<String>,
    /// How model calls are batched, parallelised and retried.
    #[command(flatten)]
    pub settings: Settings,
}

/// How hard to drive the endpoint: batching, concurrency, timeouts, retries.
#[derive(Debug, Clone, clap::Args)]
pub struct Settings {
    /// Most records in one request.
    #[arg(long, default_value_t = 1000, env = "OPENCLARIFY_MAX_BATCH_RECORDS")]
    pub max_batch_records: usize,
    /// Most bytes in one request body (the service limit is 6 MB).
    #[arg(
        long,
        default_value_t = 5_000_000,
        env = "OPENCLARIFY_MAX_PAYLOAD_BYTES"
    )]
    pub max_payload_bytes: usize,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 4, env = "OPENCLARIFY_CONCURRENCY")]
    pub concurrency: usize,
    /// Seconds before a request is abandoned (and retried).
    #[arg(long, default_value_t = 60.0, env = "OPENCLARIFY_REQUEST_TIMEOUT")]
    pub request_timeout: f64,
    /// Attempts per request before it counts as failed.
    #[arg(long, default_value_t = 8, env = "OPENCLARIFY_MAX_ATTEMPTS")]
    pub max_attempts: u32,
    /// First backoff in milliseconds; it doubles per attempt up to 20 s.
    #[arg(long, default_value_t = 500, env = "OPENCLARIFY_RETRY_BASE_MS")]
    pub retry_base_ms: u64,
    /// Seconds one batch may spend retrying, its per-record fallback
    /// included; an unreachable endpoint ends the job after about this long.
    #[arg(long, default_value_t = 60.0, env = "OPENCLARIFY_RETRY_BUDGET")]
    pub retry_budget: f64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            max_batch_records: 1000,
            max_payload_bytes: 5_000_000,
            concurrency: 4,
            request_timeout: 60.0,
            max_attempts: 8,
            retry_base_ms: 500,
            retry_budget: 60.0,
        }
    }
}

/// The async runtime model calls run on: two worker threads, enough to
/// drive many requests in flight (they mostly wait on the network).
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| JobError::algorithm(format!("Cannot start the async runtime: {e}")))
}

/// A model, with the config's request and response formats.
pub struct Predictor {
    transport: Transport,
    content_type: String,
    accept_type: String,
    encoder: Encoder,
    reader: ResponseReader,
    feature_names: Vec<String>,
    settings: Settings,
    in_flight: Semaphore,
    counters: Arc<crate::progress::Counters>,
    /// Set once any answer has been read: from then on an answer the
    /// locators cannot read is one odd record, not a wrong config.
    answered: AtomicBool,
    first_check: Option<FirstCheck>,
    /// The outcome of [`Predictor::first_check`] on the first batch; every
    /// other batch waits for it.
    first_batch: OnceCell<std::result::Result<(), String>>,
}

/// A check of the first batch's outputs for what no later row can fix.
type FirstCheck = Box<dyn Fn(&[ModelOutput]) -> std::result::Result<(), String> + Send + Sync>;

/// Why one request failed after its retries.
#[derive(Debug)]
struct CallError {
    /// The last attempt's failure.
    failure: Failure,
    /// How often and how long the request was tried.
    tries: Tries,
    /// The config key that cannot be right, when the answer shows it
    /// (a locator that finds nothing in the first answer).
    config_key: Option<&'static str>,
    /// The retry budget the request ran under, which its per-record
    /// fallback shares.
    budget: RetryBudget,
}

/// `message (after N attempts)`, or the message alone after one attempt.
fn with_attempts(message: &str, tries: &Tries) -> String {
    match tries.attempts {
        0 | 1 => message.to_string(),
        n => format!("{message} (after {n} attempts)"),
    }
}

/// One request sent as is, and what came back: what `openclarify check`
/// shows so that a user sees the wire format next to the config.
#[derive(Debug)]
pub struct Probe {
    /// Where the request went.
    pub url: String,
    /// The request's `Content-Type`.
    pub content_type: String,
    /// The request's `Accept`.
    pub accept_type: String,
    /// Records in the request.
    pub records_sent: usize,
    /// The request body.
    pub request_body: String,
    /// The response body, or why there is none (connection, HTTP status).
    pub response: std::result::Result<String, String>,
    /// The outputs `label` and `probability` locate in the response, or why
    /// they cannot be read.
    pub outputs: std::result::Result<Vec<ModelOutput>, String>,
}

impl Predictor {
    /// Builds the client for the config's `predictor`. A URL — from
    /// `access.endpoint_url` (flag or environment) or else
    /// `predictor.endpoint_url` — means plain HTTP; otherwise
    /// `predictor.endpoint_name` is called through SageMaker Runtime.
    pub fn new(
        config: &AnalysisConfig,
        access: &ModelAccess,
        feature_names: Vec<String>,
    ) -> Result<Predictor> {
        let settings = access.settings.clone();
        let endpoint_url = access.endpoint_url.as_deref();
        let p = config.predictor.as_ref().ok_or_else(|| {
            JobError::client(
                "This analysis needs the model: add a \"predictor\" section to the config.",
            )
        })?;
        let transport = match endpoint_url.or(p.endpoint_url.as_deref()) {
            Some(url) => Transport::http(url, p, &settings)?,
            None => Transport::endpoint(p, &settings)?,
        };
        let (content_type, accept_type) = p.wire_types(&config.dataset_type);
        let content_template = p.content_template.as_ref().map(|t| match t {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        });
        let encoder = Encoder::new(
            &content_type,
            content_template.as_deref(),
            p.record_template.as_deref(),
        )?;
        // A forecaster's scores are its forecasts.
        let forecast = p
            .time_series_predictor_config
            .as_ref()
            .map(|t| crate::config::NameOrIndex::Name(t.forecast.clone()));
        let probability = forecast.as_ref().or(p.probability.as_ref());
        let reader = ResponseReader::new(&accept_type, p.label.as_ref(), probability)
            .map_err(JobError::client)?;
        Ok(Predictor {
            transport,
            content_type: content_type.to_string(),
            accept_type: accept_type.to_string(),
            encoder,
            reader,
            feature_names,
            in_flight: Semaphore::new(settings.concurrency.max(1)),
            settings,
            counters: Arc::default(),
            answered: AtomicBool::new(false),
            first_check: None,
            first_batch: OnceCell::new(),
        })
    }

    /// Checks the first batch's outputs with `check` before any other batch
    /// is sent, so that an answer no later row can make right (a score that
    /// is not a number, labels of the wrong kind) ends the job after one
    /// request instead of after the whole dataset.
    pub fn with_first_check(
        mut self,
        check: impl Fn(&[ModelOutput]) -> std::result::Result<(), String> + Send + Sync + 'static,
    ) -> Predictor {
        self.first_check = Some(Box::new(check));
        self
    }

    /// The counters behind progress lines: requests, records, retries.
    pub fn counters(&self) -> Arc<crate::progress::Counters> {
        Arc::clone(&self.counters)
    }

    /// Sends `records` in one request, once (no retry, no fallback), and
    /// returns the request and answer as they were on the wire.
    pub async fn probe(&self, records: &[Vec<Cell>]) -> Probe {
        let encoded: Vec<Vec<u8>> = records
            .iter()
            .map(|r| self.encode(&r.iter().map(Cell::as_ref).collect::<Vec<_>>()))
            .collect();
        let pieces: Vec<&[u8]> = encoded.iter().map(Vec::as_slice).collect();
        let body = self.encoder.body(&pieces, &self.feature_names);
        let request_body = String::from_utf8_lossy(&body).into_owned();
        let response =
            self.post(body)
                .await
                .map_err(|failure| match failure.kind.depends_on_records() {
                    true => failure.message,
                    false => {
                        let once = Tries {
                            attempts: 1,
                            waited: Duration::ZERO,
                        };
                        failure.endpoint_error(self.target(), &once).message
                    }
                });
        let outputs = match &response {
            Ok(answer) => self.reader.read(answer, records.len()).map_err(|e| e.0),
            Err(why) => Err(why.clone()),
        };
        Probe {
            url: self.target().to_string(),
            content_type: self.content_type.clone(),
            accept_type: self.accept_type.clone(),
            records_sent: records.len(),
            request_body,
            response: response.map(|r| String::from_utf8_lossy(&r).into_owned()),
            outputs,
        }
    }

    /// Where requests go: the URL without any credentials or query it
    /// carries, or the SageMaker endpoint and region. What logs and messages show.
    pub fn target(&self) -> &str {
        match &self.transport {
            Transport::Http { url, .. } => url,
            #[cfg(feature = "aws")]
            Transport::SageMaker(endpoint) => endpoint.describe(),
        }
    }

    /// Requests sent so far (retries and per-record fallbacks included).
    pub fn requests_sent(&self) -> u64 {
        self.counters.requests()
    }

    /// Predicts `records` (feature values in dataset order), the first of
    /// which is row `first_row` of the dataset (for messages). Returns one
    /// output per record, in order.
    pub async fn predict(&self, first_row: u64, records: &[Vec<Cell>]) -> Result<Vec<ModelOutput>> {
        let encoded: Vec<Vec<u8>> = records
            .iter()
            .map(|r| self.encode(&r.iter().map(Cell::as_ref).collect::<Vec<_>>()))
            .collect();
        self.predict_encoded(first_row, &encoded).await
    }

    /// One record's request bytes, from borrowed cells (no copy of the row).
    pub fn encode(&self, record: &[CellRef<'_>]) -> Vec<u8> {
        self.encoder.record(record, &self.feature_names)
    }

    /// [`Predictor::predict`] for records already [encoded](Predictor::encode).
    pub async fn predict_encoded(
        &self,
        first_row: u64,
        encoded: &[Vec<u8>],
    ) -> Result<Vec<ModelOutput>> {
        let mut batches = self.batches(encoded);
        let mut first = Vec::new();
        if let Some(check) = &self.first_check {
            // Whoever gets here first sends its first batch alone; every
            // other call waits for the verdict on it.
            let verdict = self
                .first_batch
                .get_or_init(|| async {
                    let Some(&(start, end)) = batches.first() else {
                        return Ok(());
                    };
                    match self
                        .predict_batch(first_row, &encoded[start..end], None)
                        .await
                    {
                        Ok(outputs) => {
                            let verdict = check(&outputs);
                            first = outputs;
                            batches.remove(0);
                            verdict
                        }
                        Err(e) => Err(e.message),
                    }
                })
                .await;
            verdict.clone().map_err(JobError::client)?;
        }
        let answers = try_join_all(batches.into_iter().map(|(start, end)| {
            let encoded = &encoded[start..end];
            async move {
                self.predict_batch(first_row + start as u64, encoded, None)
                    .await
            }
        }))
        .await?;
        first.extend(answers.into_iter().flatten());
        Ok(first)
    }

    /// Cuts encoded records into `(start, end)` ranges that respect the
    /// record and byte limits (a single oversized record still goes alone).
    fn batches(&self, encoded: &[Vec<u8>]) -> Vec<(usize, usize)> {
        let max_records = if self.encoder.single_record() {
            1
        } else {
            self.settings.max_batch_records.max(1)
        };
        let mut out = Vec::new();
        let (mut start, mut bytes) = (0, 0);
        for (i, record) in encoded.iter().enumerate() {
            let full = i - start == max_records
                || (i > start && bytes + record.len() + 1 > self.settings.max_payload_bytes);
            if full {
                out.push((start, i));
                start = i;
                bytes = 0;
            }
            bytes += record.len() + 1;
        }
        if start < encoded.len() {
            out.push((start, encoded.len()));
        }
        out
    }

    /// One batch, falling back to one request per record when the batch
    /// fails in a way that may depend on its records, or its answer does not
    /// line up with the records sent. `budget` is the batch's retry budget
    /// when this is one record of its fallback (a batch starts its own).
    async fn predict_batch(
        &self,
        first_row: u64,
        encoded: &[Vec<u8>],
        budget: Option<RetryBudget>,
    ) -> Result<Vec<ModelOutput>> {
        let error = match self.call(encoded, budget).await {
            Ok(outputs) => return Ok(outputs),
            Err(error) => error,
        };
        if let Some(key) = error.config_key {
            return Err(JobError::client(format!(
                "{key} finds nothing in the model's first answer (dataset rows from {first_row}, {}): {}. No retry or later row can change that: set {key} to where the answer holds it (`openclarify check` shows a request and its answer).",
                self.target(),
                error.failure.message
            )));
        }
        if !error.failure.kind.depends_on_records() {
            return Err(error.failure.endpoint_error(self.target(), &error.tries));
        }
        let problem = with_attempts(&error.failure.message, &error.tries);
        if encoded.len() == 1 {
            return Err(JobError::client(format!(
                "The model failed on dataset row {first_row} ({}): {problem}",
                self.target()
            )));
        }
        tracing::warn!(
            rows = format!("{first_row}..{}", first_row + encoded.len() as u64),
            "Fallback to per-record prediction because of model error: {problem}"
        );
        let budget = Some(error.budget);
        let singles =
            try_join_all(encoded.iter().enumerate().map(|(i, record)| {
                let row = first_row + i as u64;
                async move {
                    Box::pin(self.predict_batch(row, std::slice::from_ref(record), budget)).await
                }
            }))
            .await?;
        Ok(singles.into_iter().flatten().collect())
    }

    /// Posts one body and reads the answer, retrying what may pass on a
    /// later attempt ([`FailureKind::retried`]) up to `max_attempts` and
    /// within `budget` (started when the request gets its slot, unless
    /// given); an unreadable answer up to [`UNREADABLE_ATTEMPTS`], and only
    /// for a lone record (a garbled answer may come back whole; a batch has
    /// the per-record fallback instead).
    async fn call(
        &self,
        encoded: &[Vec<u8>],
        budget: Option<RetryBudget>,
    ) -> std::result::Result<Vec<ModelOutput>, CallError> {
        let pieces: Vec<&[u8]> = encoded.iter().map(Vec::as_slice).collect();
        let body = self.encoder.body(&pieces, &self.feature_names);
        // The slot is held through the backoff: a struggling endpoint then
        // sees fewer requests, and a retry is not queued behind every other
        // request waiting for a slot.
        let _slot = self
            .in_flight
            .acquire()
            .await
            .expect("the semaphore is never closed");
        let _sending = self.counters.start_request();
        let started = std::time::Instant::now();
        let budget =
            budget.unwrap_or_else(|| RetryBudget::starting_now(self.settings.retry_budget));
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut config_key = None;
            let outcome = self.post(body.clone()).await.and_then(|answer| {
                self.reader.read(&answer, encoded.len()).map_err(|e| {
                    if !self.answered.load(Ordering::Relaxed) {
                        config_key = self.reader.unmatched_locator(&answer);
                    }
                    let shown = snippet(&String::from_utf8_lossy(&answer));
                    // A lone record's garbled answer may come back whole on
                    // a retry; a batch has the per-record fallback instead.
                    let kind = match encoded.len() == 1 && attempt < UNREADABLE_ATTEMPTS {
                        true => FailureKind::ServerError,
                        false => FailureKind::BadAnswer,
                    };
                    Failure::new(kind, format!("{}; response: {shown}", e.0))
                })
            });
            let failure = match outcome {
                Ok(outputs) => {
                    self.answered.store(true, Ordering::Relaxed);
                    self.counters.add_records(outputs.len() as u64);
                    return Ok(outputs);
                }
                Err(failure) => failure,
            };
            let wait = match failure.kind.retried() && config_key.is_none() {
                true if attempt < self.settings.max_attempts => budget.allow(self.backoff(attempt)),
                _ => None,
            };
            let Some(delay) = wait else {
                return Err(CallError {
                    failure,
                    tries: Tries {
                        attempts: attempt,
                        waited: started.elapsed(),
                    },
                    config_key,
                    budget,
                });
            };
            self.counters.add_retry();
            tracing::debug!(attempt, ?delay, "retrying: {}", failure.message);
            tokio::time::sleep(delay).await;
        }
    }

    /// Exponential backoff with full jitter, capped at 20 seconds.
    fn backoff(&self, attempt: u32) -> Duration {
        let cap = 20_000u64;
        let ceiling = self
            .settings
            .retry_base_ms
            .saturating_mul(1 << (attempt - 1).min(16))
            .min(cap);
        // Jitter only spreads retries apart; any seed that differs per call will do.
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64)
            ^ self.requests_sent();
        let mut rng = rand::rngs::SmallRng::seed_from_u64(seed);
        Duration::from_millis(rng.random_range(ceiling / 2..=ceiling.max(1)))
    }

    /// Sends one body through the transport and counts the request. The
    /// error is classified ([`FailureKind`]).
    async fn post(&self, body: Vec<u8>) -> std::result::Result<Vec<u8>, Failure> {
        if crate::signals::stopping() {
            // The process exits as soon as its cleanup is done; this
            // request must not go out meanwhile.
            std::future::pending::<()>().await;
        }
        self.counters.add_request();
        self.transport
            .send(body, &self.content_type, &self.accept_type)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn predictor(settings: Settings) -> Predictor {
        let config = crate::config::parse(
            br#"{"dataset_type":"text/csv","label":"y","label_values_or_threshold":[1],
                 "facet":[{"name_or_index":"a"}],"methods":{"post_training_bias":{"methods":"all"}},
                 "predictor":{"endpoint_name":"x","content_type":"text/csv"}}"#,
        )
        .unwrap();
        let access = ModelAccess {
            endpoint_url: Some("http://localhost:1".into()),
            settings,
        };
        Predictor::new(&config, &access, vec!["a".into()]).unwrap()
    }

    #[test]
    fn batches_respect_record_and_byte_limits() {
        let p = predictor(Settings {
            max_batch_records: 3,
            max_payload_bytes: 10,
            ..Settings::default()
        });
        let records: Vec<Vec<u8>> = [2, 2, 2, 2, 9, 2].iter().map(|n| vec![b'x'; *n]).collect();
        // 3-byte lines (with newline): 3 fit under 10 bytes; the 9-byte record goes alone.
        assert_eq!(p.batches(&records), vec![(0, 3), (3, 4), (4, 5), (5, 6)]);
    }

    #[cfg(not(feature = "aws"))]
    #[test]
    fn a_missing_url_says_how_to_give_one() {
        let config = crate::config::parse(
            br#"{"dataset_type":"text/csv","label":"y","label_values_or_threshold":[1],
                 "facet":[{"name_or_index":"a"}],"methods":{"post_training_bias":{"methods":"all"}},
                 "predictor":{"endpoint_name":"prod-model"}}"#,
        )
        .unwrap();
        let e = Predictor::new(&config, &ModelAccess::default(), vec![])
            .err()
            .unwrap();
        assert!(
            e.message.contains("endpoint \"prod-model\" has no URL")
                && e.message.contains("`aws` feature")
                && e.message.contains("--endpoint-url"),
            "{}",
            e.message
        );
    }
}
