//! Interoperability: wechatpy (an independent implementation) encrypts a push as WeChat would,
//! our server answers, and wechatpy verifies and decrypts the reply.

use std::{
    io::Write,
    process::{Command, Stdio},
};

use serde_json::{Value, json};

use crate::{
    helpers::{Backend, spawn_app_with},
    push::{self, AES_KEY, GH, MP_APPID, TOKEN},
};

const PEER: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/interop/wechatpy_peer.py"
);

/// Runs the wechatpy peer on `request`; wechatpy must be installed (the test is ignored by
/// default, and `.ci/run` installs it and runs the ignored tests).
fn wechatpy(request: Value) -> Option<Value> {
    let mut child = Command::new("python3")
        .arg(PEER)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(request.to_string().as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "wechatpy peer failed");
    Some(serde_json::from_slice(&output.stdout).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs wechatpy (pip install wechatpy cryptography); .ci/run runs it"]
async fn a_push_encrypted_by_wechatpy_is_answered_in_a_reply_wechatpy_accepts() {
    let Some(app) = spawn_app_with(Backend::Sqlite, &[("mp_aes_key", AES_KEY.into())]).await else {
        return;
    };
    let timestamp = chrono::Utc::now().timestamp().to_string();
    let nonce = "24680";
    let xml = push::text("oInterop", 777, chrono::Utc::now().timestamp(), "投票");
    let Some(sealed) = wechatpy(json!({
        "op": "encrypt", "token": TOKEN, "aes_key": AES_KEY, "appid": MP_APPID,
        "xml": xml, "nonce": nonce, "timestamp": timestamp,
    })) else {
        return;
    };
    let encrypt = sealed["encrypt"].as_str().unwrap();
    let body = format!(
        "<xml><ToUserName><![CDATA[{GH}]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
    );
    let res = app
        .client
        .post(app.url("/wechat/callback"))
        .query(&[
            ("timestamp", timestamp.as_str()),
            ("nonce", nonce),
            ("encrypt_type", "aes"),
            ("msg_signature", sealed["msg_signature"].as_str().unwrap()),
        ])
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let reply = res.text().await.unwrap();
    let opened = wechatpy(json!({
        "op": "decrypt", "token": TOKEN, "aes_key": AES_KEY, "appid": MP_APPID, "reply": reply,
    }))
    .unwrap();
    let inner = opened["xml"].as_str().unwrap();
    assert!(
        inner.contains("<ToUserName><![CDATA[oInterop]]></ToUserName>"),
        "{inner}"
    );
    assert!(
        push::content(inner).contains("每人每天每件作品可投一票"),
        "{inner}"
    );
}
