use serde_json::{Value, json};
use wangju::{domain::role::Role, service::admin_tokens};

use crate::{db_test, helpers::TestApp};

/// A stored file of the person, as an upload would leave it.
async fn file(app: &TestApp, owner: i64, kind: &str, seconds: Option<i32>) -> i64 {
    use sea_orm::{ActiveModelTrait, Set};
    entity::upload::ActiveModel {
        owner_id: Set(owner),
        kind: Set(kind.to_owned()),
        state: Set(entity::upload::UploadState::Ready),
        mime: Set(match kind {
            "video" => "video/mp4",
            "audio" => "audio/mpeg",
            _ => "image/png",
        }
        .to_owned()),
        size_bytes: Set(1000),
        storage_key: Set(Some(format!("test/{}.bin", uuid::Uuid::new_v4().simple()))),
        width: Set(None),
        height: Set(None),
        duration_ms: Set(seconds.map(|s| s * 1000)),
        wechat_media_id: Set(None),
        error: Set(None),
        created_at: Set(chrono::Utc::now()),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .unwrap()
    .id
}

/// A listing page's JSON (the request must succeed).
async fn listing(app: &TestApp, path: &str) -> Value {
    let res = app.client.get(app.url(path)).send().await.unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

/// The work ids of a listing page, in order.
fn item_ids(page: &Value) -> Vec<i64> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["id"].as_i64().unwrap())
        .collect()
}

