//! Queries on `scores`.

use chrono::{DateTime, Utc};
use entity::score;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, Set,
    sea_query::OnConflict,
};

/// Stores a judge's score of a work, replacing their earlier one.
pub async fn upsert(
    db: &impl ConnectionTrait,
    work_id: i64,
    judge_id: i64,
    value: i32,
    comment: &str,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    score::Entity::insert(score::ActiveModel {
        work_id: Set(work_id),
        judge_id: Set(judge_id),
        score: Set(value),
        comment: Set(comment.to_owned()),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    })
    .on_conflict(
        OnConflict::columns([score::Column::WorkId, score::Column::JudgeId])
            .update_columns([
                score::Column::Score,
                score::Column::Comment,
                score::Column::UpdatedAt,
            ])
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// One judge's score of one work.
pub async fn find(
    db: &impl ConnectionTrait,
    work_id: i64,
    judge_id: i64,
) -> Result<Option<score::Model>, DbErr> {
    score::Entity::find()
        .filter(score::Column::WorkId.eq(work_id))
        .filter(score::Column::JudgeId.eq(judge_id))
        .one(db)
        .await
}

/// Every score of these works, by work.
pub async fn for_works(
    db: &impl ConnectionTrait,
    work_ids: &[i64],
) -> Result<Vec<score::Model>, DbErr> {
    score::Entity::find()
        .filter(score::Column::WorkId.is_in(work_ids.iter().copied()))
        .order_by_asc(score::Column::WorkId)
        .order_by_asc(score::Column::Id)
        .all(db)
        .await
}
