//! Vote audit: `GET /api/v1/admin/votes`, `POST /api/v1/admin/votes/void`.

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::{Object, OpenApi, param::Query, payload::Json};

use crate::{
    routes::strict_json::StrictJson,
    routes::{Tag, auth::AdminAuth},
    service::vote_audit::{self, VoidRequest},
    state::AppState,
};

/// Reviewers' view of the vote ledger.
pub struct VoteAuditApi;

/// One vote of the ledger.
#[derive(Object)]
struct VoteRow {
    id: i64,
    work_id: i64,
    /// The voter (person id).
    user_id: i64,
    category: String,
    /// Campaign day (local date).
    campaign_day: String,
    ip: String,
    user_agent: String,
    created_at: DateTime<Utc>,
    /// counted, flagged or voided.
    status: String,
    /// Fraud signals of a flagged vote.
    flag_reason: Option<String>,
    void_reason: Option<String>,
    voided_at: Option<DateTime<Utc>>,
}

impl From<entity::vote::Model> for VoteRow {
    fn from(v: entity::vote::Model) -> Self {
        Self {
            id: v.id,
            work_id: v.work_id,
            user_id: v.person_id,
            category: v.category,
            campaign_day: v.campaign_day,
            ip: v.ip,
            user_agent: v.user_agent,
            created_at: v.created_at,
            status: v.status,
            flag_reason: v.flag_reason,
            void_reason: v.void_reason,
            voided_at: v.voided_at,
        }
    }
}

/// Votes, newest first (at most 500).
#[derive(Object)]
struct VoteList {
    items: Vec<VoteRow>,
}

/// Votes to void: by work, person and/or time range `[from, to)`, with a reason.
#[derive(Object)]
struct VoidBody {
    /// The campaign whose votes are voided (its key; default: the default campaign).
    campaign: Option<String>,
    work_id: Option<i64>,
    user_id: Option<i64>,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    reason: String,
}

/// How many votes were voided.
#[derive(Object)]
struct Voided {
    voided: u64,
}

#[OpenApi(prefix_path = "/api/v1/admin", tag = "Tag::Admin")]
impl VoteAuditApi {
    /// The vote ledger by status (e.g. flagged), work and voter.
    #[oai(path = "/votes", method = "get")]
    async fn list(
        &self,
        auth: AdminAuth,
        state: Data<&AppState>,
        /// Only votes in this state: counted, flagged or voided.
        status: Query<Option<String>>,
        /// Only votes for this work.
        work_id: Query<Option<i64>>,
        /// Only votes by this person.
        user_id: Query<Option<i64>>,
        /// The campaign's key (default: the default campaign).
        campaign: Query<Option<String>>,
    ) -> poem::Result<Json<VoteList>> {
        let entry = state.campaign(campaign.0.as_deref())?;
        let votes = vote_audit::list(
            &state.db,
            &auth.0,
            entry.id,
            status.0.as_deref(),
            work_id.0,
            user_id.0,
        )
        .await?;
        Ok(Json(VoteList {
            items: votes.into_iter().map(VoteRow::from).collect(),
        }))
    }

    /// Void votes; they leave the count and stay in the ledger with the reason.
    #[oai(path = "/votes/void", method = "post")]
    async fn void(
        &self,
        auth: AdminAuth,
        state: Data<&AppState>,
        body: StrictJson<VoidBody>,
    ) -> poem::Result<Json<Voided>> {
        let body = body.0;
        let entry = state.campaign(body.campaign.as_deref())?;
        let request = VoidRequest {
            campaign_id: entry.id,
            work_id: body.work_id,
            person_id: body.user_id,
            from: body.from,
            to: body.to,
            reason: body.reason,
        };
        let voided = vote_audit::void(&state.db, &auth.0, request, Utc::now()).await?;
        Ok(Json(Voided { voided }))
    }
}
