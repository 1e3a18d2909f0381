//! The callback cannot be downgraded, replayed or fed fields the database would refuse.

use entity::work;
use sea_orm::{EntityTrait, PaginatorTrait};

use crate::{
    db_test,
    helpers::{Backend, TestApp, spawn_app_with},
    on_both_databases,
    push::{self, Mode, content, event, send, text},
};

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

async fn works(app: &TestApp) -> u64 {
    work::Entity::find().count(&app.db).await.unwrap()
}

async fn post(app: &TestApp, query: &[(String, String)], body: String) -> (u16, String) {
    post_to(app, "/wechat/callback", query, body).await
}

async fn post_to(
    app: &TestApp,
    path: &str,
    query: &[(String, String)],
    body: String,
) -> (u16, String) {
    let res = app
        .client
        .post(app.url(path))
        .query(query)
        .body(body)
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

async fn downgrade(backend: Backend) {
    let Some(app) = spawn_app_with(backend, &[("mp_aes_key", push::AES_KEY.into())]).await else {
        return;
    };
    app.set_phase(Some("open")).await;
    let xml = text("oVictim", 501, now(), "网言网语 不是我写的");
    // A plain push, signed as every plain push is (the signature does not cover the body).
    let (status, _) = send(&app, &xml, Mode::Plain).await;
    assert_eq!(
        status, 403,
        "a plain push to an account in safe mode is a downgrade"
    );
    assert_eq!(works(&app).await, 0);
    let (status, body) = send(&app, &xml, Mode::Safe).await;
    assert_eq!(status, 200);
    assert!(push::open_reply(&body, push::MP_APPID).contains("编号 WY-"));
    assert_eq!(works(&app).await, 1);
}

on_both_databases!(
    a_plain_push_to_an_account_in_safe_mode_is_refused,
    downgrade
);

async fn compatible_mode(backend: Backend) {
    let Some(app) = spawn_app_with(
        backend,
        &[
            ("mp_aes_key", push::AES_KEY.into()),
            ("mp_message_mode", "compatible".into()),
        ],
    )
    .await
    else {
        return;
    };
    app.set_phase(Some("open")).await;
    let xml = text("oCompat", 502, now(), "网言网语 兼容模式");
    assert_eq!(send(&app, &xml, Mode::Plain).await.0, 403);
    let (status, _) = send(&app, &xml, Mode::Compatible).await;
    assert_eq!(status, 200);
    assert_eq!(works(&app).await, 1);
    // Both signatures are checked when both are present.
    let (mut query, body) = push::wrap(&xml, Mode::Compatible, push::MP_APPID);
    for (name, value) in &mut query {
        if name == "signature" {
            *value = "0".repeat(40);
        }
    }
    assert_eq!(post(&app, &query, body).await.0, 403);
}

on_both_databases!(
    compatible_mode_takes_only_encrypted_pushes_and_checks_both_signatures,
    compatible_mode
);

db_test!(
    a_replayed_signed_query_with_another_body_is_refused,
    |app| async move {
        app.set_phase(Some("open")).await;
        let first = text("oAuthor", 601, now(), "网言网语 原本的内容");
        let (query, body) = push::wrap(&first, Mode::Plain, push::MP_APPID);
        let (status, reply) = post(&app, &query, body.clone()).await;
        assert_eq!(status, 200);
        assert!(content(&reply).contains("编号 WY-"));
        // The same query with the same body is WeChat retrying: the stored answer again.
        let (status, again) = post(&app, &query, body).await;
        assert_eq!((status, content(&again)), (200, content(&reply)));
        // The same query from a log, carrying a forged body for someone else.
        let forged = text("oOther", 602, now(), "网言网语 伪造的内容");
        let (status, _) = post(&app, &query, forged.clone()).await;
        assert_eq!(status, 403);
        assert_eq!(
            post(&app, &query, forged).await.0,
            403,
            "any number of times"
        );
        assert_eq!(works(&app).await, 1);
    }
);

db_test!(
    timestamps_outside_five_minutes_or_not_numbers_are_refused,
    |app| async move {
        app.set_phase(Some("open")).await;
        let xml = text("oClock", 701, now(), "网言网语 时间不对");
        for timestamp in [0, now() - 3600, now() + 3600] {
            let (query, body) = push::wrap_at(&xml, Mode::Plain, push::MP_APPID, timestamp);
            assert_eq!(
                post(&app, &query, body).await.0,
                403,
                "timestamp {timestamp}"
            );
        }
        let (mut query, body) = push::wrap(&xml, Mode::Plain, push::MP_APPID);
        for (name, value) in &mut query {
            if name == "timestamp" {
                *value = "abc".into();
            }
        }
        assert_eq!(post(&app, &query, body).await.0, 403, "timestamp abc");
        assert_eq!(works(&app).await, 0);
        // Within the window it is taken.
        let (query, body) = push::wrap_at(&xml, Mode::Plain, push::MP_APPID, now() - 60);
        assert_eq!(post(&app, &query, body).await.0, 200);
        assert_eq!(works(&app).await, 1);
    }
);

db_test!(
    the_same_msg_id_with_another_create_time_is_acted_on_once,
    |app| async move {
        app.set_phase(Some("open")).await;
        let first = text("oTwice", 801, now() - 10, "网言网语 只算一次");
        let again = text("oTwice", 801, now(), "网言网语 只算一次");
        let (_, reply) = send(&app, &first, Mode::Plain).await;
        let (status, second) = send(&app, &again, Mode::Plain).await;
        assert_eq!(status, 200);
        assert_eq!(content(&second), content(&reply));
        assert_eq!(works(&app).await, 1);
    }
);

db_test!(
    empty_or_overlong_account_ids_and_event_keys_are_400,
    |app| async move {
        app.set_phase(Some("open")).await;
        let cases = [
            text("", 901, now(), "网言网语 没有发送人"),
            text(&"o".repeat(65), 902, now(), "网言网语 太长的发送人"),
            event("oKey", now(), "CLICK", Some(&"k".repeat(200))),
            event("oKey", now(), "subscribe", Some(&"k".repeat(200_000))),
        ];
        for xml in cases {
            let (status, body) = send(&app, &xml, Mode::Plain).await;
            assert_eq!(status, 400, "{body}");
            assert!(
                body.contains("FromUserName") || body.contains("EventKey"),
                "{body}"
            );
        }
        let people = entity::person::Entity::find().count(&app.db).await.unwrap();
        assert_eq!(people, 0);
        assert_eq!(works(&app).await, 0);
    }
);

const MINIAPP_PATH: &str = "/wechat/miniapp/callback";

/// A mini-program text message (from its customer-service entry).
fn miniapp_text(openid: &str) -> String {
    text(openid, 990, now(), "网言网语 发到小程序的消息")
}

async fn miniapp_keys(backend: Backend) {
    let Some(app) = spawn_app_with(
        backend,
        &[
            ("mp_aes_key", push::AES_KEY.into()),
            ("miniapp_aes_key", push::MINIAPP_AES_KEY.into()),
        ],
    )
    .await
    else {
        return;
    };
    app.set_phase(Some("open")).await;
    let appid = crate::fake_wechat::FAKE_MINIAPP_APPID;
    let xml = miniapp_text("oMiniUser");
    // Signed and encrypted with the mini program's own keys: taken, and answered `success`
    // (its chat is not the official account's).
    let (status, body) =
        push::send_to(&app, MINIAPP_PATH, &xml, Mode::Safe, "wxsandbox0000app1").await;
    assert_eq!((status, body.as_str()), (200, "success"));
    // The official account's Token does not sign for the mini program (403), nor does its
    // EncodingAESKey decrypt for it (400).
    for (keys, expected) in [
        ((push::TOKEN, push::MINIAPP_AES_KEY), 403),
        ((push::MINIAPP_TOKEN, push::AES_KEY), 400),
    ] {
        let (query, body) = push::wrap_with(keys, &xml, Mode::Safe, "wxsandbox0000app1", now());
        assert_eq!(post_to(&app, MINIAPP_PATH, &query, body).await.0, expected);
    }
    // In safe mode a plain push is a downgrade there too.
    let (status, _) = push::send_to(&app, MINIAPP_PATH, &xml, Mode::Plain, appid).await;
    assert_eq!(status, 403);
    assert_eq!(works(&app).await, 0);
    let people = entity::person::Entity::find().count(&app.db).await.unwrap();
    assert_eq!(people, 0, "a mini-program message makes nobody");
}

on_both_databases!(
    the_mini_program_endpoint_has_its_own_token_key_and_no_chat,
    miniapp_keys
);

db_test!(
    the_mini_program_endpoint_verifies_its_url_with_its_own_token,
    |app| async move {
        let (ts, nonce) = (now().to_string(), "4242".to_owned());
        for (token, expected) in [(push::MINIAPP_TOKEN, 200), (push::TOKEN, 403)] {
            let signature = wangju::wechat::signature::sign(&[token, &ts, &nonce]);
            let res = app
                .client
                .get(app.url(MINIAPP_PATH))
                .query(&[
                    ("signature", signature.as_str()),
                    ("timestamp", &ts),
                    ("nonce", &nonce),
                    ("echostr", "mini-echo"),
                ])
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), expected, "{token}");
        }
    }
);
