//! Resource limits: what one client may make the server do.

use sea_orm::EntityTrait;
use serde_json::json;

use crate::{
    db_test,
    helpers::{Backend, TestApp, spawn_app_with},
    on_both_databases,
};

db_test!(
    nine_hundred_logins_from_one_address_are_cut_at_the_rate,
    |app| async move {
        let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
        for i in 0..900 {
            let res = app
                .client
                .post(app.url("/api/v1/auth/login"))
                .json(&json!({ "code": format!("flood-{i}") }))
                .send()
                .await
                .unwrap();
            if res.status() == 429 {
                assert!(res.headers().contains_key("retry-after"));
            }
            *statuses.entry(res.status().as_u16()).or_default() += 1;
        }
        // 600 at once, then the rate refills at 10 a second while the loop runs.
        let allowed = statuses.get(&200).copied().unwrap_or_default();
        assert!((600..=750).contains(&allowed), "{statuses:?}");
        assert_eq!(
            allowed + statuses.get(&429).copied().unwrap_or_default(),
            900
        );
        assert_eq!(
            crate::helpers::count_people(&app).await,
            u64::try_from(allowed).unwrap(),
            "a refused login makes nobody"
        );
    }
);

db_test!(
    one_login_code_holds_one_session_however_often_or_concurrently_it_is_sent,
    |app| async move {
        let me = "/api/v1/me";
        let (first, person) = app.login("one-code").await;
        let (second, again) = app.login("one-code").await;
        assert_eq!(person, again, "the same code is the same person");
        let status = |token: String| {
            let app = &app;
            async move {
                let res = app.client.get(app.url(me)).bearer_auth(token).send().await;
                res.unwrap().status().as_u16()
            }
        };
        assert_eq!(status(first).await, 401, "the earlier session is replaced");
        assert_eq!(status(second.clone()).await, 200);

        // Fifty at once with one code: every answer is a token, one row stays.
        let logins = (0..50).map(|_| {
            let app = &app;
            async move {
                let res = app
                    .client
                    .post(app.url("/api/v1/auth/login"))
                    .json(&json!({ "code": "one-code" }))
                    .send()
                    .await
                    .unwrap();
                res.status().as_u16()
            }
        });
        let statuses = futures_util::future::join_all(logins).await;
        assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
        let sessions = entity::session::Entity::find().all(&app.db).await.unwrap();
        assert_eq!(sessions.len(), 1, "one session for one code");
        assert_eq!(status(second).await, 401);
    }
);

/// Votes once with a forged `X-Forwarded-For`; the IP the ledger recorded.
async fn ledger_ip_of_a_forwarded_vote(app: &TestApp) -> String {
    app.set_phase(Some("showcase")).await;
    let (token, _) = app.login("forwarded-voter").await;
    let (_, author) = app.login("forwarded-author").await;
    let work = crate::votes::approved_work(app, author, "slogan").await;
    let res = app
        .client
        .post(app.url(&format!("/api/v1/works/{work}/votes")))
        .bearer_auth(&token)
        .header("x-forwarded-for", "198.51.100.23")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let vote = entity::vote::Entity::find()
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    vote.ip
}

async fn forwarded_for(backend: Backend) {
    let Some(app) = spawn_app_with(backend, &[]).await else {
        return;
    };
    assert_eq!(
        ledger_ip_of_a_forwarded_vote(&app).await,
        "127.0.0.1",
        "a peer that is no trusted proxy cannot choose its address"
    );
    let Some(behind_nginx) =
        spawn_app_with(backend, &[("trusted_proxies", "127.0.0.1".into())]).await
    else {
        return;
    };
    assert_eq!(
        ledger_ip_of_a_forwarded_vote(&behind_nginx).await,
        "198.51.100.23"
    );
}

on_both_databases!(
    x_forwarded_for_counts_only_from_trusted_proxies,
    forwarded_for
);

