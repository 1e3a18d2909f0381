//! Voting: `POST /api/v1/works/{id}/votes`, `GET /api/v1/rankings`.

use chrono::Utc;
use poem::{Request, web::Data};
use poem_openapi::{
    Object, OpenApi,
    param::{Path, Query},
    payload::Json,
};

use crate::{
    routes::{Tag, auth::UserAuth},
    service::votes::{self, Ballot},
    state::AppState,
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

/// One place of a ranking.
#[derive(Object)]
struct PlaceView {
    /// Equal votes share a rank.
    rank: u32,
    work_id: i64,
    title: String,
    vote_count: i32,
}

/// The top 100 works by votes.
#[derive(Object)]
struct Ranking {
    items: Vec<PlaceView>,
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
        /// The work's id.
        id: Path<i64>,
    ) -> poem::Result<Json<VoteResult>> {
        let ballot = Ballot {
            person_id: auth.0.person_id,
            work_id: id.0,
            ip: crate::routes::client_ip(req, &state),
            user_agent: req.header("user-agent").unwrap_or_default().to_owned(),
        };
        let cast = votes::cast(&state.db, &state.campaigns, ballot, Utc::now()).await?;
        Ok(Json(VoteResult {
            work_id: cast.work_id,
            vote_count: cast.vote_count,
            votes_left_today: cast.votes_left_today,
        }))
    }

    /// Approved works by votes, in a category or overall (refreshed about every second).
    #[oai(path = "/rankings", method = "get")]
    async fn rankings(
        &self,
        state: Data<&AppState>,
        /// The category key to rank (default: every category).
        category: Query<Option<String>>,
        /// The campaign's key (default: the default campaign).
        campaign: Query<Option<String>>,
    ) -> poem::Result<Json<Ranking>> {
        let entry = state.campaign(campaign.0.as_deref())?;
        let places = state
            .rankings
            .get(&state.db, entry, category.0.as_deref())
            .await?;
        Ok(Json(Ranking {
            items: places
                .iter()
                .map(|p| PlaceView {
                    rank: p.rank,
                    work_id: p.work_id,
                    title: p.title.clone(),
                    vote_count: p.vote_count,
                })
                .collect(),
        }))
    }
}
