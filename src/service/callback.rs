//! The WeChat push endpoint's use case: authenticate, open, parse, store, act once, answer in time.
//!
//! Store, then acknowledge: a push that changes state is first written to `push_inbox` (its own
//! short transaction); if that cannot be done within the budget the answer is 503 and WeChat
//! retries. Only then is it acted on, in a task that the request waits for until the budget
//! ends; a task that finishes later sends its reply as a customer-service message, and one
//! that fails, or dies with its process, leaves the row to the inbox worker of any instance.
//!
//! Exactly once: acting is one transaction that ends by recording the push's dedup key with the
//! reply in `callback_receipts` (unique) and removing its inbox row. A concurrent retry or
//! worker blocks on that key (or on SQLite, on the write lock) until the first transaction ends,
//! then finds the key taken, rolls its own work back and answers the stored reply. No reply
//! cache sits in front: WeChat retries only an answer it did not get within 5 s, and the budget
//! answers sooner, so retries are rare.

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;
use tokio::time::Instant;

/// The push query, as the route extracts it.
pub use crate::wechat::push::PushQuery;

use crate::{
    campaign::{PhaseKey, notices::Notices, replies::Replies},
    domain::job::Job,
    domain::token::hash_token,
    error::AppError,
    repo,
    service::{
        campaign::{CampaignEntry, Campaigns},
        chat::{self, Action, ChatContext, Plan},
    },
    settings::{PushKeys, Settings},
    wechat::{
        inbound::{Inbound, InboundKind},
        push::{Opened, PushGate, Refused},
        reply::{NEWS_CAP_EVENT, NEWS_CAP_MESSAGE, Reply, SUCCESS},
    },
};

/// Which app a push is for: the receiver id inside encrypted pushes differs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PushApp {
    /// The official account (公众号).
    OfficialAccount,
    /// The mini program (小程序): content-check results, subscribe-message events.
    MiniProgram,
}

/// The push endpoints' gates and limits, built once from the settings.
#[derive(Clone)]
pub struct PushEndpoint {
    mp: PushGate,
    miniapp: PushGate,
    budget: Duration,
    draft_ttl: Duration,
}

fn gate(keys: &PushKeys, appid: &str, replay_window: Option<Duration>) -> PushGate {
    PushGate::new(
        keys.token.clone(),
        keys.crypt(appid),
        keys.message_mode,
        replay_window,
    )
}

impl PushEndpoint {
    /// Builds both apps' gates from the settings.
    pub fn new(settings: &Settings) -> Self {
        let callback = &settings.wechat.callback;
        let window = callback.replay_window;
        Self {
            mp: gate(&callback.mp, &settings.wechat.mp.appid, window),
            miniapp: gate(&callback.miniapp, &settings.wechat.miniapp.appid, window),
            budget: callback.budget,
            draft_ttl: settings.photo_draft_ttl,
        }
    }

    fn gate(&self, app: PushApp) -> &PushGate {
        match app {
            PushApp::OfficialAccount => &self.mp,
            PushApp::MiniProgram => &self.miniapp,
        }
    }
}

/// What the push handler needs from the application.
#[derive(Clone)]
pub struct PushDeps {
    /// Database.
    pub db: DatabaseConnection,
    /// Every campaign served.
    pub campaigns: Arc<Campaigns>,
    /// Chat texts.
    pub replies: Arc<Replies>,
    /// Notices sent to authors.
    pub notices: Arc<Notices>,
    /// The push endpoints' gates and limits, shared by every request.
    pub endpoint: Arc<PushEndpoint>,
}

fn forbidden(reason: &str) -> AppError {
    tracing::warn!(reason, "push refused");
    AppError::Forbidden
}

impl From<Refused> for AppError {
    fn from(refused: Refused) -> Self {
        match refused {
            Refused::Forbidden(reason) => forbidden(reason),
            Refused::Unreadable(reason) => {
                tracing::warn!(%reason, "push unreadable");
                AppError::BadRequest(reason)
            }
        }
    }
}

/// URL verification (GET): the raw `echostr` if the signature is right.
pub fn verify_url(
    endpoint: &PushEndpoint,
    app: PushApp,
    query: &PushQuery,
) -> Result<String, AppError> {
    Ok(endpoint.gate(app).verify_url(query)?)
}

/// What identifies a signed query and the body it came with, for replay protection.
struct Seal {
    /// sha256 of timestamp, nonce and signature.
    query: String,
    /// sha256 of the body.
    body: String,
}

