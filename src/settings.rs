//! One typed settings tree: `wechat-config/wangju.toml`, then `WANGJU_*` environment variables.
//!
//! The file and the environment share flat keys (`listen` ↔ `WANGJU_LISTEN`) so that the
//! contract's table reads the same in both. Raw values are parsed once into [`Settings`];
//! nobody else reads the environment.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use figment::{
    Figment,
    providers::{Env, Format, Toml},
    value::magic::RelativePathBuf,
};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::wechat::crypto::{EncodingAesKey, MessageCrypt};
pub use crate::wechat::push::MessageMode;

/// Default location of the configuration file.
pub const DEFAULT_CONFIG_PATH: &str = "wechat-config/wangju.toml";

/// WeChat's API host.
const DEFAULT_API_BASE: &str = "https://api.weixin.qq.com";
/// Sandbox credentials: harmless values that only the built-in simulator accepts.
const SANDBOX_MP_APPID: &str = "wxsandbox0000mp01";
const SANDBOX_MINIAPP_APPID: &str = "wxsandbox0000app1";
const SANDBOX_SECRET: &str = "sandbox-secret";
const SANDBOX_MP_TOKEN: &str = "sandbox-token";
const SANDBOX_MINIAPP_TOKEN: &str = "sandbox-miniapp-token";

/// Why the settings could not be loaded; the message always names the setting.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// The file or an environment variable could not be read as the expected type (serde
    /// stops at the first such value; every value that reads is then checked, see `Several`).
    #[error("configuration: {}", each_load_error(.0))]
    Load(#[from] Box<figment::Error>),
    /// The configuration file does not exist.
    #[error("configuration: file `{0}` not found (set --config or WANGJU_CONFIG)")]
    MissingFile(String),
    /// A value was read but is not acceptable.
    #[error("configuration: {name} (`{key}` in the file): {reason}")]
    Invalid {
        /// The environment variable that sets it.
        name: &'static str,
        /// The key in `wangju.toml`.
        key: &'static str,
        /// What is wrong with the value.
        reason: String,
    },
    /// More than one value is not acceptable: all of them, one per line.
    #[error("configuration: {} problems:\n{}", .0.len(), list(.0))]
    Several(Vec<SettingsError>),
}

fn each_load_error(err: &figment::Error) -> String {
    let all: Vec<String> = err.clone().into_iter().map(|e| e.to_string()).collect();
    all.join("; ")
}

fn list(problems: &[SettingsError]) -> String {
    let lines: Vec<String> = problems
        .iter()
        .map(|p| {
            format!(
                "  - {}",
                p.to_string().trim_start_matches("configuration: ")
            )
        })
        .collect();
    lines.join("\n")
}

/// Bad settings found so far: checking goes on past each, so that one start names them all.
#[derive(Default)]
struct Problems(Vec<SettingsError>);

impl Problems {
    fn push(&mut self, problem: SettingsError) {
        self.0.push(problem);
    }

    /// The value, or `fallback` (never used: [`Problems::finish`] fails) with the problem noted.
    fn or<T>(&mut self, result: Result<T, SettingsError>, fallback: T) -> T {
        self.check(result).unwrap_or(fallback)
    }

    fn check<T>(&mut self, result: Result<T, SettingsError>) -> Option<T> {
        result.map_err(|problem| self.push(problem)).ok()
    }

    /// One problem as itself, several as one error listing them all.
    fn finish(mut self) -> Result<(), SettingsError> {
        match self.0.len() {
            0 => Ok(()),
            1 => Err(self.0.remove(0)),
            _ => Err(SettingsError::Several(self.0)),
        }
    }
}

fn invalid(key: &'static str, name: &'static str, reason: impl Into<String>) -> SettingsError {
    SettingsError::Invalid {
        name,
        key,
        reason: reason.into(),
    }
}

