//! SeaORM entities of wangju: one module per table, no behaviour.

pub mod admin_token;
pub mod wechat_token;
