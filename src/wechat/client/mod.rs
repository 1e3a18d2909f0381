//! The one WeChat API client: typed calls, shared access tokens, retries, quotas and metrics.
//!
//! Imports neither poem nor sea-orm nor campaign code: the database side of the token store is
//! the [`TokenStore`] trait, implemented in `repo::wechat_tokens`.

mod auth;
mod authority;
mod endpoint;
mod error;
mod exchange;
mod media;
mod menu;
mod message;
mod metrics;
mod quota;
mod retry;
mod security;
mod token;
mod transport;
mod user;

use std::{fmt, sync::Arc};

use prometheus::Registry;
use secrecy::SecretString;

pub use auth::{PhoneInfo, Session, Watermark};
pub use authority::{TokenAuthority, TokenPolicy};
pub use endpoint::Endpoint;
pub use error::{ErrorClass, WechatError, classify_errcode};
pub use media::{Image, LineColor, Media, WxaCode};
pub use message::{
    Article, CustomBody, CustomMessage, FieldValue, MediaRef, MiniprogramLink, MiniprogramPage,
    News, SubscribeMessage, TemplateData, TemplateMessage, TemplateSent, TextContent,
};
pub use metrics::ClientMetrics;
pub use quota::{QuotaConfig, Rate};
pub use retry::RetryPolicy;
pub use security::{
    MediaCheck, MediaCheckTicket, MediaKind, MsgSecCheck, RiskRank, RiskRankQuery, SecCheckDetail,
    SecCheckResult, Suggest, Verdict,
};
pub use token::{AccessToken, MemoryTokenStore, StoreError, StoredToken, TokenStore};
pub use transport::{HttpTransport, Timeouts, Transport, WireResponse};
pub use user::FollowerInfo;

use crate::wechat::sandbox::Sandbox;
use exchange::Exchange;
use quota::QuotaLimiter;
use transport::WireRequest;

/// Which WeChat app a call acts as.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum App {
    /// The official account (公众号).
    Mp,
    /// The mini program (小程序).
    Miniapp,
}

impl App {
    /// The label used in metrics and logs.
    pub fn label(self) -> &'static str {
        match self {
            Self::Mp => "mp",
            Self::Miniapp => "miniapp",
        }
    }
}

/// The appid and AppSecret of one app.
#[derive(Clone, Debug)]
pub struct Credentials {
    /// The appid (`wx...`), not secret.
    pub appid: String,
    /// The AppSecret; never logged.
    pub secret: SecretString,
}

/// Everything the client is built from.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// Official account credentials.
    pub mp: Credentials,
    /// Mini program credentials.
    pub miniapp: Credentials,
    /// HTTP timeouts.
    pub timeouts: Timeouts,
    /// Retries of retryable failures.
    pub retry: RetryPolicy,
    /// Token refresh and lease timing.
    pub token: TokenPolicy,
    /// Client-side quota buckets.
    pub quotas: QuotaConfig,
}

impl ClientConfig {
    /// A configuration with the default policies.
    pub fn new(mp: Credentials, miniapp: Credentials) -> Self {
        Self {
            mp,
            miniapp,
            timeouts: Timeouts::default(),
            retry: RetryPolicy::default(),
            token: TokenPolicy::default(),
            quotas: QuotaConfig::default(),
        }
    }
}

/// Why the client could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// reqwest refused the configuration.
    #[error("wechat http client: {0}")]
    Http(#[from] reqwest::Error),
    /// The metrics could not be registered.
    #[error("wechat metrics: {0}")]
    Metrics(#[from] prometheus::Error),
}

/// The WeChat API client; cheap to clone, every clone shares tokens, buckets and metrics.
#[derive(Clone)]
pub struct WechatClient {
    inner: Arc<Inner>,
}

struct Inner {
    exchange: Arc<Exchange>,
    mp: TokenAuthority,
    miniapp: TokenAuthority,
    miniapp_credentials: Credentials,
    sandbox: Option<Arc<Sandbox>>,
}

impl fmt::Debug for WechatClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WechatClient")
            .field("mp", &self.inner.mp)
            .field("miniapp", &self.inner.miniapp)
            .field("sandbox", &self.inner.sandbox.is_some())
            .finish()
    }
}

