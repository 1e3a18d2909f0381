use std::time::Duration;

use entity::{person, work};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};

use crate::on_both_databases;
use crate::{
    db_test,
    helpers::{Backend, TestApp, spawn_app_with},
    push::{self, Mode, content, event, image, open_reply, send, text},
};

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

async fn works(app: &TestApp) -> Vec<work::Model> {
    work::Entity::find()
        .order_by_asc(work::Column::Id)
        .all(&app.db)
        .await
        .unwrap()
}

async fn pending_pushes(app: &TestApp) -> u64 {
    wangju::repo::inbox::count(&app.db, entity::push_inbox::InboxState::Pending)
        .await
        .unwrap()
}

async fn receipts(app: &TestApp) -> u64 {
    entity::callback_receipt::Entity::find()
        .count(&app.db)
        .await
        .unwrap()
}

db_test!(
    url_verification_echoes_echostr_only_with_the_right_signature,
    |app| async move {
        let (ts, nonce) = ("1714036504", "1514711492");
        let good = wangju::wechat::signature::sign(&[push::TOKEN, ts, nonce]);
        let res = app
            .client
            .get(app.url("/wechat/callback"))
            .query(&[
                ("signature", good.as_str()),
                ("timestamp", ts),
                ("nonce", nonce),
                ("echostr", "4375120948345356249"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(res.text().await.unwrap(), "4375120948345356249");
        let bad = app
            .client
            .get(app.url("/wechat/callback"))
            .query(&[
                ("signature", "0000"),
                ("timestamp", ts),
                ("nonce", nonce),
                ("echostr", "x"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(bad.status(), 403);
    }
);

db_test!(
    a_bad_signature_gets_403_and_nothing_is_stored,
    |app| async move {
        app.set_phase(Some("open")).await;
        let xml = text("oUser1", 1001, now(), "网言网语 文明上网");
        let (mut query, body) = push::wrap(&xml, Mode::Plain, push::MP_APPID);
        query[0].1 = "f".repeat(40);
        let res = app
            .client
            .post(app.url("/wechat/callback"))
            .query(&query)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403);
        assert!(works(&app).await.is_empty());
        assert_eq!(receipts(&app).await, 0);
    }
);

db_test!(
    a_malformed_body_gets_400_and_nothing_is_stored,
    |app| async move {
        let (status, _) = send(&app, "<xml><ToUserName>broken", Mode::Plain).await;
        assert_eq!(status, 400);
        let (status, _) = send(&app, "<xml><MsgType>text</MsgType></xml>", Mode::Plain).await;
        assert_eq!(status, 400, "missing base fields");
        assert_eq!(receipts(&app).await, 0);
    }
);

db_test!(
    a_keyword_gets_its_configured_reply_in_plain_mode,
    |app| async move {
        let (status, body) = send(&app, &text("oUser1", 1, now(), "投票"), Mode::Plain).await;
        assert_eq!(status, 200);
        assert!(
            body.contains("<ToUserName><![CDATA[oUser1]]></ToUserName>"),
            "{body}"
        );
        assert!(body.contains(&format!(
            "<FromUserName><![CDATA[{}]]></FromUserName>",
            push::GH
        )));
        assert!(content(&body).contains("每人每天每件作品可投一票"));
        let (_, help) = send(&app, &text("oUser1", 2, now(), "随便说点什么"), Mode::Plain).await;
        assert!(content(&help).contains("网言网语"));
    }
);

db_test!(
    a_slogan_in_chat_becomes_a_work_with_a_code,
    |app| async move {
        app.set_phase(Some("open")).await;
        let (status, body) = send(
            &app,
            &text("oWorker", 2001, now(), "网言网语 文明上网，从我做起😀"),
            Mode::Plain,
        )
        .await;
        assert_eq!(status, 200);
        let stored = works(&app).await;
        assert_eq!(stored.len(), 1);
        let work = &stored[0];
        assert_eq!(work.category, "slogan");
        assert_eq!(work.body, "文明上网，从我做起😀");
        assert_eq!(work.channel, "mp");
        // No mini-program identity yet: WeChat cannot check the text, a person reviews it.
        assert_eq!(work.status, "pending_review");
        let code = work.code.clone().unwrap();
        assert!(code.starts_with("WY-"));
        assert!(content(&body).contains(&code), "{body}");
    }
);

db_test!(
    a_slogan_over_thirty_characters_is_refused_saying_why,
    |app| async move {
        app.set_phase(Some("open")).await;
        let long = "网".repeat(31);
        let (_, body) = send(
            &app,
            &text("oWorker", 2002, now(), &format!("网言网语 {long}")),
            Mode::Plain,
        )
        .await;
        assert!(content(&body).contains("不能超过30字，现在31字"), "{body}");
        assert!(works(&app).await.is_empty());
    }
);

db_test!(
    submissions_outside_the_open_phase_are_refused,
    |app| async move {
        app.set_phase(Some("showcase")).await;
        let (_, body) = send(
            &app,
            &text("oWorker", 2003, now(), "网言网语 文明上网"),
            Mode::Plain,
        )
        .await;
        assert!(content(&body).contains("暂不接收投稿"), "{body}");
        assert!(content(&body).contains("展示评选"), "{body}");
        assert!(works(&app).await.is_empty());
    }
);

async fn encrypted_modes(backend: Backend) {
    let Some(app) = spawn_app_with(backend, &[("mp_aes_key", push::AES_KEY.into())]).await else {
        return;
    };
    app.set_phase(Some("open")).await;
    for (i, mode) in [Mode::Safe, Mode::Compatible].into_iter().enumerate() {
        let msg_id = 3000 + i64::try_from(i).unwrap();
        let (status, body) = send(
            &app,
            &text("oSecure", msg_id, now(), "网言网语 网络安全靠大家"),
            mode,
        )
        .await;
        assert_eq!(status, 200, "{mode:?}: {body}");
        assert!(
            body.contains("<Encrypt>"),
            "{mode:?}: reply is encrypted: {body}"
        );
        let inner = open_reply(&body, push::MP_APPID);
        assert!(content(&inner).contains("编号 WY-"), "{inner}");
    }
    assert_eq!(works(&app).await.len(), 2);
    // In aes mode the msg_signature is what counts: a wrong one is refused.
    let xml = text("oSecure", 3999, now(), "投票");
    let (mut query, body) = push::wrap(&xml, Mode::Safe, push::MP_APPID);
    for (key, value) in &mut query {
        if key == "msg_signature" {
            *value = "0".repeat(40);
        }
    }
    let res = app
        .client
        .post(app.url("/wechat/callback"))
        .query(&query)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
}

on_both_databases!(
    safe_and_compatible_modes_decrypt_and_encrypt,
    encrypted_modes
);

db_test!(photos_then_a_caption_make_a_photo_story, |app| async move {
    app.set_phase(Some("open")).await;
    let t = now();
    let (_, first) = send(&app, &image("oPhoto", 4001, t, "MEDIA_A"), Mode::Plain).await;
    assert!(content(&first).contains("第 1 张"), "{first}");
    let (_, second) = send(&app, &image("oPhoto", 4002, t, "MEDIA_B"), Mode::Plain).await;
    assert!(content(&second).contains("第 2 张"), "{second}");
    let (_, done) = send(
        &app,
        &text("oPhoto", 4003, t + 1, "画面故事 凌晨四点的地铁检修"),
        Mode::Plain,
    )
    .await;
    assert!(content(&done).contains("最美画面故事"), "{done}");
    let stored = works(&app).await;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].category, "photo_story");
    assert!(stored[0].true_story);
    let media = entity::work_media::Entity::find()
        .filter(entity::work_media::Column::WorkId.eq(stored[0].id))
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(media.len(), 2);
    // The media are copied from WeChat (the sandbox here) in the background, and served by us.
    app.eventually("both photos copied", || async {
        wangju::repo::jobs::count(&app.db, "fetch_wechat_media", entity::job::JobState::Done)
            .await
            .unwrap()
            == 2
    })
    .await;
    for medium in &media {
        let upload = entity::upload::Entity::find_by_id(medium.upload_id)
            .one(&app.db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(upload.state, entity::upload::UploadState::Ready);
        assert_eq!(upload.mime, "image/png");
        let key = upload.storage_key.unwrap();
        let served = app
            .client
            .get(app.url(&format!("/media/{key}")))
            .send()
            .await
            .unwrap();
        assert_eq!(served.status(), 200);
        assert_eq!(served.headers()["content-type"], "image/png");
    }
    // The draft is used up: a caption alone now asks for photos.
    let (_, again) = send(
        &app,
        &text("oPhoto", 4004, t + 2, "画面故事 再来一个"),
        Mode::Plain,
    )
    .await;
    assert!(content(&again).contains("请先发送照片"), "{again}");
});

db_test!(
    the_welcome_names_the_unit_of_the_qr_scene,
    |app| async move {
        let (_, body) = send(
            &app,
            &event("oFollower", now(), "subscribe", Some("qrscene_huangpu")),
            Mode::Plain,
        )
        .await;
        let text = content(&body);
        assert!(text.contains("欢迎关注"), "{text}");
        assert!(text.contains("黄浦区总工会"), "{text}");
        let person = person::Entity::find()
            .filter(person::Column::MpOpenid.eq("oFollower"))
            .one(&app.db)
            .await
            .unwrap()
            .unwrap();
        assert!(person.following);
        let unit = wangju::repo::units::find(&app.db, person.unit_id.unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(unit.code, "huangpu");
        // Unfollowing is recorded; the person and their works stay.
        let (status, body) = send(
            &app,
            &event("oFollower", now() + 1, "unsubscribe", None),
            Mode::Plain,
        )
        .await;
        assert_eq!((status, body.as_str()), (200, "success"));
        let person = person::Entity::find_by_id(person.id)
            .one(&app.db)
            .await
            .unwrap()
            .unwrap();
        assert!(!person.following);
        assert!(person.unfollowed_at.is_some());
    }
);

db_test!(a_scan_by_a_follower_attributes_the_unit, |app| async move {
    let (_, body) = send(
        &app,
        &event("oScanner", now(), "SCAN", Some("jiaotong")),
        Mode::Plain,
    )
    .await;
    assert!(content(&body).contains("交通运输工会"), "{body}");
});

db_test!(my_works_lists_status_and_votes, |app| async move {
    app.set_phase(Some("open")).await;
    let (_, empty) = send(&app, &text("oMine", 5000, now(), "我的作品"), Mode::Plain).await;
    assert!(content(&empty).contains("还没有投稿"), "{empty}");
    send(
        &app,
        &text("oMine", 5001, now(), "网言网语 争做中国好网民"),
        Mode::Plain,
    )
    .await;
    let (_, listed) = send(&app, &text("oMine", 5002, now(), "我的作品"), Mode::Plain).await;
    let listed = content(&listed);
    assert!(listed.contains("共 1 件"), "{listed}");
    assert!(listed.contains("待人工审核"), "{listed}");
    assert!(listed.contains("0票"), "{listed}");
    // The menu key does the same.
    let (_, clicked) = send(
        &app,
        &event("oMine", now(), "CLICK", Some("MY_WORKS")),
        Mode::Plain,
    )
    .await;
    assert!(content(&clicked).contains("共 1 件"));
});

db_test!(
    unknown_types_and_events_are_answered_success,
    |app| async move {
        let odd = format!(
            "<xml><ToUserName><![CDATA[{}]]></ToUserName><FromUserName><![CDATA[oX]]></FromUserName>\
         <CreateTime>{}</CreateTime><MsgType><![CDATA[hologram]]></MsgType><MsgId>1</MsgId></xml>",
            push::GH,
            now()
        );
        assert_eq!(
            send(&app, &odd, Mode::Plain).await,
            (200, "success".to_owned())
        );
        let (status, body) = send(
            &app,
            &event("oX", now(), "VIEW", Some("https://example.invalid/")),
            Mode::Plain,
        )
        .await;
        assert_eq!((status, body.as_str()), (200, "success"));
    }
);

db_test!(
    three_concurrent_retries_make_one_work_and_identical_replies,
    |app| async move {
        app.set_phase(Some("open")).await;
        let xml = text("oRetry", 6001, now(), "网言网语 一次就好");
        let (a, b, c) = tokio::join!(
            send(&app, &xml, Mode::Plain),
            send(&app, &xml, Mode::Plain),
            send(&app, &xml, Mode::Plain)
        );
        assert_eq!(works(&app).await.len(), 1);
        let code = works(&app).await[0].code.clone().unwrap();
        for (status, body) in [a, b, c] {
            assert_eq!(status, 200);
            assert!(content(&body).contains(&code), "{body}");
        }
        // And a late retry after all of them.
        let (_, late) = send(&app, &xml, Mode::Plain).await;
        assert!(content(&late).contains(&code));
        assert_eq!(works(&app).await.len(), 1);
    }
);

db_test!(
    a_restart_between_retries_still_makes_one_work,
    |app| async move {
        app.set_phase(Some("open")).await;
        let xml = text("oRestart", 7001, now(), "网言网语 重启也不重复");
        let (_, first) = send(&app, &xml, Mode::Plain).await;
        let restarted = app.another(&[]).await;
        drop(app);
        let (_, second) = send(&restarted, &xml, Mode::Plain).await;
        assert_eq!(content(&first), content(&second));
        assert_eq!(works(&restarted).await.len(), 1);
    }
);

db_test!(
    two_instances_on_one_database_make_one_work,
    |app| async move {
        app.set_phase(Some("open")).await;
        let other = app.another(&[]).await;
        let xml = text("oTwo", 8001, now(), "网言网语 两个实例一个作品");
        let (a, b, c, d) = tokio::join!(
            send(&app, &xml, Mode::Plain),
            send(&other, &xml, Mode::Plain),
            send(&app, &xml, Mode::Plain),
            send(&other, &xml, Mode::Plain)
        );
        assert_eq!(works(&app).await.len(), 1);
        let replies: Vec<String> = [a, b, c, d]
            .into_iter()
            .map(|(_, body)| content(&body))
            .collect();
        assert!(replies.windows(2).all(|w| w[0] == w[1]), "{replies:?}");
    }
);

/// Makes `openid` a person known to the mini program too, so WeChat can check their works.
async fn link_mini_program(app: &TestApp, openid: &str) {
    use sea_orm::{ActiveModelTrait, Set};
    send(app, &event(openid, now(), "subscribe", None), Mode::Plain).await;
    let person = person::Entity::find()
        .filter(person::Column::MpOpenid.eq(openid))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let mut linked: person::ActiveModel = person.into();
    linked.miniapp_openid = Set(Some(format!("mini-{openid}")));
    linked.update(&app.db).await.unwrap();
}

async fn status_of(app: &TestApp, id: i64) -> String {
    work::Entity::find_by_id(id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .status
}

db_test!(
    content_security_rejects_risky_text_and_holds_the_rest_for_review,
    |app| async move {
        app.set_phase(Some("open")).await;
        link_mini_program(&app, "oChecked").await;
        send(
            &app,
            &text("oChecked", 9001, now(), "网言网语 文明上网"),
            Mode::Plain,
        )
        .await;
        send(
            &app,
            &text("oChecked", 9002, now(), "网言网语 这是违规测试"),
            Mode::Plain,
        )
        .await;
        let stored = works(&app).await;
        assert_eq!(stored.len(), 2);
        let (good, bad) = (stored[0].id, stored[1].id);
        app.eventually("both checked", || async {
            status_of(&app, good).await != "checking" && status_of(&app, bad).await != "checking"
        })
        .await;
        assert_eq!(
            status_of(&app, good).await,
            "pending_review",
            "auto_approve is off"
        );
        assert_eq!(status_of(&app, bad).await, "rejected");
    }
);

async fn media_check_flips_the_right_work(backend: Backend) {
    let Some((app, fake)) = crate::helpers::spawn_app_with_fake_wechat(backend).await else {
        return;
    };
    app.set_phase(Some("open")).await;
    for (openid, base) in [("oCheckA", 9100), ("oCheckB", 9200)] {
        link_mini_program(&app, openid).await;
        send(&app, &image(openid, base, now(), "MEDIA_OK"), Mode::Plain).await;
        send(
            &app,
            &text(openid, base + 1, now(), "画面故事 班组风采"),
            Mode::Plain,
        )
        .await;
    }
    let stored = works(&app).await;
    assert_eq!(stored.len(), 2);
    // The worker copies the photos, checks the text, and submits the photos to WeChat.
    app.eventually("both photos submitted for checking", || async {
        entity::work_media::Entity::find()
            .filter(entity::work_media::Column::CheckTraceId.is_not_null())
            .count(&app.db)
            .await
            .unwrap()
            == 2
    })
    .await;
    assert_eq!(fake.count("/wxa/media_check_async"), 2);
    assert_eq!(fake.count("/wxa/msg_sec_check"), 2);
    let (first, second) = (stored[0].id, stored[1].id);
    let trace_of = |work_id: i64| {
        let db = app.db.clone();
        async move {
            entity::work_media::Entity::find()
                .filter(entity::work_media::Column::WorkId.eq(work_id))
                .one(&db)
                .await
                .unwrap()
                .unwrap()
                .check_trace_id
                .unwrap()
        }
    };
    let verdict = |trace: &str, suggest: &str| {
        format!(
            r#"<xml><ToUserName><![CDATA[gh_mini]]></ToUserName><FromUserName><![CDATA[oSystem]]></FromUserName><CreateTime>{}</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[wxa_media_check]]></Event><appid><![CDATA[{}]]></appid><trace_id><![CDATA[{trace}]]></trace_id><version>2</version><result><suggest><![CDATA[{suggest}]]></suggest><label>20002</label></result><errcode>0</errcode><errmsg><![CDATA[ok]]></errmsg></xml>"#,
            now(),
            crate::fake_wechat::FAKE_MINIAPP_APPID
        )
    };
    let risky = verdict(&trace_of(second).await, "risky");
    let (status, body) = push::send_to(
        &app,
        "/wechat/miniapp/callback",
        &risky,
        Mode::Plain,
        crate::fake_wechat::FAKE_MINIAPP_APPID,
    )
    .await;
    assert_eq!((status, body.as_str()), (200, "success"));
    assert_eq!(
        status_of(&app, first).await,
        "checking",
        "the other work is untouched"
    );
    assert_eq!(status_of(&app, second).await, "rejected");
    let pass = verdict(&trace_of(first).await, "pass");
    push::send_to(
        &app,
        "/wechat/miniapp/callback",
        &pass,
        Mode::Plain,
        crate::fake_wechat::FAKE_MINIAPP_APPID,
    )
    .await;
    assert_eq!(
        status_of(&app, first).await,
        "pending_review",
        "auto_approve is off"
    );
}

on_both_databases!(
    a_media_check_result_flips_the_right_work_and_only_it,
    media_check_flips_the_right_work
);

db_test!(
    a_photo_that_cannot_be_fetched_is_marked_failed,
    |app| async move {
        app.set_phase(Some("open")).await;
        send(
            &app,
            &image("oMissing", 9300, now(), "missing-media"),
            Mode::Plain,
        )
        .await;
        app.eventually("the copy gave up", || async {
            wangju::repo::jobs::count(&app.db, "fetch_wechat_media", entity::job::JobState::Failed)
                .await
                .unwrap()
                == 1
        })
        .await;
        let upload = entity::upload::Entity::find()
            .one(&app.db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(upload.state, entity::upload::UploadState::Failed);
        assert!(upload.error.unwrap().contains("40007"));
    }
);

/// Holds SQLite's write lock from a connection of the test's own until `release` fires.
async fn hold_sqlite_lock(
    url: String,
) -> (
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
) {
    use sea_orm::{ConnectionTrait, Database};
    let (locked_tx, locked_rx) = tokio::sync::oneshot::channel::<()>();
    let (release_tx, release_rx) = tokio::sync::oneshot::channel::<()>();
    let holder = tokio::spawn(async move {
        let conn = Database::connect(&url).await.unwrap();
        conn.execute_unprepared("BEGIN IMMEDIATE").await.unwrap();
        locked_tx.send(()).unwrap();
        let _ = release_rx.await;
        conn.execute_unprepared("COMMIT").await.unwrap();
    });
    locked_rx.await.unwrap();
    (release_tx, holder)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_that_cannot_be_stored_in_time_gets_503_and_its_retry_is_acted_on() {
    // SQLite: while another connection holds the write lock, nothing can be stored.
    let Some(app) = spawn_app_with(Backend::Sqlite, &[("callback_budget_ms", 300.into())]).await
    else {
        return;
    };
    app.set_phase(Some("open")).await;
    let (release, holder) = hold_sqlite_lock(app.database_url.clone()).await;
    let xml = text("oSlow", 9901, now(), "网言网语 慢也要及时回复");
    let started = std::time::Instant::now();
    let (status, _) = send(&app, &xml, Mode::Plain).await;
    let waited = started.elapsed();
    assert_eq!(status, 503, "never `success` for a push that is not stored");
    assert!(waited < Duration::from_secs(3), "answered after {waited:?}");
    release.send(()).unwrap();
    holder.await.unwrap();
    assert!(works(&app).await.is_empty());
    // WeChat's retry is stored and acted on at once.
    let (status, body) = send(&app, &xml, Mode::Plain).await;
    assert_eq!(status, 200);
    assert!(content(&body).contains("编号 WY-"), "{body}");
    assert_eq!(works(&app).await.len(), 1);
    assert_eq!(pending_pushes(&app).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_stored_but_slow_to_act_on_is_answered_in_time_and_replied_later() {
    use sea_orm::{ConnectionTrait, Database, TransactionTrait};
    // PostgreSQL: a lock on `works` alone lets the push be stored but not acted on in time.
    let Some(app) = spawn_app_with(Backend::Postgres, &[("callback_budget_ms", 300.into())]).await
    else {
        return;
    };
    app.set_phase(Some("open")).await;
    let locker = Database::connect(&app.database_url).await.unwrap();
    let txn = locker.begin().await.unwrap();
    txn.execute_unprepared("LOCK TABLE works IN EXCLUSIVE MODE")
        .await
        .unwrap();
    let xml = text("oSlow", 9902, now(), "网言网语 慢也要及时回复");
    let started = std::time::Instant::now();
    let (status, body) = send(&app, &xml, Mode::Plain).await;
    let waited = started.elapsed();
    assert_eq!((status, body.as_str()), (200, "success"));
    assert!(waited < Duration::from_secs(3), "answered after {waited:?}");
    assert_eq!(
        pending_pushes(&app).await,
        1,
        "acknowledged only once stored"
    );
    txn.commit().await.unwrap();
    // The work is still made, once, and its reply goes out later by customer-service message.
    app.eventually("the late reply is sent", || async {
        wangju::repo::jobs::count(&app.db, "send_chat_text", entity::job::JobState::Done)
            .await
            .unwrap()
            == 1
    })
    .await;
    assert_eq!(works(&app).await.len(), 1);
    let sent = app.wechat.sandbox_handle().unwrap().sent();
    assert!(
        sent.iter()
            .any(|m| m.touser == "oSlow" && m.body.to_string().contains("编号 WY-")),
        "{sent:?}"
    );
    assert_eq!(pending_pushes(&app).await, 0);
    // A late retry gets the stored reply and makes nothing new.
    let (status, body) = send(&app, &xml, Mode::Plain).await;
    assert_eq!(status, 200);
    assert!(content(&body).contains("编号 WY-"), "{body}");
    assert_eq!(works(&app).await.len(), 1);
}

async fn replay_window(backend: Backend) {
    let Some(app) = spawn_app_with(backend, &[("callback_replay_window_s", 300.into())]).await
    else {
        return;
    };
    let xml = text("oReplay", 1, now(), "投票");
    let (query, body) = push::wrap_at(&xml, Mode::Plain, push::MP_APPID, now() - 3600);
    let res = app
        .client
        .post(app.url("/wechat/callback"))
        .query(&query)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403, "an hour-old push is refused");
    let (status, _) = send(&app, &xml, Mode::Plain).await;
    assert_eq!(status, 200, "a fresh one is answered");
}

on_both_databases!(the_replay_window_refuses_old_timestamps, replay_window);

db_test!(
    an_oversized_push_gets_413_and_nothing_is_stored,
    |app| async move {
        app.set_phase(Some("open")).await;
        let huge = text(
            "oHuge",
            1,
            now(),
            &format!("网言网语 {}", "长".repeat(100_000)),
        );
        let (status, body) = send(&app, &huge, Mode::Plain).await;
        assert_eq!(status, 413, "{body}");
        assert!(works(&app).await.is_empty());
        assert_eq!(receipts(&app).await, 0);
    }
);

async fn slow_wechat_does_not_delay_the_reply(backend: Backend) {
    let Some((app, fake)) = crate::helpers::spawn_app_with_fake_wechat(backend).await else {
        return;
    };
    app.set_phase(Some("open")).await;
    fake.script(
        "/cgi-bin/media/get",
        crate::fake_wechat::Behaviour::Delay(Duration::from_secs(10)),
        5,
    );
    let started = std::time::Instant::now();
    let (status, body) = send(
        &app,
        &image("oSlowWx", 9500, now(), "MEDIA_SLOW"),
        Mode::Plain,
    )
    .await;
    let waited = started.elapsed();
    assert_eq!(status, 200);
    assert!(content(&body).contains("第 1 张"), "{body}");
    assert!(waited < Duration::from_secs(2), "answered after {waited:?}");
    // The copy is under way in the background.
    app.eventually("the download started", || async {
        fake.count("/cgi-bin/media/get") >= 1
    })
    .await;
}

on_both_databases!(
    a_slow_wechat_does_not_delay_the_callback_reply,
    slow_wechat_does_not_delay_the_reply
);

/// An app whose campaign publishes works that pass every content check, open for submissions.
async fn auto_approving_app(backend: Backend) -> Option<TestApp> {
    let dir = tempfile::tempdir().unwrap();
    let campaign =
        crate::votes::edited_campaign(&dir, &[("auto_approve = false", "auto_approve = true")]);
    // The file is read once, at start.
    let app = spawn_app_with(backend, &[("campaign", campaign.into())]).await?;
    app.set_phase(Some("open")).await;
    Some(app)
}

async fn review_and_auto_approve(backend: Backend) {
    let Some(app) = auto_approving_app(backend).await else {
        return;
    };
    link_mini_program(&app, "oAuto").await;
    send(
        &app,
        &text("oAuto", 9601, now(), "网言网语 文明上网"),
        Mode::Plain,
    )
    .await;
    send(
        &app,
        &text("oAuto", 9602, now(), "网言网语 请 review-test 一下"),
        Mode::Plain,
    )
    .await;
    let stored = works(&app).await;
    let (clean, doubtful) = (stored[0].id, stored[1].id);
    app.eventually("both checked", || async {
        status_of(&app, clean).await != "checking" && status_of(&app, doubtful).await != "checking"
    })
    .await;
    assert_eq!(
        status_of(&app, clean).await,
        "approved",
        "auto_approve publishes a pass at once"
    );
    assert_eq!(
        status_of(&app, doubtful).await,
        "pending_review",
        "review waits for a person"
    );
}

on_both_databases!(
    with_auto_approve_a_pass_publishes_and_a_review_waits,
    review_and_auto_approve
);

async fn sandbox_photo_verdicts(backend: Backend) {
    let Some(app) = auto_approving_app(backend).await else {
        return;
    };
    link_mini_program(&app, "oSandboxPhoto").await;
    let t = now();
    send(
        &app,
        &image("oSandboxPhoto", 9701, t, "MEDIA_S"),
        Mode::Plain,
    )
    .await;
    send(
        &app,
        &text("oSandboxPhoto", 9702, t + 1, "画面故事 夜班的灯"),
        Mode::Plain,
    )
    .await;
    let work = works(&app).await[0].id;
    // The simulator answers media_check_async later with a signed wxa_media_check push to the
    // mini program's callback, as WeChat does; nothing in moderation knows it is the sandbox.
    app.eventually("the verdict push arrived", || async {
        status_of(&app, work).await == "approved"
    })
    .await;
    let media = entity::work_media::Entity::find()
        .filter(entity::work_media::Column::WorkId.eq(work))
        .all(&app.db)
        .await
        .unwrap();
    assert!(media[0].check_trace_id.is_some());
    assert_eq!(media[0].check_suggest.as_deref(), Some("pass"));
    let verdicts = entity::callback_receipt::Entity::find()
        .filter(entity::callback_receipt::Column::DedupKey.contains("wxa_media_check"))
        .count(&app.db)
        .await
        .unwrap();
    assert_eq!(
        verdicts, 1,
        "the verdict came through the push endpoint, once"
    );
}

on_both_databases!(
    the_sandbox_answers_a_media_check_with_a_verdict_push,
    sandbox_photo_verdicts
);

async fn drafts_expire(backend: Backend) {
    let Some(app) = spawn_app_with(backend, &[("photo_draft_ttl_s", 1.into())]).await else {
        return;
    };
    app.set_phase(Some("open")).await;
    send(
        &app,
        &image("oForgetful", 9701, now(), "MEDIA_OLD"),
        Mode::Plain,
    )
    .await;
    // The caption comes after the draft's time is up: the old photo is not used.
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    let (_, late) = send(
        &app,
        &text("oForgetful", 9702, now(), "画面故事 迟到的说明"),
        Mode::Plain,
    )
    .await;
    assert!(content(&late).contains("请先发送照片"), "{late}");
    assert!(works(&app).await.is_empty());
}

on_both_databases!(an_expired_photo_draft_is_not_used, drafts_expire);

async fn window_closed(backend: Backend) {
    let Some((app, fake)) = crate::helpers::spawn_app_with_fake_wechat(backend).await else {
        return;
    };
    fake.script(
        "/cgi-bin/message/custom/send",
        crate::fake_wechat::Behaviour::Errcode(45015),
        5,
    );
    let job = wangju::domain::job::Job::SendChatText {
        openid: "oGone".to_owned(),
        text: "迟到的回复".to_owned(),
    };
    let now = chrono::Utc::now();
    wangju::repo::jobs::enqueue(&app.db, &job, now, now)
        .await
        .unwrap();
    app.eventually("the closed window ends the job", || async {
        wangju::repo::jobs::count(&app.db, "send_chat_text", entity::job::JobState::Failed)
            .await
            .unwrap()
            == 1
    })
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        fake.count("/cgi-bin/message/custom/send"),
        1,
        "45015 is logged, not retried"
    );
}

on_both_databases!(a_closed_service_window_is_not_retried, window_closed);
