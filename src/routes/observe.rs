//! The outermost middleware: request id, tracing span, body size limit, error rendering,
//! access log and metrics for every request.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU8, Ordering},
    },
    time::Instant,
};

use futures_util::StreamExt;
use poem::{
    Body, Endpoint, IntoResponse, Middleware, Request, Response, Result, http::HeaderValue,
    web::headers::HeaderMapExt,
};
use tracing::Instrument;

use crate::{error, error::AppError, metrics::Metrics};

/// Header carrying the request id in both directions.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// Body size limits by path: uploads are large, WeChat pushes small, JSON in between.
#[derive(Clone, Copy, Debug)]
pub struct BodyLimits {
    /// Limit for JSON and other bodies.
    pub default: u64,
    /// Limit for `/api/v1/uploads`.
    pub upload: u64,
    /// Limit for `/wechat/callback`.
    pub callback: u64,
}

impl BodyLimits {
    fn for_path(&self, path: &str) -> u64 {
        if path.starts_with("/api/v1/uploads") {
            self.upload
        } else if path.starts_with("/wechat/") {
            self.callback
        } else {
            self.default
        }
    }
}

/// Whether a query string, once percent-decoded, holds a control character (NUL breaks
/// PostgreSQL's text, the others have no business in a parameter).
fn query_has_control_characters(query: Option<&str>) -> bool {
    let Some(query) = query else {
        return false;
    };
    if !query.contains('%') {
        return query.chars().any(char::is_control);
    }
    url::form_urlencoded::parse(query.as_bytes())
        .any(|(key, value)| key.chars().chain(value.chars()).any(char::is_control))
}

/// Middleware factory; see the module doc.
pub struct Observe {
    metrics: Metrics,
    limits: BodyLimits,
}

impl Observe {
    /// Observes with these metrics and body limits.
    pub fn new(metrics: Metrics, limits: BodyLimits) -> Self {
        Self { metrics, limits }
    }
}

impl<E: Endpoint> Middleware<E> for Observe {
    type Output = ObserveEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        ObserveEndpoint {
            inner,
            metrics: self.metrics.clone(),
            limits: self.limits,
        }
    }
}

/// The endpoint produced by [`Observe`].
pub struct ObserveEndpoint<E> {
    inner: E,
    metrics: Metrics,
    limits: BodyLimits,
}

impl<E: Endpoint> Endpoint for ObserveEndpoint<E> {
    type Output = Response;

    async fn call(&self, mut req: Request) -> Result<Response> {
        let started = Instant::now();
        let request_id =
            incoming_request_id(&req).unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let method = req.method().to_string();
        let span = tracing::info_span!(
            "request",
            request_id = %request_id,
            http.method = %method,
            http.path = %req.uri().path(),
        );
        let docs = req.uri().path().starts_with("/docs");
        async move {
            let limit = self.limits.for_path(req.uri().path());
            let declared = req
                .headers()
                .typed_get::<poem::web::headers::ContentLength>()
                .map(|len| len.0);
            let result = if query_has_control_characters(req.uri().query()) {
                Err(AppError::BadRequest(
                    "query parameters may not contain control characters".to_owned(),
                )
                .into())
            } else if declared.is_some_and(|len| len > limit) {
                Err(AppError::TooLarge.into())
            } else {
                // Count the bytes as they arrive (a chunked body declares no length) and cut a
                // body that stalls or trickles.
                let (body, tripped) = guarded(req.take_body(), limit, BodyPace::default());
                req.set_body(body);
                let result = self.inner.call(req).await;
                // The handler saw only a read error (and may have called it a bad request);
                // the client must see what happened.
                match tripped.load(Ordering::Relaxed) {
                    TRIPPED_SIZE => Err(AppError::TooLarge.into()),
                    TRIPPED_PACE => Err(AppError::TooSlow.into()),
                    _ => result,
                }
            };
            let (mut response, route) = match result {
                Ok(output) => {
                    let response = output.into_response();
                    let route = response.data::<poem::PathPattern>().map(|p| p.0.clone());
                    (response, route)
                }
                Err(err) => {
                    let route = err.data::<poem::PathPattern>().map(|p| p.0.clone());
                    (error::render(err), route)
                }
            };
            // Unmatched paths share one label so that scanners cannot blow up the series count.
            let route = route
                .filter(|r| !r.is_empty())
                .map_or_else(|| "unmatched".to_owned(), |r| self.metrics.route_label(&r));
            let status = response.status().as_u16();
            let elapsed = started.elapsed();
            self.metrics
                .observe_request(&method, &route, status, elapsed);
            tracing::info!(
                http.route = %route,
                http.status = status,
                latency_ms = elapsed.as_secs_f64() * 1000.0,
                "request finished"
            );
            if let Ok(value) = HeaderValue::from_str(&request_id) {
                response.headers_mut().insert(REQUEST_ID_HEADER, value);
            }
            secure_headers(response.headers_mut(), docs);
            Ok(response)
        }
        .instrument(span)
        .await
    }
}

