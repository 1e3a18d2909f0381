//! What each scenario sends and what a correct answer looks like.
//!
//! Every callback request is built ahead of the run, signed (and in safe mode encrypted) as
//! WeChat would, with its own MsgId and openid, so no request is a retry of another.

use std::{fmt, sync::Arc};

use crate::api;

use bytes::Bytes;
use hyper::{
    Method,
    header::{HeaderName, HeaderValue},
};
use wangju::{
    campaign::replies::Replies,
    wechat::{
        crypto::{KeySlot, MessageCrypt},
        signature,
    },
};

/// Our account's `gh_` id in the generated pushes.
pub const GH: &str = "gh_wangjubench01";
/// Text every accepted slogan reply carries (`work_received` with the campaign's code prefix).
pub const SLOGAN_ACCEPTED: &str = "编号 WY-";
/// Most distinct requests one run may pre-generate (MsgIds are `run_base + index`).
pub const MAX_POOL: usize = 1_000_000;

/// A benchmark scenario.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Scenario {
    /// `GET /healthz`: the floor, a route that does no work.
    Healthz,
    /// Scenario 1: safe-mode (encrypted) text → keyword reply, encrypted.
    KeywordSafe,
    /// Scenario 2: plain text → keyword reply.
    KeywordPlain,
    /// Scenario 3: `网言网语 <text>` → a work stored in the database (plain mode).
    Slogan,
    /// Not measured: approves pending works (submitting more slogans first if there are too
    /// few) until `--min-works` are approved, and writes their ids to `--works-out`.
    SetupWorks,
    /// Scenario 4: mini-program login with a new code each (a new person and session, one
    /// `jscode2session` call to the fake WeChat); tokens go to `--tokens-out`.
    Login,
    /// Scenario 5: votes, each a distinct (person, work) pair, from `--tokens-in` and
    /// `--works-in`.
    Vote,
    /// Scenario 6: the hot listing of approved works, overall and in one category, a few pages.
    WorksHot,
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Scenario::Healthz => "healthz",
            Scenario::KeywordSafe => "keyword-safe",
            Scenario::KeywordPlain => "keyword-plain",
            Scenario::Slogan => "slogan",
            Scenario::SetupWorks => "setup-works",
            Scenario::Login => "login",
            Scenario::Vote => "vote",
            Scenario::WorksHot => "works-hot",
        })
    }
}

/// The account's callback keys, as configured on the server.
pub struct Keys {
    /// The Token.
    pub token: String,
    /// Safe-mode crypt for the official account's appid (scenario 1 only).
    pub crypt: Option<MessageCrypt>,
}

/// What a correct answer to one request contains.
#[derive(Clone, Debug)]
pub enum Expect {
    /// `{"status":"ok"}`.
    Healthy,
    /// A plain text reply to `openid` with this keyword's reply text.
    Plain { openid: String, keyword: u16 },
    /// An encrypted, signed reply that opens to the keyword's reply text for `openid`.
    Safe { openid: String, keyword: u16 },
    /// A plain reply to `openid` that confirms a stored work.
    Slogan { openid: String },
    /// JSON of a login: a token and the person's id (kept for the vote scenario).
    Login,
    /// JSON of a counted vote for `work_id`, with fewer than `cap` votes left today.
    Vote { work_id: i64, cap: u32 },
    /// A page of exactly `items` approved works (in `category`, if given).
    Listing {
        items: usize,
        category: Option<String>,
    },
    /// Any 200 answer (set-up requests).
    Status200,
}

/// One ready-to-send request.
pub struct Prepared {
    /// GET or POST.
    pub method: Method,
    /// Path and query (origin form).
    pub path: String,
    /// `Content-Type` of the body, if there is one.
    pub content_type: Option<&'static str>,
    /// Further headers (`Authorization`, `X-Forwarded-For`), parsed before the clock starts.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// Body (empty for GET).
    pub body: Bytes,
    /// What the answer must contain.
    pub expect: Expect,
}

/// How an answer was judged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The expected answer.
    Ok,
    /// `success`: the server answered before finishing (a slogan stored late, or nothing).
    Deferred,
    /// Anything else.
    Wrong,
}

/// Everything a checker needs besides the request.
pub struct Checker {
    /// Keyword reply texts by index.
    pub keyword_replies: Arc<Vec<String>>,
    /// Keys to open safe-mode replies.
    pub keys: Keys,
}

