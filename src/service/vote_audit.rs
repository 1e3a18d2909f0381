//! Reviewers' side of voting: the audit listing (flagged votes first of all) and voiding.

use chrono::{DateTime, Utc};
use entity::vote;
use sea_orm::{ConnectionTrait, DatabaseConnection};

use crate::{
    domain::{role::Role, text::TextBound, vote::VoteStatus},
    error::AppError,
    repo::{self, votes::VoteFilter},
    service::admin_tokens::AdminIdentity,
};

/// A reason staff give: 200 characters for people, `varchar(500)` in the table.
const REASON: TextBound = TextBound {
    label: "作废原因",
    max_graphemes: 200,
    max_chars: 500,
    multiline: true,
};

/// Most rows one listing returns.
const LIST_LIMIT: u64 = 500;

/// Votes by status, work and voter, newest first (reviewers and admins).
pub async fn list(
    db: &impl ConnectionTrait,
    who: &AdminIdentity,
    campaign_id: i64,
    status: Option<&str>,
    work_id: Option<i64>,
    person_id: Option<i64>,
) -> Result<Vec<vote::Model>, AppError> {
    who.require(&[Role::Reviewer, Role::Admin])?;
    let status = status
        .map(|text| {
            VoteStatus::parse(text)
                .ok_or_else(|| AppError::BadRequest(format!("unknown status `{text}`")))
        })
        .transpose()?;
    let filter = VoteFilter {
        campaign_id: Some(campaign_id),
        status,
        work_id,
        person_id,
        ..VoteFilter::default()
    };
    Ok(repo::votes::list(db, &filter, LIST_LIMIT).await?)
}

/// Which votes to void, and why.
#[derive(Clone, Debug)]
pub struct VoidRequest {
    /// Only this campaign's votes.
    pub campaign_id: i64,
    /// Only votes for this work.
    pub work_id: Option<i64>,
    /// Only votes by this person.
    pub person_id: Option<i64>,
    /// Only votes cast at or after.
    pub from: Option<DateTime<Utc>>,
    /// Only votes cast before.
    pub to: Option<DateTime<Utc>>,
    /// Why; kept on every voided row.
    pub reason: String,
}

/// Voids the counted and flagged votes that match, in one transaction that also recounts
/// every affected work, so each `vote_count` stays equal to its counted rows. Returns how many
/// votes were voided. At least one of work, person or time bound is required: an empty
/// request would void the whole campaign.
pub async fn void(
    db: &DatabaseConnection,
    who: &AdminIdentity,
    request: VoidRequest,
    now: DateTime<Utc>,
) -> Result<u64, AppError> {
    who.require(&[Role::Reviewer, Role::Admin])?;
    let reason = request.reason.trim();
    if reason.is_empty() {
        return Err(AppError::field("reason", "须填写作废原因（200字以内）"));
    }
    REASON
        .check(reason)
        .map_err(|e| AppError::text("reason", e))?;
    if request.work_id.is_none()
        && request.person_id.is_none()
        && request.from.is_none()
        && request.to.is_none()
    {
        return Err(AppError::field("work_id", "须指定作品、用户或时间范围"));
    }
    let filter = VoteFilter {
        campaign_id: Some(request.campaign_id),
        status: None,
        work_id: request.work_id,
        person_id: request.person_id,
        from: request.from,
        to: request.to,
    };
    // Read before the write transaction, to keep it short; votes cast on other works after this
    // read are not part of the void.
    let works = repo::votes::works_with_live_votes(db, &filter).await?;
    let txn = crate::db::begin_write(db).await?;
    // Lock the works in id order first: votes on them wait, so the recount below is exact,
    // and two voids lock in the same order.
    for id in &works {
        repo::works::lock_for_votes(&txn, *id).await?;
    }
    let voided = repo::votes::void(&txn, &filter, &works, reason, now).await?;
    for id in &works {
        let counted = repo::votes::count_for_work(&txn, *id, VoteStatus::Counted).await?;
        let counted = i32::try_from(counted)
            .map_err(|_| AppError::internal(format!("work {id}: vote count overflows")))?;
        repo::works::set_vote_count(&txn, *id, counted).await?;
    }
    txn.commit().await?;
    tracing::info!(
        admin.token = who.token_id,
        votes.voided = voided,
        works = works.len(),
        "votes voided"
    );
    Ok(voided)
}