db_test!(
    media_is_served_in_byte_ranges_with_validators_and_safe_headers,
    |app| async move {
        let bytes: Vec<u8> = (0..=255u8).cycle().take(100_000).collect();
        let key = "2026/12/0123456789abcdef0123456789abcdef.mp4";
        app.store.put(key, bytes.clone().into()).await.unwrap();
        let url = app.url(&format!("/media/{key}"));

        let whole = app.client.get(&url).send().await.unwrap();
        assert_eq!(whole.status(), 200);
        assert_eq!(whole.headers()["accept-ranges"], "bytes");
        assert_eq!(whole.headers()["content-type"], "video/mp4");
        assert_eq!(whole.headers()["x-content-type-options"], "nosniff");
        assert_eq!(whole.headers()["x-frame-options"], "DENY");
        assert!(whole.headers().contains_key("referrer-policy"));
        assert!(whole.headers().contains_key("last-modified"));
        let etag = whole.headers()["etag"].to_str().unwrap().to_owned();
        assert_eq!(whole.bytes().await.unwrap().as_ref(), &bytes[..]);

        for (asked, expect) in [
            ("bytes=1000-1999", 1000..2000),
            ("bytes=99990-", 99_990..100_000),
            ("bytes=-5", 99_995..100_000),
        ] {
            let part = app
                .client
                .get(&url)
                .header("range", asked)
                .send()
                .await
                .unwrap();
            assert_eq!(part.status(), 206, "{asked}");
            assert_eq!(
                part.headers()["content-range"],
                format!("bytes {}-{}/100000", expect.start, expect.end - 1).as_str()
            );
            assert_eq!(part.bytes().await.unwrap().as_ref(), &bytes[expect]);
        }
        let beyond = app
            .client
            .get(&url)
            .header("range", "bytes=100000-")
            .send()
            .await
            .unwrap();
        assert_eq!(beyond.status(), 416);
        assert_eq!(beyond.headers()["content-range"], "bytes */100000");
        let cached = app
            .client
            .get(&url)
            .header("if-none-match", &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(cached.status(), 304);
        let missing = app
            .client
            .get(app.url("/media/2026/12/nothing.mp4"))
            .send()
            .await
            .unwrap();
        assert_eq!(missing.status(), 404);
    }
);

/// The peak resident memory (VmHWM) of a process, in bytes.
fn peak_rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kib * 1024
}

