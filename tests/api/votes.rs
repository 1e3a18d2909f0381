//! Votes: the ledger, the daily cap, concurrency and aborted transactions.

use std::time::Duration;

use chrono::Utc;
use futures_util::future::join_all;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, Set, TransactionTrait,
};
use serde_json::{Value, json};
use wangju::{
    campaign::Campaign,
    domain::vote::until_next_day,
    service::votes::{self, Ballot},
};

use crate::{db_test, helpers::TestApp};

/// Logs a person in with a sandbox code; their token and id.
pub async fn voter(app: &TestApp, code: &str) -> (String, i64) {
    app.login(code).await
}

/// A work of `author` in `category` with this status, as review would leave it.
pub async fn work_with_status(app: &TestApp, author: i64, category: &str, status: &str) -> i64 {
    let now = Utc::now();
    entity::work::ActiveModel {
        campaign_id: Set(app.campaigns.default_campaign().id),
        code: Set(None),
        category: Set(category.to_owned()),
        title: Set(format!("作品{}", uuid::Uuid::new_v4().simple())),
        body: Set("网络文明".to_owned()),
        author_id: Set(author),
        unit_id: Set(None),
        channel: Set("miniapp".to_owned()),
        status: Set(status.to_owned()),
        true_story: Set(false),
        vote_count: Set(0),
        moderation_note: Set(None),
        text_suggest: Set(None),
        sec_trace_id: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        approved_at: Set(Some(now)),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .unwrap()
    .id
}

/// An approved work.
pub async fn approved_work(app: &TestApp, author: i64, category: &str) -> i64 {
    work_with_status(app, author, category, "approved").await
}

/// Votes over HTTP; status, body and Retry-After. A 503 (SQLite busy) is retried, as the
/// contract tells clients to.
pub async fn vote(app: &TestApp, token: &str, work: i64) -> (u16, Value, Option<u64>) {
    for _ in 0..5 {
        let res = app
            .client
            .post(app.url(&format!("/api/v1/works/{work}/votes")))
            .bearer_auth(token)
            .header("user-agent", "wangju-test")
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        let retry_after = res
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok());
        let body: Value = res.json().await.unwrap();
        if status != 503 {
            return (status, body, retry_after);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("vote on {work} still unavailable after retries");
}

/// The work's `vote_count` and its counted rows.
pub async fn count_and_rows(app: &TestApp, work: i64) -> (i32, u64) {
    let count = entity::work::Entity::find_by_id(work)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .vote_count;
    let rows = entity::vote::Entity::find()
        .filter(entity::vote::Column::WorkId.eq(work))
        .filter(entity::vote::Column::Status.eq("counted"))
        .count(&app.db)
        .await
        .unwrap();
    (count, rows)
}

/// The campaign file the test apps run.
pub fn campaign() -> Campaign {
    Campaign::load(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/wechat-config/campaigns/shwm-2017.toml"
    )))
    .unwrap()
}

db_test!(
    a_vote_counts_once_per_work_per_day_only_in_showcase_and_only_for_approved_works,
    |app| async move {
        let (author_token, author) = voter(&app, "author").await;
        let work = approved_work(&app, author, "slogan").await;
        let pending = work_with_status(&app, author, "slogan", "pending_review").await;
        let (token, _) = voter(&app, "fan").await;

        let (status, body, _) = vote(&app, &token, work).await;
        assert_eq!(
            (status, &body["error"]["code"]),
            (403, &json!("phase_closed"))
        );
        app.set_phase(Some("showcase")).await;

        let res = app
            .client
            .post(app.url(&format!("/api/v1/works/{work}/votes")))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401, "only logged-in people vote");
        let (status, body, _) = vote(&app, &token, pending).await;
        assert_eq!((status, &body["error"]["code"]), (404, &json!("not_found")));
        let (status, body, _) = vote(&app, &token, 999_999).await;
        assert_eq!(status, 404, "{body}");

        let (status, body, _) = vote(&app, &token, work).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            body,
            json!({"work_id": work, "vote_count": 1, "votes_left_today": 9})
        );
        let (status, body, _) = vote(&app, &token, work).await;
        assert_eq!(
            (status, &body["error"]["code"]),
            (409, &json!("already_voted_today"))
        );
        let (status, body, _) = vote(&app, &author_token, work).await;
        assert_eq!((status, body["vote_count"].as_i64()), (200, Some(2)));
        assert_eq!(count_and_rows(&app, work).await, (2, 2));
        assert_eq!(count_and_rows(&app, pending).await, (0, 0));

        let row = entity::vote::Entity::find()
            .filter(entity::vote::Column::WorkId.eq(work))
            .one(&app.db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.category, "slogan");
        assert_eq!(row.user_agent, "wangju-test");
        assert_eq!(row.ip, "127.0.0.1");
        assert_eq!(
            row.campaign_day,
            campaign().local_date(Utc::now()).to_string()
        );
    }
);

