//! Jury scores and awards.

use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};
use wangju::{domain::role::Role, service::admin_tokens};

use crate::{
    db_test,
    helpers::TestApp,
    votes::{approved_work, voter, work_with_status},
};

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
        let judge = app.token(Role::Judge).await;
        let other_judge = app.token(Role::Judge).await;
        let reviewer = app.token(Role::Reviewer).await;

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

/// Posts or gets an awards path as `token`; status and body.
async fn awards(app: &TestApp, token: Option<&str>, compute: bool) -> (u16, Value) {
    let req = match (compute, token) {
        (true, _) => app.client.post(app.url("/api/v1/admin/awards/compute")),
        (false, Some(_)) => app.client.get(app.url("/api/v1/admin/awards")),
        (false, None) => app.client.get(app.url("/api/v1/awards")),
    };
    let req = match token {
        Some(token) => req.bearer_auth(token),
        None => req,
    };
    let res = req.send().await.unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

db_test!(
    awards_combine_votes_and_jury_break_ties_by_the_rule_and_publish_when_closed,
    |app| async move {
        app.set_phase(Some("showcase")).await;
        let (_, author) = voter(&app, "author").await;
        // Submitted in this order: b before c, so b wins their complete tie.
        let a = approved_work(&app, author, "slogan").await;
        let b = approved_work(&app, author, "slogan").await;
        let c = approved_work(&app, author, "slogan").await;
        let d = approved_work(&app, author, "slogan").await;
        let (one, _) = voter(&app, "voter-1").await;
        let (two, _) = voter(&app, "voter-2").await;
        for (token, work) in [(&one, a), (&two, a), (&one, b), (&two, c)] {
            assert_eq!(crate::votes::vote(&app, token, work).await.0, 200);
        }
        let judge = app.token(Role::Judge).await;
        for (work, value) in [(a, 60), (b, 90), (c, 90), (d, 100)] {
            assert_eq!(
                score(&app, &judge, work, json!({"score": value})).await.0,
                200
            );
        }
        let admin = app.admin_token.clone();
        let reviewer = app.token(Role::Reviewer).await;
        assert_eq!(awards(&app, Some(&reviewer), true).await.0, 403);

        // 0.4 × votes/top × 100 + 0.6 × jury: a 40+36=76, b 20+54=74, c 20+54=74, d 0+60=60.
        let (status, first) = awards(&app, Some(&admin), true).await;
        assert_eq!(status, 200, "{first}");
        let slogans: Vec<(i64, i64, String, f64)> = first["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["category"] == "slogan")
            .map(|i| {
                (
                    i["place"].as_i64().unwrap(),
                    i["work_id"].as_i64().unwrap(),
                    i["prize"].as_str().unwrap().to_owned(),
                    (i["final_score"].as_f64().unwrap() * 100.0).round() / 100.0,
                )
            })
            .collect();
        assert_eq!(
            slogans,
            vec![
                (1, a, "first".to_owned(), 76.0),
                (2, b, "second".to_owned(), 74.0),
                (3, c, "second".to_owned(), 74.0),
                (4, d, "third".to_owned(), 60.0),
            ]
        );
        assert_eq!(first["items"][0]["prize_name"], "一等奖");
        // Deterministic and repeatable: computing again gives the same prizes.
        let (_, again) = awards(&app, Some(&admin), true).await;
        let strip = |v: &Value| -> Vec<Value> {
            v["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| {
                    json!([
                        i["category"],
                        i["place"],
                        i["work_id"],
                        i["prize"],
                        i["final_score"]
                    ])
                })
                .collect()
        };
        assert_eq!(strip(&first), strip(&again));
        assert_eq!(
            strip(&awards(&app, Some(&admin), false).await.1),
            strip(&first)
        );

        // Scores are frozen once awards exist.
        let (status, body) = score(&app, &judge, d, json!({"score": 0})).await;
        assert_eq!(
            (status, &body["error"]["code"]),
            (403, &json!("phase_closed"))
        );

        // The public sees the results only once the campaign is closed.
        let (status, body) = awards(&app, None, false).await;
        assert_eq!(
            (status, &body["error"]["code"]),
            (403, &json!("phase_closed"))
        );
        app.set_phase(Some("closed")).await;
        let (status, public) = awards(&app, None, false).await;
        assert_eq!(status, 200);
        assert_eq!(strip(&public), strip(&first));
    }
);

/// Moves a work to a unit.
async fn in_unit(app: &TestApp, work: i64, unit: i64) {
    use sea_orm::{ActiveModelTrait, Set};
    let row = entity::work::Entity::find_by_id(work)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let mut changes: entity::work::ActiveModel = row.into();
    changes.unit_id = Set(Some(unit));
    changes.update(&app.db).await.unwrap();
}

db_test!(
    units_are_ranked_by_awards_then_approved_works_then_participants,
    |app| async move {
        let unit = |code: &'static str| {
            let db = app.db.clone();
            async move {
                entity::unit::Entity::find()
                    .filter(entity::unit::Column::Code.eq(code))
                    .one(&db)
                    .await
                    .unwrap()
                    .unwrap()
                    .id
            }
        };
        let (huangpu, xuhui) = (unit("huangpu").await, unit("xuhui").await);
        let (_, first_author) = voter(&app, "huangpu-1").await;
        let (_, second_author) = voter(&app, "huangpu-2").await;
        let (_, busy_author) = voter(&app, "xuhui-1").await;
        for author in [first_author, second_author] {
            let work = approved_work(&app, author, "slogan").await;
            in_unit(&app, work, huangpu).await;
        }
        for _ in 0..3 {
            let work = approved_work(&app, busy_author, "slogan").await;
            in_unit(&app, work, xuhui).await;
        }
        let pending = work_with_status(&app, busy_author, "slogan", "pending_review").await;
        in_unit(&app, pending, huangpu).await;
        // 一/二/三等奖 1 + 2 + 3 = 6 prizes for five slogans: every work wins one.
        let admin = app.admin_token.clone();
        assert_eq!(awards(&app, Some(&admin), true).await.0, 200);

        let stats = |token: String| {
            let req = app
                .client
                .get(app.url("/api/v1/admin/stats"))
                .bearer_auth(token);
            async move {
                let res = req.send().await.unwrap();
                (res.status().as_u16(), res.json::<Value>().await.unwrap())
            }
        };
        let (status, body) = stats(admin).await;
        assert_eq!(status, 200, "{body}");
        let units = body["units"].as_array().unwrap();
        let row = |i: usize| {
            let u = &units[i];
            (
                u["rank"].as_i64().unwrap(),
                u["unit_id"].as_i64().unwrap(),
                u["awards"].as_i64().unwrap(),
                u["approved_works"].as_i64().unwrap(),
                u["participants"].as_i64().unwrap(),
            )
        };
        assert_eq!(row(0), (1, xuhui, 3, 3, 1));
        // The pending work counts its author as a participant, not as an approved work.
        assert_eq!(row(1), (2, huangpu, 2, 2, 3));
        assert_eq!(row(2).0, 3);
        assert_eq!(units.len(), 8);

        let organiser = admin_tokens::issue(&app.db, Role::Unit, Some(huangpu), "huangpu")
            .await
            .unwrap()
            .reveal()
            .to_owned();
        let (status, body) = stats(organiser).await;
        assert_eq!(status, 200);
        assert_eq!(body["units"].as_array().unwrap().len(), 1);
        assert_eq!(body["units"][0]["rank"], 2);
        let reviewer = app.token(Role::Reviewer).await;
        assert_eq!(stats(reviewer).await.0, 403);
    }
);