impl Seal {
    fn of(opened: &Opened, body: &str) -> Self {
        let signed = &opened.signed;
        Self {
            query: hash_token(&format!(
                "{}\0{}\0{}",
                signed.timestamp, signed.nonce, signed.signature
            )),
            body: hash_token(body),
        }
    }
}

/// Handles a push (POST) and returns the HTTP body to answer with.
pub async fn receive(
    deps: &PushDeps,
    app: PushApp,
    query: &PushQuery,
    body: &str,
) -> Result<String, AppError> {
    let deadline = tokio::time::Instant::now() + deps.endpoint.budget;
    let gate = deps.endpoint.gate(app);
    let opened = gate.open(query, body, Utc::now().timestamp())?;
    let inbound = Inbound::parse(&opened.plaintext)
        .map_err(|e| AppError::BadRequest(format!("unreadable push: {e}")))?;
    tracing::debug!(msg_type = inbound.kind.msg_type(), "push received");
    let seal = gate.replay_protected().then(|| Seal::of(&opened, body));
    let reply_xml = respond(deps, app, inbound, (&opened, seal), deadline).await?;
    if reply_xml.is_empty() {
        return Ok(SUCCESS.to_owned());
    }
    Ok(gate.answer(&opened, reply_xml, Utc::now().timestamp()))
}

fn render(reply: Option<&Reply>, inbound: &Inbound) -> String {
    let Some(reply) = reply else {
        return String::new();
    };
    // Answers to a user's message may carry one article; answers to events up to eight.
    let cap = if matches!(inbound.kind, InboundKind::Event(_)) {
        NEWS_CAP_EVENT
    } else {
        NEWS_CAP_MESSAGE
    };
    reply.clone().truncate_news(cap).to_xml(
        &inbound.from_user_name,
        &inbound.to_user_name,
        Utc::now().timestamp(),
    )
}

/// Each campaign with its phase at `now`, looked up once per push: those taking submissions
/// first, then newest first (the order chat keywords are matched in).
async fn phases(deps: &PushDeps, now: DateTime<Utc>) -> Result<Phases, AppError> {
    let mut phases = Vec::with_capacity(deps.campaigns.all().len());
    for entry in deps.campaigns.all() {
        phases.push((entry.clone(), entry.phase(&deps.db, now).await?));
    }
    // Stable: among equals the newest stays first.
    phases.sort_by_key(|(_, phase)| *phase != PhaseKey::Open);
    Ok(phases)
}

/// Campaigns with their phases, in the chat's order.
type Phases = Vec<(Arc<CampaignEntry>, PhaseKey)>;

/// What the chat handler reads.
fn context<'a>(deps: &'a PushDeps, phases: &'a Phases, now: DateTime<Utc>) -> ChatContext<'a> {
    ChatContext {
        campaigns: &deps.campaigns,
        phases,
        replies: &deps.replies,
        notices: &deps.notices,
        now,
        draft_ttl: deps.endpoint.draft_ttl,
    }
}

async fn respond(
    deps: &PushDeps,
    app: PushApp,
    inbound: Inbound,
    (opened, seal): (&Opened, Option<Seal>),
    deadline: Instant,
) -> Result<String, AppError> {
    let now = Utc::now();
    let phases = phases(deps, now).await?;
    let ctx = context(deps, &phases, now);
    let plan = match app {
        PushApp::OfficialAccount => chat::plan(&ctx, &inbound),
        PushApp::MiniProgram => chat::plan_miniapp(&inbound),
    };
    match plan {
        Plan::Ignore => Ok(String::new()),
        Plan::Reply(reply) => Ok(render(Some(&reply), &inbound)),
        Plan::Read => {
            let reply = tokio::time::timeout_at(deadline, chat::read(&deps.db, &ctx, &inbound))
                .await
                .unwrap_or(Ok(None))?;
            Ok(render(reply.as_ref(), &inbound))
        }
        Plan::Act(action) if action.repeats_harmlessly() => {
            // An event storm (one delivery report per recipient of a broadcast): acting is one
            // idempotent write, so it needs no inbox row, seal or receipt. It is done before
            // the answer; if it fails or is late, WeChat gets a 503 and sends it again.
            let acted = tokio::time::timeout_at(
                deadline,
                chat::act(&deps.db, &ctx, &inbound.from_user_name, &action),
            )
            .await;
            match acted {
                Ok(acted) => acted.map(|_| String::new()),
                Err(_) => Err(AppError::Unavailable(
                    "a delivery report could not be recorded within the callback budget".to_owned(),
                )),
            }
        }
        Plan::Act(action) => {
            let push = Push {
                inbound,
                action,
                phases,
                received_at: now,
            };
            act_within_budget(deps, push, (opened, seal), deadline).await
        }
    }
}

