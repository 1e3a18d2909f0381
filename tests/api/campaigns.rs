//! Several campaigns in one database: files in a folder, each with its own phase, codes, vote
//! cap and awards; the archive of a removed or edited file stays readable.

use sea_orm::{ConnectionTrait, Database, EntityTrait, Statement};
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, fresh_database, init, spawn_app_on, spawn_app_with};
use crate::on_both_databases;
use crate::push::{self, Mode};

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

const SHIPPED: &str = include_str!("../../wechat-config/campaigns/shwm-2017.toml");

/// The shipped campaign as next year's: another key and prefix, dates a year later, and
/// `edits` on top.
fn next_year(edits: &[(&str, &str)]) -> String {
    let mut text = SHIPPED
        .replace("key = \"shwm-2017\"", "key = \"shwm-2018\"")
        .replace(
            "name = \"网聚职工正能量 争做中国好网民\"",
            "name = \"2018 网聚职工正能量\"",
        )
        .replace("code_prefix = \"WY\"", "code_prefix = \"WB\"")
        .replace("\"2017-", "\"2018-");
    for (from, to) in edits {
        assert!(text.contains(from), "no `{from}` to edit");
        text = text.replace(from, to);
    }
    text
}

/// A campaigns folder holding these (file name, text) pairs.
fn folder(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    dir
}

/// Settings that run the campaigns of `dir` (the single-file test default is dropped).
fn campaigns_of(dir: &tempfile::TempDir, default: Option<&str>) -> Vec<(&'static str, Value)> {
    let mut settings = vec![
        ("campaign", Value::Null),
        ("campaigns", dir.path().display().to_string().into()),
    ];
    if let Some(key) = default {
        settings.push(("default_campaign", key.into()));
    }
    settings
}

async fn get(app: &TestApp, path: &str) -> (u16, Value) {
    let res = app.client.get(app.url(path)).send().await.unwrap();
    (res.status().as_u16(), res.json().await.unwrap_or_default())
}

async fn admin(app: &TestApp, method: reqwest::Method, path: &str, body: Value) -> (u16, Value) {
    let res = app
        .client
        .request(method, app.url(path))
        .bearer_auth(&app.admin_token)
        .json(&body)
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.json().await.unwrap_or_default())
}

async fn set_phase(app: &TestApp, key: &str, phase: &str) {
    let path = format!("/api/v1/admin/campaigns/{key}/phase");
    let (status, body) = admin(app, reqwest::Method::PUT, &path, json!({ "phase": phase })).await;
    assert_eq!(
        (status, body["phase"].as_str()),
        (200, Some(phase)),
        "{body}"
    );
}

fn slogan(campaign: Option<&str>, text: &str) -> Value {
    let mut body = json!({"category": "slogan", "body": text});
    if let Some(key) = campaign {
        body["campaign"] = key.into();
    }
    body
}

