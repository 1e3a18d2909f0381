//! The in-process WeChat simulator (`WANGJU_WECHAT_MODE=sandbox`, refused in production).
//!
//! [`respond`] is a plain function (path, query, body) → reply, so the client's sandbox
//! transport and the tests' fake WeChat answer alike. Login codes map to stable openids,
//! content checks pass unless the text holds a test word, and sends succeed, are logged and
//! are kept in memory. Like WeChat, the simulator answers `media_check_async` later, with a
//! `wxa_media_check` push (to whatever [`Sandbox::push_to`] connected).

use std::{
    collections::{HashMap, VecDeque},
    sync::Mutex,
};

use serde_json::{Value, json};
use sha1::{Digest, Sha1};
use tokio::sync::mpsc;

/// How many sent messages the sandbox keeps in memory (the oldest go first).
const SENT_KEPT: usize = 1_000;

/// A 1×1 white PNG: the sandbox's answer wherever WeChat answers an image.
pub const SANDBOX_PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0b, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8, 0x0f, 0x04, 0x00,
    0x09, 0xfb, 0x03, 0xfd, 0xfb, 0x5e, 0x6b, 0x2b, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44,
    0xae, 0x42, 0x60, 0x82,
];

/// What the simulator needs to know.
#[derive(Clone, Debug)]
pub struct SandboxConfig {
    /// The mini program's appid (phone watermarks carry it).
    pub miniapp_appid: String,
    /// Texts containing any of these are judged `risky`.
    pub risky_words: Vec<String>,
    /// Texts containing any of these are judged `review`.
    pub review_words: Vec<String>,
}

impl SandboxConfig {
    /// The default test words for the mini program `miniapp_appid`.
    pub fn new(miniapp_appid: impl Into<String>) -> Self {
        Self {
            miniapp_appid: miniapp_appid.into(),
            risky_words: vec!["违规测试".to_owned(), "risky-test".to_owned()],
            review_words: vec!["review-test".to_owned()],
        }
    }
}

/// One answer of the simulated API.
#[derive(Clone, Debug)]
pub struct SandboxReply {
    /// HTTP status.
    pub status: u16,
    /// `Content-Type`.
    pub content_type: &'static str,
    /// The body.
    pub body: Vec<u8>,
}

impl SandboxReply {
    fn json(value: &Value) -> Self {
        Self {
            status: 200,
            content_type: "application/json; charset=utf-8",
            body: value.to_string().into_bytes(),
        }
    }
}

/// WeChat's error body for `code`.
pub fn error_reply(code: i64, message: &str) -> SandboxReply {
    SandboxReply::json(&json!({"errcode": code, "errmsg": message}))
}

fn ok(extra: Value) -> SandboxReply {
    let mut body = json!({"errcode": 0, "errmsg": "ok"});
    if let (Some(body), Value::Object(extra)) = (body.as_object_mut(), extra) {
        body.extend(extra);
    }
    SandboxReply::json(&body)
}

/// The first `len` hex digits of sha1(`parts` joined).
fn digest(parts: &[&str], len: usize) -> String {
    let mut hasher = Sha1::new();
    for part in parts {
        hasher.update(part.as_bytes());
    }
    let mut text = hex::encode(hasher.finalize());
    text.truncate(len);
    text
}

/// The sandbox openid of login `code` in `appid`: stable, so the same test user comes back.
pub fn sandbox_openid(appid: &str, code: &str) -> String {
    format!("sbx_{}", digest(&[appid, code], 24))
}

