//! Test support: `spawn_app` builds the real application on a random loopback port with a fresh
//! database of its own, on SQLite or PostgreSQL.

use std::sync::{Arc, Once};

use figment::{Figment, providers::Serialized};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};
use serde_json::{Map, Value};
use wangju::{
    settings::Settings, startup::Application, storage::MediaStore, wechat::client::WechatClient,
};

use crate::fake_wechat::{FAKE_MINIAPP_APPID, FAKE_MP_APPID, FakeWechat};

/// Which database a test runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// An SQLite file in a temporary directory.
    Sqlite,
    /// A fresh database on the local PostgreSQL server.
    Postgres,
}

/// A running application and what a test needs to talk to it.
pub struct TestApp {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// A database connection of the test's own (same database as the app).
    pub db: DatabaseConnection,
    /// HTTP client.
    pub client: reqwest::Client,
    /// The database URL the app uses.
    pub database_url: String,
    /// The bootstrap admin token.
    pub admin_token: String,
    /// The app's own WeChat client (sandbox, or live against a fake).
    pub wechat: WechatClient,
    /// The app's media storage.
    pub store: MediaStore,
    /// The app's campaigns.
    pub campaigns: Arc<wangju::service::campaign::Campaigns>,
    /// Dropping it stops the server.
    _stop: tokio::sync::oneshot::Sender<()>,
    guard: Arc<DatabaseGuard>,
    media: Arc<tempfile::TempDir>,
    backend: Backend,
    overrides: Vec<(String, Value)>,
}

impl TestApp {
    /// An absolute URL for a path.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// A second server process-equivalent on the same database and settings (restarts,
    /// several instances), with `extra` settings on top.
    pub async fn another(&self, extra: &[(&str, Value)]) -> TestApp {
        let mut overrides: Vec<(&str, Value)> = self
            .overrides
            .iter()
            .map(|(k, v)| (k.as_str(), v.clone()))
            .collect();
        overrides.extend(extra.iter().cloned());
        start(
            self.backend,
            self.database_url.clone(),
            (self.guard.clone(), self.media.clone()),
            &overrides,
        )
        .await
    }

    /// The app's media storage directory.
    pub fn media_dir(&self) -> &std::path::Path {
        self.media.path()
    }

    /// Every file in the app's media storage (relative paths), sorted.
    pub fn media_files(&self) -> Vec<String> {
        fn walk(dir: &std::path::Path, root: &std::path::Path, out: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).expect("read media dir").flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, root, out);
                } else {
                    out.push(path.strip_prefix(root).unwrap().display().to_string());
                }
            }
        }
        let mut out = Vec::new();
        walk(self.media.path(), self.media.path(), &mut out);
        out.sort();
        out
    }

    /// Logs in through the API with a sandbox login code: (bearer token, person id).
    pub async fn login(&self, code: &str) -> (String, i64) {
        let res = self
            .client
            .post(self.url("/api/v1/auth/login"))
            .json(&serde_json::json!({ "code": code }))
            .send()
            .await
            .expect("login request");
        assert_eq!(res.status(), 200, "login {code}");
        let body: Value = res.json().await.expect("login body");
        let token = body["token"].as_str().expect("token").to_owned();
        (token, body["user"]["id"].as_i64().expect("user id"))
    }

    /// Waits (up to 10 s) until `check` holds, polling.
    pub async fn eventually<F, Fut>(&self, what: &str, mut check: F)
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        for _ in 0..200 {
            if check().await {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("timed out waiting for: {what}");
    }

    /// A new bearer token for an organiser with `role` (all categories, no unit).
    pub async fn token(&self, role: wangju::domain::role::Role) -> String {
        wangju::service::admin_tokens::issue(&self.db, role, None, role.as_str())
            .await
            .expect("issue a token")
            .reveal()
            .to_owned()
    }

    /// A new reviewer's token.
    pub async fn reviewer(&self) -> String {
        self.token(wangju::domain::role::Role::Reviewer).await
    }

    /// `POST /api/v1/works` as `token`: status and body.
    pub async fn submit(&self, token: &str, body: Value) -> (u16, Value) {
        let res = self
            .client
            .post(self.url("/api/v1/works"))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .expect("submit request");
        (res.status().as_u16(), res.json().await.unwrap_or_default())
    }

    /// Submits as `token`, waits for the content checks to hand the work to a person, and
    /// approves it as `reviewer`; the work's id.
    pub async fn submit_and_approve(&self, token: &str, reviewer: &str, body: Value) -> i64 {
        let (status, work) = self.submit(token, body).await;
        assert_eq!(status, 201, "{work}");
        let id = work["id"].as_i64().expect("work id");
        self.eventually("checked", || async {
            use sea_orm::EntityTrait;
            entity::work::Entity::find_by_id(id)
                .one(&self.db)
                .await
                .expect("find work")
                .is_some_and(|w| w.status == "pending_review")
        })
        .await;
        self.approve(reviewer, id).await;
        id
    }

    /// Approves work `id` as `reviewer` (the request must succeed).
    pub async fn approve(&self, reviewer: &str, id: i64) {
        let res = self
            .client
            .post(self.url(&format!("/api/v1/admin/works/{id}/review")))
            .bearer_auth(reviewer)
            .json(&serde_json::json!({"decision": "approve"}))
            .send()
            .await
            .expect("review request");
        assert_eq!(
            res.status(),
            200,
            "{}",
            res.text().await.unwrap_or_default()
        );
    }

    /// Sets the campaign phase through the admin API.
    pub async fn set_phase(&self, phase: Option<&str>) {
        let res = self
            .client
            .put(self.url("/api/v1/admin/campaign/phase"))
            .bearer_auth(&self.admin_token)
            .json(&serde_json::json!({ "phase": phase }))
            .send()
            .await
            .expect("phase request");
        assert_eq!(
            res.status(),
            200,
            "{}",
            res.text().await.unwrap_or_default()
        );
    }
}

