//! Injected misbehaviour, so that tests can check how a Clarify client
//! copes with a slow, failing, or miscounting model.
//!
//! Each switch acts on every Nth `/invocations` request, counted from 1
//! across the server's lifetime, so a test knows in advance which request
//! misbehaves. `fail_burst` stretches a failure over consecutive requests,
//! as a throttled endpoint answers 429 to everything for a while.

use axum::http::StatusCode;
use std::num::NonZeroU64;
use std::time::Duration;

/// Which requests misbehave, and how.
#[derive(Debug, Clone)]
pub struct Faults {
    /// Every Nth request fails with `fail_status` and a short body.
    pub fail_every: Option<NonZeroU64>,
    /// How many consecutive requests each failure lasts: the last
    /// `fail_burst` requests of every cycle of `fail_every` fail.
    pub fail_burst: NonZeroU64,
    /// The status of an injected failure (500, 429 and 503 are the interesting ones).
    pub fail_status: StatusCode,
    /// How long a delayed request waits before it is answered.
    pub delay: Duration,
    /// Which requests wait `delay`: every Nth (1, the default, is all of them).
    pub delay_every: NonZeroU64,
    /// The answer to every Nth request, unless it failed, leaves out its last prediction.
    pub drop_last_line_every: Option<NonZeroU64>,
    /// The answer to every Nth request, unless it failed, stops half-way
    /// through its body and the connection is dropped.
    pub reset_every: Option<NonZeroU64>,
}

/// What happens to one particular request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Fate {
    /// Answer with this status instead of predicting.
    pub fail_with: Option<StatusCode>,
    /// Wait this long before answering.
    pub delay: Duration,
    /// Leave out the last prediction of the response.
    pub drop_last_prediction: bool,
    /// Send half of the answer, then drop the connection.
    pub reset_mid_body: bool,
}

impl Default for Faults {
    /// A well-behaved model.
    fn default() -> Faults {
        Faults {
            fail_every: None,
            fail_burst: NonZeroU64::MIN,
            fail_status: StatusCode::INTERNAL_SERVER_ERROR,
            delay: Duration::ZERO,
            delay_every: NonZeroU64::MIN,
            drop_last_line_every: None,
            reset_every: None,
        }
    }
}

impl Faults {
    /// Decides the fate of request number `request` (counted from 1).
    pub(super) fn fate(&self, request: u64) -> Fate {
        let hits = |every: Option<NonZeroU64>| {
            every.is_some_and(|every| request.is_multiple_of(every.get()))
        };
        let failing = self.fail_every.is_some_and(|every| {
            (request - 1) % every.get() >= every.get().saturating_sub(self.fail_burst.get())
        });
        Fate {
            fail_with: failing.then_some(self.fail_status),
            delay: if hits(Some(self.delay_every)) {
                self.delay
            } else {
                Duration::ZERO
            },
            drop_last_prediction: hits(self.drop_last_line_every),
            reset_mid_body: hits(self.reset_every),
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
                delay: Duration::ZERO,
                drop_last_prediction: false,
                reset_mid_body: false,
            }
        );
    }

    #[test]
    fn a_burst_fails_the_last_requests_of_each_cycle() {
        let faults = Faults {
            fail_every: NonZeroU64::new(5),
            fail_burst: NonZeroU64::new(3).unwrap(),
            ..Faults::default()
        };
        let failed: Vec<u64> = (1..=10)
            .filter(|&request| faults.fate(request).fail_with.is_some())
            .collect();
        assert_eq!(failed, [3, 4, 5, 8, 9, 10]);
    }

    #[test]
    fn delays_and_resets_hit_their_own_requests() {
        let faults = Faults {
            delay: Duration::from_millis(7),
            delay_every: NonZeroU64::new(2).unwrap(),
            reset_every: NonZeroU64::new(3),
            ..Faults::default()
        };
        let delayed: Vec<Duration> = (1..=4).map(|r| faults.fate(r).delay).collect();
        let zero = Duration::ZERO;
        let seven = Duration::from_millis(7);
        assert_eq!(delayed, [zero, seven, zero, seven]);
        let reset: Vec<bool> = (1..=6).map(|r| faults.fate(r).reset_mid_body).collect();
        assert_eq!(reset, [false, false, true, false, false, true]);
    }
}
