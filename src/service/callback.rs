//! The WeChat push endpoint's use case: authenticate, open, parse, act once, answer in time.
//!
//! Exactly once: a push that changes state is handled in one transaction that ends by recording
//! its dedup key with the reply in `callback_receipts` (unique). A concurrent retry blocks on
//! that key (or on SQLite, on the write lock) until the first transaction ends, then finds the
//! key taken, rolls its own work back and answers the stored reply. A crash before commit
//! leaves nothing behind, so WeChat's next retry does the work. No reply cache sits in front:
//! WeChat retries only an answer it did not get within 5 s, and the budget answers sooner, so
//! retries are rare, while a cache big enough to cover WeChat's 15 s of retries at a push
//! burst's rate would hold tens of megabytes.

use std::{sync::Arc, time::Duration};

use chrono::Utc;
use sea_orm::DatabaseConnection;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::{
    campaign::{Campaign, notices::Notices, replies::Replies},
    error::AppError,
    jobs::Job,
    repo,
    service::{
        campaign::PhaseClock,
        chat::{self, ChatContext, Plan},
    },
    settings::{CallbackSettings, Settings},
    wechat::{
        crypto::{EncodingAesKey, KeySlot, MessageCrypt, random_nonce},
        inbound::{EncryptedEnvelope, Inbound, InboundKind},
        reply::{NEWS_CAP_EVENT, NEWS_CAP_MESSAGE, Reply, SUCCESS},
        signature,
    },
};

/// The query WeChat sends with every push.
#[derive(Debug, Default, Deserialize)]
pub struct PushQuery {
    /// sha1 of token, timestamp, nonce (plain mode and URL verification).
    pub signature: Option<String>,
    /// Unix seconds, as text.
    pub timestamp: Option<String>,
    /// Random text.
    pub nonce: Option<String>,
    /// URL verification challenge.
    pub echostr: Option<String>,
    /// `aes` in compatible and safe modes.
    pub encrypt_type: Option<String>,
    /// sha1 of token, timestamp, nonce, Encrypt (aes mode).
    pub msg_signature: Option<String>,
}

/// Which app a push is for: the receiver id inside encrypted pushes differs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PushApp {
    /// The official account (公众号).
    OfficialAccount,
    /// The mini program (小程序): content-check results, subscribe-message events.
    MiniProgram,
}

/// Keys and limits of the push endpoint, built once from the settings.
#[derive(Clone)]
pub struct PushEndpoint {
    token: SecretString,
    mp_crypt: Option<Arc<MessageCrypt>>,
    miniapp_crypt: Option<Arc<MessageCrypt>>,
    budget: Duration,
    replay_window: Option<Duration>,
    draft_ttl: Duration,
}

/// A key in the settings could not be used.
#[derive(Debug, thiserror::Error)]
#[error("configuration: {name}: {reason}")]
pub struct KeyError {
    name: &'static str,
    reason: String,
}

impl PushEndpoint {
    /// Builds the endpoint's keys from the settings.
    pub fn new(settings: &Settings) -> Result<Self, KeyError> {
        let callback: &CallbackSettings = &settings.wechat.callback;
        let parse = |secret: &Option<SecretString>, name: &'static str| {
            secret
                .as_ref()
                .map(|s| {
                    EncodingAesKey::parse(s.expose_secret()).map_err(|e| KeyError {
                        name,
                        reason: e.to_string(),
                    })
                })
                .transpose()
        };
        let current = parse(&callback.aes_key, "WANGJU_MP_AES_KEY")?;
        let previous = parse(&callback.aes_key_previous, "WANGJU_MP_AES_KEY_PREVIOUS")?;
        let crypt = |appid: &str| {
            current
                .clone()
                .map(|key| Arc::new(MessageCrypt::new(appid, key, previous.clone())))
        };
        Ok(Self {
            token: callback.token.clone(),
            mp_crypt: crypt(&settings.wechat.mp.appid),
            miniapp_crypt: crypt(&settings.wechat.miniapp.appid),
            budget: callback.budget,
            replay_window: callback.replay_window,
            draft_ttl: settings.photo_draft_ttl,
        })
    }
}

/// What the push handler needs from the application.
#[derive(Clone)]
pub struct PushDeps {
    /// Database.
    pub db: DatabaseConnection,
    /// Campaign.
    pub campaign: Arc<Campaign>,
    /// Chat texts.
    pub replies: Arc<Replies>,
    /// Notices sent to authors.
    pub notices: Arc<Notices>,
    /// Current phase.
    pub phase: PhaseClock,
    /// Keys and caches.
    pub endpoint: PushEndpoint,
}

