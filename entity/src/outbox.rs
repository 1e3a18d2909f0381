//! `outbox`: one row per (notification, recipient): what to send and how it went.

use sea_orm::entity::prelude::*;

/// One message to one person.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "outbox")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub notification_id: Option<i64>,
    pub person_id: i64,
    #[sea_orm(unique)]
    pub idempotency_key: String,
    pub channel: String,
    pub template_id: String,
    #[sea_orm(column_type = "Text")]
    pub payload: String,
    pub state: String,
    pub attempts: i32,
    pub next_attempt_at: DateTimeUtc,
    pub locked_until: Option<DateTimeUtc>,
    pub last_error: Option<String>,
    pub sent_at: Option<DateTimeUtc>,
    pub wechat_msgid: Option<i64>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
