//! Why a model call failed, and what the job does about it.
//!
//! A top-level module, below both callers of the model (`predictor` over
//! HTTP and `aws` through `InvokeEndpoint`), so neither imports the other's
//! module back (`scripts/check-cycles.py`).
//!
//! Every failed request is put in one of six classes. The class alone
//! decides whether the request is retried, whether a failing batch is sent
//! again one record per request, and whether the job stops naming the
//! endpoint rather than a row:
//!
//! | class          | examples                                  | retried | per record | job ends naming |
//! |----------------|-------------------------------------------|---------|------------|-----------------|
//! | unreachable    | connection refused, DNS, TLS              | yes     | no         | the endpoint    |
//! | unauthorised   | HTTP 401, 403, AccessDenied               | no      | no         | the endpoint    |
//! | not found      | HTTP 404, no such SageMaker endpoint      | no      | no         | the endpoint    |
//! | throttled      | HTTP 429, ThrottlingException             | yes     | no         | the endpoint    |
//! | server error   | HTTP 5xx, timeout, answer cut off         | yes     | yes        | the row         |
//! | bad answer     | other 4xx, unreadable or miscounted answer| no      | yes        | the row         |
//!
//! A failure that says nothing about the records (the first four) never
//! triggers the per-record fallback: sending each record alone to an
//! endpoint that cannot be reached only multiplies the wait, and blaming
//! row 0 sends the user looking at the data. Retries of one batch,
//! fallback included, stop at the retry budget ([`RetryBudget`]).

use crate::error::JobError;
use std::time::{Duration, Instant};

/// What kind of failure a request met.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// The endpoint cannot be reached: connection refused, DNS, TLS.
    Unreachable,
    /// The endpoint refuses the caller (HTTP 401 or 403).
    Unauthorised,
    /// There is no such endpoint or path (HTTP 404).
    NotFound,
    /// The endpoint asks for fewer requests (HTTP 429, throttling).
    Throttled,
    /// The model failed while answering (HTTP 5xx, a timeout, an answer
    /// cut off): may pass on retry, or fail only on some records.
    ServerError,
    /// The model answered, but not with predictions for these records
    /// (another 4xx, an unreadable or miscounted answer).
    BadAnswer,
}

impl FailureKind {
    /// The class of an HTTP error status.
    pub fn of_status(status: u16) -> FailureKind {
        match status {
            401 | 403 => FailureKind::Unauthorised,
            404 => FailureKind::NotFound,
            429 => FailureKind::Throttled,
            408 | 500..=599 => FailureKind::ServerError,
            _ => FailureKind::BadAnswer,
        }
    }

    /// Whether a later attempt may pass.
    pub fn retried(self) -> bool {
        matches!(
            self,
            FailureKind::Unreachable | FailureKind::Throttled | FailureKind::ServerError
        )
    }

    /// Whether the failure can depend on the records sent, so that sending
    /// them one by one finds the record at fault. The other classes are
    /// about the endpoint, and end the job naming it.
    pub fn depends_on_records(self) -> bool {
        matches!(self, FailureKind::ServerError | FailureKind::BadAnswer)
    }
}

/// One request's failure: its class and a sentence saying what went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The class, which decides retries and the fallback.
    pub kind: FailureKind,
    /// What went wrong, in words a user can act on (no credentials).
    pub message: String,
}

impl Failure {
    /// A failure of class `kind`.
    pub fn new(kind: FailureKind, message: impl Into<String>) -> Failure {
        Failure {
            kind,
            message: message.into(),
        }
    }

    /// The job's failure for a class that is about the endpoint, not a row:
    /// one sentence naming `target` (already without credentials), the cause
    /// and what to do. `tries` says how long it was retried.
    pub fn endpoint_error(&self, target: &str, tries: &Tries) -> JobError {
        let message = &self.message;
        let retried = tries.describe();
        JobError::client(match self.kind {
            FailureKind::Unreachable => format!(
                "Cannot reach the model at {target}: {message}{retried}. Is the model server running and reachable from here? (--retry-budget sets how long to keep trying)"
            ),
            FailureKind::Unauthorised => format!(
                "The model at {target} refused the job's credentials: {message}. Check the URL's credentials or, for SageMaker, that the job's role may call sagemaker:InvokeEndpoint."
            ),
            FailureKind::NotFound => format!(
                "The model at {target} does not exist: {message}. Check the URL (requests go to URL/invocations) or predictor.endpoint_name and the region."
            ),
            FailureKind::Throttled => format!(
                "The model at {target} kept throttling the requests: {message}{retried}. Lower --concurrency, or raise --retry-budget."
            ),
            FailureKind::ServerError | FailureKind::BadAnswer => {
                format!("The model at {target} failed: {message}{retried}.")
            }
        })
    }
}

