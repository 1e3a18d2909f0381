//! Submitting works, from chat and from the mini program alike.

use chrono::{DateTime, Utc};
use entity::{person, work};
use sea_orm::{ConnectionTrait, DbErr, Set};

use crate::{
    campaign::{Category, PhaseKey},
    domain::job::Job,
    domain::{
        listing::{Cursor, Sort},
        work::{Channel, FieldErrors, Medium, Submission, WorkStatus, validate, work_code},
    },
    error::AppError,
    repo::{self, works::NewWork},
    service::campaign::CampaignEntry,
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
    campaign: &CampaignEntry,
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
            campaign_id: campaign.id,
            category: &category.key,
            title: submission.title.trim(),
            body: submission.body.trim(),
            author_id: author.id,
            unit_id: author.unit_id,
            channel: channel.as_str(),
            status,
            true_story: submission.true_story,
        },
        |number| work_code(&campaign.def.code_prefix, number),
        upload_ids,
        now,
    )
    .await?;
    if status == WorkStatus::Checking {
        repo::jobs::enqueue(db, &Job::ModerateWork { work_id: work.id }, now, now).await?;
    }
    Ok(work)
}

/// A work with what its views show: author, unit, media files.
#[derive(Clone, Debug)]
pub struct WorkDetails {
    /// The work.
    pub work: work::Model,
    /// Its author.
    pub author: Option<person::Model>,
    /// Its unit.
    pub unit: Option<entity::unit::Model>,
    /// Its media with their files, in order.
    pub media: Vec<(entity::work_media::Model, Option<entity::upload::Model>)>,
}

/// Loads authors, units and media of several works in three queries.
pub async fn details(
    db: &impl ConnectionTrait,
    works: Vec<work::Model>,
) -> Result<Vec<WorkDetails>, DbErr> {
    let ids: Vec<i64> = works.iter().map(|w| w.id).collect();
    let author_ids: Vec<i64> = works.iter().map(|w| w.author_id).collect();
    let unit_ids: Vec<i64> = works.iter().filter_map(|w| w.unit_id).collect();
    let authors = repo::people::find_many(db, &author_ids).await?;
    let units = repo::units::find_many(db, &unit_ids).await?;
    let mut media = repo::works::media_with_uploads(db, &ids).await?;
    Ok(works
        .into_iter()
        .map(|work| {
            let (mine, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut media)
                .into_iter()
                .partition(|(m, _)| m.work_id == work.id);
            media = rest;
            WorkDetails {
                author: authors.iter().find(|a| a.id == work.author_id).cloned(),
                unit: work
                    .unit_id
                    .and_then(|id| units.iter().find(|u| u.id == id).cloned()),
                media: mine,
                work,
            }
        })
        .collect())
}

/// What the mini program sends to submit a work.
#[derive(Debug)]
pub struct ApiSubmission {
    /// Category key.
    pub category: String,
    /// Title.
    pub title: String,
    /// Body text.
    pub body: String,
    /// The caller's uploads, in order.
    pub upload_ids: Vec<i64>,
    /// True-story declaration.
    pub true_story: bool,
}

fn invalid(field: &str, message: &str) -> AppError {
    AppError::InvalidWork(FieldErrors::from([(field.to_owned(), message.to_owned())]))
}

/// Submits a work from the mini program to a campaign: phase, category, files and rules
/// checked.
pub async fn submit_from_miniapp(
    db: &sea_orm::DatabaseConnection,
    campaign: &CampaignEntry,
    person_id: i64,
    request: ApiSubmission,
    now: DateTime<Utc>,
) -> Result<WorkDetails, AppError> {
    if campaign.phase(db, now).await? != PhaseKey::Open {
        return Err(AppError::PhaseClosed("当前不在投稿阶段".to_owned()));
    }
    let category = campaign
        .def
        .category(&request.category)
        .ok_or_else(|| invalid("category", "没有这个作品类别"))?;
    let author = repo::people::find(db, person_id)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    let mut seen = std::collections::HashSet::new();
    if !request.upload_ids.iter().all(|id| seen.insert(*id)) {
        return Err(invalid("upload_ids", "同一个文件不能重复使用"));
    }
    let uploads = repo::uploads::find_many(db, &request.upload_ids).await?;
    let mut media = Vec::with_capacity(request.upload_ids.len());
    for id in &request.upload_ids {
        let upload = uploads
            .iter()
            .find(|u| {
                u.id == *id
                    && u.owner_id == person_id
                    && u.state == entity::upload::UploadState::Ready
            })
            .ok_or_else(|| invalid("upload_ids", "文件不存在或尚未上传完成"))?;
        let seconds = u32::try_from(upload.duration_ms.unwrap_or(0) / 1000).unwrap_or(0);
        media.push(match upload.kind.as_str() {
            "video" => Medium::Video { seconds },
            "audio" => Medium::Audio { seconds },
            _ => Medium::Image,
        });
    }
    let txn = crate::db::begin_write(db).await?;
    let new = NewSubmission {
        category,
        author: &author,
        submission: Submission {
            title: &request.title,
            body: &request.body,
            media: &media,
            true_story: request.true_story,
        },
        upload_ids: &request.upload_ids,
        channel: Channel::Miniapp,
    };
    let work = match submit(&txn, campaign, new, now).await {
        Ok(work) => work,
        Err(SubmitError::Invalid(fields)) => return Err(AppError::InvalidWork(fields)),
        Err(SubmitError::App(err)) => return Err(err),
    };
    txn.commit().await?;
    one(db, work).await
}

