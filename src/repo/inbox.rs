//! Queries on `push_inbox`: pushes stored before WeChat was answered, until they are acted on.

use chrono::{DateTime, Utc};
use entity::push_inbox::{self as inbox, InboxState};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, Set,
    sea_query::Expr,
};

use super::lease::QueueColumns;

fn queue() -> QueueColumns<inbox::Entity> {
    QueueColumns {
        id: inbox::Column::Id,
        state: inbox::Column::State,
        ready: InboxState::Pending.into(),
        claimed: None,
        run_at: inbox::Column::RunAt,
        locked_until: inbox::Column::LockedUntil,
        attempts: inbox::Column::Attempts,
    }
}

/// Stores a push under its dedup key, due for a worker at `run_at`; `false` when the key is
/// already stored (a WeChat retry of a push not yet acted on).
pub async fn store(
    db: &impl ConnectionTrait,
    key: &str,
    payload: &str,
    received_at: DateTime<Utc>,
    run_at: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let result = inbox::Entity::insert(inbox::ActiveModel {
        dedup_key: Set(key.to_owned()),
        payload: Set(payload.to_owned()),
        received_at: Set(received_at),
        state: Set(InboxState::Pending),
        attempts: Set(0),
        run_at: Set(run_at),
        locked_until: Set(None),
        last_error: Set(None),
        ..Default::default()
    })
    .on_conflict_do_nothing_on([inbox::Column::DedupKey])
    .exec_without_returning(db)
    .await?;
    super::inserted(result)
}

/// Removes the push stored under `key` (it has been acted on).
pub async fn remove(db: &impl ConnectionTrait, key: &str) -> Result<(), DbErr> {
    inbox::Entity::delete_many()
        .filter(inbox::Column::DedupKey.eq(key))
        .exec(db)
        .await?;
    Ok(())
}

/// Claims up to `limit` due pushes until `lease_until`.
pub async fn claim_due(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<inbox::Model>, DbErr> {
    super::lease::claim_due(db, &queue(), now, lease_until, limit).await
}

/// Releases a claimed push to be tried again at `run_at`, or ends it as failed when `run_at`
/// is `None`; `error` is the technical cause.
pub async fn release(
    db: &impl ConnectionTrait,
    id: i64,
    run_at: Option<DateTime<Utc>>,
    error: &str,
) -> Result<(), DbErr> {
    let mut update = inbox::Entity::update_many()
        .col_expr(
            inbox::Column::LockedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(
            inbox::Column::LastError,
            Expr::value(Some(error.chars().take(480).collect::<String>())),
        );
    update = match run_at {
        Some(at) => update.col_expr(inbox::Column::RunAt, Expr::value(at)),
        None => update.col_expr(inbox::Column::State, Expr::value(InboxState::Failed)),
    };
    update.filter(inbox::Column::Id.eq(id)).exec(db).await?;
    Ok(())
}

/// How many stored pushes wait in `state`.
pub async fn count(db: &impl ConnectionTrait, state: InboxState) -> Result<u64, DbErr> {
    inbox::Entity::find()
        .filter(inbox::Column::State.eq(state))
        .count(db)
        .await
}