async fn two_campaigns_at_once(backend: Backend) {
    let dir = folder(&[
        ("shwm-2017.toml", SHIPPED),
        ("shwm-2018.toml", &next_year(&[])),
    ]);
    let Some(app) = spawn_app_with(backend, &campaigns_of(&dir, Some("shwm-2017"))).await else {
        return;
    };
    set_phase(&app, "shwm-2017", "closed").await;
    set_phase(&app, "shwm-2018", "open").await;

    let (status, list) = get(&app, "/api/v1/campaigns").await;
    assert_eq!(status, 200, "{list}");
    let keys: Vec<(&str, &str)> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["key"].as_str().unwrap(), c["phase"].as_str().unwrap()))
        .collect();
    assert_eq!(
        keys,
        [("shwm-2018", "open"), ("shwm-2017", "closed")],
        "newest first"
    );
    let (status, one) = get(&app, "/api/v1/campaigns/shwm-2018").await;
    assert_eq!((status, one["key"].as_str()), (200, Some("shwm-2018")));
    assert_eq!(one["categories"].as_array().unwrap().len(), 14);
    let (_, default) = get(&app, "/api/v1/campaign").await;
    assert_eq!(
        default["key"], "shwm-2017",
        "WANGJU_DEFAULT_CAMPAIGN names the default"
    );

    let (token, _) = app.login("two-campaigns").await;
    // The default campaign is closed; naming the open one submits there.
    let (status, body) = app.submit(&token, slogan(None, "旧活动已结束")).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("phase_closed"))
    );
    let (status, body) = app
        .submit(&token, slogan(Some("shwm-2017"), "旧活动"))
        .await;
    assert_eq!(status, 403, "{body}");
    let (status, first) = app
        .submit(&token, slogan(Some("shwm-2018"), "新一年的标语"))
        .await;
    assert_eq!(status, 201, "{first}");
    assert_eq!(
        (first["campaign"].as_str(), first["code"].as_str()),
        (Some("shwm-2018"), Some("WB-0001"))
    );
    assert_eq!(first["category_name"], "最In网言网语");

    // Codes count per campaign: the first work of the old one is WY-0001 too.
    set_phase(&app, "shwm-2017", "open").await;
    let (status, old) = app.submit(&token, slogan(None, "今年的标语")).await;
    assert_eq!(status, 201, "{old}");
    assert_eq!(
        (old["campaign"].as_str(), old["code"].as_str()),
        (Some("shwm-2017"), Some("WY-0001"))
    );
    let (_, second) = app
        .submit(&token, slogan(Some("shwm-2018"), "第二条"))
        .await;
    assert_eq!(second["code"], "WB-0002");

    // A chat keyword goes to the campaign taking submissions: only 2018 now.
    set_phase(&app, "shwm-2017", "showcase").await;
    let openid = "o-two-campaigns";
    let (status, reply) = push::send(
        &app,
        &push::text(openid, 9001, now(), "网言网语 聊天投稿"),
        Mode::Plain,
    )
    .await;
    assert_eq!(status, 200, "{reply}");
    assert!(reply.contains("WB-0003"), "{reply}");
    // 我的作品 lists the sender's works of every campaign, newest first.
    set_phase(&app, "shwm-2017", "open").await;
    set_phase(&app, "shwm-2018", "showcase").await;
    let (_, reply) = push::send(
        &app,
        &push::text(openid, 9002, now(), "网言网语 今年也投"),
        Mode::Plain,
    )
    .await;
    assert!(reply.contains("WY-0002"), "{reply}");
    let (_, mine) = push::send(
        &app,
        &push::text(openid, 9003, now(), "我的作品"),
        Mode::Plain,
    )
    .await;
    let (newest, older) = (mine.find("WY-0002"), mine.find("WB-0003"));
    assert!(
        newest.is_some() && older.is_some() && newest < older,
        "{mine}"
    );

    // Listings and rankings name their campaign; an unknown one is 404, never the default.
    let (status, page) = get(&app, "/api/v1/works?campaign=shwm-2018").await;
    assert_eq!(
        (status, page["items"].as_array().map(Vec::len)),
        (200, Some(0)),
        "none approved"
    );
    for path in [
        "/api/v1/campaigns/shwm-2099",
        "/api/v1/works?campaign=shwm-2099",
        "/api/v1/rankings?campaign=shwm-2099",
        "/api/v1/awards?campaign=shwm-2099",
    ] {
        let (status, body) = get(&app, path).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (404, Some("not_found")),
            "{path}"
        );
    }
    let (status, body) = app
        .submit(&token, slogan(Some("shwm-2099"), "无此活动"))
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("not_found")),
        "{body}"
    );
    for (method, path) in [
        (
            reqwest::Method::PUT,
            "/api/v1/admin/campaigns/shwm-2099/phase",
        ),
        (
            reqwest::Method::GET,
            "/api/v1/admin/stats?campaign=shwm-2099",
        ),
        (
            reqwest::Method::GET,
            "/api/v1/admin/works?campaign=shwm-2099",
        ),
        (
            reqwest::Method::GET,
            "/api/v1/admin/export/works.csv?campaign=shwm-2099",
        ),
    ] {
        let (status, _) = admin(&app, method, path, json!({"phase": "open"})).await;
        assert_eq!(status, 404, "{path}");
    }
}

