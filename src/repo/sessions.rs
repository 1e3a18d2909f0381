//! Queries on `sessions`.

use chrono::{DateTime, Utc};
use entity::session;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set,
};

/// Stores a new session.
pub async fn insert(
    db: &impl ConnectionTrait,
    token_hash: &str,
    person_id: i64,
    session_key: &str,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<session::Model, DbErr> {
    session::ActiveModel {
        token_hash: Set(token_hash.to_owned()),
        person_id: Set(person_id),
        session_key: Set(session_key.to_owned()),
        created_at: Set(now),
        expires_at: Set(expires_at),
        revoked_at: Set(None),
        ..Default::default()
    }
    .insert(db)
    .await
}

/// The live session with this token hash at `now`.
pub async fn find_live(
    db: &impl ConnectionTrait,
    token_hash: &str,
    now: DateTime<Utc>,
) -> Result<Option<session::Model>, DbErr> {
    session::Entity::find()
        .filter(session::Column::TokenHash.eq(token_hash))
        .filter(session::Column::ExpiresAt.gt(now))
        .filter(session::Column::RevokedAt.is_null())
        .one(db)
        .await
}

/// Moves a person's sessions to another person (identities merged).
pub async fn reassign(db: &impl ConnectionTrait, from: i64, to: i64) -> Result<(), DbErr> {
    session::Entity::update_many()
        .col_expr(
            session::Column::PersonId,
            sea_orm::sea_query::Expr::value(to),
        )
        .filter(session::Column::PersonId.eq(from))
        .exec(db)
        .await?;
    Ok(())
}
