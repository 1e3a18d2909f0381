//! Jury: `PUT /api/v1/admin/works/{id}/score`.

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::{Object, OpenApi, param::Path, payload::Json};

use crate::{
    routes::strict_json::StrictJson,
    routes::{Tag, auth::AdminAuth},
    service::jury,
    state::AppState,
};

/// Scores of the 评审委员会.
pub struct JuryApi;

/// A judge's score.
#[derive(Object)]
struct ScoreBody {
    /// 0 to 100.
    score: i32,
    #[oai(default)]
    comment: String,
}

/// The stored score.
#[derive(Object)]
struct ScoreView {
    work_id: i64,
    score: i32,
    comment: String,
    updated_at: DateTime<Utc>,
}

#[OpenApi(prefix_path = "/api/v1/admin", tag = "Tag::Admin")]
impl JuryApi {
    /// Score an approved work (judges; a new score replaces the judge's earlier one).
    #[oai(path = "/works/:id/score", method = "put")]
    async fn score(
        &self,
        auth: AdminAuth,
        state: Data<&AppState>,
        /// The work's id.
        id: Path<i64>,
        body: StrictJson<ScoreBody>,
    ) -> poem::Result<Json<ScoreView>> {
        let body = body.0;
        let stored = jury::score(
            &state.db,
            (&state.campaigns, &auth.0),
            id.0,
            body.score,
            &body.comment,
            Utc::now(),
        )
        .await?;
        Ok(Json(ScoreView {
            work_id: stored.work_id,
            score: stored.score,
            comment: stored.comment,
            updated_at: stored.updated_at,
        }))
    }
}