on_both_databases!(
    two_campaigns_with_different_phases_are_served_at_once,
    two_campaigns_at_once
);

/// `token` votes for `work`: status and body.
async fn vote(app: &TestApp, token: &str, work: i64) -> (u16, Value) {
    let res = app
        .client
        .post(app.url(&format!("/api/v1/works/{work}/votes")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.json().await.unwrap_or_default())
}

/// (work, place, prize) of an award list.
fn placings(list: &Value) -> Vec<(i64, i64, String)> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            let prize = i["prize"].as_str().unwrap().to_owned();
            (
                i["work_id"].as_i64().unwrap(),
                i["place"].as_i64().unwrap(),
                prize,
            )
        })
        .collect()
}

async fn caps_and_awards_apart(backend: Backend) {
    let dir = folder(&[
        ("shwm-2017.toml", SHIPPED),
        (
            "shwm-2018.toml",
            &next_year(&[
                (
                    "votes_per_person_per_day = 10",
                    "votes_per_person_per_day = 2",
                ),
                (
                    "flag_accounts_per_ip_per_day = 1000",
                    "flag_accounts_per_ip_per_day = 1",
                ),
            ]),
        ),
    ]);
    let Some(app) = spawn_app_with(backend, &campaigns_of(&dir, None)).await else {
        return;
    };
    let (_, default) = get(&app, "/api/v1/campaign").await;
    assert_eq!(
        default["key"], "shwm-2018",
        "without a setting the latest is the default"
    );
    set_phase(&app, "shwm-2017", "open").await;
    set_phase(&app, "shwm-2018", "open").await;
    let reviewer = app.reviewer().await;
    let (author, _) = app.login("author").await;
    let mut old = Vec::new();
    let mut new = Vec::new();
    for i in 0..3 {
        old.push(
            app.submit_and_approve(
                &author,
                &reviewer,
                slogan(Some("shwm-2017"), &format!("旧{i}")),
            )
            .await,
        );
        new.push(
            app.submit_and_approve(
                &author,
                &reviewer,
                slogan(Some("shwm-2018"), &format!("新{i}")),
            )
            .await,
        );
    }
    set_phase(&app, "shwm-2017", "showcase").await;
    set_phase(&app, "shwm-2018", "showcase").await;

    // Another account votes from the same address, in the other campaign: 2018 allows one
    // account per address a day, and counts only its own votes.
    let (neighbour, _) = app.login("same-address").await;
    let (status, body) = vote(&app, &neighbour, old[1]).await;
    assert_eq!(status, 200, "{body}");
    let (voter, _) = app.login("voter").await;
    for (i, work) in new.iter().take(2).enumerate() {
        let (status, body) = vote(&app, &voter, *work).await;
        assert_eq!(body["vote_count"], 1, "counted, not flagged: {body}");
        assert_eq!(
            (status, body["votes_left_today"].as_u64()),
            (200, Some(1 - i as u64)),
            "{body}"
        );
    }
    let (status, body) = vote(&app, &voter, new[2]).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (429, Some("daily_vote_limit")),
        "{body}"
    );
    // The other campaign's cap is untouched.
    let (status, body) = vote(&app, &voter, old[0]).await;
    assert_eq!(
        (status, body["votes_left_today"].as_u64()),
        (200, Some(9)),
        "{body}"
    );
    let (_, ranking) = get(&app, "/api/v1/rankings?campaign=shwm-2017").await;
    assert_eq!(ranking["items"][0]["work_id"], old[0]);
    assert_eq!(
        ranking["items"].as_array().unwrap().len(),
        3,
        "only its own works"
    );

    // Awards of one campaign do not touch the other's.
    let compute = |key: &str| format!("/api/v1/admin/campaigns/{key}/awards/compute");
    let (status, a) = admin(
        &app,
        reqwest::Method::POST,
        &compute("shwm-2018"),
        Value::Null,
    )
    .await;
    assert_eq!(status, 200, "{a}");
    let (status, b) = admin(
        &app,
        reqwest::Method::POST,
        &compute("shwm-2017"),
        Value::Null,
    )
    .await;
    assert_eq!(status, 200, "{b}");
    let (_, again) = admin(
        &app,
        reqwest::Method::POST,
        &compute("shwm-2017"),
        Value::Null,
    )
    .await;
    assert_eq!(
        placings(&again),
        placings(&b),
        "recomputing gives the same placings"
    );
    let (status, kept) = admin(
        &app,
        reqwest::Method::GET,
        "/api/v1/admin/campaigns/shwm-2018/awards",
        Value::Null,
    )
    .await;
    assert_eq!(
        (status, &kept),
        (200, &a),
        "the other campaign's awards stay as computed"
    );
    let works_of = |list: &Value| -> Vec<i64> {
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["work_id"].as_i64().unwrap())
            .collect()
    };
    assert!(
        works_of(&a).iter().all(|w| new.contains(w)) && !works_of(&a).is_empty(),
        "{a}"
    );
    assert!(
        works_of(&b).iter().all(|w| old.contains(w)) && !works_of(&b).is_empty(),
        "{b}"
    );
    assert!(
        a["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["campaign"] == "shwm-2018")
    );
    let (_, by_query) = admin(
        &app,
        reqwest::Method::GET,
        "/api/v1/admin/awards?campaign=shwm-2017",
        Value::Null,
    )
    .await;
    assert_eq!(by_query, again);
}

