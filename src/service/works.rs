//! Submitting works, from chat and from the mini program alike.

use chrono::{DateTime, Utc};
use entity::{person, work};
use sea_orm::ConnectionTrait;

use crate::{
    campaign::{Campaign, Category},
    domain::work::{Channel, FieldErrors, Submission, WorkStatus, validate, work_code},
    error::AppError,
    jobs::Job,
    repo::{self, works::NewWork},
};

/// Why a submission was not stored.
#[derive(Debug)]
pub enum SubmitError {
    /// A rule of the category is broken.
    Invalid(FieldErrors),
    /// Storage failed.
    App(AppError),
}

impl From<sea_orm::DbErr> for SubmitError {
    fn from(err: sea_orm::DbErr) -> Self {
        Self::App(err.into())
    }
}

/// A work about to be submitted, from any channel.
pub struct NewSubmission<'a> {
    /// Its category.
    pub category: &'a Category,
    /// Its author.
    pub author: &'a person::Model,
    /// What the author sent.
    pub submission: Submission<'a>,
    /// Its media (upload ids), in order.
    pub upload_ids: &'a [i64],
    /// Where it came from.
    pub channel: Channel,
}

/// Validates and stores a work with its media in the caller's transaction, and queues its
/// moderation. Authors without a mini-program openid cannot be checked by WeChat (the checks
/// need one), so their works go straight to human review.
pub async fn submit(
    db: &impl ConnectionTrait,
    campaign: &Campaign,
    new: NewSubmission<'_>,
    now: DateTime<Utc>,
) -> Result<work::Model, SubmitError> {
    let NewSubmission {
        category,
        author,
        submission,
        upload_ids,
        channel,
    } = new;
    validate(&category.rules, &submission).map_err(SubmitError::Invalid)?;
    let status = if author.miniapp_openid.is_some() {
        WorkStatus::Checking
    } else {
        WorkStatus::PendingReview
    };
    let work = repo::works::insert(
        db,
        NewWork {
            category: &category.key,
            title: submission.title.trim(),
            body: submission.body.trim(),
            author_id: author.id,
            unit_id: author.unit_id,
            channel: channel.as_str(),
            status: status.as_str(),
            true_story: submission.true_story,
        },
        |id| work_code(&campaign.code_prefix, id),
        upload_ids,
        now,
    )
    .await?;
    if status == WorkStatus::Checking {
        Job::ModerateWork { work_id: work.id }
            .enqueue(db, now)
            .await?;
    }
    Ok(work)
}
