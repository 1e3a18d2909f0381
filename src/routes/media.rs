//! `GET /media/{key}`: stored media at their stable public URLs.

use poem::{
    IntoResponse, Response, handler,
    web::{Data, Path},
};

use crate::{error::AppError, startup::AppState, storage::sniff};

/// Serves a stored file; keys are never reused, so clients may cache forever.
#[handler]
pub async fn get(state: Data<&AppState>, Path(key): Path<String>) -> poem::Result<Response> {
    let bytes = state.store.get(&key).await.map_err(|err| {
        tracing::debug!(key, error = %err, "media not served");
        AppError::NotFound
    })?;
    let mime = sniff::sniff(&bytes).map_or("application/octet-stream", |s| s.mime);
    Ok(bytes
        .with_content_type(mime)
        .with_header("cache-control", "public, max-age=31536000, immutable")
        .into_response())
}
