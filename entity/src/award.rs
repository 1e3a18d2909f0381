//! `awards`: the latest computed prizes, replaced by each computation.

use sea_orm::entity::prelude::*;

/// A prize of a work in its category.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "awards")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub campaign_id: i64,
    pub category: String,
    pub work_id: i64,
    pub place: i32,
    pub prize: String,
    pub final_score: f64,
    pub vote_score: f64,
    pub jury_mean: f64,
    pub vote_count: i32,
    pub computed_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
