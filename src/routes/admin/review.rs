//! Reviewers: `GET /api/v1/admin/works`, `POST /api/v1/admin/works/{id}/review`; unit
//! organisers: `PUT /api/v1/admin/works/{id}/report` (报送).

use chrono::Utc;
use poem::web::Data;
use poem_openapi::{
    Object, OpenApi,
    param::{Path, Query},
    payload::Json,
};

use crate::{
    error::AppError,
    routes::strict_json::StrictJson,
    routes::{Tag, api::works::WorkView, auth::AdminAuth},
    service::review::{self, Decision},
    state::AppState,
};

/// Moderation by people.
pub struct ReviewApi;

/// Works to review.
#[derive(Object)]
struct ReviewList {
    items: Vec<WorkView>,
}

/// A decision.
#[derive(Object)]
struct ReviewRequest {
    /// approve or reject.
    decision: String,
    /// Required to reject; shown to the author.
    reason: Option<String>,
}

/// Whether the unit reports the work (报送) to the city level.
#[derive(Object)]
struct ReportRequest {
    reported: bool,
}

#[OpenApi(prefix_path = "/api/v1/admin", tag = "Tag::Admin")]
impl ReviewApi {
    /// Works by status, category and unit (unit organisers: their unit only).
    #[oai(path = "/works", method = "get")]
    async fn list(
        &self,
        auth: AdminAuth,
        state: Data<&AppState>,
        /// Only works in this state (default: waiting for review).
        status: Query<Option<String>>,
        /// Only works of this category key.
        category: Query<Option<String>>,
        /// Only works of this organising unit (its id).
        unit: Query<Option<i64>>,
        /// The campaign's key (default: the default campaign).
        campaign: Query<Option<String>>,
    ) -> poem::Result<Json<ReviewList>> {
        let entry = state.campaign(campaign.0.as_deref())?;
        let works = review::queue(
            &state.db,
            &auth.0,
            entry.id,
            status.0.as_deref(),
            category.0.as_deref(),
            unit.0,
        )
        .await?;
        Ok(Json(ReviewList {
            items: works
                .into_iter()
                .map(|w| WorkView::build(w, &state, true))
                .collect(),
        }))
    }

    /// Approve or reject a work.
    #[oai(path = "/works/:id/review", method = "post")]
    async fn review(
        &self,
        auth: AdminAuth,
        state: Data<&AppState>,
        /// The work's id.
        id: Path<i64>,
        body: StrictJson<ReviewRequest>,
    ) -> poem::Result<Json<WorkView>> {
        let decision = match body.decision.as_str() {
            "approve" => Decision::Approve,
            "reject" => Decision::Reject,
            other => {
                return Err(
                    AppError::BadRequest(format!("decision `{other}`: approve or reject")).into(),
                );
            }
        };
        let work = review::decide(
            &state.db,
            (&state.campaigns, &state.notices),
            &auth.0,
            id.0,
            decision,
            body.reason.as_deref(),
            Utc::now(),
        )
        .await?;
        Ok(Json(WorkView::build(work, &state, true)))
    }

    /// Mark or unmark an approved work of one's unit as reported (报送) to the city level.
    #[oai(path = "/works/:id/report", method = "put")]
    async fn report(
        &self,
        auth: AdminAuth,
        state: Data<&AppState>,
        /// The work's id.
        id: Path<i64>,
        body: StrictJson<ReportRequest>,
    ) -> poem::Result<Json<WorkView>> {
        let work = review::report(&state.db, &auth.0, id.0, body.reported, Utc::now()).await?;
        Ok(Json(WorkView::build(work, &state, true)))
    }
}
