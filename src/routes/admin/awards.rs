//! Awards: `POST /api/v1/admin/awards/compute`, `GET /api/v1/admin/awards` (admin) and the
//! public `GET /api/v1/awards` once the campaign is closed.

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::{Object, OpenApi, payload::Json};

use crate::{
    domain::awards::Prize,
    routes::{Tag, auth::AdminAuth},
    service::awards::{self, AwardDetails},
    state::AppState,
};

/// Awards of the campaign.
pub struct AwardsApi;

/// One prize.
#[derive(Object)]
struct AwardView {
    category: String,
    /// 1 for the best of the category.
    place: i32,
    /// first, second, third or top_n.
    prize: String,
    /// 一等奖, 二等奖, 三等奖 or 十佳.
    prize_name: String,
    work_id: i64,
    title: String,
    /// vote_weight × votes share × 100 + jury_weight × jury mean.
    final_score: f64,
    vote_count: i32,
    jury_mean: f64,
    computed_at: DateTime<Utc>,
}

/// Prizes by category and place.
#[derive(Object)]
struct AwardList {
    items: Vec<AwardView>,
}

impl AwardList {
    fn build(awards: Vec<AwardDetails>) -> Json<Self> {
        Json(Self {
            items: awards
                .into_iter()
                .map(|AwardDetails { award, title }| AwardView {
                    prize_name: Prize::parse(&award.prize)
                        .map_or_else(String::new, |p| p.label().to_owned()),
                    category: award.category,
                    place: award.place,
                    prize: award.prize,
                    work_id: award.work_id,
                    title,
                    final_score: award.final_score,
                    vote_count: award.vote_count,
                    jury_mean: award.jury_mean,
                    computed_at: award.computed_at,
                })
                .collect(),
        })
    }
}

#[OpenApi(prefix_path = "/api/v1", tag = "Tag::Admin")]
impl AwardsApi {
    /// Compute every category's prizes now, replacing the previous computation (admin).
    #[oai(path = "/admin/awards/compute", method = "post")]
    async fn compute(
        &self,
        auth: AdminAuth,
        state: Data<&AppState>,
    ) -> poem::Result<Json<AwardList>> {
        let now = Utc::now();
        let phase = state.phase.phase(&state.db, now).await?;
        let awards = awards::compute(
            &state.db,
            &auth.0,
            (&state.campaign, &state.notices),
            phase,
            now,
        )
        .await?;
        Ok(AwardList::build(awards))
    }

    /// The computed prizes (admin).
    #[oai(path = "/admin/awards", method = "get")]
    async fn list(&self, auth: AdminAuth, state: Data<&AppState>) -> poem::Result<Json<AwardList>> {
        Ok(AwardList::build(
            awards::for_admin(&state.db, &auth.0).await?,
        ))
    }

    /// The published prizes (once the campaign is closed).
    #[oai(path = "/awards", method = "get", tag = "Tag::MiniProgram")]
    async fn published(&self, state: Data<&AppState>) -> poem::Result<Json<AwardList>> {
        let phase = state.phase.phase(&state.db, Utc::now()).await?;
        Ok(AwardList::build(awards::published(&state.db, phase).await?))
    }
}
