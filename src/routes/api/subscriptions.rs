//! `POST /api/v1/subscriptions`: what the user answered in `wx.requestSubscribeMessage`.

use std::collections::BTreeMap;

use chrono::Utc;
use poem::web::Data;
use poem_openapi::{ApiResponse, Object, OpenApi};

use crate::{
    routes::strict_json::StrictJson,
    routes::{Tag, auth::UserAuth},
    service::notifications,
    state::AppState,
};

/// Subscribe-message consent.
pub struct SubscriptionsApi;

/// The popup's results, by template id.
#[derive(Object)]
struct Answers {
    /// `accept` (one send credit), `reject` or `ban` (no sends).
    results: BTreeMap<String, String>,
}

#[derive(ApiResponse)]
enum Recorded {
    /// Recorded.
    #[oai(status = 204)]
    Done,
}

#[OpenApi(prefix_path = "/api/v1", tag = "Tag::MiniProgram")]
impl SubscriptionsApi {
    /// Report the results of `wx.requestSubscribeMessage`.
    #[oai(path = "/subscriptions", method = "post")]
    async fn record(
        &self,
        auth: UserAuth,
        state: Data<&AppState>,
        body: StrictJson<Answers>,
    ) -> poem::Result<Recorded> {
        notifications::record_answers(&state.db, auth.0.person_id, &body.results, Utc::now())
            .await?;
        Ok(Recorded::Done)
    }
}
