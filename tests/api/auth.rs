use serde_json::{Value, json};

use crate::on_both_databases;
use crate::{
    db_test,
    fake_wechat::Behaviour,
    helpers::{Backend, TestApp, spawn_app_with_fake_wechat},
};

async fn login(app: &TestApp, code: &str) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({ "code": code }))
        .send()
        .await
        .unwrap()
}

db_test!(
    a_sandbox_login_gives_our_own_token_and_never_the_session_key,
    |app| async move {
        let res = login(&app, "alice").await;
        assert_eq!(res.status(), 200);
        let text = res.text().await.unwrap();
        assert!(!text.contains("session_key"), "{text}");
        let body: Value = serde_json::from_str(&text).unwrap();
        assert!(body["token"].as_str().unwrap().starts_with("wjs_"));
        assert_eq!(body["expires_in"], 30 * 24 * 3600);
        assert_eq!(body["user"]["nickname"], "");
        // The session key stays on the server; the token is stored only as a hash.
        let session = <entity::session::Entity as sea_orm::EntityTrait>::find()
            .one(&app.db)
            .await
            .unwrap()
            .unwrap();
        assert!(!session.session_key.is_empty());
        assert_ne!(session.token_hash, body["token"].as_str().unwrap());

        let me: Value = app
            .client
            .get(app.url("/api/v1/me"))
            .bearer_auth(body["token"].as_str().unwrap())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(me["id"], body["user"]["id"]);
        assert!(!me.to_string().contains("session"));
    }
);

db_test!(
    the_same_code_owner_is_the_same_person_and_others_are_not,
    |app| async move {
        let (_, alice) = app.login("alice").await;
        let (_, again) = app.login("alice").await;
        let (_, bob) = app.login("bob").await;
        assert_eq!(alice, again);
        assert_ne!(alice, bob);
    }
);

db_test!(requests_without_a_valid_token_get_401, |app| async move {
    let missing = app.client.get(app.url("/api/v1/me")).send().await.unwrap();
    assert_eq!(missing.status(), 401);
    let unknown = app
        .client
        .get(app.url("/api/v1/me"))
        .bearer_auth("wjs_forged")
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 401);
    let body: Value = unknown.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unauthenticated");
});

