//! Background work as data: what a service may ask to happen later. Services queue it
//! (`repo::jobs::enqueue`), the worker in `jobs/` runs it; neither imports the other.

use serde::{Deserialize, Serialize};

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
}

#[cfg(test)]
mod tests {
    use super::Job;

    #[test]
    fn a_job_round_trips_through_its_stored_json_with_its_kind_as_tag() {
        let job = Job::SendChatText {
            openid: "o1".to_owned(),
            text: "晚到的回复".to_owned(),
        };
        let stored = serde_json::to_string(&job).unwrap_or_default();
        assert!(
            stored.contains(&format!("\"kind\":\"{}\"", job.kind())),
            "{stored}"
        );
        assert_eq!(serde_json::from_str::<Job>(&stored).ok(), Some(job));
    }
}
