//! Nothing acknowledged is lost: stored pushes survive a kill or a stop, database faults are
//! 503 (never 500), and instances may start together on an empty database.

use std::{collections::HashMap, time::Duration};

use futures_util::future::join_all;
use sea_orm::{
    ConnectionTrait, Database, DatabaseConnection, EntityTrait, PaginatorTrait, TransactionTrait,
};

use crate::{
    fake_wechat::{FAKE_MP_APPID, FakeWechat},
    helpers::{Backend, fresh_database, init, test_settings},
    on_both_databases,
    process::ServerProcess,
    push::{self, Mode},
};

const ADMIN: &str = "admin-durability-test";
const PUSHES: usize = 20;
const CUSTOM_SEND: &str = "/cgi-bin/message/custom/send";

/// `wangju serve` in live mode against `fake`, on `database_url`, with a 1 s callback budget.
fn serve(database_url: &str, fake: &FakeWechat) -> ServerProcess {
    ServerProcess::start_on(
        Some(database_url),
        &[
            ("WANGJU_ADMIN_TOKEN", ADMIN),
            ("WANGJU_WECHAT_MODE", "live"),
            ("WANGJU_WECHAT_API_BASE", &fake.base),
            ("WANGJU_MP_APPID", FAKE_MP_APPID),
            ("WANGJU_MP_SECRET", "fake-mp-secret"),
            ("WANGJU_CALLBACK_BUDGET_MS", "1000"),
            ("WANGJU_JOB_POLL_MS", "100"),
            // Handlers waiting on the lock hold a connection each; stores need their own.
            ("WANGJU_DB_MAX_CONNECTIONS", "40"),
        ],
    )
}

