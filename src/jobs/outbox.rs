//! The outbox sender: claims due messages and sends each through WeChat, never twice.
//!
//! Delivery rule (documented in the README): a row is marked `in_flight` and committed before
//! WeChat is called. If the process dies during the call, WeChat may or may not have delivered
//! it. Subscribe messages carry no id to ask by, so such a row ends `unknown` and is never sent
//! again (at most once). Template messages carry our `client_msg_id`, on which WeChat drops
//! repeats, so such a row is simply sent again (exactly once). A subscribe credit is taken
//! before the call and given back unless WeChat accepted the message.

use std::time::Duration;

use chrono::Utc;
use sea_orm::{DatabaseConnection, DbErr};
use tokio::sync::watch;

use entity::outbox::OutboxState;

use crate::{
    jobs::worker::backoff_from,
    repo,
    service::notifications::MessagePayload,
    wechat::client::{
        ErrorClass, FieldValue, MiniprogramLink, SubscribeMessage, TemplateData, TemplateMessage,
        WechatClient, WechatError,
    },
};

/// How the sender runs.
#[derive(Clone, Debug)]
pub struct OutboxPolicy {
    /// Poll interval when the queue is empty.
    pub poll: Duration,
    /// First retry delay; doubles per attempt.
    pub retry_base: Duration,
    /// Attempts before a row fails for good.
    pub max_attempts: i32,
    /// How long to stop sending after WeChat's daily quota error (45009).
    pub quota_pause: Duration,
    /// How long a claimed row is ours.
    pub lease: Duration,
    /// The mini program opened by template messages.
    pub miniapp_appid: String,
}

/// How one send ended.
enum Outcome {
    /// WeChat accepted it (template messages carry WeChat's msgid).
    Sent(Option<i64>),
    /// Will never succeed: the row ends with this reason.
    Failed(String),
    /// Try again after a delay.
    Retry(String),
    /// WeChat's quota is used up: retry after the pause, stop sending meanwhile.
    Quota(String),
}

/// Errors after which a send is pointless: refused by the user, bad data, bad openid,
/// user blocked the account, service window closed.
const PERMANENT: [i64; 6] = [43101, 47003, 40003, 43004, 45015, 40037];

fn outcome_of(err: &WechatError) -> Outcome {
    match err.errcode() {
        Some(45009) => Outcome::Quota(err.to_string()),
        Some(code) if PERMANENT.contains(&code) => Outcome::Failed(err.to_string()),
        _ => match err.class() {
            ErrorClass::Permanent => Outcome::Failed(err.to_string()),
            ErrorClass::Quota => Outcome::Quota(err.to_string()),
            ErrorClass::Retryable | ErrorClass::Token => Outcome::Retry(err.to_string()),
        },
    }
}

fn template_data(payload: &MessagePayload) -> TemplateData {
    payload
        .data
        .as_object()
        .map(|fields| {
            fields
                .iter()
                .filter_map(|(key, field)| {
                    let value = field.get("value")?.as_str()?.to_owned();
                    Some((key.clone(), FieldValue { value }))
                })
                .collect()
        })
        .unwrap_or_default()
}

