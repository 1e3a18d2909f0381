//! `PUT /api/v1/admin/campaign/phase`: the manual phase override (admin).

use chrono::Utc;
use poem::web::Data;
use poem_openapi::{Object, OpenApi, payload::Json};

use crate::{
    campaign::PhaseKey,
    domain::role::Role,
    error::AppError,
    routes::strict_json::StrictJson,
    routes::{Tag, auth::AdminAuth},
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
    phase: String,
}

#[OpenApi(prefix_path = "/api/v1/admin", tag = "Tag::Admin")]
impl CampaignAdminApi {
    /// Set or clear the manual phase (wins over the calendar until cleared).
    #[oai(path = "/campaign/phase", method = "put")]
    async fn set_phase(
        &self,
        auth: AdminAuth,
        state: Data<&AppState>,
        body: StrictJson<PhaseOverride>,
    ) -> poem::Result<Json<PhaseNow>> {
        auth.0.require(&[Role::Admin])?;
        let phase = body
            .phase
            .as_deref()
            .map(|p| {
                PhaseKey::parse(p)
                    .ok_or_else(|| AppError::BadRequest(format!("unknown phase `{p}`")))
            })
            .transpose()?;
        let now = Utc::now();
        state.phase.set_override(&state.db, phase, now).await?;
        let phase = state.phase.phase(&state.db, now).await?;
        Ok(Json(PhaseNow {
            phase: phase.as_str().to_owned(),
        }))
    }
}