/// The raw, flat shape of the file and the environment (keys are the env names without prefix).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSettings {
    listen: Option<String>,
    database_url: Option<String>,
    // Relative paths in the file are read from the file's folder; from the environment, from
    // the working directory.
    campaign: Option<RelativePathBuf>,
    replies: Option<RelativePathBuf>,
    notices: Option<RelativePathBuf>,
    photo_draft_ttl_s: Option<u64>,
    image_memory_budget_mib: Option<u64>,
    wechat_mode: Option<String>,
    wechat_api_base: Option<String>,
    wechat_connect_timeout_ms: Option<u64>,
    wechat_read_timeout_ms: Option<u64>,
    mp_appid: Option<String>,
    mp_secret: Option<SecretString>,
    mp_token: Option<SecretString>,
    mp_aes_key: Option<SecretString>,
    mp_aes_key_previous: Option<SecretString>,
    mp_message_mode: Option<String>,
    miniapp_appid: Option<String>,
    miniapp_secret: Option<SecretString>,
    miniapp_token: Option<SecretString>,
    miniapp_aes_key: Option<SecretString>,
    miniapp_message_mode: Option<String>,
    admin_token: Option<SecretString>,
    public_url: Option<String>,
    storage: Option<String>,
    storage_access_key_id: Option<String>,
    storage_secret_access_key: Option<SecretString>,
    env: Option<String>,
    log_format: Option<String>,
    log_filter: Option<String>,
    max_body_bytes: Option<u64>,
    max_upload_bytes: Option<u64>,
    trusted_proxies: Option<String>,
    logins_per_ip_per_minute: Option<u32>,
    upload_files_per_day: Option<u64>,
    upload_mib_per_day: Option<u64>,
    max_connections: Option<u64>,
    callback_budget_ms: Option<u64>,
    callback_replay_window_s: Option<u64>,
    job_poll_ms: Option<u64>,
    listing_cache_ms: Option<u64>,
    outbox_retry_base_ms: Option<u64>,
    shutdown_grace_s: Option<u64>,
    db_max_connections: Option<u32>,
}

/// Which deployment this is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Environment {
    /// A developer machine or a test: sandbox WeChat allowed, human-readable logs.
    Development,
    /// A real deployment: live WeChat only, JSON logs.
    Production,
}

/// Whether WeChat is the real one or the built-in simulator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WechatMode {
    /// The in-process simulator: no WeChat account needed.
    Sandbox,
    /// The real WeChat API at `api_base`.
    Live,
}

/// Log line format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Pretty,
    /// One JSON object per line.
    Json,
}

/// Credentials of one WeChat app (official account or mini program).
#[derive(Clone, Debug)]
pub struct AppCredentials {
    /// The app id (`wx...`), not secret.
    pub appid: String,
    /// The AppSecret.
    pub secret: SecretString,
}

/// Push endpoint settings: each app's signing and encryption, and the shared limits.
#[derive(Clone, Debug)]
pub struct CallbackSettings {
    /// The official account's `/wechat/callback`.
    pub mp: PushKeys,
    /// The mini program's `/wechat/miniapp/callback` (configured apart in WeChat's console).
    pub miniapp: PushKeys,
    /// How long the callback may take before it answers `success` and finishes in the background.
    pub budget: Duration,
    /// Reject callbacks whose timestamp is further than this from now, and a signed query seen
    /// before with another body (`None`: no check).
    pub replay_window: Option<Duration>,
}

/// One app's push signing and encryption, as set in its WeChat console.
#[derive(Clone, Debug)]
pub struct PushKeys {
    /// The Token.
    pub token: SecretString,
    /// The EncodingAESKey when safe or compatible mode is used, parsed once here.
    pub aes_key: Option<EncodingAesKey>,
    /// The previous EncodingAESKey, accepted while a rotation settles.
    pub aes_key_previous: Option<EncodingAesKey>,
    /// Which pushes are accepted.
    pub message_mode: MessageMode,
}

impl PushKeys {
    /// The message crypt of `appid` with these keys (the previous one still opens pushes), if
    /// an EncodingAESKey is set.
    pub fn crypt(&self, appid: &str) -> Option<MessageCrypt> {
        let key = self.aes_key.clone()?;
        Some(MessageCrypt::new(appid, key, self.aes_key_previous.clone()))
    }
}

/// Everything WeChat-related.
#[derive(Clone, Debug)]
pub struct WechatSettings {
    /// Simulator or the real API.
    pub mode: WechatMode,
    /// Base URL of the WeChat API (live mode).
    pub api_base: url::Url,
    /// Time allowed to connect to the WeChat API.
    pub connect_timeout: Duration,
    /// Longest silence while waiting for a WeChat API answer.
    pub read_timeout: Duration,
    /// Official account (公众号) credentials.
    pub mp: AppCredentials,
    /// Mini program (小程序) credentials.
    pub miniapp: AppCredentials,
    /// Callback signing and encryption.
    pub callback: CallbackSettings,
}