async fn one(db: &impl ConnectionTrait, work: work::Model) -> Result<WorkDetails, AppError> {
    details(db, vec![work])
        .await?
        .pop()
        .ok_or_else(|| AppError::internal("work details vanished"))
}

/// A page of approved works and the cursor of the next page.
#[derive(Clone, Debug)]
pub struct Page {
    /// The works, in listing order.
    pub items: Vec<WorkDetails>,
    /// Where the next page starts; `None` on the last page.
    pub next_cursor: Option<String>,
}

/// The listing position a client's cursor names; a cursor we did not make is a bad request.
pub fn decode_cursor(cursor: Option<&str>, sort: Sort) -> Result<Option<Cursor>, AppError> {
    cursor
        .map(|c| {
            Cursor::decode(c, sort).ok_or_else(|| AppError::BadRequest("cursor 无效".to_owned()))
        })
        .transpose()
}

/// Loads a page of a campaign's approved works (`limit` clamped to 1..=50) after `after`.
pub async fn load_page(
    db: &impl ConnectionTrait,
    campaign_id: i64,
    category: Option<&str>,
    sort: Sort,
    after: Option<Cursor>,
    limit: u64,
) -> Result<Page, DbErr> {
    let limit = limit.clamp(1, 50);
    let works = repo::works::list_approved(db, campaign_id, category, sort, after, limit).await?;
    let next_cursor = (works.len() as u64 == limit)
        .then(|| {
            works
                .last()
                .map(|w| Cursor::after(sort, w.vote_count, w.id).encode())
        })
        .flatten();
    Ok(Page {
        items: details(db, works).await?,
        next_cursor,
    })
}

/// One work: approved ones for everyone, any status for its author.
pub async fn detail(
    db: &impl ConnectionTrait,
    id: i64,
    viewer: Option<i64>,
) -> Result<WorkDetails, AppError> {
    let work = repo::works::find(db, id).await?.ok_or(AppError::NotFound)?;
    let visible = work.status == WorkStatus::Approved.as_str() || viewer == Some(work.author_id);
    if !visible {
        return Err(AppError::NotFound);
    }
    one(db, work).await
}

/// Withdraws the caller's own work while it is not yet approved.
pub async fn withdraw(
    db: &impl ConnectionTrait,
    id: i64,
    person_id: i64,
    now: DateTime<Utc>,
) -> Result<WorkDetails, AppError> {
    let work = repo::works::find(db, id)
        .await?
        .filter(|w| w.author_id == person_id)
        .ok_or(AppError::NotFound)?;
    let status = WorkStatus::parse(&work.status);
    if !matches!(
        status,
        Some(WorkStatus::Checking | WorkStatus::PendingReview)
    ) {
        return Err(AppError::Forbidden);
    }
    let mut changes: work::ActiveModel = work.into();
    changes.status = Set(WorkStatus::Withdrawn.as_str().to_owned());
    changes.updated_at = Set(now);
    let work = repo::works::update(db, changes).await?;
    one(db, work).await
}

/// The caller's works from every channel, newest first.
pub async fn mine(db: &impl ConnectionTrait, person_id: i64) -> Result<Vec<WorkDetails>, AppError> {
    let works = repo::works::by_author(db, person_id).await?;
    Ok(details(db, works).await?)
}
