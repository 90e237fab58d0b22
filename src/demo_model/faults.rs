//! Injected misbehaviour, so that tests can check how a Clarify client
//! copes with a slow, failing, or miscounting model.
//!
//! Each switch acts on every Nth `/invocations` request, counted from 1
//! across the server's lifetime, so a test knows in advance which request
//! misbehaves.

use axum::http::StatusCode;
use std::num::NonZeroU64;
use std::time::Duration;

/// Which requests misbehave, and how.
#[derive(Debug, Clone)]
pub struct Faults {
    /// Every Nth request fails with `fail_status` and a short body.
    pub fail_every: Option<NonZeroU64>,
    /// The status of an injected failure (500, 429 and 503 are the interesting ones).
    pub fail_status: StatusCode,
    /// How long every request waits before it is answered.
    pub delay: Duration,
    /// The answer to every Nth request, unless it failed, leaves out its last prediction.
    pub drop_last_line_every: Option<NonZeroU64>,
}

/// What happens to one particular request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Fate {
    /// Answer with this status instead of predicting.
    pub fail_with: Option<StatusCode>,
    /// Leave out the last prediction of the response.
    pub drop_last_prediction: bool,
}

impl Default for Faults {
    /// A well-behaved model.
    fn default() -> Faults {
        Faults {
            fail_every: None,
            fail_status: StatusCode::INTERNAL_SERVER_ERROR,
            delay: Duration::ZERO,
            drop_last_line_every: None,
        }
    }
}

impl Faults {
    /// Decides the fate of request number `request` (counted from 1).
    pub(super) fn fate(&self, request: u64) -> Fate {
        let hits = |every: Option<NonZeroU64>| {
            every.is_some_and(|every| request.is_multiple_of(every.get()))
        };
        Fate {
            fail_with: hits(self.fail_every).then_some(self.fail_status),
            drop_last_prediction: hits(self.drop_last_line_every),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn switches_hit_every_nth_request_only() {
        let faults = Faults {
            fail_every: NonZeroU64::new(3),
            fail_status: StatusCode::TOO_MANY_REQUESTS,
            drop_last_line_every: NonZeroU64::new(2),
            ..Faults::default()
        };
        let fates: Vec<Fate> = (1..=6).map(|request| faults.fate(request)).collect();
        let failed: Vec<bool> = fates.iter().map(|fate| fate.fail_with.is_some()).collect();
        let dropped: Vec<bool> = fates.iter().map(|fate| fate.drop_last_prediction).collect();
        assert_eq!(failed, [false, false, true, false, false, true]);
        assert_eq!(dropped, [false, true, false, true, false, true]);
        assert_eq!(fates[2].fail_with, Some(StatusCode::TOO_MANY_REQUESTS));
        assert_eq!(
            Faults::default().fate(1),
            Fate {
                fail_with: None,
                drop_last_prediction: false
            }
        );
    }
}
