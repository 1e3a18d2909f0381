//! The only code that builds SeaORM queries; functions take `&impl ConnectionTrait`.

pub mod admin_tokens;
pub mod awards;
pub mod drafts;
pub mod jobs;
pub mod notifications;
pub mod overrides;
pub mod people;
pub mod receipts;
pub mod scores;
pub mod sessions;
pub mod stats;
pub mod units;
pub mod uploads;
pub mod votes;
pub mod wechat_tokens;
pub mod works;

use sea_orm::{DbErr, TryInsertResult};

/// Whether an `ON CONFLICT DO NOTHING` insert wrote its row.
pub(crate) fn inserted(result: TryInsertResult<u64>) -> Result<bool, DbErr> {
    Ok(match result {
        TryInsertResult::Inserted(n) => n > 0,
        TryInsertResult::Conflicted | TryInsertResult::Empty => false,
    })
}
