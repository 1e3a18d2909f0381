//! Client-side quota buckets per endpoint, so that bursts queue here instead of failing at WeChat.

use std::{collections::HashMap, num::NonZeroU32};

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

use super::endpoint::Endpoint;

/// One token bucket: `per_minute` refill, of which `burst` may be spent at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate {
    /// Calls per minute once the burst is spent.
    pub per_minute: NonZeroU32,
    /// Calls that may go at once.
    pub burst: NonZeroU32,
}

impl Rate {
    /// A bucket that keeps every 60-second window at or under `limit` calls.
    ///
    /// A token bucket admits `burst + rate × window` in any window, so the documented limit is
    /// split: a tenth as burst, the rest as steady rate.
    pub fn under(limit: NonZeroU32) -> Self {
        let burst = (limit.get() / 10).max(1);
        let rate = limit.get().saturating_sub(burst).max(1);
        Self {
            per_minute: NonZeroU32::new(rate).unwrap_or(NonZeroU32::MIN),
            burst: NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN),
        }
    }
}

/// Client-side limits per endpoint; endpoints without an entry are not limited.
#[derive(Clone, Debug)]
pub struct QuotaConfig {
    /// The bucket of each limited endpoint.
    pub limits: HashMap<Endpoint, Rate>,
}

impl Default for QuotaConfig {
    /// The documented per-minute limits of `wechat-protocol.md` section 9.
    fn default() -> Self {
        let limits = Endpoint::ALL
            .into_iter()
            .filter_map(|endpoint| {
                let limit = NonZeroU32::new(endpoint.documented_per_minute()?)?;
                Some((endpoint, Rate::under(limit)))
            })
            .collect();
        Self { limits }
    }
}

/// The live buckets, shared by every clone of the client.
pub(crate) struct QuotaLimiter {
    buckets: HashMap<Endpoint, DefaultDirectRateLimiter>,
}

impl QuotaLimiter {
    /// Builds one bucket per configured endpoint.
    pub(crate) fn new(config: &QuotaConfig) -> Self {
        let buckets = config
            .limits
            .iter()
            .map(|(endpoint, rate)| {
                let quota = Quota::per_minute(rate.per_minute).allow_burst(rate.burst);
                (*endpoint, RateLimiter::direct(quota))
            })
            .collect();
        Self { buckets }
    }

    /// Waits until `endpoint` may be called again.
    pub(crate) async fn acquire(&self, endpoint: Endpoint) {
        if let Some(bucket) = self.buckets.get(&endpoint) {
            bucket.until_ready().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;

    fn nz(n: u32) -> NonZeroU32 {
        NonZeroU32::new(n).unwrap()
    }

    #[test]
    fn a_bucket_never_admits_more_than_the_limit_per_minute() {
        let rate = Rate::under(nz(4_000));
        assert_eq!(rate.burst.get() + rate.per_minute.get(), 4_000);
        assert_eq!(Rate::under(nz(1)).burst.get(), 1);
    }

    #[test]
    fn documented_limits_are_configured_by_default() {
        let config = QuotaConfig::default();
        assert!(config.limits.contains_key(&Endpoint::MsgSecCheck));
        assert!(config.limits.contains_key(&Endpoint::StableToken));
        assert!(!config.limits.contains_key(&Endpoint::CustomSend));
    }

    #[tokio::test]
    async fn a_burst_over_the_bucket_queues_instead_of_failing() {
        let mut limits = HashMap::new();
        // One call per 50 ms after a burst of two.
        limits.insert(
            Endpoint::MsgSecCheck,
            Rate {
                per_minute: nz(1_200),
                burst: nz(2),
            },
        );
        let limiter = QuotaLimiter::new(&QuotaConfig { limits });
        let started = Instant::now();
        for _ in 0..6 {
            limiter.acquire(Endpoint::MsgSecCheck).await;
        }
        assert!(started.elapsed() >= Duration::from_millis(150));
        // Unlimited endpoints never wait.
        let started = Instant::now();
        for _ in 0..100 {
            limiter.acquire(Endpoint::CustomSend).await;
        }
        assert!(started.elapsed() < Duration::from_millis(50));
    }
}
