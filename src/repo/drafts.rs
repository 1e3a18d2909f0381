//! Queries on `photo_drafts` and `photo_draft_items`.

use chrono::{DateTime, Utc};
use entity::{photo_draft as draft, photo_draft_item as item};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, Set,
};

/// The person's draft, expired or not.
pub async fn find_for_person(
    db: &impl ConnectionTrait,
    person_id: i64,
) -> Result<Option<draft::Model>, DbErr> {
    draft::Entity::find()
        .filter(draft::Column::PersonId.eq(person_id))
        .one(db)
        .await
}

/// Opens a draft for the person.
pub async fn create(
    db: &impl ConnectionTrait,
    campaign_id: i64,
    person_id: i64,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<draft::Model, DbErr> {
    draft::ActiveModel {
        campaign_id: Set(campaign_id),
        person_id: Set(person_id),
        created_at: Set(now),
        expires_at: Set(expires_at),
        ..Default::default()
    }
    .insert(db)
    .await
}

/// Extends a draft's expiry.
pub async fn touch(
    db: &impl ConnectionTrait,
    draft: draft::Model,
    expires_at: DateTime<Utc>,
) -> Result<draft::Model, DbErr> {
    let mut changes: draft::ActiveModel = draft.into();
    changes.expires_at = Set(expires_at);
    changes.update(db).await
}

/// Deletes a draft and its items.
pub async fn delete(db: &impl ConnectionTrait, draft_id: i64) -> Result<(), DbErr> {
    item::Entity::delete_many()
        .filter(item::Column::DraftId.eq(draft_id))
        .exec(db)
        .await?;
    draft::Entity::delete_by_id(draft_id).exec(db).await?;
    Ok(())
}

/// Number of photos in a draft.
pub async fn item_count(db: &impl ConnectionTrait, draft_id: i64) -> Result<u64, DbErr> {
    item::Entity::find()
        .filter(item::Column::DraftId.eq(draft_id))
        .count(db)
        .await
}

/// Appends a photo to a draft.
pub async fn add_item(
    db: &impl ConnectionTrait,
    draft_id: i64,
    upload_id: i64,
    position: i32,
) -> Result<(), DbErr> {
    item::ActiveModel {
        draft_id: Set(draft_id),
        upload_id: Set(upload_id),
        position: Set(position),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

/// The upload ids of a draft, in order.
pub async fn upload_ids(db: &impl ConnectionTrait, draft_id: i64) -> Result<Vec<i64>, DbErr> {
    Ok(item::Entity::find()
        .filter(item::Column::DraftId.eq(draft_id))
        .order_by_asc(item::Column::Position)
        .all(db)
        .await?
        .into_iter()
        .map(|row| row.upload_id)
        .collect())
}
