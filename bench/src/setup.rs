//! Work done before a measurement and never timed: approving works for the vote and listing
//! scenarios (submitting more slogans first if there are too few), and reading the listing's
//! cursors so that scenario 6 can ask for later pages.

use std::{
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use bytes::Bytes;
use http_body_util::Full;
use hyper::{
    Method,
    client::conn::http1::SendRequest,
    header::{self, HeaderValue},
};
use serde::Deserialize;

use crate::{
    api,
    load::{Outcome, connect, exchange},
    scenario::{self, Checker, Expect, Prepared, Scenario, Verdict},
};

/// The admin list's page: it returns at most this many works, oldest first.
const ADMIN_PAGE: usize = 200;
/// Longest the whole set-up may take.
const SETUP_LIMIT: Duration = Duration::from_secs(300);
/// Slogans submitted by the set-up are numbered from here, so their texts differ from the
/// slogan scenario's (`第0条` …).
const SETUP_SLOGAN_FIRST: usize = 10_000_000;
/// Rounds of extra slogans before giving up (deferred ones turn up as pending later).
const MAX_SUBMIT_ROUNDS: usize = 3;
/// Refused approvals tolerated before the set-up gives up.
const MAX_FAILED_APPROVALS: usize = 100;

/// One keep-alive connection that reconnects after a failure.
struct Conn {
    addr: SocketAddr,
    host: String,
    sender: Option<SendRequest<Full<Bytes>>>,
}

impl Conn {
    fn new(addr: SocketAddr) -> Self {
        Self {
            addr,
            host: addr.to_string(),
            sender: None,
        }
    }

    async fn send(&mut self, prepared: &Prepared) -> Outcome {
        if self.sender.is_none() {
            match connect(self.addr).await {
                Ok(sender) => self.sender = Some(sender),
                Err(e) => return Outcome::Failed(e),
            }
        }
        let Some(sender) = self.sender.as_mut() else {
            return Outcome::Failed("no connection".to_owned());
        };
        let outcome = exchange(sender, &self.host, prepared).await;
        if matches!(outcome, Outcome::Failed(_)) {
            self.sender = None;
        }
        outcome
    }

    /// A GET that must answer 200; the body.
    async fn get_ok(
        &mut self,
        path: String,
        headers: Vec<(header::HeaderName, HeaderValue)>,
    ) -> Result<Bytes, String> {
        let request = Prepared {
            method: Method::GET,
            path: path.clone(),
            content_type: None,
            headers,
            body: Bytes::new(),
            expect: Expect::Status200,
        };
        match self.send(&request).await {
            Outcome::Answer(200, body) => Ok(body),
            Outcome::Answer(status, body) => Err(format!(
                "GET {path}: status {status}: {}",
                String::from_utf8_lossy(&body)
                    .chars()
                    .take(300)
                    .collect::<String>()
            )),
            Outcome::Failed(e) => Err(format!("GET {path}: {e}")),
        }
    }
}

/// Sends every request once over `connections` connections; the outcomes in request order.
async fn send_all(addr: SocketAddr, requests: Vec<Prepared>, connections: usize) -> Vec<Outcome> {
    let requests = Arc::new(requests);
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..connections.max(1) {
        let (requests, next) = (requests.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut conn = Conn::new(addr);
            let mut done = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(request) = requests.get(i) else {
                    break;
                };
                done.push((i, conn.send(request).await));
            }
            done
        }));
    }
    let mut all = Vec::with_capacity(requests.len());
    for task in tasks {
        match task.await {
            Ok(done) => all.extend(done),
            Err(e) => all.push((usize::MAX, Outcome::Failed(format!("task: {e}")))),
        }
    }
    all.sort_by_key(|(i, _)| *i);
    let mut outcomes: Vec<Outcome> = all.into_iter().map(|(_, o)| o).collect();
    // A task that died took its answers with it: those requests count as failed.
    outcomes.resize_with(requests.len(), || Outcome::Failed("lost".to_owned()));
    outcomes
}

/// What the set-up did.
#[derive(Debug, Default)]
pub struct SetupReport {
    /// Works approved, in order.
    pub approved: Vec<i64>,
    /// Extra slogans confirmed with a work code.
    pub submitted_ok: u64,
    /// Extra slogans answered `success` (stored in the background).
    pub submitted_deferred: u64,
    /// Extra slogans refused or unanswered.
    pub submitted_bad: u64,
}

#[derive(Deserialize)]
struct AdminList {
    items: Vec<AdminWork>,
}

#[derive(Deserialize)]
struct AdminWork {
    id: i64,
}

/// The ids of an admin list answer.
pub fn admin_ids(body: &[u8]) -> Result<Vec<i64>, String> {
    serde_json::from_slice::<AdminList>(body)
        .map(|l| l.items.into_iter().map(|w| w.id).collect())
        .map_err(|e| format!("admin works list: {e}"))
}

