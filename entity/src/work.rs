//! `works`: submitted works of every category and channel.

use sea_orm::entity::prelude::*;

/// One work.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "works")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub campaign_id: i64,
    pub code: Option<String>,
    pub category: String,
    pub title: String,
    #[sea_orm(column_type = "Text")]
    pub body: String,
    pub author_id: i64,
    pub unit_id: Option<i64>,
    pub channel: String,
    pub status: String,
    pub true_story: bool,
    pub vote_count: i32,
    pub moderation_note: Option<String>,
    pub text_suggest: Option<String>,
    pub sec_trace_id: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub approved_at: Option<DateTimeUtc>,
    pub reported_at: Option<DateTimeUtc>,
    pub reported_by: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