/// Answers one request the way WeChat would; `query` is the raw query string.
pub fn respond(config: &SandboxConfig, path: &str, query: &str, body: &[u8]) -> SandboxReply {
    let query: HashMap<String, String> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let body: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let text = |key: &str| body.get(key).and_then(Value::as_str).unwrap_or_default();
    match path {
        "/cgi-bin/stable_token" => stable_token(text("appid"), text("secret")),
        "/sns/jscode2session" => jscode2session(&query),
        _ if !is_known(path) => SandboxReply {
            status: 404,
            content_type: "text/plain",
            body: b"not found".to_vec(),
        },
        _ if query.get("access_token").is_none_or(String::is_empty) => {
            error_reply(41001, "access_token missing")
        }
        "/wxa/business/getuserphonenumber" => phone_number(config, text("code")),
        "/wxa/msg_sec_check" => msg_sec_check(config, &body),
        "/wxa/media_check_async" => ok(json!({
            "trace_id": format!("sbx_trace_{}", digest(&[text("media_url")], 24)),
        })),
        "/cgi-bin/message/subscribe/send" | "/cgi-bin/message/custom/send" => {
            if text("touser").is_empty() {
                error_reply(40003, "invalid openid")
            } else {
                ok(json!({}))
            }
        }
        "/cgi-bin/message/template/send" => {
            if text("touser").is_empty() {
                error_reply(40003, "invalid openid")
            } else {
                // A stable msgid per send (WeChat's are unique per message).
                let seed = format!("{}{}", text("touser"), text("client_msg_id"));
                let msgid = seed.bytes().fold(1_000_000_000_i64, |acc, b| {
                    acc.wrapping_mul(31).wrapping_add(i64::from(b)) & 0x3fff_ffff_ffff
                });
                ok(json!({"msgid": msgid}))
            }
        }
        "/cgi-bin/media/get" => media_get(query.get("media_id").map_or("", String::as_str)),
        "/wxa/getwxacodeunlimit" => wxacode(text("scene"), text("page")),
        "/cgi-bin/menu/create" => ok(json!({})),
        "/wxa/getuserriskrank" => ok(json!({"risk_rank": 0})),
        "/cgi-bin/user/info" => follower_info(query.get("openid").map_or("", String::as_str)),
        _ => error_reply(48001, "api unauthorized"),
    }
}

fn is_known(path: &str) -> bool {
    matches!(
        path,
        "/wxa/business/getuserphonenumber"
            | "/wxa/msg_sec_check"
            | "/wxa/media_check_async"
            | "/cgi-bin/message/subscribe/send"
            | "/cgi-bin/message/custom/send"
            | "/cgi-bin/message/template/send"
            | "/cgi-bin/media/get"
            | "/wxa/getwxacodeunlimit"
            | "/cgi-bin/menu/create"
            | "/wxa/getuserriskrank"
            | "/cgi-bin/user/info"
    )
}

fn is_send(path: &str) -> bool {
    matches!(
        path,
        "/cgi-bin/message/subscribe/send"
            | "/cgi-bin/message/custom/send"
            | "/cgi-bin/message/template/send"
    )
}

/// A follower's profile. The simulator's unionid follows the openid text, so that a follower
/// `alice` and a mini-program login with code `alice` are the same person.
fn follower_info(openid: &str) -> SandboxReply {
    if openid.is_empty() {
        return error_reply(40003, "invalid openid");
    }
    ok(json!({
        "subscribe": 1,
        "openid": openid,
        "unionid": format!("sbx_u_{}", digest(&["union", openid], 24)),
    }))
}

fn stable_token(appid: &str, secret: &str) -> SandboxReply {
    if appid.is_empty() || secret.is_empty() {
        return error_reply(41002, "appid or secret missing");
    }
    ok(json!({
        "access_token": format!("sbx_at_{}", digest(&["token", appid, secret], 40)),
        "expires_in": 7200,
    }))
}

fn jscode2session(query: &HashMap<String, String>) -> SandboxReply {
    let get = |key: &str| query.get(key).map_or("", String::as_str);
    let (appid, code) = (get("appid"), get("js_code"));
    if appid.is_empty() || get("secret").is_empty() {
        return error_reply(41002, "appid or secret missing");
    }
    // Test codes that exercise the documented refusals.
    if code.is_empty() || code.starts_with("invalid") {
        return error_reply(40029, "invalid code");
    }
    if code.starts_with("blocked") {
        return error_reply(40226, "high risk user, login blocked");
    }
    SandboxReply::json(&json!({
        "openid": sandbox_openid(appid, code),
        // The unionid follows the person (the code), not the app.
        "unionid": format!("sbx_u_{}", digest(&["union", code], 24)),
        "session_key": format!("{}==", digest(&["session", appid, code], 22)),
    }))
}

