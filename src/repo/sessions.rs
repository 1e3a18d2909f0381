//! Queries on `sessions`.

use chrono::{DateTime, Utc};
use entity::session;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set, sea_query::OnConflict,
};

/// A session to store: who, with which WeChat session key, for how long.
pub struct NewSession<'a> {
    /// sha256 of our bearer token.
    pub token_hash: &'a str,
    /// sha256 of the wx.login code it was made from.
    pub login_code_hash: &'a str,
    /// The person logged in.
    pub person_id: i64,
    /// WeChat's session_key for this login.
    pub session_key: &'a str,
    /// When it was made.
    pub now: DateTime<Utc>,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
}

/// Stores the session for a login code, replacing (and so revoking) any earlier session made
/// from the same code: one statement, so concurrent logins with one code still leave one row.
pub async fn put_for_code(db: &impl ConnectionTrait, new: NewSession<'_>) -> Result<(), DbErr> {
    let row = session::ActiveModel {
        token_hash: Set(new.token_hash.to_owned()),
        login_code_hash: Set(Some(new.login_code_hash.to_owned())),
        person_id: Set(new.person_id),
        session_key: Set(new.session_key.to_owned()),
        created_at: Set(new.now),
        expires_at: Set(new.expires_at),
        revoked_at: Set(None),
        ..Default::default()
    };
    session::Entity::insert(row)
        .on_conflict(
            OnConflict::column(session::Column::LoginCodeHash)
                .update_columns([
                    session::Column::TokenHash,
                    session::Column::PersonId,
                    session::Column::SessionKey,
                    session::Column::CreatedAt,
                    session::Column::ExpiresAt,
                    session::Column::RevokedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
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
