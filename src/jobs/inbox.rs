//! The inbox worker: acts on stored pushes whose request did not (it ran out of time, failed,
//! or died with its process), on whichever instance claims them first.

use std::time::Duration;

use chrono::Utc;
use sea_orm::DbErr;
use tokio::sync::watch;

use crate::{
    jobs::worker::backoff_from,
    repo,
    service::callback::{self, PushDeps, ResumeError},
};

/// Attempts before a stored push is given up (and kept as `failed` for the operator).
const MAX_ATTEMPTS: i32 = 10;
/// How long a claimed push is ours before another instance may take it over.
const LEASE: Duration = Duration::from_secs(60);

/// Whether acting on a stored push may succeed on another try.
fn worth_retrying(err: &ResumeError) -> bool {
    matches!(err, ResumeError::Act(act) if act.is_transient())
}

/// Claims and acts on due pushes once; returns how many were claimed.
pub async fn tick(deps: &PushDeps) -> Result<usize, DbErr> {
    let now = Utc::now();
    let lease = chrono::Duration::from_std(LEASE).unwrap_or(chrono::Duration::minutes(1));
    let claimed = repo::inbox::claim_due(&deps.db, now, now + lease, 16).await?;
    let count = claimed.len();
    for push in claimed {
        let Err(err) = callback::resume(deps, &push).await else {
            continue;
        };
        let run_at = (worth_retrying(&err) && push.attempts < MAX_ATTEMPTS).then(|| {
            Utc::now()
                + chrono::Duration::from_std(backoff_from(Duration::from_secs(2), push.attempts))
                    .unwrap_or(chrono::Duration::hours(1))
        });
        if run_at.is_some() {
            tracing::warn!(inbox.id = push.id, attempt = push.attempts, error = %err, "stored push will be retried");
        } else {
            tracing::error!(inbox.id = push.id, error = %err, "stored push given up");
        }
        repo::inbox::release(&deps.db, push.id, run_at, &err.to_string()).await?;
    }
    Ok(count)
}

/// Runs until `stop` turns true, looking for due pushes every `poll`.
pub async fn run_inbox(deps: PushDeps, poll: Duration, stop: watch::Receiver<bool>) {
    super::poll_until_stopped("inbox worker", poll, stop, || tick(&deps)).await;
}
