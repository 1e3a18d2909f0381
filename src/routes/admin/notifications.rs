//! Broadcasts: `POST /api/v1/admin/notifications`, progress, cancel (admin).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::{ApiResponse, Object, OpenApi, param::Path, payload::Json};
use serde_json::Value;

use crate::{
    error::AppError,
    routes::strict_json::StrictJson,
    routes::{Tag, auth::AdminAuth},
    service::notifications::{self, Channel, NewBroadcast, Progress},
    state::AppState,
};

/// Broadcast notices.
pub struct NotificationsApi;

/// A broadcast to schedule.
#[derive(Object)]
struct BroadcastRequest {
    /// `subscribe` (mini-program subscribe message, default) or `template` (official-account
    /// template message to followers).
    channel: Option<String>,
    /// Template id.
    template: String,
    /// WeChat's shape: `{"thing1":{"value":"…"}}`; each value is checked by its key's type.
    data: Value,
    /// `"subscribers"`, `{"category":"<key>"}`, `{"unit":<id>}` or `{"users":[<id>,...]}`.
    audience: Value,
    /// Mini-program page opened on tap.
    page: Option<String>,
    /// When to send (default: now).
    send_at: Option<DateTime<Utc>>,
    /// The campaign it is about (its key; default: the default campaign): a category
    /// audience means that campaign's category.
    campaign: Option<String>,
}

/// The scheduled broadcast.
#[derive(Object)]
struct Scheduled {
    id: i64,
}

#[derive(ApiResponse)]
enum Accepted {
    /// Scheduled; sending happens in the background.
    #[oai(status = 202)]
    Scheduled(Json<Scheduled>),
}

/// How far a broadcast has got.
#[derive(Object)]
struct ProgressView {
    /// scheduled, expanded or cancelled.
    state: String,
    send_at: DateTime<Utc>,
    /// Messages by state: pending, in_flight, sent, failed, unknown, cancelled.
    counts: BTreeMap<String, i64>,
}

impl From<Progress> for ProgressView {
    fn from(p: Progress) -> Self {
        Self {
            state: p.state,
            send_at: p.send_at,
            counts: p.counts,
        }
    }
}

#[OpenApi(prefix_path = "/api/v1/admin", tag = "Tag::Admin")]
impl NotificationsApi {
    /// Schedule a broadcast.
    #[oai(path = "/notifications", method = "post")]
    async fn schedule(
        &self,
        auth: AdminAuth,
        state: Data<&AppState>,
        body: StrictJson<BroadcastRequest>,
    ) -> poem::Result<Accepted> {
        let body = body.0;
        let channel = match body.channel.as_deref() {
            None | Some("subscribe") => Channel::Subscribe,
            Some("template") => Channel::Template,
            Some(other) => {
                return Err(AppError::BadRequest(format!(
                    "channel `{other}`: subscribe or template"
                ))
                .into());
            }
        };
        let broadcast = NewBroadcast {
            channel,
            template_id: body.template,
            data: body.data,
            page: body.page,
            audience: body.audience,
            send_at: body.send_at,
        };
        let campaign = state.campaign(body.campaign.as_deref())?;
        let id =
            notifications::schedule(&state.db, &auth.0, campaign.id, broadcast, Utc::now()).await?;
        Ok(Accepted::Scheduled(Json(Scheduled { id })))
    }

    /// Progress of a broadcast.
    #[oai(path = "/notifications/:id", method = "get")]
    async fn progress(
        &self,
        auth: AdminAuth,
        state: Data<&AppState>,
        /// The broadcast's id.
        id: Path<i64>,
    ) -> poem::Result<Json<ProgressView>> {
        Ok(Json(
            notifications::progress(&state.db, &auth.0, id.0)
                .await?
                .into(),
        ))
    }

    /// Cancel what has not been sent.
    #[oai(path = "/notifications/:id", method = "delete")]
    async fn cancel(
        &self,
        auth: AdminAuth,
        state: Data<&AppState>,
        /// The broadcast's id.
        id: Path<i64>,
    ) -> poem::Result<Json<ProgressView>> {
        Ok(Json(
            notifications::cancel(&state.db, &auth.0, id.0)
                .await?
                .into(),
        ))
    }
}
