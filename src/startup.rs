//! The one composition root: Settings → App (database, state, routes, middleware).
//! Used by `main` and by the tests.

use std::{future::Future, net::SocketAddr, sync::Arc};

use poem::{
    EndpointExt, IntoEndpoint, Server,
    listener::{Acceptor, Listener, TcpAcceptor, TcpListener},
};
use sea_orm::DatabaseConnection;

use crate::{
    campaign::{catalog::Catalog, notices::Notices, replies::Replies},
    db::{self, DbSetupError},
    error::AppError,
    jobs::{
        inbox::run_inbox,
        outbox::{OutboxPolicy, run_outbox},
        sandbox::{PUSHES_WAITING, run_sandbox_pushes},
        worker::run_worker,
    },
    metrics::Metrics,
    repo::{self, wechat_tokens::DbTokenStore},
    routes::{
        self,
        connections::Capped,
        observe::{BodyLimits, Observe},
    },
    service::admin_tokens,
    service::health::StorageProbe,
    service::{
        callback::PushEndpoint,
        campaign::{Campaigns, SyncError},
        notifications,
    },
    service::{listing::ListingPages, rankings::Rankings, rate::KeyedRate},
    settings::{AppCredentials, Settings, WechatMode, WechatSettings},
    state::AppState,
    storage::{MediaStore, image::DecodeBudget},
    wechat::{
        client::{self, ClientConfig, Credentials, MemoryTokenStore, WechatClient},
        sandbox::{Sandbox, SandboxConfig},
    },
};

/// Room for an upload's multipart framing beyond the file itself.
const MULTIPART_ENVELOPE: u64 = 64 * 1024;

/// How long a connection may send nothing before it is closed.
const CONNECTION_IDLE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15);

/// How long an image check waits for its share of the decode budget before answering 503.
const IMAGE_BUDGET_WAIT: std::time::Duration = std::time::Duration::from_secs(20);

/// How long a media-storage readiness check is reused.
const STORAGE_PROBE_TTL: std::time::Duration = std::time::Duration::from_secs(5);

/// Largest accepted WeChat push: messages are small, encrypted ones about 3x larger.
const CALLBACK_BODY_LIMIT: u64 = 256 * 1024;

