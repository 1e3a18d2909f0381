//! Request rates kept in each instance's memory: they slow scripts down, while exact rules
//! live in the database. Behind a load balancer every instance allows the configured rate.

use std::{hash::Hash, num::NonZeroU32, sync::Arc};

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter, clock::Clock};

use crate::error::AppError;

/// Keys kept by a limiter before stale ones are swept, so that memory stays bounded whatever
/// keys clients make up.
const SWEEP_AT: usize = 100_000;

/// A per-key rate (per minute), answering `RateLimited` with the wait when it is over.
#[derive(Clone)]
pub struct KeyedRate<K: Hash + Eq + Clone> {
    limiter: Arc<DefaultKeyedRateLimiter<K>>,
}

impl<K: Hash + Eq + Clone> KeyedRate<K> {
    /// A rate of `per_minute` for each key.
    pub fn per_minute(per_minute: NonZeroU32) -> Self {
        Self {
            limiter: Arc::new(RateLimiter::keyed(Quota::per_minute(per_minute))),
        }
    }

    /// Counts one request of `key`; `RateLimited` with the wait if it is over its rate.
    pub fn check(&self, key: &K) -> Result<(), AppError> {
        if self.limiter.len() > SWEEP_AT {
            self.limiter.retain_recent();
        }
        self.limiter
            .check_key(key)
            .map_err(|not_until| AppError::RateLimited {
                retry_after: not_until.wait_time_from(self.limiter.clock().now()),
            })
    }
}