/// Submits a slogan, approves it and sets its vote count directly; returns its id.
async fn approved_slogan_with_votes(
    app: &TestApp,
    author: &str,
    reviewer: &str,
    body: &str,
    votes: i32,
) -> i64 {
    use sea_orm::{ActiveModelTrait, EntityTrait, Set};
    let (_, work) = app
        .submit(author, json!({"category": "slogan", "body": body}))
        .await;
    let id = work["id"].as_i64().unwrap();
    app.approve(reviewer, id).await;
    let found = entity::work::Entity::find_by_id(id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let mut changes: entity::work::ActiveModel = found.into();
    changes.vote_count = Set(votes);
    changes.update(&app.db).await.unwrap();
    id
}

db_test!(
    every_category_rule_of_the_seed_passes_and_fails_through_the_api,
    |app| async move {
        app.set_phase(Some("open")).await;
        let (token, me) = app.login("author").await;
        let four_min = file(&app, me, "video", Some(240)).await;
        let two_min = file(&app, me, "video", Some(120)).await;
        let four_min_ad = file(&app, me, "video", Some(200)).await;
        let six_min_ad = file(&app, me, "video", Some(360)).await;
        let photo = file(&app, me, "image", None).await;
        let photo2 = file(&app, me, "image", None).await;
        let cases = [
            // 网言网语：30字以内
            (json!({"category": "slogan", "body": "网".repeat(30)}), None),
            (
                json!({"category": "slogan", "body": "网".repeat(31)}),
                Some("body"),
            ),
            // 读书征文：300—800字
            (
                json!({"category": "essay", "title": "读书", "body": "字".repeat(300)}),
                None,
            ),
            (
                json!({"category": "essay", "title": "读书", "body": "字".repeat(801)}),
                Some("body"),
            ),
            // 微视频：3—5分钟
            (
                json!({"category": "micro_video", "title": "劳动者", "upload_ids": [four_min]}),
                None,
            ),
            (
                json!({"category": "micro_video", "title": "劳动者", "upload_ids": [two_min]}),
                Some("media"),
            ),
            // 公益广告视频：3—5分钟
            (
                json!({"category": "psa", "title": "公益", "upload_ids": [four_min_ad]}),
                None,
            ),
            (
                json!({"category": "psa", "title": "公益", "upload_ids": [six_min_ad]}),
                Some("media"),
            ),
            // 画面故事：须是真人真事
            (
                json!({"category": "photo_story", "body": "一线工人", "upload_ids": [photo], "true_story": true}),
                None,
            ),
            (
                json!({"category": "photo_story", "body": "一线工人", "upload_ids": [photo2]}),
                Some("true_story"),
            ),
        ];
        for (body, broken) in cases {
            let (status, answer) = app.submit(&token, body.clone()).await;
            match broken {
                None => {
                    assert_eq!(status, 201, "{body} → {answer}");
                    assert!(answer["code"].as_str().unwrap().starts_with("WY-"));
                    assert_eq!(
                        answer["status"], "checking",
                        "mini-program authors are checked by WeChat"
                    );
                }
                Some(field) => {
                    assert_eq!(status, 422, "{body} → {answer}");
                    assert_eq!(answer["error"]["code"], "invalid_work");
                    assert!(
                        answer["error"]["fields"][field].is_string(),
                        "{body} → {answer}"
                    );
                }
            }
        }
    }
);

db_test!(
    submissions_are_refused_outside_the_open_phase_and_with_foreign_files,
    |app| async move {
        let (token, _) = app.login("late").await;
        let (status, answer) = app
            .submit(&token, json!({"category": "slogan", "body": "网络文明"}))
            .await;
        assert_eq!(status, 403);
        assert_eq!(answer["error"]["code"], "phase_closed");
        app.set_phase(Some("open")).await;
        let (_, other) = app.login("someone-else").await;
        let theirs = file(&app, other, "image", None).await;
        let (status, answer) = app.submit(&token,
        json!({"category": "photo_story", "body": "借来的", "upload_ids": [theirs], "true_story": true}),
    )
    .await;
        assert_eq!(status, 422);
        assert!(answer["error"]["fields"]["upload_ids"].is_string());
        let (status, _) = app
            .submit(&token, json!({"category": "hologram", "body": "x"}))
            .await;
        assert_eq!(status, 422);
    }
);

db_test!(
    only_approved_works_are_listed_and_paging_is_stable_under_inserts,
    |app| async move {
        app.set_phase(Some("open")).await;
        let (token, _) = app.login("prolific").await;
        let reviewer = app.reviewer().await;
        let mut ids = Vec::new();
        for i in 0..5 {
            let (_, work) = app
                .submit(
                    &token,
                    json!({"category": "slogan", "body": format!("标语{i}")}),
                )
                .await;
            ids.push(work["id"].as_i64().unwrap());
        }
        for id in &ids[..4] {
            app.approve(&reviewer, *id).await;
        }
        let page = |cursor: Option<String>| {
            let mut query = vec![
                ("category", "slogan".to_owned()),
                ("sort", "new".to_owned()),
                ("limit", "2".to_owned()),
            ];
            if let Some(c) = cursor {
                query.push(("cursor", c));
            }
            let req = app.client.get(app.url("/api/v1/works")).query(&query);
            async move { req.send().await.unwrap().json::<Value>().await.unwrap() }
        };
        let first = page(None).await;
        let seen = item_ids(&first);
        assert_eq!(seen, vec![ids[3], ids[2]]);
        // A new approved work arrives between pages: the next page neither repeats nor skips.
        let (_, newer) = app
            .submit(&token, json!({"category": "slogan", "body": "插队的"}))
            .await;
        app.approve(&reviewer, newer["id"].as_i64().unwrap()).await;
        let second = page(first["next_cursor"].as_str().map(str::to_owned)).await;
        let seen = item_ids(&second);
        assert_eq!(seen, vec![ids[1], ids[0]]);
        let third = page(second["next_cursor"].as_str().map(str::to_owned)).await;
        assert!(third["items"].as_array().unwrap().is_empty());
        assert!(third["next_cursor"].is_null());
        // The unapproved work is not shown to others, but is to its author.
        let hidden = app
            .client
            .get(app.url(&format!("/api/v1/works/{}", ids[4])))
            .send()
            .await
            .unwrap();
        assert_eq!(hidden.status(), 404);
        let own = app
            .client
            .get(app.url(&format!("/api/v1/works/{}", ids[4])))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(own.status(), 200);
    }
);

db_test!(
    hot_lists_by_votes_and_a_bad_cursor_is_a_400,
    |app| async move {
        app.set_phase(Some("open")).await;
        let (token, _) = app.login("hot").await;
        let reviewer = app.reviewer().await;
        let mut ids = Vec::new();
        for (i, votes) in [3, 9, 5].into_iter().enumerate() {
            let body = format!("热{i}");
            ids.push(approved_slogan_with_votes(&app, &token, &reviewer, &body, votes).await);
        }
        let hot = listing(&app, "/api/v1/works?sort=hot").await;
        assert_eq!(item_ids(&hot), vec![ids[1], ids[2], ids[0]]);
        let bad = app
            .client
            .get(app.url("/api/v1/works?sort=hot&cursor=garbage"))
            .send()
            .await
            .unwrap();
        assert_eq!(bad.status(), 400);
    }
);

db_test!(
    hot_pages_walk_ties_by_id_without_gaps_or_repeats,
    |app| async move {
        app.set_phase(Some("open")).await;
        let (token, _) = app.login("ties").await;
        let reviewer = app.reviewer().await;
        let mut works = Vec::new();
        for (i, votes) in [2, 2, 7, 2, 0, 7].into_iter().enumerate() {
            let body = format!("平{i}");
            let id = approved_slogan_with_votes(&app, &token, &reviewer, &body, votes).await;
            works.push((votes, id));
        }
        // Votes first, then the newer work first among equals.
        let mut expected = works.clone();
        expected.sort_by(|a, b| b.cmp(a));
        let expected: Vec<i64> = expected.into_iter().map(|(_, id)| id).collect();
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..10 {
            let mut url = "/api/v1/works?sort=hot&category=slogan&limit=2".to_owned();
            if let Some(c) = &cursor {
                url.push_str(&format!("&cursor={c}"));
            }
            let page = listing(&app, &url).await;
            seen.extend(item_ids(&page));
            match page["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => break,
            }
        }
        assert_eq!(seen, expected);
    }
);

/// The cached listing: a page is reused within its time-to-live, other pages are not.
async fn listing_pages_are_reused_within_their_time_to_live(backend: crate::helpers::Backend) {
    let Some(app) =
        crate::helpers::spawn_app_with(backend, &[("listing_cache_ms", json!(60_000))]).await
    else {
        return;
    };
    app.set_phase(Some("open")).await;
    let (token, _) = app.login("cached").await;
    let reviewer = app.reviewer().await;
    let first = approved_slogan_with_votes(&app, &token, &reviewer, "缓存一", 1).await;
    assert_eq!(
        item_ids(&listing(&app, "/api/v1/works?sort=hot").await),
        vec![first]
    );
    let second = approved_slogan_with_votes(&app, &token, &reviewer, "缓存二", 5).await;
    // The same page within its time-to-live: the copy loaded before the second work.
    assert_eq!(
        item_ids(&listing(&app, "/api/v1/works?sort=hot").await),
        vec![first]
    );
    // Another page (another limit) is loaded fresh.
    assert_eq!(
        item_ids(&listing(&app, "/api/v1/works?sort=hot&limit=10").await),
        vec![second, first]
    );
    // A bad cursor is still refused, not cached.
    let bad = app
        .client
        .get(app.url("/api/v1/works?sort=hot&cursor=garbage"))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
}

crate::on_both_databases!(
    listing_pages_are_cached,
    listing_pages_are_reused_within_their_time_to_live
);

db_test!(
    an_author_withdraws_before_approval_and_sees_every_channel,
    |app| async move {
        use crate::push::{Mode, send, text};
        app.set_phase(Some("open")).await;
        let (token, _) = app.login("wanda").await;
        // The same person writes in chat: the simulator's follower "wanda" links to login "wanda".
        send(
            &app,
            &text(
                "wanda",
                5151,
                chrono::Utc::now().timestamp(),
                "网言网语 聊天里投的",
            ),
            Mode::Plain,
        )
        .await;
        let (_, work) = app
            .submit(
                &token,
                json!({"category": "slogan", "body": "小程序里投的"}),
            )
            .await;
        let id = work["id"].as_i64().unwrap();
        let mine = || async {
            app.client
                .get(app.url("/api/v1/me/works"))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        };
        app.eventually("both channels' works are the caller's", || async {
            mine().await["items"].as_array().unwrap().len() == 2
        })
        .await;
        let withdrawn = app
            .client
            .delete(app.url(&format!("/api/v1/works/{id}")))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(withdrawn.status(), 200);
        assert_eq!(
            withdrawn.json::<Value>().await.unwrap()["status"],
            "withdrawn"
        );
        // Someone else cannot, and an approved work cannot be withdrawn.
        let (other, _) = app.login("mallory").await;
        let (_, theirs) = app
            .submit(&other, json!({"category": "slogan", "body": "别人的"}))
            .await;
        let theirs = theirs["id"].as_i64().unwrap();
        let res = app
            .client
            .delete(app.url(&format!("/api/v1/works/{theirs}")))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 404);
        app.approve(&app.reviewer().await, theirs).await;
        let res = app
            .client
            .delete(app.url(&format!("/api/v1/works/{theirs}")))
            .bearer_auth(&other)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403);
    }
);

