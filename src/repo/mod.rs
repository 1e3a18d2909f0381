//! The only code that builds SeaORM queries; functions take `&impl ConnectionTrait`.

pub mod admin_tokens;
pub mod wechat_tokens;