db_test!(
    two_hundred_voters_voting_twice_at_once_count_exactly_two_hundred,
    |app| async move {
        app.set_phase(Some("showcase")).await;
        let (_, author) = voter(&app, "popular-author").await;
        let work = approved_work(&app, author, "slogan").await;
        let mut tokens = Vec::new();
        for i in 0..200 {
            tokens.push(voter(&app, &format!("crowd-{i}")).await.0);
        }
        let requests = tokens
            .iter()
            .flat_map(|token| [token, token])
            .map(|token| vote(&app, token, work));
        let answers = join_all(requests).await;
        let ok = answers.iter().filter(|(s, _, _)| *s == 200).count();
        let dup = answers
            .iter()
            .filter(|(s, b, _)| *s == 409 && b["error"]["code"] == "already_voted_today")
            .count();
        assert_eq!(
            (ok, dup),
            (200, 200),
            "{:?}",
            answers.iter().find(|a| a.0 != 200 && a.0 != 409)
        );
        assert_eq!(count_and_rows(&app, work).await, (200, 200));
    }
);

db_test!(
    the_daily_cap_refuses_the_next_vote_until_midnight_in_shanghai,
    |app| async move {
        app.set_phase(Some("showcase")).await;
        let (_, author) = voter(&app, "many-works").await;
        let mut works = Vec::new();
        for _ in 0..11 {
            works.push(approved_work(&app, author, "slogan").await);
        }
        let (token, me) = voter(&app, "eager").await;
        for (i, work) in works.iter().take(10).enumerate() {
            let (status, body, _) = vote(&app, &token, *work).await;
            assert_eq!(status, 200, "{body}");
            assert_eq!(body["votes_left_today"], json!(9 - i));
        }
        let (status, body, retry_after) = vote(&app, &token, works[10]).await;
        assert_eq!(
            (status, &body["error"]["code"]),
            (429, &json!("daily_vote_limit"))
        );
        let campaign = campaign();
        let wait = until_next_day(campaign.timezone, Utc::now()).as_secs();
        let retry_after = retry_after.expect("Retry-After");
        assert!(retry_after.abs_diff(wait) <= 5, "{retry_after} vs {wait}");
        assert_eq!(
            count_and_rows(&app, works[10]).await,
            (0, 0),
            "a refused vote leaves nothing"
        );

        // Just after the next midnight in Shanghai the person has a fresh day.
        let tomorrow = Utc::now() + chrono::Duration::seconds(i64::try_from(wait).unwrap() + 1);
        let ballot = Ballot {
            person_id: me,
            work_id: works[10],
            ip: "127.0.0.1".to_owned(),
            user_agent: "test".to_owned(),
        };
        let cast = votes::cast(&app.db, &app.campaigns, ballot.clone(), tomorrow)
            .await
            .unwrap();
        assert_eq!((cast.vote_count, cast.votes_left_today), (1, 9));
        // And the same work may be voted for again on the new day, once.
        let again = Ballot {
            work_id: works[0],
            ..ballot
        };
        let cast = votes::cast(&app.db, &app.campaigns, again.clone(), tomorrow)
            .await
            .unwrap();
        assert_eq!(cast.vote_count, 2);
        let twice = votes::cast(&app.db, &app.campaigns, again, tomorrow).await;
        assert!(matches!(
            twice,
            Err(wangju::error::AppError::AlreadyVotedToday)
        ));
        assert_eq!(count_and_rows(&app, works[0]).await, (2, 2));
    }
);

