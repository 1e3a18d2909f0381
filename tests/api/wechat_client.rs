//! The WeChat client against the fake WeChat: tokens, retries, error classes, timeouts, media,
//! and the sandbox through the app.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use futures_util::future::join_all;
use sea_orm::DatabaseConnection;
use secrecy::SecretString;
use wangju::{
    repo::wechat_tokens::DbTokenStore,
    settings::DatabaseSettings,
    wechat::client::{
        App, ClientConfig, Credentials, CustomMessage, ErrorClass, FieldValue, Media, MsgSecCheck,
        RetryPolicy, RiskRankQuery, SubscribeMessage, Suggest, Timeouts, WechatClient, WechatError,
        WxaCode,
    },
};

use crate::on_both_databases;
use crate::{
    db_test,
    fake_wechat::{
        Behaviour, CUSTOM_SEND, FAKE_MINIAPP_APPID, FAKE_MP_APPID, FakeWechat, JSCODE2SESSION,
        MEDIA_GET, MSG_SEC_CHECK, STABLE_TOKEN, SUBSCRIBE_SEND,
    },
    helpers::{Backend, DatabaseGuard, fresh_database, init, spawn_app_with_fake_wechat},
};

/// A fake WeChat and a migrated database of the test's own.
struct Ctx {
    fake: FakeWechat,
    url: String,
    db: DatabaseConnection,
    _guard: DatabaseGuard,
}

impl Ctx {
    async fn new(backend: Backend) -> Option<Self> {
        init();
        let (url, guard) = fresh_database(backend).await?;
        let fake = FakeWechat::start().await;
        let db = connect(&url).await;
        wangju::db::migrate(&db).await.unwrap();
        Some(Self {
            fake,
            url,
            db,
            _guard: guard,
        })
    }

    /// A client instance of its own (own cache, own metrics) on `db`.
    fn client_on(&self, db: &DatabaseConnection) -> WechatClient {
        let base = url::Url::parse(&self.fake.base).unwrap();
        let store = Arc::new(DbTokenStore::new(db.clone()));
        WechatClient::http(test_config(), &base, store, &prometheus::Registry::new()).unwrap()
    }

    fn client(&self) -> WechatClient {
        self.client_on(&self.db)
    }
}

async fn connect(url: &str) -> DatabaseConnection {
    wangju::db::connect(&DatabaseSettings {
        url: SecretString::from(url.to_owned()),
        max_connections: 5,
    })
    .await
    .unwrap()
}

/// Short timeouts and fast retries, so failure tests take milliseconds.
fn test_config() -> ClientConfig {
    let credentials = |appid: &str, secret: &str| Credentials {
        appid: appid.to_owned(),
        secret: SecretString::from(secret.to_owned()),
    };
    let mut config = ClientConfig::new(
        credentials(FAKE_MP_APPID, "fake-mp-secret"),
        credentials(FAKE_MINIAPP_APPID, "fake-miniapp-secret"),
    );
    config.timeouts = Timeouts {
        connect: Duration::from_secs(1),
        read: Duration::from_millis(300),
        total: Duration::from_secs(2),
    };
    config.retry = RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_millis(20),
        max_delay: Duration::from_millis(100),
    };
    config.token.lease_poll = Duration::from_millis(20);
    config.token.lease_wait = Duration::from_secs(5);
    config
}

fn text_check(content: &str) -> MsgSecCheck {
    MsgSecCheck {
        openid: "o_user".into(),
        scene: 2,
        content: content.into(),
        nickname: None,
        title: None,
        signature: None,
    }
}

fn subscribe_message() -> SubscribeMessage {
    SubscribeMessage {
        touser: "o_user".into(),
        template_id: "tmpl".into(),
        page: Some("pages/work/index?id=1".into()),
        data: [(
            "thing1".to_owned(),
            FieldValue {
                value: "作品已通过".into(),
            },
        )]
        .into(),
        miniprogram_state: None,
        lang: None,
    }
}

/// One test per backend with a fresh [`Ctx`].
macro_rules! wechat_test {
    ($name:ident, |$ctx:ident| $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn run(backend: Backend) {
                let Some($ctx) = Ctx::new(backend).await else {
                    return;
                };
                $body.await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                run(Backend::Sqlite).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                run(Backend::Postgres).await
            }
        }
    };
}

