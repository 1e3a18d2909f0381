//! Queries on `people`.

use chrono::{DateTime, Utc};
use entity::person;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set,
};

/// The person with this official-account openid.
pub async fn find_by_mp_openid(
    db: &impl ConnectionTrait,
    openid: &str,
) -> Result<Option<person::Model>, DbErr> {
    person::Entity::find()
        .filter(person::Column::MpOpenid.eq(openid))
        .one(db)
        .await
}

/// The person with this official-account openid, created if new (safe under concurrency);
/// the flag tells whether this call created it.
pub async fn get_or_create_by_mp_openid(
    db: &impl ConnectionTrait,
    openid: &str,
    now: DateTime<Utc>,
) -> Result<(person::Model, bool), DbErr> {
    if let Some(found) = find_by_mp_openid(db, openid).await? {
        return Ok((found, false));
    }
    let result = person::Entity::insert(person::ActiveModel {
        mp_openid: Set(Some(openid.to_owned())),
        nickname: Set(String::new()),
        following: Set(false),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    })
    .on_conflict_do_nothing_on([person::Column::MpOpenid])
    .exec_without_returning(db)
    .await?;
    let created = super::inserted(result)?;
    let person = find_by_mp_openid(db, openid)
        .await?
        .ok_or(DbErr::RecordNotFound(format!(
            "person with mp openid {openid}"
        )))?;
    Ok((person, created))
}

/// Saves changed fields of a person.
pub async fn update(
    db: &impl ConnectionTrait,
    changes: person::ActiveModel,
) -> Result<person::Model, DbErr> {
    changes.update(db).await
}

/// One person.
pub async fn find(db: &impl ConnectionTrait, id: i64) -> Result<Option<person::Model>, DbErr> {
    person::Entity::find_by_id(id).one(db).await
}

/// The person with this mini-program openid.
pub async fn find_by_miniapp_openid(
    db: &impl ConnectionTrait,
    openid: &str,
) -> Result<Option<person::Model>, DbErr> {
    person::Entity::find()
        .filter(person::Column::MiniappOpenid.eq(openid))
        .one(db)
        .await
}

/// The person with this unionid.
pub async fn find_by_unionid(
    db: &impl ConnectionTrait,
    unionid: &str,
) -> Result<Option<person::Model>, DbErr> {
    person::Entity::find()
        .filter(person::Column::Unionid.eq(unionid))
        .one(db)
        .await
}

/// Creates a person known by the mini program.
pub async fn insert_miniapp(
    db: &impl ConnectionTrait,
    openid: &str,
    unionid: Option<&str>,
    now: DateTime<Utc>,
) -> Result<person::Model, DbErr> {
    person::ActiveModel {
        miniapp_openid: Set(Some(openid.to_owned())),
        unionid: Set(unionid.map(str::to_owned)),
        nickname: Set(String::new()),
        following: Set(false),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
}

/// Deletes a person row (after its rows were folded into another person).
pub async fn delete(db: &impl ConnectionTrait, id: i64) -> Result<(), DbErr> {
    person::Entity::delete_by_id(id).exec(db).await?;
    Ok(())
}

/// Several people by id.
pub async fn find_many(
    db: &impl ConnectionTrait,
    ids: &[i64],
) -> Result<Vec<person::Model>, DbErr> {
    person::Entity::find()
        .filter(person::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await
}

/// Ids of the people of a unit.
pub async fn ids_in_unit(db: &impl ConnectionTrait, unit_id: i64) -> Result<Vec<i64>, DbErr> {
    use sea_orm::QuerySelect;
    person::Entity::find()
        .select_only()
        .column(person::Column::Id)
        .filter(person::Column::UnitId.eq(unit_id))
        .into_tuple()
        .all(db)
        .await
}

/// Ids of everyone following the official account.
pub async fn follower_ids(db: &impl ConnectionTrait) -> Result<Vec<i64>, DbErr> {
    use sea_orm::QuerySelect;
    person::Entity::find()
        .select_only()
        .column(person::Column::Id)
        .filter(person::Column::Following.eq(true))
        .filter(person::Column::MpOpenid.is_not_null())
        .into_tuple()
        .all(db)
        .await
}

/// Records a message from an official-account follower in one statement: the person is
/// created if new, and their 48 h service window opens now. The flag tells whether the row is
/// new (a fresh row has `created_at == updated_at`; an existing one keeps its `created_at`).
pub async fn touch_mp_sender(
    db: &impl ConnectionTrait,
    openid: &str,
    now: DateTime<Utc>,
) -> Result<(person::Model, bool), DbErr> {
    let person = person::Entity::insert(person::ActiveModel {
        mp_openid: Set(Some(openid.to_owned())),
        nickname: Set(String::new()),
        following: Set(false),
        last_mp_message_at: Set(Some(now)),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    })
    .on_conflict(
        sea_orm::sea_query::OnConflict::column(person::Column::MpOpenid)
            .update_columns([person::Column::LastMpMessageAt, person::Column::UpdatedAt])
            .to_owned(),
    )
    .exec_with_returning(db)
    .await?;
    let created = person.created_at == person.updated_at;
    Ok((person, created))
}