fn phone_number(config: &SandboxConfig, code: &str) -> SandboxReply {
    if code.is_empty() || code.starts_with("invalid") {
        return error_reply(40029, "invalid code");
    }
    let digits: String = digest(&["phone", code], 40)
        .bytes()
        .map(|b| char::from(b'0' + b % 10))
        .take(8)
        .collect();
    let pure = format!("138{digits}");
    ok(json!({
        "phone_info": {
            "phoneNumber": pure,
            "purePhoneNumber": pure,
            "countryCode": "86",
            "watermark": {"timestamp": 1_714_036_504_i64, "appid": config.miniapp_appid},
        }
    }))
}

fn msg_sec_check(config: &SandboxConfig, body: &Value) -> SandboxReply {
    let texts: Vec<&str> = ["content", "nickname", "title", "signature"]
        .iter()
        .filter_map(|key| body.get(*key).and_then(Value::as_str))
        .collect();
    let hit = |words: &[String]| {
        words
            .iter()
            .find(|word| texts.iter().any(|text| text.contains(word.as_str())))
            .cloned()
    };
    let (suggest, label, keyword) = if let Some(word) = hit(&config.risky_words) {
        ("risky", 21000, Some(word))
    } else if let Some(word) = hit(&config.review_words) {
        ("review", 21000, Some(word))
    } else {
        ("pass", 100, None)
    };
    let content = body.get("content").and_then(Value::as_str).unwrap_or("");
    ok(json!({
        "trace_id": format!("sbx_trace_{}", digest(&[content], 24)),
        "result": {"suggest": suggest, "label": label},
        "detail": [{
            "strategy": "keyword",
            "errcode": 0,
            "suggest": suggest,
            "label": label,
            "prob": if keyword.is_some() { 90 } else { 0 },
            "keyword": keyword,
        }],
    }))
}

fn media_get(media_id: &str) -> SandboxReply {
    if media_id.is_empty() || media_id.starts_with("missing") {
        return error_reply(40007, "invalid media_id");
    }
    SandboxReply {
        status: 200,
        content_type: "image/png",
        body: SANDBOX_PNG.to_vec(),
    }
}

fn wxacode(scene: &str, page: &str) -> SandboxReply {
    let allowed = |c: char| c.is_ascii_alphanumeric() || "!#$&'()*+,/:;=?@-._~".contains(c);
    if scene.is_empty() || scene.chars().count() > 32 || !scene.chars().all(allowed) {
        return error_reply(40169, "invalid length for scene");
    }
    if page.starts_with('/') || page.contains('?') {
        return error_reply(41030, "invalid page");
    }
    SandboxReply {
        status: 200,
        content_type: "image/png",
        body: SANDBOX_PNG.to_vec(),
    }
}

/// A message the sandbox accepted.
#[derive(Clone, Debug)]
pub struct SentMessage {
    /// The API path it was sent to.
    pub path: String,
    /// The recipient openid.
    pub touser: String,
    /// The whole request body.
    pub body: Value,
}

/// The simulator behind the client's sandbox transport: [`respond`], plus logs and a record of sends.
#[derive(Debug)]
pub struct Sandbox {
    config: SandboxConfig,
    sent: Mutex<VecDeque<SentMessage>>,
    pushes: Mutex<Option<mpsc::Sender<String>>>,
}

impl Sandbox {
    /// A simulator with `config`.
    pub fn new(config: SandboxConfig) -> Self {
        Self {
            config,
            sent: Mutex::new(VecDeque::new()),
            pushes: Mutex::new(None),
        }
    }

