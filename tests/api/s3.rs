//! The S3 backend against a real S3-compatible server: moto's, on a loopback port of its own.

use std::{
    process::{Child, Command, Stdio},
    time::Duration,
};

use chrono::Utc;
use reqwest::Method;
use wangju::service::uploads::sweep_orphans;

use crate::{
    helpers::{self, Backend, spawn_app_with},
    uploads::{key_of, mp3, png, upload_ok},
};

const BUCKET: &str = "wangju-media";

/// A moto S3 server on 127.0.0.1, killed when dropped.
struct Moto {
    child: Child,
    log: tempfile::NamedTempFile,
    base: String,
}

impl Moto {
    /// Starts moto and waits until it answers (the test needing it is ignored by default;
    /// `.ci/run` installs moto and runs the ignored tests).
    async fn start() -> Option<Self> {
        helpers::init();
        // The kernel picks a free port; moto binds it a moment later.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        // moto logs every request: to a file, so that a full pipe never stalls it.
        let log = tempfile::NamedTempFile::new().unwrap();
        let child = Command::new("python3")
            .args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .stdout(Stdio::null())
            .stderr(log.reopen().unwrap())
            .spawn()
            .unwrap();
        let mut moto = Self {
            child,
            log,
            base: format!("http://127.0.0.1:{port}"),
        };
        let client = reqwest::Client::new();
        for _ in 0..300 {
            if client.get(&moto.base).send().await.is_ok() {
                return Some(moto);
            }
            if let Some(status) = moto.child.try_wait().unwrap() {
                panic!("moto exited ({status}): {}", moto.log_text());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("moto did not answer within 30 s: {}", moto.log_text());
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(self.log.path()).unwrap_or_default()
    }

    /// Asks moto itself for an object, past the app. Anonymous reads of private objects are
    /// refused; moto checks who signed, not the signature, so a made-up one will do.
    fn object(
        &self,
        client: &reqwest::Client,
        method: reqwest::Method,
        key: &str,
    ) -> reqwest::RequestBuilder {
        client
            .request(method, format!("{}/{BUCKET}/{key}", self.base))
            .header(
                "authorization",
                "AWS4-HMAC-SHA256 Credential=wangju-test-key/20260101/us-east-1/s3/aws4_request, \
                 SignedHeaders=host, Signature=00",
            )
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs moto's S3 server (pip install 'moto[server]'); .ci/run runs it"]
async fn media_round_trip_through_an_s3_bucket_and_orphans_are_swept_there() {
    let Some(moto) = Moto::start().await else {
        return;
    };
    let client = reqwest::Client::new();
    // Operators create the bucket; the server only uses it.
    let created = client
        .put(format!("{}/{BUCKET}", moto.base))
        .send()
        .await
        .unwrap();
    assert!(created.status().is_success(), "{}", created.status());
    let storage = format!("s3://{BUCKET}?endpoint={}&region=us-east-1", moto.base);
    let Some(app) = spawn_app_with(
        Backend::Sqlite,
        &[
            ("storage", storage.into()),
            ("storage_access_key_id", "wangju-test-key".into()),
            ("storage_secret_access_key", "wangju-test-secret".into()),
        ],
    )
    .await
    else {
        return;
    };

    // An image goes in with one PUT; a recording over the 5 MiB part size in two parts.
    let image = png(64, 32);
    let audio = mp3(15_100);
    assert!(audio.len() > 5 * 1024 * 1024);
    let image_body = upload_ok(&app, "a.png", "image/png", &image).await;
    let audio_body = upload_ok(&app, "a.mp3", "audio/mpeg", &audio).await;

    for (body, bytes) in [(&image_body, &image), (&audio_body, &audio)] {
        let served = client
            .get(body["url"].as_str().unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(served.status(), 200);
        assert_eq!(served.bytes().await.unwrap().as_ref(), &bytes[..]);
        // The object is in the bucket itself, under the upload's key.
        let direct = moto
            .object(&client, Method::GET, &key_of(body))
            .send()
            .await
            .unwrap();
        assert_eq!(direct.status(), 200);
        assert_eq!(direct.bytes().await.unwrap().as_ref(), &bytes[..]);
    }
    // A multipart object's ETag ends in its part count.
    let head = moto
        .object(&client, Method::HEAD, &key_of(&audio_body))
        .send()
        .await
        .unwrap();
    let etag = head.headers()["etag"].to_str().unwrap().to_owned();
    assert!(etag.trim_matches('"').ends_with("-2"), "{etag}");

    // An object without a row is swept from the bucket; recorded ones stay.
    let orphan = wangju::storage::new_key("png", Utc::now());
    app.store.put(&orphan, png(4, 4).into()).await.unwrap();
    let swept = sweep_orphans(&app.db, &app.store, Duration::ZERO, Utc::now()).await;
    assert_eq!(swept.unwrap(), 1);
    let gone = moto
        .object(&client, Method::GET, &orphan)
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), 404);
    for body in [&image_body, &audio_body] {
        let kept = moto
            .object(&client, Method::GET, &key_of(body))
            .send()
            .await
            .unwrap();
        assert_eq!(kept.status(), 200);
    }
}
