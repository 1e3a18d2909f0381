//! Jury scoring: judges score approved works 0–100 with a comment, one score per work.

use chrono::{DateTime, Utc};
use entity::score;
use sea_orm::DatabaseConnection;

use crate::{
    campaign::PhaseKey,
    domain::{role::Role, text::TextBound, work::WorkStatus},
    error::AppError,
    repo,
    service::{admin_tokens::AdminIdentity, campaign::Campaigns},
};

/// A judge's comment: 500 characters, as its `varchar(500)` holds.
const COMMENT: TextBound = TextBound {
    label: "评语",
    max_graphemes: 500,
    max_chars: 500,
    multiline: true,
};

/// Stores the judge's score of an approved work during its campaign's showcase phase,
/// replacing their earlier score of it, until the campaign's awards are computed.
pub async fn score(
    db: &DatabaseConnection,
    (campaigns, who): (&Campaigns, &AdminIdentity),
    work_id: i64,
    value: i32,
    comment: &str,
    now: DateTime<Utc>,
) -> Result<score::Model, AppError> {
    who.require(&[Role::Judge])?;
    let campaign = campaigns.of_work(db, work_id).await?;
    if campaign.phase(db, now).await? != PhaseKey::Showcase {
        return Err(AppError::PhaseClosed("当前不在评审阶段".to_owned()));
    }
    if !(0..=100).contains(&value) {
        return Err(AppError::field("score", "评分须在 0 到 100 之间"));
    }
    let comment = comment.trim();
    COMMENT
        .check(comment)
        .map_err(|e| AppError::text("comment", e))?;
    if repo::awards::computed(db, campaign.id).await? {
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
        .ok_or_else(|| AppError::internal("score vanished"))
}
