//! `notifications`: broadcasts an admin scheduled, before and after they become outbox rows.

use sea_orm::entity::prelude::*;

/// One broadcast.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "notifications")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub campaign_id: i64,
    pub milestone_key: Option<String>,
    pub channel: String,
    pub template_id: String,
    #[sea_orm(column_type = "Text")]
    pub data: String,
    pub page: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub audience: String,
    pub send_at: DateTimeUtc,
    pub state: NotificationState,
    pub created_at: DateTimeUtc,
}

/// Where a broadcast is: waiting for its time, turned into outbox rows, or called off.
#[derive(Clone, Copy, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum NotificationState {
    /// Due at `send_at`.
    #[sea_orm(string_value = "scheduled")]
    Scheduled,
    /// Its outbox rows exist (one per recipient).
    #[sea_orm(string_value = "expanded")]
    Expanded,
    /// Cancelled before it went out.
    #[sea_orm(string_value = "cancelled")]
    Cancelled,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
