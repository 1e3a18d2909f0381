//! The access-token authority of one app: a moka cache in front, the shared store behind, and
//! a lease so that one instance refreshes while the others reuse its token.

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use chrono::{DateTime, TimeDelta, Utc};
use moka::{Expiry, future::Cache, ops::compute::Op};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use super::{
    App,
    endpoint::Endpoint,
    error::WechatError,
    exchange::{Exchange, decode, encode},
    token::{AccessToken, StoreError, StoredToken, TokenStore},
    transport::WireRequest,
};

/// Timing of token refreshes and of the shared lease.
#[derive(Clone, Copy, Debug)]
pub struct TokenPolicy {
    /// Refresh when less than this is left (capped at half the token's lifetime).
    pub refresh_margin: Duration,
    /// How long a refresher holds the lease; a crashed holder blocks others this long, and an
    /// overrun only costs a second stable_token call, which invalidates nothing.
    pub lease_ttl: Duration,
    /// Pause between re-reads of the store while another instance refreshes.
    pub lease_poll: Duration,
    /// Longest wait for another instance's refresh before giving up.
    pub lease_wait: Duration,
}

impl Default for TokenPolicy {
    fn default() -> Self {
        Self {
            refresh_margin: Duration::from_secs(300),
            lease_ttl: Duration::from_secs(15),
            lease_poll: Duration::from_millis(200),
            lease_wait: Duration::from_secs(20),
        }
    }
}

#[derive(Clone)]
struct Cached {
    token: AccessToken,
    refresh_at: Instant,
}

/// Each cached token leaves the cache when it is due for refresh.
struct RefreshDue;

impl Expiry<(), Cached> for RefreshDue {
    fn expire_after_create(&self, _: &(), value: &Cached, created_at: Instant) -> Option<Duration> {
        Some(value.refresh_at.saturating_duration_since(created_at))
    }
}

#[derive(Serialize)]
struct StableTokenRequest<'a> {
    grant_type: &'static str,
    appid: &'a str,
    secret: &'a str,
    force_refresh: bool,
}

#[derive(Deserialize)]
struct StableTokenResponse {
    access_token: String,
    expires_in: i64,
}

/// Hands out the access token of one app; cheap to call, refreshes once for the whole fleet.
pub struct TokenAuthority {
    app: App,
    appid: String,
    secret: SecretString,
    holder: String,
    policy: TokenPolicy,
    store: Arc<dyn TokenStore>,
    exchange: Arc<Exchange>,
    cache: Cache<(), Cached>,
    /// The last token WeChat refused: never taken back from the store.
    rejected: Mutex<Option<AccessToken>>,
}

impl std::fmt::Debug for TokenAuthority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenAuthority")
            .field("app", &self.app)
            .field("appid", &self.appid)
            .field("holder", &self.holder)
            .finish_non_exhaustive()
    }
}

impl TokenAuthority {
    /// An authority for `appid`; `holder` names this instance in the lease.
    pub(crate) fn new(
        app: App,
        appid: String,
        secret: SecretString,
        holder: String,
        policy: TokenPolicy,
        store: Arc<dyn TokenStore>,
        exchange: Arc<Exchange>,
    ) -> Self {
        Self {
            app,
            appid,
            secret,
            holder,
            policy,
            store,
            exchange,
            cache: Cache::builder()
                .max_capacity(1)
                .expire_after(RefreshDue)
                .build(),
            rejected: Mutex::new(None),
        }
    }

    /// The app's appid.
    pub fn appid(&self) -> &str {
        &self.appid
    }

    /// The current token: from the cache, else the store, else one fetch (single flight).
    pub async fn token(&self) -> Result<AccessToken, WechatError> {
        self.cache
            .try_get_with((), self.obtain())
            .await
            .map(|cached| cached.token)
            .map_err(|err| (*err).clone())
    }

