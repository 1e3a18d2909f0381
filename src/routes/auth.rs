//! Bearer-token extractors shared by the API routes.

use poem::Request;
use poem_openapi::{SecurityScheme, auth::Bearer};

use crate::{
    error::AppError,
    service::admin_tokens::{self, AdminIdentity},
    state::AppState,
};

/// An admin bearer token (`wangju admin token`), resolved to its identity.
#[derive(SecurityScheme)]
#[oai(ty = "bearer", checker = "check_admin")]
pub struct AdminAuth(pub AdminIdentity);

async fn check_admin(req: &Request, bearer: Bearer) -> poem::Result<AdminIdentity> {
    let state = req
        .data::<AppState>()
        .ok_or_else(|| AppError::internal("AppState missing from the request"))?;
    Ok(admin_tokens::authenticate(&state.db, &bearer.token).await?)
}

/// A mini-program user's bearer token (from `POST /api/v1/auth/login`).
#[derive(SecurityScheme)]
#[oai(ty = "bearer", checker = "check_user")]
pub struct UserAuth(pub crate::service::auth::CurrentUser);

async fn check_user(
    req: &Request,
    bearer: Bearer,
) -> poem::Result<crate::service::auth::CurrentUser> {
    let state = req
        .data::<AppState>()
        .ok_or_else(|| AppError::internal("AppState missing from the request"))?;
    Ok(crate::service::auth::authenticate(&state.db, &bearer.token).await?)
}