/// The keyword messages to send, with the index of their expected reply.
pub fn keyword_messages(replies: &Replies) -> (Vec<(String, u16)>, Vec<String>) {
    let mut words = Vec::new();
    let mut texts = Vec::new();
    for (index, keyword) in replies.keywords.iter().enumerate() {
        let Ok(index) = u16::try_from(index) else {
            break;
        };
        texts.push(keyword.reply.clone());
        for word in &keyword.words {
            words.push((word.clone(), index));
        }
    }
    (words, texts)
}

/// A text message XML, as WeChat sends it.
pub fn text_xml(openid: &str, msg_id: i64, create_time: i64, content: &str) -> String {
    format!(
        "<xml><ToUserName><![CDATA[{GH}]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>\
         <CreateTime>{create_time}</CreateTime><MsgType><![CDATA[text]]></MsgType>\
         <Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId></xml>"
    )
}

/// A signed callback for `xml`: plain when `crypt` is `None`, safe mode otherwise.
pub fn callback_request(
    keys: &Keys,
    safe: bool,
    xml: &str,
    timestamp: i64,
    nonce: &str,
) -> Result<(String, Bytes), String> {
    let timestamp = timestamp.to_string();
    let signature = signature::sign(&[&keys.token, &timestamp, nonce]);
    let mut path =
        format!("/wechat/callback?signature={signature}&timestamp={timestamp}&nonce={nonce}");
    if !safe {
        path.push_str("&openid=bench");
        return Ok((path, Bytes::from(xml.to_owned())));
    }
    let crypt = keys
        .crypt
        .as_ref()
        .ok_or("safe mode needs --aes-key (the server's WANGJU_MP_AES_KEY)")?;
    let encrypt = crypt.encrypt(KeySlot::Current, xml);
    let msg_signature = signature::msg_signature(&keys.token, &timestamp, nonce, &encrypt);
    path.push_str(&format!(
        "&openid=bench&encrypt_type=aes&msg_signature={msg_signature}"
    ));
    let body = format!(
        "<xml><ToUserName><![CDATA[{GH}]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
    );
    Ok((path, Bytes::from(body)))
}

/// Builds `count` distinct requests for `scenario`; MsgIds start at `msg_base`.
pub fn prepare(
    scenario: Scenario,
    keys: &Keys,
    keywords: &[(String, u16)],
    count: usize,
    msg_base: i64,
    now: i64,
) -> Result<Vec<Prepared>, String> {
    if scenario == Scenario::Healthz {
        // The floor needs no distinct requests: one, sent over and over.
        return Ok(vec![Prepared {
            method: Method::GET,
            path: "/healthz".to_owned(),
            content_type: None,
            headers: Vec::new(),
            body: Bytes::new(),
            expect: Expect::Healthy,
        }]);
    }
    callback_requests(
        scenario,
        keys,
        keywords,
        0..count.min(MAX_POOL),
        msg_base,
        now,
    )
}

/// Callback requests number `range` of `scenario` (slogan texts carry the number, so two
/// ranges never repeat a text); MsgIds start at `msg_base`.
pub fn callback_requests(
    scenario: Scenario,
    keys: &Keys,
    keywords: &[(String, u16)],
    range: std::ops::Range<usize>,
    msg_base: i64,
    now: i64,
) -> Result<Vec<Prepared>, String> {
    if keywords.is_empty() && scenario != Scenario::Slogan {
        return Err("the replies file defines no keywords".to_owned());
    }
    let first = range.start;
    let mut out = Vec::with_capacity(range.len());
    for i in range {
        // Callers keep ranges within a few million, so the offset fits.
        let index = i64::try_from(i - first).unwrap_or(i64::MAX);
        let msg_id = msg_base + index;
        let openid = format!("obench{msg_base}x{i}");
        // Distinct decimal nonces, like WeChat's.
        let nonce =
            (msg_id.unsigned_abs().wrapping_mul(2_654_435_761) % 10_000_000_000).to_string();
        let (content, expect) = match scenario {
            Scenario::KeywordSafe | Scenario::KeywordPlain => {
                let (word, keyword) = &keywords[i % keywords.len()];
                let expect = if scenario == Scenario::KeywordSafe {
                    Expect::Safe {
                        openid: openid.clone(),
                        keyword: *keyword,
                    }
                } else {
                    Expect::Plain {
                        openid: openid.clone(),
                        keyword: *keyword,
                    }
                };
                (word.clone(), expect)
            }
            Scenario::Slogan => (
                format!("网言网语 网聚职工正能量第{i}条好网言"),
                Expect::Slogan {
                    openid: openid.clone(),
                },
            ),
            other => return Err(format!("{other} is not a callback scenario")),
        };
        let xml = text_xml(&openid, msg_id, now, &content);
        let (path, body) =
            callback_request(keys, scenario == Scenario::KeywordSafe, &xml, now, &nonce)?;
        out.push(Prepared {
            method: Method::POST,
            path,
            content_type: Some("text/xml"),
            headers: Vec::new(),
            body,
            expect,
        });
    }
    Ok(out)
}

