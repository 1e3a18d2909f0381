//! The load loop: N keep-alive HTTP/1.1 connections, one request in flight on each (as wrk),
//! taking pre-built requests in order until the pool or the time runs out.

use std::{
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use bytes::Bytes;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Full};
use hyper::{Request, client::conn::http1::SendRequest, header};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::scenario::{Checker, Prepared, Verdict};

/// Longer than WeChat's 5 s: a request still unanswered then is counted as an error.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Latencies are recorded in microseconds up to a minute.
const MAX_LATENCY_US: u64 = 60_000_000;

/// What the workers share.
pub struct Plan {
    /// `127.0.0.1:port`.
    pub addr: SocketAddr,
    /// The `Host` header.
    pub host: String,
    /// Requests to send, in order.
    pub requests: Vec<Prepared>,
    /// Whether the pool may be reused from the start (only for requests that are all alike).
    pub cycle: bool,
    /// Judges answers.
    pub checker: Checker,
    /// End of the warm-up: only requests completed from here on are measured.
    pub measure_from: Instant,
    /// End of the run.
    pub until: Instant,
    next: AtomicUsize,
}

impl Plan {
    /// A plan over `requests`.
    pub fn new(
        addr: SocketAddr,
        requests: Vec<Prepared>,
        cycle: bool,
        checker: Checker,
        measure_from: Instant,
        until: Instant,
    ) -> Self {
        Self {
            addr,
            host: addr.to_string(),
            requests,
            cycle,
            checker,
            measure_from,
            until,
            next: AtomicUsize::new(0),
        }
    }

    fn take(&self) -> Option<&Prepared> {
        let index = self.next.fetch_add(1, Ordering::Relaxed);
        if self.cycle {
            self.requests.get(index % self.requests.len().max(1))
        } else {
            self.requests.get(index)
        }
    }

    /// Whether every distinct request was used before the time ran out.
    pub fn exhausted(&self) -> bool {
        !self.cycle && self.next.load(Ordering::Relaxed) >= self.requests.len()
    }
}

/// Counts of one worker, or of all of them merged.
pub struct Tally {
    /// Latency of measured requests that got an answer, in microseconds.
    pub latency: Histogram<u64>,
    /// Measured answers (any status).
    pub answered: u64,
    /// Measured answers that were 200 and correct.
    pub ok: u64,
    /// Measured transport errors and timeouts.
    pub errors: u64,
    /// Measured answers whose status was not 200.
    pub non_200: u64,
    /// Measured 200 answers whose body was wrong.
    pub wrong: u64,
    /// Measured `success` answers (work deferred past the server's budget).
    pub deferred: u64,
    /// Correct answers over the whole run, warm-up included (what the database must hold).
    pub ok_total: u64,
    /// `success` answers over the whole run, warm-up included.
    pub deferred_total: u64,
    /// Answers of any kind that were not correct, over the whole run.
    pub bad_total: u64,
    /// When the last measured answer arrived.
    pub last_done: Option<Instant>,
    /// The first wrong answer or error, for the report.
    pub first_problem: Option<String>,
    /// What correct answers gave to keep (logins: `<person id> <token>`), warm-up included.
    pub captured: Vec<String>,
}

impl Tally {
    fn new() -> Result<Self, String> {
        Ok(Self {
            latency: Histogram::new_with_bounds(1, MAX_LATENCY_US, 3)
                .map_err(|e| format!("histogram: {e}"))?,
            answered: 0,
            ok: 0,
            errors: 0,
            non_200: 0,
            wrong: 0,
            deferred: 0,
            ok_total: 0,
            deferred_total: 0,
            bad_total: 0,
            last_done: None,
            first_problem: None,
            captured: Vec::new(),
        })
    }

    /// Adds another tally.
    pub fn merge(&mut self, other: Tally) -> Result<(), String> {
        self.latency
            .add(&other.latency)
            .map_err(|e| format!("histogram: {e}"))?;
        self.answered += other.answered;
        self.ok += other.ok;
        self.errors += other.errors;
        self.non_200 += other.non_200;
        self.wrong += other.wrong;
        self.deferred += other.deferred;
        self.ok_total += other.ok_total;
        self.deferred_total += other.deferred_total;
        self.bad_total += other.bad_total;
        self.last_done = self.last_done.max(other.last_done);
        if self.first_problem.is_none() {
            self.first_problem = other.first_problem;
        }
        self.captured.extend(other.captured);
        Ok(())
    }

    fn problem(&mut self, text: impl FnOnce() -> String) {
        if self.first_problem.is_none() {
            self.first_problem = Some(text());
        }
    }
}

