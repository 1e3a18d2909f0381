//! Queries on `admin_tokens`.

use entity::admin_token;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set,
};

/// What a new token row holds.
pub struct NewAdminToken<'a> {
    /// Role name.
    pub role: &'a str,
    /// Unit for the `unit` role.
    pub unit_id: Option<i64>,
    /// Category keys for a judge, comma-separated.
    pub categories: Option<String>,
    /// sha256 hex of the token.
    pub token_hash: &'a str,
    /// Who or what the token is for.
    pub label: &'a str,
}

/// Inserts a token row.
pub async fn insert(
    db: &impl ConnectionTrait,
    new: NewAdminToken<'_>,
) -> Result<admin_token::Model, DbErr> {
    admin_token::ActiveModel {
        role: Set(new.role.to_owned()),
        unit_id: Set(new.unit_id),
        categories: Set(new.categories),
        token_hash: Set(new.token_hash.to_owned()),
        label: Set(new.label.to_owned()),
        created_at: Set(chrono::Utc::now()),
        revoked_at: Set(None),
        ..Default::default()
    }
    .insert(db)
    .await
}

/// The row with this hash, revoked or not.
pub async fn find_by_hash(
    db: &impl ConnectionTrait,
    token_hash: &str,
) -> Result<Option<admin_token::Model>, DbErr> {
    admin_token::Entity::find()
        .filter(admin_token::Column::TokenHash.eq(token_hash))
        .one(db)
        .await
}
