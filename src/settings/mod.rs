//! One typed settings tree: `wechat-config/wangju.toml`, then `WANGJU_*` environment variables.
//!
//! The file and the environment share flat keys (`listen` ↔ `WANGJU_LISTEN`) so that the
//! contract's table reads the same in both; `load` reads them, section by section, into
//! [`Settings`], and nobody else reads the environment.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use figment::{
    Figment,
    providers::{Format, Serialized, Toml},
};
use secrecy::SecretString;
use serde::Deserialize;

mod load;
mod reader;

pub use crate::wechat::push::MessageMode;
use crate::{
    campaign::catalog::CampaignSource,
    wechat::crypto::{EncodingAesKey, MessageCrypt},
};

/// Default location of the configuration file.
pub const DEFAULT_CONFIG_PATH: &str = "wechat-config/wangju.toml";

/// Why the settings could not be loaded; the message always names the setting.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// The file or the environment could not be read at all.
    #[error("configuration: {}", each_load_error(.0))]
    Load(#[from] Box<figment::Error>),
    /// The configuration file does not exist.
    #[error("configuration: file `{0}` not found (set --config or WANGJU_CONFIG)")]
    MissingFile(String),
    /// A value was read but is not acceptable.
    #[error("configuration: {name} (`{key}` in the file): {reason}")]
    Invalid {
        /// The environment variable that sets it.
        name: String,
        /// The key in `wangju.toml`.
        key: String,
        /// What is wrong with the value.
        reason: String,
    },
    /// A key (or `WANGJU_` variable) that is no setting, most likely a typo.
    #[error("configuration: `{0}` is not a setting (see the README's table)")]
    Unknown(String),
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

/// Which deployment this is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    /// A developer machine or a test: sandbox WeChat allowed, human-readable logs.
    Development,
    /// A real deployment: live WeChat only, JSON logs.
    Production,
}

/// Whether WeChat is the real one or the built-in simulator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WechatMode {
    /// The in-process simulator: no WeChat account needed.
    Sandbox,
    /// The real WeChat API at `api_base`.
    Live,
}

/// Log line format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
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
    /// Campaign files: a folder of them, or one file.
    pub campaigns: CampaignSource,
    /// Key of the campaign clients get when they name none (`None`: the latest).
    pub default_campaign: Option<String>,
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
            .merge(environment());
        load::settings(&figment, path.parent())
    }

    /// Builds settings from any figment (tests layer their own values on top); default data
    /// files are looked for under `wechat-config/` in the working directory.
    pub fn from_figment(figment: Figment) -> Result<Self, SettingsError> {
        load::settings(&figment, Some(std::path::Path::new("wechat-config")))
    }
}

/// The `WANGJU_*` variables as text, the way they were written: figment's own `Env` would
/// read `007` as the number 7 (a WeChat token may be all digits); numbers are read from
/// text where a number is wanted.
fn environment() -> Serialized<std::collections::BTreeMap<String, String>> {
    // Not settings: the file's own location, and the test suite's database.
    const NOT_SETTINGS: [&str; 2] = ["config", "test_postgres_url"];
    let vars = std::env::vars()
        .filter_map(|(name, value)| {
            let key = name.strip_prefix("WANGJU_")?.to_ascii_lowercase();
            (!NOT_SETTINGS.contains(&key.as_str())).then_some((key, value))
        })
        .collect();
    Serialized::defaults(vars)
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

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
        assert!(!debug.contains(load::MP.token));
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

    #[test]
    fn every_bad_value_is_named_in_one_error_type_errors_too() {
        let err = with(&[
            ("env", "staging"),
            ("max_body_bytes", "lots"),
            ("listen", "nowhere"),
            ("lisen", "x"),
        ])
        .expect_err("four problems");
        let text = err.to_string();
        for name in [
            "WANGJU_ENV",
            "WANGJU_MAX_BODY_BYTES",
            "WANGJU_LISTEN",
            "`lisen`",
        ] {
            assert!(text.contains(name), "{name} missing from: {text}");
        }
        assert!(text.contains("4 problems"), "{text}");
    }

    #[test]
    #[allow(
        clippy::result_large_err,
        reason = "figment's Jail decides the error type"
    )]
    fn a_number_in_the_environment_is_read_as_text_where_text_is_wanted() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("WANGJU_MP_TOKEN", "0071234");
            jail.set_env("WANGJU_MAX_BODY_BYTES", "2048");
            let settings = Settings::from_figment(Figment::new().merge(environment()))
                .map_err(|e| e.to_string())?;
            assert_eq!(settings.wechat.callback.mp.token.expose_secret(), "0071234");
            assert_eq!(settings.http.max_body_bytes, 2048);
            Ok(())
        });
    }
}
