use std::{collections::HashSet, time::Duration};

use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, Set};
use serde_json::{Value, json};

use crate::on_both_databases;
use crate::{
    db_test,
    fake_wechat::{Behaviour, FakeWechat},
    helpers::{ADMIN_TOKEN, Backend, TestApp, spawn_app_with_fake_wechat},
};

const TEMPLATE: &str = "tpl_result_notice";
const SEND: &str = "/cgi-bin/message/subscribe/send";

fn valid_data() -> Value {
    json!({"thing1": {"value": "评选结果已公布"}, "phrase2": {"value": "已公布"}, "date3": {"value": "2017-11-01"}})
}

/// `n` people known to the mini program, each holding `credits` for the template.
async fn recipients(app: &TestApp, n: usize, credits: i32) -> Vec<i64> {
    let now = chrono::Utc::now();
    let people = (0..n).map(|i| entity::person::ActiveModel {
        miniapp_openid: Set(Some(format!("mini-{i:05}"))),
        nickname: Set(String::new()),
        following: Set(false),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    });
    for chunk in people.collect::<Vec<_>>().chunks(200) {
        entity::person::Entity::insert_many(chunk.to_vec())
            .exec(&app.db)
            .await
            .unwrap();
    }
    let ids: Vec<i64> = entity::person::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.id)
        .collect();
    let subs = ids.iter().map(|id| entity::subscription::ActiveModel {
        person_id: Set(*id),
        template_id: Set(TEMPLATE.to_owned()),
        credits: Set(credits),
        status: Set("accept".to_owned()),
        updated_at: Set(now),
        ..Default::default()
    });
    for chunk in subs.collect::<Vec<_>>().chunks(200) {
        entity::subscription::Entity::insert_many(chunk.to_vec())
            .exec(&app.db)
            .await
            .unwrap();
    }
    ids
}

