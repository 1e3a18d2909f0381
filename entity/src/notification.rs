//! `notifications`: broadcasts an admin scheduled, before and after they become outbox rows.

use sea_orm::entity::prelude::*;

/// One broadcast.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "notifications")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub milestone_key: Option<String>,
    pub channel: String,
    pub template_id: String,
    #[sea_orm(column_type = "Text")]
    pub data: String,
    pub page: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub audience: String,
    pub send_at: DateTimeUtc,
    pub state: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
