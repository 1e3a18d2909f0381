//! Criterion micro-benchmarks of the callback's protocol work, on the server's own code:
//! signature check, safe-mode open (envelope + msg_signature + decrypt + parse) of a text push,
//! and an encrypted text reply. `cargo bench -p bench --bench wechat`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use wangju::wechat::{
    crypto::{EncodingAesKey, KeySlot, MessageCrypt},
    inbound::{EncryptedEnvelope, Inbound},
    reply::Reply,
    signature,
};

const TOKEN: &str = "sandbox-token";
const APPID: &str = "wxsandbox0000mp01";
const AES_KEY: &str = "ELWIuNG2cD6SDYxKq6GcCJPuKePruKAERf3lWP9FRVY";
const TIMESTAMP: &str = "1714036504";
const NONCE: &str = "1514711492";

fn text_push() -> String {
    "<xml><ToUserName><![CDATA[gh_1a2b3c4d5e6f]]></ToUserName>\
     <FromUserName><![CDATA[oBench0123456789abcdefghijk]]></FromUserName>\
     <CreateTime>1714036504</CreateTime><MsgType><![CDATA[text]]></MsgType>\
     <Content><![CDATA[活动介绍]]></Content><MsgId>24400000000000001</MsgId></xml>"
        .to_owned()
}

#[expect(
    clippy::expect_used,
    reason = "a benchmark with a broken fixed key cannot run"
)]
fn crypt() -> MessageCrypt {
    MessageCrypt::new(
        APPID,
        EncodingAesKey::parse(AES_KEY).expect("the fixed key is valid"),
        None,
    )
}

fn signatures(c: &mut Criterion) {
    let signature = signature::sign(&[TOKEN, TIMESTAMP, NONCE]);
    c.bench_function("signature_verify (plain mode)", |b| {
        b.iter(|| {
            signature::verify_signature(
                black_box(TOKEN),
                black_box(TIMESTAMP),
                black_box(NONCE),
                black_box(&signature),
            )
        })
    });
    let encrypt = crypt().encrypt(KeySlot::Current, &text_push());
    let msg_signature = signature::msg_signature(TOKEN, TIMESTAMP, NONCE, &encrypt);
    c.bench_function("msg_signature_verify (safe mode)", |b| {
        b.iter(|| {
            signature::verify_msg_signature(
                black_box(TOKEN),
                black_box(TIMESTAMP),
                black_box(NONCE),
                black_box(&encrypt),
                black_box(&msg_signature),
            )
        })
    });
}

#[expect(
    clippy::expect_used,
    reason = "a push that does not open is a broken benchmark"
)]
fn open_text_push(c: &mut Criterion) {
    let crypt = crypt();
    let encrypt = crypt.encrypt(KeySlot::Current, &text_push());
    let body = format!(
        "<xml><ToUserName><![CDATA[gh_1a2b3c4d5e6f]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
    );
    c.bench_function(
        "safe_decrypt_parse (envelope + decrypt + parse text)",
        |b| {
            b.iter(|| {
                let envelope = EncryptedEnvelope::parse(black_box(&body))
                    .expect("envelope")
                    .expect("Encrypt");
                let plain = crypt.decrypt(&envelope.encrypt).expect("decrypts");
                Inbound::parse(&plain.plaintext).expect("parses")
            })
        },
    );
    c.bench_function("plain_parse (text push)", |b| {
        let xml = text_push();
        b.iter(|| Inbound::parse(black_box(&xml)).expect("parses"))
    });
}

fn encrypt_reply(c: &mut Criterion) {
    let crypt = crypt();
    let reply = Reply::Text {
        content: "9—10月展示评选期间，请进入小程序为喜欢的作品投票，每人每天每件作品可投一票。"
            .to_owned(),
    };
    c.bench_function("reply_encrypt (render + encrypt + sign text reply)", |b| {
        b.iter(|| {
            let xml = black_box(&reply).to_xml(
                "oBench0123456789abcdefghijk",
                "gh_1a2b3c4d5e6f",
                1_714_036_504,
            );
            crypt.encrypted_reply(KeySlot::Current, TOKEN, &xml, 1_714_036_504, NONCE)
        })
    });
}

criterion_group!(benches, signatures, open_text_push, encrypt_reply);
criterion_main!(benches);
