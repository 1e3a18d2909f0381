//! The job worker: claims due jobs with a lease, runs them, retries with backoff.
//!
//! A job runs at least once: a worker that dies mid-job loses its lease and another worker
//! takes the job over. Handlers are written so that running twice does no harm.

use std::time::Duration;

use chrono::{DateTime, Utc};
use entity::job::JobState;
use sea_orm::{DatabaseConnection, DbErr};
use tokio::sync::watch;

use crate::{
    domain::job::Job,
    error::AppError,
    repo,
    service::{auth, media, moderation, notifications, uploads},
    state::AppState,
    wechat::client::{CustomMessage, ErrorClass, WechatError},
};

/// How a job attempt ended badly.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// Worth trying again later.
    #[error("retry: {0}")]
    Retry(String),
    /// Will never succeed; the job ends as failed.
    #[error("failed: {0}")]
    Fail(String),
}

impl From<DbErr> for JobError {
    fn from(err: DbErr) -> Self {
        Self::Retry(err.to_string())
    }
}

/// Services answer in `AppError`; here it becomes retry-or-fail, keeping the technical cause
/// (never the user's message) for `jobs.last_error`.
impl From<AppError> for JobError {
    fn from(err: AppError) -> Self {
        if err.is_transient() {
            Self::Retry(err.cause())
        } else {
            Self::Fail(err.cause())
        }
    }
}

impl From<WechatError> for JobError {
    fn from(err: WechatError) -> Self {
        match err.class() {
            ErrorClass::Permanent => Self::Fail(err.to_string()),
            ErrorClass::Retryable | ErrorClass::Token | ErrorClass::Quota => {
                Self::Retry(err.to_string())
            }
        }
    }
}

/// Attempts before a job is given up.
const MAX_ATTEMPTS: i32 = 8;
/// How long a claimed job is ours before another worker may take it over.
const LEASE: Duration = Duration::from_secs(120);

/// Delay before attempt `attempts + 1`: 10 s, 20 s, 40 s … capped at an hour.
pub fn backoff(attempts: i32) -> Duration {
    backoff_from(Duration::from_secs(10), attempts)
}

/// Delay before attempt `attempts + 1`, doubling from `base`, capped at an hour.
pub fn backoff_from(base: Duration, attempts: i32) -> Duration {
    let exponent = u32::try_from(attempts.clamp(1, 12) - 1).unwrap_or(0);
    base.saturating_mul(1 << exponent)
        .min(Duration::from_secs(3600))
}

/// Runs one job.
async fn run(deps: &AppState, job: &Job) -> Result<(), JobError> {
    match job {
        Job::FetchWechatMedia { upload_id } => {
            let copy = media::MediaCopy {
                db: &deps.db,
                wechat: &deps.wechat,
                store: &deps.store,
                image_budget: &deps.image_budget,
            };
            Ok(media::copy_from_wechat(&copy, *upload_id).await?)
        }
        Job::ModerateWork { work_id } => Ok(moderation::moderate(
            &deps.db,
            (&deps.wechat, &deps.store),
            (&deps.campaigns, &deps.notices),
            *work_id,
        )
        .await?),
        Job::ExpandNotification { notification_id } => {
            notifications::expand(&deps.db, *notification_id, Utc::now()).await?;
            Ok(())
        }
        Job::LinkFollower { openid } => {
            let info = deps.wechat.user_info(openid).await?;
            if let Some(unionid) = info.unionid {
                let txn = crate::db::begin_write(&deps.db).await?;
                auth::link_follower(&txn, openid, &unionid, Utc::now()).await?;
                txn.commit().await?;
            }
            Ok(())
        }
        Job::ModerationTimeout { work_id } => Ok(moderation::time_out(&deps.db, *work_id).await?),
        Job::SendChatText { openid, text } => {
            deps.wechat
                .custom_send(&CustomMessage::text(openid, text))
                .await?;
            Ok(())
        }
    }
}