/// How long a stored push is left to the request that stored it before the inbox worker may
/// take it over: past the budget, so that only a handler that died or failed is replaced.
const RESUME_GRACE: Duration = Duration::from_secs(5);

/// Stores the push, then acts on it in a task of its own and waits until the deadline for the
/// reply. A task that finishes later queues its reply as a customer-service message; one that
/// fails or dies leaves the stored push to the inbox worker.
async fn act_within_budget(
    deps: &PushDeps,
    push: Push,
    (opened, seal): (&Opened, Option<Seal>),
    deadline: Instant,
) -> Result<String, AppError> {
    let key = push.inbound.dedup_key();
    let received_at = push.received_at;
    let resume_at = received_at
        + chrono::Duration::from_std(deps.endpoint.budget + RESUME_GRACE)
            .unwrap_or(chrono::Duration::seconds(10));
    // Nothing is acknowledged before it is stored: without the row, WeChat must retry.
    let stored = tokio::time::timeout_at(deadline, async {
        let txn = crate::db::begin_write(&deps.db).await?;
        // Replay protection costs a write, so only pushes that change state pay it.
        if let Some(seal) = &seal
            && !repo::seals::use_once(&txn, &seal.query, &seal.body, received_at).await?
        {
            txn.rollback().await?;
            return Err(forbidden("a used signed query with another body"));
        }
        repo::inbox::store(&txn, &key, &opened.plaintext, received_at, resume_at).await?;
        txn.commit().await?;
        Ok::<_, AppError>(())
    })
    .await;
    match stored {
        Err(_) => {
            return Err(AppError::Unavailable(
                "the push could not be stored within the callback budget".to_owned(),
            ));
        }
        Ok(stored) => stored?,
    }
    let turn = Arc::new(Turn::default());
    let (answer, mut answered) = tokio::sync::oneshot::channel::<String>();
    let task_deps = deps.clone();
    let task_turn = turn.clone();
    tokio::spawn(async move {
        let xml = match act_once(&task_deps, &push, &key, Some(&task_turn)).await {
            Ok(xml) => xml,
            Err(err) => {
                tracing::warn!(error = %err, "push handling failed; the inbox worker will retry it");
                String::new()
            }
        };
        // The waiter is gone only after a deadline it handed over (the reply is queued) or
        // when the request itself ended.
        let _ = answer.send(xml);
    });
    // The push is stored: from here on every way out may answer `success`.
    match tokio::time::timeout_at(deadline, &mut answered).await {
        Ok(xml) => Ok(xml.unwrap_or_default()),
        Err(_) if turn.give_up() => {
            tracing::warn!("push handling exceeded its budget; answering success");
            Ok(String::new())
        }
        // The handler is committing with its reply in hand: wait for it.
        Err(_) => Ok(answered.await.unwrap_or_default()),
    }
}

/// Who answers a push's reply: the waiting request, or a customer-service message when the
/// request gave up first. Decided once, under a lock, just before the handler commits.
#[derive(Default)]
struct Turn(std::sync::Mutex<TurnState>);

#[derive(Default, Clone, Copy)]
enum TurnState {
    #[default]
    Waiting,
    GaveUp,
    Answering,
}

impl Turn {
    fn state(&self) -> std::sync::MutexGuard<'_, TurnState> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The request's deadline passed: `true` if it may answer `success` now, leaving the reply
    /// to a customer-service message.
    fn give_up(&self) -> bool {
        let mut state = self.state();
        match *state {
            TurnState::Waiting | TurnState::GaveUp => {
                *state = TurnState::GaveUp;
                true
            }
            TurnState::Answering => false,
        }
    }

    /// The handler is about to commit: `true` if its reply must go out late.
    fn late_at_commit(&self) -> bool {
        let mut state = self.state();
        match *state {
            TurnState::Waiting => {
                *state = TurnState::Answering;
                false
            }
            TurnState::GaveUp => true,
            TurnState::Answering => false,
        }
    }
}

/// A push to act on: what it said, what it asks for and the phases it met, all read once.
struct Push {
    inbound: Inbound,
    action: Action,
    phases: Phases,
    received_at: DateTime<Utc>,
}