db_test!(
    a_profile_is_updated_field_by_field_and_bad_values_change_nothing,
    |app| async move {
        let (token, _) = app.login("carol").await;
        let units: Value = app
            .client
            .get(app.url("/api/v1/units"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let items = units["items"].as_array().unwrap();
        assert_eq!(items.len(), 8);
        let unit_id = items[0]["id"].as_i64().unwrap();
        let patch = |body: Value| {
            app.client
                .patch(app.url("/api/v1/me"))
                .bearer_auth(&token)
                .json(&body)
                .send()
        };
        let ok: Value =
            patch(json!({"nickname": "劳模小张", "unit_id": unit_id, "real_name": "张三"}))
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
        assert_eq!(ok["nickname"], "劳模小张");
        assert_eq!(ok["unit_id"], unit_id);
        let bad = patch(json!({"nickname": "名".repeat(21), "unit_id": 999_999}))
            .await
            .unwrap();
        assert_eq!(bad.status(), 400);
        let body: Value = bad.json().await.unwrap();
        assert!(body["error"]["fields"]["nickname"].is_string());
        assert!(body["error"]["fields"]["unit_id"].is_string());
        let me: Value = app
            .client
            .get(app.url("/api/v1/me"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(me["nickname"], "劳模小张", "nothing changed");
    }
);

db_test!(
    the_campaign_is_served_as_data_with_its_phase,
    |app| async move {
        let campaign: Value = app
            .client
            .get(app.url("/api/v1/campaign"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(campaign["name"], "网聚职工正能量 争做中国好网民");
        assert_eq!(campaign["phase"], "closed", "the 2017 dates are long past");
        assert_eq!(campaign["phases"].as_array().unwrap().len(), 4);
        let slogan = campaign["categories"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["key"] == "slogan")
            .unwrap();
        assert_eq!(slogan["rules"]["body_chars"], json!({"min": 1, "max": 30}));
        assert_eq!(slogan["kind"], "text");
        app.set_phase(Some("open")).await;
        let campaign: Value = app
            .client
            .get(app.url("/api/v1/campaign"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            campaign["phase"], "open",
            "the admin override wins over the dates"
        );
        app.set_phase(None).await;
        let campaign: Value = app
            .client
            .get(app.url("/api/v1/campaign"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            campaign["phase"], "closed",
            "clearing the override returns to the dates"
        );
    }
);

async fn wechat_login_errors(backend: Backend) {
    let Some((app, fake)) = spawn_app_with_fake_wechat(backend).await else {
        return;
    };
    for (errcode, status, code) in [
        (40029, 400, "invalid_login_code"),
        (40163, 400, "invalid_login_code"),
        (40226, 403, "login_blocked"),
    ] {
        fake.script("/sns/jscode2session", Behaviour::Errcode(errcode), 1);
        let res = login(&app, "expired-code").await;
        assert_eq!(res.status(), status, "{errcode}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"]["code"], code);
    }
    fake.script("/sns/jscode2session", Behaviour::Errcode(-1), 10);
    let res = login(&app, "busy").await;
    assert_eq!(res.status(), 503);
    assert!(res.headers().contains_key("retry-after"));
    let count = <entity::session::Entity as sea_orm::EntityTrait>::find()
        .all(&app.db)
        .await
        .unwrap()
        .len();
    assert_eq!(count, 0, "failed logins store nothing");
}

on_both_databases!(wechat_login_errors_map_to_clear_codes, wechat_login_errors);

async fn person_by_mp(app: &TestApp, openid: &str) -> Option<entity::person::Model> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    entity::person::Entity::find()
        .filter(entity::person::Column::MpOpenid.eq(openid))
        .one(&app.db)
        .await
        .unwrap()
}

async fn authors(app: &TestApp) -> Vec<i64> {
    use sea_orm::EntityTrait;
    entity::work::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|w| w.author_id)
        .collect()
}

db_test!(
    a_follower_who_logs_in_later_is_one_person,
    |app| async move {
        use crate::push::{Mode, event, send, text};
        app.set_phase(Some("open")).await;
        let now = chrono::Utc::now().timestamp();
        // The simulator's follower "alice" and login code "alice" share a unionid.
        send(&app, &event("alice", now, "subscribe", None), Mode::Plain).await;
        app.eventually("the follower's unionid is learnt", || async {
            person_by_mp(&app, "alice")
                .await
                .is_some_and(|p| p.unionid.is_some())
        })
        .await;
        send(
            &app,
            &text("alice", 7777, now, "网言网语 关注在先"),
            Mode::Plain,
        )
        .await;
        let follower = person_by_mp(&app, "alice").await.unwrap();
        let (_, user_id) = app.login("alice").await;
        assert_eq!(user_id, follower.id);
        let person = person_by_mp(&app, "alice").await.unwrap();
        assert!(
            person.miniapp_openid.is_some(),
            "both identities on one row"
        );
        assert_eq!(authors(&app).await, vec![user_id]);
    }
);

db_test!(a_login_that_follows_later_is_one_person, |app| async move {
    use crate::push::{Mode, send, text};
    app.set_phase(Some("open")).await;
    let (_, user_id) = app.login("bob").await;
    // First contact from the official account: a new row, then merged once the unionid is known.
    send(
        &app,
        &text(
            "bob",
            8888,
            chrono::Utc::now().timestamp(),
            "网言网语 登录在先",
        ),
        Mode::Plain,
    )
    .await;
    app.eventually("the follower is folded into the login", || async {
        person_by_mp(&app, "bob")
            .await
            .is_some_and(|p| p.id == user_id)
    })
    .await;
    assert_eq!(
        authors(&app).await,
        vec![user_id],
        "the chat work now belongs to the login"
    );
    use sea_orm::{EntityTrait, PaginatorTrait};
    assert_eq!(
        entity::person::Entity::find().count(&app.db).await.unwrap(),
        1
    );
});
