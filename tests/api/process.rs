//! Tests of the real `wangju` binary as an operator runs it: configuration errors, logs, signals.

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

const BIN: &str = env!("CARGO_BIN_EXE_wangju");
const CONFIG: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/wechat-config/wangju.toml");

/// A running `wangju serve` whose output lines are collected.
pub struct ServerProcess {
    child: Child,
    /// Where it listens.
    pub base: String,
    /// Its SQLite database.
    pub database_url: String,
    lines: Arc<Mutex<Vec<String>>>,
    _dir: tempfile::TempDir,
}

impl ServerProcess {
    /// Starts `wangju serve` on a free port with a fresh SQLite database and JSON logs.
    pub fn start(envs: &[(&str, &str)]) -> Self {
        Self::start_on(None, envs)
    }

    /// Starts `wangju serve` on `database_url` (a fresh SQLite database when `None`).
    pub fn start_on(database_url: Option<&str>, envs: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db = database_url.map_or_else(
            || format!("sqlite://{}/w.db?mode=rwc", dir.path().display()),
            str::to_owned,
        );
        let mut command = Command::new(BIN);
        command
            .arg("serve")
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("WANGJU_CONFIG", CONFIG)
            .env("WANGJU_LISTEN", "127.0.0.1:0")
            .env("WANGJU_DATABASE_URL", &db)
            .env("WANGJU_LOG_FORMAT", "json")
            .env(
                "WANGJU_STORAGE",
                format!("file://{}/media", dir.path().display()),
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (key, value) in envs {
            command.env(key, value);
        }
        let mut child = command.spawn().unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        for stream in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let lines = lines.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    lines.lock().unwrap().push(line);
                }
            });
        }
        let started = Instant::now();
        let addr = loop {
            let found = lines.lock().unwrap().iter().find_map(|line| {
                let value: serde_json::Value = serde_json::from_str(line).ok()?;
                (value["message"] == "listening")
                    .then(|| value["addr"].as_str().map(str::to_owned))?
            });
            if let Some(addr) = found {
                break addr;
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("server exited with {status}: {:?}", lines.lock().unwrap());
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "server did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        Self {
            child,
            base: format!("http://{addr}"),
            database_url: db,
            lines,
            _dir: dir,
        }
    }

    /// Sends SIGTERM.
    pub fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGKILL and waits for the process to be gone.
    pub fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// Waits for the process to exit and returns whether it exited cleanly, plus all its output.
    pub fn wait(mut self) -> (bool, String) {
        let status = self.child.wait().unwrap();
        // Give the reader threads a moment to drain the pipes.
        std::thread::sleep(Duration::from_millis(100));
        let output = self.lines.lock().unwrap().join("\n");
        (status.success(), output)
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

/// Absolute paths of the campaign, replies and notices files, for a process started elsewhere.
fn data_files() -> [String; 3] {
    [
        "campaigns/shwm-2017.toml",
        "replies.toml",
        "notifications.toml",
    ]
    .map(|file| format!("{}/wechat-config/{file}", env!("CARGO_MANIFEST_DIR")))
}

fn run_expecting_failure(envs: &[(&str, &str)], config: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(BIN)
        .arg("serve")
        .current_dir(dir.path())
        .env_clear()
        .env("WANGJU_CONFIG", config)
        .envs(envs.iter().copied())
        .output()
        .unwrap();
    assert!(!output.status.success(), "start-up must fail");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn a_bad_environment_value_stops_start_up_naming_the_variable() {
    let stderr = run_expecting_failure(&[("WANGJU_LISTEN", "not-an-address")], CONFIG);
    assert!(stderr.contains("WANGJU_LISTEN"), "{stderr}");
    let stderr = run_expecting_failure(&[("WANGJU_WECHAT_MODE", "imaginary")], CONFIG);
    assert!(stderr.contains("WANGJU_WECHAT_MODE"), "{stderr}");
}

#[test]
fn a_bad_file_value_stops_start_up_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wangju.toml");
    std::fs::write(&path, "max_body_bytes = \"lots\"\n").unwrap();
    let stderr = run_expecting_failure(&[], path.to_str().unwrap());
    assert!(stderr.contains("max_body_bytes"), "{stderr}");

    std::fs::write(&path, "callback_budget_ms = 9000\n").unwrap();
    let stderr = run_expecting_failure(&[], path.to_str().unwrap());
    assert!(stderr.contains("callback_budget_ms"), "{stderr}");
}

#[test]
fn three_bad_settings_are_named_together_in_one_start() {
    let stderr = run_expecting_failure(
        &[
            ("WANGJU_LISTEN", "not-an-address"),
            ("WANGJU_WECHAT_MODE", "imaginary"),
            ("WANGJU_CALLBACK_BUDGET_MS", "9000"),
        ],
        CONFIG,
    );
    for name in [
        "WANGJU_LISTEN",
        "WANGJU_WECHAT_MODE",
        "WANGJU_CALLBACK_BUDGET_MS",
    ] {
        assert!(stderr.contains(name), "{name} in: {stderr}");
    }
    assert!(stderr.contains("3 problems"), "{stderr}");
}

#[test]
fn a_missing_config_file_stops_start_up_naming_it() {
    let stderr = run_expecting_failure(&[], "/nonexistent/wangju.toml");
    assert!(stderr.contains("/nonexistent/wangju.toml"), "{stderr}");
}

#[tokio::test]
async fn no_secret_value_appears_in_logs_at_any_level() {
    crate::helpers::init();
    let secrets = [
        ("WANGJU_MP_SECRET", "mp-secret-4f1c9a"),
        ("WANGJU_MP_TOKEN", "mptoken7b2e"),
        (
            "WANGJU_MP_AES_KEY",
            "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
        ),
        ("WANGJU_MINIAPP_SECRET", "miniapp-secret-93d0"),
        ("WANGJU_ADMIN_TOKEN", "bootstrap-admin-c81f"),
    ];
    let mut envs = secrets.to_vec();
    envs.push(("RUST_LOG", "trace"));
    let server = ServerProcess::start(&envs);
    let client = reqwest::Client::new();
    client
        .get(format!("{}/readyz", server.base))
        .send()
        .await
        .unwrap();
    let res = client
        .post(format!("{}/api/v1/admin/tokens", server.base))
        .bearer_auth("bootstrap-admin-c81f")
        .json(&serde_json::json!({"role": "judge"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let issued: serde_json::Value = res.json().await.unwrap();
    let issued = issued["token"].as_str().unwrap().to_owned();
    server.terminate();
    let (clean, output) = server.wait();
    assert!(clean, "{output}");
    assert!(
        output.lines().count() > 10,
        "trace logging produced output: {output}"
    );
    for (name, value) in secrets {
        assert!(!output.contains(value), "{name} leaked into the logs");
    }
    assert!(
        !output.contains(&issued),
        "an issued token leaked into the logs"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_a_slow_request_lets_it_finish() {
    use sea_orm::{ConnectionTrait, Database, EntityTrait};

    crate::helpers::init();
    let server = ServerProcess::start(&[("WANGJU_ADMIN_TOKEN", "admin-sigterm-test")]);
    let client = reqwest::Client::new();
    let res = client
        .put(format!("{}/api/v1/admin/campaign/phase", server.base))
        .bearer_auth("admin-sigterm-test")
        .json(&serde_json::json!({"phase": "open"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    // Hold SQLite's write lock so that the submission below is in flight for a while.
    let blocker = Database::connect(&server.database_url).await.unwrap();
    blocker.execute_unprepared("BEGIN IMMEDIATE").await.unwrap();
    let xml = crate::push::text(
        "oSigterm",
        4242,
        chrono::Utc::now().timestamp(),
        "网言网语 停机也要答完",
    );
    let (query, body) = crate::push::wrap(&xml, crate::push::Mode::Plain, crate::push::MP_APPID);
    let url = format!("{}/wechat/callback", server.base);
    let in_flight =
        tokio::spawn(async move { client.post(url).query(&query).body(body).send().await });
    tokio::time::sleep(Duration::from_millis(400)).await;
    server.terminate();
    tokio::time::sleep(Duration::from_millis(600)).await;
    blocker.execute_unprepared("COMMIT").await.unwrap();

    let res = in_flight
        .await
        .unwrap()
        .expect("the in-flight request got its answer");
    assert_eq!(res.status(), 200);
    let reply = res.text().await.unwrap();
    assert!(crate::push::content(&reply).contains("编号 WY-"), "{reply}");
    let (clean, output) = server.wait();
    assert!(clean, "clean exit after draining: {output}");
    let works = entity::work::Entity::find().all(&blocker).await.unwrap();
    assert_eq!(works.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulate_sends_an_encrypted_push_and_prints_the_decrypted_reply() {
    let aes_key = crate::push::AES_KEY;
    let Some(app) = crate::helpers::spawn_app_with(
        crate::helpers::Backend::Sqlite,
        &[("mp_aes_key", aes_key.into())],
    )
    .await
    else {
        return;
    };
    let url = app.url("/wechat/callback");
    let output = tokio::task::spawn_blocking(move || {
        Command::new(BIN)
            .args([
                "simulate",
                "--url",
                &url,
                "--from",
                "oSimulated",
                "text",
                "投票",
            ])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env_clear()
            .env("WANGJU_CONFIG", CONFIG)
            .env("WANGJU_MP_AES_KEY", aes_key)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("HTTP 200"), "{stdout}");
    assert!(
        stdout.contains("<ToUserName><![CDATA[oSimulated]]></ToUserName>"),
        "decrypted: {stdout}"
    );
    assert!(stdout.contains("每人每天每件作品可投一票"), "{stdout}");
}

#[test]
fn simulate_in_safe_mode_without_a_key_names_the_setting_and_offers_a_valid_key() {
    let output = Command::new(BIN)
        .args(["simulate", "--mode", "safe", "text", "投票"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_clear()
        .env("WANGJU_CONFIG", CONFIG)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    let offered = stderr
        .split("WANGJU_MP_AES_KEY=")
        .nth(1)
        .map(|rest| {
            rest.split_whitespace()
                .next()
                .unwrap_or_default()
                .to_owned()
        })
        .unwrap_or_default();
    assert_eq!(offered.len(), 43, "{stderr}");
    assert!(
        wangju::wechat::crypto::EncodingAesKey::parse(&offered).is_ok(),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn menu_publish_pushes_the_menu_file_to_wechat() {
    crate::helpers::init();
    let fake = crate::fake_wechat::FakeWechat::start().await;
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/menu.db?mode=rwc", dir.path().display());
    let base = fake.base.clone();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(BIN)
            .args(["menu", "publish"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env_clear()
            .env("WANGJU_CONFIG", CONFIG)
            .env("WANGJU_DATABASE_URL", db)
            .env("WANGJU_WECHAT_MODE", "live")
            .env("WANGJU_WECHAT_API_BASE", base)
            .env("WANGJU_MP_APPID", crate::fake_wechat::FAKE_MP_APPID)
            .env("WANGJU_MP_SECRET", "fake-mp-secret")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let calls = fake.calls("/cgi-bin/menu/create");
    assert_eq!(calls.len(), 1);
    let file: serde_json::Value =
        serde_json::from_str(include_str!("../../wechat-config/menu.json")).unwrap();
    assert_eq!(calls[0].json(), file);
}

#[test]
fn admin_token_takes_a_unit_code_and_refuses_unknown_units_in_plain_words() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/cli.db?mode=rwc", dir.path().display());
    let run = |args: &[&str]| {
        Command::new(BIN)
            .args(["admin", "token"])
            .args(args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env_clear()
            .env("WANGJU_CONFIG", CONFIG)
            .env("WANGJU_DATABASE_URL", &db)
            .output()
            .unwrap()
    };
    let ok = run(&["--role", "unit", "--unit", "huangpu"]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(
        String::from_utf8_lossy(&ok.stdout)
            .trim()
            .starts_with("wja")
    );
    let unknown = run(&["--role", "unit", "--unit", "nowhere"]);
    assert!(!unknown.status.success());
    let stderr = String::from_utf8_lossy(&unknown.stderr);
    assert!(
        stderr.contains("nowhere") && stderr.contains("huangpu"),
        "{stderr}"
    );
    let missing = run(&["--role", "unit"]);
    assert!(!missing.status.success());
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(stderr.contains("--unit"), "{stderr}");
    assert!(
        !stderr.contains("请求格式有误"),
        "no HTTP wording at a terminal: {stderr}"
    );
}

#[test]
fn an_unreachable_database_is_named_with_its_address_and_the_cause() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // Nothing listens there now.
    let url = format!("postgres://postgres:secret-pw@127.0.0.1:{port}/wangju");
    let [campaign, replies, notices] = data_files();
    let stderr = run_expecting_failure(
        &[
            ("WANGJU_DATABASE_URL", &url),
            ("WANGJU_CAMPAIGN", &campaign),
            ("WANGJU_REPLIES", &replies),
            ("WANGJU_NOTICES", &notices),
        ],
        CONFIG,
    );
    assert!(stderr.contains(&format!("127.0.0.1:{port}")), "{stderr}");
    assert!(stderr.to_lowercase().contains("refused"), "{stderr}");
    assert!(
        !stderr.contains("secret-pw"),
        "no password in the message: {stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_walkthrough_runs_from_submission_to_export() {
    let server = ServerProcess::start(&[]);
    let out = tempfile::tempdir().unwrap();
    let (base, database_url) = (server.base.clone(), server.database_url.clone());
    let out_dir = out.path().to_path_buf();
    let output = tokio::task::spawn_blocking(move || {
        Command::new("bash")
            .arg("docs/walkthrough.sh")
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("WANGJU_CONFIG", CONFIG)
            .env("WANGJU_DATABASE_URL", database_url)
            .env("BASE", base)
            .env("WANGJU", BIN)
            .env("OUT", out_dir)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let works = std::fs::read_to_string(out.path().join("works.csv")).unwrap();
    assert!(works.contains("文明上网从我做起"), "{works}");
    let awards = std::fs::read_to_string(out.path().join("awards.csv")).unwrap();
    assert!(
        awards.lines().count() >= 2,
        "a header and the prize: {awards}"
    );
    assert!(
        stdout.contains("编号 WY-"),
        "the chat reply was printed: {stdout}"
    );
}

#[test]
fn an_sqlite_file_in_a_missing_directory_outside_data_is_refused_not_created() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no/such/place");
    let url = format!("sqlite://{}/w.db?mode=rwc", missing.display());
    let [campaign, replies, notices] = data_files();
    let stderr = run_expecting_failure(
        &[
            ("WANGJU_DATABASE_URL", &url),
            ("WANGJU_CAMPAIGN", &campaign),
            ("WANGJU_REPLIES", &replies),
            ("WANGJU_NOTICES", &notices),
        ],
        CONFIG,
    );
    assert!(stderr.contains("no/such/place"), "{stderr}");
    assert!(!missing.exists(), "nothing was created");
}

#[test]
fn data_files_named_in_the_config_file_are_read_from_its_folder() {
    let config_dir = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let shipped = concat!(env!("CARGO_MANIFEST_DIR"), "/wechat-config");
    std::fs::copy(
        format!("{shipped}/campaigns/shwm-2017.toml"),
        config_dir.path().join("this-year.toml"),
    )
    .unwrap();
    let db = format!("sqlite://{}/w.db?mode=rwc", elsewhere.path().display());
    std::fs::write(
        config_dir.path().join("wangju.toml"),
        format!("campaign = \"this-year.toml\"\ndatabase_url = \"{db}\"\n"),
    )
    .unwrap();
    let output = Command::new(BIN)
        .args([
            "admin",
            "token",
            "--role",
            "judge",
            "--categories",
            "slogan",
        ])
        .current_dir(elsewhere.path())
        .env_clear()
        .env("WANGJU_CONFIG", config_dir.path().join("wangju.toml"))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "the campaign beside the config file was found from another directory: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}