db_test!(
    a_transaction_killed_after_writing_the_vote_leaves_count_equal_to_rows,
    |app| async move {
        app.set_phase(Some("showcase")).await;
        let (_, author) = voter(&app, "steady").await;
        let work = approved_work(&app, author, "slogan").await;
        let (token, me) = voter(&app, "unlucky").await;
        let ballot = Ballot {
            person_id: me,
            work_id: work,
            ip: "127.0.0.1".to_owned(),
            user_agent: "test".to_owned(),
        };

        // The process dies before COMMIT: the transaction is dropped with everything written.
        let txn = app.db.begin().await.unwrap();
        let cast = votes::record(&txn, app.campaigns.default_campaign(), &ballot, Utc::now())
            .await
            .unwrap();
        assert_eq!(cast.vote_count, 1, "the transaction saw its own vote");
        drop(txn);
        assert_eq!(count_and_rows(&app, work).await, (0, 0));

        // The task serving the request is aborted while holding the open transaction.
        let db = app.db.clone();
        let campaigns = app.campaigns.clone();
        let (written, was_written) = tokio::sync::oneshot::channel();
        let request = tokio::spawn(async move {
            let txn = db.begin().await.unwrap();
            votes::record(&txn, campaigns.default_campaign(), &ballot, Utc::now())
                .await
                .unwrap();
            let _ = written.send(());
            std::future::pending::<()>().await;
            txn.commit().await.unwrap();
        });
        was_written.await.unwrap();
        request.abort();
        let _ = request.await;
        assert_eq!(count_and_rows(&app, work).await, (0, 0));

        // The person was never counted, so their vote still goes through.
        let (status, body, _) = vote(&app, &token, work).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["votes_left_today"], json!(9));
        assert_eq!(count_and_rows(&app, work).await, (1, 1));
    }
);

db_test!(
    a_voter_merged_away_after_their_session_was_read_is_unauthenticated_and_nothing_counts,
    |app| async move {
        let (_, author) = voter(&app, "kept").await;
        let work = approved_work(&app, author, "slogan").await;
        // A person id with no row: what a session read just before a merge folded its person.
        let ballot = Ballot {
            person_id: i64::from(i32::MAX),
            work_id: work,
            ip: "127.0.0.1".to_owned(),
            user_agent: "test".to_owned(),
        };
        let txn = app.db.begin().await.unwrap();
        let refused =
            votes::record(&txn, app.campaigns.default_campaign(), &ballot, Utc::now()).await;
        assert!(
            matches!(refused, Err(wangju::error::AppError::Unauthenticated)),
            "{refused:?}"
        );
        txn.rollback().await.unwrap();
        assert_eq!(count_and_rows(&app, work).await, (0, 0));
    }
);

/// A copy of the campaign file with `edits` (from, to) applied, in `dir`.
pub fn edited_campaign(dir: &tempfile::TempDir, edits: &[(&str, &str)]) -> String {
    let path = dir.path().join("campaign.toml");
    std::fs::write(&path, edited_text(edits)).unwrap();
    path.display().to_string()
}

/// The campaign file's text with `edits` (from, to) applied.
pub fn edited_text(edits: &[(&str, &str)]) -> String {
    let mut text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/wechat-config/campaigns/shwm-2017.toml"
    ))
    .unwrap();
    for (from, to) in edits {
        assert!(text.contains(from), "campaign.toml has no `{from}`");
        text = text.replace(from, to);
    }
    text
}

/// Like `db_test!`, on an app whose campaign file has `edits` applied.
macro_rules! campaign_test {
    ($name:ident, $edits:expr, |$app:ident| $body:expr) => {
        mod $name {
            use super::*;

            async fn run(backend: $crate::helpers::Backend) {
                let dir = tempfile::tempdir().unwrap();
                let path = edited_campaign(&dir, $edits);
                let Some($app) =
                    $crate::helpers::spawn_app_with(backend, &[("campaign", path.into())]).await
                else {
                    return;
                };
                $body.await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                run($crate::helpers::Backend::Sqlite).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                run($crate::helpers::Backend::Postgres).await
            }
        }
    };
}

