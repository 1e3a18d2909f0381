//! Prometheus metrics of the process, rendered as text at `/metrics`.

use std::{
    collections::HashMap,
    sync::{Arc, OnceLock},
    time::Duration,
};

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
    TextEncoder,
};

/// The process's metric registry, the HTTP instruments every request updates and the gauges
/// read at each scrape.
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    http_requests: IntCounterVec,
    http_duration: HistogramVec,
    /// Rows waiting in the durable queues, by queue and state.
    pub backlog: IntGaugeVec,
    /// Votes in the ledger, by status.
    pub votes: IntGaugeVec,
    route_labels: Arc<OnceLock<HashMap<String, String>>>,
}

/// What the scrape-time gauges read from the database.
#[derive(Debug, Default, Clone, Copy)]
pub struct Backlog {
    /// Outbox rows not yet sent (pending or in flight).
    pub outbox_open: i64,
    /// Jobs queued.
    pub jobs_queued: i64,
    /// Stored pushes not yet acted on.
    pub inbox_pending: i64,
    /// Stored pushes given up.
    pub inbox_failed: i64,
    /// Votes counted.
    pub votes_counted: i64,
    /// Votes flagged by a fraud signal.
    pub votes_flagged: i64,
}

/// Latency buckets in seconds: WeChat's 5 s budget sits at the top.
const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 4.0, 5.0, 10.0,
];

impl Metrics {
    /// Creates a registry with the HTTP request counter and latency histogram.
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new_custom(Some("wangju".to_owned()), None)?;
        let http_requests = IntCounterVec::new(
            Opts::new("http_requests_total", "HTTP requests by route and status"),
            &["method", "route", "status"],
        )?;
        let http_duration = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "HTTP request latency by route and status",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
            &["method", "route", "status"],
        )?;
        registry.register(Box::new(http_requests.clone()))?;
        registry.register(Box::new(http_duration.clone()))?;
        let build = IntGauge::with_opts(
            Opts::new("build_info", "The running build (always 1)")
                .const_label("version", env!("CARGO_PKG_VERSION")),
        )?;
        build.set(1);
        registry.register(Box::new(build))?;
        let backlog = IntGaugeVec::new(
            Opts::new("queue_rows", "Rows waiting in the durable queues"),
            &["queue", "state"],
        )?;
        let votes = IntGaugeVec::new(Opts::new("votes", "Votes in the ledger"), &["status"])?;
        registry.register(Box::new(backlog.clone()))?;
        registry.register(Box::new(votes.clone()))?;
        #[cfg(target_os = "linux")]
        registry.register(Box::new(
            prometheus::process_collector::ProcessCollector::for_self(),
        ))?;
        Ok(Self {
            registry,
            http_requests,
            http_duration,
            backlog,
            votes,
            route_labels: Arc::default(),
        })
    }

    /// Names routes by their documented templates from now on (set once at start).
    pub fn set_route_labels(&self, labels: HashMap<String, String>) {
        let _ = self.route_labels.set(labels);
    }

    /// The label of a matched route pattern: its documented template, else the pattern with
    /// `{name}` for its parameters.
    pub fn route_label(&self, pattern: &str) -> String {
        self.route_labels
            .get()
            .and_then(|labels| labels.get(pattern).cloned())
            .unwrap_or_else(|| crate::routes::openapi::plain_template(pattern))
    }

    /// Sets the scrape-time gauges.
    pub fn set_backlog(&self, backlog: Backlog) {
        for (queue, state, value) in [
            ("outbox", "open", backlog.outbox_open),
            ("jobs", "queued", backlog.jobs_queued),
            ("inbox", "pending", backlog.inbox_pending),
            ("inbox", "failed", backlog.inbox_failed),
        ] {
            self.backlog.with_label_values(&[queue, state]).set(value);
        }
        self.votes
            .with_label_values(&["counted"])
            .set(backlog.votes_counted);
        self.votes
            .with_label_values(&["flagged"])
            .set(backlog.votes_flagged);
    }

    /// The registry, for other parts of the process to register their instruments.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Records one finished HTTP request.
    pub fn observe_request(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        let status = status.to_string();
        let labels = [method, route, status.as_str()];
        self.http_requests.with_label_values(&labels).inc();
        self.http_duration
            .with_label_values(&labels)
            .observe(elapsed.as_secs_f64());
    }

    /// Renders every metric in the Prometheus text format.
    pub fn render(&self) -> Result<String, prometheus::Error> {
        let mut buffer = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut buffer)?;
        String::from_utf8(buffer).map_err(|e| prometheus::Error::Msg(e.to_string()))
    }
}
