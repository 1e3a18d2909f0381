//! The official account's chat commands: what a message or event does and what it answers.
//!
//! [`plan`] decides without I/O whether a push needs the database; [`act`] runs the commands
//! that change state inside the caller's transaction (the one that records the push as handled).

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use entity::{person, work};
use sea_orm::{ConnectionTrait, Set};

use crate::{
    campaign::{
        Category, PhaseKey,
        notices::Notices,
        replies::{ClickAction, Replies, fill},
    },
    domain::job::Job,
    domain::{
        chat::{TextCommand, parse_text, unit_scene},
        work::{Channel, Medium, Submission, WorkStatus},
    },
    error::AppError,
    repo,
    service::{
        campaign::{CampaignEntry, Campaigns},
        moderation, notifications,
        works::{self, NewSubmission, SubmitError},
    },
    wechat::{
        inbound::{Event, Inbound, InboundKind},
        reply::Reply,
    },
};

/// What the chat handler may read.
pub struct ChatContext<'a> {
    /// Every campaign served.
    pub campaigns: &'a Campaigns,
    /// Each campaign with its phase at `now` (looked up once per push): those taking
    /// submissions first, then newest first; chat keywords go to the first that declares them.
    pub phases: &'a [(Arc<CampaignEntry>, PhaseKey)],
    /// Chat texts.
    pub replies: &'a Replies,
    /// Notices sent to authors.
    pub notices: &'a Notices,
    /// The time of handling.
    pub now: DateTime<Utc>,
    /// How long a photo-story draft waits for its caption.
    pub draft_ttl: Duration,
}

/// How a push is handled.
#[derive(Debug)]
pub enum Plan {
    /// Nothing to do: answer `success`.
    Ignore,
    /// A fixed reply; nothing is stored, so a repeat is harmless.
    Reply(Reply),
    /// Reads the database but changes nothing (我的作品).
    Read,
    /// Changes state: run [`act`] with this action exactly once per push.
    Act(Action),
}

/// A state-changing command, read from the push once by [`plan`] and carried to [`act`]
/// (which may run in another task, or later from the inbox).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// `网言网语 <text>`: submit a text work to the category with this key.
    SubmitText {
        /// Campaign key.
        campaign: String,
        /// Category key.
        category: String,
        /// The text after the keyword.
        text: String,
    },
    /// `画面故事 <caption>`: finish the photo draft into a work of this category.
    FinishPhotos {
        /// Campaign key.
        campaign: String,
        /// Category key.
        category: String,
        /// The caption after the keyword.
        caption: String,
    },
    /// A photo for the draft.
    AddPhoto {
        /// WeChat's temporary media id.
        media_id: String,
    },
    /// A follow, maybe through a unit's QR code.
    Subscribe {
        /// The QR scene, if any.
        event_key: Option<String>,
    },
    /// A follower scanned a unit's QR code.
    Scan {
        /// The bare scene value.
        scene: String,
    },
    /// Answers to a subscribe-message popup or settings change: (template id, status).
    Consent(Vec<(String, String)>),
    /// A template message's delivery result.
    Delivered {
        /// The template message id.
        msg_id: i64,
        /// WeChat's status text.
        status: String,
    },
    /// An unfollow.
    Unsubscribe,
    /// An asynchronous media-check verdict.
    MediaChecked {
        /// The id `media_check_async` returned.
        trace_id: String,
        /// The verdict word, if any.
        suggest: Option<String>,
    },
}

impl Action {
    /// Whether acting twice leaves the same state as acting once (a delivery report moves an
    /// outbox row out of `sent` only), so the push needs no dedup receipt.
    pub fn repeats_harmlessly(&self) -> bool {
        matches!(self, Self::Delivered { .. })
    }
}

fn consent(items: &[crate::wechat::inbound::SubscribeItem]) -> Plan {
    Plan::Act(Action::Consent(
        items
            .iter()
            .map(|i| (i.template_id.clone(), i.status.clone()))
            .collect(),
    ))
}

fn media_checked(trace_id: &str, suggest: Option<&str>) -> Plan {
    Plan::Act(Action::MediaChecked {
        trace_id: trace_id.to_owned(),
        suggest: suggest.map(str::to_owned),
    })
}

fn text(content: impl Into<String>) -> Reply {
    Reply::Text {
        content: content.into(),
    }
}

