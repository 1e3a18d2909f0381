//! Queries on `awards`.

use entity::award;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

/// Replaces a campaign's stored awards with `rows` (other campaigns' stay).
pub async fn replace_all(
    db: &impl ConnectionTrait,
    campaign_id: i64,
    rows: Vec<award::ActiveModel>,
) -> Result<(), DbErr> {
    award::Entity::delete_many()
        .filter(award::Column::CampaignId.eq(campaign_id))
        .exec(db)
        .await?;
    if !rows.is_empty() {
        award::Entity::insert_many(rows)
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

/// A campaign's stored awards, by category and place.
pub async fn all(db: &impl ConnectionTrait, campaign_id: i64) -> Result<Vec<award::Model>, DbErr> {
    award::Entity::find()
        .filter(award::Column::CampaignId.eq(campaign_id))
        .order_by_asc(award::Column::Category)
        .order_by_asc(award::Column::Place)
        .all(db)
        .await
}

/// Whether a campaign's awards have been computed.
pub async fn computed(db: &impl ConnectionTrait, campaign_id: i64) -> Result<bool, DbErr> {
    let rows = award::Entity::find()
        .filter(award::Column::CampaignId.eq(campaign_id))
        .count(db)
        .await?;
    Ok(rows > 0)
}

/// Up to `limit` rows of a campaign with ids above `after`, in id order (pages of an export).
pub async fn page_after(
    db: &impl ConnectionTrait,
    campaign_id: i64,
    after: i64,
    limit: u64,
) -> Result<Vec<award::Model>, DbErr> {
    award::Entity::find()
        .filter(award::Column::CampaignId.eq(campaign_id))
        .filter(award::Column::Id.gt(after))
        .order_by_asc(award::Column::Id)
        .limit(limit)
        .all(db)
        .await
}