campaign_test!(
    people_and_addresses_over_their_rate_get_429_with_retry_after,
    &[
        ("per_person_per_minute = 30", "per_person_per_minute = 3"),
        ("per_ip_per_minute = 600", "per_ip_per_minute = 5"),
    ],
    |app| async move {
        app.set_phase(Some("showcase")).await;
        let (_, author) = voter(&app, "author").await;
        let mut works = Vec::new();
        for _ in 0..4 {
            works.push(approved_work(&app, author, "slogan").await);
        }
        let (token, _) = voter(&app, "script").await;
        for work in &works[..3] {
            assert_eq!(vote(&app, &token, *work).await.0, 200);
        }
        let (status, body, retry_after) = vote(&app, &token, works[3]).await;
        assert_eq!(
            (status, &body["error"]["code"]),
            (429, &json!("rate_limited"))
        );
        assert!(retry_after.is_some_and(|s| (1..=60).contains(&s)));
        assert_eq!(count_and_rows(&app, works[3]).await, (0, 0));
        // Two more people behind the same address use up its five requests a minute.
        let (other, _) = voter(&app, "colleague").await;
        assert_eq!(vote(&app, &other, works[0]).await.0, 200);
        let (status, body, _) = vote(&app, &other, works[1]).await;
        assert_eq!(
            (status, &body["error"]["code"]),
            (429, &json!("rate_limited"))
        );
    }
);

campaign_test!(
    only_followers_vote_when_the_campaign_requires_it,
    &[("require_follow = false", "require_follow = true")],
    |app| async move {
        app.set_phase(Some("showcase")).await;
        let (_, author) = voter(&app, "author").await;
        let work = approved_work(&app, author, "slogan").await;
        let (token, me) = voter(&app, "stranger").await;
        let (status, body, _) = vote(&app, &token, work).await;
        assert_eq!((status, &body["error"]["code"]), (403, &json!("forbidden")));
        let person = entity::person::Entity::find_by_id(me)
            .one(&app.db)
            .await
            .unwrap()
            .unwrap();
        let mut follows: entity::person::ActiveModel = person.into();
        follows.following = Set(true);
        follows.update(&app.db).await.unwrap();
        let (status, body, _) = vote(&app, &token, work).await;
        assert_eq!(status, 200, "{body}");
    }
);