/// The text of `<name>` in an XML reply, without its CDATA wrapper.
fn field<'a>(xml: &'a str, name: &str) -> Option<&'a str> {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    let start = xml.find(&open)? + open.len();
    let end = start + xml[start..].find(&close)?;
    let value = &xml[start..end];
    Some(
        value
            .strip_prefix("<![CDATA[")
            .and_then(|v| v.strip_suffix("]]>"))
            .unwrap_or(value),
    )
}

/// A text reply addressed to `openid` whose content is `content` (or contains it, if `partial`).
fn is_text_reply(xml: &str, openid: &str, content: &str, partial: bool) -> bool {
    field(xml, "ToUserName") == Some(openid)
        && field(xml, "FromUserName") == Some(GH)
        && field(xml, "MsgType") == Some("text")
        && field(xml, "Content").is_some_and(|c| {
            if partial {
                c.contains(content)
            } else {
                c == content
            }
        })
}

impl Checker {
    /// Judges an answer with status 200.
    pub fn check(&self, expect: &Expect, body: &[u8]) -> Verdict {
        self.judge(expect, body).0
    }

    /// Judges an answer with status 200; a correct login also gives `<person id> <token>`.
    pub fn judge(&self, expect: &Expect, body: &[u8]) -> (Verdict, Option<String>) {
        let verdict = |ok: bool| if ok { Verdict::Ok } else { Verdict::Wrong };
        match expect {
            Expect::Login => match api::check_login(body) {
                Some(capture) => (Verdict::Ok, Some(capture)),
                None => (Verdict::Wrong, None),
            },
            Expect::Vote { work_id, cap } => (verdict(api::check_vote(body, *work_id, *cap)), None),
            Expect::Listing { items, category } => (
                verdict(api::check_listing(body, *items, category.as_deref())),
                None,
            ),
            Expect::Status200 => (Verdict::Ok, None),
            _ => (self.check_callback(expect, body), None),
        }
    }

    /// Judges a callback answer (or `/healthz`).
    fn check_callback(&self, expect: &Expect, body: &[u8]) -> Verdict {
        let Ok(body) = std::str::from_utf8(body) else {
            return Verdict::Wrong;
        };
        if body == "success" && !matches!(expect, Expect::Healthy) {
            return Verdict::Deferred;
        }
        let ok = match expect {
            Expect::Healthy => body.contains("\"ok\""),
            Expect::Plain { openid, keyword } => self
                .keyword_replies
                .get(usize::from(*keyword))
                .is_some_and(|text| is_text_reply(body, openid, text, false)),
            Expect::Safe { openid, keyword } => self.open_safe(body).is_some_and(|inner| {
                self.keyword_replies
                    .get(usize::from(*keyword))
                    .is_some_and(|text| is_text_reply(&inner, openid, text, false))
            }),
            Expect::Slogan { openid } => is_text_reply(body, openid, SLOGAN_ACCEPTED, true),
            Expect::Login | Expect::Vote { .. } | Expect::Listing { .. } | Expect::Status200 => {
                false
            }
        };
        if ok { Verdict::Ok } else { Verdict::Wrong }
    }

