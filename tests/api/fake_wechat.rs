//! A fake WeChat API server on loopback for tests: realistic answers (the sandbox's by
//! default), a record of every call, and per-path scripts: answer an errcode N times, delay,
//! or drop the connection.
//!
//! It speaks just enough HTTP/1.1 by hand (one request per connection, `Connection: close`)
//! so that a dropped connection is a real one.

use std::{
    collections::{HashMap, HashSet, VecDeque},
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use serde_json::{Value, json};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    task::JoinHandle,
};
use wangju::wechat::sandbox::{self, SandboxConfig};

/// The fake's mini-program appid (phone watermarks carry it).
pub const FAKE_MINIAPP_APPID: &str = "wxfakeminiapp01";
/// The fake's official-account appid.
pub const FAKE_MP_APPID: &str = "wxfakemp0000001";

/// The token endpoint (answers `fake-token-1`, `fake-token-2`, ... in call order).
pub const STABLE_TOKEN: &str = "/cgi-bin/stable_token";
/// Mini-program login.
pub const JSCODE2SESSION: &str = "/sns/jscode2session";
/// Text content check.
pub const MSG_SEC_CHECK: &str = "/wxa/msg_sec_check";
/// Mini-program subscribe message.
pub const SUBSCRIBE_SEND: &str = "/cgi-bin/message/subscribe/send";
/// Customer-service message.
pub const CUSTOM_SEND: &str = "/cgi-bin/message/custom/send";
/// Temporary media download.
pub const MEDIA_GET: &str = "/cgi-bin/media/get";

/// One recorded request.
#[derive(Clone, Debug)]
pub struct Call {
    /// The path.
    pub path: String,
    /// The raw query string.
    pub query: String,
    /// The body.
    pub body: Vec<u8>,
}

impl Call {
    /// A query parameter.
    pub fn param(&self, name: &str) -> Option<String> {
        url::form_urlencoded::parse(self.query.as_bytes())
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.into_owned())
    }

    /// The body as JSON (`null` when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

/// What the fake does with the next call to a path.
#[derive(Clone, Debug)]
pub enum Behaviour {
    /// Answer `{"errcode": N}`.
    Errcode(i64),
    /// Wait, then answer normally.
    Delay(Duration),
    /// Close the connection without answering.
    Drop,
}

struct State {
    calls: Mutex<Vec<Call>>,
    scripts: Mutex<HashMap<String, VecDeque<Behaviour>>>,
    rejected_tokens: Mutex<HashSet<String>>,
    tokens_issued: AtomicU64,
    sandbox: SandboxConfig,
}

impl State {
    fn next_behaviour(&self, path: &str) -> Option<Behaviour> {
        self.scripts.lock().unwrap().get_mut(path)?.pop_front()
    }

    /// The normal answer: numbered tokens, refused tokens get 40001, the rest as the sandbox.
    fn default_reply(&self, call: &Call) -> (u16, String, Vec<u8>) {
        if call.path == STABLE_TOKEN {
            let n = self.tokens_issued.fetch_add(1, Ordering::SeqCst) + 1;
            let body = json!({"access_token": format!("fake-token-{n}"), "expires_in": 7200});
            return (
                200,
                "application/json".into(),
                body.to_string().into_bytes(),
            );
        }
        if let Some(token) = call.param("access_token")
            && self.rejected_tokens.lock().unwrap().contains(&token)
        {
            return errcode_reply(
                40001,
                "invalid credential, access_token is invalid or not latest",
            );
        }
        let reply = sandbox::respond(&self.sandbox, &call.path, &call.query, &call.body);
        (reply.status, reply.content_type.to_owned(), reply.body)
    }
}

fn errcode_reply(code: i64, message: &str) -> (u16, String, Vec<u8>) {
    let reply = sandbox::error_reply(code, message);
    (reply.status, reply.content_type.to_owned(), reply.body)
}

/// A running fake; stops accepting when dropped.
pub struct FakeWechat {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    state: Arc<State>,
    task: JoinHandle<()>,
}

impl Drop for FakeWechat {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeWechat {
    /// Starts a fake on a random loopback port.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(State {
            calls: Mutex::default(),
            scripts: Mutex::default(),
            rejected_tokens: Mutex::default(),
            tokens_issued: AtomicU64::new(0),
            sandbox: SandboxConfig::new(FAKE_MINIAPP_APPID),
        });
        let accept_state = state.clone();
        let task = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(serve(socket, accept_state.clone()));
            }
        });
        Self { base, state, task }
    }

    /// Queues `behaviour` for the next `times` calls to `path`.
    pub fn script(&self, path: &str, behaviour: Behaviour, times: usize) {
        let mut scripts = self.state.scripts.lock().unwrap();
        let queue = scripts.entry(path.to_owned()).or_default();
        queue.extend(std::iter::repeat_n(behaviour, times));
    }

    /// Answers 40001 to every call made with `token` from now on.
    pub fn reject_token(&self, token: &str) {
        self.state
            .rejected_tokens
            .lock()
            .unwrap()
            .insert(token.to_owned());
    }

    /// The calls to `path`, in arrival order.
    pub fn calls(&self, path: &str) -> Vec<Call> {
        let calls = self.state.calls.lock().unwrap();
        calls.iter().filter(|c| c.path == path).cloned().collect()
    }

    /// How many calls `path` received.
    pub fn count(&self, path: &str) -> usize {
        self.calls(path).len()
    }
}

async fn serve(mut socket: TcpStream, state: Arc<State>) {
    let Some(call) = read_request(&mut socket).await else {
        return;
    };
    state.calls.lock().unwrap().push(call.clone());
    let (status, content_type, body) = match state.next_behaviour(&call.path) {
        Some(Behaviour::Drop) => return,
        Some(Behaviour::Errcode(code)) => errcode_reply(code, "scripted by the fake"),
        Some(Behaviour::Delay(pause)) => {
            tokio::time::sleep(pause).await;
            state.default_reply(&call)
        }
        None => state.default_reply(&call),
    };
    let head = format!(
        "HTTP/1.1 {status} {}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        if status == 200 { "OK" } else { "Error" },
        body.len()
    );
    let _ = socket.write_all(head.as_bytes()).await;
    let _ = socket.write_all(&body).await;
    let _ = socket.shutdown().await;
}

/// Reads one request: head up to the blank line, then `content-length` bytes of body.
async fn read_request(socket: &mut TcpStream) -> Option<Call> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..n]);
        if let Some(pos) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos + 4;
        }
        if buffer.len() > 1 << 20 {
            return None;
        }
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let target = lines.next()?.split(' ').nth(1)?.to_owned();
    let length: usize = lines
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, value)| value.trim().parse().ok())
        .unwrap_or(0);
    let mut body = buffer[head_end..].to_vec();
    while body.len() < length {
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    Some(Call {
        path: path.to_owned(),
        query: query.to_owned(),
        body,
    })
}