    /// A token to retry with after WeChat refused `failed`.
    ///
    /// Compare-and-swap: the cache is emptied only if it still holds `failed`; when a
    /// concurrent caller already replaced it, its replacement is returned without a refresh.
    pub async fn token_after_rejection(
        &self,
        failed: &AccessToken,
    ) -> Result<AccessToken, WechatError> {
        let failed = failed.clone();
        let outcome = self
            .cache
            .entry(())
            .and_compute_with(|entry| {
                let op = match entry {
                    Some(entry) if entry.value().token != failed => Op::Nop,
                    current => {
                        self.reject(failed);
                        if current.is_some() {
                            Op::Remove
                        } else {
                            Op::Nop
                        }
                    }
                };
                std::future::ready(op)
            })
            .await;
        if matches!(outcome, moka::ops::compute::CompResult::Removed(_)) {
            tracing::info!(
                wechat.app = self.app.label(),
                "access token refused; refreshing"
            );
        }
        self.token().await
    }

    fn reject(&self, token: AccessToken) {
        *self.rejected.lock().unwrap_or_else(|p| p.into_inner()) = Some(token);
    }

    fn is_rejected(&self, token: &AccessToken) -> bool {
        self.rejected
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            == Some(token)
    }

    async fn obtain(&self) -> Result<Cached, WechatError> {
        let deadline = Instant::now() + self.policy.lease_wait;
        loop {
            let now = Utc::now();
            match self.store.load(&self.appid).await {
                Ok(Some(row)) if self.usable(&row, now) => return Ok(self.cached(&row, now)),
                Ok(_) => {}
                Err(err) => return self.fetch_unshared(err).await,
            }
            let until = now + TimeDelta::from_std(self.policy.lease_ttl).unwrap_or(TimeDelta::MAX);
            match self
                .store
                .try_lease(&self.appid, &self.holder, now, until)
                .await
            {
                Ok(true) => return self.refresh_under_lease().await,
                Ok(false) => {}
                Err(err) => return self.fetch_unshared(err).await,
            }
            if Instant::now() >= deadline {
                return Err(WechatError::LeaseTimeout {
                    appid: self.appid.clone(),
                });
            }
            // Another instance is refreshing: its token will appear in the store.
            tokio::time::sleep(self.policy.lease_poll).await;
        }
    }

    async fn refresh_under_lease(&self) -> Result<Cached, WechatError> {
        // A refresher that finished between our read and our lease left a usable token.
        let now = Utc::now();
        if let Ok(Some(row)) = self.store.load(&self.appid).await
            && self.usable(&row, now)
        {
            self.release().await;
            return Ok(self.cached(&row, now));
        }
        match self.fetch().await {
            Ok(row) => {
                if let Err(err) = self.store.store(&self.appid, &row).await {
                    tracing::warn!(wechat.app = self.app.label(), error = %err, "cannot share the new access token");
                }
                Ok(self.cached(&row, Utc::now()))
            }
            Err(err) => {
                self.release().await;
                Err(err)
            }
        }
    }

    /// Without the store there is no sharing, but stable_token never invalidates other
    /// instances' tokens, so fetching alone stays safe.
    async fn fetch_unshared(&self, cause: StoreError) -> Result<Cached, WechatError> {
        tracing::warn!(wechat.app = self.app.label(), error = %cause, "token store unavailable; fetching without it");
        let row = self.fetch().await?;
        Ok(self.cached(&row, Utc::now()))
    }

    async fn release(&self) {
        if let Err(err) = self.store.release(&self.appid, &self.holder).await {
            tracing::warn!(wechat.app = self.app.label(), error = %err, "cannot release the token lease");
        }
    }

    /// One stable_token call, never with force_refresh: that would kill every instance's token.
    async fn fetch(&self) -> Result<StoredToken, WechatError> {
        let endpoint = Endpoint::StableToken;
        let body = encode(
            endpoint,
            &StableTokenRequest {
                grant_type: "client_credential",
                appid: &self.appid,
                secret: self.secret.expose_secret(),
                force_refresh: false,
            },
        )?;
        let result = self
            .exchange
            .call(&WireRequest::post(endpoint, Vec::new(), body))
            .await
            .and_then(|response| decode::<StableTokenResponse>(endpoint, &response));
        self.exchange
            .metrics
            .refreshed(self.app.label(), result.is_ok());
        let response = result.inspect_err(|err| {
            if matches!(err.errcode(), Some(40001 | 40013 | 40125 | 40164)) {
                tracing::error!(wechat.app = self.app.label(), error = %err, "WeChat refused the app credentials or this server's IP");
            }
        })?;
        let now = Utc::now();
        Ok(StoredToken {
            access_token: AccessToken::new(response.access_token),
            expires_at: now + TimeDelta::seconds(response.expires_in),
            updated_at: now,
        })
    }

