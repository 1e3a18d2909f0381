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
    pub state: OutboxState,
    pub attempts: i32,
    pub next_attempt_at: DateTimeUtc,
    pub locked_until: Option<DateTimeUtc>,
    pub last_error: Option<String>,
    pub sent_at: Option<DateTimeUtc>,
    pub wechat_msgid: Option<i64>,
    pub created_at: DateTimeUtc,
}

/// How one message stands: queued, being sent, or one of its ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum OutboxState {
    /// Waiting for `next_attempt_at`.
    #[sea_orm(string_value = "pending")]
    Pending,
    /// Claimed by a sender until `locked_until`.
    #[sea_orm(string_value = "in_flight")]
    InFlight,
    /// WeChat took it.
    #[sea_orm(string_value = "sent")]
    Sent,
    /// WeChat reported a template message delivered.
    #[sea_orm(string_value = "delivered")]
    Delivered,
    /// WeChat reported a template message not delivered.
    #[sea_orm(string_value = "undelivered")]
    Undelivered,
    /// Given up; `last_error` says why.
    #[sea_orm(string_value = "failed")]
    Failed,
    /// Its sender died mid-send and WeChat cannot be asked: never sent again.
    #[sea_orm(string_value = "unknown")]
    Unknown,
    /// Its broadcast was cancelled before it went.
    #[sea_orm(string_value = "cancelled")]
    Cancelled,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
