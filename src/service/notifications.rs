//! Subscribe-message consent, broadcasts, and the outbox that sends each message once.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use entity::notification::NotificationState;
use sea_orm::{ActiveEnum as _, ConnectionTrait, DatabaseConnection};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{
    campaign::{notices::Notices, replies::fill},
    domain::job::Job,
    domain::{
        audience::Audience,
        awards::Prize,
        role::Role,
        template::{ValueType, check_data, check_template_message_data, fit},
    },
    error::AppError,
    repo::{self, notifications::NewNotification, outbox::NewMessage},
    service::{admin_tokens::AdminIdentity, campaign::CampaignEntry},
};

/// What an outbox row carries to WeChat.
#[derive(Debug, Serialize, Deserialize)]
pub struct MessagePayload {
    /// Page opened on tap.
    pub page: Option<String>,
    /// Template data in WeChat's shape.
    pub data: Value,
}

fn template_ok(template_id: &str) -> bool {
    !template_id.is_empty()
        && template_id.len() <= 128
        && template_id.chars().all(|c| c.is_ascii_graphic())
}

/// Records the results of `wx.requestSubscribeMessage`: each accept is one send credit.
pub async fn record_answers(
    db: &DatabaseConnection,
    person_id: i64,
    results: &BTreeMap<String, String>,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let mut errors = BTreeMap::new();
    // One popup asks for a few templates (WeChat shows at most three); more is a script.
    if results.len() > MAX_TEMPLATES_PER_ANSWER {
        errors.insert(
            "results".to_owned(),
            format!("一次最多{MAX_TEMPLATES_PER_ANSWER}个模板"),
        );
        return Err(AppError::BadRequestFields(errors));
    }
    for (template, status) in results {
        if !template_ok(template) {
            errors.insert(template.clone(), "模板编号无效".to_owned());
        } else if !matches!(status.as_str(), "accept" | "reject" | "ban" | "filter") {
            errors.insert(template.clone(), "须为 accept、reject 或 ban".to_owned());
        }
    }
    if results.is_empty() || !errors.is_empty() {
        return Err(AppError::BadRequestFields(errors));
    }
    let txn = crate::db::begin_write(db).await?;
    for (template, status) in results {
        // WeChat's `filter` (template hidden by the platform) stops sends like a reject.
        let status = if status == "filter" { "reject" } else { status };
        repo::subscriptions::record_answer(&txn, person_id, template, status, now).await?;
    }
    txn.commit().await?;
    Ok(())
}

/// Most templates one answer may carry.
pub const MAX_TEMPLATES_PER_ANSWER: usize = 10;

/// Records answers that arrive as official-account events (popup and settings changes); past
/// the first few templates of one event nothing is recorded.
pub async fn record_event_answers(
    db: &impl ConnectionTrait,
    person_id: i64,
    items: &[(String, String)],
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    for (template, status) in items.iter().take(MAX_TEMPLATES_PER_ANSWER) {
        if template_ok(template) && matches!(status.as_str(), "accept" | "reject") {
            repo::subscriptions::record_answer(db, person_id, template, status, now).await?;
        }
    }
    Ok(())
}

/// Which WeChat message a broadcast uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Channel {
    /// Mini-program subscribe message: needs the user's consent credit.
    Subscribe,
    /// Official-account template message: for followers.
    Template,
}

impl Channel {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Subscribe => "subscribe",
            Self::Template => "template",
        }
    }
}

/// A broadcast to schedule.
#[derive(Debug)]
pub struct NewBroadcast {
    /// Which kind of message.
    pub channel: Channel,
    /// Template id.
    pub template_id: String,
    /// Data in WeChat's shape.
    pub data: Value,
    /// Page opened on tap.
    pub page: Option<String>,
    /// Who receives it.
    pub audience: Value,
    /// When to send (`None`: now).
    pub send_at: Option<DateTime<Utc>>,
}

