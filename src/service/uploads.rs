//! Receiving one file from the mini program: a capped read, the type from the bytes, image and
//! duration checks, then storage and an `uploads` row.

use std::time::Duration;

use bytes::Bytes;
use chrono::Utc;
use sea_orm::ConnectionTrait;
use tokio::io::{AsyncRead, AsyncReadExt};

use crate::{
    error::AppError,
    repo::{self, uploads::NewReadyUpload},
    storage::{
        self, MediaStore,
        image::{self, ImageError},
        media,
        sniff::{self, MediaKind, Sniffed},
    },
};

const MIB: u64 = 1024 * 1024;

/// Bytes read before deciding the type: every type we take is known from far fewer.
const SNIFF_PREFIX: u64 = 8 * 1024;

/// Size limits per kind of file, in bytes.
#[derive(Clone, Copy, Debug)]
pub struct UploadLimits {
    /// Images.
    pub image: u64,
    /// Recordings.
    pub audio: u64,
    /// Videos.
    pub video: u64,
}

impl UploadLimits {
    /// Images 10 MiB, audio 30 MiB, video the server's upload limit (`max_upload_bytes`).
    pub fn new(max_upload_bytes: u64) -> Self {
        Self {
            image: 10 * MIB,
            audio: 30 * MIB,
            video: max_upload_bytes,
        }
    }

    fn for_kind(self, kind: MediaKind) -> u64 {
        match kind {
            MediaKind::Image => self.image,
            MediaKind::Audio => self.audio,
            MediaKind::Video => self.video,
        }
    }
}

/// A stored upload.
#[derive(Debug)]
pub struct StoredUpload {
    /// Row id, used in `upload_ids` of a work.
    pub id: i64,
    /// What it is.
    pub kind: MediaKind,
    /// MIME type sniffed from the bytes.
    pub mime: &'static str,
    /// Stored size (after EXIF removal for images).
    pub size: u64,
    /// Stable public URL.
    pub url: String,
    /// Pixels, for images.
    pub width: Option<u32>,
    /// Pixels, for images.
    pub height: Option<u32>,
    /// Length, for audio and video.
    pub duration: Option<Duration>,
}

/// What was learnt about a file while checking it.
struct Checked {
    bytes: Bytes,
    width: Option<u32>,
    height: Option<u32>,
    duration: Option<Duration>,
}

/// Reads one file (capped by its kind's limit), checks it by its bytes alone, stores it and
/// records it as `owner_id`'s.
pub async fn receive(
    db: &impl ConnectionTrait,
    store: &MediaStore,
    limits: UploadLimits,
    owner_id: i64,
    file: impl AsyncRead + Send,
) -> Result<StoredUpload, AppError> {
    let (sniffed, bytes) = read_capped(file, limits).await?;
    let checked = check(sniffed, bytes).await?;
    let now = Utc::now();
    let key = storage::new_key(sniffed.ext, now);
    let size = checked.bytes.len() as u64;
    store
        .put(&key, checked.bytes)
        .await
        .map_err(|e| AppError::Unavailable(e.to_string()))?;
    let row = repo::uploads::insert_ready(
        db,
        NewReadyUpload {
            owner_id,
            kind: sniffed.kind.as_str(),
            mime: sniffed.mime,
            size_bytes: i64::try_from(size).unwrap_or(i64::MAX),
            storage_key: &key,
            width: checked.width.and_then(|w| i32::try_from(w).ok()),
            height: checked.height.and_then(|h| i32::try_from(h).ok()),
            duration_ms: checked
                .duration
                .and_then(|d| i32::try_from(d.as_millis()).ok()),
        },
        now,
    )
    .await?;
    tracing::info!(
        upload.id = row.id,
        upload.kind = sniffed.kind.as_str(),
        upload.size = size,
        person.id = owner_id,
        "upload stored"
    );
    Ok(StoredUpload {
        id: row.id,
        kind: sniffed.kind,
        mime: sniffed.mime,
        size,
        url: store.url(&key),
        width: checked.width,
        height: checked.height,
        duration: checked.duration,
    })
}