/// How many people the app knows.
pub async fn count_people(app: &TestApp) -> u64 {
    use sea_orm::{EntityTrait, PaginatorTrait};
    entity::person::Entity::find()
        .count(&app.db)
        .await
        .expect("count people")
}

/// Installs the rustls provider and a quiet test subscriber once per process.
pub fn init() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
        if std::env::var_os("TEST_LOG").is_some() {
            wangju::telemetry::init(wangju::settings::LogFormat::Pretty, "debug,sqlx=warn");
        }
    });
}

/// The PostgreSQL server tests use.
pub fn postgres_admin_url() -> String {
    std::env::var("WANGJU_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// Creates an empty database for one test; `None` (with a loud line) if PostgreSQL is absent
/// outside CI. In CI an unreachable PostgreSQL fails the test.
pub async fn fresh_database(backend: Backend) -> Option<(String, DatabaseGuard)> {
    match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().expect("temp dir");
            let url = format!("sqlite://{}/wangju.db?mode=rwc", dir.path().display());
            Some((url, DatabaseGuard::Sqlite { _dir: dir }))
        }
        Backend::Postgres => {
            let admin_url = postgres_admin_url();
            let admin = match Database::connect(&admin_url).await {
                Ok(conn) => conn,
                Err(err) => {
                    if std::env::var("CI").as_deref() == Ok("true") {
                        panic!("PostgreSQL at {admin_url} is unreachable in CI: {err}");
                    }
                    eprintln!(
                        "\n!!!!! SKIPPING a PostgreSQL test: {admin_url} unreachable ({err}) !!!!!\n"
                    );
                    return None;
                }
            };
            let name = format!("wangju_test_{}", uuid::Uuid::new_v4().simple());
            admin
                .execute_unprepared(&format!("CREATE DATABASE {name}"))
                .await
                .expect("create test database");
            let url = replace_database(&admin_url, &name);
            Some((url, DatabaseGuard::Postgres { admin_url, name }))
        }
    }
}

fn replace_database(url: &str, name: &str) -> String {
    let mut parsed = url::Url::parse(url).expect("postgres url");
    parsed.set_path(&format!("/{name}"));
    parsed.to_string()
}

/// Removes a test's database when the test ends, even when it panicked.
pub enum DatabaseGuard {
    /// A database the test manages itself (nothing to remove).
    External,
    /// The temporary directory of the SQLite file, removed on drop.
    Sqlite {
        /// The directory.
        _dir: tempfile::TempDir,
    },
    /// The PostgreSQL database to drop.
    Postgres {
        /// Server URL.
        admin_url: String,
        /// Database name.
        name: String,
    },
}

impl Drop for DatabaseGuard {
    fn drop(&mut self) {
        if let Self::Postgres { admin_url, name } = self {
            let (admin_url, name) = (admin_url.clone(), name.clone());
            // Drop runs inside the test's runtime: do the async work on a thread of its own.
            let _ = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime");
                runtime.block_on(async {
                    if let Ok(admin) = Database::connect(&admin_url).await {
                        let _ = admin
                            .execute_raw(Statement::from_string(
                                admin.get_database_backend(),
                                format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
                            ))
                            .await;
                    }
                });
            })
            .join();
        }
    }
}

/// The bootstrap admin token of every test app.
pub const ADMIN_TOKEN: &str = "test-admin-token-0001";

/// Settings for a test app: loopback port 0, the given database, sandbox WeChat, plus overrides.
pub fn test_settings(database_url: &str, overrides: &[(&str, Value)]) -> Settings {
    let mut values = Map::new();
    values.insert("listen".into(), "127.0.0.1:0".into());
    values.insert("admin_token".into(), ADMIN_TOKEN.into());
    values.insert(
        "replies".into(),
        concat!(env!("CARGO_MANIFEST_DIR"), "/wechat-config/replies.toml").into(),
    );
    values.insert(
        "notices".into(),
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/wechat-config/notifications.toml"
        )
        .into(),
    );
    values.insert("database_url".into(), database_url.into());
    values.insert("shutdown_grace_s".into(), 10.into());
    values.insert(
        "campaign".into(),
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/wechat-config/campaigns/shwm-2017.toml"
        )
        .into(),
    );
    // A null override removes a default (e.g. `campaign`, to read a campaigns folder).
    for (key, value) in overrides {
        if value.is_null() {
            values.remove(*key);
        } else {
            values.insert((*key).to_owned(), value.clone());
        }
    }
    Settings::from_figment(Figment::new().merge(Serialized::defaults(Value::Object(values))))
        .expect("test settings are valid")
}

