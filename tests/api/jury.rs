//! Jury scores and awards.

use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};
use wangju::{domain::role::Role, service::admin_tokens};

use crate::{
    db_test,
    helpers::TestApp,
    votes::{approved_work, voter, work_with_status},
};

/// A bearer token of `role`.
pub async fn token(app: &TestApp, role: Role) -> String {
    admin_tokens::issue(&app.db, role, None, role.as_str())
        .await
        .unwrap()
        .reveal()
        .to_owned()
}

/// A judge's score over HTTP; status and body.
pub async fn score(app: &TestApp, token: &str, work: i64, body: Value) -> (u16, Value) {
    let res = app
        .client
        .put(app.url(&format!("/api/v1/admin/works/{work}/score")))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

db_test!(
    judges_score_approved_works_once_each_and_may_change_their_score,
    |app| async move {
        let (_, author) = voter(&app, "author").await;
        let work = approved_work(&app, author, "slogan").await;
        let pending = work_with_status(&app, author, "slogan", "pending_review").await;
        let judge = token(&app, Role::Judge).await;
        let other_judge = token(&app, Role::Judge).await;
        let reviewer = token(&app, Role::Reviewer).await;

        let (status, body) = score(&app, &judge, work, json!({"score": 80})).await;
        assert_eq!(
            (status, &body["error"]["code"]),
            (403, &json!("phase_closed"))
        );
        app.set_phase(Some("showcase")).await;

        let (status, body) = score(
            &app,
            &judge,
            work,
            json!({"score": 80, "comment": "立意好"}),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            (body["score"].clone(), body["comment"].clone()),
            (json!(80), json!("立意好"))
        );
        let (status, body) =
            score(&app, &judge, work, json!({"score": 90, "comment": "复评"})).await;
        assert_eq!((status, body["score"].clone()), (200, json!(90)));
        assert_eq!(
            score(&app, &other_judge, work, json!({"score": 70}))
                .await
                .0,
            200
        );
        let rows = entity::score::Entity::find()
            .filter(entity::score::Column::WorkId.eq(work))
            .count(&app.db)
            .await
            .unwrap();
        assert_eq!(rows, 2, "one score per judge per work");

        let (status, body) = score(&app, &judge, work, json!({"score": 101})).await;
        assert_eq!(status, 400, "{body}");
        assert!(body["error"]["fields"]["score"].is_string());
        assert_eq!(
            score(&app, &judge, pending, json!({"score": 50})).await.0,
            404
        );
        assert_eq!(
            score(&app, &reviewer, work, json!({"score": 50})).await.0,
            403
        );
    }
);
