//! Aggregate queries for the organisers' statistics.

use entity::{award, work};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect,
    sea_query::{Expr, ExprTrait},
};

/// (unit, approved works) of a campaign for every unit with any.
pub async fn approved_by_unit(
    db: &impl ConnectionTrait,
    campaign_id: i64,
) -> Result<Vec<(i64, i64)>, DbErr> {
    work::Entity::find()
        .filter(work::Column::CampaignId.eq(campaign_id))
        .select_only()
        .column(work::Column::UnitId)
        .column_as(Expr::col(work::Column::Id).count(), "n")
        .filter(work::Column::Status.eq("approved"))
        .filter(work::Column::UnitId.is_not_null())
        .group_by(work::Column::UnitId)
        .into_tuple::<(i64, i64)>()
        .all(db)
        .await
}

/// (unit, distinct authors of works not withdrawn) of a campaign for every unit with any.
pub async fn participants_by_unit(
    db: &impl ConnectionTrait,
    campaign_id: i64,
) -> Result<Vec<(i64, i64)>, DbErr> {
    work::Entity::find()
        .filter(work::Column::CampaignId.eq(campaign_id))
        .select_only()
        .column(work::Column::UnitId)
        .column_as(Expr::col(work::Column::AuthorId).count_distinct(), "n")
        .filter(work::Column::Status.ne("withdrawn"))
        .filter(work::Column::UnitId.is_not_null())
        .group_by(work::Column::UnitId)
        .into_tuple::<(i64, i64)>()
        .all(db)
        .await
}

/// The unit of every awarded work of a campaign (one entry per award).
pub async fn award_units(db: &impl ConnectionTrait, campaign_id: i64) -> Result<Vec<i64>, DbErr> {
    let work_ids: Vec<i64> = award::Entity::find()
        .filter(award::Column::CampaignId.eq(campaign_id))
        .select_only()
        .column(award::Column::WorkId)
        .into_tuple::<i64>()
        .all(db)
        .await?;
    let units: Vec<(i64, Option<i64>)> = work::Entity::find()
        .select_only()
        .column(work::Column::Id)
        .column(work::Column::UnitId)
        .filter(work::Column::Id.is_in(work_ids.iter().copied()))
        .into_tuple()
        .all(db)
        .await?;
    Ok(work_ids
        .iter()
        .filter_map(|id| units.iter().find(|(w, _)| w == id).and_then(|(_, u)| *u))
        .collect())
}