/// Spawns the app on `backend` with default test settings.
pub async fn spawn_app(backend: Backend) -> Option<TestApp> {
    spawn_app_with(backend, &[]).await
}

/// Spawns the app on a database the test provides (and removes) itself.
pub async fn spawn_app_on(database_url: &str, overrides: &[(&str, Value)]) -> TestApp {
    init();
    let media = Arc::new(tempfile::tempdir().expect("media dir"));
    let backend = if database_url.starts_with("postgres") {
        Backend::Postgres
    } else {
        Backend::Sqlite
    };
    let guard = Arc::new(DatabaseGuard::External);
    start(backend, database_url.to_owned(), (guard, media), overrides).await
}

/// Spawns the app on `backend` with settings overrides (flat keys as in `wangju.toml`).
pub async fn spawn_app_with(backend: Backend, overrides: &[(&str, Value)]) -> Option<TestApp> {
    init();
    let (database_url, guard) = fresh_database(backend).await?;
    let media = Arc::new(tempfile::tempdir().expect("media dir"));
    Some(start(backend, database_url, (Arc::new(guard), media), overrides).await)
}

async fn start(
    backend: Backend,
    database_url: String,
    (guard, media): (Arc<DatabaseGuard>, Arc<tempfile::TempDir>),
    overrides: &[(&str, Value)],
) -> TestApp {
    let storage = format!("file://{}", media.path().display());
    let mut all = vec![
        ("storage", Value::from(storage)),
        ("job_poll_ms", Value::from(50)),
        // Tests read their own writes at once; one test turns the page cache on.
        ("listing_cache_ms", Value::from(0)),
    ];
    all.extend(overrides.iter().map(|(k, v)| (*k, v.clone())));
    let settings = test_settings(&database_url, &all);
    let app = Application::build(settings).await.expect("app builds");
    let addr = app.local_addr();
    let db = app.state().db.clone();
    let wechat = app.state().wechat.clone();
    let store = app.state().store.clone();
    let campaigns = app.state().campaigns.clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    TestApp {
        campaigns,
        base: format!("http://{addr}"),
        db,
        client: reqwest::Client::new(),
        database_url,
        admin_token: ADMIN_TOKEN.to_owned(),
        wechat,
        store,
        _stop: stop,
        guard,
        media,
        backend,
        overrides: overrides
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect(),
    }
}

/// Spawns the app in live WeChat mode against a fresh fake WeChat (short read timeout).
pub async fn spawn_app_with_fake_wechat(backend: Backend) -> Option<(TestApp, FakeWechat)> {
    spawn_app_with_fake_wechat_and(backend, &[]).await
}

/// As [`spawn_app_with_fake_wechat`], with more settings overrides.
pub async fn spawn_app_with_fake_wechat_and(
    backend: Backend,
    extra: &[(&str, Value)],
) -> Option<(TestApp, FakeWechat)> {
    let fake = FakeWechat::start().await;
    let mut overrides: Vec<(&str, Value)> = vec![
        ("wechat_mode", "live".into()),
        ("wechat_api_base", fake.base.clone().into()),
        ("wechat_read_timeout_ms", 2_000.into()),
        ("mp_appid", FAKE_MP_APPID.into()),
        ("mp_secret", "fake-mp-secret".into()),
        ("miniapp_appid", FAKE_MINIAPP_APPID.into()),
        ("miniapp_secret", "fake-miniapp-secret".into()),
    ];
    overrides.extend(extra.iter().cloned());
    let app = spawn_app_with(backend, &overrides).await?;
    Some((app, fake))
}

/// Runs `$run(backend)` as one test per database: `on_both_databases!(name, run)` makes
/// `name::sqlite` and `name::postgres` (for tests that build their own app).
#[macro_export]
macro_rules! on_both_databases {
    ($name:ident, $run:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$run($crate::helpers::Backend::Sqlite).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$run($crate::helpers::Backend::Postgres).await
            }
        }
    };
}

/// Defines one test per backend: `db_test!(name, |app| async move { ... })` makes `name::sqlite`
/// and `name::postgres`, each with a fresh app.
#[macro_export]
macro_rules! db_test {
    ($name:ident, |$app:ident| $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn run(backend: $crate::helpers::Backend) {
                let Some($app) = $crate::helpers::spawn_app(backend).await else {
                    return;
                };
                $body.await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                run($crate::helpers::Backend::Sqlite).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                run($crate::helpers::Backend::Postgres).await
            }
        }
    };
}
