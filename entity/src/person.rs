//! `people`: one person, known by up to three WeChat identities.

use sea_orm::entity::prelude::*;

/// A worker or member of the public.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "people")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub mp_openid: Option<String>,
    pub miniapp_openid: Option<String>,
    pub unionid: Option<String>,
    pub nickname: String,
    pub avatar_url: Option<String>,
    pub unit_id: Option<i64>,
    pub real_name: Option<String>,
    pub following: bool,
    pub followed_at: Option<DateTimeUtc>,
    pub unfollowed_at: Option<DateTimeUtc>,
    pub last_mp_message_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
