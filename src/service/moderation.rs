//! Moderation: WeChat content security on works, its asynchronous verdicts, and timeouts.

use std::time::Duration;

use chrono::{DateTime, Utc};
use entity::work;
use sea_orm::{ConnectionTrait, Set};

use crate::{
    campaign::notices::Notices,
    domain::job::Job,
    domain::{
        moderation::{RISKY_REASON, Verdict, next_status},
        work::WorkStatus,
    },
    error::AppError,
    repo,
    service::{
        campaign::Campaigns,
        notifications::{AuthorEvent, notify_author},
    },
    storage::MediaStore,
    storage::sniff::MediaKind,
    wechat::client::{
        ErrorClass, MediaCheck, MediaKind as CheckKind, MsgSecCheck, Suggest, WechatClient,
    },
};

/// WeChat's content-security scene for works: 3 = forum post.
const SCENE_FORUM: u8 = 3;
/// WeChat promises a media verdict within 30 minutes; after that a person decides.
const VERDICT_TIMEOUT: Duration = Duration::from_secs(35 * 60);
/// Note on works handed to a person after the timeout.
const TIMEOUT_NOTE: &str = "内容安全检测超时，转人工审核";

fn verdict_word(suggest: Suggest) -> &'static str {
    match suggest {
        Suggest::Pass => Verdict::Pass.as_str(),
        Suggest::Review => Verdict::Review.as_str(),
        Suggest::Risky => Verdict::Risky.as_str(),
    }
}