/// Database settings.
#[derive(Clone, Debug)]
pub struct DatabaseSettings {
    /// SeaORM URL; may hold a password, so it is kept secret.
    pub url: SecretString,
    /// Pool size.
    pub max_connections: u32,
}

/// HTTP server settings.
#[derive(Clone, Debug)]
pub struct HttpSettings {
    /// Address to bind.
    pub listen: SocketAddr,
    /// Public base URL of this server (media URLs handed to WeChat).
    /// `None`: `http://<the bound address>`, known once the listener is bound.
    pub public_url: Option<url::Url>,
    /// Largest accepted request body, uploads excepted.
    pub max_body_bytes: u64,
    /// Largest accepted upload.
    pub max_upload_bytes: u64,
    /// How long in-flight requests may run after a stop signal.
    pub shutdown_grace: Duration,
    /// Peers whose `X-Forwarded-For` is believed (our nginx); everyone else's address is the
    /// socket's.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Logins one address may make per minute (a factory's NAT shares one).
    pub logins_per_ip_per_minute: u32,
    /// Files one person may upload in 24 hours.
    pub upload_files_per_day: u64,
    /// Bytes one person may upload in 24 hours.
    pub upload_bytes_per_day: u64,
    /// Connections served at once; more wait in the listen backlog.
    pub max_connections: usize,
}

/// Media storage settings.
#[derive(Clone, Debug)]
pub struct StorageSettings {
    /// `file://<dir>` or `s3://<bucket>?endpoint=..&region=..`.
    pub url: String,
    /// S3 keys; `None`: the `AWS_*` variables (or the instance's role) decide.
    pub s3_keys: Option<S3Keys>,
}

/// An S3 access key pair.
#[derive(Clone, Debug)]
pub struct S3Keys {
    /// The access key id, not secret (it names the key, like an appid).
    pub access_key_id: String,
    /// The secret access key.
    pub secret_access_key: SecretString,
}

/// The validated settings of one wangju process.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Deployment kind.
    pub env: Environment,
    /// HTTP server.
    pub http: HttpSettings,
    /// Database.
    pub database: DatabaseSettings,
    /// Campaign definition file.
    pub campaign_path: PathBuf,
    /// Chat texts of the official account.
    pub replies_path: PathBuf,
    /// Notices the server sends on its own (author events, milestones).
    pub notices_path: PathBuf,
    /// How long an unfinished photo-story draft in chat is kept.
    pub photo_draft_ttl: Duration,
    /// Memory all image decodes together may take (uploads and chat photos).
    pub image_memory_budget: u64,
    /// Media storage.
    pub storage: StorageSettings,
    /// WeChat.
    pub wechat: WechatSettings,
    /// Bootstrap admin bearer token.
    pub admin_token: Option<SecretString>,
    /// How often the job worker looks for due jobs.
    pub job_poll: Duration,
    /// How long a public listing page is reused (zero: never).
    pub listing_cache: Duration,
    /// First retry delay of a notification WeChat refused for a passing reason.
    pub outbox_retry_base: Duration,
    /// Log format.
    pub log_format: LogFormat,
    /// tracing filter directives.
    pub log_filter: String,
}

impl Settings {
    /// Loads the file at `path` and then the `WANGJU_*` environment.
    pub fn load(path: &std::path::Path) -> Result<Self, SettingsError> {
        if !path.is_file() {
            return Err(SettingsError::MissingFile(path.display().to_string()));
        }
        let figment = Figment::new()
            .merge(Toml::file_exact(path))
            .merge(Env::prefixed("WANGJU_").ignore(&["config", "test_postgres_url"]));
        let raw: RawSettings = figment.extract().map_err(Box::new)?;
        Self::from_raw(raw, path.parent())
    }

    /// Builds settings from any figment (tests layer their own values on top); default data
    /// files are looked for under `wechat-config/` in the working directory.
    pub fn from_figment(figment: Figment) -> Result<Self, SettingsError> {
        let raw: RawSettings = figment.extract().map_err(Box::new)?;
        Self::from_raw(raw, Some(std::path::Path::new("wechat-config")))
    }

