//! Receiving one file from the mini program: a capped read, the type from the bytes, image and
//! duration checks, then storage and an `uploads` row.

use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use sea_orm::ConnectionTrait;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

use crate::{
    domain::orphans,
    error::AppError,
    repo::{self, uploads::NewReadyUpload},
    storage::{
        self, MediaStore,
        image::{self, DecodeBudget, ImageError},
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

/// How much one person may store in 24 hours (a soft limit: uploads that run at the same
/// moment are counted against what was stored before them).
#[derive(Clone, Copy, Debug)]
pub struct DailyQuota {
    /// Files.
    pub files: u64,
    /// Bytes.
    pub bytes: u64,
}

impl DailyQuota {
    /// `RateLimited` if `incoming` more bytes (one more file) would pass the quota.
    fn admits(self, (files, bytes): (u64, u64), incoming: u64) -> Result<(), AppError> {
        if files >= self.files || bytes.saturating_add(incoming) > self.bytes {
            return Err(AppError::RateLimited {
                retry_after: Duration::from_secs(3600),
            });
        }
        Ok(())
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

/// A received file: images in memory (they are small and re-written anyway), audio and video
/// spooled to a temporary file so that a 200 MiB video never sits in memory.
enum Received {
    Memory(Bytes),
    Disk {
        file: tempfile::NamedTempFile,
        size: u64,
    },
}

impl Received {
    fn size(&self) -> u64 {
        match self {
            Self::Memory(bytes) => bytes.len() as u64,
            Self::Disk { size, .. } => *size,
        }
    }
}

/// What was learnt about a file while checking it.
struct Checked {
    body: Received,
    width: Option<u32>,
    height: Option<u32>,
    duration: Option<Duration>,
}

/// Reads one file (capped by its kind's limit), checks it by its bytes alone, stores it and
/// records it as `owner_id`'s.
pub async fn receive(
    db: &impl ConnectionTrait,
    (store, budget): (&MediaStore, &DecodeBudget),
    (limits, quota): (UploadLimits, DailyQuota),
    owner_id: i64,
    file: impl AsyncRead + Send,
) -> Result<StoredUpload, AppError> {
    let since = Utc::now() - chrono::Duration::hours(24);
    let stored_today = repo::uploads::stored_since(db, owner_id, since).await?;
    quota.admits(stored_today, 0)?;
    let (sniffed, received) = read_capped(file, limits).await?;
    quota.admits(stored_today, received.size())?;
    let checked = check(budget, sniffed, received).await?;
    let now = Utc::now();
    let key = storage::new_key(sniffed.ext, now);
    let size = checked.body.size();
    let stored = match checked.body {
        Received::Memory(bytes) => store.put(&key, bytes).await,
        Received::Disk { file, .. } => store.put_file(&key, file.path()).await,
    };
    stored.map_err(|e| AppError::Unavailable(e.to_string()))?;
    let inserted = repo::uploads::insert_ready(
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
    .await;
    let row = match inserted {
        Ok(row) => row,
        Err(err) => {
            // Without its row nobody can reach the file: remove it now rather than leave it to
            // the hourly sweep, but only when the database refused the insert. After a broken
            // connection the insert may still commit; the sweep decides later.
            if repo::refused_by_database(&err)
                && let Err(cleanup) = store.delete(&key).await
            {
                tracing::warn!(storage.key = %key, error = %cleanup, "unrecorded upload not removed; the orphan sweep will");
            }
            return Err(err.into());
        }
    };
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

/// Stored files looked up in `uploads` per query.
const SWEEP_BATCH: usize = 500;

/// Deletes stored files that no `uploads` row names and that were written before
/// `now - min_age` (a younger file may have its row on the way); returns how many went.
/// Best effort: an entry the store cannot list or delete is logged and skipped, so one bad
/// file does not stop the sweep; only a database failure ends it.
pub async fn sweep_orphans(
    db: &impl ConnectionTrait,
    store: &MediaStore,
    min_age: Duration,
    now: DateTime<Utc>,
) -> Result<usize, AppError> {
    let cutoff = now
        - chrono::Duration::from_std(min_age)
            .map_err(|e| AppError::internal(format!("sweep age: {e}")))?;
    let mut batches = std::pin::pin!(store.list().chunks(SWEEP_BATCH));
    let mut deleted = 0;
    while let Some(batch) = batches.next().await {
        let batch: Vec<_> = batch
            .into_iter()
            .filter_map(|listed| {
                listed
                    .inspect_err(
                        |e| tracing::warn!(error = %e, "stored file not listable; skipped"),
                    )
                    .ok()
            })
            .collect();
        let keys: Vec<&str> = batch.iter().map(|o| o.key.as_str()).collect();
        let recorded = repo::uploads::known_keys(db, &keys).await?;
        let stored = batch.iter().map(|o| (o.key.as_str(), o.last_modified));
        for key in orphans::orphans(stored, &recorded, cutoff) {
            match store.delete(key).await {
                Ok(()) => {
                    tracing::info!(storage.key = key, "orphaned media file removed");
                    deleted += 1;
                }
                Err(e) => {
                    tracing::warn!(storage.key = key, error = %e, "orphaned media file not removed")
                }
            }
        }
    }
    Ok(deleted)
}

/// Reads the first bytes, decides the type, then reads the rest up to that kind's limit: an
/// oversized image is refused after 10 MiB, not after the video limit.
async fn read_capped(
    file: impl AsyncRead + Send,
    limits: UploadLimits,
) -> Result<(Sniffed, Received), AppError> {
    let file = std::pin::pin!(file);
    let mut prefix = Vec::new();
    let mut head = file.take(SNIFF_PREFIX);
    head.read_to_end(&mut prefix).await.map_err(read_error)?;
    let sniffed = sniff::sniff(&prefix).ok_or_else(|| {
        AppError::UnsupportedMedia("不支持的文件类型：请上传图片（JPG/PNG/GIF/WebP）、视频（MP4/MOV）或音频（MP3/M4A/AAC）".to_owned())
    })?;
    let limit = limits.for_kind(sniffed.kind);
    // One byte past the limit tells "exactly at the limit" from "over it".
    let mut rest = head
        .into_inner()
        .take((limit + 1).saturating_sub(prefix.len() as u64));
    if sniffed.kind == MediaKind::Image {
        let mut bytes = prefix;
        rest.read_to_end(&mut bytes).await.map_err(read_error)?;
        if bytes.len() as u64 > limit {
            return Err(AppError::TooLarge);
        }
        return Ok((sniffed, Received::Memory(Bytes::from(bytes))));
    }
    let spool_error =
        |e: std::io::Error| AppError::Unavailable(format!("cannot spool the upload: {e}"));
    let spool = tempfile::NamedTempFile::new().map_err(spool_error)?;
    let mut disk = tokio::fs::File::from_std(spool.reopen().map_err(spool_error)?);
    disk.write_all(&prefix).await.map_err(spool_error)?;
    let copied = tokio::io::copy(&mut rest, &mut disk)
        .await
        .map_err(read_error)?;
    disk.flush().await.map_err(spool_error)?;
    let size = prefix.len() as u64 + copied;
    if size > limit {
        return Err(AppError::TooLarge);
    }
    Ok((sniffed, Received::Disk { file: spool, size }))
}

fn read_error(err: std::io::Error) -> AppError {
    AppError::BadRequest(format!("上传中断：{err}"))
}

/// Image checks and duration probing are CPU work over untrusted bytes: they run on a
/// blocking thread, where a panic in a parser becomes a refusal instead of a lost worker.
async fn check(
    budget: &DecodeBudget,
    sniffed: Sniffed,
    received: Received,
) -> Result<Checked, AppError> {
    let refused = |err: tokio::task::JoinError| {
        tracing::warn!(error = %err, mime = sniffed.mime, "media parser failed");
        AppError::UnsupportedMedia("无法读取该文件，文件可能已损坏".to_owned())
    };
    match sniffed.kind {
        MediaKind::Image => {
            let Received::Memory(bytes) = received else {
                return Err(AppError::internal("image spooled to disk"));
            };
            let checked = budget.check(bytes).await.map_err(|err| match err {
                ImageError::TooLarge { .. } => AppError::UnsupportedMedia(format!(
                    "{err}：每边最多 {} 像素，总共最多 {} 像素",
                    image::MAX_SIDE,
                    image::MAX_PIXELS
                )),
                ImageError::Unreadable(_) => AppError::UnsupportedMedia(err.to_string()),
                ImageError::Busy => AppError::Unavailable(err.to_string()),
            })?;
            Ok(Checked {
                body: Received::Memory(checked.bytes),
                width: Some(checked.width),
                height: Some(checked.height),
                duration: None,
            })
        }
        MediaKind::Video | MediaKind::Audio => {
            let path = match &received {
                Received::Disk { file, .. } => file.path().to_path_buf(),
                Received::Memory(_) => {
                    return Err(AppError::internal("media kept in memory"));
                }
            };
            let size = received.size();
            let duration = tokio::task::spawn_blocking(move || {
                let spooled = |e: std::io::Error| {
                    AppError::Unavailable(format!("spooled upload unreadable: {e}"))
                };
                let file = std::fs::File::open(&path).map_err(spooled)?;
                let duration =
                    media::duration_of(sniffed.mime, std::io::BufReader::new(file), size)
                        .map_err(|err| AppError::UnsupportedMedia(err.to_string()))?;
                // Where and when it was shot stays on the phone.
                if sniffed.mime != "audio/mpeg" && sniffed.mime != "audio/aac" {
                    let mut file = std::fs::OpenOptions::new()
                        .read(true)
                        .write(true)
                        .open(&path)
                        .map_err(spooled)?;
                    crate::storage::mp4_meta::blank_metadata(&mut file, size).map_err(spooled)?;
                }
                Ok::<_, AppError>(duration)
            })
            .await
            .map_err(refused)??;
            Ok(Checked {
                body: received,
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
        let (sniffed, received) = read_capped(&png_header_then(100)[..], limits())
            .await
            .expect("within the limit");
        assert_eq!(sniffed.kind, MediaKind::Image);
        assert!(matches!(received, Received::Memory(ref bytes) if bytes.len() == 100));
    }

    fn mp3_frames(n: usize) -> Vec<u8> {
        // MPEG-1 Layer III, 128 kbit/s, 44.1 kHz: 417-byte frames.
        let mut frame = vec![0u8; 417];
        frame[..4].copy_from_slice(&[0xFF, 0xFB, 0x90, 0x64]);
        frame.repeat(n)
    }

    #[tokio::test]
    async fn audio_and_video_are_spooled_to_disk_not_kept_in_memory() {
        let bytes = mp3_frames(4);
        let limits = UploadLimits {
            audio: 10_000,
            ..limits()
        };
        let (sniffed, received) = read_capped(&bytes[..], limits)
            .await
            .expect("within the limit");
        assert_eq!(sniffed.kind, MediaKind::Audio);
        match received {
            Received::Disk { file, size } => {
                assert_eq!(size, bytes.len() as u64);
                assert_eq!(std::fs::read(file.path()).expect("spooled"), bytes);
            }
            Received::Memory(_) => panic!("audio must be spooled"),
        }
        let over = UploadLimits {
            audio: 1000,
            ..limits
        };
        assert!(matches!(
            read_capped(&bytes[..], over).await,
            Err(AppError::TooLarge)
        ));
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