/// Moves a work out of `checking`; a reviewer's decision made meanwhile wins.
async fn leave_checking(
    db: &impl ConnectionTrait,
    work_id: i64,
    status: WorkStatus,
    note: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Option<work::Model>, AppError> {
    Ok(repo::works::transition(
        db,
        work_id,
        WorkStatus::Checking.as_str(),
        status.as_str(),
        note,
        now,
    )
    .await?)
}

/// Checks a work's text (msg_sec_check) and submits its media (media_check_async), then moves
/// it on as far as the verdicts allow. Safe to run again: finished checks are not repeated.
pub async fn moderate(
    db: &impl ConnectionTrait,
    (wechat, store): (&WechatClient, &MediaStore),
    (campaigns, notices): (&Campaigns, &Notices),
    work_id: i64,
) -> Result<(), AppError> {
    let now = Utc::now();
    let Some(work) = repo::works::find(db, work_id).await? else {
        tracing::warn!(work.id = work_id, "work to moderate is gone");
        return Err(AppError::NotFound);
    };
    if work.status != WorkStatus::Checking.as_str() {
        return Ok(());
    }
    let author = repo::people::find(db, work.author_id).await?;
    let Some(openid) = author.and_then(|a| a.miniapp_openid) else {
        // The checks need the author's mini-program openid.
        leave_checking(db, work.id, WorkStatus::PendingReview, None, now).await?;
        return Ok(());
    };
    let media = repo::works::media(db, work_id).await?;
    let upload_ids: Vec<i64> = media.iter().map(|m| m.upload_id).collect();
    let uploads = repo::uploads::find_many(db, &upload_ids).await?;
    if uploads
        .iter()
        .any(|u| u.state == entity::upload::UploadState::Pending)
    {
        return Err(AppError::Unavailable(
            "media still being copied from WeChat".to_owned(),
        ));
    }

    if work.text_suggest.is_none() {
        let text = format!("{}\n{}", work.title, work.body).trim().to_owned();
        let word = if text.is_empty() {
            Verdict::Pass.as_str()
        } else {
            let check = MsgSecCheck {
                openid: openid.clone(),
                scene: SCENE_FORUM,
                content: text,
                nickname: None,
                title: None,
                signature: None,
            };
            match wechat.msg_sec_check(&check).await {
                Ok(result) => verdict_word(result.result.suggest),
                // WeChat will not check this text (e.g. the author has not used the mini
                // program lately): a person decides.
                Err(err) if err.class() == ErrorClass::Permanent => {
                    tracing::warn!(work.id = work_id, error = %err, "text check refused; human review");
                    Verdict::Review.as_str()
                }
                Err(err) => return Err(err.into()),
            }
        };
        let mut changes: work::ActiveModel = work.clone().into();
        changes.text_suggest = Set(Some(word.to_owned()));
        repo::works::update(db, changes).await?;
    }

    let mut waiting = false;
    for medium in media {
        if medium.check_suggest.is_some() || medium.check_trace_id.is_some() {
            waiting |= medium.check_suggest.is_none();
            continue;
        }
        let upload = uploads.iter().find(|u| u.id == medium.upload_id);
        let target = upload.and_then(|u| {
            let kind = match u.kind.as_str() {
                k if k == MediaKind::Image.as_str() => CheckKind::Image,
                k if k == MediaKind::Audio.as_str() => CheckKind::Audio,
                _ => return None,
            };
            Some((kind, store.url(u.storage_key.as_deref()?)))
        });
        let mut changes: entity::work_media::ActiveModel = medium.clone().into();
        match target {
            // Videos (WeChat has no async video check) and failed copies go to a person.
            None => changes.check_suggest = Set(Some(Verdict::Review.as_str().to_owned())),
            Some((media_type, media_url)) => {
                let check = MediaCheck {
                    media_url,
                    media_type,
                    scene: SCENE_FORUM,
                    openid: openid.clone(),
                };
                let ticket = wechat.media_check_async(&check).await?;
                changes.check_trace_id = Set(Some(ticket.trace_id));
                // The verdict comes later, as a `wxa_media_check` push.
                waiting = true;
            }
        }
        repo::works::update_medium(db, changes).await?;
    }
    reconsider(db, campaigns, notices, work_id, now).await?;
    if waiting {
        let at = now
            + chrono::Duration::from_std(VERDICT_TIMEOUT).unwrap_or(chrono::Duration::minutes(35));
        repo::jobs::enqueue(db, &Job::ModerationTimeout { work_id }, at, now).await?;
    }
    Ok(())
}

/// A work still in `checking` after WeChat's verdict window goes to a person.
pub async fn time_out(db: &impl ConnectionTrait, work_id: i64) -> Result<(), AppError> {
    leave_checking(
        db,
        work_id,
        WorkStatus::PendingReview,
        Some(TIMEOUT_NOTE),
        Utc::now(),
    )
    .await?;
    Ok(())
}

/// Applies an asynchronous media-check verdict to the work it belongs to, and only to it.
pub async fn media_checked(
    db: &impl ConnectionTrait,
    campaigns: &Campaigns,
    notices: &Notices,
    trace_id: &str,
    suggest: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let Some(medium) = repo::works::medium_by_trace_id(db, trace_id).await? else {
        tracing::warn!(trace_id, "media check result for an unknown trace id");
        return Ok(());
    };
    let Some(verdict) = suggest.and_then(Verdict::parse) else {
        tracing::warn!(trace_id, ?suggest, "media check without a usable verdict");
        return Ok(());
    };
    let work_id = medium.work_id;
    let mut changes: entity::work_media::ActiveModel = medium.into();
    changes.check_suggest = Set(Some(verdict.as_str().to_owned()));
    repo::works::update_medium(db, changes).await?;
    reconsider(db, campaigns, notices, work_id, now).await
}

/// Moves a work out of `checking` once its verdicts allow it (by its campaign's rule), and
/// tells its author.
pub async fn reconsider(
    db: &impl ConnectionTrait,
    campaigns: &Campaigns,
    notices: &Notices,
    work_id: i64,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let Some(work) = repo::works::find(db, work_id).await? else {
        return Ok(());
    };
    if work.status != WorkStatus::Checking.as_str() {
        return Ok(());
    }
    let Some(campaign) = campaigns.by_id(work.campaign_id) else {
        tracing::warn!(work.id = work.id, "the work's campaign is no longer served");
        return Ok(());
    };
    let mut verdicts = vec![work.text_suggest.as_deref().and_then(Verdict::parse)];
    for medium in repo::works::media(db, work_id).await? {
        verdicts.push(medium.check_suggest.as_deref().and_then(Verdict::parse));
    }
    let Some(next) = next_status(&verdicts, campaign.def.auto_approve) else {
        return Ok(());
    };
    let note = (next == WorkStatus::Rejected).then_some(RISKY_REASON);
    let Some(work) = leave_checking(db, work.id, next, note, now).await? else {
        return Ok(());
    };
    let event = match next {
        WorkStatus::Approved => Some(AuthorEvent::Approved),
        WorkStatus::Rejected => Some(AuthorEvent::Rejected),
        _ => None,
    };
    if let Some(event) = event {
        notify_author(db, notices, campaign, event, &work, now).await?;
    }
    Ok(())
}