/// Headers every answer carries: no MIME sniffing (a GIF that is also HTML stays a GIF), no
/// framing by other sites, and no full URLs in the Referer sent onwards.
fn secure_headers(headers: &mut poem::http::HeaderMap, docs: bool) {
    for (name, value) in [
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
        ("referrer-policy", "strict-origin-when-cross-origin"),
    ] {
        headers
            .entry(name)
            .or_insert(HeaderValue::from_static(value));
    }
    // Pages set their own policy and the API docs (Swagger UI) run their script; everything
    // else (JSON, media) runs no script and is framed by nobody.
    let policy = if docs {
        "frame-ancestors 'none'"
    } else {
        "default-src 'none'; frame-ancestors 'none'; sandbox"
    };
    headers
        .entry("content-security-policy")
        .or_insert(HeaderValue::from_static(policy));
}

/// Reuses a caller's request id (nginx sets one) when it is short and printable.
fn incoming_request_id(req: &Request) -> Option<String> {
    let value = req.header(REQUEST_ID_HEADER)?;
    let sane = !value.is_empty()
        && value.len() <= 64
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    sane.then(|| value.to_owned())
}

const TRIPPED_SIZE: u8 = 1;
const TRIPPED_PACE: u8 = 2;

/// How slowly a body may arrive: every chunk within `idle` of the one before, and after the
/// first `grace`, on average at least `min_bytes_per_s` (a 1 byte/s upload holds a connection
/// and a worker for nothing).
#[derive(Clone, Copy, Debug)]
pub struct BodyPace {
    /// Longest wait for the next chunk.
    pub idle: std::time::Duration,
    /// Time before the average rate counts.
    pub grace: std::time::Duration,
    /// Slowest average rate after the grace.
    pub min_bytes_per_s: u64,
}

impl Default for BodyPace {
    fn default() -> Self {
        Self {
            idle: std::time::Duration::from_secs(15),
            grace: std::time::Duration::from_secs(15),
            min_bytes_per_s: 1024,
        }
    }
}

/// Wraps a body so that reading more than `limit` bytes, or reading it slower than `pace`,
/// fails instead of growing memory or holding the connection; the flag tells afterwards which
/// happened (`TRIPPED_SIZE`, `TRIPPED_PACE`).
fn guarded(body: Body, limit: u64, pace: BodyPace) -> (Body, Arc<AtomicU8>) {
    let tripped = Arc::new(AtomicU8::new(0));
    let flag = tripped.clone();
    let started = tokio::time::Instant::now();
    let state = (Box::pin(body.into_bytes_stream()), 0u64, false);
    let stream = futures_util::stream::unfold(state, move |(mut inner, seen, done)| {
        let flag = flag.clone();
        async move {
            if done {
                return None;
            }
            let trip = |kind: u8, why: &str| {
                flag.store(kind, Ordering::Relaxed);
                Err(std::io::Error::other(why.to_owned()))
            };
            let chunk = match tokio::time::timeout(pace.idle, inner.next()).await {
                Err(_) => trip(TRIPPED_PACE, "request body stalled"),
                Ok(None) => return None,
                Ok(Some(chunk)) => chunk,
            };
            let seen = seen + chunk.as_ref().map_or(0, |c| c.len() as u64);
            let elapsed = started.elapsed();
            let chunk = match chunk {
                Ok(_) if seen > limit => trip(TRIPPED_SIZE, "request body over its size limit"),
                Ok(_)
                    if elapsed > pace.grace && seen < pace.min_bytes_per_s * elapsed.as_secs() =>
                {
                    trip(TRIPPED_PACE, "request body arrives too slowly")
                }
                other => other,
            };
            let done = chunk.is_err();
            Some((chunk, (inner, seen, done)))
        }
    });
    (Body::from_bytes_stream(stream), tripped)
}

#[cfg(test)]
mod tests {
    use super::query_has_control_characters;

    #[test]
    fn control_characters_are_found_in_decoded_query_parameters() {
        assert!(query_has_control_characters(Some("category=%00")));
        assert!(query_has_control_characters(Some("a%01b=c")));
        assert!(query_has_control_characters(Some("q=%0A")));
        assert!(!query_has_control_characters(Some(
            "category=%E7%BD%91&sort=hot"
        )));
        assert!(!query_has_control_characters(Some("q=a+b")));
        assert!(!query_has_control_characters(None));
    }
}
