//! Copying media that arrived in chat from WeChat's temporary storage into ours.

use chrono::Utc;
use entity::upload::UploadState;
use sea_orm::{DatabaseConnection, Set};

use crate::{
    error::AppError,
    repo,
    storage::{self, MediaStore, image, sniff},
    wechat::client::{Media, WechatClient},
};

/// What copying needs: where the media comes from, where it goes, and the decode budget.
pub struct MediaCopy<'a> {
    /// Database.
    pub db: &'a DatabaseConnection,
    /// WeChat, which holds the temporary media.
    pub wechat: &'a WechatClient,
    /// Our media storage.
    pub store: &'a MediaStore,
    /// Memory all image decodes together may take.
    pub image_budget: &'a image::DecodeBudget,
}

/// Downloads a pending chat upload (temporary media lives 3 days), checks it and stores it.
/// Running it again for an upload that is already stored does nothing. An error that retrying
/// cannot fix marks the upload failed, with the reason.
pub async fn copy_from_wechat(deps: &MediaCopy<'_>, upload_id: i64) -> Result<(), AppError> {
    let Some(upload) = repo::uploads::find(deps.db, upload_id).await? else {
        tracing::warn!(upload.id = upload_id, "upload to copy is gone");
        return Err(AppError::NotFound);
    };
    if upload.state != UploadState::Pending {
        return Ok(());
    }
    let Some(media_id) = upload.wechat_media_id.clone() else {
        return Err(AppError::internal(format!(
            "upload {upload_id} has no WeChat media id"
        )));
    };
    let outcome = fetch_and_store(deps, &media_id).await;
    let mut changes: entity::upload::ActiveModel = upload.into();
    match outcome {
        Ok(stored) => {
            changes.state = Set(UploadState::Ready);
            changes.mime = Set(stored.mime.to_owned());
            changes.size_bytes = Set(i64::try_from(stored.size).unwrap_or(i64::MAX));
            changes.storage_key = Set(Some(stored.key));
            changes.width = Set(i32::try_from(stored.width).ok());
            changes.height = Set(i32::try_from(stored.height).ok());
            repo::uploads::update(deps.db, changes).await?;
            Ok(())
        }
        Err(err) if !err.is_transient() => {
            changes.state = Set(UploadState::Failed);
            changes.error = Set(Some(err.to_string().chars().take(480).collect()));
            repo::uploads::update(deps.db, changes).await?;
            Err(err)
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

async fn fetch_and_store(deps: &MediaCopy<'_>, media_id: &str) -> Result<Stored, AppError> {
    let bytes = match deps.wechat.media_get(media_id).await? {
        Media::File { bytes, .. } => bytes,
        Media::Video { .. } => {
            return Err(AppError::UnsupportedMedia(
                "收到的是视频，这里需要照片".to_owned(),
            ));
        }
    };
    let sniffed = sniff::sniff(&bytes)
        .filter(|s| s.kind == sniff::MediaKind::Image)
        .ok_or_else(|| AppError::UnsupportedMedia("这个文件不是可用的图片".to_owned()))?;
    let checked = deps.image_budget.check(bytes).await.map_err(|e| match e {
        image::ImageError::Busy => AppError::Unavailable(e.to_string()),
        _ => AppError::UnsupportedMedia(e.to_string()),
    })?;
    let key = storage::new_key(sniffed.ext, Utc::now());
    let size = checked.bytes.len();
    deps.store
        .put(&key, checked.bytes)
        .await
        .map_err(|e| AppError::Unavailable(e.to_string()))?;
    Ok(Stored {
        key,
        mime: sniffed.mime,
        size,
        width: checked.width,
        height: checked.height,
    })
}