    /// `config_dir`: where the data files are looked for when the settings name none.
    fn from_raw(
        raw: RawSettings,
        config_dir: Option<&std::path::Path>,
    ) -> Result<Self, SettingsError> {
        let data_file = |given: Option<RelativePathBuf>, default: &str| {
            given.map_or_else(
                || config_dir.unwrap_or(std::path::Path::new("")).join(default),
                |path| path.relative(),
            )
        };
        // Every bad value is noted and parsing goes on, so that one start names them all.
        let mut p = Problems::default();
        let env = match raw.env.as_deref().unwrap_or("development") {
            "development" => Environment::Development,
            "production" => Environment::Production,
            other => {
                p.push(invalid(
                    "env",
                    "WANGJU_ENV",
                    format!("`{other}` is neither `development` nor `production`"),
                ));
                Environment::Development
            }
        };
        let mode = match raw.wechat_mode.as_deref().unwrap_or("sandbox") {
            "sandbox" => WechatMode::Sandbox,
            "live" => WechatMode::Live,
            other => {
                p.push(invalid(
                    "wechat_mode",
                    "WANGJU_WECHAT_MODE",
                    format!("`{other}` is neither `sandbox` nor `live`"),
                ));
                WechatMode::Live
            }
        };
        if env == Environment::Production && mode == WechatMode::Sandbox {
            p.push(invalid(
                "wechat_mode",
                "WANGJU_WECHAT_MODE",
                "the sandbox simulator is refused when WANGJU_ENV=production; set `live`",
            ));
        }

        let listen_text = raw.listen.unwrap_or_else(|| "127.0.0.1:8080".to_owned());
        let listen: SocketAddr = p.or(
            listen_text.parse().map_err(|_| {
                invalid(
                    "listen",
                    "WANGJU_LISTEN",
                    format!("`{listen_text}` is not an address like 127.0.0.1:8080"),
                )
            }),
            SocketAddr::from(([127, 0, 0, 1], 8080)),
        );
        let public_url = raw
            .public_url
            .map(|url| parse_url(url, "public_url", "WANGJU_PUBLIC_URL"))
            .transpose();
        let public_url = p.or(public_url, None);
        let names = ("wechat_api_base", "WANGJU_WECHAT_API_BASE");
        let default_api_base = parse_url(DEFAULT_API_BASE.to_owned(), names.0, names.1)?;
        let api_base = match raw.wechat_api_base {
            Some(given) => p.or(parse_url(given, names.0, names.1), default_api_base),
            None => default_api_base,
        };

        let database_url = raw
            .database_url
            .unwrap_or_else(|| "sqlite://data/wangju.db?mode=rwc".to_owned());
        if !["sqlite:", "postgres://", "postgresql://"]
            .iter()
            .any(|scheme| database_url.starts_with(scheme))
        {
            p.push(invalid(
                "database_url",
                "WANGJU_DATABASE_URL",
                "must start with sqlite: or postgres:// (MySQL is not supported: it is not tested)",
            ));
        }

        let storage = raw
            .storage
            .unwrap_or_else(|| "file://data/media".to_owned());
        if !(storage.starts_with("file://") || storage.starts_with("s3://")) {
            p.push(invalid(
                "storage",
                "WANGJU_STORAGE",
                "must be file://<dir> or s3://<bucket>",
            ));
        }
        let s3_keys = p.or(
            s3_keys(raw.storage_access_key_id, raw.storage_secret_access_key),
            None,
        );

        let production = env == Environment::Production;
        let mp = p.or(
            credentials(
                raw.mp_appid,
                raw.mp_secret,
                SANDBOX_MP_APPID,
                production,
                ("mp_appid", "WANGJU_MP_APPID"),
                ("mp_secret", "WANGJU_MP_SECRET"),
            ),
            AppCredentials {
                appid: String::new(),
                secret: SecretString::from(""),
            },
        );
        let miniapp = p.or(
            credentials(
                raw.miniapp_appid,
                raw.miniapp_secret,
                SANDBOX_MINIAPP_APPID,
                production,
                ("miniapp_appid", "WANGJU_MINIAPP_APPID"),
                ("miniapp_secret", "WANGJU_MINIAPP_SECRET"),
            ),
            AppCredentials {
                appid: String::new(),
                secret: SecretString::from(""),
            },
        );
        let mp_aes_key = p.or(
            check_aes_key(raw.mp_aes_key, "mp_aes_key", "WANGJU_MP_AES_KEY"),
            None,
        );
        let mp_keys = PushKeys {
            token: p.or(
                required_secret(
                    raw.mp_token,
                    SANDBOX_MP_TOKEN,
                    production,
                    ("mp_token", "WANGJU_MP_TOKEN"),
                ),
                SecretString::from(""),
            ),
            aes_key_previous: p.or(
                check_aes_key(
                    raw.mp_aes_key_previous,
                    "mp_aes_key_previous",
                    "WANGJU_MP_AES_KEY_PREVIOUS",
                ),
                None,
            ),
            message_mode: p.or(
                message_mode(
                    raw.mp_message_mode.as_deref(),
                    mp_aes_key.is_some(),
                    (
                        "mp_message_mode",
                        "WANGJU_MP_MESSAGE_MODE",
                        "WANGJU_MP_AES_KEY",
                    ),
                ),
                MessageMode::Plain,
            ),
            aes_key: mp_aes_key,
        };
        let miniapp_aes_key = p.or(
            check_aes_key(
                raw.miniapp_aes_key,
                "miniapp_aes_key",
                "WANGJU_MINIAPP_AES_KEY",
            ),
            None,
        );
        let miniapp_keys = PushKeys {
            token: p.or(
                required_secret(
                    raw.miniapp_token,
                    SANDBOX_MINIAPP_TOKEN,
                    production,
                    ("miniapp_token", "WANGJU_MINIAPP_TOKEN"),
                ),
                SecretString::from(""),
            ),
            message_mode: p.or(
                message_mode(
                    raw.miniapp_message_mode.as_deref(),
                    miniapp_aes_key.is_some(),
                    (
                        "miniapp_message_mode",
                        "WANGJU_MINIAPP_MESSAGE_MODE",
                        "WANGJU_MINIAPP_AES_KEY",
                    ),
                ),
                MessageMode::Plain,
            ),
            aes_key: miniapp_aes_key,
            aes_key_previous: None,
        };

        let budget_ms = raw.callback_budget_ms.unwrap_or(4_000);
        if !(100..=4_900).contains(&budget_ms) {
            p.push(invalid(
                "callback_budget_ms",
                "WANGJU_CALLBACK_BUDGET_MS",
                "must be between 100 and 4900: WeChat gives up after 5 s",
            ));
        }
        // On by default: WeChat's timestamps are seconds off at most.
        let replay_window = match raw.callback_replay_window_s.unwrap_or(300) {
            0 => None,
            secs => Some(Duration::from_secs(secs)),
        };

        let log_format = match raw.log_format.as_deref() {
            None => match env {
                Environment::Development => LogFormat::Pretty,
                Environment::Production => LogFormat::Json,
            },
            Some("pretty") => LogFormat::Pretty,
            Some("json") => LogFormat::Json,
            Some(other) => {
                p.push(invalid(
                    "log_format",
                    "WANGJU_LOG_FORMAT",
                    format!("`{other}` is neither `pretty` nor `json`"),
                ));
                LogFormat::Pretty
            }
        };

        let max_connections = raw.db_max_connections.unwrap_or(10);
        if max_connections == 0 {
            p.push(invalid(
                "db_max_connections",
                "WANGJU_DB_MAX_CONNECTIONS",
                "must be at least 1",
            ));
        }

        let settings = Self {
            env,
            http: HttpSettings {
                listen,
                public_url,
                max_body_bytes: p.or(
                    positive(
                        raw.max_body_bytes,
                        1024 * 1024,
                        ("max_body_bytes", "WANGJU_MAX_BODY_BYTES"),
                    ),
                    1,
                ),
                max_upload_bytes: p.or(
                    positive(
                        raw.max_upload_bytes,
                        200 * 1024 * 1024,
                        ("max_upload_bytes", "WANGJU_MAX_UPLOAD_BYTES"),
                    ),
                    1,
                ),
                shutdown_grace: Duration::from_secs(raw.shutdown_grace_s.unwrap_or(25)),
                trusted_proxies: p.or(trusted_proxies(raw.trusted_proxies.as_deref()), Vec::new()),
                logins_per_ip_per_minute: u32::try_from(p.or(
                    positive(
                        raw.logins_per_ip_per_minute.map(u64::from),
                        600,
                        (
                            "logins_per_ip_per_minute",
                            "WANGJU_LOGINS_PER_IP_PER_MINUTE",
                        ),
                    ),
                    1,
                ))
                .unwrap_or(u32::MAX),
                upload_files_per_day: p.or(
                    positive(
                        raw.upload_files_per_day,
                        100,
                        ("upload_files_per_day", "WANGJU_UPLOAD_FILES_PER_DAY"),
                    ),
                    1,
                ),
                upload_bytes_per_day: p
                    .or(
                        positive(
                            raw.upload_mib_per_day,
                            1024,
                            ("upload_mib_per_day", "WANGJU_UPLOAD_MIB_PER_DAY"),
                        ),
                        1,
                    )
                    .saturating_mul(1024 * 1024),
                max_connections: usize::try_from(p.or(
                    positive(
                        raw.max_connections,
                        2048,
                        ("max_connections", "WANGJU_MAX_CONNECTIONS"),
                    ),
                    1,
                ))
                .unwrap_or(usize::MAX),
            },
            database: DatabaseSettings {
                url: SecretString::from(database_url),
                max_connections,
            },
            campaign_path: data_file(raw.campaign, "campaign.toml"),
            replies_path: data_file(raw.replies, "replies.toml"),
            notices_path: data_file(raw.notices, "notifications.toml"),
            image_memory_budget: p
                .or(
                    positive(
                        raw.image_memory_budget_mib,
                        512,
                        ("image_memory_budget_mib", "WANGJU_IMAGE_MEMORY_BUDGET_MIB"),
                    ),
                    1,
                )
                .saturating_mul(1024 * 1024),
            photo_draft_ttl: Duration::from_secs(p.or(
                positive(
                    raw.photo_draft_ttl_s,
                    24 * 3600,
                    ("photo_draft_ttl_s", "WANGJU_PHOTO_DRAFT_TTL_S"),
                ),
                1,
            )),
            storage: StorageSettings {
                url: storage,
                s3_keys,
            },
            wechat: WechatSettings {
                mode,
                api_base,
                connect_timeout: Duration::from_millis(p.or(
                    positive(
                        raw.wechat_connect_timeout_ms,
                        3_000,
                        (
                            "wechat_connect_timeout_ms",
                            "WANGJU_WECHAT_CONNECT_TIMEOUT_MS",
                        ),
                    ),
                    1,
                )),
                read_timeout: Duration::from_millis(p.or(
                    positive(
                        raw.wechat_read_timeout_ms,
                        10_000,
                        ("wechat_read_timeout_ms", "WANGJU_WECHAT_READ_TIMEOUT_MS"),
                    ),
                    1,
                )),
                mp,
                miniapp,
                callback: CallbackSettings {
                    mp: mp_keys,
                    miniapp: miniapp_keys,
                    budget: Duration::from_millis(budget_ms),
                    replay_window,
                },
            },
            admin_token: raw.admin_token.filter(|t| !t.expose_secret().is_empty()),
            job_poll: Duration::from_millis(p.or(
                positive(raw.job_poll_ms, 1000, ("job_poll_ms", "WANGJU_JOB_POLL_MS")),
                1,
            )),
            listing_cache: Duration::from_millis(raw.listing_cache_ms.unwrap_or(1000)),
            outbox_retry_base: Duration::from_millis(p.or(
                positive(
                    raw.outbox_retry_base_ms,
                    30_000,
                    ("outbox_retry_base_ms", "WANGJU_OUTBOX_RETRY_BASE_MS"),
                ),
                1,
            )),
            log_format,
            log_filter: raw
                .log_filter
                .unwrap_or_else(|| "info,sqlx=warn,sea_orm=warn".to_owned()),
        };
        p.finish()?;
        Ok(settings)
    }
}