db_test!(
    reviewers_decide_and_unit_organisers_see_only_their_unit,
    |app| async move {
        use crate::push::{Mode, event, send, text};
        app.set_phase(Some("open")).await;
        let now = chrono::Utc::now().timestamp();
        // Two workers of two units, both in chat (no mini program: straight to human review).
        send(
            &app,
            &event("oHuangpu", now, "subscribe", Some("qrscene_huangpu")),
            Mode::Plain,
        )
        .await;
        send(
            &app,
            &event("oXuhui", now, "subscribe", Some("qrscene_xuhui")),
            Mode::Plain,
        )
        .await;
        send(
            &app,
            &text("oHuangpu", 1, now, "网言网语 黄浦的标语"),
            Mode::Plain,
        )
        .await;
        send(
            &app,
            &text("oXuhui", 2, now, "网言网语 徐汇的标语"),
            Mode::Plain,
        )
        .await;
        let huangpu = wangju::repo::units::find_by_code(&app.db, "huangpu")
            .await
            .unwrap()
            .unwrap();
        let unit_token = admin_tokens::issue(&app.db, Role::Unit, Some(huangpu.id), "u")
            .await
            .unwrap();
        let listed: Value = app
            .client
            .get(app.url("/api/v1/admin/works?status=pending_review"))
            .bearer_auth(unit_token.reveal())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let items = listed["items"].as_array().unwrap();
        assert_eq!(items.len(), 1);
        assert_eq!(items[0]["author"]["unit"], "黄浦区总工会");
        // A unit organiser cannot decide; a reviewer can, and a rejection needs a reason.
        let id = items[0]["id"].as_i64().unwrap();
        let review = |token: String, body: Value| {
            let req = app
                .client
                .post(app.url(&format!("/api/v1/admin/works/{id}/review")))
                .bearer_auth(token)
                .json(&body);
            async move { req.send().await.unwrap() }
        };
        assert_eq!(
            review(
                unit_token.reveal().to_owned(),
                json!({"decision": "approve"})
            )
            .await
            .status(),
            403
        );
        let reviewer = app.reviewer().await;
        assert_eq!(
            review(reviewer.clone(), json!({"decision": "reject"}))
                .await
                .status(),
            400
        );
        let rejected = review(
            reviewer.clone(),
            json!({"decision": "reject", "reason": "与主题无关"}),
        )
        .await;
        assert_eq!(rejected.status(), 200);
        let body: Value = rejected.json().await.unwrap();
        assert_eq!(body["status"], "rejected");
        assert_eq!(body["moderation_note"], "与主题无关");
        let all: Value = app
            .client
            .get(app.url("/api/v1/admin/works"))
            .bearer_auth(&reviewer)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            all["items"].as_array().unwrap().len(),
            2,
            "a reviewer sees every unit"
        );
    }
);