/// Decides how to handle a push, without I/O.
pub fn plan(ctx: &ChatContext<'_>, inbound: &Inbound) -> Plan {
    match &inbound.kind {
        InboundKind::Text { content, .. } => match parse_text(
            content,
            ctx.phases.iter().map(|(entry, _)| &*entry.def),
            ctx.replies,
        ) {
            TextCommand::SubmitText {
                campaign,
                category,
                text,
            } => Plan::Act(Action::SubmitText {
                campaign: campaign.key.clone(),
                category: category.key.clone(),
                text: text.to_owned(),
            }),
            TextCommand::FinishPhotos {
                campaign,
                category,
                caption,
            } => Plan::Act(Action::FinishPhotos {
                campaign: campaign.key.clone(),
                category: category.key.clone(),
                caption: caption.to_owned(),
            }),
            TextCommand::MyWorks => Plan::Read,
            TextCommand::Keyword(reply) => Plan::Reply(text(reply)),
            TextCommand::Help => Plan::Reply(text(&ctx.replies.help)),
        },
        InboundKind::Image { media_id, .. } => Plan::Act(Action::AddPhoto {
            media_id: media_id.clone(),
        }),
        InboundKind::Voice { .. }
        | InboundKind::Video { .. }
        | InboundKind::ShortVideo { .. }
        | InboundKind::Location { .. }
        | InboundKind::Link { .. } => Plan::Reply(text(&ctx.replies.help)),
        InboundKind::Event(event) => match event {
            Event::Subscribe { event_key, .. } => Plan::Act(Action::Subscribe {
                event_key: event_key.clone(),
            }),
            Event::Scan { event_key, .. } => Plan::Act(Action::Scan {
                scene: event_key.clone(),
            }),
            Event::Unsubscribe => Plan::Act(Action::Unsubscribe),
            Event::WxaMediaCheck {
                trace_id, suggest, ..
            } => media_checked(trace_id, suggest.as_deref()),
            Event::SubscribeMsgPopup(items) | Event::SubscribeMsgChange(items) => consent(items),
            Event::TemplateSendJobFinish { msg_id, status } => Plan::Act(Action::Delivered {
                msg_id: *msg_id,
                status: status.clone(),
            }),
            Event::Click { key } => match ctx.replies.click(key) {
                Some(ClickAction::Reply(reply)) => Plan::Reply(text(reply)),
                Some(ClickAction::Help) => Plan::Reply(text(&ctx.replies.help)),
                Some(ClickAction::MyWorks) => Plan::Read,
                None => Plan::Ignore,
            },
            _ => Plan::Ignore,
        },
        InboundKind::Unknown { .. } => Plan::Ignore,
    }
}

/// Decides how to handle a mini-program push: its content-check verdicts and subscribe-message
/// answers change state; messages users send from its customer-service entry are not the
/// campaign chat's business and get `success`.
pub fn plan_miniapp(inbound: &Inbound) -> Plan {
    match &inbound.kind {
        InboundKind::Event(Event::WxaMediaCheck {
            trace_id, suggest, ..
        }) => media_checked(trace_id, suggest.as_deref()),
        InboundKind::Event(Event::SubscribeMsgPopup(items) | Event::SubscribeMsgChange(items)) => {
            consent(items)
        }
        _ => Plan::Ignore,
    }
}

/// Answers a read-only command (我的作品 by text or menu).
pub async fn read(
    db: &impl ConnectionTrait,
    ctx: &ChatContext<'_>,
    inbound: &Inbound,
) -> Result<Option<Reply>, AppError> {
    let person = repo::people::find_by_mp_openid(db, &inbound.from_user_name).await?;
    let works = match &person {
        Some(person) => repo::works::by_author(db, person.id).await?,
        None => Vec::new(),
    };
    Ok(Some(text(my_works_text(ctx, &works))))
}

fn my_works_text(ctx: &ChatContext<'_>, works: &[work::Model]) -> String {
    let messages = &ctx.replies.messages;
    if works.is_empty() {
        return messages.my_works_empty.clone();
    }
    let count = works.len().to_string();
    let mut lines = vec![fill(&messages.my_works_header, &[("count", &count)])];
    for work in works {
        let category = ctx
            .campaigns
            .by_id(work.campaign_id)
            .and_then(|c| c.category_name(&work.category))
            .unwrap_or(work.category.as_str());
        let status = WorkStatus::parse(&work.status).map_or(work.status.as_str(), |s| s.label());
        let title = if work.title.is_empty() {
            shorten(&work.body, 12)
        } else {
            shorten(&work.title, 12)
        };
        let votes = work.vote_count.to_string();
        lines.push(fill(
            &messages.my_works_line,
            &[
                ("code", work.code.as_deref().unwrap_or("")),
                ("title", &title),
                ("category", category),
                ("status", status),
                ("votes", &votes),
            ],
        ));
    }
    lines.join("\n")
}

