//! Turns the flat keys into [`Settings`], one section at a time, with every default here.

use std::{net::SocketAddr, path::Path, time::Duration};

use figment::{Figment, value::magic::RelativePathBuf};
use secrecy::{ExposeSecret, SecretString};

use super::{
    AppCredentials, CallbackSettings, DatabaseSettings, Environment, HttpSettings, LogFormat,
    MessageMode, PushKeys, S3Keys, Settings, SettingsError, StorageSettings, WechatMode,
    WechatSettings, reader::Reader, reader::env_name,
};
use crate::{campaign::catalog::CampaignSource, wechat::crypto::EncodingAesKey};

/// WeChat's API host.
const API_BASE: &str = "https://api.weixin.qq.com";
const LISTEN: &str = "127.0.0.1:8080";
const DATABASE_URL: &str = "sqlite://data/wangju.db?mode=rwc";
const STORAGE: &str = "file://data/media";
const LOG_FILTER: &str = "info,sqlx=warn,sea_orm=warn";
const MIB: u64 = 1024 * 1024;

/// One app's key prefix and the harmless sandbox values only the built-in simulator accepts.
pub(super) struct App {
    prefix: &'static str,
    appid: &'static str,
    pub(super) token: &'static str,
}

/// The official account (公众号).
pub(super) const MP: App = App {
    prefix: "mp",
    appid: "wxsandbox0000mp01",
    token: "sandbox-token",
};
/// The mini program (小程序).
const MINIAPP: App = App {
    prefix: "miniapp",
    appid: "wxsandbox0000app1",
    token: "sandbox-miniapp-token",
};
const SANDBOX_SECRET: &str = "sandbox-secret";

/// Reads every section; `config_dir` is where data files are looked for when none is named.
pub(super) fn settings(
    figment: &Figment,
    config_dir: Option<&Path>,
) -> Result<Settings, SettingsError> {
    let mut r = Reader::new(figment);
    let env = r.or("env", Environment::Development);
    let production = env == Environment::Production;
    let config_dir = config_dir.unwrap_or(Path::new(""));
    // One file (as before several campaigns) wins over the folder.
    let single = r
        .get::<RelativePathBuf>("campaign")
        .map(|path| path.relative());
    let mut data_file = |key: &str, default: &str| {
        r.get::<RelativePathBuf>(key)
            .map_or_else(|| config_dir.join(default), |path| path.relative())
    };
    let folder = data_file("campaigns", "campaigns");
    let replies_path = data_file("replies", "replies.toml");
    let notices_path = data_file("notices", "notifications.toml");
    let settings = Settings {
        env,
        http: http(&mut r),
        database: database(&mut r),
        campaigns: single.map_or(CampaignSource::Folder(folder), CampaignSource::File),
        default_campaign: r.text("default_campaign"),
        replies_path,
        notices_path,
        photo_draft_ttl: Duration::from_secs(r.positive("photo_draft_ttl_s", 24 * 3600)),
        image_memory_budget: r
            .positive("image_memory_budget_mib", 512)
            .saturating_mul(MIB),
        storage: storage(&mut r),
        wechat: wechat(&mut r, production),
        admin_token: r.secret("admin_token"),
        job_poll: Duration::from_millis(r.positive("job_poll_ms", 1000)),
        // Zero is allowed: no cache.
        listing_cache: Duration::from_millis(r.or("listing_cache_ms", 1000)),
        outbox_retry_base: Duration::from_millis(r.positive("outbox_retry_base_ms", 30_000)),
        log_format: r.get("log_format").unwrap_or(match env {
            Environment::Development => LogFormat::Pretty,
            Environment::Production => LogFormat::Json,
        }),
        log_filter: r
            .text("log_filter")
            .unwrap_or_else(|| LOG_FILTER.to_owned()),
    };
    r.finish()?;
    Ok(settings)
}

fn http(r: &mut Reader) -> HttpSettings {
    let fallback = SocketAddr::from(([127, 0, 0, 1], 8080));
    HttpSettings {
        listen: r.parsed("listen", LISTEN, fallback, |text| {
            text.parse()
                .map_err(|_| format!("`{text}` is not an address like {LISTEN}"))
        }),
        public_url: r
            .text("public_url")
            .and_then(|text| r.check("public_url", http_url(&text))),
        max_body_bytes: r.positive("max_body_bytes", MIB),
        max_upload_bytes: r.positive("max_upload_bytes", 200 * MIB),
        shutdown_grace: Duration::from_secs(r.or("shutdown_grace_s", 25)),
        trusted_proxies: r.parsed("trusted_proxies", "", Vec::new(), trusted_proxies),
        logins_per_ip_per_minute: u32::try_from(r.positive("logins_per_ip_per_minute", 600))
            .unwrap_or(u32::MAX),
        upload_files_per_day: r.positive("upload_files_per_day", 100),
        upload_bytes_per_day: r.positive("upload_mib_per_day", 1024).saturating_mul(MIB),
        max_connections: usize::try_from(r.positive("max_connections", 2048)).unwrap_or(usize::MAX),
    }
}

fn database(r: &mut Reader) -> DatabaseSettings {
    let url = r.parsed("database_url", DATABASE_URL, String::new(), |url| {
        if ["sqlite:", "postgres://", "postgresql://"]
            .iter()
            .any(|scheme| url.starts_with(scheme))
        {
            Ok(url.to_owned())
        } else {
            Err(
                "must start with sqlite: or postgres:// (MySQL is not supported: it is not tested)"
                    .to_owned(),
            )
        }
    });
    DatabaseSettings {
        url: SecretString::from(url),
        max_connections: u32::try_from(r.positive("db_max_connections", 10)).unwrap_or(u32::MAX),
    }
}