wechat_test!(
    hundred_concurrent_callers_with_an_empty_cache_make_one_token_request,
    |ctx| async move {
        let client = ctx.client();
        let calls = (0..100).map(|i| {
            let client = client.clone();
            tokio::spawn(async move {
                client
                    .msg_sec_check(&text_check(&format!("加油 {i}")))
                    .await
            })
        });
        for result in join_all(calls).await {
            assert_eq!(result.unwrap().unwrap().result.suggest, Suggest::Pass);
        }
        assert_eq!(ctx.fake.count(STABLE_TOKEN), 1);
        let checks = ctx.fake.calls(MSG_SEC_CHECK);
        assert_eq!(checks.len(), 100);
        assert!(
            checks
                .iter()
                .all(|c| c.param("access_token").as_deref() == Some("fake-token-1"))
        );
    }
);

wechat_test!(
    two_instances_on_one_database_make_one_token_request,
    |ctx| async move {
        // Separate pools, caches and metrics: only the database is shared.
        let second_db = connect(&ctx.url).await;
        let (first, second) = (ctx.client(), ctx.client_on(&second_db));
        let calls = (0..40).map(|i| {
            let client = if i % 2 == 0 {
                first.clone()
            } else {
                second.clone()
            };
            tokio::spawn(async move { client.access_token(App::Mp).await })
        });
        for token in join_all(calls).await {
            assert_eq!(token.unwrap().unwrap().expose(), "fake-token-1");
        }
        assert_eq!(ctx.fake.count(STABLE_TOKEN), 1);
        // A third instance started later reuses the stored token too.
        let third = ctx.client();
        assert_eq!(
            third.access_token(App::Mp).await.unwrap().expose(),
            "fake-token-1"
        );
        assert_eq!(ctx.fake.count(STABLE_TOKEN), 1);
        // The stable_token request never forces a refresh.
        assert_eq!(
            ctx.fake.calls(STABLE_TOKEN)[0].json()["force_refresh"],
            false
        );
    }
);

wechat_test!(
    a_40001_with_the_current_token_refreshes_once_and_retries_once,
    |ctx| async move {
        let client = ctx.client();
        ctx.fake.script(MSG_SEC_CHECK, Behaviour::Errcode(40001), 1);
        let result = client.msg_sec_check(&text_check("你好")).await.unwrap();
        assert_eq!(result.result.suggest, Suggest::Pass);
        assert_eq!(ctx.fake.count(STABLE_TOKEN), 2);
        let tokens: Vec<_> = ctx
            .fake
            .calls(MSG_SEC_CHECK)
            .iter()
            .map(|c| c.param("access_token").unwrap())
            .collect();
        assert_eq!(tokens, ["fake-token-1", "fake-token-2"]);
    }
);

wechat_test!(
    a_40001_twice_in_a_row_is_surfaced_after_one_retry,
    |ctx| async move {
        let client = ctx.client();
        ctx.fake.script(MSG_SEC_CHECK, Behaviour::Errcode(40001), 5);
        let err = client.msg_sec_check(&text_check("你好")).await.unwrap_err();
        assert_eq!(err.class(), ErrorClass::Token);
        assert_eq!(ctx.fake.count(MSG_SEC_CHECK), 2);
        assert_eq!(ctx.fake.count(STABLE_TOKEN), 2);
    }
);

wechat_test!(
    a_40001_with_an_older_token_does_not_refresh,
    |ctx| async move {
        let client = ctx.client();
        let authority = client.authority(App::Miniapp);
        let first = authority.token().await.unwrap();
        let second = authority.token_after_rejection(&first).await.unwrap();
        assert_eq!(second.expose(), "fake-token-2");
        assert_eq!(ctx.fake.count(STABLE_TOKEN), 2);
        // A slow caller reports the token that was already replaced: no refresh.
        let again = authority.token_after_rejection(&first).await.unwrap();
        assert_eq!(again, second);
        assert_eq!(ctx.fake.count(STABLE_TOKEN), 2);
    }
);

wechat_test!(
    two_concurrent_refusals_of_one_token_cause_one_refresh,
    |ctx| async move {
        let client = ctx.client();
        let first = client.access_token(App::Miniapp).await.unwrap();
        ctx.fake.reject_token(first.expose());
        // Both first attempts are in flight together, so both are refused with the same token.
        ctx.fake.script(
            MSG_SEC_CHECK,
            Behaviour::Delay(Duration::from_millis(150)),
            2,
        );
        let (check_a, check_b) = (text_check("a"), text_check("b"));
        let (a, b) = tokio::join!(
            client.msg_sec_check(&check_a),
            client.msg_sec_check(&check_b)
        );
        a.unwrap();
        b.unwrap();
        assert_eq!(ctx.fake.count(STABLE_TOKEN), 2);
        assert_eq!(ctx.fake.count(MSG_SEC_CHECK), 4);
    }
);