fn shorten(text: &str, max: usize) -> String {
    let mut chars = text.trim().chars();
    let head: String = chars.by_ref().take(max).collect();
    if chars.next().is_some() {
        format!("{head}…")
    } else {
        head
    }
}

/// Runs a planned action for the follower `openid` inside the caller's transaction.
pub async fn act(
    db: &impl ConnectionTrait,
    ctx: &ChatContext<'_>,
    openid: &str,
    action: &Action,
) -> Result<Option<Reply>, AppError> {
    match action {
        Action::SubmitText {
            campaign,
            category: key,
            text: body,
        } => {
            let person = message_sender(db, openid, ctx.now).await?;
            // The campaign file may have changed between a push and its retry from the inbox.
            let Some(target) = target(ctx, campaign, key) else {
                return Ok(Some(text(&ctx.replies.help)));
            };
            let (reply, _) = submit(db, ctx, target, &person, body, &[], false).await?;
            Ok(Some(reply))
        }
        Action::FinishPhotos {
            campaign,
            category: key,
            caption,
        } => {
            let person = message_sender(db, openid, ctx.now).await?;
            let Some(target) = target(ctx, campaign, key) else {
                return Ok(Some(text(&ctx.replies.help)));
            };
            finish_photos(db, ctx, target, &person, caption)
                .await
                .map(Some)
        }
        Action::AddPhoto { media_id } => {
            let person = message_sender(db, openid, ctx.now).await?;
            add_photo(db, ctx, &person, media_id).await.map(Some)
        }
        Action::Subscribe { event_key } => subscribe(db, ctx, openid, event_key.as_deref())
            .await
            .map(Some),
        Action::Scan { scene } => scan(db, ctx, openid, scene).await,
        Action::Consent(answers) => {
            let (person, _) = repo::people::get_or_create_by_mp_openid(db, openid, ctx.now).await?;
            notifications::record_event_answers(db, person.id, answers, ctx.now).await?;
            Ok(None)
        }
        Action::Delivered { msg_id, status } => {
            repo::outbox::record_delivery(db, *msg_id, status).await?;
            Ok(None)
        }
        Action::Unsubscribe => {
            unsubscribe(db, openid, ctx.now).await?;
            Ok(None)
        }
        Action::MediaChecked { trace_id, suggest } => {
            moderation::media_checked(
                db,
                ctx.campaigns,
                ctx.notices,
                trace_id,
                suggest.as_deref(),
                ctx.now,
            )
            .await?;
            Ok(None)
        }
    }
}

/// The sender of a message, created if new; the message opens the 48 h service window.
async fn message_sender(
    db: &impl ConnectionTrait,
    openid: &str,
    now: DateTime<Utc>,
) -> Result<person::Model, AppError> {
    // One round trip: this is on every state-changing message's hot path.
    let (person, created) = repo::people::touch_mp_sender(db, openid, now).await?;
    if created {
        // New to us without a follow event (followed before wangju ran): learn their unionid.
        repo::jobs::enqueue(
            db,
            &Job::LinkFollower {
                openid: openid.to_owned(),
            },
            now,
            now,
        )
        .await?;
    }
    Ok(person)
}

/// Where a chat submission goes: a campaign with its phase, and one of its categories.
#[derive(Clone, Copy)]
struct Target<'a> {
    campaign: &'a CampaignEntry,
    phase: PhaseKey,
    category: &'a Category,
}

fn target<'a>(ctx: &'a ChatContext<'_>, campaign: &str, category: &str) -> Option<Target<'a>> {
    let (entry, phase) = ctx.phases.iter().find(|(e, _)| e.key() == campaign)?;
    Some(Target {
        campaign: entry,
        phase: *phase,
        category: entry.def.category(category)?,
    })
}

