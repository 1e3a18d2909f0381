//! `GET /api/v1/admin/stats`: units ranked for 优秀组织单位 (admin; unit organisers: their own).

use poem::web::Data;
use poem_openapi::{Object, OpenApi, param::Query, payload::Json};

use crate::{
    routes::{Tag, auth::AdminAuth},
    service::stats,
    state::AppState,
};

/// Organisers' statistics.
pub struct StatsApi;

/// One unit's standing.
#[derive(Object)]
struct UnitView {
    /// Rank among all units (equal tallies share it).
    rank: u32,
    unit_id: i64,
    name: String,
    approved_works: u64,
    /// People who submitted at least one work.
    participants: u64,
    /// Prizes won by the unit's works.
    awards: u64,
}

/// Units by rank.
#[derive(Object)]
struct Stats {
    units: Vec<UnitView>,
}

#[OpenApi(prefix_path = "/api/v1/admin", tag = "Tag::Admin")]
impl StatsApi {
    /// Units ranked by awards, approved works and participants.
    #[oai(path = "/stats", method = "get")]
    async fn stats(
        &self,
        auth: AdminAuth,
        state: Data<&AppState>,
        /// The campaign's key (default: the default campaign).
        campaign: Query<Option<String>>,
    ) -> poem::Result<Json<Stats>> {
        let entry = state.campaign(campaign.0.as_deref())?;
        let units = stats::units(&state.db, &auth.0, entry.id).await?;
        Ok(Json(Stats {
            units: units
                .into_iter()
                .map(|u| UnitView {
                    rank: u.rank,
                    unit_id: u.tally.unit_id,
                    name: u.name,
                    approved_works: u.tally.approved_works,
                    participants: u.tally.participants,
                    awards: u.tally.awards,
                })
                .collect(),
        }))
    }
}