/// Reads the first bytes, decides the type, then reads the rest up to that kind's limit: an
/// oversized image is refused after 10 MiB, not after the video limit.
async fn read_capped(
    file: impl AsyncRead + Send,
    limits: UploadLimits,
) -> Result<(Sniffed, Bytes), AppError> {
    let file = std::pin::pin!(file);
    let mut prefix = Vec::new();
    let mut head = file.take(SNIFF_PREFIX);
    head.read_to_end(&mut prefix).await.map_err(read_error)?;
    let sniffed = sniff::sniff(&prefix).ok_or_else(|| {
        AppError::UnsupportedMedia("不支持的文件类型：请上传图片（JPG/PNG/GIF/WebP）、视频（MP4/MOV）或音频（MP3/M4A/AAC）".to_owned())
    })?;
    let limit = limits.for_kind(sniffed.kind);
    let mut bytes = prefix;
    // One byte past the limit tells "exactly at the limit" from "over it".
    let mut rest = head
        .into_inner()
        .take((limit + 1).saturating_sub(bytes.len() as u64));
    rest.read_to_end(&mut bytes).await.map_err(read_error)?;
    if bytes.len() as u64 > limit {
        return Err(AppError::TooLarge);
    }
    Ok((sniffed, Bytes::from(bytes)))
}

fn read_error(err: std::io::Error) -> AppError {
    AppError::BadRequest(format!("上传中断：{err}"))
}

/// Image checks and duration probing are CPU work over untrusted bytes: they run on a
/// blocking thread, where a panic in a parser becomes a refusal instead of a lost worker.
async fn check(sniffed: Sniffed, bytes: Bytes) -> Result<Checked, AppError> {
    let refused = |err: tokio::task::JoinError| {
        tracing::warn!(error = %err, mime = sniffed.mime, "media parser failed");
        AppError::UnsupportedMedia("无法读取该文件，文件可能已损坏".to_owned())
    };
    match sniffed.kind {
        MediaKind::Image => {
            let checked = tokio::task::spawn_blocking(move || image::check(bytes))
                .await
                .map_err(refused)?
                .map_err(|err| match err {
                    ImageError::TooLarge { .. } => AppError::UnsupportedMedia(format!(
                        "{err}：每边最多 {} 像素，总共最多 {} 像素",
                        image::MAX_SIDE,
                        image::MAX_PIXELS
                    )),
                    ImageError::Unreadable(_) => AppError::UnsupportedMedia(err.to_string()),
                })?;
            Ok(Checked {
                bytes: checked.bytes,
                width: Some(checked.width),
                height: Some(checked.height),
                duration: None,
            })
        }
        MediaKind::Video | MediaKind::Audio => {
            let probe = bytes.clone();
            let duration =
                tokio::task::spawn_blocking(move || media::duration(sniffed.mime, &probe))
                    .await
                    .map_err(refused)?
                    .map_err(|err| AppError::UnsupportedMedia(err.to_string()))?;
            Ok(Checked {
                bytes,
                width: None,
                height: None,
                duration: Some(duration),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> UploadLimits {
        UploadLimits {
            image: 100,
            audio: 200,
            video: 300,
        }
    }

    fn png_header_then(len: usize) -> Vec<u8> {
        let mut bytes = vec![
            0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, b'I', b'H', b'D', b'R',
        ];
        bytes.resize(len, 0);
        bytes
    }

    #[tokio::test]
    async fn a_file_at_its_kinds_limit_is_read_whole() {
        let (sniffed, bytes) = read_capped(&png_header_then(100)[..], limits())
            .await
            .expect("within the limit");
        assert_eq!(sniffed.kind, MediaKind::Image);
        assert_eq!(bytes.len(), 100);
    }

    #[tokio::test]
    async fn an_image_over_the_image_limit_is_too_large_even_under_the_video_limit() {
        assert!(matches!(
            read_capped(&png_header_then(101)[..], limits()).await,
            Err(AppError::TooLarge)
        ));
    }

    #[tokio::test]
    async fn an_unknown_type_is_refused_from_its_first_bytes() {
        assert!(matches!(
            read_capped(&b"just some text"[..], limits()).await,
            Err(AppError::UnsupportedMedia(_))
        ));
        assert!(matches!(
            read_capped(&b""[..], limits()).await,
            Err(AppError::UnsupportedMedia(_))
        ));
    }
}
