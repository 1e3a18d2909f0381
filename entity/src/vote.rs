//! `votes`: the vote ledger; a work's `vote_count` is the number of its `counted` rows.

use sea_orm::entity::prelude::*;

/// One vote, kept forever as the audit trail (voided votes included).
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "votes")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub campaign_id: i64,
    pub work_id: i64,
    pub person_id: i64,
    pub category: String,
    pub campaign_day: String,
    pub ip: String,
    pub user_agent: String,
    pub created_at: DateTimeUtc,
    pub status: String,
    pub counted_key: Option<String>,
    pub void_reason: Option<String>,
    pub voided_at: Option<DateTimeUtc>,
    pub flag_reason: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
