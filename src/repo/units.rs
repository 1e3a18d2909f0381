//! Queries on `units`.

use entity::unit;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, Set,
    sea_query::OnConflict,
};

/// Inserts or renames a unit by its code.
pub async fn upsert(db: &impl ConnectionTrait, code: &str, name: &str) -> Result<(), DbErr> {
    unit::Entity::insert(unit::ActiveModel {
        code: Set(code.to_owned()),
        name: Set(name.to_owned()),
        ..Default::default()
    })
    .on_conflict(
        OnConflict::column(unit::Column::Code)
            .update_column(unit::Column::Name)
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// The unit with this code.
pub async fn find_by_code(
    db: &impl ConnectionTrait,
    code: &str,
) -> Result<Option<unit::Model>, DbErr> {
    unit::Entity::find()
        .filter(unit::Column::Code.eq(code))
        .one(db)
        .await
}

/// The unit with this id.
pub async fn find(db: &impl ConnectionTrait, id: i64) -> Result<Option<unit::Model>, DbErr> {
    unit::Entity::find_by_id(id).one(db).await
}

/// Every unit, by id.
pub async fn all(db: &impl ConnectionTrait) -> Result<Vec<unit::Model>, DbErr> {
    unit::Entity::find()
        .order_by_asc(unit::Column::Id)
        .all(db)
        .await
}

/// Several units by id.
pub async fn find_many(db: &impl ConnectionTrait, ids: &[i64]) -> Result<Vec<unit::Model>, DbErr> {
    unit::Entity::find()
        .filter(unit::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await
}
