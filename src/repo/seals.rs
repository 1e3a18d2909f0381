//! Queries on `push_seals`: which signed push queries were used, and with which body.

use chrono::{DateTime, Utc};
use entity::push_seal as seal;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect, Set};

/// Records `key` as used with a body of `digest`; `false` when it was used before with another
/// body (a replayed query carrying a forged body).
pub async fn use_once(
    db: &impl ConnectionTrait,
    key: &str,
    digest: &str,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let result = seal::Entity::insert(seal::ActiveModel {
        seal: Set(key.to_owned()),
        body_digest: Set(digest.to_owned()),
        seen_at: Set(now),
        ..Default::default()
    })
    .on_conflict_do_nothing_on([seal::Column::Seal])
    .exec_without_returning(db)
    .await?;
    if super::inserted(result)? {
        return Ok(true);
    }
    let stored: Option<String> = seal::Entity::find()
        .select_only()
        .column(seal::Column::BodyDigest)
        .filter(seal::Column::Seal.eq(key))
        .into_tuple()
        .one(db)
        .await?;
    Ok(stored.as_deref() == Some(digest))
}

/// Deletes seals older than `before` (their timestamps are outside the window by now).
pub async fn delete_older_than(
    db: &impl ConnectionTrait,
    before: DateTime<Utc>,
) -> Result<u64, DbErr> {
    let result = seal::Entity::delete_many()
        .filter(seal::Column::SeenAt.lt(before))
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}
