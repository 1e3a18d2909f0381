//! Queries on `campaign_overrides`.

use chrono::{DateTime, Utc};
use entity::campaign_override as ov;
use sea_orm::{ConnectionTrait, DbErr, EntityTrait, Set, sea_query::OnConflict};

/// The override stored under `key`.
pub async fn get(db: &impl ConnectionTrait, key: &str) -> Result<Option<String>, DbErr> {
    Ok(ov::Entity::find_by_id(key.to_owned())
        .one(db)
        .await?
        .map(|row| row.value))
}

/// Stores an override, replacing an older one.
pub async fn set(
    db: &impl ConnectionTrait,
    key: &str,
    value: &str,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    ov::Entity::insert(ov::ActiveModel {
        key: Set(key.to_owned()),
        value: Set(value.to_owned()),
        updated_at: Set(now),
    })
    .on_conflict(
        OnConflict::column(ov::Column::Key)
            .update_columns([ov::Column::Value, ov::Column::UpdatedAt])
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// Removes an override.
pub async fn clear(db: &impl ConnectionTrait, key: &str) -> Result<(), DbErr> {
    ov::Entity::delete_by_id(key.to_owned()).exec(db).await?;
    Ok(())
}
