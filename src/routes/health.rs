//! `/healthz` (process up), `/readyz` (database reachable) and `/metrics` (Prometheus text).

use poem::{IntoResponse, handler, web::Data};
use poem_openapi::{ApiResponse, Object, OpenApi, payload::Json};

use crate::{routes::Tag, service::health, startup::AppState};

/// Health probes for load balancers and orchestrators.
pub struct HealthApi;

/// A probe's answer.
#[derive(Object)]
struct Status {
    /// `ok`, or what is not.
    status: String,
}

#[derive(ApiResponse)]
enum ReadyResponse {
    /// The database answers.
    #[oai(status = 200)]
    Ready(Json<Status>),
    /// The database does not answer; do not route traffic here.
    #[oai(status = 503)]
    NotReady(Json<Status>),
}

#[OpenApi(tag = "Tag::Operations")]
impl HealthApi {
    /// The process is up.
    #[oai(path = "/healthz", method = "get")]
    async fn healthz(&self) -> Json<Status> {
        Json(Status {
            status: "ok".to_owned(),
        })
    }

    /// The process can reach its database.
    #[oai(path = "/readyz", method = "get")]
    async fn readyz(&self, state: Data<&AppState>) -> ReadyResponse {
        match health::database_ready(&state.db).await {
            Ok(()) => ReadyResponse::Ready(Json(Status {
                status: "ok".to_owned(),
            })),
            Err(reason) => ReadyResponse::NotReady(Json(Status { status: reason })),
        }
    }
}

/// Prometheus text exposition.
#[handler]
pub async fn metrics(state: Data<&AppState>) -> poem::Result<impl IntoResponse> {
    let text = state
        .metrics
        .render()
        .map_err(|e| crate::error::AppError::Internal(e.to_string()))?;
    Ok(text.with_content_type("text/plain; version=0.0.4; charset=utf-8"))
}