/// How often and for how long one request was tried.
#[derive(Debug, Clone, Copy)]
pub struct Tries {
    /// Attempts made.
    pub attempts: u32,
    /// From the first attempt to the last failure.
    pub waited: Duration,
}

impl Tries {
    /// ` (8 attempts over 40 s)`, or nothing after a single attempt.
    fn describe(&self) -> String {
        match self.attempts {
            0 | 1 => String::new(),
            n => format!(" ({n} attempts over {:.0} s)", self.waited.as_secs_f64()),
        }
    }
}

/// The time one batch may spend on retries, its per-record fallback
/// included: past the deadline a failed request is not tried again.
#[derive(Debug, Clone, Copy)]
pub struct RetryBudget {
    deadline: Instant,
}

impl RetryBudget {
    /// A budget of `seconds` from now.
    pub fn starting_now(seconds: f64) -> RetryBudget {
        let budget = Duration::try_from_secs_f64(seconds.max(0.0)).unwrap_or(Duration::MAX);
        let now = Instant::now();
        RetryBudget {
            deadline: now
                .checked_add(budget)
                .unwrap_or(now + Duration::from_secs(86_400 * 365)),
        }
    }

    /// How long a retry may still wait: `wanted`, cut to what is left;
    /// `None` once the budget is spent.
    pub fn allow(&self, wanted: Duration) -> Option<Duration> {
        let left = self.deadline.checked_duration_since(Instant::now())?;
        (!left.is_zero()).then(|| wanted.min(left))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_fall_into_their_classes() {
        let kinds: Vec<FailureKind> = [400, 401, 403, 404, 408, 413, 429, 500, 503]
            .into_iter()
            .map(FailureKind::of_status)
            .collect();
        use FailureKind::*;
        assert_eq!(
            kinds,
            [
                BadAnswer,
                Unauthorised,
                Unauthorised,
                NotFound,
                ServerError,
                BadAnswer,
                Throttled,
                ServerError,
                ServerError
            ]
        );
    }

    #[test]
    fn only_record_dependent_classes_fall_back_and_only_transient_ones_retry() {
        use FailureKind::*;
        let all = [
            Unreachable,
            Unauthorised,
            NotFound,
            Throttled,
            ServerError,
            BadAnswer,
        ];
        let per_record: Vec<_> = all.iter().filter(|k| k.depends_on_records()).collect();
        let retried: Vec<_> = all.iter().filter(|k| k.retried()).collect();
        assert_eq!(per_record, [&ServerError, &BadAnswer]);
        assert_eq!(retried, [&Unreachable, &Throttled, &ServerError]);
    }

    #[test]
    fn endpoint_errors_name_the_endpoint_and_the_retries() {
        let failure = Failure::new(
            FailureKind::Unreachable,
            "connection failed: Connection refused",
        );
        let tries = Tries {
            attempts: 8,
            waited: Duration::from_millis(40_200),
        };
        let e = failure.endpoint_error("http://m:9/invocations", &tries);
        assert!(
            e.message
                .starts_with("Cannot reach the model at http://m:9/invocations: connection failed")
                && e.message.contains("(8 attempts over 40 s)")
                && !e.message.contains("row"),
            "{}",
            e.message
        );
    }

    #[test]
    fn a_spent_budget_allows_no_retry() {
        assert_eq!(
            RetryBudget::starting_now(0.0).allow(Duration::from_secs(1)),
            None
        );
        let wait = RetryBudget::starting_now(60.0).allow(Duration::from_secs(1));
        assert_eq!(wait, Some(Duration::from_secs(1)));
        let cut = RetryBudget::starting_now(0.5)
            .allow(Duration::from_secs(20))
            .unwrap();
        assert!(cut <= Duration::from_millis(500), "{cut:?}");
    }
}