/// A small PNG that decodes to `side`² RGB pixels (all black: it compresses to almost nothing).
fn decompression_bomb(side: u32) -> Vec<u8> {
    use image::{
        ImageEncoder,
        codecs::png::{CompressionType, FilterType, PngEncoder},
    };
    let pixels = vec![0u8; (side * side * 3) as usize];
    let mut out = Vec::new();
    PngEncoder::new_with_quality(&mut out, CompressionType::Fast, FilterType::NoFilter)
        .write_image(&pixels, side, side, image::ExtendedColorType::Rgb8)
        .unwrap();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_decompression_bombs_stay_within_the_image_memory_budget() {
    crate::helpers::init();
    const BUDGET_MIB: u64 = 128;
    let server = crate::process::ServerProcess::start(&[(
        "WANGJU_IMAGE_MEMORY_BUDGET_MIB",
        &BUDGET_MIB.to_string(),
    )]);
    let client = reqwest::Client::new();
    let login: serde_json::Value = client
        .post(format!("{}/api/v1/auth/login", server.base))
        .json(&json!({"code": "bomber"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["token"].as_str().unwrap().to_owned();
    // 4,500² RGB is 61 MB decoded (74 MiB with the decoder's slack): one decode at a time fits
    // the budget, two do not; six at once without the budget took 334 MiB more.
    let bomb = decompression_bomb(4_500);
    assert!(bomb.len() < 1024 * 1024, "a bomb is small: {}", bomb.len());
    let before = peak_rss(server.pid());
    let uploads = (0..6).map(|_| {
        let (client, url, token) = (
            client.clone(),
            format!("{}/api/v1/uploads", server.base),
            token.clone(),
        );
        let body = crate::uploads::multipart("bomb.png", "image/png", &bomb);
        tokio::spawn(async move {
            client
                .post(url)
                .bearer_auth(token)
                .header(
                    "content-type",
                    format!("multipart/form-data; boundary={}", crate::uploads::BOUNDARY),
                )
                .body(body)
                .send()
                .await
                .unwrap()
        })
    });
    for answer in futures_util::future::join_all(uploads).await {
        let answer = answer.unwrap();
        let status = answer.status();
        assert_eq!(status, 201, "{}", answer.text().await.unwrap());
    }
    let grew = peak_rss(server.pid()).saturating_sub(before);
    assert!(
        grew < (BUDGET_MIB + 16) * 1024 * 1024,
        "peak RSS grew by {} MiB, over the {BUDGET_MIB} MiB budget",
        grew / 1024 / 1024
    );
}

/// A PNG of noise: it does not compress, so its size is about `side`² × 3 bytes.
fn noise_png(side: u32, seed: u8) -> Vec<u8> {
    let mut x = u32::from(seed) | 1;
    let image = image::RgbImage::from_fn(side, side, |_, _| {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        let [a, b, c, _] = x.to_le_bytes();
        image::Rgb([a, b, c])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    image.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

async fn upload_quota(backend: Backend) {
    let Some(app) = spawn_app_with(
        backend,
        &[
            ("upload_files_per_day", 3.into()),
            ("upload_mib_per_day", 1.into()),
        ],
    )
    .await
    else {
        return;
    };
    let (token, _) = app.login("quota-uploader").await;
    let small = noise_png(16, 1);
    for _ in 0..3 {
        let res = crate::uploads::upload(&app, Some(&token), "a.png", "image/png", &small).await;
        assert_eq!(res.status(), 201);
    }
    let res = crate::uploads::upload(&app, Some(&token), "a.png", "image/png", &small).await;
    assert_eq!(res.status(), 429, "a fourth file in a day");
    assert!(res.headers().contains_key("retry-after"));
    // Bytes count too: two files of 750 KB pass one MiB.
    let (other, _) = app.login("quota-bytes").await;
    let big = noise_png(500, 2);
    assert!(big.len() > 600 * 1024, "{}", big.len());
    let res = crate::uploads::upload(&app, Some(&other), "b.png", "image/png", &big).await;
    assert_eq!(res.status(), 201);
    let res =
        crate::uploads::upload(&app, Some(&other), "b.png", "image/png", &noise_png(500, 3)).await;
    assert_eq!(res.status(), 429);
    let stored = entity::upload::Entity::find().all(&app.db).await.unwrap();
    assert_eq!(stored.len(), 4, "refused files are not stored");
}

on_both_databases!(
    uploads_stop_at_the_daily_quota_of_files_and_bytes,
    upload_quota
);

db_test!(
    subscription_answers_are_capped_per_request_and_credits_per_template,
    |app| async move {
        let (token, person) = app.login("quota-subscriber").await;
        let answer = |results: serde_json::Value| {
            app.client
                .post(app.url("/api/v1/subscriptions"))
                .bearer_auth(&token)
                .json(&json!({ "results": results }))
                .send()
        };
        let flood: serde_json::Map<String, serde_json::Value> = (0..11)
            .map(|i| (format!("tpl_{i}"), json!("accept")))
            .collect();
        let res = answer(serde_json::Value::Object(flood)).await.unwrap();
        assert_eq!(res.status(), 400);
        for _ in 0..60 {
            let res = answer(json!({"tpl_credit": "accept"})).await.unwrap();
            assert!(res.status().is_success(), "{}", res.status());
        }
        let held = wangju::repo::subscriptions::subscription(&app.db, person, "tpl_credit")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(held.credits, wangju::repo::subscriptions::MAX_CREDITS);
    }
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_past_the_cap_wait_until_one_closes() {
    let Some(app) = spawn_app_with(Backend::Sqlite, &[("max_connections", 2.into())]).await else {
        return;
    };
    let addr = app.base.trim_start_matches("http://").to_owned();
    let first = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let second = tokio::net::TcpStream::connect(&addr).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let fresh = || {
        reqwest::Client::builder()
            .timeout(std::time::Duration::from_millis(800))
            .build()
            .unwrap()
    };
    let waited = fresh().get(app.url("/healthz")).send().await;
    assert!(
        waited.is_err(),
        "a third connection is not served while two are open"
    );
    drop(first);
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let served = fresh().get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(served.status(), 200);
    drop(second);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_trickling_one_byte_a_second_is_cut() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Some(app) = spawn_app_with(Backend::Sqlite, &[]).await else {
        return;
    };
    let (token, _) = app.login("trickler").await;
    let addr = app.base.trim_start_matches("http://").to_owned();
    let mut socket = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /api/v1/uploads HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: multipart/form-data; boundary=x\r\nContent-Length: 100000\r\n\r\n"
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    let started = std::time::Instant::now();
    let mut answer = Vec::new();
    // One byte a second until the server answers or closes (bounded: 40 s at most).
    while started.elapsed() < std::time::Duration::from_secs(40) {
        if socket.write_all(b"-").await.is_err() {
            break;
        }
        let mut chunk = [0u8; 4096];
        match tokio::time::timeout(std::time::Duration::from_secs(1), socket.read(&mut chunk)).await
        {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => {
                answer.extend_from_slice(&chunk[..n]);
                break;
            }
            Err(_) => {}
        }
    }
    let waited = started.elapsed();
    assert!(
        waited < std::time::Duration::from_secs(25),
        "cut after {waited:?}"
    );
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
        "{answer}"
    );
}
