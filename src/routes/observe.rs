//! The outermost middleware: request id, tracing span, body size limit, error rendering,
//! access log and metrics for every request.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
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
        async move {
            let limit = self.limits.for_path(req.uri().path());
            let declared = req
                .headers()
                .typed_get::<poem::web::headers::ContentLength>()
                .map(|len| len.0);
            let result = match declared {
                Some(len) if len > limit => Err(AppError::TooLarge.into()),
                Some(_) => self.inner.call(req).await,
                None => {
                    // No Content-Length (chunked): count the bytes as they arrive.
                    let (body, tripped) = limited(req.take_body(), limit);
                    req.set_body(body);
                    let result = self.inner.call(req).await;
                    // The handler saw only a read error (and may have called it a bad
                    // request); the client must see what happened: 413.
                    if tripped.load(Ordering::Relaxed) {
                        Err(AppError::TooLarge.into())
                    } else {
                        result
                    }
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
                .map_or_else(|| "unmatched".to_owned(), |r| r.to_string());
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
            Ok(response)
        }
        .instrument(span)
        .await
    }
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

/// Wraps a body so that reading more than `limit` bytes fails instead of growing memory; the
/// flag tells afterwards whether that happened.
fn limited(body: Body, limit: u64) -> (Body, Arc<AtomicBool>) {
    let seen = Arc::new(AtomicU64::new(0));
    let tripped = Arc::new(AtomicBool::new(false));
    let flag = tripped.clone();
    let stream = body.into_bytes_stream().map(move |chunk| {
        let chunk = chunk?;
        let total = seen.fetch_add(chunk.len() as u64, Ordering::Relaxed) + chunk.len() as u64;
        if total > limit {
            flag.store(true, Ordering::Relaxed);
            return Err(std::io::Error::other("request body over its size limit"));
        }
        Ok(chunk)
    });
    (Body::from_bytes_stream(stream), tripped)
}