fn phase_closed(ctx: &ChatContext<'_>, target: Target<'_>) -> Option<Reply> {
    let phase = target.phase;
    (phase != PhaseKey::Open).then(|| {
        let name = target
            .campaign
            .def
            .phases
            .iter()
            .find(|p| p.key == phase)
            .map_or(phase.as_str(), |p| p.name.as_str());
        text(fill(
            &ctx.replies.messages.phase_not_open,
            &[("phase", name)],
        ))
    })
}

/// Submits a work from chat; the reply says what happened, the flag whether it was stored.
async fn submit(
    db: &impl ConnectionTrait,
    ctx: &ChatContext<'_>,
    target: Target<'_>,
    person: &person::Model,
    body: &str,
    upload_ids: &[i64],
    true_story: bool,
) -> Result<(Reply, bool), AppError> {
    if let Some(closed) = phase_closed(ctx, target) {
        return Ok((closed, false));
    }
    let category = target.category;
    let media = vec![Medium::Image; upload_ids.len()];
    let submission = Submission {
        title: "",
        body,
        media: &media,
        true_story,
    };
    let messages = &ctx.replies.messages;
    let new = NewSubmission {
        category,
        author: person,
        submission,
        upload_ids,
        channel: Channel::Mp,
    };
    match works::submit(db, target.campaign, new, ctx.now).await {
        Ok(work) => Ok((
            text(fill(
                &messages.work_received,
                &[
                    ("category", &category.name),
                    ("code", work.code.as_deref().unwrap_or("")),
                ],
            )),
            true,
        )),
        Err(SubmitError::Invalid(fields)) => {
            let reason = fields.into_values().collect::<Vec<_>>().join("；");
            Ok((
                text(fill(&messages.rule_broken, &[("reason", &reason)])),
                false,
            ))
        }
        Err(SubmitError::App(err)) => Err(err),
    }
}

/// The image category that chat photos are collected for, with its keyword: the first
/// campaign's (in the context's order) that has one.
fn photo_category<'a>(ctx: &'a ChatContext<'_>) -> Option<(Target<'a>, &'a str)> {
    ctx.phases.iter().find_map(|(entry, phase)| {
        entry.def.categories.iter().find_map(|c| {
            let keyword = c.chat_keyword.as_deref()?;
            let target = Target {
                campaign: entry,
                phase: *phase,
                category: c,
            };
            (c.rules.images.min > 0).then_some((target, keyword))
        })
    })
}

async fn open_draft(
    db: &impl ConnectionTrait,
    ctx: &ChatContext<'_>,
    person_id: i64,
) -> Result<Option<entity::photo_draft::Model>, AppError> {
    match repo::drafts::find_for_person(db, person_id).await? {
        Some(draft) if draft.expires_at <= ctx.now => {
            // Expired drafts are dropped; their uploads stay as the sender's files.
            repo::drafts::delete(db, draft.id).await?;
            Ok(None)
        }
        other => Ok(other),
    }
}

fn ttl(ctx: &ChatContext<'_>) -> chrono::Duration {
    chrono::Duration::from_std(ctx.draft_ttl).unwrap_or(chrono::Duration::days(1))
}

async fn add_photo(
    db: &impl ConnectionTrait,
    ctx: &ChatContext<'_>,
    person: &person::Model,
    media_id: &str,
) -> Result<Reply, AppError> {
    let Some((target, keyword)) = photo_category(ctx) else {
        return Ok(text(&ctx.replies.help));
    };
    if let Some(closed) = phase_closed(ctx, target) {
        return Ok(closed);
    }
    let category = target.category;
    let expires_at = ctx.now + ttl(ctx);
    let draft = match open_draft(db, ctx, person.id).await? {
        Some(draft) => repo::drafts::touch(db, draft, expires_at).await?,
        None => {
            let campaign_id = target.campaign.id;
            repo::drafts::create(db, campaign_id, person.id, ctx.now, expires_at).await?
        }
    };
    let count = repo::drafts::item_count(db, draft.id).await?;
    let max = category.rules.images.max;
    if count >= u64::from(max) {
        let max = max.to_string();
        return Ok(text(fill(
            &ctx.replies.messages.photo_limit,
            &[("max", &max), ("keyword", keyword)],
        )));
    }
    let upload =
        repo::uploads::insert_pending_from_wechat(db, person.id, "image", media_id, ctx.now)
            .await?;
    repo::drafts::add_item(
        db,
        draft.id,
        upload.id,
        i32::try_from(count).unwrap_or(i32::MAX),
    )
    .await?;
    // Temporary media dies after 3 days: copy it now, in the background.
    repo::jobs::enqueue(
        db,
        &Job::FetchWechatMedia {
            upload_id: upload.id,
        },
        ctx.now,
        ctx.now,
    )
    .await?;
    let count = (count + 1).to_string();
    Ok(text(fill(
        &ctx.replies.messages.photo_added,
        &[("count", &count), ("keyword", keyword)],
    )))
}

