//! Queries on `awards`.

use entity::award;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

/// Replaces every stored award with `rows`.
pub async fn replace_all(
    db: &impl ConnectionTrait,
    rows: Vec<award::ActiveModel>,
) -> Result<(), DbErr> {
    award::Entity::delete_many().exec(db).await?;
    if !rows.is_empty() {
        award::Entity::insert_many(rows)
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

/// Every stored award, by category and place.
pub async fn all(db: &impl ConnectionTrait) -> Result<Vec<award::Model>, DbErr> {
    award::Entity::find()
        .order_by_asc(award::Column::Category)
        .order_by_asc(award::Column::Place)
        .all(db)
        .await
}

/// Whether awards have been computed.
pub async fn computed(db: &impl ConnectionTrait) -> Result<bool, DbErr> {
    Ok(award::Entity::find().count(db).await? > 0)
}

/// Up to `limit` rows with ids above `after`, in id order (pages of an export).
pub async fn page_after(
    db: &impl ConnectionTrait,
    after: i64,
    limit: u64,
) -> Result<Vec<award::Model>, DbErr> {
    award::Entity::find()
        .filter(award::Column::Id.gt(after))
        .order_by_asc(award::Column::Id)
        .limit(limit)
        .all(db)
        .await
}