fn parse_url(
    text: String,
    key: &'static str,
    name: &'static str,
) -> Result<url::Url, SettingsError> {
    let url = url::Url::parse(&text)
        .map_err(|e| invalid(key, name, format!("`{text}` is not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid(key, name, "must be an http:// or https:// URL"));
    }
    Ok(url)
}

fn positive(
    value: Option<u64>,
    default: u64,
    (key, name): (&'static str, &'static str),
) -> Result<u64, SettingsError> {
    match value.unwrap_or(default) {
        0 => Err(invalid(key, name, "must be greater than 0")),
        n => Ok(n),
    }
}

fn required_secret(
    value: Option<SecretString>,
    sandbox: &str,
    production: bool,
    (key, name): (&'static str, &'static str),
) -> Result<SecretString, SettingsError> {
    match value.filter(|s| !s.expose_secret().is_empty()) {
        Some(secret) => Ok(secret),
        None if production => Err(invalid(key, name, "is required in production")),
        None => Ok(SecretString::from(sandbox)),
    }
}

fn credentials(
    appid: Option<String>,
    secret: Option<SecretString>,
    sandbox_appid: &str,
    production: bool,
    appid_names: (&'static str, &'static str),
    secret_names: (&'static str, &'static str),
) -> Result<AppCredentials, SettingsError> {
    let appid = match appid.filter(|a| !a.is_empty()) {
        Some(appid) => appid,
        None if production => {
            return Err(invalid(
                appid_names.0,
                appid_names.1,
                "is required in production",
            ));
        }
        None => sandbox_appid.to_owned(),
    };
    if !appid.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(invalid(
            appid_names.0,
            appid_names.1,
            "an appid holds only letters, digits and `_`",
        ));
    }
    let secret = required_secret(secret, SANDBOX_SECRET, production, secret_names)?;
    Ok(AppCredentials { appid, secret })
}

/// Both keys or neither: half a key pair would silently fall back to `AWS_*`.
fn s3_keys(
    access_key_id: Option<String>,
    secret_access_key: Option<SecretString>,
) -> Result<Option<S3Keys>, SettingsError> {
    let access_key_id = access_key_id.filter(|id| !id.is_empty());
    let secret_access_key = secret_access_key.filter(|s| !s.expose_secret().is_empty());
    match (access_key_id, secret_access_key) {
        (Some(access_key_id), Some(secret_access_key)) => Ok(Some(S3Keys {
            access_key_id,
            secret_access_key,
        })),
        (None, None) => Ok(None),
        (Some(_), None) => Err(invalid(
            "storage_secret_access_key",
            "WANGJU_STORAGE_SECRET_ACCESS_KEY",
            "is required when WANGJU_STORAGE_ACCESS_KEY_ID is set",
        )),
        (None, Some(_)) => Err(invalid(
            "storage_access_key_id",
            "WANGJU_STORAGE_ACCESS_KEY_ID",
            "is required when WANGJU_STORAGE_SECRET_ACCESS_KEY is set",
        )),
    }
}

/// `WANGJU_TRUSTED_PROXIES`: addresses or CIDR ranges, comma-separated.
fn trusted_proxies(value: Option<&str>) -> Result<Vec<ipnet::IpNet>, SettingsError> {
    value
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .map(|part| {
            part.parse::<ipnet::IpNet>()
                .or_else(|_| part.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| {
                    invalid(
                        "trusted_proxies",
                        "WANGJU_TRUSTED_PROXIES",
                        format!("`{part}` is not an address or CIDR range"),
                    )
                })
        })
        .collect()
}

/// The message mode setting: default safe when a key is set, else plain; safe and compatible
/// need the key.
fn message_mode(
    value: Option<&str>,
    has_key: bool,
    (key, name, key_name): (&'static str, &'static str, &'static str),
) -> Result<MessageMode, SettingsError> {
    match (value, has_key) {
        (None, false) | (Some("plain"), _) => Ok(MessageMode::Plain),
        (None, true) | (Some("safe"), true) => Ok(MessageMode::Safe),
        (Some("compatible"), true) => Ok(MessageMode::Compatible),
        (Some("safe" | "compatible"), false) => Err(invalid(
            key,
            name,
            format!("safe and compatible mode need {key_name}"),
        )),
        (Some(_), _) => Err(invalid(key, name, "must be plain, compatible or safe")),
    }
}

fn check_aes_key(
    value: Option<SecretString>,
    key: &'static str,
    name: &'static str,
) -> Result<Option<EncodingAesKey>, SettingsError> {
    value
        .filter(|s| !s.expose_secret().is_empty())
        .map(|secret| {
            EncodingAesKey::parse(secret.expose_secret()).map_err(|_| {
                invalid(
                    key,
                    name,
                    "an EncodingAESKey is exactly 43 base64 characters",
                )
            })
        })
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;
    use figment::providers::Serialized;

    fn with(pairs: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        let mut figment = Figment::new();
        for (key, value) in pairs {
            figment = figment.merge(Serialized::default(key, value));
        }
        Settings::from_figment(figment)
    }

    #[test]
    fn a_mysql_url_is_refused_by_name() {
        let err = with(&[("database_url", "mysql://root@127.0.0.1/test")]).expect_err("untested");
        let text = err.to_string();
        assert!(
            text.contains("WANGJU_DATABASE_URL") && text.contains("MySQL"),
            "{text}"
        );
    }

    #[test]
    fn defaults_give_a_sandbox_development_server_on_sqlite() {
        let settings = with(&[]).expect("defaults are valid");
        assert_eq!(settings.env, Environment::Development);
        assert_eq!(settings.wechat.mode, WechatMode::Sandbox);
        assert_eq!(settings.http.listen.to_string(), "127.0.0.1:8080");
        assert!(
            settings
                .database
                .url
                .expose_secret()
                .starts_with("sqlite://data/")
        );
        assert_eq!(settings.http.public_url, None);
    }

    #[test]
    fn a_bad_listen_address_names_its_variable() {
        let err = with(&[("listen", "not-an-address")]).expect_err("must fail");
        assert!(err.to_string().contains("WANGJU_LISTEN"), "{err}");
    }

    #[test]
    fn production_refuses_the_sandbox() {
        let err = with(&[("env", "production")]).expect_err("must fail");
        assert!(err.to_string().contains("WANGJU_WECHAT_MODE"), "{err}");
    }

    #[test]
    fn production_requires_real_credentials() {
        let err = with(&[("env", "production"), ("wechat_mode", "live")]).expect_err("must fail");
        assert!(err.to_string().contains("WANGJU_MP_APPID"), "{err}");
    }

    #[test]
    fn a_short_aes_key_is_refused() {
        let err = with(&[("mp_aes_key", "abc")]).expect_err("must fail");
        assert!(err.to_string().contains("WANGJU_MP_AES_KEY"), "{err}");
    }

    #[test]
    fn secrets_are_redacted_in_debug_output() {
        let settings = with(&[("mp_secret", "very-secret-value-123")]).expect("valid");
        let debug = format!("{settings:?}");
        assert!(!debug.contains("very-secret-value-123"));
        assert!(!debug.contains(SANDBOX_MP_TOKEN));
    }

    #[test]
    fn storage_keys_are_read_redacted_and_refused_by_half() {
        let settings = with(&[
            ("storage", "s3://media?endpoint=http://127.0.0.1:9000"),
            ("storage_access_key_id", "AKIDEXAMPLE"),
            ("storage_secret_access_key", "storage-secret-value-456"),
        ])
        .expect("valid");
        let keys = settings.storage.s3_keys.as_ref().expect("keys");
        assert_eq!(keys.access_key_id, "AKIDEXAMPLE");
        assert_eq!(
            keys.secret_access_key.expose_secret(),
            "storage-secret-value-456"
        );
        assert!(!format!("{settings:?}").contains("storage-secret-value-456"));
        assert!(with(&[]).expect("defaults").storage.s3_keys.is_none());

        let err = with(&[("storage_access_key_id", "AKIDEXAMPLE")]).expect_err("half a pair");
        assert!(
            err.to_string().contains("WANGJU_STORAGE_SECRET_ACCESS_KEY"),
            "{err}"
        );
        let err = with(&[("storage_secret_access_key", "s")]).expect_err("half a pair");
        assert!(
            err.to_string().contains("WANGJU_STORAGE_ACCESS_KEY_ID"),
            "{err}"
        );
    }

    #[test]
    fn wechat_timeouts_are_read_and_zero_is_refused() {
        let settings = Settings::from_figment(
            Figment::new().merge(Serialized::default("wechat_read_timeout_ms", 1500)),
        )
        .expect("valid");
        assert_eq!(settings.wechat.read_timeout, Duration::from_millis(1500));
        assert_eq!(settings.wechat.connect_timeout, Duration::from_secs(3));
        let err = Settings::from_figment(
            Figment::new().merge(Serialized::default("wechat_connect_timeout_ms", 0)),
        )
        .expect_err("must fail");
        assert!(
            err.to_string().contains("WANGJU_WECHAT_CONNECT_TIMEOUT_MS"),
            "{err}"
        );
    }

    #[test]
    fn an_unknown_key_is_refused_by_name() {
        let err = with(&[("lisen", "127.0.0.1:1")]).expect_err("must fail");
        assert!(err.to_string().contains("lisen"), "{err}");
    }
}