async fn send_one(
    db: &DatabaseConnection,
    wechat: &WechatClient,
    policy: &OutboxPolicy,
    row: &entity::outbox::Model,
) -> Result<Outcome, DbErr> {
    let Some(person) = repo::people::find(db, row.person_id).await? else {
        return Ok(Outcome::Failed("recipient no longer exists".to_owned()));
    };
    let payload: MessagePayload = match serde_json::from_str(&row.payload) {
        Ok(payload) => payload,
        Err(err) => return Ok(Outcome::Failed(format!("unreadable payload: {err}"))),
    };
    if row.channel == "template" {
        let Some(openid) = person.mp_openid else {
            return Ok(Outcome::Failed(
                "recipient does not follow the official account".to_owned(),
            ));
        };
        let message = TemplateMessage {
            touser: openid,
            template_id: row.template_id.clone(),
            url: None,
            miniprogram: payload.page.clone().map(|pagepath| MiniprogramLink {
                appid: policy.miniapp_appid.clone(),
                pagepath,
            }),
            // WeChat drops a second send with the same id: a retry after a crash is safe.
            client_msg_id: Some(row.idempotency_key.clone()),
            data: template_data(&payload),
        };
        return Ok(match wechat.template_send(&message).await {
            Ok(sent) => Outcome::Sent(Some(sent.msgid)),
            Err(err) => outcome_of(&err),
        });
    }
    let Some(openid) = person.miniapp_openid else {
        return Ok(Outcome::Failed(
            "recipient has no mini-program identity".to_owned(),
        ));
    };
    if !repo::subscriptions::take_credit(db, row.person_id, &row.template_id).await? {
        return Ok(Outcome::Failed(
            "no send credit: the user has not accepted this template".to_owned(),
        ));
    }
    let message = SubscribeMessage {
        touser: openid,
        template_id: row.template_id.clone(),
        data: template_data(&payload),
        page: payload.page,
        miniprogram_state: None,
        lang: Some("zh_CN".to_owned()),
    };
    let outcome = match wechat.subscribe_send(&message).await {
        Ok(()) => Outcome::Sent(None),
        Err(err) => outcome_of(&err),
    };
    if !matches!(outcome, Outcome::Sent(_)) {
        // WeChat did not accept it: the credit is not used.
        repo::subscriptions::return_credit(db, row.person_id, &row.template_id).await?;
    }
    Ok(outcome)
}

/// Claims and sends one batch; returns how many rows were claimed and whether to pause.
pub async fn tick(
    db: &DatabaseConnection,
    wechat: &WechatClient,
    policy: &OutboxPolicy,
) -> Result<(usize, bool), DbErr> {
    let now = Utc::now();
    repo::outbox::expire_in_flight(db, now).await?;
    let lease = chrono::Duration::from_std(policy.lease).unwrap_or(chrono::Duration::minutes(5));
    let rows = repo::outbox::claim(db, now, now + lease, 50).await?;
    let claimed = rows.len();
    let mut paused = false;
    for row in rows {
        let outcome = if paused {
            Outcome::Quota("sending paused: daily quota used up".to_owned())
        } else {
            send_one(db, wechat, policy, &row).await?
        };
        let now = Utc::now();
        let after =
            |delay| now + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::hours(1));
        let (state, msgid, reason, retry_at) = match outcome {
            Outcome::Sent(msgid) => (OutboxState::Sent, msgid, None, None),
            Outcome::Failed(reason) => {
                tracing::warn!(outbox.id = row.id, reason, "message not sent");
                (OutboxState::Failed, None, Some(reason), None)
            }
            Outcome::Retry(reason) if row.attempts < policy.max_attempts => {
                let at = after(backoff_from(policy.retry_base, row.attempts));
                (OutboxState::Pending, None, Some(reason), Some(at))
            }
            Outcome::Retry(reason) => (OutboxState::Failed, None, Some(reason), None),
            Outcome::Quota(reason) => {
                paused = true;
                (
                    OutboxState::Pending,
                    None,
                    Some(reason),
                    Some(after(policy.quota_pause)),
                )
            }
        };
        repo::outbox::settle(db, row.id, (state, msgid), reason.as_deref(), retry_at, now).await?;
    }
    Ok((claimed, paused))
}

/// Runs until `stop` turns true.
pub async fn run_outbox(
    db: DatabaseConnection,
    wechat: WechatClient,
    policy: OutboxPolicy,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        if *stop.borrow() {
            break;
        }
        let wait = match tick(&db, &wechat, &policy).await {
            Ok((_, true)) => {
                tracing::error!("WeChat's daily quota is used up (45009): sending paused");
                Some(policy.quota_pause)
            }
            Ok((0, false)) => Some(policy.poll),
            Ok(_) => None,
            Err(err) => {
                tracing::warn!(error = %err, "outbox poll failed");
                Some(policy.poll)
            }
        };
        if let Some(wait) = wait {
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = stop.changed() => {}
            }
        }
    }
    tracing::info!("outbox sender stopped");
}
