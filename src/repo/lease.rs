//! Claiming due rows of a work queue with a lease, shared by `jobs`, `push_inbox` and `outbox`.
//!
//! PostgreSQL: one statement with `FOR UPDATE SKIP LOCKED`, so any number of workers share a
//! queue without waiting on each other. SQLite (one instance): a conditional update per row
//! (`locked_until` empty or past), each returning the row it claimed. Either way two workers
//! never hold the same row, and the rows of a worker that died come back when its lease ends.

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, PrimaryKeyTrait, QueryFilter,
    QueryOrder, QuerySelect, QueryTrait, Value,
    sea_query::{Expr, ExprTrait, LockBehavior, LockType},
};

/// The columns a leased queue table has.
pub(crate) struct QueueColumns<E: EntityTrait> {
    /// Primary key (`i64`).
    pub id: E::Column,
    /// State; only rows in `ready` are claimed.
    pub state: E::Column,
    /// The state of a row waiting for a worker.
    pub ready: Value,
    /// The state a claim moves the row to, if the queue marks claims by state too.
    pub claimed: Option<Value>,
    /// When the row is due.
    pub run_at: E::Column,
    /// The current claim's end.
    pub locked_until: E::Column,
    /// Claims so far.
    pub attempts: E::Column,
}

/// Claims up to `limit` due rows until `lease_until`, counting an attempt on each.
pub(crate) async fn claim_due<E>(
    db: &impl ConnectionTrait,
    columns: &QueueColumns<E>,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<E::Model>, DbErr>
where
    E: EntityTrait,
    i64: Into<<E::PrimaryKey as PrimaryKeyTrait>::ValueType>,
{
    let unlocked = || {
        columns
            .locked_until
            .is_null()
            .or(columns.locked_until.lt(now))
    };
    let due = || {
        E::find()
            .select_only()
            .column(columns.id)
            .filter(columns.state.eq(columns.ready.clone()))
            .filter(columns.run_at.lte(now))
            .filter(unlocked())
            .order_by_asc(columns.run_at)
            .limit(limit)
    };
    let claim = || {
        let mut update = E::update_many()
            .col_expr(columns.locked_until, Expr::value(lease_until))
            .col_expr(columns.attempts, Expr::col(columns.attempts).add(1));
        if let Some(claimed) = &columns.claimed {
            update = update.col_expr(columns.state, Expr::value(claimed.clone()));
        }
        update
            .filter(columns.state.eq(columns.ready.clone()))
            .filter(unlocked())
    };
    if db.get_database_backend() == DbBackend::Postgres {
        let mut skip_locked = due().into_query();
        skip_locked.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
        return claim()
            .filter(columns.id.in_subquery(skip_locked))
            .exec_with_returning(db)
            .await;
    }
    let candidates: Vec<i64> = due().into_tuple().all(db).await?;
    let mut claimed = Vec::new();
    for id in candidates {
        let update = claim().filter(columns.id.eq(id));
        claimed.extend(super::update_one(db, update, id).await?);
    }
    Ok(claimed)
}