on_both_databases!(
    daily_caps_and_awards_are_per_campaign,
    caps_and_awards_apart
);

async fn archive_stays_readable(backend: Backend) {
    let dir = folder(&[
        ("shwm-2017.toml", SHIPPED),
        ("shwm-2018.toml", &next_year(&[])),
    ]);
    let Some(app) = spawn_app_with(backend, &campaigns_of(&dir, Some("shwm-2017"))).await else {
        return;
    };
    set_phase(&app, "shwm-2017", "open").await;
    set_phase(&app, "shwm-2018", "open").await;
    let reviewer = app.reviewer().await;
    let (author, _) = app.login("archivist").await;
    let old = app
        .submit_and_approve(&author, &reviewer, slogan(None, "旧标语"))
        .await;
    let gone = app
        .submit_and_approve(
            &author,
            &reviewer,
            slogan(Some("shwm-2018"), "被移除的活动"),
        )
        .await;

    // Next start: 2017's slogan category is renamed and loses its rule's old bound, 2018's
    // file is gone.
    let edited = SHIPPED.replace(
        "key = \"slogan\"\nname = \"最In网言网语\"",
        "key = \"motto\"\nname = \"网络金句\"",
    );
    assert!(edited != SHIPPED, "the slogan category was renamed");
    let dir2 = folder(&[("shwm-2017.toml", &edited)]);
    let restarted = app.another(&campaigns_of(&dir2, None)).await;
    let (status, work) = get(&restarted, &format!("/api/v1/works/{old}")).await;
    assert_eq!(status, 200, "{work}");
    assert_eq!(
        (work["category"].as_str(), work["category_name"].as_str()),
        (Some("slogan"), Some("最In网言网语"))
    );
    let (_, page) = get(&restarted, "/api/v1/works").await;
    assert_eq!(page["items"][0]["id"], old, "still listed");

    let (status, work) = get(&restarted, &format!("/api/v1/works/{gone}")).await;
    assert_eq!(status, 200, "{work}");
    assert_eq!(
        (work["campaign"].as_str(), work["category_name"].as_str()),
        (Some("shwm-2018"), Some("最In网言网语"))
    );
    let (_, page) = get(&restarted, "/api/v1/works?campaign=shwm-2018").await;
    assert_eq!(page["items"][0]["id"], gone);
    let (status, removed) = get(&restarted, "/api/v1/campaigns/shwm-2018").await;
    assert_eq!(
        (status, removed["phase"].as_str()),
        (200, Some("closed")),
        "read-only"
    );
    let (token, _) = restarted.login("late").await;
    let (status, body) = restarted
        .submit(&token, slogan(Some("shwm-2018"), "还能投吗"))
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("phase_closed"))
    );
    let (status, _) = admin(
        &restarted,
        reqwest::Method::PUT,
        "/api/v1/admin/campaigns/shwm-2018/phase",
        json!({"phase": "open"}),
    )
    .await;
    assert_eq!(status, 403, "a campaign without its file stays closed");
    let (status, _) = admin(
        &restarted,
        reqwest::Method::POST,
        "/api/v1/admin/campaigns/shwm-2018/awards/compute",
        Value::Null,
    )
    .await;
    assert_eq!(status, 403);
    // The edited campaign takes new works under its new rule.
    let (status, body) = restarted
        .submit(
            &token,
            json!({"campaign": "shwm-2017", "category": "motto", "body": "新名字"}),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (201, Some("WY-0002")),
        "{body}"
    );

    // A new file may not number its works with the prefix of a campaign the database has.
    let next = next_year(&[])
        .replace("key = \"shwm-2018\"", "key = \"shwm-2019\"")
        .replace("\"2018-", "\"2019-");
    let dir3 = folder(&[("shwm-2017.toml", &edited), ("shwm-2019.toml", &next)]);
    let settings =
        crate::helpers::test_settings(&restarted.database_url, &campaigns_of(&dir3, None));
    let Err(err) = wangju::startup::Application::build(settings).await else {
        panic!("a second campaign numbering with WB must not start");
    };
    let text = err.to_string();
    assert!(
        text.contains("WB") && text.contains("shwm-2018") && text.contains("shwm-2019.toml"),
        "{text}"
    );
}

