//! Jury scoring: judges score approved works 0–100 with a comment, one score per work.

use chrono::{DateTime, Utc};
use entity::score;
use sea_orm::ConnectionTrait;

use crate::{
    campaign::PhaseKey,
    domain::{role::Role, text::char_count, work::WorkStatus},
    error::AppError,
    repo,
    service::admin_tokens::AdminIdentity,
};

/// Longest comment, in characters.
const COMMENT_MAX: u32 = 500;

/// Stores the judge's score of an approved work during the showcase phase, replacing their
/// earlier score of it, until awards are computed.
pub async fn score(
    db: &impl ConnectionTrait,
    who: &AdminIdentity,
    phase: PhaseKey,
    work_id: i64,
    value: i32,
    comment: &str,
    now: DateTime<Utc>,
) -> Result<score::Model, AppError> {
    who.require(&[Role::Judge])?;
    if phase != PhaseKey::Showcase {
        return Err(AppError::PhaseClosed("当前不在评审阶段".to_owned()));
    }
    if !(0..=100).contains(&value) {
        return Err(field("score", "评分须在 0 到 100 之间"));
    }
    let comment = comment.trim();
    if char_count(comment) > COMMENT_MAX {
        return Err(field("comment", "评语不超过500字"));
    }
    if repo::awards::computed(db).await? {
        return Err(AppError::PhaseClosed(
            "评奖结果已计算，评分不能再修改".to_owned(),
        ));
    }
    let work = repo::works::find(db, work_id)
        .await?
        .filter(|w| w.status == WorkStatus::Approved.as_str())
        .ok_or(AppError::NotFound)?;
    if !who.judges(&work.category) {
        return Err(AppError::Forbidden);
    }
    repo::scores::upsert(db, work_id, who.token_id, value, comment, now).await?;
    repo::scores::find(db, work_id, who.token_id)
        .await?
        .ok_or_else(|| AppError::Internal("score vanished".to_owned()))
}

fn field(name: &str, message: &str) -> AppError {
    AppError::BadRequestFields([(name.to_owned(), message.to_owned())].into())
}