    /// Where the simulator's own pushes (media-check verdicts, as plain XML) go, as WeChat
    /// pushes them to the mini program's callback.
    pub fn push_to(&self, sink: mpsc::Sender<String>) {
        *self.pushes.lock().unwrap_or_else(|p| p.into_inner()) = Some(sink);
    }

    fn push(&self, xml: String) {
        let pushes = self.pushes.lock().unwrap_or_else(|p| p.into_inner());
        let Some(sink) = pushes.as_ref() else {
            return;
        };
        // WeChat, too, may never deliver a verdict: the moderation timeout covers a dropped one.
        if sink.try_send(xml).is_err() {
            tracing::warn!("sandbox: push dropped (nobody takes them, or too many waiting)");
        }
    }

    /// Its configuration.
    pub fn config(&self) -> &SandboxConfig {
        &self.config
    }

    /// Answers one request and records successful sends.
    pub fn handle(&self, path: &str, query: &str, body: &[u8]) -> SandboxReply {
        let reply = respond(&self.config, path, query, body);
        if path == "/wxa/media_check_async" && reply.status == 200 && !reply_is_error(&reply) {
            let asked: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
            let answered: Value = serde_json::from_slice(&reply.body).unwrap_or(Value::Null);
            let text = |v: &Value, key: &str| {
                v.get(key)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned()
            };
            self.push(media_check_event(
                &self.config,
                &text(&answered, "trace_id"),
                &text(&asked, "media_url"),
            ));
        }
        if is_send(path) && reply.status == 200 && !reply_is_error(&reply) {
            let body: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
            let touser = body
                .get("touser")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            tracing::info!(wechat.api = path, wechat.touser = %touser, wechat.body = %body, "sandbox: message sent");
            let mut sent = self.sent.lock().unwrap_or_else(|p| p.into_inner());
            if sent.len() == SENT_KEPT {
                sent.pop_front();
            }
            sent.push_back(SentMessage {
                path: path.to_owned(),
                touser,
                body,
            });
        }
        reply
    }

    /// The messages sent so far, oldest first.
    pub fn sent(&self) -> Vec<SentMessage> {
        let sent = self.sent.lock().unwrap_or_else(|p| p.into_inner());
        sent.iter().cloned().collect()
    }
}

/// The `wxa_media_check` push WeChat sends when an asynchronous check is done: `risky` or
/// `review` when the media URL holds a test word, else `pass`.
pub fn media_check_event(config: &SandboxConfig, trace_id: &str, media_url: &str) -> String {
    let holds = |words: &[String]| words.iter().any(|w| media_url.contains(w.as_str()));
    let (suggest, label) = if holds(&config.risky_words) {
        ("risky", 20002)
    } else if holds(&config.review_words) {
        ("review", 20002)
    } else {
        ("pass", 100)
    };
    let now = chrono::Utc::now().timestamp();
    format!(
        "<xml><ToUserName><![CDATA[gh_sandbox_miniapp]]></ToUserName>\
         <FromUserName><![CDATA[oSandboxSystem]]></FromUserName><CreateTime>{now}</CreateTime>\
         <MsgType><![CDATA[event]]></MsgType><Event><![CDATA[wxa_media_check]]></Event>\
         <appid><![CDATA[{appid}]]></appid><trace_id><![CDATA[{trace_id}]]></trace_id>\
         <version>2</version><result><suggest><![CDATA[{suggest}]]></suggest>\
         <label>{label}</label></result><errcode>0</errcode><errmsg><![CDATA[ok]]></errmsg></xml>",
        appid = config.miniapp_appid,
    )
}

