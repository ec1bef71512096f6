//! How often, and how patiently, a terminal request is tried again when its
//! outcome is unknown (no answer, a timeout, a 5xx, or the server still
//! busy with an earlier attempt).
//!
//! Retrying a redemption is safe only because every attempt carries the
//! same `Idempotency-Key` and the same body: the server then answers a
//! retry of a request it already carried out with the stored answer
//! (`replayed: true`) instead of debiting twice. The client enforces that;
//! this module only says when and how many times.

use std::time::Duration;

use rand_core::{OsRng, RngCore};

/// Attempts and the pauses between them. The pause before retry `n`
/// (counting from 1) is `first_backoff * 4^(n-1)`, capped at `max_backoff`,
/// with "equal jitter" (a random point in its upper half) so that tills
/// that lost the server together do not all come back in the same
/// millisecond.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included; at least 1.
    pub max_attempts: u32,
    pub first_backoff: Duration,
    pub max_backoff: Duration,
}

impl RetryPolicy {
    /// One attempt, no retry.
    pub const NEVER: Self = Self {
        max_attempts: 1,
        first_backoff: Duration::ZERO,
        max_backoff: Duration::ZERO,
    };

    /// `attempts` attempts with no pause between them: for tests.
    pub const fn immediate(attempts: u32) -> Self {
        Self {
            max_attempts: attempts,
            first_backoff: Duration::ZERO,
            max_backoff: Duration::ZERO,
        }
    }

    /// Whether another attempt may follow attempt number `attempt` (from 1).
    pub fn allows_another(&self, attempt: u32) -> bool {
        attempt < self.max_attempts.max(1)
    }

    /// The longest pause before retry `retry` (from 1), before jitter.
    pub fn backoff_ceiling(&self, retry: u32) -> Duration {
        let factor = 4u32.saturating_pow(retry.saturating_sub(1));
        self.first_backoff
            .saturating_mul(factor)
            .min(self.max_backoff)
    }

    /// The pause before retry `retry` (from 1): between half the ceiling
    /// and the ceiling.
    pub fn backoff(&self, retry: u32) -> Duration {
        let ceiling = self.backoff_ceiling(retry);
        let half = ceiling / 2;
        let spread = u64::try_from((ceiling - half).as_micros()).unwrap_or(u64::MAX);
        let jitter = if spread == 0 {
            0
        } else {
            OsRng.next_u64() % (spread + 1)
        };
        half + Duration::from_micros(jitter)
    }
}

impl Default for RetryPolicy {
    /// 3 attempts, pausing about 0.25 s then about 1 s: a till's customer is
    /// waiting, and a server that is down for longer than that is better
    /// reported to the cashier, who can retry the same sale later with the
    /// printed idempotency key.
    fn default() -> Self {
        Self {
            max_attempts: 3,
            first_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(2),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_is_three_attempts() {
        let policy = RetryPolicy::default();
        assert!(policy.allows_another(1));
        assert!(policy.allows_another(2));
        assert!(!policy.allows_another(3));
        assert!(!RetryPolicy::NEVER.allows_another(1));
    }

    #[test]
    fn zero_attempts_still_means_one() {
        let policy = RetryPolicy::immediate(0);
        assert!(!policy.allows_another(1));
    }

    #[test]
    fn pauses_grow_fourfold_up_to_the_cap() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.backoff_ceiling(1), Duration::from_millis(250));
        assert_eq!(policy.backoff_ceiling(2), Duration::from_millis(1000));
        assert_eq!(policy.backoff_ceiling(3), Duration::from_secs(2));
        assert_eq!(policy.backoff_ceiling(40), Duration::from_secs(2));
    }

    #[test]
    fn a_jittered_pause_stays_within_the_upper_half_of_its_ceiling() {
        let policy = RetryPolicy::default();
        for retry in 1..=4 {
            let ceiling = policy.backoff_ceiling(retry);
            for _ in 0..100 {
                let pause = policy.backoff(retry);
                assert!(pause >= ceiling / 2 && pause <= ceiling, "{pause:?}");
            }
        }
        assert_eq!(RetryPolicy::immediate(3).backoff(1), Duration::ZERO);
    }
}
