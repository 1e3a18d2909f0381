//! Not a test: votes per second over HTTP on each database (see BENCHMARKS.md). Run with
//! `cargo test --release --test api bench -- --ignored --nocapture --test-threads 1`.

use std::time::Instant;

use futures_util::{StreamExt, stream};

use crate::{
    helpers::{Backend, spawn_app},
    votes::{approved_work, vote, voter},
};

/// Voters, each casting one vote per work.
const VOTERS: usize = 250;
/// Works voted for.
const WORKS: usize = 2;
/// Requests in flight at once.
const CONCURRENCY: usize = 32;

async fn votes_per_second(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.set_phase(Some("showcase")).await;
    let (_, author) = voter(&app, "bench-author").await;
    let mut works = Vec::new();
    for _ in 0..WORKS {
        works.push(approved_work(&app, author, "slogan").await);
    }
    let mut tokens = Vec::new();
    for i in 0..VOTERS {
        tokens.push(voter(&app, &format!("bench-{i}")).await.0);
    }
    let ballots: Vec<(&String, i64)> = tokens
        .iter()
        .flat_map(|t| works.iter().map(move |w| (t, *w)))
        .collect();
    let started = Instant::now();
    let statuses: Vec<u16> = stream::iter(ballots)
        .map(|(token, work)| {
            let app = &app;
            async move { vote(app, token, work).await.0 }
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let elapsed = started.elapsed().as_secs_f64();
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    println!(
        "{backend:?}: {} votes in {elapsed:.2} s = {:.0} votes/s ({CONCURRENCY} in flight)",
        statuses.len(),
        statuses.len() as f64 / elapsed
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark, run by hand"]
async fn bench_votes_sqlite() {
    votes_per_second(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark, run by hand"]
async fn bench_votes_postgres() {
    votes_per_second(Backend::Postgres).await;
}
