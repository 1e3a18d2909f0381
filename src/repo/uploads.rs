//! Queries on `uploads`.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use entity::upload;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect,
    Set,
};

/// Records an image received in chat, to be copied from WeChat by a background job.
pub async fn insert_pending_from_wechat(
    db: &impl ConnectionTrait,
    owner_id: i64,
    kind: &str,
    media_id: &str,
    now: DateTime<Utc>,
) -> Result<upload::Model, DbErr> {
    upload::ActiveModel {
        owner_id: Set(owner_id),
        kind: Set(kind.to_owned()),
        state: Set(entity::upload::UploadState::Pending),
        mime: Set(String::new()),
        size_bytes: Set(0),
        storage_key: Set(None),
        width: Set(None),
        height: Set(None),
        duration_ms: Set(None),
        wechat_media_id: Set(Some(media_id.to_owned())),
        error: Set(None),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
}

/// A file received and checked, ready to be recorded.
pub struct NewReadyUpload<'a> {
    /// The person who sent it.
    pub owner_id: i64,
    /// image, video or audio.
    pub kind: &'a str,
    /// MIME type sniffed from the bytes.
    pub mime: &'a str,
    /// Stored size in bytes.
    pub size_bytes: i64,
    /// Where the file is in media storage.
    pub storage_key: &'a str,
    /// Pixels, for images.
    pub width: Option<i32>,
    /// Pixels, for images.
    pub height: Option<i32>,
    /// Length, for audio and video.
    pub duration_ms: Option<i32>,
}

/// Records a file that is already stored, in state `ready`.
pub async fn insert_ready(
    db: &impl ConnectionTrait,
    new: NewReadyUpload<'_>,
    now: DateTime<Utc>,
) -> Result<upload::Model, DbErr> {
    upload::ActiveModel {
        owner_id: Set(new.owner_id),
        kind: Set(new.kind.to_owned()),
        state: Set(entity::upload::UploadState::Ready),
        mime: Set(new.mime.to_owned()),
        size_bytes: Set(new.size_bytes),
        storage_key: Set(Some(new.storage_key.to_owned())),
        width: Set(new.width),
        height: Set(new.height),
        duration_ms: Set(new.duration_ms),
        wechat_media_id: Set(None),
        error: Set(None),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
}

/// One upload.
pub async fn find(db: &impl ConnectionTrait, id: i64) -> Result<Option<upload::Model>, DbErr> {
    upload::Entity::find_by_id(id).one(db).await
}

/// Several uploads by id.
pub async fn find_many(
    db: &impl ConnectionTrait,
    ids: &[i64],
) -> Result<Vec<upload::Model>, DbErr> {
    upload::Entity::find()
        .filter(upload::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await
}

/// Which of `keys` are the storage key of some upload (one query; callers pass a few hundred).
pub async fn known_keys(
    db: &impl ConnectionTrait,
    keys: &[&str],
) -> Result<HashSet<String>, DbErr> {
    if keys.is_empty() {
        return Ok(HashSet::new());
    }
    let found: Vec<Option<String>> = upload::Entity::find()
        .select_only()
        .column(upload::Column::StorageKey)
        .filter(upload::Column::StorageKey.is_in(keys.iter().copied()))
        .into_tuple()
        .all(db)
        .await?;
    Ok(found.into_iter().flatten().collect())
}

/// Saves changed fields of an upload.
pub async fn update(
    db: &impl ConnectionTrait,
    changes: upload::ActiveModel,
) -> Result<upload::Model, DbErr> {
    changes.update(db).await
}

/// Moves a person's files to another person (identities merged).
pub async fn reassign_owner(db: &impl ConnectionTrait, from: i64, to: i64) -> Result<(), DbErr> {
    upload::Entity::update_many()
        .col_expr(upload::Column::OwnerId, sea_orm::sea_query::Expr::value(to))
        .filter(upload::Column::OwnerId.eq(from))
        .exec(db)
        .await?;
    Ok(())
}

/// How many files and bytes `owner_id` has stored since `since` (for the daily quota).
pub async fn stored_since(
    db: &impl ConnectionTrait,
    owner_id: i64,
    since: DateTime<Utc>,
) -> Result<(u64, u64), DbErr> {
    use sea_orm::sea_query::Expr;
    // PostgreSQL's SUM of a bigint is numeric: cast it back.
    let row: Option<(i64, i64)> = upload::Entity::find()
        .select_only()
        .column_as(Expr::cust("COUNT(*)"), "files")
        .column_as(
            Expr::cust("CAST(COALESCE(SUM(size_bytes), 0) AS BIGINT)"),
            "bytes",
        )
        .filter(upload::Column::OwnerId.eq(owner_id))
        .filter(upload::Column::CreatedAt.gt(since))
        .into_tuple()
        .one(db)
        .await?;
    let (files, bytes) = row.unwrap_or_default();
    Ok((
        u64::try_from(files).unwrap_or(0),
        u64::try_from(bytes).unwrap_or(0),
    ))
}
