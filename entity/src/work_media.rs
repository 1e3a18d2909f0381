//! `work_media`: the media of a work, in order, with their content-check state.

use sea_orm::entity::prelude::*;

/// One medium of a work.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "work_media")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub work_id: i64,
    pub upload_id: i64,
    pub position: i32,
    pub check_trace_id: Option<String>,
    pub check_suggest: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
