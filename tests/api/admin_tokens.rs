use serde_json::{Value, json};
use wangju::{domain::role::Role, service::admin_tokens};

use crate::on_both_databases;
use crate::{
    db_test,
    helpers::{Backend, spawn_app_with},
};

db_test!(
    an_admin_creates_a_reviewer_token_that_then_authenticates,
    |app| async move {
        let admin = app.token(Role::Admin).await;
        let res = app
            .client
            .post(app.url("/api/v1/admin/tokens"))
            .bearer_auth(&admin)
            .json(&json!({"role": "reviewer", "label": "网宣办 A"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
        let body: Value = res.json().await.unwrap();
        let token = body["token"].as_str().unwrap();
        let identity = admin_tokens::authenticate(&app.db, token).await.unwrap();
        assert_eq!(identity.role, Role::Reviewer);
        // Only the hash is stored.
        let stored: Vec<entity::admin_token::Model> =
            <entity::admin_token::Entity as sea_orm::EntityTrait>::find()
                .all(&app.db)
                .await
                .unwrap();
        assert!(stored.iter().all(|row| row.token_hash != token));
    }
);

db_test!(a_reviewer_may_not_create_tokens, |app| async move {
    let reviewer = admin_tokens::issue(&app.db, Role::Reviewer, None, "r")
        .await
        .unwrap();
    let res = app
        .client
        .post(app.url("/api/v1/admin/tokens"))
        .bearer_auth(reviewer.reveal())
        .json(&json!({"role": "admin"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "forbidden");
});

db_test!(
    a_missing_or_unknown_token_gets_401_unauthenticated,
    |app| async move {
        for auth in [None, Some("wja_not-a-real-token")] {
            let mut req = app
                .client
                .post(app.url("/api/v1/admin/tokens"))
                .json(&json!({"role": "judge"}));
            if let Some(token) = auth {
                req = req.bearer_auth(token);
            }
            let res = req.send().await.unwrap();
            assert_eq!(res.status(), 401, "{auth:?}");
            let body: Value = res.json().await.unwrap();
            assert_eq!(body["error"]["code"], "unauthenticated");
        }
    }
);

db_test!(
    a_malformed_json_body_gets_the_contract_error_body,
    |app| async move {
        let admin = app.token(Role::Admin).await;
        let before = <entity::admin_token::Entity as sea_orm::EntityTrait>::find()
            .all(&app.db)
            .await
            .unwrap()
            .len();
        let res = app
            .client
            .post(app.url("/api/v1/admin/tokens"))
            .bearer_auth(&admin)
            .header("content-type", "application/json")
            .body("{\"role\": ")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"]["code"], "bad_request");
        let count = <entity::admin_token::Entity as sea_orm::EntityTrait>::find()
            .all(&app.db)
            .await
            .unwrap()
            .len();
        assert_eq!(count, before, "nothing was stored");
    }
);

db_test!(a_unit_token_requires_its_unit, |app| async move {
    let err = admin_tokens::issue(&app.db, Role::Unit, None, "u")
        .await
        .unwrap_err();
    assert_eq!(err.code(), "bad_request");
    let ok = admin_tokens::issue(&app.db, Role::Unit, Some(3), "u")
        .await
        .unwrap();
    let identity = admin_tokens::authenticate(&app.db, ok.reveal())
        .await
        .unwrap();
    assert_eq!(identity.unit_id, Some(3));
});

async fn bootstrap_token_is_created_once(backend: Backend) {
    let Some(app) = spawn_app_with(backend, &[("admin_token", "bootstrap-secret-1".into())]).await
    else {
        return;
    };
    let identity = admin_tokens::authenticate(&app.db, "bootstrap-secret-1")
        .await
        .unwrap();
    assert_eq!(identity.role, Role::Admin);
    admin_tokens::ensure_bootstrap(&app.db, &secrecy::SecretString::from("bootstrap-secret-1"))
        .await
        .unwrap();
    let rows = <entity::admin_token::Entity as sea_orm::EntityTrait>::find()
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
}

on_both_databases!(
    the_bootstrap_admin_token_is_stored_once,
    bootstrap_token_is_created_once
);