async fn finish_photos(
    db: &impl ConnectionTrait,
    ctx: &ChatContext<'_>,
    target: Target<'_>,
    person: &person::Model,
    caption: &str,
) -> Result<Reply, AppError> {
    if let Some(closed) = phase_closed(ctx, target) {
        return Ok(closed);
    }
    let category = target.category;
    let keyword = category.chat_keyword.as_deref().unwrap_or_default();
    let empty = || {
        text(fill(
            &ctx.replies.messages.photo_draft_empty,
            &[("keyword", keyword)],
        ))
    };
    let Some(draft) = open_draft(db, ctx, person.id).await? else {
        return Ok(empty());
    };
    let upload_ids = repo::drafts::upload_ids(db, draft.id).await?;
    if upload_ids.is_empty() {
        return Ok(empty());
    }
    // Sending the keyword is the declaration: the help text says so.
    let (reply, stored) = submit(db, ctx, target, person, caption, &upload_ids, true).await?;
    if stored {
        repo::drafts::delete(db, draft.id).await?;
    }
    Ok(reply)
}

async fn attribute_unit(
    db: &impl ConnectionTrait,
    person: person::Model,
    scene: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(person::Model, Option<String>), AppError> {
    let Some(code) = scene.and_then(unit_scene) else {
        return Ok((person, None));
    };
    let Some(unit) = repo::units::find_by_code(db, code).await? else {
        tracing::info!(scene = code, "QR scene names no known unit");
        return Ok((person, None));
    };
    let mut changes: person::ActiveModel = person.into();
    changes.unit_id = Set(Some(unit.id));
    changes.updated_at = Set(now);
    Ok((repo::people::update(db, changes).await?, Some(unit.name)))
}

async fn subscribe(
    db: &impl ConnectionTrait,
    ctx: &ChatContext<'_>,
    openid: &str,
    event_key: Option<&str>,
) -> Result<Reply, AppError> {
    let (person, _) = repo::people::get_or_create_by_mp_openid(db, openid, ctx.now).await?;
    if person.unionid.is_none() {
        repo::jobs::enqueue(
            db,
            &Job::LinkFollower {
                openid: openid.to_owned(),
            },
            ctx.now,
            ctx.now,
        )
        .await?;
    }
    let mut changes: person::ActiveModel = person.into();
    changes.following = Set(true);
    changes.followed_at = Set(Some(ctx.now));
    changes.unfollowed_at = Set(None);
    changes.last_mp_message_at = Set(Some(ctx.now));
    changes.updated_at = Set(ctx.now);
    let person = repo::people::update(db, changes).await?;
    let (_, unit) = attribute_unit(db, person, event_key, ctx.now).await?;
    let mut welcome = ctx.replies.welcome.clone();
    if let Some(unit) = unit {
        welcome.push('\n');
        welcome.push_str(&fill(&ctx.replies.welcome_unit, &[("unit", &unit)]));
    }
    Ok(text(welcome))
}

async fn scan(
    db: &impl ConnectionTrait,
    ctx: &ChatContext<'_>,
    openid: &str,
    scene: &str,
) -> Result<Option<Reply>, AppError> {
    let (person, _) = repo::people::get_or_create_by_mp_openid(db, openid, ctx.now).await?;
    let (_, unit) = attribute_unit(db, person, Some(scene), ctx.now).await?;
    Ok(unit.map(|unit| text(fill(&ctx.replies.messages.unit_scanned, &[("unit", &unit)]))))
}

async fn unsubscribe(
    db: &impl ConnectionTrait,
    openid: &str,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    // Works and votes stay: nothing a person sent is lost by unfollowing.
    if let Some(person) = repo::people::find_by_mp_openid(db, openid).await? {
        let mut changes: person::ActiveModel = person.into();
        changes.following = Set(false);
        changes.unfollowed_at = Set(Some(now));
        changes.updated_at = Set(now);
        repo::people::update(db, changes).await?;
    }
    Ok(())
}
