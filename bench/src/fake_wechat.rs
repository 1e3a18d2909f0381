//! `wangju-fake-wechat`: a small stand-in for `api.weixin.qq.com` on loopback, so that
//! `bench/run.sh` can run wangju in `live` mode (the real HTTP client, token authority, retries
//! and metrics) without leaving the machine. It answers the endpoints the benchmark reaches with
//! the shapes the server's client decodes (`src/wechat/client/*.rs`), and everything else with
//! `{"errcode":0,"errmsg":"ok"}`. `GET /__bench/counts` reports how often each was called.
//!
//!     wangju-fake-wechat --listen 127.0.0.1:0   # prints `LISTENING 127.0.0.1:<port>`

use std::{
    convert::Infallible,
    io::Write,
    net::SocketAddr,
    process::ExitCode,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
};

use base64::{Engine, engine::general_purpose::STANDARD};
use bytes::Bytes;
use clap::Parser;
use http_body_util::{BodyExt, Full, Limited};
use hyper::{Method, Request, Response, header, server::conn::http1, service::service_fn};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpListener;

/// Largest request body read; WeChat API bodies are small JSON documents.
const MAX_BODY: usize = 1 << 20;

/// A fake WeChat API for benchmarks.
#[derive(Debug, Parser)]
#[command(name = "wangju-fake-wechat")]
struct Args {
    /// Where to listen (loopback only; port 0 picks a free one, printed on stdout).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// When set, `jscode2session` refuses another appid (40013), as WeChat does.
    #[arg(long)]
    miniapp_appid: Option<String>,
    /// When set, `jscode2session` refuses another secret (40125), as WeChat does.
    #[arg(long)]
    miniapp_secret: Option<String>,
}

/// The endpoints counted separately in `/__bench/counts`.
const COUNTED: [&str; 6] = [
    "stable_token",
    "jscode2session",
    "msg_sec_check",
    "user_info",
    "refused",
    "other",
];

/// What the fake knows: the credentials it checks and its call counters.
#[derive(Default)]
pub struct Fake {
    miniapp_appid: Option<String>,
    miniapp_secret: Option<String>,
    counts: [AtomicU64; COUNTED.len()],
}