/// Claims and runs due jobs once; returns how many were claimed.
pub async fn tick(deps: &AppState) -> Result<usize, DbErr> {
    let now = Utc::now();
    let lease = chrono::Duration::from_std(LEASE).unwrap_or(chrono::Duration::minutes(2));
    let claimed = repo::jobs::claim_due(&deps.db, now, now + lease, 16).await?;
    let count = claimed.len();
    for row in claimed {
        let outcome = match serde_json::from_str::<Job>(&row.payload) {
            Ok(job) => run(deps, &job).await,
            Err(err) => Err(JobError::Fail(format!("unreadable payload: {err}"))),
        };
        let now = Utc::now();
        match outcome {
            Ok(()) => repo::jobs::finish(&deps.db, row.id, JobState::Done, None, now).await?,
            Err(JobError::Retry(cause)) if row.attempts < MAX_ATTEMPTS => {
                let delay = chrono::Duration::from_std(backoff(row.attempts))
                    .unwrap_or(chrono::Duration::hours(1));
                tracing::warn!(job.id = row.id, job.kind = %row.kind, attempt = row.attempts, error = %cause, "job will be retried");
                repo::jobs::retry_at(&deps.db, row.id, now + delay, &cause, now).await?;
            }
            Err(err) => {
                tracing::error!(job.id = row.id, job.kind = %row.kind, error = %err, "job failed");
                repo::jobs::finish(
                    &deps.db,
                    row.id,
                    JobState::Failed,
                    Some(&err.to_string()),
                    now,
                )
                .await?;
            }
        }
    }
    Ok(count)
}

/// A stored file without an `uploads` row is an orphan only once it is this old: an upload's
/// row follows its file within seconds, and even a 200 MiB video (whose S3 time may be when its
/// multipart upload began) is stored within minutes.
const ORPHAN_MIN_AGE: Duration = Duration::from_secs(3600);

/// Deletes what only needs to live a while: callback receipts, push seals, finished jobs and
/// orphaned media files.
async fn clean_up(deps: &AppState) {
    let now = Utc::now();
    if let Err(err) = clean_up_rows(&deps.db, now).await {
        tracing::warn!(error = %err, "clean-up of old rows failed");
    }
    match uploads::sweep_orphans(&deps.db, &deps.store, ORPHAN_MIN_AGE, now).await {
        Ok(0) => {}
        Ok(files) => tracing::info!(files, "orphaned media files removed"),
        Err(err) => tracing::warn!(error = %err, "orphaned media sweep failed"),
    }
}

async fn clean_up_rows(db: &DatabaseConnection, now: DateTime<Utc>) -> Result<(), DbErr> {
    // WeChat retries within seconds; two days is far beyond any retry.
    let receipts = repo::receipts::delete_older_than(db, now - chrono::Duration::days(2)).await?;
    let jobs = repo::jobs::delete_finished_before(db, now - chrono::Duration::days(14)).await?;
    // Seals outlive the replay window (minutes) many times over.
    let seals = repo::seals::delete_older_than(db, now - chrono::Duration::days(1)).await?;
    if receipts + jobs + seals > 0 {
        tracing::info!(receipts, jobs, seals, "old rows removed");
    }
    Ok(())
}

/// Runs until `stop` turns true: polls for jobs every `poll`, cleans up hourly.
pub async fn run_worker(deps: AppState, poll: Duration, stop: watch::Receiver<bool>) {
    let last_cleanup = std::sync::Mutex::new(None::<tokio::time::Instant>);
    super::poll_until_stopped("job worker", poll, stop, || async {
        let cleanup_due = {
            let mut last = last_cleanup
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let due = last.is_none_or(|t| t.elapsed() > Duration::from_secs(3600));
            if due {
                *last = Some(tokio::time::Instant::now());
            }
            due
        };
        if cleanup_due {
            clean_up(&deps).await;
        }
        tick(&deps).await
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::{JobError, backoff};
    use crate::error::AppError;
    use std::time::Duration;

    #[test]
    fn a_service_error_becomes_retry_or_fail_with_its_technical_cause() {
        let db = AppError::from(sea_orm::DbErr::Custom("constraint x broke".to_owned()));
        assert!(
            matches!(JobError::from(db), JobError::Retry(c) if c.contains("constraint x broke"))
        );
        let wechat = AppError::Wechat("errcode 40003: invalid openid".to_owned());
        match JobError::from(wechat) {
            JobError::Fail(cause) => {
                assert_eq!(
                    cause, "errcode 40003: invalid openid",
                    "no user-facing prefix"
                );
            }
            JobError::Retry(cause) => panic!("a final WeChat answer is retried: {cause}"),
        }
        let gone = JobError::from(AppError::NotFound);
        assert!(matches!(gone, JobError::Fail(c) if c.starts_with("not_found")));
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(backoff(1), Duration::from_secs(10));
        assert_eq!(backoff(2), Duration::from_secs(20));
        assert_eq!(backoff(4), Duration::from_secs(80));
        assert_eq!(backoff(30), Duration::from_secs(3600));
    }
}