    /// Checks an encrypted reply's signature and decrypts it.
    fn open_safe(&self, body: &str) -> Option<String> {
        let crypt = self.keys.crypt.as_ref()?;
        let encrypt = field(body, "Encrypt")?;
        let signature = field(body, "MsgSignature")?;
        let timestamp = field(body, "TimeStamp")?;
        let nonce = field(body, "Nonce")?;
        if !signature::verify_msg_signature(&self.keys.token, timestamp, nonce, encrypt, signature)
        {
            return None;
        }
        crypt.decrypt(encrypt).ok().map(|d| d.plaintext)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wangju::wechat::{
        crypto::EncodingAesKey,
        inbound::{EncryptedEnvelope, Inbound, InboundKind},
        reply::Reply,
    };

    const KEY: &str = "ELWIuNG2cD6SDYxKq6GcCJPuKePruKAERf3lWP9FRVY";
    const APPID: &str = "wxsandbox0000mp01";

    fn keys() -> Keys {
        Keys {
            token: "sandbox-token".to_owned(),
            crypt: Some(MessageCrypt::new(
                APPID,
                EncodingAesKey::parse(KEY).unwrap(),
                None,
            )),
        }
    }

    fn query(path: &str, name: &str) -> String {
        path.split(['?', '&'])
            .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
            .unwrap()
            .to_owned()
    }

    fn keywords() -> Vec<(String, u16)> {
        vec![("投票".to_owned(), 0), ("规则".to_owned(), 1)]
    }

    #[test]
    fn safe_requests_open_with_the_servers_own_checks() {
        let keys = keys();
        let prepared = prepare(
            Scenario::KeywordSafe,
            &keys,
            &keywords(),
            3,
            7_000,
            1_700_000_000,
        )
        .unwrap();
        let mut msg_ids = Vec::new();
        for (i, request) in prepared.iter().enumerate() {
            let body = std::str::from_utf8(&request.body).unwrap();
            let envelope = EncryptedEnvelope::parse(body).unwrap().unwrap();
            assert!(signature::verify_msg_signature(
                &keys.token,
                &query(&request.path, "timestamp"),
                &query(&request.path, "nonce"),
                &envelope.encrypt,
                &query(&request.path, "msg_signature"),
            ));
            let plain = keys
                .crypt
                .as_ref()
                .unwrap()
                .decrypt(&envelope.encrypt)
                .unwrap();
            let inbound = Inbound::parse(&plain.plaintext).unwrap();
            let InboundKind::Text {
                content, msg_id, ..
            } = inbound.kind
            else {
                panic!("not text");
            };
            assert_eq!(content, keywords()[i % 2].0);
            msg_ids.push(msg_id);
        }
        assert_eq!(msg_ids, [7_000, 7_001, 7_002]);
    }

    #[test]
    fn plain_requests_carry_a_valid_signature_and_distinct_senders() {
        let keys = keys();
        let prepared = prepare(Scenario::Slogan, &keys, &[], 2, 9_000, 1_700_000_000).unwrap();
        for request in &prepared {
            assert!(signature::verify_signature(
                &keys.token,
                &query(&request.path, "timestamp"),
                &query(&request.path, "nonce"),
                &query(&request.path, "signature"),
            ));
        }
        let senders: Vec<_> = prepared
            .iter()
            .map(|r| {
                Inbound::parse(std::str::from_utf8(&r.body).unwrap())
                    .unwrap()
                    .from_user_name
            })
            .collect();
        assert_ne!(senders[0], senders[1]);
    }

    #[test]
    fn the_checker_accepts_the_right_reply_and_refuses_another() {
        let checker = Checker {
            keyword_replies: Arc::new(vec!["一票".to_owned(), "规则".to_owned()]),
            keys: keys(),
        };
        let reply = Reply::Text {
            content: "一票".to_owned(),
        }
        .to_xml("o1", GH, 1);
        let plain = Expect::Plain {
            openid: "o1".to_owned(),
            keyword: 0,
        };
        assert_eq!(checker.check(&plain, reply.as_bytes()), Verdict::Ok);
        let other = Expect::Plain {
            openid: "o2".to_owned(),
            keyword: 0,
        };
        assert_eq!(checker.check(&other, reply.as_bytes()), Verdict::Wrong);

        let crypt = checker.keys.crypt.as_ref().unwrap();
        let sealed = crypt.encrypted_reply(KeySlot::Current, "sandbox-token", &reply, 5, "42");
        let safe = Expect::Safe {
            openid: "o1".to_owned(),
            keyword: 0,
        };
        assert_eq!(checker.check(&safe, sealed.as_bytes()), Verdict::Ok);
        let forged = sealed.replace("<Nonce><![CDATA[42]]>", "<Nonce><![CDATA[43]]>");
        assert_eq!(checker.check(&safe, forged.as_bytes()), Verdict::Wrong);
        assert_eq!(checker.check(&safe, b"success"), Verdict::Deferred);
    }
}
