//! Background work: what can be queued, and the worker that runs it.

pub mod inbox;
pub mod outbox;
pub mod worker;

use std::{future::Future, time::Duration};

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbErr};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::repo;

/// A unit of background work; stored as JSON in `jobs.payload`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Job {
    /// Copy a chat image from WeChat's temporary media into our storage.
    FetchWechatMedia {
        /// The pending upload row.
        upload_id: i64,
    },
    /// Run WeChat content security on a work's text and media.
    ModerateWork {
        /// The work.
        work_id: i64,
    },
    /// Turn a due broadcast into outbox rows.
    ExpandNotification {
        /// The broadcast.
        notification_id: i64,
    },
    /// Learn a follower's unionid, to join them with their mini-program login.
    LinkFollower {
        /// Official-account openid.
        openid: String,
    },
    /// Hand a work still waiting for WeChat's media verdict to a person.
    ModerationTimeout {
        /// The work.
        work_id: i64,
    },
    /// Send a text to a follower by customer-service message (a reply that came late).
    SendChatText {
        /// Official-account openid.
        openid: String,
        /// The text.
        text: String,
    },
}

impl Job {
    /// The `jobs.kind` column value.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::FetchWechatMedia { .. } => "fetch_wechat_media",
            Self::ExpandNotification { .. } => "expand_notification",
            Self::LinkFollower { .. } => "link_follower",
            Self::ModerateWork { .. } => "moderate_work",
            Self::ModerationTimeout { .. } => "moderation_timeout",
            Self::SendChatText { .. } => "send_chat_text",
        }
    }

    /// Queues the job in the caller's transaction, to run now.
    pub async fn enqueue(
        &self,
        db: &impl ConnectionTrait,
        now: DateTime<Utc>,
    ) -> Result<i64, DbErr> {
        self.enqueue_at(db, now, now).await
    }

    /// Queues the job in the caller's transaction, to run at `run_at`.
    pub async fn enqueue_at(
        &self,
        db: &impl ConnectionTrait,
        run_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<i64, DbErr> {
        let payload =
            serde_json::to_string(self).map_err(|e| DbErr::Custom(format!("job payload: {e}")))?;
        repo::jobs::enqueue(db, self.kind(), &payload, run_at, now).await
    }
}

/// Runs `round` until `stop` turns true; after a round that found nothing to do (or failed,
/// which is logged as `what`), waits `poll` or until the stop.
pub(crate) async fn poll_until_stopped<F, Fut>(
    what: &'static str,
    poll: Duration,
    mut stop: watch::Receiver<bool>,
    mut round: F,
) where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<usize, DbErr>>,
{
    loop {
        if *stop.borrow() {
            break;
        }
        let busy = match round().await {
            Ok(n) => n > 0,
            Err(err) => {
                tracing::warn!(error = %err, "{what} poll failed");
                false
            }
        };
        if !busy {
            tokio::select! {
                _ = tokio::time::sleep(poll) => {}
                _ = stop.changed() => {}
            }
        }
    }
    tracing::info!("{what} stopped");
}