db_test!(
    unit_organisers_report_their_units_approved_works_to_the_city,
    |app| async move {
        let unit = |code: &'static str| {
            let db = app.db.clone();
            async move {
                entity::unit::Entity::find()
                    .filter(entity::unit::Column::Code.eq(code))
                    .one(&db)
                    .await
                    .unwrap()
                    .unwrap()
                    .id
            }
        };
        let (huangpu, xuhui) = (unit("huangpu").await, unit("xuhui").await);
        let (_, author) = voter(&app, "author").await;
        let ours = approved_work(&app, author, "slogan").await;
        in_unit(&app, ours, huangpu).await;
        let theirs = approved_work(&app, author, "slogan").await;
        in_unit(&app, theirs, xuhui).await;
        let unfinished = work_with_status(&app, author, "slogan", "pending_review").await;
        in_unit(&app, unfinished, huangpu).await;
        let organiser = admin_tokens::issue(&app.db, Role::Unit, Some(huangpu), "huangpu")
            .await
            .unwrap()
            .reveal()
            .to_owned();
        let report = |token: String, work: i64, reported: bool| {
            let req = app
                .client
                .put(app.url(&format!("/api/v1/admin/works/{work}/report")))
                .bearer_auth(token)
                .json(&json!({ "reported": reported }));
            async move {
                let res = req.send().await.unwrap();
                (res.status().as_u16(), res.json::<Value>().await.unwrap())
            }
        };
        let (status, body) = report(organiser.clone(), ours, true).await;
        assert_eq!(status, 200, "{body}");
        assert!(body["reported_at"].is_string());
        assert_eq!(report(organiser.clone(), theirs, true).await.0, 404);
        assert_eq!(report(organiser.clone(), unfinished, true).await.0, 400);
        let reviewer = app.token(Role::Reviewer).await;
        assert_eq!(report(reviewer, ours, true).await.0, 403);
        let (status, body) = report(organiser, ours, false).await;
        assert_eq!(status, 200);
        assert!(body["reported_at"].is_null());
    }
);

db_test!(
    a_judge_scores_only_the_categories_assigned_to_them,
    |app| async move {
        let (_, author) = voter(&app, "assigned-author").await;
        let slogan = approved_work(&app, author, "slogan").await;
        let essay = approved_work(&app, author, "essay").await;
        app.set_phase(Some("showcase")).await;
        // Created by an admin through the API, limited to essays.
        let res = app
            .client
            .post(app.url("/api/v1/admin/tokens"))
            .bearer_auth(crate::helpers::ADMIN_TOKEN)
            .json(&json!({"role": "judge", "categories": ["essay"], "label": "征文评委"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
        let judge = res.json::<Value>().await.unwrap()["token"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(
            score(&app, &judge, essay, json!({"score": 88})).await.0,
            200
        );
        let (status, body) = score(&app, &judge, slogan, json!({"score": 88})).await;
        assert_eq!(
            (status, body["error"]["code"].clone()),
            (403, json!("forbidden"))
        );
        let unknown = app
            .client
            .post(app.url("/api/v1/admin/tokens"))
            .bearer_auth(crate::helpers::ADMIN_TOKEN)
            .json(&json!({"role": "judge", "categories": ["hologram"]}))
            .send()
            .await
            .unwrap();
        assert_eq!(unknown.status(), 400);
    }
);