/// Acts on a push once and returns its passive reply (empty: `success`). `turn` is the waiting
/// request's; `None` (the inbox worker) means nobody waits and any reply goes out late. The
/// receipt, the removal of the stored push and a late reply's message commit together.
async fn act_once(
    deps: &PushDeps,
    push: &Push,
    key: &str,
    turn: Option<&Turn>,
) -> Result<String, AppError> {
    let inbound = &push.inbound;
    let ctx = context(deps, &push.phases, push.received_at);
    let txn = crate::db::begin_write(&deps.db).await?;
    let reply = match chat::act(&txn, &ctx, &inbound.from_user_name, &push.action).await {
        Ok(reply) => reply,
        Err(err) => {
            txn.rollback().await?;
            // A retry of a push handled meanwhile may fail where the first succeeded.
            return match repo::receipts::reply_for(&deps.db, key).await? {
                Some(xml) => handled_before(deps, key, xml).await,
                None => Err(err),
            };
        }
    };
    let xml = render(reply.as_ref(), inbound);
    let now = Utc::now();
    // Recorded last, with its reply, so the receipt is written once: a retry that got this far
    // concurrently waits here for the first transaction and then gives its own work up.
    if !repo::receipts::try_record(&txn, key, &xml, now).await? {
        txn.rollback().await?;
        let xml = repo::receipts::reply_for(&deps.db, key)
            .await?
            .unwrap_or_default();
        return handled_before(deps, key, xml).await;
    }
    repo::inbox::remove(&txn, key).await?;
    let late = turn.is_none_or(Turn::late_at_commit);
    if late && let Some(Reply::Text { content }) = &reply {
        let job = late_reply(deps, &inbound.from_user_name, content);
        repo::jobs::enqueue(&txn, &job, now, now).await?;
    }
    txn.commit().await?;
    Ok(xml)
}

/// Another handler acted on the push first: its stored reply is the answer, and the push's
/// inbox row (a retry may have stored it again) goes.
async fn handled_before(deps: &PushDeps, key: &str, xml: String) -> Result<String, AppError> {
    repo::inbox::remove(&deps.db, key).await?;
    Ok(xml)
}

/// The passive reply window has passed: the text goes as a customer-service message.
fn late_reply(deps: &PushDeps, openid: &str, text: &str) -> Job {
    Job::SendChatText {
        openid: openid.to_owned(),
        text: format!("{}{text}", deps.replies.messages.late_reply_prefix),
    }
}

/// Acts on a push the inbox kept (its request ran out of time, failed or died); its reply, if
/// any, goes out as a customer-service message.
pub async fn resume(deps: &PushDeps, push: &entity::push_inbox::Model) -> Result<(), ResumeError> {
    let inbound =
        Inbound::parse(&push.payload).map_err(|e| ResumeError::Unreadable(e.to_string()))?;
    let phases = phases(deps, push.received_at).await?;
    let ctx = context(deps, &phases, push.received_at);
    // The official account's plan covers the mini program's stored kinds too (its verdicts and
    // consent events plan the same actions).
    let Plan::Act(action) = chat::plan(&ctx, &inbound) else {
        // The campaign's words changed since it was stored: nothing is left to do.
        repo::inbox::remove(&deps.db, &push.dedup_key)
            .await
            .map_err(AppError::from)?;
        return Ok(());
    };
    let stored = Push {
        inbound,
        action,
        phases,
        received_at: push.received_at,
    };
    act_once(deps, &stored, &push.dedup_key, None).await?;
    Ok(())
}

/// Why a stored push could not be acted on.
#[derive(Debug, thiserror::Error)]
pub enum ResumeError {
    /// The stored XML does not parse (it did when it arrived): never worth another try.
    #[error("stored push is unreadable: {0}")]
    Unreadable(String),
    /// Acting failed; worth another try if the cause passes.
    #[error(transparent)]
    Act(#[from] AppError),
}

#[cfg(test)]
mod tests {
    use super::Turn;

    #[test]
    fn a_request_that_gave_up_leaves_the_reply_to_a_late_message() {
        let turn = Turn::default();
        assert!(turn.give_up());
        assert!(turn.late_at_commit(), "the handler must queue the reply");
    }

    #[test]
    fn a_handler_committing_in_time_keeps_the_request_waiting() {
        let turn = Turn::default();
        assert!(!turn.late_at_commit());
        assert!(
            !turn.give_up(),
            "the request waits for the committing handler"
        );
        assert!(!turn.late_at_commit());
    }
}