wechat_test!(
    busy_twice_then_success_succeeds_after_backoff,
    |ctx| async move {
        let client = ctx.client();
        client.access_token(App::Miniapp).await.unwrap();
        ctx.fake.script(MSG_SEC_CHECK, Behaviour::Errcode(-1), 2);
        let started = Instant::now();
        client.msg_sec_check(&text_check("hi")).await.unwrap();
        // Two pauses of at least 10 ms and 20 ms (half of each exponential step).
        assert!(started.elapsed() >= Duration::from_millis(30));
        assert_eq!(ctx.fake.count(MSG_SEC_CHECK), 3);
        assert_eq!(ctx.fake.count(STABLE_TOKEN), 1);
    }
);

wechat_test!(permanent_errors_are_not_retried, |ctx| async move {
    let client = ctx.client();
    for (n, code) in [43101, 47003].into_iter().enumerate() {
        ctx.fake.script(SUBSCRIBE_SEND, Behaviour::Errcode(code), 1);
        let err = client
            .subscribe_send(&subscribe_message())
            .await
            .unwrap_err();
        assert_eq!(err.errcode(), Some(code));
        assert_eq!(err.class(), ErrorClass::Permanent);
        assert_eq!(ctx.fake.count(SUBSCRIBE_SEND), n + 1);
    }
    ctx.fake
        .script(JSCODE2SESSION, Behaviour::Errcode(40029), 1);
    let err = client.jscode2session("used-code").await.unwrap_err();
    assert_eq!(err.errcode(), Some(40029));
    assert_eq!(err.class(), ErrorClass::Permanent);
    assert_eq!(ctx.fake.count(JSCODE2SESSION), 1);
});

wechat_test!(
    a_daily_quota_error_is_surfaced_as_quota_without_retry,
    |ctx| async move {
        let client = ctx.client();
        ctx.fake.script(MSG_SEC_CHECK, Behaviour::Errcode(45009), 1);
        let err = client.msg_sec_check(&text_check("hi")).await.unwrap_err();
        assert_eq!(err.class(), ErrorClass::Quota);
        assert_eq!(err.errcode(), Some(45009));
        assert_eq!(ctx.fake.count(MSG_SEC_CHECK), 1);
    }
);

wechat_test!(
    a_ten_second_delay_times_out_well_before_ten_seconds,
    |ctx| async move {
        let client = ctx.client();
        ctx.fake
            .script(JSCODE2SESSION, Behaviour::Delay(Duration::from_secs(10)), 5);
        let started = Instant::now();
        let err = client.jscode2session("alice").await.unwrap_err();
        assert!(matches!(err, WechatError::Timeout { .. }), "{err:?}");
        assert_eq!(err.class(), ErrorClass::Retryable);
        // Three attempts of 300 ms plus short pauses.
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(ctx.fake.count(JSCODE2SESSION), 3);
    }
);

wechat_test!(
    a_dropped_connection_is_retried_except_for_sends,
    |ctx| async move {
        let client = ctx.client();
        ctx.fake.script(MSG_SEC_CHECK, Behaviour::Drop, 1);
        client.msg_sec_check(&text_check("hi")).await.unwrap();
        assert_eq!(ctx.fake.count(MSG_SEC_CHECK), 2);
        // The send may have been delivered before the connection broke: never send twice.
        ctx.fake.script(CUSTOM_SEND, Behaviour::Drop, 1);
        let err = client
            .custom_send(&CustomMessage::text("o_user", "你好"))
            .await
            .unwrap_err();
        assert_eq!(err.class(), ErrorClass::Retryable);
        assert_eq!(ctx.fake.count(CUSTOM_SEND), 1);
    }
);

