//! Queries on `callback_receipts`: the durable half of callback deduplication.

use chrono::{DateTime, Utc};
use entity::callback_receipt as receipt;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect, Set};

/// Records that `key` was handled with `reply`; `false` if another handler recorded it first.
///
/// Inside a transaction this also serialises concurrent handlers of the same key: the second
/// insert waits for the first transaction and then does nothing.
pub async fn try_record(
    db: &impl ConnectionTrait,
    key: &str,
    reply: &str,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let result = receipt::Entity::insert(receipt::ActiveModel {
        dedup_key: Set(key.to_owned()),
        reply: Set(reply.to_owned()),
        created_at: Set(now),
        ..Default::default()
    })
    .on_conflict_do_nothing_on([receipt::Column::DedupKey])
    .exec_without_returning(db)
    .await?;
    super::inserted(result)
}

/// The reply recorded for `key`, if it was handled.
pub async fn reply_for(db: &impl ConnectionTrait, key: &str) -> Result<Option<String>, DbErr> {
    receipt::Entity::find()
        .select_only()
        .column(receipt::Column::Reply)
        .filter(receipt::Column::DedupKey.eq(key))
        .into_tuple::<String>()
        .one(db)
        .await
}

/// Deletes receipts older than `before` (WeChat stops retrying within a minute).
pub async fn delete_older_than(
    db: &impl ConnectionTrait,
    before: DateTime<Utc>,
) -> Result<u64, DbErr> {
    let result = receipt::Entity::delete_many()
        .filter(receipt::Column::CreatedAt.lt(before))
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}
