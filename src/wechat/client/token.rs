//! Access tokens and the store that shares them (and the refresh lease) between instances.

use std::{collections::HashMap, fmt, sync::Arc, sync::Mutex};

use chrono::{DateTime, Utc};

/// An access token; `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken(Arc<str>);

impl AccessToken {
    /// Wraps the token text.
    pub fn new(text: impl Into<Arc<str>>) -> Self {
        Self(text.into())
    }

    /// The token text, for the `access_token` query parameter only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessToken([REDACTED])")
    }
}

/// A token as the shared store keeps it.
#[derive(Clone, Debug)]
pub struct StoredToken {
    /// The token.
    pub access_token: AccessToken,
    /// When WeChat stops accepting it.
    pub expires_at: DateTime<Utc>,
    /// When it was fetched (half its lifetime bounds the refresh margin).
    pub updated_at: DateTime<Utc>,
}

/// Why the token store failed (the database's message).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct StoreError(pub String);

/// Where instances share access tokens and the lease that elects one refresher per app.
#[async_trait::async_trait]
pub trait TokenStore: Send + Sync + 'static {
    /// The stored token of `appid`, if one was ever stored.
    async fn load(&self, appid: &str) -> Result<Option<StoredToken>, StoreError>;

    /// Takes the refresh lease of `appid` for `holder` until `until`, atomically, if it is free,
    /// expired at `now`, or already `holder`'s; true when taken.
    async fn try_lease(
        &self,
        appid: &str,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Saves a freshly fetched token of `appid` and frees the lease.
    async fn store(&self, appid: &str, token: &StoredToken) -> Result<(), StoreError>;

    /// Frees `holder`'s lease without a new token (the fetch failed).
    async fn release(&self, appid: &str, holder: &str) -> Result<(), StoreError>;
}

#[derive(Clone)]
struct MemoryRow {
    token: Option<StoredToken>,
    lease_holder: Option<String>,
    lease_until: DateTime<Utc>,
}

/// A process-local [`TokenStore`], for one instance without a database and for unit tests.
#[derive(Default)]
pub struct MemoryTokenStore {
    rows: Mutex<HashMap<String, MemoryRow>>,
}

impl MemoryTokenStore {
    fn with_rows<T>(&self, f: impl FnOnce(&mut HashMap<String, MemoryRow>) -> T) -> T {
        // A poisoned lock only means another test thread panicked; the map is still usable.
        let mut rows = self.rows.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut rows)
    }
}

#[async_trait::async_trait]
impl TokenStore for MemoryTokenStore {
    async fn load(&self, appid: &str) -> Result<Option<StoredToken>, StoreError> {
        Ok(self.with_rows(|rows| rows.get(appid).and_then(|r| r.token.clone())))
    }

    async fn try_lease(
        &self,
        appid: &str,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        Ok(self.with_rows(|rows| {
            let row = rows.entry(appid.to_owned()).or_insert(MemoryRow {
                token: None,
                lease_holder: None,
                lease_until: DateTime::<Utc>::MIN_UTC,
            });
            let free = row.lease_until < now || row.lease_holder.as_deref() == Some(holder);
            if free {
                row.lease_holder = Some(holder.to_owned());
                row.lease_until = until;
            }
            free
        }))
    }

    async fn store(&self, appid: &str, token: &StoredToken) -> Result<(), StoreError> {
        self.with_rows(|rows| {
            rows.insert(
                appid.to_owned(),
                MemoryRow {
                    token: Some(token.clone()),
                    lease_holder: None,
                    lease_until: DateTime::<Utc>::MIN_UTC,
                },
            );
        });
        Ok(())
    }

    async fn release(&self, appid: &str, holder: &str) -> Result<(), StoreError> {
        self.with_rows(|rows| {
            if let Some(row) = rows.get_mut(appid)
                && row.lease_holder.as_deref() == Some(holder)
            {
                row.lease_holder = None;
                row.lease_until = DateTime::<Utc>::MIN_UTC;
            }
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::*;

    #[test]
    fn debug_output_hides_the_token() {
        let token = AccessToken::new("ACCESS_TOKEN_VALUE");
        assert!(!format!("{token:?}").contains("ACCESS_TOKEN_VALUE"));
    }

    #[tokio::test]
    async fn the_memory_lease_goes_to_one_holder_until_it_expires() {
        let store = MemoryTokenStore::default();
        let now = Utc::now();
        let until = now + TimeDelta::seconds(10);
        assert!(store.try_lease("wx1", "a", now, until).await.unwrap());
        assert!(!store.try_lease("wx1", "b", now, until).await.unwrap());
        assert!(store.try_lease("wx1", "a", now, until).await.unwrap());
        let later = until + TimeDelta::seconds(1);
        assert!(store.try_lease("wx1", "b", later, later).await.unwrap());
    }
}