    fn usable(&self, row: &StoredToken, now: DateTime<Utc>) -> bool {
        !row.access_token.expose().is_empty()
            && !self.is_rejected(&row.access_token)
            && now + self.margin(row) < row.expires_at
    }

    /// Refresh margin: the policy's, but at most half the lifetime, so a token fetched with
    /// only a few minutes left is still used for a while.
    fn margin(&self, row: &StoredToken) -> TimeDelta {
        let policy = TimeDelta::from_std(self.policy.refresh_margin).unwrap_or(TimeDelta::MAX);
        policy.min((row.expires_at - row.updated_at) / 2)
    }

    fn cached(&self, row: &StoredToken, now: DateTime<Utc>) -> Cached {
        let left = (row.expires_at - self.margin(row) - now)
            .to_std()
            .unwrap_or(Duration::ZERO);
        Cached {
            token: row.access_token.clone(),
            refresh_at: Instant::now() + left,
        }
    }
}

#[cfg(test)]
mod tests {
    use secrecy::SecretString;

    use super::*;
    use crate::wechat::{
        client::{ClientConfig, Credentials, MemoryTokenStore, WechatClient},
        sandbox::{Sandbox, SandboxConfig},
    };

    fn sandbox_client(store: Arc<MemoryTokenStore>) -> WechatClient {
        let credentials = |appid: &str| Credentials {
            appid: appid.to_owned(),
            secret: SecretString::from("s"),
        };
        let config = ClientConfig::new(credentials("wxmp"), credentials("wxapp"));
        let sandbox = Arc::new(Sandbox::new(SandboxConfig::new("wxapp")));
        WechatClient::sandbox(config, sandbox, store, &prometheus::Registry::new()).unwrap()
    }

    async fn seed(store: &MemoryTokenStore, token: &str, left: TimeDelta) {
        let now = Utc::now();
        let stored = StoredToken {
            access_token: AccessToken::new(token),
            expires_at: now + left,
            updated_at: now + left - TimeDelta::hours(2),
        };
        store.store("wxmp", &stored).await.unwrap();
    }

    #[tokio::test]
    async fn a_stored_token_with_time_left_is_reused() {
        let store = Arc::new(MemoryTokenStore::default());
        seed(&store, "shared-token", TimeDelta::minutes(30)).await;
        let client = sandbox_client(store);
        assert_eq!(
            client.access_token(App::Mp).await.unwrap().expose(),
            "shared-token"
        );
    }

    #[tokio::test]
    async fn a_stored_token_about_to_expire_is_refreshed_ahead_of_time() {
        let store = Arc::new(MemoryTokenStore::default());
        seed(&store, "old-token", TimeDelta::minutes(4)).await;
        let client = sandbox_client(store.clone());
        let token = client.access_token(App::Mp).await.unwrap();
        assert!(token.expose().starts_with("sbx_at_"));
        // The new token is shared for the other instances.
        let stored = store.load("wxmp").await.unwrap().unwrap();
        assert_eq!(stored.access_token, token);
    }

    #[tokio::test]
    async fn a_refused_token_is_not_taken_back_from_the_store() {
        let store = Arc::new(MemoryTokenStore::default());
        seed(&store, "refused-token", TimeDelta::minutes(30)).await;
        let client = sandbox_client(store);
        let authority = client.authority(App::Mp);
        let first = authority.token().await.unwrap();
        let second = authority.token_after_rejection(&first).await.unwrap();
        assert_ne!(first, second);
    }
}
