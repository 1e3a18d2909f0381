//! `campaigns`: every campaign the database has seen, with a snapshot of its definition.

use sea_orm::entity::prelude::*;

/// One campaign: its key, the text of its file when last seen, and its work-code counter.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "campaigns")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The file's `key`; empty only for the rows from before campaigns, until adopted.
    #[sea_orm(unique)]
    pub key: String,
    pub name: String,
    pub code_prefix: String,
    /// The campaign file's text as last seen (parsed again when the file is gone).
    #[sea_orm(column_type = "Text")]
    pub definition: String,
    pub source_file: String,
    /// JSON object: every category key ever seen → its latest name.
    #[sea_orm(column_type = "Text")]
    pub category_names: String,
    /// Works numbered so far: the next code is `<prefix>-<works_numbered + 1>`.
    pub works_numbered: i64,
    /// Whether the file was there at the last start (a campaign without one is read-only).
    pub file_present: bool,
    pub first_seen_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