async fn broadcast(app: &TestApp, audience: Value) -> i64 {
    let res = app
        .client
        .post(app.url("/api/v1/admin/notifications"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"template": TEMPLATE, "data": valid_data(), "audience": audience, "page": "pages/results/index"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202);
    res.json::<Value>().await.unwrap()["id"].as_i64().unwrap()
}

async fn progress(app: &TestApp, id: i64) -> Value {
    app.client
        .get(app.url(&format!("/api/v1/admin/notifications/{id}")))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn wait_sent(app: &TestApp, id: i64, n: i64) {
    for _ in 0..1200 {
        if progress(app, id).await["counts"]["sent"].as_i64() == Some(n) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("not all sent: {}", progress(app, id).await);
}

/// The recipients of the calls WeChat accepted (the fake answers scripted errors first).
fn accepted(fake: &FakeWechat, failures: usize) -> Vec<String> {
    fake.calls(SEND)
        .into_iter()
        .skip(failures)
        .map(|call| call.json()["touser"].as_str().unwrap().to_owned())
        .collect()
}

fn fast() -> Vec<(&'static str, Value)> {
    vec![("outbox_retry_base_ms", 20.into())]
}

async fn thousand_recipients(backend: Backend) {
    let Some((app, fake)) = crate::helpers::spawn_app_with_fake_wechat_and(backend, &fast()).await
    else {
        return;
    };
    recipients(&app, 1000, 1).await;
    // One in ten sends meets WeChat's "system busy" once.
    fake.script(SEND, Behaviour::Errcode(-1), 100);
    let id = broadcast(&app, json!("subscribers")).await;
    wait_sent(&app, id, 1000).await;
    let sent = accepted(&fake, 100);
    assert_eq!(sent.len(), 1000, "no send twice");
    assert_eq!(
        sent.iter().collect::<HashSet<_>>().len(),
        1000,
        "everyone once"
    );
    let left: Vec<i32> = entity::subscription::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.credits)
        .collect();
    assert!(
        left.iter().all(|c| *c == 0),
        "each accepted send used its credit"
    );
}

on_both_databases!(
    a_broadcast_to_a_thousand_with_busy_errors_sends_each_once,
    thousand_recipients
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_senders_on_one_postgres_never_send_a_row_twice() {
    let Some((app, fake)) =
        crate::helpers::spawn_app_with_fake_wechat_and(Backend::Postgres, &fast()).await
    else {
        return;
    };
    let other = app.another(&[]).await;
    recipients(&app, 400, 1).await;
    let id = broadcast(&app, json!("subscribers")).await;
    wait_sent(&other, id, 400).await;
    let sent = accepted(&fake, 0);
    assert_eq!(sent.len(), 400);
    assert_eq!(sent.iter().collect::<HashSet<_>>().len(), 400);
}

async fn restart_finishes(backend: Backend) {
    let Some((app, fake)) = crate::helpers::spawn_app_with_fake_wechat_and(backend, &fast()).await
    else {
        return;
    };
    recipients(&app, 200, 1).await;
    fake.script(SEND, Behaviour::Delay(Duration::from_millis(5)), 200);
    let id = broadcast(&app, json!("subscribers")).await;
    // Stop the first instance part-way, then start another on the same database.
    for _ in 0..400 {
        if progress(&app, id).await["counts"]["sent"]
            .as_i64()
            .unwrap_or(0)
            >= 20
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let restarted = app.another(&[]).await;
    drop(app);
    wait_sent(&restarted, id, 200).await;
    let sent = accepted(&fake, 0);
    assert_eq!(sent.len(), 200, "none twice");
    assert_eq!(sent.iter().collect::<HashSet<_>>().len(), 200);
}

on_both_databases!(
    a_stopped_sender_leaves_the_rest_to_the_next,
    restart_finishes
);

async fn refusals(backend: Backend) {
    let Some((app, fake)) = spawn_app_with_fake_wechat(backend).await else {
        return;
    };
    let ids = recipients(&app, 1, 1).await;
    fake.script(SEND, Behaviour::Errcode(43101), 1);
    let id = broadcast(&app, json!({"users": ids})).await;
    app.eventually("the refused row ends", || async {
        progress(&app, id).await["counts"]["failed"].as_i64() == Some(1)
    })
    .await;
    let row = entity::outbox::Entity::find()
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert!(row.last_error.unwrap().contains("43101"));
    let sub = entity::subscription::Entity::find()
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(sub.credits, 1, "a refused send uses no credit");
    assert_eq!(fake.count(SEND), 1, "43101 is not retried");
}

on_both_databases!(a_43101_ends_the_row_without_using_the_credit, refusals);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daily_quota_pauses_the_queue() {
    let Some((app, fake)) = spawn_app_with_fake_wechat(Backend::Sqlite).await else {
        return;
    };
    recipients(&app, 3, 1).await;
    fake.script(SEND, Behaviour::Errcode(45009), 1);
    let id = broadcast(&app, json!("subscribers")).await;
    app.eventually("the first send met the quota", || async {
        fake.count(SEND) == 1
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(fake.count(SEND), 1, "nothing more is tried while paused");
    assert_eq!(progress(&app, id).await["counts"]["pending"], 3);
}

db_test!(
    a_sender_that_died_mid_send_never_sends_that_row_again,
    |app| async move {
        let ids = recipients(&app, 1, 1).await;
        let now = chrono::Utc::now();
        // What a crash leaves: claimed, lease run out, outcome unknown. Written in that state
        // at once, so that the running sender cannot take it as pending first.
        entity::outbox::ActiveModel {
            notification_id: Set(None),
            person_id: Set(ids[0]),
            idempotency_key: Set("lost".to_owned()),
            template_id: Set(TEMPLATE.to_owned()),
            payload: Set(json!({"page": null, "data": valid_data()}).to_string()),
            state: Set(entity::outbox::OutboxState::InFlight),
            attempts: Set(1),
            next_attempt_at: Set(now),
            locked_until: Set(Some(now - chrono::Duration::minutes(1))),
            last_error: Set(None),
            sent_at: Set(None),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(&app.db)
        .await
        .unwrap();
        app.eventually("the lost row is written off", || async {
            wangju::repo::outbox::count_in_state(&app.db, entity::outbox::OutboxState::Unknown)
                .await
                .unwrap()
                == 1
        })
        .await;
        let sent = app.wechat.sandbox_handle().unwrap().sent();
        assert!(sent.is_empty(), "not sent again: {sent:?}");
    }
);

db_test!(
    subscriptions_add_credits_and_refusals_stop_sends,
    |app| async move {
        let body: Value = app
            .client
            .post(app.url("/api/v1/auth/login"))
            .json(&json!({"code": "subscriber"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = body["token"].as_str().unwrap();
        let person = body["user"]["id"].as_i64().unwrap();
        let answer = |results: Value| {
            let req = app
                .client
                .post(app.url("/api/v1/subscriptions"))
                .bearer_auth(token)
                .json(&json!({"results": results}));
            async move { req.send().await.unwrap().status().as_u16() }
        };
        assert_eq!(
            answer(json!({TEMPLATE: "accept", "tpl_other": "reject"})).await,
            204
        );
        assert_eq!(answer(json!({TEMPLATE: "accept"})).await, 204);
        let sub = wangju::repo::subscriptions::subscription(&app.db, person, TEMPLATE)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((sub.credits, sub.status.as_str()), (2, "accept"));
        let other = wangju::repo::subscriptions::subscription(&app.db, person, "tpl_other")
            .await
            .unwrap()
            .unwrap();
        assert_eq!((other.credits, other.status.as_str()), (0, "reject"));
        assert_eq!(answer(json!({TEMPLATE: "maybe"})).await, 400);
        assert_eq!(answer(json!({TEMPLATE: "ban"})).await, 204);
        assert!(
            !wangju::repo::subscriptions::take_credit(&app.db, person, TEMPLATE)
                .await
                .unwrap(),
            "ban stops sends"
        );
    }
);

db_test!(
    broadcast_data_is_checked_key_by_key_before_anything_is_queued,
    |app| async move {
        let res = app
        .client
        .post(app.url("/api/v1/admin/notifications"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"template": TEMPLATE, "data": {"thing1": {"value": "好"}, "phrase2": {"value": "这句话太长了"}}, "audience": "subscribers"}))
        .send()
        .await
        .unwrap();
        assert_eq!(res.status(), 422);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"]["code"], "invalid_data");
        assert!(body["error"]["fields"]["phrase2"].is_string());
        assert!(body["error"]["fields"].get("thing1").is_none());
        let bad_audience = app
            .client
            .post(app.url("/api/v1/admin/notifications"))
            .bearer_auth(ADMIN_TOKEN)
            .json(&json!({"template": TEMPLATE, "data": valid_data(), "audience": "everyone"}))
            .send()
            .await
            .unwrap();
        assert_eq!(bad_audience.status(), 400);
        assert!(
            entity::notification::Entity::find()
                .filter(entity::notification::Column::MilestoneKey.is_null())
                .all(&app.db)
                .await
                .unwrap()
                .is_empty()
        );
    }
);

db_test!(
    a_scheduled_broadcast_can_be_cancelled_before_it_is_sent,
    |app| async move {
        recipients(&app, 2, 1).await;
        let later = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
        let res = app
        .client
        .post(app.url("/api/v1/admin/notifications"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"template": TEMPLATE, "data": valid_data(), "audience": "subscribers", "send_at": later}))
        .send()
        .await
        .unwrap();
        let id = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
        assert_eq!(progress(&app, id).await["state"], "scheduled");
        let cancelled: Value = app
            .client
            .delete(app.url(&format!("/api/v1/admin/notifications/{id}")))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(cancelled["state"], "cancelled");
        // Even when its job comes due, nothing is queued.
        wangju::service::notifications::expand(&app.db, id, chrono::Utc::now())
            .await
            .unwrap();
        assert_eq!(
            wangju::repo::outbox::count_in_state(&app.db, entity::outbox::OutboxState::Pending)
                .await
                .unwrap(),
            0
        );
    }
);

db_test!(
    official_account_popup_events_record_consent,
    |app| async move {
        use crate::push::{GH, Mode, send};
        let xml = format!(
            "<xml><ToUserName><![CDATA[{GH}]]></ToUserName><FromUserName><![CDATA[oPopup]]></FromUserName><CreateTime>{}</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[subscribe_msg_popup_event]]></Event><SubscribeMsgPopupEvent><List><TemplateId><![CDATA[{TEMPLATE}]]></TemplateId><SubscribeStatusString><![CDATA[accept]]></SubscribeStatusString><PopupScene>2</PopupScene></List></SubscribeMsgPopupEvent></xml>",
            chrono::Utc::now().timestamp()
        );
        let (status, _) = send(&app, &xml, Mode::Plain).await;
        assert_eq!(status, 200);
        let person = entity::person::Entity::find()
            .filter(entity::person::Column::MpOpenid.eq("oPopup"))
            .one(&app.db)
            .await
            .unwrap()
            .unwrap();
        let sub = wangju::repo::subscriptions::subscription(&app.db, person.id, TEMPLATE)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(sub.credits, 1);
    }
);

db_test!(
    authors_hear_when_their_work_is_approved_if_they_accepted,
    |app| async move {
        app.set_phase(Some("open")).await;
        let login = |code: &'static str| {
            let req = app
                .client
                .post(app.url("/api/v1/auth/login"))
                .json(&json!({"code": code}));
            async move { req.send().await.unwrap().json::<Value>().await.unwrap() }
        };
        let (keen, shy) = (login("keen-author").await, login("shy-author").await);
        let keen_token = keen["token"].as_str().unwrap().to_owned();
        app.client
            .post(app.url("/api/v1/subscriptions"))
            .bearer_auth(&keen_token)
            .json(&json!({"results": {"sandbox_tpl_work_reviewed": "accept"}}))
            .send()
            .await
            .unwrap();
        let reviewer = app.reviewer().await;
        let mut ids = Vec::new();
        for author in [&keen, &shy] {
            let token = author["token"].as_str().unwrap();
            let body = json!({"category": "essay", "title": "读书", "body": "字".repeat(300)});
            let id = app.submit_and_approve(token, &reviewer, body).await;
            ids.push(id);
        }
        app.eventually("the keen author's notice is sent", || async {
            wangju::repo::outbox::count_in_state(&app.db, entity::outbox::OutboxState::Sent)
                .await
                .unwrap()
                == 1
        })
        .await;
        let sent = app.wechat.sandbox_handle().unwrap().sent();
        let notice = sent
            .iter()
            .find(|m| m.path.contains("subscribe/send"))
            .expect("a subscribe message");
        assert_eq!(notice.body["template_id"], "sandbox_tpl_work_reviewed");
        assert_eq!(notice.body["data"]["phrase2"]["value"], "已通过");
        assert_eq!(
            notice.body["page"],
            format!("pages/work/detail?id={}", ids[0])
        );
        let rows = entity::outbox::Entity::find().all(&app.db).await.unwrap();
        assert_eq!(rows.len(), 1, "the author who did not accept gets nothing");
        let _ = shy;
    }
);

db_test!(
    campaign_milestones_are_scheduled_once_and_past_ones_are_not_sent,
    |app| async move {
        let rows = entity::notification::Entity::find()
            .all(&app.db)
            .await
            .unwrap();
        assert_eq!(rows.len(), 2, "both milestones of the shipped file");
        assert!(
            rows.iter()
                .all(|n| n.state == entity::notification::NotificationState::Cancelled),
            "2017's milestones are long past"
        );
        let _again = app.another(&[]).await;
        assert_eq!(
            entity::notification::Entity::find()
                .all(&app.db)
                .await
                .unwrap()
                .len(),
            2,
            "a restart adds none"
        );
    }
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_future_milestone_is_queued_for_its_time() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notifications.toml");
    let soon = (chrono::Utc::now() + chrono::Duration::days(3)).to_rfc3339();
    let text = include_str!("../../wechat-config/notifications.toml")
        .replace("2017-09-01T09:00:00+08:00", &soon);
    std::fs::write(&path, text).unwrap();
    let Some(app) = crate::helpers::spawn_app_with(
        Backend::Sqlite,
        &[("notices", path.to_str().unwrap().into())],
    )
    .await
    else {
        return;
    };
    let opening = entity::notification::Entity::find()
        .filter(entity::notification::Column::MilestoneKey.eq("voting_opens"))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        opening.state,
        entity::notification::NotificationState::Scheduled
    );
    assert_eq!(
        wangju::repo::jobs::count(
            &app.db,
            "expand_notification",
            entity::job::JobState::Queued
        )
        .await
        .unwrap(),
        1
    );
}

async fn template_broadcast(backend: Backend) {
    use crate::push::{GH, Mode, event, send};
    let Some((app, fake)) = spawn_app_with_fake_wechat(backend).await else {
        return;
    };
    let now = chrono::Utc::now().timestamp();
    for openid in ["oFan1", "oFan2", "oFan3"] {
        send(&app, &event(openid, now, "subscribe", None), Mode::Plain).await;
    }
    let res = app
        .client
        .post(app.url("/api/v1/admin/notifications"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"channel": "template", "template": "oa_tpl_notice", "data": {"thing1": {"value": "投票开始"}}, "audience": "subscribers", "page": "pages/index/index"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202);
    let id = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    wait_sent(&app, id, 3).await;
    let calls = fake.calls("/cgi-bin/message/template/send");
    assert_eq!(calls.len(), 3);
    let keys: HashSet<String> = calls
        .iter()
        .map(|c| c.json()["client_msg_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(keys.len(), 3, "each send carries its own client_msg_id");
    // WeChat reports the outcome of each by its msgid.
    let receipts_before = entity::callback_receipt::Entity::find()
        .count(&app.db)
        .await
        .unwrap();
    let rows = entity::outbox::Entity::find().all(&app.db).await.unwrap();
    let (first, second) = (rows[0].wechat_msgid.unwrap(), rows[1].wechat_msgid.unwrap());
    for (msgid, status, t) in [
        (first, "success", now + 1),
        (second, "failed:user block", now + 2),
    ] {
        let xml = format!(
            "<xml><ToUserName><![CDATA[{GH}]]></ToUserName><FromUserName><![CDATA[oFan]]></FromUserName><CreateTime>{t}</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[TEMPLATESENDJOBFINISH]]></Event><MsgID>{msgid}</MsgID><Status><![CDATA[{status}]]></Status></xml>"
        );
        assert_eq!(send(&app, &xml, Mode::Plain).await.0, 200);
    }
    // A repeat of a report (WeChat retries) changes nothing.
    let repeat = format!(
        "<xml><ToUserName><![CDATA[{GH}]]></ToUserName><FromUserName><![CDATA[oFan]]></FromUserName><CreateTime>{}</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[TEMPLATESENDJOBFINISH]]></Event><MsgID>{first}</MsgID><Status><![CDATA[failed:system failed]]></Status></xml>",
        now + 1
    );
    assert_eq!(send(&app, &repeat, Mode::Plain).await.0, 200);
    let counts = progress(&app, id).await["counts"].clone();
    assert_eq!(counts["delivered"], 1);
    assert_eq!(counts["undelivered"], 1);
    assert_eq!(counts["sent"], 1);
    // Delivery reports come by the thousand after a broadcast: they cost no inbox row or receipt.
    let inbox = entity::push_inbox::Entity::find()
        .count(&app.db)
        .await
        .unwrap();
    let receipts = entity::callback_receipt::Entity::find()
        .count(&app.db)
        .await
        .unwrap();
    assert_eq!((inbox, receipts), (0, receipts_before));
}

on_both_databases!(
    a_template_broadcast_reaches_followers_and_records_delivery,
    template_broadcast
);

db_test!(
    winners_hear_of_their_prize_once_when_awards_are_computed_after_closing,
    |app| async move {
        app.set_phase(Some("open")).await;
        let (token, _) = app.login("winner").await;
        app.client
            .post(app.url("/api/v1/subscriptions"))
            .bearer_auth(&token)
            .json(&json!({"results": {"sandbox_tpl_award": "accept"}}))
            .send()
            .await
            .unwrap();
        let reviewer = app.reviewer().await;
        let body = json!({"category": "slogan", "body": "网聚正能量"});
        app.submit_and_approve(&token, &reviewer, body).await;
        app.set_phase(Some("closed")).await;
        for _ in 0..2 {
            let res = app
                .client
                .post(app.url("/api/v1/admin/awards/compute"))
                .bearer_auth(ADMIN_TOKEN)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 200);
        }
        app.eventually("the prize notice is sent", || async {
            wangju::repo::outbox::count_in_state(&app.db, entity::outbox::OutboxState::Sent)
                .await
                .unwrap()
                == 1
        })
        .await;
        let sent = app.wechat.sandbox_handle().unwrap().sent();
        let notice = sent
            .iter()
            .find(|m| m.body["template_id"] == "sandbox_tpl_award")
            .expect("award notice");
        assert_eq!(notice.body["data"]["thing2"]["value"], "一等奖");
        let rows = entity::outbox::Entity::find().all(&app.db).await.unwrap();
        assert_eq!(rows.len(), 1, "computing twice tells the winner once");
    }
);