/// Validates a broadcast (47003 is caught here) and schedules it.
pub async fn schedule(
    db: &DatabaseConnection,
    who: &AdminIdentity,
    campaign_id: i64,
    broadcast: NewBroadcast,
    now: DateTime<Utc>,
) -> Result<i64, AppError> {
    who.require(&[Role::Admin])?;
    if !template_ok(&broadcast.template_id) {
        return Err(AppError::BadRequest("template 无效".to_owned()));
    }
    match broadcast.channel {
        Channel::Subscribe => check_data(&broadcast.data),
        Channel::Template => check_template_message_data(&broadcast.data),
    }
    .map_err(AppError::InvalidData)?;
    Audience::parse(&broadcast.audience).ok_or_else(|| {
        AppError::BadRequest(
            r#"audience 须为 "subscribers"、{"category":..}、{"unit":..} 或 {"users":[..]}"#
                .to_owned(),
        )
    })?;
    let send_at = broadcast.send_at.unwrap_or(now).max(now);
    let txn = crate::db::begin_write(db).await?;
    let data = broadcast.data.to_string();
    let audience = broadcast.audience.to_string();
    let new = NewNotification {
        campaign_id,
        milestone_key: None,
        channel: broadcast.channel.as_str(),
        template_id: &broadcast.template_id,
        data: &data,
        page: broadcast.page.as_deref(),
        audience: &audience,
        send_at,
    };
    let row = repo::notifications::insert_notification(&txn, new, now)
        .await?
        .ok_or_else(|| AppError::internal("broadcast not stored"))?;
    repo::jobs::enqueue(
        &txn,
        &Job::ExpandNotification {
            notification_id: row.id,
        },
        send_at,
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(row.id)
}

/// Turns a due broadcast into one outbox row per recipient (idempotent).
pub async fn expand(
    db: &DatabaseConnection,
    notification_id: i64,
    now: DateTime<Utc>,
) -> Result<u64, AppError> {
    let Some(row) = repo::notifications::notification(db, notification_id).await? else {
        return Ok(0);
    };
    if row.state != NotificationState::Scheduled {
        return Ok(0);
    }
    let audience: Value = serde_json::from_str(&row.audience).map_err(AppError::internal)?;
    let audience = Audience::parse(&audience)
        .ok_or_else(|| AppError::internal("stored audience unreadable"))?;
    let people = match audience {
        Audience::Subscribers if row.channel == Channel::Template.as_str() => {
            repo::people::follower_ids(db).await?
        }
        Audience::Subscribers => repo::subscriptions::subscribers(db, &row.template_id).await?,
        Audience::Category(key) => {
            repo::works::authors_in_category(db, row.campaign_id, &key).await?
        }
        Audience::Unit(unit) => repo::people::ids_in_unit(db, unit).await?,
        Audience::Users(ids) => repo::people::find_many(db, &ids)
            .await?
            .into_iter()
            .map(|p| p.id)
            .collect(),
    };
    let payload = serde_json::to_string(&MessagePayload {
        page: row.page.clone(),
        data: serde_json::from_str(&row.data).map_err(AppError::internal)?,
    })
    .map_err(AppError::internal)?;
    let messages = people
        .into_iter()
        .map(|person_id| NewMessage {
            notification_id: Some(notification_id),
            person_id,
            idempotency_key: format!("n{notification_id}:p{person_id}"),
            channel: &row.channel,
            template_id: &row.template_id,
            payload: &payload,
        })
        .collect();
    let txn = crate::db::begin_write(db).await?;
    let added = repo::outbox::enqueue(&txn, messages, now).await?;
    repo::notifications::set_notification_state(
        &txn,
        notification_id,
        NotificationState::Scheduled,
        NotificationState::Expanded,
    )
    .await?;
    txn.commit().await?;
    tracing::info!(
        notification.id = notification_id,
        recipients = added,
        "broadcast queued"
    );
    Ok(added)
}

/// A broadcast's state and its messages per state.
#[derive(Debug)]
pub struct Progress {
    /// scheduled, expanded or cancelled.
    pub state: String,
    /// When it is (or was) due.
    pub send_at: DateTime<Utc>,
    /// Messages by state (pending, in_flight, sent, failed, unknown, cancelled).
    pub counts: BTreeMap<String, i64>,
}

/// How far a broadcast has got.
pub async fn progress(
    db: &DatabaseConnection,
    who: &AdminIdentity,
    notification_id: i64,
) -> Result<Progress, AppError> {
    who.require(&[Role::Admin])?;
    let row = repo::notifications::notification(db, notification_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let counts = repo::outbox::counts(db, notification_id)
        .await?
        .into_iter()
        .map(|(state, n)| (state.to_value(), n))
        .collect();
    Ok(Progress {
        state: row.state.to_value(),
        send_at: row.send_at,
        counts,
    })
}

/// Cancels what of a broadcast has not been sent yet.
pub async fn cancel(
    db: &DatabaseConnection,
    who: &AdminIdentity,
    notification_id: i64,
) -> Result<Progress, AppError> {
    who.require(&[Role::Admin])?;
    let txn = crate::db::begin_write(db).await?;
    let row = repo::notifications::notification(&txn, notification_id)
        .await?
        .ok_or(AppError::NotFound)?;
    if !repo::notifications::set_notification_state(
        &txn,
        notification_id,
        NotificationState::Scheduled,
        NotificationState::Cancelled,
    )
    .await?
    {
        repo::outbox::cancel_pending(&txn, notification_id).await?;
    }
    txn.commit().await?;
    tracing::info!(notification.id = row.id, "broadcast cancelled");
    progress(db, who, notification_id).await
}

/// Something that happened to an author's work.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthorEvent {
    /// Approved (by a reviewer or by content security).
    Approved,
    /// Rejected, with a reason.
    Rejected,
    /// Won a prize (一/二/三等奖 or a place in a 十大).
    Award(Prize),
}

impl AuthorEvent {
    fn key(self) -> &'static str {
        match self {
            Self::Approved => "approved",
            Self::Rejected => "rejected",
            Self::Award(_) => "award",
        }
    }
}

