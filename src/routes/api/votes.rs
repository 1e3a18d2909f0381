//! Voting: `POST /api/v1/works/{id}/votes`.

use chrono::Utc;
use poem::{Request, web::Data};
use poem_openapi::{Object, OpenApi, param::Path, payload::Json};

use crate::{
    domain::vote::client_ip,
    routes::{Tag, auth::UserAuth},
    service::votes::{self, Ballot},
    startup::AppState,
};

/// Votes and rankings.
pub struct VotesApi;

/// A counted vote.
#[derive(Object)]
struct VoteResult {
    work_id: i64,
    /// The work's counted votes, this one included.
    vote_count: i32,
    /// Votes the caller has left today (campaign time zone).
    votes_left_today: u32,
}

#[OpenApi(prefix_path = "/api/v1", tag = "Tag::MiniProgram")]
impl VotesApi {
    /// Vote for an approved work (showcase phase only; one vote per work per day).
    #[oai(path = "/works/:id/votes", method = "post")]
    async fn vote(
        &self,
        auth: UserAuth,
        state: Data<&AppState>,
        req: &Request,
        id: Path<i64>,
    ) -> poem::Result<Json<VoteResult>> {
        let now = Utc::now();
        let phase = state.phase.phase(&state.db, now).await?;
        let peer = req.remote_addr().as_socket_addr().map(|a| a.ip());
        let ballot = Ballot {
            person_id: auth.0.person_id,
            work_id: id.0,
            ip: client_ip(req.header("x-forwarded-for"), peer),
            user_agent: req.header("user-agent").unwrap_or_default().to_owned(),
        };
        let cast = votes::cast(
            &state.db,
            &state.campaign,
            &state.vote_limits,
            phase,
            ballot,
            now,
        )
        .await?;
        Ok(Json(VoteResult {
            work_id: cast.work_id,
            vote_count: cast.vote_count,
            votes_left_today: cast.votes_left_today,
        }))
    }
}