wechat_test!(media_get_returns_bytes_or_a_typed_error, |ctx| async move {
    let client = ctx.client();
    match client.media_get("MEDIA_1").await.unwrap() {
        Media::File {
            content_type,
            bytes,
            ..
        } => {
            assert_eq!(content_type, "image/png");
            assert!(bytes.starts_with(b"\x89PNG"));
        }
        other => panic!("expected a file, got {other:?}"),
    }
    let err = client.media_get("missing-media").await.unwrap_err();
    assert_eq!(err.errcode(), Some(40007));
    assert_eq!(err.class(), ErrorClass::Permanent);
    let code = WxaCode {
        scene: "w=42".into(),
        page: Some("pages/work/index".into()),
        ..WxaCode::default()
    };
    let image = client.wxacode_unlimited(&code).await.unwrap();
    assert!(image.bytes.starts_with(b"\x89PNG"));
    let bad_page = WxaCode {
        page: Some("/pages/work/index".into()),
        ..code
    };
    let err = client.wxacode_unlimited(&bad_page).await.unwrap_err();
    assert_eq!(err.errcode(), Some(41030));
    assert_eq!(
        ctx.fake.calls(MEDIA_GET)[0].param("media_id").as_deref(),
        Some("MEDIA_1")
    );
});

wechat_test!(
    sends_and_phone_numbers_carry_the_documented_bodies,
    |ctx| async move {
        let client = ctx.client();
        client.subscribe_send(&subscribe_message()).await.unwrap();
        let body = ctx.fake.calls(SUBSCRIBE_SEND)[0].json();
        assert_eq!(body["data"]["thing1"]["value"], "作品已通过");
        let phone = client.phone_number("phone-code").await.unwrap();
        assert_eq!(phone.watermark.appid, FAKE_MINIAPP_APPID);
        assert!(phone.pure_phone_number.starts_with("138"));
        // Two apps, two tokens: the official account's is fetched separately.
        client
            .custom_send(&CustomMessage::text("o_user", "你好"))
            .await
            .unwrap();
        let appids: Vec<_> = ctx
            .fake
            .calls(STABLE_TOKEN)
            .iter()
            .map(|c| c.json()["appid"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(appids, [FAKE_MINIAPP_APPID, FAKE_MP_APPID]);
        client
            .menu_create(
                &serde_json::json!({"button": [{"type": "click", "name": "投票", "key": "vote"}]}),
            )
            .await
            .unwrap();
        let rank = client
            .user_risk_rank(&RiskRankQuery {
                openid: "o_user".into(),
                scene: 1,
                client_ip: "203.0.113.5".into(),
                mobile_no: None,
            })
            .await
            .unwrap();
        assert_eq!(rank.risk_rank, 0);
        let checks = ctx.fake.calls("/wxa/getuserriskrank");
        assert_eq!(checks[0].json()["appid"], FAKE_MINIAPP_APPID);
    }
);

async fn app_client_uses_the_fake(backend: Backend) {
    let Some((app, fake)) = spawn_app_with_fake_wechat(backend).await else {
        return;
    };
    let session = app.wechat.jscode2session("alice").await.unwrap();
    assert!(session.openid.starts_with("sbx_"));
    assert_eq!(
        fake.calls(JSCODE2SESSION)[0].param("appid").as_deref(),
        Some(FAKE_MINIAPP_APPID)
    );
    app.wechat
        .custom_send(&CustomMessage::text("o_user", "投票成功"))
        .await
        .unwrap();
    let metrics = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(r#"wangju_wechat_api_calls_total{api="custom_send"} 1"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"wangju_wechat_token_refreshes_total{app="mp",outcome="ok"} 1"#),
        "{metrics}"
    );
    // Secrets stay out of the client's Debug output.
    assert!(!format!("{:?}", app.wechat).contains("fake-mp-secret"));
}

on_both_databases!(
    the_app_calls_the_configured_wechat_and_counts_it,
    app_client_uses_the_fake
);

db_test!(
    sandbox_login_codes_map_to_stable_openids,
    |app| async move {
        let alice = app.wechat.jscode2session("alice").await.unwrap();
        let again = app.wechat.jscode2session("alice").await.unwrap();
        let bob = app.wechat.jscode2session("bob").await.unwrap();
        assert_eq!(alice.openid, again.openid);
        assert_ne!(alice.openid, bob.openid);
        assert!(alice.unionid.is_some());
    }
);

db_test!(sandbox_content_check_flags_test_words, |app| async move {
    let risky = app
        .wechat
        .msg_sec_check(&text_check("这是违规测试"))
        .await
        .unwrap();
    assert_eq!(risky.result.suggest, Suggest::Risky);
    let fine = app.wechat.msg_sec_check(&text_check("加油")).await.unwrap();
    assert_eq!(fine.result.suggest, Suggest::Pass);
    app.wechat
        .custom_send(&CustomMessage::text("o_user", "你好"))
        .await
        .unwrap();
    let sent = app.wechat.sandbox_handle().unwrap().sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].touser, "o_user");
});