impl Fake {
    fn count(&self, name: &str) {
        if let Some(i) = COUNTED.iter().position(|n| *n == name) {
            self.counts[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// `name=count` pairs, space separated, in `COUNTED` order.
    pub fn counts_line(&self) -> String {
        COUNTED
            .iter()
            .zip(&self.counts)
            .map(|(name, n)| format!("{name}={}", n.load(Ordering::Relaxed)))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// The access token the fake hands out for `appid` (stable, like `stable_token`'s).
fn token_of(appid: &str) -> String {
    format!("fake-at-{appid}")
}

fn error(code: i64, message: &str) -> Value {
    json!({"errcode": code, "errmsg": message})
}

fn ok(extra: Value) -> Value {
    let mut body = json!({"errcode": 0, "errmsg": "ok"});
    if let (Some(body), Value::Object(extra)) = (body.as_object_mut(), extra) {
        body.extend(extra);
    }
    body
}

/// 16 bytes derived from `code` (FNV-1a, twice), base64: a session key of WeChat's shape.
fn session_key(code: &str) -> String {
    let mut bytes = [0u8; 16];
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for (half, chunk) in bytes.chunks_mut(8).enumerate() {
        for b in code.bytes().chain([u8::try_from(half).unwrap_or(0)]) {
            hash ^= u64::from(b);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        chunk.copy_from_slice(&hash.to_le_bytes());
    }
    STANDARD.encode(bytes)
}

/// Whether a login code is one the fake accepts: WeChat's are short base64-ish texts; ours are
/// `bench<run>-<i>`. Anything else gets 40029 (and needs no JSON escaping).
fn valid_code(code: &str) -> bool {
    !code.is_empty()
        && code.len() <= 128
        && code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Answers one request with the JSON body WeChat would send (always with status 200, as WeChat
/// does for API errors).
pub fn respond(fake: &Fake, method: &Method, path: &str, query: &str, body: &[u8]) -> Value {
    let query: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let param = |key: &str| {
        query
            .iter()
            .find(|(k, _)| k == key)
            .map_or("", |(_, v)| v.as_str())
    };
    let json_body: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let field = |key: &str| json_body.get(key).and_then(Value::as_str).unwrap_or("");
    match (method, path) {
        (&Method::POST, "/cgi-bin/stable_token") => {
            fake.count("stable_token");
            if field("appid").is_empty() || field("secret").is_empty() {
                return error(41002, "appid or secret missing");
            }
            json!({"access_token": token_of(field("appid")), "expires_in": 7200})
        }
        (&Method::GET, "/sns/jscode2session") => {
            fake.count("jscode2session");
            let (appid, secret, code) = (param("appid"), param("secret"), param("js_code"));
            if fake.miniapp_appid.as_deref().is_some_and(|a| a != appid) {
                return error(40013, "invalid appid");
            }
            if secret.is_empty() || fake.miniapp_secret.as_deref().is_some_and(|s| s != secret) {
                return error(40125, "invalid appsecret");
            }
            if param("grant_type") != "authorization_code" || !valid_code(code) {
                return error(40029, "invalid code");
            }
            // The same code is the same person: openid and unionid follow it.
            json!({
                "openid": format!("o{code}"),
                "session_key": session_key(code),
                "unionid": format!("u{code}"),
            })
        }
        _ if !param("access_token").starts_with("fake-at-") => {
            fake.count("refused");
            error(
                40001,
                "invalid credential, access_token is invalid or not latest",
            )
        }
        (&Method::POST, "/wxa/msg_sec_check") => {
            fake.count("msg_sec_check");
            ok(json!({
                "result": {"suggest": "pass", "label": 100},
                "detail": [],
                "trace_id": format!("fake-trace-{}", field("openid")),
            }))
        }
        (&Method::GET, "/cgi-bin/user/info") => {
            fake.count("user_info");
            let openid = param("openid");
            if !valid_code(openid) {
                return error(40003, "invalid openid");
            }
            ok(json!({"subscribe": 1, "openid": openid, "unionid": format!("u{openid}")}))
        }
        (&Method::POST, "/wxa/media_check_async") => {
            fake.count("other");
            ok(json!({"trace_id": "fake-media-trace"}))
        }
        (&Method::POST, "/wxa/getuserriskrank") => {
            fake.count("other");
            ok(json!({"risk_rank": 0}))
        }
        (&Method::POST, "/cgi-bin/message/template/send") => {
            fake.count("other");
            ok(json!({"msgid": 1}))
        }
        _ => {
            fake.count("other");
            ok(json!({}))
        }
    }
}

async fn handle(
    fake: Arc<Fake>,
    request: Request<hyper::body::Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let query = request.uri().query().unwrap_or_default().to_owned();
    if path == "/__bench/counts" {
        return Ok(answer(200, "text/plain", fake.counts_line()));
    }
    let body = match Limited::new(request.into_body(), MAX_BODY).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => return Ok(answer(400, "text/plain", "bad body".to_owned())),
    };
    let value = respond(&fake, &method, &path, &query, &body);
    Ok(answer(
        200,
        "application/json; charset=utf-8",
        value.to_string(),
    ))
}

fn answer(status: u16, content_type: &'static str, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or_default();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(content_type),
    );
    response
}

async fn serve(listener: TcpListener, fake: Arc<Fake>) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Out of descriptors and the like: say so and keep serving.
                eprintln!("wangju-fake-wechat: accept: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                continue;
            }
        };
        // Small answers: send them at once rather than waiting for Nagle.
        let _ = stream.set_nodelay(true);
        let fake = fake.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| handle(fake.clone(), request));
            // A client that goes away mid-request is not our problem.
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    if !args.listen.ip().is_loopback() {
        eprintln!(
            "wangju-fake-wechat: {} is not a loopback address",
            args.listen
        );
        return ExitCode::FAILURE;
    }
    // One thread: the fake should cost the shared machine as little as possible.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("wangju-fake-wechat: runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let fake = Arc::new(Fake {
        miniapp_appid: args.miniapp_appid,
        miniapp_secret: args.miniapp_secret,
        ..Fake::default()
    });
    runtime.block_on(async {
        let listener = match TcpListener::bind(args.listen).await {
            Ok(listener) => listener,
            Err(e) => {
                eprintln!("wangju-fake-wechat: bind {}: {e}", args.listen);
                return ExitCode::FAILURE;
            }
        };
        let bound = match listener.local_addr() {
            Ok(addr) => addr,
            Err(e) => {
                eprintln!("wangju-fake-wechat: local address: {e}");
                return ExitCode::FAILURE;
            }
        };
        // run.sh waits for this line to learn the port.
        println!("LISTENING {bound}");
        let _ = std::io::stdout().flush();
        serve(listener, fake).await;
        ExitCode::SUCCESS
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use wangju::wechat::client::{FollowerInfo, SecCheckResult, Session, Suggest};

    fn fake() -> Fake {
        Fake {
            miniapp_appid: Some("wxapp".to_owned()),
            miniapp_secret: Some("s3cret".to_owned()),
            ..Fake::default()
        }
    }

    fn login(fake: &Fake, query: &str) -> Value {
        respond(fake, &Method::GET, "/sns/jscode2session", query, b"")
    }

    #[test]
    fn a_login_code_is_the_same_person_every_time_and_decodes_as_a_session() {
        let fake = fake();
        let query = "appid=wxapp&secret=s3cret&js_code=bench7-42&grant_type=authorization_code";
        let first = login(&fake, query);
        assert_eq!(first, login(&fake, query));
        let session: Session = serde_json::from_value(first).unwrap();
        assert_eq!(session.openid, "obench7-42");
        assert_eq!(session.unionid.as_deref(), Some("ubench7-42"));
        let other: Session = serde_json::from_value(login(
            &fake,
            "appid=wxapp&secret=s3cret&js_code=bench7-43&grant_type=authorization_code",
        ))
        .unwrap();
        assert_ne!(other.openid, session.openid);
        assert_eq!(STANDARD.decode(session_key("bench7-42")).unwrap().len(), 16);
        assert!(fake.counts_line().contains("jscode2session=3"));
    }

    #[test]
    fn wrong_credentials_and_bad_codes_get_wechats_errcodes() {
        let fake = fake();
        let code = |q: &str| login(&fake, q)["errcode"].as_i64();
        assert_eq!(
            code("appid=other&secret=s3cret&js_code=a&grant_type=authorization_code"),
            Some(40013)
        );
        assert_eq!(
            code("appid=wxapp&secret=nope&js_code=a&grant_type=authorization_code"),
            Some(40125)
        );
        assert_eq!(
            code("appid=wxapp&secret=s3cret&js_code=a%22b&grant_type=authorization_code"),
            Some(40029)
        );
    }

    #[test]
    fn token_calls_need_the_token_and_answer_the_clients_shapes() {
        let fake = fake();
        let token = respond(
            &fake,
            &Method::POST,
            "/cgi-bin/stable_token",
            "",
            br#"{"grant_type":"client_credential","appid":"wxapp","secret":"s3cret","force_refresh":false}"#,
        );
        assert_eq!(token["expires_in"], 7200);
        let access = format!("access_token={}", token["access_token"].as_str().unwrap());

        let check = respond(
            &fake,
            &Method::POST,
            "/wxa/msg_sec_check",
            &access,
            br#"{"version":2,"openid":"o1","scene":2,"content":"hi"}"#,
        );
        let check: SecCheckResult = serde_json::from_value(check).unwrap();
        assert_eq!(check.result.suggest, Suggest::Pass);
        assert_eq!(check.result.label, 100);

        let info = respond(
            &fake,
            &Method::GET,
            "/cgi-bin/user/info",
            &format!("{access}&openid=obench1x2&lang=zh_CN"),
            b"",
        );
        let info: FollowerInfo = serde_json::from_value(info).unwrap();
        assert_eq!(info.openid, "obench1x2");

        let other = respond(
            &fake,
            &Method::POST,
            "/cgi-bin/message/custom/send",
            &access,
            b"{}",
        );
        assert_eq!(other, json!({"errcode": 0, "errmsg": "ok"}));
        let refused = respond(&fake, &Method::POST, "/wxa/msg_sec_check", "", b"{}");
        assert_eq!(refused["errcode"], 40001);
        assert!(fake.counts_line().contains("refused=1"));
    }
}