/// The approval of work `id` by the admin whose `Authorization` value is `bearer`.
pub fn approval(id: i64, bearer: &HeaderValue) -> Prepared {
    Prepared {
        method: Method::POST,
        path: format!("/api/v1/admin/works/{id}/review"),
        content_type: Some("application/json"),
        headers: vec![(header::AUTHORIZATION, bearer.clone())],
        body: Bytes::from_static(br#"{"decision":"approve"}"#),
        expect: Expect::Status200,
    }
}

/// Approves pending works until `min_works` are approved by this call; when none are left
/// pending, submits the missing number as slogans (the phase must be `open`) and goes on.
/// Bounded in rounds and in time.
pub async fn approve_works(
    addr: SocketAddr,
    admin_token: &str,
    min_works: usize,
    connections: usize,
    checker: &Checker,
    (msg_base, now): (i64, i64),
) -> Result<SetupReport, String> {
    let started = Instant::now();
    let bearer = HeaderValue::from_str(&format!("Bearer {admin_token}"))
        .map_err(|_| "--admin-token is not a header value".to_owned())?;
    let mut report = SetupReport::default();
    let mut admin = Conn::new(addr);
    let mut failed = 0;
    let mut submit_rounds = 0;
    let mut submitted = 0;
    let max_rounds = min_works / ADMIN_PAGE + 100;
    for _ in 0..max_rounds {
        if report.approved.len() >= min_works {
            return Ok(report);
        }
        if started.elapsed() > SETUP_LIMIT {
            break;
        }
        let body = admin
            .get_ok(
                "/api/v1/admin/works?status=pending_review".to_owned(),
                vec![(header::AUTHORIZATION, bearer.clone())],
            )
            .await?;
        let pending = admin_ids(&body)?;
        let need = min_works - report.approved.len();
        if pending.is_empty() {
            if submit_rounds == MAX_SUBMIT_ROUNDS {
                break;
            }
            submit_rounds += 1;
            let first = SETUP_SLOGAN_FIRST + submitted;
            let requests = scenario::callback_requests(
                Scenario::Slogan,
                &checker.keys,
                &[],
                first..first + need,
                msg_base + i64::try_from(submitted).unwrap_or(0),
                now,
            )?;
            submitted += need;
            // The answers are judged after the requests have moved into the senders.
            let checks: Vec<Expect> = requests.iter().map(|r| r.expect.clone()).collect();
            let outcomes = send_all(addr, requests, connections).await;
            for (outcome, expect) in outcomes.iter().zip(&checks) {
                match outcome {
                    Outcome::Answer(200, body) => match checker.check(expect, body) {
                        Verdict::Ok => report.submitted_ok += 1,
                        Verdict::Deferred => report.submitted_deferred += 1,
                        Verdict::Wrong => report.submitted_bad += 1,
                    },
                    _ => report.submitted_bad += 1,
                }
            }
            continue;
        }
        let ids: Vec<i64> = pending.into_iter().take(need).collect();
        let requests = ids.iter().map(|id| approval(*id, &bearer)).collect();
        let outcomes = send_all(addr, requests, connections).await;
        for (id, outcome) in ids.iter().zip(outcomes) {
            match outcome {
                Outcome::Answer(200, _) => report.approved.push(*id),
                Outcome::Answer(status, body) => {
                    failed += 1;
                    if failed > MAX_FAILED_APPROVALS {
                        return Err(format!(
                            "approval of work {id}: status {status}: {}",
                            String::from_utf8_lossy(&body)
                                .chars()
                                .take(300)
                                .collect::<String>()
                        ));
                    }
                }
                Outcome::Failed(e) => {
                    failed += 1;
                    if failed > MAX_FAILED_APPROVALS {
                        return Err(format!("approval of work {id}: {e}"));
                    }
                }
            }
        }
    }
    if report.approved.len() >= min_works {
        Ok(report)
    } else {
        Err(format!(
            "only {} works approved of {min_works} (submitted {submitted} slogans: {} confirmed, \
             {} deferred, {} refused) in {:.0?}",
            report.approved.len(),
            report.submitted_ok,
            report.submitted_deferred,
            report.submitted_bad,
            started.elapsed()
        ))
    }
}

/// Reads the first `pages` pages of the hot listing, overall and in the first work's category:
/// the path of each page and how many works it held.
pub async fn listing_pages(
    addr: SocketAddr,
    pages: usize,
) -> Result<Vec<(String, usize, Option<String>)>, String> {
    let mut conn = Conn::new(addr);
    let first = api::read_page(
        &conn
            .get_ok(api::listing_path(None, None, api::PAGE_SIZE), Vec::new())
            .await?,
    )?;
    let category = first
        .first_category
        .clone()
        .ok_or("the hot listing is empty: approve works first (setup-works)")?;
    let mut out = Vec::new();
    for category in [None, Some(category)] {
        let mut cursor: Option<String> = None;
        for _ in 0..pages.max(1) {
            let path = api::listing_path(category.as_deref(), cursor.as_deref(), api::PAGE_SIZE);
            let seen = api::read_page(&conn.get_ok(path.clone(), Vec::new()).await?)?;
            if seen.items == 0 {
                break;
            }
            out.push((path, seen.items, category.clone()));
            match seen.next_cursor {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn approvals_carry_the_admin_token_and_the_decision() {
        let bearer = HeaderValue::from_static("Bearer admin-1");
        let request = approval(42, &bearer);
        assert_eq!(request.path, "/api/v1/admin/works/42/review");
        assert_eq!(request.method, Method::POST);
        assert_eq!(request.headers, vec![(header::AUTHORIZATION, bearer)]);
        assert_eq!(&request.body[..], br#"{"decision":"approve"}"#);
        assert_eq!(
            admin_ids(br#"{"items":[{"id":3,"status":"pending_review"},{"id":5}]}"#).unwrap(),
            [3, 5]
        );
        assert!(admin_ids(b"[]").is_err());
    }
}