fn reply_is_error(reply: &SandboxReply) -> bool {
    serde_json::from_slice::<Value>(&reply.body)
        .ok()
        .and_then(|v| v.get("errcode").and_then(Value::as_i64))
        .is_some_and(|code| code != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> SandboxConfig {
        SandboxConfig::new("wxsandbox0000app1")
    }

    fn json_of(reply: &SandboxReply) -> Value {
        serde_json::from_slice(&reply.body).unwrap()
    }

    #[tokio::test]
    async fn an_async_media_check_is_answered_later_by_a_verdict_push() {
        use crate::wechat::inbound::{Event, Inbound, InboundKind};
        let sandbox = Sandbox::new(config());
        let (sink, mut pushes) = mpsc::channel(4);
        sandbox.push_to(sink);
        let ask = |url: &str| {
            let body = json!({"media_url": url, "media_type": 2, "version": 2, "scene": 3,
                              "openid": "o1"});
            json_of(&sandbox.handle(
                "/wxa/media_check_async",
                "access_token=t",
                body.to_string().as_bytes(),
            ))
        };
        for (url, expected) in [
            ("https://x/ok.png", "pass"),
            ("https://x/risky-test.png", "risky"),
        ] {
            let ticket = ask(url);
            let xml = pushes.recv().await.unwrap();
            let Ok(Inbound {
                kind:
                    InboundKind::Event(Event::WxaMediaCheck {
                        trace_id, suggest, ..
                    }),
                ..
            }) = Inbound::parse(&xml)
            else {
                panic!("not a media-check push: {xml}");
            };
            assert_eq!(ticket["trace_id"].as_str(), Some(trace_id.as_str()));
            assert_eq!(suggest.as_deref(), Some(expected));
        }
    }

    fn login(code: &str) -> Value {
        let query = format!("appid=wxapp&secret=s&js_code={code}&grant_type=authorization_code");
        json_of(&respond(&config(), "/sns/jscode2session", &query, b""))
    }

    #[test]
    fn login_codes_map_to_stable_openids() {
        let alice = login("alice");
        assert_eq!(alice["openid"], login("alice")["openid"]);
        assert_ne!(alice["openid"], login("bob")["openid"]);
        assert!(alice["openid"].as_str().unwrap().starts_with("sbx_"));
        assert!(alice["unionid"].is_string());
        assert_eq!(login("invalid-1")["errcode"], 40029);
        assert_eq!(login("blocked-1")["errcode"], 40226);
    }

    #[test]
    fn content_checks_pass_unless_a_test_word_appears() {
        let check = |content: &str| {
            let body = json!({"version":2,"openid":"o","scene":2,"content":content}).to_string();
            let reply = respond(
                &config(),
                "/wxa/msg_sec_check",
                "access_token=t",
                body.as_bytes(),
            );
            json_of(&reply)["result"]["suggest"].clone()
        };
        assert_eq!(check("加油！"), "pass");
        assert_eq!(check("这是违规测试内容"), "risky");
        assert_eq!(check("please review-test this"), "review");
    }

    #[test]
    fn calls_without_a_token_are_refused() {
        let reply = respond(&config(), "/cgi-bin/message/custom/send", "", b"{}");
        assert_eq!(json_of(&reply)["errcode"], 41001);
    }

    #[test]
    fn sends_are_recorded() {
        let sandbox = Sandbox::new(config());
        let body = br#"{"touser":"o1","msgtype":"text","text":{"content":"hi"}}"#;
        let reply = sandbox.handle("/cgi-bin/message/custom/send", "access_token=t", body);
        assert_eq!(json_of(&reply)["errcode"], 0);
        let sent = sandbox.sent();
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].touser, "o1");
    }

    #[test]
    fn media_is_bytes_or_a_json_error() {
        let image = respond(
            &config(),
            "/cgi-bin/media/get",
            "access_token=t&media_id=m1",
            b"",
        );
        assert_eq!(image.content_type, "image/png");
        assert!(image.body.starts_with(b"\x89PNG"));
        let missing = respond(
            &config(),
            "/cgi-bin/media/get",
            "access_token=t&media_id=missing",
            b"",
        );
        assert_eq!(json_of(&missing)["errcode"], 40007);
    }
}