/// Posts one push as WeChat does: an answer other than 200 is tried again (WeChat tries three
/// times; a test may be more patient). The final answer's body.
async fn push_until_answered(client: &reqwest::Client, base: &str, xml: &str) -> String {
    for _ in 0..10 {
        let (query, body) = push::wrap(xml, Mode::Plain, push::MP_APPID);
        let answered = client
            .post(format!("{base}/wechat/callback"))
            .query(&query)
            .body(body)
            .send()
            .await;
        if let Ok(res) = answered {
            let status = res.status().as_u16();
            assert!(status == 200 || status == 503, "answer {status}");
            if status == 200 {
                return res.text().await.unwrap();
            }
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    panic!("the push was never answered 200");
}

/// Keeps pushes from being acted on while they can still be stored: on PostgreSQL a lock on
/// `works` that outlasts the budget; on SQLite, whose one write lock would stop the stores too,
/// a trigger that refuses new works (handling fails at once, the stored push waits).
async fn block_works(backend: Backend, url: &str) -> DatabaseConnection {
    // One connection, so that BEGIN and the statements after it share a session.
    let mut options = sea_orm::ConnectOptions::new(url.to_owned());
    options.max_connections(1).min_connections(1);
    let locker = Database::connect(options).await.unwrap();
    match backend {
        Backend::Postgres => {
            locker.execute_unprepared("BEGIN").await.unwrap();
            locker
                .execute_unprepared("LOCK TABLE works IN EXCLUSIVE MODE")
                .await
                .unwrap();
        }
        Backend::Sqlite => {
            locker
                .execute_unprepared(
                    "CREATE TRIGGER refuse_works BEFORE INSERT ON works \
                     BEGIN SELECT RAISE(ABORT, 'refused by the test'); END",
                )
                .await
                .unwrap();
        }
    }
    locker
}

/// Lets works be made again.
async fn unblock_works(backend: Backend, locker: &DatabaseConnection) {
    let statement = match backend {
        Backend::Postgres => "COMMIT",
        Backend::Sqlite => "DROP TRIGGER refuse_works",
    };
    locker.execute_unprepared(statement).await.unwrap();
}

/// How the first server ends.
#[derive(Clone, Copy)]
enum Stop {
    Kill,
    Terminate,
}

async fn pushes_survive(backend: Backend, stop: Stop) {
    init();
    let Some((url, _guard)) = fresh_database(backend).await else {
        return;
    };
    let fake = FakeWechat::start().await;
    let first = serve(&url, &fake);
    let client = reqwest::Client::new();
    let res = client
        .put(format!("{}/api/v1/admin/campaign/phase", first.base))
        .bearer_auth(ADMIN)
        .json(&serde_json::json!({"phase": "open"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    let locker = block_works(backend, &url).await;
    let now = chrono::Utc::now().timestamp();
    let pushes: Vec<(String, String)> = (0..PUSHES)
        .map(|i| {
            let openid = format!("oDurable{i:02}");
            let xml = push::text(
                &openid,
                7000 + i as i64,
                now,
                &format!("网言网语 存好再答{i}"),
            );
            (openid, xml)
        })
        .collect();
    let answers = join_all(
        pushes
            .iter()
            .map(|(_, xml)| push_until_answered(&client, &first.base, xml)),
    )
    .await;
    match stop {
        Stop::Kill => first.kill(),
        Stop::Terminate => {
            first.terminate();
            let (clean, output) = first.wait();
            assert!(clean, "{output}");
        }
    }
    assert!(
        answers.iter().all(|a| a == "success"),
        "nothing could be acted on within the budget: {answers:?}"
    );
    unblock_works(backend, &locker).await;

    let db = Database::connect(&url).await.unwrap();
    let second = serve(&url, &fake);
    for _ in 0..300 {
        let pending = wangju::repo::inbox::count(&db, entity::push_inbox::InboxState::Pending)
            .await
            .unwrap();
        let queued =
            wangju::repo::jobs::count(&db, "send_chat_text", entity::job::JobState::Queued)
                .await
                .unwrap();
        if pending == 0
            && queued == 0
            && entity::work::Entity::find().count(&db).await.unwrap() == 20
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    second.kill();

    let works = entity::work::Entity::find().all(&db).await.unwrap();
    assert_eq!(works.len(), PUSHES, "every acknowledged push made its work");
    let mut per_author: HashMap<i64, usize> = HashMap::new();
    for work in &works {
        *per_author.entry(work.author_id).or_default() += 1;
    }
    assert!(
        per_author.values().all(|&n| n == 1),
        "each once: {per_author:?}"
    );
    assert_eq!(
        wangju::repo::inbox::count(&db, entity::push_inbox::InboxState::Failed)
            .await
            .unwrap(),
        0
    );
    // Each sender heard of their work exactly once: in the answer, or later by message.
    let late: Vec<String> = fake
        .calls(CUSTOM_SEND)
        .iter()
        .map(|call| {
            call.json()["touser"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    for ((openid, _), answer) in pushes.iter().zip(&answers) {
        let passive =
            usize::from(answer != "success" && push::content(answer).contains("编号 WY-"));
        let messages = late.iter().filter(|to| *to == openid).count();
        assert_eq!(
            passive + messages,
            1,
            "{openid}: answer {answer:?}, {messages} late"
        );
    }
    assert_eq!(late.len(), PUSHES, "every reply went out late");
}

async fn pushes_survive_a_kill(backend: Backend) {
    pushes_survive(backend, Stop::Kill).await;
}

async fn pushes_survive_a_graceful_stop(backend: Backend) {
    pushes_survive(backend, Stop::Terminate).await;
}

on_both_databases!(
    acknowledged_pushes_survive_a_kill_and_are_acted_on_once,
    pushes_survive_a_kill
);
on_both_databases!(
    acknowledged_pushes_survive_a_graceful_stop_and_are_acted_on_once,
    pushes_survive_a_graceful_stop
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_start_together_on_an_empty_postgres_database() {
    init();
    let Some((url, _guard)) = fresh_database(Backend::Postgres).await else {
        return;
    };
    let settings = || test_settings(&url, &[]);
    let (a, b) = tokio::join!(
        wangju::startup::Application::build(settings()),
        wangju::startup::Application::build(settings())
    );
    assert!(a.is_ok(), "first instance: {:?}", a.err());
    assert!(b.is_ok(), "second instance: {:?}", b.err());
    let db = Database::connect(&url).await.unwrap();
    let txn = db.begin().await.unwrap();
    let applied = txn
        .query_one_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Postgres,
            "SELECT count(*) AS n FROM seaql_migrations",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get::<i64>("", "n")
        .unwrap();
    txn.commit().await.unwrap();
    assert_eq!(
        usize::try_from(applied).unwrap(),
        <migration::Migrator as migration::MigratorTrait>::migrations().len()
    );
}

/// A PostgreSQL server of the test's own (initdb in a temporary directory, a free loopback
/// port), so that stopping it touches no other test.
struct PrivatePostgres {
    dir: tempfile::TempDir,
    port: u16,
}

impl PrivatePostgres {
    fn bin(tool: &str) -> std::path::PathBuf {
        let versions = std::fs::read_dir("/usr/lib/postgresql").expect("PostgreSQL installed");
        let version = versions
            .flatten()
            .map(|e| e.path())
            .max()
            .expect("a PostgreSQL version");
        version.join("bin").join(tool)
    }

    /// Runs a server tool as the `postgres` user when we are root (the server refuses root).
    fn run(tool: &str, args: &[&str]) {
        let as_root = std::process::Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
        let bin = Self::bin(tool);
        let status = if as_root {
            std::process::Command::new("runuser")
                .args(["-u", "postgres", "--"])
                .arg(&bin)
                .args(args)
                .stdout(std::process::Stdio::null())
                .status()
        } else {
            std::process::Command::new(&bin)
                .args(args)
                .stdout(std::process::Stdio::null())
                .status()
        }
        .expect("run a PostgreSQL tool");
        assert!(status.success(), "{tool} {args:?}");
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    fn create() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let _ = std::process::Command::new("chown")
            .args(["postgres:postgres", &dir.path().display().to_string()])
            .status();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let server = Self { dir, port };
        Self::run(
            "initdb",
            &["-D", &server.data(), "-A", "trust", "-U", "postgres"],
        );
        server.start();
        server
    }

    fn start(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("log").display().to_string();
        Self::run(
            "pg_ctl",
            &[
                "-D",
                &self.data(),
                "-o",
                &options,
                "-l",
                &log,
                "-w",
                "start",
            ],
        );
    }

    /// A fast stop: open sessions are ended (57P01), new ones refused until `start`.
    fn stop(&self) {
        Self::run("pg_ctl", &["-D", &self.data(), "-m", "fast", "-w", "stop"]);
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let _ = std::process::Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(Self::bin("pg_ctl"))
            .args(["-D", &self.data(), "-m", "immediate", "stop"])
            .stdout(std::process::Stdio::null())
            .status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "starts and stops a private PostgreSQL server (initdb, pg_ctl); .ci/run runs it"]
async fn postgres_stopped_under_vote_load_gives_503_never_500_and_the_server_recovers() {
    init();
    let server = PrivatePostgres::create();
    // Limits high enough that every vote reaches the database; 32 voters without pause keep
    // queries in flight when the server stops (the sessions it ends answer 57P01 or EOF).
    let campaign = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/wechat-config/campaigns/shwm-2017.toml"
    ))
    .unwrap()
    .replace(
        "votes_per_person_per_day = 10",
        "votes_per_person_per_day = 10000",
    )
    .replace(
        "per_person_per_minute = 30",
        "per_person_per_minute = 100000",
    )
    .replace("per_ip_per_minute = 600", "per_ip_per_minute = 1000000");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("campaign.toml");
    std::fs::write(&path, campaign).unwrap();
    let app = crate::helpers::spawn_app_on(
        &server.url(),
        &[("campaign", path.to_str().unwrap().into())],
    )
    .await;
    app.set_phase(Some("showcase")).await;
    let mut voters = Vec::new();
    for i in 0..32 {
        voters.push(app.login(&format!("outage-voter-{i}")).await.0);
    }
    let (_, author) = app.login("outage-author").await;
    let mut works = Vec::new();
    for _ in 0..300 {
        works.push(crate::votes::approved_work(&app, author, "slogan").await);
    }

    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let load = voters.into_iter().map(|token| {
        let (client, base, works, stop) = (
            app.client.clone(),
            app.base.clone(),
            works.clone(),
            stop.clone(),
        );
        tokio::spawn(async move {
            let mut statuses: Vec<u16> = Vec::new();
            for work in works.iter().cycle() {
                if stop.load(std::sync::atomic::Ordering::Relaxed) {
                    break;
                }
                let res = client
                    .post(format!("{base}/api/v1/works/{work}/votes"))
                    .bearer_auth(&token)
                    .send()
                    .await
                    .unwrap();
                statuses.push(res.status().as_u16());
            }
            statuses
        })
    });
    let load: Vec<_> = load.collect();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let server = tokio::task::spawn_blocking(move || {
        server.stop();
        server
    })
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let restart = tokio::task::spawn_blocking(move || {
        server.start();
        server
    });
    let server = restart.await.unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut seen: HashMap<u16, usize> = HashMap::new();
    for task in load {
        for status in task.await.unwrap() {
            *seen.entry(status).or_default() += 1;
        }
    }
    assert!(
        seen.keys().all(|s| [200, 409, 429, 503].contains(s)),
        "only 200/409/429/503: {seen:?}"
    );
    assert!(
        seen.get(&503).is_some_and(|&n| n > 0),
        "the outage was seen: {seen:?}"
    );
    // Serving again by itself: ready, and a new voter's vote counts.
    let mut ready = false;
    for _ in 0..100 {
        let res = app.client.get(app.url("/readyz")).send().await.unwrap();
        if res.status() == 200 {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ready, "ready again after the restart");
    let (token, _) = app.login("outage-voter-after").await;
    let (status, body, _) = crate::votes::vote(&app, &token, works[0]).await;
    assert_eq!(status, 200, "{body}");
    server.stop();
}
