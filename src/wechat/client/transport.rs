//! How requests reach WeChat: over HTTP with reqwest, or into the in-process sandbox.
//!
//! Both carry the same [`WireRequest`] and give back the same [`WireResponse`], so the
//! sandbox runs the very code (errcodes, retries, tokens) that production runs.

use std::{sync::Arc, time::Duration};

use bytes::Bytes;
use reqwest::header::{CONTENT_DISPOSITION, CONTENT_TYPE};

use super::{endpoint::Endpoint, error::WechatError};
use crate::wechat::sandbox::Sandbox;

/// Connection and read limits of the HTTP transport.
#[derive(Clone, Copy, Debug)]
pub struct Timeouts {
    /// Time to open a connection.
    pub connect: Duration,
    /// Longest silence while waiting for or reading the answer.
    pub read: Duration,
    /// Upper bound of one attempt, end to end.
    pub total: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(3),
            read: Duration::from_secs(10),
            total: Duration::from_secs(15),
        }
    }
}

/// HTTP method of a WeChat endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Method {
    /// Parameters in the query.
    Get,
    /// A JSON body.
    Post,
}

/// One request, independent of the transport. Never logged: the query holds secrets.
pub(crate) struct WireRequest {
    pub(crate) method: Method,
    pub(crate) endpoint: Endpoint,
    pub(crate) query: Vec<(&'static str, String)>,
    pub(crate) body: Option<Vec<u8>>,
}

impl WireRequest {
    /// A GET of `endpoint` with `query`.
    pub(crate) fn get(endpoint: Endpoint, query: Vec<(&'static str, String)>) -> Self {
        Self {
            method: Method::Get,
            endpoint,
            query,
            body: None,
        }
    }

    /// A POST of a JSON `body` to `endpoint` with `query`.
    pub(crate) fn post(
        endpoint: Endpoint,
        query: Vec<(&'static str, String)>,
        body: Vec<u8>,
    ) -> Self {
        Self {
            method: Method::Post,
            endpoint,
            query,
            body: Some(body),
        }
    }

    /// The query in `application/x-www-form-urlencoded` form.
    pub(crate) fn encoded_query(&self) -> String {
        url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(self.query.iter().map(|(k, v)| (*k, v.as_str())))
            .finish()
    }
}

/// What came back: status, content type, disposition and body.
#[derive(Clone, Debug)]
pub struct WireResponse {
    /// HTTP status.
    pub status: u16,
    /// `Content-Type`, empty when absent.
    pub content_type: String,
    /// `Content-Disposition`, when present (media downloads name their file there).
    pub content_disposition: Option<String>,
    /// The body.
    pub body: Bytes,
}

impl WireResponse {
    /// Whether the body is (or may be) JSON: WeChat sends error JSON as `text/plain` at times.
    pub fn looks_like_json(&self) -> bool {
        let ct = self.content_type.to_ascii_lowercase();
        ct.starts_with("application/json") || ct.starts_with("text/")
    }
}

/// Where requests go.
#[derive(Clone)]
pub enum Transport {
    /// The real WeChat API (or a fake of it) over HTTP.
    Http(HttpTransport),
    /// The in-process simulator.
    Sandbox(Arc<Sandbox>),
}

impl Transport {
    /// Sends one request once.
    pub(crate) async fn send(&self, request: &WireRequest) -> Result<WireResponse, WechatError> {
        match self {
            Self::Http(http) => http.send(request).await,
            Self::Sandbox(sandbox) => {
                let body = request.body.as_deref().unwrap_or_default();
                let reply = sandbox.handle(request.endpoint.path(), &request.encoded_query(), body);
                Ok(WireResponse {
                    status: reply.status,
                    content_type: reply.content_type.to_owned(),
                    content_disposition: None,
                    body: Bytes::from(reply.body),
                })
            }
        }
    }
}

/// reqwest with timeouts, aimed at one API base URL.
#[derive(Clone)]
pub struct HttpTransport {
    client: reqwest::Client,
    base: String,
}

impl HttpTransport {
    /// A transport to `base` (e.g. `https://api.weixin.qq.com`), keeping any path prefix.
    pub fn new(base: &url::Url, timeouts: Timeouts) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .connect_timeout(timeouts.connect)
            .read_timeout(timeouts.read)
            .timeout(timeouts.total)
            .user_agent(concat!("wangju/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            client,
            base: base.as_str().trim_end_matches('/').to_owned(),
        })
    }

    async fn send(&self, request: &WireRequest) -> Result<WireResponse, WechatError> {
        let api = request.endpoint.name();
        let url = format!("{}{}", self.base, request.endpoint.path());
        let builder = match request.method {
            Method::Get => self.client.get(url),
            Method::Post => self.client.post(url),
        }
        .query(&request.query);
        let builder = match &request.body {
            Some(body) => builder
                .header(CONTENT_TYPE, "application/json")
                .body(body.clone()),
            None => builder,
        };
        let response = builder.send().await.map_err(|e| transport_error(api, e))?;
        let header = |name| {
            response
                .headers()
                .get(name)
                .and_then(|v: &reqwest::header::HeaderValue| v.to_str().ok())
                .map(str::to_owned)
        };
        let content_type = header(CONTENT_TYPE).unwrap_or_default();
        let content_disposition = header(CONTENT_DISPOSITION);
        let status = response.status().as_u16();
        let body = response
            .bytes()
            .await
            .map_err(|e| transport_error(api, e))?;
        Ok(WireResponse {
            status,
            content_type,
            content_disposition,
            body,
        })
    }
}

/// Sorts a reqwest failure into timeout, connect (never sent) or broken (maybe sent).
fn transport_error(api: &'static str, err: reqwest::Error) -> WechatError {
    // The URL carries the AppSecret or the access token: never let it into a message.
    let err = err.without_url();
    let message = describe(&err);
    if err.is_timeout() {
        WechatError::Timeout { api }
    } else if err.is_connect() {
        WechatError::Connect { api, message }
    } else {
        WechatError::Transport { api, message }
    }
}

fn describe(err: &reqwest::Error) -> String {
    let mut text = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