/// Why the application could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// Database connection or migration.
    #[error(transparent)]
    Database(#[from] DbSetupError),
    /// Bootstrap data could not be written.
    #[error("bootstrap: {0}")]
    Bootstrap(#[from] AppError),
    /// The campaigns could not be brought in step with the database.
    #[error(transparent)]
    Campaigns(#[from] SyncError),
    /// The campaign files.
    #[error(transparent)]
    Campaign(#[from] crate::campaign::CampaignError),
    /// The notifications file.
    #[error(transparent)]
    Notices(#[from] crate::campaign::notices::NoticesError),
    /// The replies file.
    #[error(transparent)]
    Replies(#[from] crate::campaign::replies::RepliesError),
    /// Media storage.
    #[error(transparent)]
    Storage(#[from] crate::storage::StorageError),
    /// Metrics registry.
    #[error("metrics: {0}")]
    Metrics(#[from] prometheus::Error),
    /// The WeChat client could not be built.
    #[error(transparent)]
    Wechat(#[from] client::BuildError),
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// A built application, bound to its port, ready to serve.
pub struct Application {
    acceptor: TcpAcceptor,
    local_addr: SocketAddr,
    state: AppState,
}

impl Application {
    /// Connects and migrates the database, bootstraps the admin token and binds the listener.
    pub async fn build(settings: Settings) -> Result<Self, StartupError> {
        // Files first: a broken campaign stops start-up before anything is touched.
        let catalog = Catalog::load(&settings.campaigns, settings.default_campaign.as_deref())?;
        let replies = Arc::new(Replies::load(&settings.replies_path)?);
        let notices = Arc::new(Notices::load(&settings.notices_path)?);
        let endpoint = PushEndpoint::new(&settings);
        let db = db::connect(&settings.database).await?;
        db::migrate(&db).await?;
        for unit in catalog.files.iter().flat_map(|f| &f.campaign.units) {
            repo::units::upsert(&db, &unit.code, &unit.name)
                .await
                .map_err(|e| StartupError::Bootstrap(e.into()))?;
        }
        let campaigns = Arc::new(Campaigns::sync(&db, &catalog, chrono::Utc::now()).await?);
        if let Some(token) = &settings.admin_token {
            admin_tokens::ensure_bootstrap(&db, token).await?;
        }
        let milestones_campaign = campaigns.default_campaign().id;
        notifications::schedule_milestones(&db, milestones_campaign, &notices, chrono::Utc::now())
            .await?;
        let metrics = Metrics::new()?;
        let wechat = build_wechat(&settings.wechat, &db, &metrics)?;
        let addr = settings.http.listen;
        let acceptor = TcpListener::bind(addr)
            .into_acceptor()
            .await
            .map_err(|source| StartupError::Bind { addr, source })?;
        let local_addr = acceptor
            .local_addr()
            .first()
            .and_then(|a| a.as_socket_addr().copied())
            .unwrap_or(addr);
        let public_url = match &settings.http.public_url {
            Some(url) => url.clone(),
            None => url::Url::parse(&format!("http://{local_addr}"))
                .map_err(|e| StartupError::Bootstrap(AppError::internal(e)))?,
        };
        let store = MediaStore::open(&settings.storage, &public_url)?;
        Ok(Self {
            acceptor,
            local_addr,
            state: AppState {
                storage_probe: StorageProbe::new(store.clone(), STORAGE_PROBE_TTL),
                image_budget: DecodeBudget::new(settings.image_memory_budget, IMAGE_BUDGET_WAIT),
                store,
                replies,
                push_endpoint: Arc::new(endpoint),
                login_rate: KeyedRate::per_minute(
                    std::num::NonZeroU32::new(settings.http.logins_per_ip_per_minute)
                        .unwrap_or(std::num::NonZeroU32::MIN),
                ),
                rankings: Rankings::default(),
                listing: ListingPages::new(settings.listing_cache),
                campaigns,
                notices,
                db,
                settings: Arc::new(settings),
                metrics,
                wechat,
            },
        })
    }

    /// The address actually bound (port 0 in tests becomes a real port).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The shared state (tests reach the database through it).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` resolves, then lets in-flight requests finish within the grace period.
    pub async fn run_until(self, shutdown: impl Future<Output = ()>) -> std::io::Result<()> {
        let http = &self.state.settings.http;
        let limits = BodyLimits {
            default: http.max_body_bytes,
            // The limit is the file's (checked as it is read); the multipart framing around it
            // (boundaries, part headers, small form fields) gets room of its own.
            upload: http.max_upload_bytes + MULTIPART_ENVELOPE,
            callback: CALLBACK_BODY_LIMIT,
        };
        let grace = http.shutdown_grace;
        let endpoint = routes::build(self.state.clone())
            .into_endpoint()
            .with(Observe::new(self.state.metrics.clone(), limits));
        let (stop_jobs, jobs_stopped) = tokio::sync::watch::channel(false);
        let worker = tokio::spawn(run_worker(
            self.state.clone(),
            self.state.settings.job_poll,
            jobs_stopped,
        ));
        let outbox = tokio::spawn(run_outbox(
            self.state.db.clone(),
            self.state.wechat.clone(),
            OutboxPolicy {
                poll: self.state.settings.job_poll,
                retry_base: self.state.settings.outbox_retry_base,
                max_attempts: 8,
                quota_pause: std::time::Duration::from_secs(3600),
                lease: std::time::Duration::from_secs(300),
                miniapp_appid: self.state.settings.wechat.miniapp.appid.clone(),
            },
            stop_jobs.subscribe(),
        ));
        let inbox = tokio::spawn(run_inbox(
            self.state.push(),
            self.state.settings.job_poll,
            stop_jobs.subscribe(),
        ));
        if let Some(sandbox) = self.state.wechat.sandbox_handle() {
            let (pushes, waiting) = tokio::sync::mpsc::channel(PUSHES_WAITING);
            sandbox.push_to(pushes);
            let wechat = &self.state.settings.wechat;
            tokio::spawn(run_sandbox_pushes(
                waiting,
                self.state.push(),
                wechat.callback.miniapp.clone(),
                wechat.miniapp.appid.clone(),
            ));
        }
        tracing::info!(addr = %self.local_addr, "listening");
        // A connection that sends nothing for this long (a stalled header, an idle keep-alive)
        // is closed; bodies that trickle are cut by the body pace in `Observe`.
        let acceptor = Capped::new(self.acceptor, http.max_connections);
        let served = Server::new_with_acceptor(acceptor)
            .idle_timeout(CONNECTION_IDLE_TIMEOUT)
            .run_with_graceful_shutdown(endpoint, shutdown, Some(grace))
            .await;
        // The worker finishes the job in hand; unfinished jobs wait in the table for the next start.
        let _ = stop_jobs.send(true);
        let _ = worker.await;
        let _ = outbox.await;
        let _ = inbox.await;
        served
    }
}

/// Builds the WeChat client for the configured mode; live tokens are shared through the database.
pub fn build_wechat(
    settings: &WechatSettings,
    db: &DatabaseConnection,
    metrics: &Metrics,
) -> Result<WechatClient, client::BuildError> {
    let credentials = |app: &AppCredentials| Credentials {
        appid: app.appid.clone(),
        secret: app.secret.clone(),
    };
    let mut config = ClientConfig::new(credentials(&settings.mp), credentials(&settings.miniapp));
    config.timeouts.connect = settings.connect_timeout;
    config.timeouts.read = settings.read_timeout;
    config.timeouts.total = settings.connect_timeout + settings.read_timeout;
    let registry = metrics.registry();
    match settings.mode {
        WechatMode::Live => {
            tracing::info!(wechat.api_base = %settings.api_base, "WeChat client: live");
            let store = Arc::new(DbTokenStore::new(db.clone()));
            WechatClient::http(config, &settings.api_base, store, registry)
        }
        WechatMode::Sandbox => {
            tracing::info!("WeChat client: sandbox simulator (no calls leave this process)");
            let sandbox = Sandbox::new(SandboxConfig::new(settings.miniapp.appid.clone()));
            // Sandbox tokens stay in memory: a database later switched to live mode must not
            // hold a simulator token under a real appid.
            let store = Arc::new(MemoryTokenStore::default());
            WechatClient::sandbox(config, Arc::new(sandbox), store, registry)
        }
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %err, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                tracing::error!(error = %err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("stop signal received, draining in-flight requests");
}