/// Queues the configured subscribe message telling an author what happened to their work,
/// once per work and event, and only if the author accepted that template.
pub async fn notify_author(
    db: &impl ConnectionTrait,
    notices: &Notices,
    campaign: &CampaignEntry,
    event: AuthorEvent,
    work: &entity::work::Model,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let template = match event {
        AuthorEvent::Approved => notices.work_approved.as_ref(),
        AuthorEvent::Rejected => notices.work_rejected.as_ref(),
        AuthorEvent::Award(_) => notices.award.as_ref(),
    };
    let Some(template) = template else {
        return Ok(());
    };
    let consent =
        repo::subscriptions::subscription(db, work.author_id, &template.template_id).await?;
    if !consent.is_some_and(|c| c.status == "accept" && c.credits > 0) {
        return Ok(());
    }
    let id = work.id.to_string();
    let title = if work.title.trim().is_empty() {
        work.body.trim()
    } else {
        work.title.trim()
    };
    let category = campaign
        .category_name(&work.category)
        .unwrap_or(work.category.as_str());
    let date = campaign.def.local_date(now).format("%Y-%m-%d").to_string();
    let values = [
        ("id", id.as_str()),
        ("title", title),
        ("code", work.code.as_deref().unwrap_or_default()),
        ("category", category),
        (
            "reason",
            work.moderation_note.as_deref().unwrap_or("未通过审核"),
        ),
        (
            "prize",
            if let AuthorEvent::Award(prize) = event {
                prize.label()
            } else {
                ""
            },
        ),
        ("date", date.as_str()),
    ];
    let mut data = serde_json::Map::new();
    for (key, pattern) in &template.data {
        let Some(kind) = ValueType::of_key(key) else {
            continue;
        };
        data.insert(
            key.clone(),
            serde_json::json!({ "value": fit(kind, &fill(pattern, &values)) }),
        );
    }
    let data = Value::Object(data);
    if let Err(fields) = check_data(&data) {
        tracing::warn!(
            work.id = work.id,
            ?fields,
            "author notice skipped: data WeChat would refuse"
        );
        return Ok(());
    }
    let payload = serde_json::to_string(&MessagePayload {
        page: template.page.as_deref().map(|p| fill(p, &values)),
        data,
    })
    .map_err(AppError::internal)?;
    let message = NewMessage {
        notification_id: None,
        person_id: work.author_id,
        idempotency_key: format!("e:{}:w{}", event.key(), work.id),
        channel: Channel::Subscribe.as_str(),
        template_id: &template.template_id,
        payload: &payload,
    };
    repo::outbox::enqueue(db, vec![message], now).await?;
    Ok(())
}

/// Schedules the milestones of `notifications.toml` once each, as notices of the campaign
/// `campaign_id` (a restart finds them already scheduled).
pub async fn schedule_milestones(
    db: &DatabaseConnection,
    campaign_id: i64,
    notices: &Notices,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    for milestone in &notices.milestones {
        let data: serde_json::Map<String, Value> = milestone
            .data
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::json!({ "value": v })))
            .collect();
        let data = Value::Object(data).to_string();
        let audience = serde_json::to_value(&milestone.audience)
            .map_err(AppError::internal)?
            .to_string();
        let txn = crate::db::begin_write(db).await?;
        let new = NewNotification {
            campaign_id,
            milestone_key: Some(&milestone.key),
            channel: Channel::Subscribe.as_str(),
            template_id: &milestone.template_id,
            data: &data,
            page: milestone.page.as_deref(),
            audience: &audience,
            send_at: milestone.send_at,
        };
        if let Some(row) = repo::notifications::insert_notification(&txn, new, now).await? {
            // A milestone already past when first seen is not sent late.
            if milestone.send_at < now {
                repo::notifications::set_notification_state(
                    &txn,
                    row.id,
                    NotificationState::Scheduled,
                    NotificationState::Cancelled,
                )
                .await?;
            } else {
                repo::jobs::enqueue(
                    &txn,
                    &Job::ExpandNotification {
                        notification_id: row.id,
                    },
                    milestone.send_at,
                    now,
                )
                .await?;
            }
        }
        txn.commit().await?;
    }
    Ok(())
}
