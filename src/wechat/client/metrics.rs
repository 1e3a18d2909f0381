//! Prometheus instruments of the WeChat client: calls, latency and errors per API, token refreshes.

use std::time::Duration;

use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry};

use super::{endpoint::Endpoint, error::WechatError};

/// Latency buckets in seconds, up to the read timeout's usual range.
const BUCKETS: &[f64] = &[0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// The client's instruments, registered once on the process registry.
#[derive(Clone)]
pub struct ClientMetrics {
    calls: IntCounterVec,
    errors: IntCounterVec,
    latency: HistogramVec,
    refreshes: IntCounterVec,
}

impl ClientMetrics {
    /// Creates the instruments and registers them on `registry`.
    pub fn register(registry: &Registry) -> Result<Self, prometheus::Error> {
        let calls = IntCounterVec::new(
            Opts::new("wechat_api_calls_total", "WeChat API attempts by API"),
            &["api"],
        )?;
        let errors = IntCounterVec::new(
            Opts::new(
                "wechat_api_errors_total",
                "Failed WeChat API attempts by API and errcode (or transport failure)",
            ),
            &["api", "errcode"],
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "wechat_api_duration_seconds",
                "WeChat API attempt latency by API",
            )
            .buckets(BUCKETS.to_vec()),
            &["api"],
        )?;
        let refreshes = IntCounterVec::new(
            Opts::new(
                "wechat_token_refreshes_total",
                "access_token fetches from WeChat by app and outcome",
            ),
            &["app", "outcome"],
        )?;
        registry.register(Box::new(calls.clone()))?;
        registry.register(Box::new(errors.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        registry.register(Box::new(refreshes.clone()))?;
        Ok(Self {
            calls,
            errors,
            latency,
            refreshes,
        })
    }

    /// Records one attempt at `endpoint`.
    pub(crate) fn observe<T>(
        &self,
        endpoint: Endpoint,
        result: &Result<T, WechatError>,
        elapsed: Duration,
    ) {
        let api = endpoint.name();
        self.calls.with_label_values(&[api]).inc();
        self.latency
            .with_label_values(&[api])
            .observe(elapsed.as_secs_f64());
        if let Err(err) = result {
            self.errors
                .with_label_values(&[api, err.metric_label().as_str()])
                .inc();
        }
    }

    /// Records one token fetch for `app` (`ok` or `error`).
    pub(crate) fn refreshed(&self, app: &str, ok: bool) {
        let outcome = if ok { "ok" } else { "error" };
        self.refreshes.with_label_values(&[app, outcome]).inc();
    }
}