fn storage(r: &mut Reader) -> StorageSettings {
    let url = r.parsed("storage", STORAGE, String::new(), |url| {
        if url.starts_with("file://") || url.starts_with("s3://") {
            Ok(url.to_owned())
        } else {
            Err("must be file://<dir> or s3://<bucket>".to_owned())
        }
    });
    let id_key = "storage_access_key_id";
    let secret_key = "storage_secret_access_key";
    // Both keys or neither: half a key pair would silently fall back to `AWS_*`.
    let s3_keys = match (r.text(id_key), r.secret(secret_key)) {
        (Some(access_key_id), Some(secret_access_key)) => Some(S3Keys {
            access_key_id,
            secret_access_key,
        }),
        (None, None) => None,
        (Some(_), None) => {
            let reason = format!("is required when {} is set", env_name(id_key));
            r.problem(secret_key, reason);
            None
        }
        (None, Some(_)) => {
            let reason = format!("is required when {} is set", env_name(secret_key));
            r.problem(id_key, reason);
            None
        }
    };
    StorageSettings { url, s3_keys }
}

fn wechat(r: &mut Reader, production: bool) -> WechatSettings {
    let mode = r.or("wechat_mode", WechatMode::Sandbox);
    if production && mode == WechatMode::Sandbox {
        r.problem(
            "wechat_mode",
            "the sandbox simulator is refused when WANGJU_ENV=production; set `live`",
        );
    }
    #[allow(clippy::expect_used, reason = "a constant, parsed in every test")]
    let fallback = url::Url::parse(API_BASE).expect("the default API base is a URL");
    let api_base = r.parsed("wechat_api_base", API_BASE, fallback, http_url);
    let (mp, mp_keys) = app(r, &MP, production);
    let (miniapp, miniapp_keys) = app(r, &MINIAPP, production);
    let budget_ms = r.or("callback_budget_ms", 4_000_u64);
    if !(100..=4_900).contains(&budget_ms) {
        r.problem(
            "callback_budget_ms",
            "must be between 100 and 4900: WeChat gives up after 5 s",
        );
    }
    // On by default: WeChat's timestamps are seconds off at most.
    let replay_window = match r.or("callback_replay_window_s", 300) {
        0 => None,
        secs => Some(Duration::from_secs(secs)),
    };
    WechatSettings {
        mode,
        api_base,
        connect_timeout: Duration::from_millis(r.positive("wechat_connect_timeout_ms", 3_000)),
        read_timeout: Duration::from_millis(r.positive("wechat_read_timeout_ms", 10_000)),
        mp,
        miniapp,
        callback: CallbackSettings {
            mp: mp_keys,
            miniapp: miniapp_keys,
            budget: Duration::from_millis(budget_ms),
            replay_window,
        },
    }
}

/// One app's `<prefix>_appid`, `_secret`, `_token`, `_aes_key`, `_aes_key_previous` and
/// `_message_mode`; sandbox values stand in outside production.
fn app(r: &mut Reader, app: &App, production: bool) -> (AppCredentials, PushKeys) {
    let key = |name: &str| format!("{}_{name}", app.prefix);
    let required = |r: &mut Reader, name: &str, sandbox: &str| {
        let key = key(name);
        r.secret(&key).unwrap_or_else(|| {
            if production {
                r.problem(&key, "is required in production");
            }
            SecretString::from(sandbox)
        })
    };
    let secret = required(r, "secret", SANDBOX_SECRET);
    let token = required(r, "token", app.token);
    let appid_key = key("appid");
    let appid = match r.text(&appid_key) {
        Some(appid) if !appid.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') => {
            r.problem(&appid_key, "an appid holds only letters, digits and `_`");
            appid
        }
        Some(appid) => appid,
        None => {
            if production {
                r.problem(&appid_key, "is required in production");
            }
            app.appid.to_owned()
        }
    };
    let aes_key = |r: &mut Reader, name: &str| {
        let key = key(name);
        let text = r.secret(&key)?;
        r.check(
            &key,
            EncodingAesKey::parse(text.expose_secret())
                .map_err(|_| "an EncodingAESKey is exactly 43 base64 characters".to_owned()),
        )
    };
    let aes_key_now = aes_key(r, "aes_key");
    let aes_key_previous = aes_key(r, "aes_key_previous");
    let mode_key = key("message_mode");
    let need_key = env_name(&key("aes_key"));
    let message_mode = match (r.text(&mode_key).as_deref(), aes_key_now.is_some()) {
        (None, false) | (Some("plain"), _) => MessageMode::Plain,
        (None, true) | (Some("safe"), true) => MessageMode::Safe,
        (Some("compatible"), true) => MessageMode::Compatible,
        (Some("safe" | "compatible"), false) => {
            r.problem(
                &mode_key,
                format!("safe and compatible mode need {need_key}"),
            );
            MessageMode::Plain
        }
        (Some(_), _) => {
            r.problem(&mode_key, "must be plain, compatible or safe");
            MessageMode::Plain
        }
    };
    (
        AppCredentials { appid, secret },
        PushKeys {
            token,
            aes_key: aes_key_now,
            aes_key_previous,
            message_mode,
        },
    )
}

/// An absolute http(s) URL.
fn http_url(text: &str) -> Result<url::Url, String> {
    let url = url::Url::parse(text).map_err(|e| format!("`{text}` is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("must be an http:// or https:// URL".to_owned());
    }
    Ok(url)
}

/// `WANGJU_TRUSTED_PROXIES`: addresses or CIDR ranges, comma-separated.
fn trusted_proxies(value: &str) -> Result<Vec<ipnet::IpNet>, String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .map(|part| {
            part.parse::<ipnet::IpNet>()
                .or_else(|_| part.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| format!("`{part}` is not an address or CIDR range"))
        })
        .collect()
}