fn forbidden(reason: &str) -> AppError {
    tracing::warn!(reason, "push refused");
    AppError::Forbidden
}

/// URL verification (GET): the raw `echostr` if the signature is right.
pub fn verify_url(endpoint: &PushEndpoint, query: &PushQuery) -> Result<String, AppError> {
    let (Some(signature), Some(timestamp), Some(nonce), Some(echostr)) = (
        &query.signature,
        &query.timestamp,
        &query.nonce,
        &query.echostr,
    ) else {
        return Err(AppError::BadRequest(
            "signature, timestamp, nonce and echostr are required".to_owned(),
        ));
    };
    if !signature::verify_signature(endpoint.token.expose_secret(), timestamp, nonce, signature) {
        return Err(forbidden("bad signature on URL verification"));
    }
    Ok(echostr.clone())
}

/// An authenticated push, decrypted if it came encrypted.
struct Opened {
    plaintext: String,
    key: Option<(Arc<MessageCrypt>, KeySlot)>,
}

fn open(
    endpoint: &PushEndpoint,
    app: PushApp,
    query: &PushQuery,
    body: &str,
) -> Result<Opened, AppError> {
    let (Some(timestamp), Some(nonce)) = (&query.timestamp, &query.nonce) else {
        return Err(forbidden("timestamp or nonce missing"));
    };
    if let Some(window) = endpoint.replay_window {
        let sent = timestamp
            .parse::<i64>()
            .map_err(|_| forbidden("timestamp is not a number"))?;
        let skew = Utc::now().timestamp().abs_diff(sent);
        if skew > window.as_secs() {
            return Err(forbidden("timestamp outside the replay window"));
        }
    }
    let token = endpoint.token.expose_secret();
    if query.encrypt_type.as_deref() == Some("aes") {
        let Some(msg_signature) = &query.msg_signature else {
            return Err(forbidden("msg_signature missing"));
        };
        let envelope = EncryptedEnvelope::parse(body)
            .map_err(|e| AppError::BadRequest(format!("unreadable push: {e}")))?
            .ok_or_else(|| AppError::BadRequest("aes push without Encrypt".to_owned()))?;
        if !signature::verify_msg_signature(
            token,
            timestamp,
            nonce,
            &envelope.encrypt,
            msg_signature,
        ) {
            return Err(forbidden("bad msg_signature"));
        }
        let crypt = match app {
            PushApp::OfficialAccount => endpoint.mp_crypt.clone(),
            PushApp::MiniProgram => endpoint.miniapp_crypt.clone(),
        }
        .ok_or_else(|| {
            AppError::BadRequest("encrypted push but no EncodingAESKey is configured".to_owned())
        })?;
        let decrypted = crypt.decrypt(&envelope.encrypt).map_err(|e| {
            tracing::warn!(stage = e.stage(), "push could not be decrypted");
            AppError::BadRequest(format!("cannot decrypt push ({})", e.stage()))
        })?;
        return Ok(Opened {
            plaintext: decrypted.plaintext,
            key: Some((crypt, decrypted.key)),
        });
    }
    let Some(signature) = &query.signature else {
        return Err(forbidden("signature missing"));
    };
    if !signature::verify_signature(token, timestamp, nonce, signature) {
        return Err(forbidden("bad signature"));
    }
    Ok(Opened {
        plaintext: body.to_owned(),
        key: None,
    })
}

/// Handles a push (POST) and returns the HTTP body to answer with.
pub async fn receive(
    deps: &PushDeps,
    app: PushApp,
    query: &PushQuery,
    body: &str,
) -> Result<String, AppError> {
    let opened = open(&deps.endpoint, app, query, body)?;
    let inbound = Inbound::parse(&opened.plaintext)
        .map_err(|e| AppError::BadRequest(format!("unreadable push: {e}")))?;
    tracing::debug!(msg_type = inbound.kind.msg_type(), "push received");
    let reply_xml = respond(deps, inbound).await?;
    if reply_xml.is_empty() {
        return Ok(SUCCESS.to_owned());
    }
    Ok(match opened.key {
        Some((crypt, slot)) => crypt.encrypted_reply(
            slot,
            deps.endpoint.token.expose_secret(),
            &reply_xml,
            Utc::now().timestamp(),
            &random_nonce(),
        ),
        None => reply_xml,
    })
}

