//! SeaORM entities of wangju: one module per table, no behaviour.

pub mod admin_token;
pub mod award;
pub mod callback_receipt;
pub mod campaign;
pub mod campaign_override;
pub mod job;
pub mod notification;
pub mod outbox;
pub mod person;
pub mod photo_draft;
pub mod photo_draft_item;
pub mod push_inbox;
pub mod push_seal;
pub mod score;
pub mod session;
pub mod subscription;
pub mod unit;
pub mod upload;
pub mod vote;
pub mod vote_day;
pub mod wechat_token;
pub mod work;
pub mod work_media;
