//! `/healthz` (process up), `/readyz` (database and media storage usable) and `/metrics` (Prometheus text).

use poem::{IntoResponse, handler, web::Data};
use poem_openapi::{ApiResponse, Object, OpenApi, payload::Json};

use crate::{routes::Tag, service::health, state::AppState};

/// Health probes for load balancers and orchestrators.
pub struct HealthApi;

/// A probe's answer.
#[derive(Object)]
struct Status {
    /// `ok`, or what is not.
    status: String,
}

/// The readiness probe's answer, with each dependency's own state.
#[derive(Object)]
struct Readiness {
    /// `ok`, or the first thing that is not.
    status: String,
    /// `ok`, or why the database is not.
    database: String,
    /// `ok`, or why media storage is not (a write and a delete, checked every few seconds).
    storage: String,
}

#[derive(ApiResponse)]
enum ReadyResponse {
    /// The database and media storage answer.
    #[oai(status = 200)]
    Ready(Json<Readiness>),
    /// The database or media storage does not answer; do not route traffic here.
    #[oai(status = 503)]
    NotReady(Json<Readiness>),
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

    /// The process can reach its database and write to media storage.
    #[oai(path = "/readyz", method = "get")]
    async fn readyz(&self, state: Data<&AppState>) -> ReadyResponse {
        let (database, storage) = tokio::join!(
            health::database_ready(&state.db),
            state.storage_probe.ready()
        );
        let failure = database.as_ref().err().or(storage.as_ref().err()).cloned();
        let state_of = |r: Result<(), String>| r.err().unwrap_or_else(|| "ok".to_owned());
        let body = Json(Readiness {
            status: failure.clone().unwrap_or_else(|| "ok".to_owned()),
            database: state_of(database),
            storage: state_of(storage),
        });
        match failure {
            None => ReadyResponse::Ready(body),
            Some(_) => ReadyResponse::NotReady(body),
        }
    }
}

/// Prometheus text exposition.
#[handler]
pub async fn metrics(state: Data<&AppState>) -> poem::Result<impl IntoResponse> {
    // A scrape still answers while the database is away; the gauges keep their last values.
    match health::backlog(&state.db).await {
        Ok(backlog) => state.metrics.set_backlog(backlog),
        Err(err) => tracing::warn!(error = %err, "metrics: backlog unreadable"),
    }
    let text = state
        .metrics
        .render()
        .map_err(crate::error::AppError::internal)?;
    Ok(text.with_content_type("text/plain; version=0.0.4; charset=utf-8"))
}
