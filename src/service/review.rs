//! Reviewers' side of moderation: the queue, and approve / reject decisions.

use chrono::{DateTime, Utc};
use entity::work;
use sea_orm::{ConnectionTrait, Set};

use crate::{
    campaign::notices::Notices,
    domain::{role::Role, text::TextBound, work::WorkStatus},
    error::AppError,
    repo::{self, works::AdminFilter},
    service::{
        admin_tokens::AdminIdentity,
        campaign::Campaigns,
        notifications::{AuthorEvent, notify_author},
        works::{WorkDetails, details},
    },
};

/// A reason staff give: 200 characters for people, `varchar(500)` in the table.
const REASON: TextBound = TextBound {
    label: "驳回原因",
    max_graphemes: 200,
    max_chars: 500,
    multiline: true,
};

/// A reviewer's decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Publish.
    Approve,
    /// Refuse, with a reason for the author.
    Reject,
}

/// Works for the review list; a unit organiser sees only their unit.
pub async fn queue(
    db: &impl ConnectionTrait,
    who: &AdminIdentity,
    campaign_id: i64,
    status: Option<&str>,
    category: Option<&str>,
    unit_id: Option<i64>,
) -> Result<Vec<WorkDetails>, AppError> {
    who.require(&[Role::Reviewer, Role::Admin, Role::Unit])?;
    let status = status
        .map(|text| {
            WorkStatus::parse(text)
                .ok_or_else(|| AppError::BadRequest(format!("unknown status `{text}`")))
        })
        .transpose()?;
    let unit_id = if who.role == Role::Unit {
        who.unit_id
    } else {
        unit_id
    };
    let works = repo::works::list_for_review(
        db,
        AdminFilter {
            campaign_id: Some(campaign_id),
            status,
            category,
            unit_id,
        },
        200,
    )
    .await?;
    Ok(details(db, works).await?)
}

/// Approves or rejects a work; withdrawn works are the author's and stay withdrawn.
pub async fn decide(
    db: &impl ConnectionTrait,
    (campaigns, notices): (&Campaigns, &Notices),
    who: &AdminIdentity,
    work_id: i64,
    decision: Decision,
    reason: Option<&str>,
    now: DateTime<Utc>,
) -> Result<WorkDetails, AppError> {
    who.require(&[Role::Reviewer, Role::Admin])?;
    let reason = reason.map(str::trim).filter(|r| !r.is_empty());
    if decision == Decision::Reject && reason.is_none() {
        return Err(AppError::field("reason", "驳回须填写原因（200字以内）"));
    }
    if let Some(reason) = reason {
        REASON
            .check(reason)
            .map_err(|e| AppError::text("reason", e))?;
    }
    let work = repo::works::find(db, work_id)
        .await?
        .ok_or(AppError::NotFound)?;
    if work.status == WorkStatus::Withdrawn.as_str() {
        return Err(AppError::Forbidden);
    }
    let mut changes: work::ActiveModel = work.into();
    let status = match decision {
        Decision::Approve => WorkStatus::Approved,
        Decision::Reject => WorkStatus::Rejected,
    };
    changes.status = Set(status.as_str().to_owned());
    changes.moderation_note = Set(reason.map(str::to_owned));
    changes.approved_at = Set((decision == Decision::Approve).then_some(now));
    changes.updated_at = Set(now);
    let work = repo::works::update(db, changes).await?;
    let event = match decision {
        Decision::Approve => AuthorEvent::Approved,
        Decision::Reject => AuthorEvent::Rejected,
    };
    if let Some(campaign) = campaigns.by_id(work.campaign_id) {
        notify_author(db, notices, campaign, event, &work, now).await?;
    }
    tracing::info!(
        work.id = work_id,
        admin.token = who.token_id,
        decision = status.as_str(),
        "work reviewed"
    );
    details(db, vec![work])
        .await?
        .pop()
        .ok_or_else(|| AppError::internal("work details vanished"))
}

/// Marks (`true`) or unmarks an approved work of the organiser's own unit as reported (报送) to
/// the city level; works of other units are not found.
pub async fn report(
    db: &impl ConnectionTrait,
    who: &AdminIdentity,
    work_id: i64,
    reported: bool,
    now: DateTime<Utc>,
) -> Result<WorkDetails, AppError> {
    who.require(&[Role::Unit])?;
    let work = repo::works::find(db, work_id)
        .await?
        .filter(|w| w.unit_id.is_some() && w.unit_id == who.unit_id)
        .ok_or(AppError::NotFound)?;
    if work.status != WorkStatus::Approved.as_str() {
        return Err(AppError::BadRequestFields(
            [("work".to_owned(), "只能报送已通过审核的作品".to_owned())].into(),
        ));
    }
    let mut changes: work::ActiveModel = work.into();
    changes.reported_at = Set(reported.then_some(now));
    changes.reported_by = Set(reported.then_some(who.token_id));
    changes.updated_at = Set(now);
    let work = repo::works::update(db, changes).await?;
    tracing::info!(
        work.id = work_id,
        admin.token = who.token_id,
        reported,
        "work report changed"
    );
    details(db, vec![work])
        .await?
        .pop()
        .ok_or_else(|| AppError::internal("work details vanished"))
}