on_both_databases!(
    an_edited_or_removed_campaign_file_leaves_its_works_readable,
    archive_stays_readable
);

/// The statements of a database from before several campaigns: one of each campaign-scoped row.
const OLD_ROWS: &[&str] = &[
    "INSERT INTO units (id, code, name) VALUES (1, 'huangpu', '黄浦区总工会')",
    "INSERT INTO people (id, miniapp_openid, nickname, unit_id, following, created_at, updated_at) \
     VALUES (1, 'o-author', '老作者', 1, false, '2017-05-01T00:00:00Z', '2017-05-01T00:00:00Z'), \
            (2, 'o-voter', '老投票人', NULL, false, '2017-05-01T00:00:00Z', '2017-05-01T00:00:00Z')",
    "INSERT INTO works (id, code, category, title, body, author_id, unit_id, channel, status, true_story, \
       vote_count, created_at, updated_at, approved_at) \
     VALUES (7, 'WY-0007', 'slogan', '', '老标语', 1, 1, 'miniapp', 'approved', false, 1, \
       '2017-05-02T00:00:00Z', '2017-05-02T00:00:00Z', '2017-05-02T00:00:00Z')",
    "INSERT INTO votes (work_id, person_id, category, campaign_day, ip, user_agent, created_at, status, counted_key) \
     VALUES (7, 2, 'slogan', '2026-12-01', '127.0.0.1', 'old', '2017-09-02T00:00:00Z', 'counted', '7|2|2026-12-01')",
    "INSERT INTO vote_days (person_id, campaign_day, used) VALUES (2, '2026-12-01', 3)",
    "INSERT INTO admin_tokens (id, token_hash, role, label, created_at) \
     VALUES (50, 'old-judge-hash', 'judge', 'old judge', '2017-09-01T00:00:00Z')",
    "INSERT INTO scores (work_id, judge_id, score, comment, created_at, updated_at) \
     VALUES (7, 50, 88, '好', '2017-10-01T00:00:00Z', '2017-10-01T00:00:00Z')",
    "INSERT INTO awards (category, work_id, place, prize, final_score, vote_score, jury_mean, vote_count, computed_at) \
     VALUES ('slogan', 7, 1, 'first', 92.8, 100.0, 88.0, 1, '2017-11-01T00:00:00Z')",
    "INSERT INTO campaign_overrides (key, value, updated_at) VALUES ('phase', 'showcase', '2017-09-01T00:00:00Z')",
];

