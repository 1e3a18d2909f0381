//! `POST /api/v1/admin/tokens`: an admin creates tokens for reviewers, judges and units.

use poem::web::Data;
use poem_openapi::{ApiResponse, Object, OpenApi, payload::Json};

use crate::{
    routes::strict_json::StrictJson,
    routes::{Tag, auth::AdminAuth},
    service::admin_tokens::{self, TokenRequest},
    state::AppState,
};

/// Admin token management.
pub struct TokensApi;

/// A token to create.
#[derive(Object)]
struct NewToken {
    /// admin, reviewer, judge or unit.
    role: String,
    /// The organising unit (only for `unit`).
    unit_id: Option<i64>,
    /// The category keys a judge scores (only for `judge`; default: every category).
    categories: Option<Vec<String>>,
    /// Who the token is for.
    #[oai(default)]
    label: String,
}

/// The created token: shown once, never again.
#[derive(Object)]
struct CreatedToken {
    token: String,
    role: String,
    unit_id: Option<i64>,
}

#[derive(ApiResponse)]
enum CreateResponse {
    /// Created.
    #[oai(status = 201)]
    Created(Json<CreatedToken>),
}

#[OpenApi(prefix_path = "/api/v1/admin", tag = "Tag::Admin")]
impl TokensApi {
    /// Create a bearer token for a role (admin only).
    #[oai(path = "/tokens", method = "post")]
    async fn create(
        &self,
        auth: AdminAuth,
        state: Data<&AppState>,
        body: StrictJson<NewToken>,
    ) -> poem::Result<CreateResponse> {
        let request = TokenRequest {
            role: &body.role,
            unit_id: body.unit_id,
            categories: body.categories.as_deref(),
            label: &body.label,
        };
        let (role, token) =
            admin_tokens::create(&state.db, (&auth.0, &state.campaigns), request).await?;
        Ok(CreateResponse::Created(Json(CreatedToken {
            token: token.reveal().to_owned(),
            role: role.as_str().to_owned(),
            unit_id: body.unit_id,
        })))
    }
}
