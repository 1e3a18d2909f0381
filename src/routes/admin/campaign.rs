//! `PUT /api/v1/admin/campaigns/{key}/phase` (and `/campaign/phase` for the default
//! campaign): the manual phase override (admin).

use chrono::Utc;
use poem::web::Data;
use poem_openapi::{Object, OpenApi, param::Path, payload::Json};

use crate::{
    routes::strict_json::StrictJson,
    routes::{Tag, auth::AdminAuth},
    service::campaign,
    state::AppState,
};

/// Campaign administration.
pub struct CampaignAdminApi;

/// A manual phase; `null` returns to the calendar.
#[derive(Object)]
struct PhaseOverride {
    /// launch, open, showcase, closed, or null.
    phase: Option<String>,
}

/// The phase in force after the change.
#[derive(Object)]
struct PhaseNow {
    /// The campaign's key.
    campaign: String,
    phase: String,
}

#[OpenApi(prefix_path = "/api/v1/admin", tag = "Tag::Admin")]
impl CampaignAdminApi {
    /// Set or clear the default campaign's manual phase (wins over the calendar until cleared).
    #[oai(path = "/campaign/phase", method = "put")]
    async fn set_phase(
        &self,
        auth: AdminAuth,
        state: Data<&AppState>,
        body: StrictJson<PhaseOverride>,
    ) -> poem::Result<Json<PhaseNow>> {
        set_phase(&state, &auth, None, body.0).await
    }

    /// Set or clear one campaign's manual phase; other campaigns keep theirs.
    #[oai(path = "/campaigns/:key/phase", method = "put")]
    async fn set_phase_of(
        &self,
        auth: AdminAuth,
        state: Data<&AppState>,
        /// The campaign's key.
        key: Path<String>,
        body: StrictJson<PhaseOverride>,
    ) -> poem::Result<Json<PhaseNow>> {
        set_phase(&state, &auth, Some(&key.0), body.0).await
    }
}

async fn set_phase(
    state: &AppState,
    auth: &AdminAuth,
    key: Option<&str>,
    body: PhaseOverride,
) -> poem::Result<Json<PhaseNow>> {
    let entry = state.campaign(key)?;
    let phase =
        campaign::set_phase(&state.db, &auth.0, entry, body.phase.as_deref(), Utc::now()).await?;
    Ok(Json(PhaseNow {
        campaign: entry.key().to_owned(),
        phase: phase.as_str().to_owned(),
    }))
}