/// Posts a void request as `token`; status and body.
async fn void(app: &TestApp, token: &str, body: Value) -> (u16, Value) {
    let res = app
        .client
        .post(app.url("/api/v1/admin/votes/void"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

/// The ledger as a reviewer lists it.
async fn ledger(app: &TestApp, token: &str, query: &str) -> Vec<Value> {
    let body: Value = app
        .client
        .get(app.url(&format!("/api/v1/admin/votes?{query}")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["items"].as_array().unwrap().clone()
}

db_test!(
    voiding_by_time_range_person_and_work_keeps_count_equal_to_counted_rows,
    |app| async move {
        let (_, author) = voter(&app, "author").await;
        let first = approved_work(&app, author, "slogan").await;
        let second = approved_work(&app, author, "slogan").await;
        app.set_phase(Some("showcase")).await;
        let start = Utc::now() - chrono::Duration::hours(5);
        let mut people = Vec::new();
        // Five voters, an hour apart, each for both works.
        for i in 0..5 {
            let (_, person) = voter(&app, &format!("hourly-{i}")).await;
            people.push(person);
            for work in [first, second] {
                let ballot = Ballot {
                    person_id: person,
                    work_id: work,
                    ip: format!("10.0.0.{i}"),
                    user_agent: "test".to_owned(),
                };
                let at = start + chrono::Duration::hours(i);
                votes::cast(&app.db, &app.campaigns, ballot, at)
                    .await
                    .unwrap();
            }
        }
        assert_eq!(count_and_rows(&app, first).await, (5, 5));
        let reviewer = app.reviewer().await;

        // Hours 1 and 2 of the first work: exactly two votes leave its count.
        let from = (start + chrono::Duration::minutes(30)).to_rfc3339();
        let to = (start + chrono::Duration::minutes(150)).to_rfc3339();
        let (status, body) = void(
            &app,
            &reviewer,
            json!({"work_id": first, "from": from, "to": to, "reason": "刷票时段"}),
        )
        .await;
        assert_eq!((status, &body), (200, &json!({"voided": 2})));
        assert_eq!(count_and_rows(&app, first).await, (3, 3));
        assert_eq!(count_and_rows(&app, second).await, (5, 5));
        // The audit trail still lists them, with the reason.
        let voided = ledger(&app, &reviewer, &format!("status=voided&work_id={first}")).await;
        let voters: Vec<i64> = voided
            .iter()
            .map(|v| v["user_id"].as_i64().unwrap())
            .collect();
        assert_eq!(voters, vec![people[2], people[1]]);
        assert!(voided.iter().all(|v| v["void_reason"] == "刷票时段"));
        assert_eq!(
            ledger(&app, &reviewer, &format!("work_id={first}"))
                .await
                .len(),
            5
        );

        // One person everywhere: both works lose exactly that person's counted votes.
        let (status, body) = void(
            &app,
            &reviewer,
            json!({"user_id": people[4], "reason": "同一设备批量注册"}),
        )
        .await;
        assert_eq!((status, &body), (200, &json!({"voided": 2})));
        assert_eq!(count_and_rows(&app, first).await, (2, 2));
        assert_eq!(count_and_rows(&app, second).await, (4, 4));

        // A whole work; voiding again finds nothing more.
        let (_, body) = void(
            &app,
            &reviewer,
            json!({"work_id": second, "reason": "作品违规"}),
        )
        .await;
        assert_eq!(body, json!({"voided": 4}));
        let (_, body) = void(
            &app,
            &reviewer,
            json!({"work_id": second, "reason": "再次"}),
        )
        .await;
        assert_eq!(body, json!({"voided": 0}));
        assert_eq!(count_and_rows(&app, second).await, (0, 0));

        // A void needs a reason and a scope, and a reviewer.
        let (status, _) = void(&app, &reviewer, json!({"reason": "全部"})).await;
        assert_eq!(status, 400);
        let (status, _) = void(&app, &reviewer, json!({"work_id": first, "reason": " "})).await;
        assert_eq!(status, 400);
        let judge = wangju::service::admin_tokens::issue(
            &app.db,
            wangju::domain::role::Role::Judge,
            None,
            "j",
        )
        .await
        .unwrap();
        let (status, _) = void(
            &app,
            judge.reveal(),
            json!({"work_id": first, "reason": "x"}),
        )
        .await;
        assert_eq!(status, 403);
        assert_eq!(count_and_rows(&app, first).await, (2, 2));
    }
);

campaign_test!(
    a_burst_on_one_work_is_flagged_kept_apart_and_not_counted,
    &[(
        "flag_burst_per_work_per_minute = 600",
        "flag_burst_per_work_per_minute = 3"
    )],
    |app| async move {
        app.set_phase(Some("showcase")).await;
        let (_, author) = voter(&app, "author").await;
        let work = approved_work(&app, author, "slogan").await;
        let mut tokens = Vec::new();
        for i in 0..5 {
            tokens.push(voter(&app, &format!("burst-{i}")).await.0);
        }
        for token in &tokens[..3] {
            assert_eq!(vote(&app, token, work).await.0, 200);
        }
        // The fourth and fifth answer like any vote, but do not count.
        let (status, body, _) = vote(&app, &tokens[3], work).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["vote_count"], json!(3));
        assert_eq!(body["votes_left_today"], json!(9));
        assert_eq!(vote(&app, &tokens[4], work).await.0, 200);
        // A flagged vote still holds the day's slot for the work.
        let (status, _, _) = vote(&app, &tokens[3], work).await;
        assert_eq!(status, 409);
        assert_eq!(count_and_rows(&app, work).await, (3, 3));

        let reviewer = app.reviewer().await;
        let flagged = ledger(&app, &reviewer, &format!("status=flagged&work_id={work}")).await;
        assert_eq!(flagged.len(), 2);
        assert!(flagged.iter().all(|v| v["flag_reason"] == "burst"));
        // Voiding flagged votes leaves the count alone.
        let (_, body) = void(&app, &reviewer, json!({"work_id": work, "reason": "刷票"})).await;
        assert_eq!(body, json!({"voided": 5}));
        assert_eq!(count_and_rows(&app, work).await, (0, 0));
    }
);

const WARY: &[(&str, &str)] = &[
    (
        "flag_account_younger_than_minutes = 0",
        "flag_account_younger_than_minutes = 10",
    ),
    (
        "flag_accounts_per_ip_per_day = 1000",
        "flag_accounts_per_ip_per_day = 1",
    ),
];

campaign_test!(
    new_accounts_and_crowded_addresses_are_flagged,
    WARY,
    |app| async move {
        app.set_phase(Some("showcase")).await;
        let (_, author) = voter(&app, "author").await;
        let work = approved_work(&app, author, "slogan").await;
        let (fresh, _) = voter(&app, "fresh").await;
        let (_, body, _) = vote(&app, &fresh, work).await;
        assert_eq!(
            body["vote_count"],
            json!(0),
            "an account minutes old is held back"
        );
        // Two older accounts behind one address: the second is one account too many.
        let mut flags = Vec::new();
        for code in ["veteran-1", "veteran-2"] {
            let (_, person) = voter(&app, code).await;
            let ballot = Ballot {
                person_id: person,
                work_id: work,
                ip: "203.0.113.7".to_owned(),
                user_agent: "test".to_owned(),
            };
            let later = Utc::now() + chrono::Duration::minutes(30);
            votes::cast(&app.db, &app.campaigns, ballot, later)
                .await
                .unwrap();
            let row = entity::vote::Entity::find()
                .filter(entity::vote::Column::PersonId.eq(person))
                .one(&app.db)
                .await
                .unwrap()
                .unwrap();
            flags.push((row.status, row.flag_reason));
        }
        assert_eq!(
            flags,
            vec![
                ("counted".to_owned(), None),
                ("flagged".to_owned(), Some("shared_ip".to_owned()))
            ]
        );
        let fresh_row = entity::vote::Entity::find()
            .filter(entity::vote::Column::Ip.eq("127.0.0.1"))
            .one(&app.db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(fresh_row.flag_reason.as_deref(), Some("new_account"));
        assert_eq!(count_and_rows(&app, work).await, (1, 1));
    }
);

db_test!(
    rankings_order_a_category_by_votes_with_shared_ranks,
    |app| async move {
        app.set_phase(Some("showcase")).await;
        let (_, author) = voter(&app, "author").await;
        let quiet = approved_work(&app, author, "slogan").await;
        let loud = approved_work(&app, author, "slogan").await;
        let tied = approved_work(&app, author, "slogan").await;
        let elsewhere = approved_work(&app, author, "essay").await;
        for i in 0..2 {
            let (token, _) = voter(&app, &format!("ranker-{i}")).await;
            for work in [loud, tied, elsewhere] {
                assert_eq!(vote(&app, &token, work).await.0, 200);
            }
        }
        let (token, _) = voter(&app, "ranker-quiet").await;
        assert_eq!(vote(&app, &token, quiet).await.0, 200);
        let ranking = |category: &'static str| {
            let req = app
                .client
                .get(app.url("/api/v1/rankings"))
                .query(&[("category", category)]);
            async move {
                let res = req.send().await.unwrap();
                (res.status().as_u16(), res.json::<Value>().await.unwrap())
            }
        };
        // The cache may serve a ranking up to a second old.
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let (status, body) = ranking("slogan").await;
        assert_eq!(status, 200);
        let places: Vec<(i64, i64, i64)> = body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["rank"].as_i64().unwrap(),
                    p["work_id"].as_i64().unwrap(),
                    p["vote_count"].as_i64().unwrap(),
                )
            })
            .collect();
        assert_eq!(places, vec![(1, loud, 2), (1, tied, 2), (3, quiet, 1)]);
        assert!(body["items"][0]["title"].is_string());
        assert_eq!(ranking("hologram").await.0, 400);
    }
);
