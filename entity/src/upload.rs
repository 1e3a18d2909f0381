//! `uploads`: stored media files (uploaded, or copied from WeChat chat).

use sea_orm::entity::prelude::*;

/// One media file.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "uploads")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub owner_id: i64,
    pub kind: String,
    pub state: UploadState,
    pub mime: String,
    pub size_bytes: i64,
    pub storage_key: Option<String>,
    pub width: Option<i32>,
    pub height: Option<i32>,
    pub duration_ms: Option<i32>,
    pub wechat_media_id: Option<String>,
    pub error: Option<String>,
    pub created_at: DateTimeUtc,
}

/// Whether an upload's file is stored and usable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum UploadState {
    /// Still to be copied from WeChat's temporary media.
    #[sea_orm(string_value = "pending")]
    Pending,
    /// Stored and checked.
    #[sea_orm(string_value = "ready")]
    Ready,
    /// The copy or the check failed; `error` says why.
    #[sea_orm(string_value = "failed")]
    Failed,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