impl WechatClient {
    /// A client over `transport`, sharing tokens through `store`, with metrics on `registry`.
    pub fn new(
        config: ClientConfig,
        transport: Transport,
        store: Arc<dyn TokenStore>,
        registry: &Registry,
    ) -> Result<Self, BuildError> {
        let sandbox = match &transport {
            Transport::Sandbox(sandbox) => Some(sandbox.clone()),
            Transport::Http(_) => None,
        };
        let exchange = Arc::new(Exchange {
            transport,
            retry: config.retry,
            quota: QuotaLimiter::new(&config.quotas),
            metrics: ClientMetrics::register(registry)?,
        });
        // One lease holder name per process instance.
        let holder = uuid::Uuid::new_v4().simple().to_string();
        let authority = |app, credentials: &Credentials| {
            TokenAuthority::new(
                app,
                credentials.appid.clone(),
                credentials.secret.clone(),
                holder.clone(),
                config.token,
                store.clone(),
                exchange.clone(),
            )
        };
        let mp = authority(App::Mp, &config.mp);
        let miniapp = authority(App::Miniapp, &config.miniapp);
        Ok(Self {
            inner: Arc::new(Inner {
                exchange,
                mp,
                miniapp,
                miniapp_credentials: config.miniapp,
                sandbox,
            }),
        })
    }

    /// A client that talks HTTP to `base` (WeChat, or a fake of it in tests).
    pub fn http(
        config: ClientConfig,
        base: &url::Url,
        store: Arc<dyn TokenStore>,
        registry: &Registry,
    ) -> Result<Self, BuildError> {
        let transport = Transport::Http(HttpTransport::new(base, config.timeouts)?);
        Self::new(config, transport, store, registry)
    }

    /// A client whose WeChat is the in-process `sandbox`.
    pub fn sandbox(
        config: ClientConfig,
        sandbox: Arc<Sandbox>,
        store: Arc<dyn TokenStore>,
        registry: &Registry,
    ) -> Result<Self, BuildError> {
        Self::new(config, Transport::Sandbox(sandbox), store, registry)
    }

    /// The token authority of `app` (tokens, and the compare-and-swap after a refusal).
    pub fn authority(&self, app: App) -> &TokenAuthority {
        match app {
            App::Mp => &self.inner.mp,
            App::Miniapp => &self.inner.miniapp,
        }
    }

    /// The current access token of `app`.
    pub async fn access_token(&self, app: App) -> Result<AccessToken, WechatError> {
        self.authority(app).token().await
    }

    /// The simulator, in sandbox mode (its record of sent messages).
    pub fn sandbox_handle(&self) -> Option<&Arc<Sandbox>> {
        self.inner.sandbox.as_ref()
    }

    fn miniapp_credentials(&self) -> &Credentials {
        &self.inner.miniapp_credentials
    }

    async fn call(&self, request: &WireRequest) -> Result<WireResponse, WechatError> {
        self.inner.exchange.call(request).await
    }

    /// Calls with `app`'s token; on a token refusal, swaps the token (once) and retries once.
    async fn call_with_token(
        &self,
        app: App,
        make: impl Fn(&AccessToken) -> Result<WireRequest, WechatError>,
    ) -> Result<WireResponse, WechatError> {
        let authority = self.authority(app);
        let token = authority.token().await?;
        match self.call(&make(&token)?).await {
            Err(err) if err.class() == ErrorClass::Token => {
                let fresh = authority.token_after_rejection(&token).await?;
                self.call(&make(&fresh)?).await
            }
            other => other,
        }
    }
}

/// The `access_token` query of a token-authenticated call.
fn token_query(token: &AccessToken) -> Vec<(&'static str, String)> {
    vec![("access_token", token.expose().to_owned())]
}

/// A POST of `body` as JSON to `endpoint` with `token`.
fn post_json<T: serde::Serialize>(
    endpoint: Endpoint,
    token: &AccessToken,
    body: &T,
) -> Result<WireRequest, WechatError> {
    Ok(WireRequest::post(
        endpoint,
        token_query(token),
        exchange::encode(endpoint, body)?,
    ))
}