/// Runs `connections` workers to the end of the plan and merges their tallies.
pub async fn run(plan: Arc<Plan>, connections: usize) -> Result<Tally, String> {
    let mut handles = Vec::with_capacity(connections);
    for _ in 0..connections {
        let plan = plan.clone();
        handles.push(tokio::spawn(async move { worker(&plan).await }));
    }
    let mut total = Tally::new()?;
    for handle in handles {
        let tally = handle.await.map_err(|e| format!("worker: {e}"))??;
        total.merge(tally)?;
    }
    Ok(total)
}

/// Opens one keep-alive HTTP/1.1 connection (no Nagle delay: requests are small).
pub(crate) async fn connect(addr: SocketAddr) -> Result<SendRequest<Full<Bytes>>, String> {
    let stream = TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect {addr}: {e}"))?;
    stream
        .set_nodelay(true)
        .map_err(|e| format!("nodelay: {e}"))?;
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    tokio::spawn(async move {
        // The connection ends when the sender is dropped or the server closes it; either
        // way the worker sees it on its next request.
        let _ = connection.await;
    });
    Ok(sender)
}

/// What came back for one request.
pub(crate) enum Outcome {
    /// Status and body.
    Answer(u16, Bytes),
    /// No answer: connection refused or broken, or a timeout.
    Failed(String),
}

/// Sends one request on `sender` and reads the whole answer, within `REQUEST_TIMEOUT`.
pub(crate) async fn exchange(
    sender: &mut SendRequest<Full<Bytes>>,
    host: &str,
    prepared: &Prepared,
) -> Outcome {
    let mut request = Request::builder()
        .method(prepared.method.clone())
        .uri(prepared.path.as_str())
        .header(header::HOST, host);
    if let Some(content_type) = prepared.content_type {
        request = request.header(header::CONTENT_TYPE, content_type);
    }
    for (name, value) in &prepared.headers {
        request = request.header(name, value);
    }
    let request = match request.body(Full::new(prepared.body.clone())) {
        Ok(request) => request,
        Err(e) => return Outcome::Failed(format!("request: {e}")),
    };
    let answer = async {
        sender.ready().await?;
        let response = sender.send_request(request).await?;
        let status = response.status().as_u16();
        let body = response.into_body().collect().await?.to_bytes();
        Ok::<_, hyper::Error>((status, body))
    };
    match tokio::time::timeout(REQUEST_TIMEOUT, answer).await {
        Ok(Ok((status, body))) => Outcome::Answer(status, body),
        Ok(Err(e)) => Outcome::Failed(format!("http: {e}")),
        Err(_) => Outcome::Failed(format!("no answer within {REQUEST_TIMEOUT:?}")),
    }
}

async fn worker(plan: &Plan) -> Result<Tally, String> {
    let mut tally = Tally::new()?;
    let mut sender: Option<SendRequest<Full<Bytes>>> = None;
    while Instant::now() < plan.until {
        let Some(prepared) = plan.take() else {
            break;
        };
        let started = Instant::now();
        let outcome = match sender.as_mut() {
            Some(s) => exchange(s, &plan.host, prepared).await,
            None => match connect(plan.addr).await {
                Ok(mut s) => {
                    let outcome = exchange(&mut s, &plan.host, prepared).await;
                    sender = Some(s);
                    outcome
                }
                Err(e) => Outcome::Failed(e),
            },
        };
        let finished = Instant::now();
        let measured = started >= plan.measure_from && finished <= plan.until;
        match outcome {
            Outcome::Failed(e) => {
                // Start over on a new connection.
                sender = None;
                tally.bad_total += 1;
                if measured {
                    tally.errors += 1;
                }
                tally.problem(|| e);
                if finished < plan.until {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
            Outcome::Answer(status, body) => {
                let (verdict, capture) = if status == 200 {
                    plan.checker.judge(&prepared.expect, &body)
                } else {
                    (Verdict::Wrong, None)
                };
                if let Some(capture) = capture {
                    tally.captured.push(capture);
                }
                match verdict {
                    Verdict::Ok => tally.ok_total += 1,
                    Verdict::Deferred => tally.deferred_total += 1,
                    Verdict::Wrong => {
                        tally.bad_total += 1;
                        tally.problem(|| {
                            let text = String::from_utf8_lossy(&body);
                            let head: String = text.chars().take(300).collect();
                            format!("status {status}: {head}")
                        });
                    }
                }
                if measured {
                    tally.answered += 1;
                    tally.last_done = Some(finished);
                    let micros = u64::try_from(finished.duration_since(started).as_micros())
                        .unwrap_or(MAX_LATENCY_US);
                    tally
                        .latency
                        .saturating_record(micros.clamp(1, MAX_LATENCY_US));
                    match verdict {
                        Verdict::Ok => tally.ok += 1,
                        Verdict::Deferred => tally.deferred += 1,
                        Verdict::Wrong if status != 200 => tally.non_200 += 1,
                        Verdict::Wrong => tally.wrong += 1,
                    }
                }
            }
        }
    }
    Ok(tally)
}