async fn upgrade(backend: Backend) {
    init();
    let Some((url, _guard)) = fresh_database(backend).await else {
        return;
    };
    let db = Database::connect(&url).await.unwrap();
    // Every migration but the one that brought campaigns.
    let before =
        u32::try_from(<migration::Migrator as migration::MigratorTrait>::migrations().len() - 1)
            .unwrap();
    <migration::Migrator as migration::MigratorTrait>::up(&db, Some(before))
        .await
        .unwrap();
    for sql in OLD_ROWS {
        db.execute_raw(Statement::from_string(db.get_database_backend(), *sql))
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    if backend == Backend::Postgres {
        for table in ["units", "people", "works", "admin_tokens"] {
            db.execute_unprepared(&format!(
                "SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))"
            ))
            .await
            .unwrap();
        }
    }
    db.close().await.unwrap();

    let app = spawn_app_on(&url, &[]).await;
    let (status, work) = get(&app, "/api/v1/works/7").await;
    assert_eq!(status, 200, "{work}");
    assert_eq!(
        (
            work["campaign"].as_str(),
            work["code"].as_str(),
            work["vote_count"].as_i64()
        ),
        (Some("shwm-2017"), Some("WY-0007"), Some(1))
    );
    let (_, campaign) = get(&app, "/api/v1/campaign").await;
    assert_eq!(campaign["phase"], "showcase", "the manual phase stays");
    let (status, awards) = admin(
        &app,
        reqwest::Method::GET,
        "/api/v1/admin/campaigns/shwm-2017/awards",
        Value::Null,
    )
    .await;
    assert_eq!(
        (status, awards["items"][0]["work_id"].as_i64()),
        (200, Some(7)),
        "{awards}"
    );
    let score = entity::score::Entity::find()
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((score.work_id, score.score), (7, 88));
    let votes = entity::vote::Entity::find().all(&app.db).await.unwrap();
    assert_eq!(votes.len(), 1);
    let default_id = app.campaigns.default_campaign().id;
    assert_eq!(votes[0].campaign_id, default_id);
    let days = entity::vote_day::Entity::find().all(&app.db).await.unwrap();
    assert_eq!((days[0].campaign_id, days[0].used), (default_id, 3));
    let rows = entity::campaign::Entity::find().all(&app.db).await.unwrap();
    assert_eq!(
        rows.len(),
        1,
        "the old rows' campaign was adopted, not a second one made"
    );
    assert_eq!(rows[0].key, "shwm-2017");

    // New works number on past the old codes (they were <prefix>-<id>).
    app.set_phase(Some("open")).await;
    let (token, _) = app.login("after-the-upgrade").await;
    let (status, new) = app.submit(&token, slogan(None, "升级后的新作品")).await;
    assert_eq!(
        (status, new["code"].as_str()),
        (201, Some("WY-0008")),
        "{new}"
    );
}

on_both_databases!(
    rows_from_before_campaigns_all_belong_to_the_default_campaign,
    upgrade
);
