//! Bounded exponential backoff with jitter for retryable failures.

use std::time::Duration;

use rand::RngExt;

/// How often and how patiently retryable failures are retried.
#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    /// Attempts in total, the first included (1 = never retry).
    pub max_attempts: u32,
    /// Pause before the first retry; doubled for each further one.
    pub base_delay: Duration,
    /// Upper bound of one pause.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(2),
        }
    }
}

impl RetryPolicy {
    /// The pause before retry number `retry` (0 = the first retry).
    ///
    /// "Equal jitter": half of the exponential step is kept, half is random, so instances that
    /// failed together do not come back together, yet every retry still waits.
    pub fn delay(&self, retry: u32) -> Duration {
        let factor = 1u32.checked_shl(retry).unwrap_or(u32::MAX);
        let step = self.base_delay.saturating_mul(factor).min(self.max_delay);
        let half = step / 2;
        let spread = u64::try_from(half.as_nanos()).unwrap_or(u64::MAX);
        half + Duration::from_nanos(rand::rng().random_range(0..=spread))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_exponentially_within_bounds() {
        let policy = RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(350),
        };
        for _ in 0..50 {
            let first = policy.delay(0);
            assert!((50..=100).contains(&first.as_millis()), "{first:?}");
            let second = policy.delay(1);
            assert!((100..=200).contains(&second.as_millis()), "{second:?}");
            let capped = policy.delay(10);
            assert!((175..=350).contains(&capped.as_millis()), "{capped:?}");
        }
        assert!(policy.delay(40) <= Duration::from_millis(350));
    }
}
