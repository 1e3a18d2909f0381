//! `wechat_tokens`: the shared access token of each WeChat app and its refresh lease.

use sea_orm::entity::prelude::*;

/// One row per appid: the current access token and who may refresh it.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "wechat_tokens")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub appid: String,
    pub access_token: String,
    pub expires_at: DateTimeUtc,
    pub lease_holder: Option<String>,
    pub lease_until: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
