//! Copying media that arrived in chat from WeChat's temporary storage into ours.

use chrono::Utc;
use sea_orm::Set;

use crate::{
    jobs::worker::{JobDeps, JobError},
    repo,
    storage::{self, image, sniff},
    wechat::client::Media,
};

/// Downloads a pending chat upload (temporary media lives 3 days), checks it and stores it.
/// Running it again for an upload that is already stored does nothing.
pub async fn copy_from_wechat(deps: &JobDeps, upload_id: i64) -> Result<(), JobError> {
    let Some(upload) = repo::uploads::find(&deps.db, upload_id).await? else {
        return Err(JobError::Fail(format!("upload {upload_id} is gone")));
    };
    if upload.state != "pending" {
        return Ok(());
    }
    let Some(media_id) = upload.wechat_media_id.clone() else {
        return Err(JobError::Fail(format!(
            "upload {upload_id} has no WeChat media id"
        )));
    };
    let outcome = fetch_and_store(deps, &media_id).await;
    let mut changes: entity::upload::ActiveModel = upload.into();
    match outcome {
        Ok(stored) => {
            changes.state = Set("ready".to_owned());
            changes.mime = Set(stored.mime.to_owned());
            changes.size_bytes = Set(i64::try_from(stored.size).unwrap_or(i64::MAX));
            changes.storage_key = Set(Some(stored.key));
            changes.width = Set(i32::try_from(stored.width).ok());
            changes.height = Set(i32::try_from(stored.height).ok());
            repo::uploads::update(&deps.db, changes).await?;
            Ok(())
        }
        Err(JobError::Fail(reason)) => {
            changes.state = Set("failed".to_owned());
            changes.error = Set(Some(reason.chars().take(480).collect()));
            repo::uploads::update(&deps.db, changes).await?;
            Err(JobError::Fail(reason))
        }
        Err(retry) => Err(retry),
    }
}

struct Stored {
    key: String,
    mime: &'static str,
    size: usize,
    width: u32,
    height: u32,
}

async fn fetch_and_store(deps: &JobDeps, media_id: &str) -> Result<Stored, JobError> {
    let bytes = match deps.wechat.media_get(media_id).await? {
        Media::File { bytes, .. } => bytes,
        Media::Video { .. } => {
            return Err(JobError::Fail(
                "a video where a photo was expected".to_owned(),
            ));
        }
    };
    let sniffed = sniff::sniff(&bytes)
        .filter(|s| s.kind == sniff::MediaKind::Image)
        .ok_or_else(|| JobError::Fail("the file is not an image we take".to_owned()))?;
    let checked = deps.image_budget.check(bytes).await.map_err(|e| match e {
        image::ImageError::Busy => JobError::Retry(e.to_string()),
        _ => JobError::Fail(e.to_string()),
    })?;
    let key = storage::new_key(sniffed.ext, Utc::now());
    let size = checked.bytes.len();
    deps.store
        .put(&key, checked.bytes)
        .await
        .map_err(|e| JobError::Retry(e.to_string()))?;
    Ok(Stored {
        key,
        mime: sniffed.mime,
        size,
        width: checked.width,
        height: checked.height,
    })
}