fn render(reply: Option<Reply>, inbound: &Inbound) -> String {
    let Some(reply) = reply else {
        return String::new();
    };
    // Answers to a user's message may carry one article; answers to events up to eight.
    let cap = if matches!(inbound.kind, InboundKind::Event(_)) {
        NEWS_CAP_EVENT
    } else {
        NEWS_CAP_MESSAGE
    };
    reply.truncate_news(cap).to_xml(
        &inbound.from_user_name,
        &inbound.to_user_name,
        Utc::now().timestamp(),
    )
}

/// What the chat handler reads, with the phase in force at `now`.
async fn context(deps: &PushDeps, now: chrono::DateTime<Utc>) -> Result<ChatContext<'_>, AppError> {
    Ok(ChatContext {
        campaign: &deps.campaign,
        replies: &deps.replies,
        notices: &deps.notices,
        phase: deps.phase.phase(&deps.db, now).await?,
        now,
        draft_ttl: deps.endpoint.draft_ttl,
    })
}

async fn respond(deps: &PushDeps, inbound: Inbound) -> Result<String, AppError> {
    let now = Utc::now();
    let ctx = context(deps, now).await?;
    match chat::plan(&ctx, &inbound) {
        Plan::Ignore => Ok(String::new()),
        Plan::Reply(reply) => Ok(render(Some(reply), &inbound)),
        Plan::Read => {
            let reply =
                tokio::time::timeout(deps.endpoint.budget, chat::read(&deps.db, &ctx, &inbound))
                    .await
                    .unwrap_or(Ok(None))?;
            Ok(render(reply, &inbound))
        }
        Plan::Act => act_within_budget(deps, inbound).await,
    }
}

/// Runs the state change in a task of its own and waits at most the budget for it; a task that
/// finishes late delivers its reply by customer-service message instead.
async fn act_within_budget(deps: &PushDeps, inbound: Inbound) -> Result<String, AppError> {
    let key = inbound.dedup_key();
    let (answer, answered) = tokio::sync::oneshot::channel::<Result<String, AppError>>();
    let task_deps = deps.clone();
    tokio::spawn(async move {
        match act_once(&task_deps, &inbound, &key).await {
            Ok(handled) => {
                if answer.send(Ok(handled.xml)).is_err()
                    && let Some(text) = handled.text
                {
                    deliver_late(&task_deps, &inbound.from_user_name, text).await;
                }
            }
            Err(err) => {
                let _ = answer.send(Err(err));
            }
        }
    });
    match tokio::time::timeout(deps.endpoint.budget, answered).await {
        Ok(Ok(result)) => result,
        Ok(Err(_)) => Err(AppError::Internal(
            "push handler ended without an answer".to_owned(),
        )),
        Err(_) => {
            tracing::warn!("push handling exceeded its budget; answering success");
            Ok(String::new())
        }
    }
}

/// The outcome of acting on a push once.
struct Handled {
    /// The passive reply (empty: `success`).
    xml: String,
    /// The reply's text, for a customer-service message if the passive reply comes too late;
    /// `None` when this handler did not act (a retry) or the reply is not text.
    text: Option<String>,
}

async fn act_once(deps: &PushDeps, inbound: &Inbound, key: &str) -> Result<Handled, AppError> {
    let now = Utc::now();
    let ctx = context(deps, now).await?;
    let txn = crate::db::begin_write(&deps.db).await?;
    let reply = match chat::act(&txn, &ctx, inbound).await {
        Ok(reply) => reply,
        Err(err) => {
            txn.rollback().await?;
            // A retry of a push handled meanwhile may fail where the first succeeded.
            return match repo::receipts::reply_for(&deps.db, key).await? {
                Some(xml) => Ok(Handled { xml, text: None }),
                None => Err(err),
            };
        }
    };
    let text = match &reply {
        Some(Reply::Text { content }) => Some(content.clone()),
        _ => None,
    };
    let xml = render(reply, inbound);
    // Recorded last, with its reply, so the receipt is written once: a retry that got this far
    // concurrently waits here for the first transaction and then gives its own work up.
    if !repo::receipts::try_record(&txn, key, &xml, now).await? {
        txn.rollback().await?;
        let xml = repo::receipts::reply_for(&deps.db, key)
            .await?
            .unwrap_or_default();
        return Ok(Handled { xml, text: None });
    }
    txn.commit().await?;
    Ok(Handled { xml, text })
}

/// The passive reply window has passed: queue the text as a customer-service message.
async fn deliver_late(deps: &PushDeps, openid: &str, text: String) {
    let job = Job::SendChatText {
        openid: openid.to_owned(),
        text: format!("{}{text}", deps.replies.messages.late_reply_prefix),
    };
    if let Err(err) = job.enqueue(&deps.db, Utc::now()).await {
        tracing::error!(error = %err, "could not queue a late chat reply");
    }
}
