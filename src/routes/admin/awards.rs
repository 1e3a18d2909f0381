//! Awards per campaign: `POST /api/v1/admin/campaigns/{key}/awards/compute`, `GET
//! /api/v1/admin/campaigns/{key}/awards` (admin; the paths without a key act on the default
//! campaign) and the public `GET /api/v1/awards?campaign=` once the campaign is closed.

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::{
    Object, OpenApi,
    param::{Path, Query},
    payload::Json,
};

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
    /// The campaign's key.
    campaign: String,
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
    fn build(campaign: &str, awards: Vec<AwardDetails>) -> Json<Self> {
        Json(Self {
            items: awards
                .into_iter()
                .map(|AwardDetails { award, title }| AwardView {
                    campaign: campaign.to_owned(),
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
    /// Compute every category's prizes of the default campaign now, replacing its previous
    /// computation (admin).
    #[oai(path = "/admin/awards/compute", method = "post")]
    async fn compute(
        &self,
        auth: AdminAuth,
        state: Data<&AppState>,
    ) -> poem::Result<Json<AwardList>> {
        compute(&state, &auth, None).await
    }

    /// Compute every category's prizes of one campaign now, replacing its previous
    /// computation; other campaigns' awards stay (admin).
    #[oai(path = "/admin/campaigns/:key/awards/compute", method = "post")]
    async fn compute_in(
        &self,
        auth: AdminAuth,
        state: Data<&AppState>,
        /// The campaign's key.
        key: Path<String>,
    ) -> poem::Result<Json<AwardList>> {
        compute(&state, &auth, Some(&key.0)).await
    }

    /// The computed prizes of a campaign (default: the default campaign) (admin).
    #[oai(path = "/admin/awards", method = "get")]
    async fn list(
        &self,
        auth: AdminAuth,
        state: Data<&AppState>,
        /// The campaign's key.
        campaign: Query<Option<String>>,
    ) -> poem::Result<Json<AwardList>> {
        list(&state, &auth, campaign.0.as_deref()).await
    }

    /// The computed prizes of one campaign (admin).
    #[oai(path = "/admin/campaigns/:key/awards", method = "get")]
    async fn list_in(
        &self,
        auth: AdminAuth,
        state: Data<&AppState>,
        /// The campaign's key.
        key: Path<String>,
    ) -> poem::Result<Json<AwardList>> {
        list(&state, &auth, Some(&key.0)).await
    }

    /// The published prizes of a campaign (once it is closed).
    #[oai(path = "/awards", method = "get", tag = "Tag::MiniProgram")]
    async fn published(
        &self,
        state: Data<&AppState>,
        /// The campaign's key (default: the default campaign).
        campaign: Query<Option<String>>,
    ) -> poem::Result<Json<AwardList>> {
        let entry = state.campaign(campaign.0.as_deref())?;
        let awards = awards::published(&state.db, entry, Utc::now()).await?;
        Ok(AwardList::build(entry.key(), awards))
    }
}

async fn compute(
    state: &AppState,
    auth: &AdminAuth,
    key: Option<&str>,
) -> poem::Result<Json<AwardList>> {
    let entry = state.campaign(key)?;
    let awards = awards::compute(&state.db, &auth.0, (entry, &state.notices), Utc::now()).await?;
    Ok(AwardList::build(entry.key(), awards))
}

async fn list(
    state: &AppState,
    auth: &AdminAuth,
    key: Option<&str>,
) -> poem::Result<Json<AwardList>> {
    let entry = state.campaign(key)?;
    let awards = awards::for_admin(&state.db, &auth.0, entry).await?;
    Ok(AwardList::build(entry.key(), awards))
}
