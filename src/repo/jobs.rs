//! Queries on `jobs`: enqueue inside the caller's transaction, claim with a lease, finish.

use chrono::{DateTime, Utc};
use entity::job::{self, JobState};

use crate::domain::job::Job;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set,
    sea_query::Expr,
};

/// Queues `job` in the caller's transaction, to run at `run_at` (`now` to run at once).
pub async fn enqueue(
    db: &impl ConnectionTrait,
    job: &Job,
    run_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<i64, DbErr> {
    let payload =
        serde_json::to_string(job).map_err(|e| DbErr::Custom(format!("job payload: {e}")))?;
    let row = job::ActiveModel {
        kind: Set(job.kind().to_owned()),
        payload: Set(payload),
        state: Set(JobState::Queued),
        attempts: Set(0),
        run_at: Set(run_at),
        locked_until: Set(None),
        last_error: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(row.id)
}

/// The queue columns of `jobs`.
fn queue() -> super::lease::QueueColumns<job::Entity> {
    super::lease::QueueColumns {
        id: job::Column::Id,
        state: job::Column::State,
        ready: JobState::Queued.into(),
        claimed: None,
        run_at: job::Column::RunAt,
        locked_until: job::Column::LockedUntil,
        attempts: job::Column::Attempts,
    }
}

/// Claims up to `limit` due jobs for `lease`; two workers never hold the same job, and a crashed
/// worker's jobs come back when its lease ends.
pub async fn claim_due(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<job::Model>, DbErr> {
    super::lease::claim_due(db, &queue(), now, lease_until, limit).await
}

/// Marks a job finished (`done` or `failed`), releasing its lease.
pub async fn finish(
    db: &impl ConnectionTrait,
    id: i64,
    state: JobState,
    error: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    job::Entity::update_many()
        .col_expr(job::Column::State, Expr::value(state))
        .col_expr(
            job::Column::LockedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(job::Column::LastError, Expr::value(error.map(truncate)))
        .col_expr(job::Column::UpdatedAt, Expr::value(now))
        .filter(job::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Puts a job back in the queue to run again at `run_at`.
pub async fn retry_at(
    db: &impl ConnectionTrait,
    id: i64,
    run_at: DateTime<Utc>,
    error: &str,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    job::Entity::update_many()
        .col_expr(job::Column::RunAt, Expr::value(run_at))
        .col_expr(
            job::Column::LockedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(job::Column::LastError, Expr::value(Some(truncate(error))))
        .col_expr(job::Column::UpdatedAt, Expr::value(now))
        .filter(job::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Deletes finished jobs older than `before`.
pub async fn delete_finished_before(
    db: &impl ConnectionTrait,
    before: DateTime<Utc>,
) -> Result<u64, DbErr> {
    let result = job::Entity::delete_many()
        .filter(job::Column::State.is_in([JobState::Done, JobState::Failed]))
        .filter(job::Column::UpdatedAt.lt(before))
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}

/// Jobs in a state, of every kind (the metrics' backlog).
pub async fn count_in_state(db: &impl ConnectionTrait, state: JobState) -> Result<u64, DbErr> {
    use sea_orm::PaginatorTrait;
    job::Entity::find()
        .filter(job::Column::State.eq(state))
        .count(db)
        .await
}

/// Jobs of a kind in a state (tests and admin views).
pub async fn count(db: &impl ConnectionTrait, kind: &str, state: JobState) -> Result<u64, DbErr> {
    use sea_orm::PaginatorTrait;
    job::Entity::find()
        .filter(job::Column::Kind.eq(kind))
        .filter(job::Column::State.eq(state))
        .count(db)
        .await
}

fn truncate(text: &str) -> String {
    text.chars().take(480).collect()
}
