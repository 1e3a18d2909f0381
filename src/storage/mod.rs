//! Media storage (a local directory or an S3-compatible bucket), type sniffing and probing.

pub mod image;
pub mod media;
#[cfg(test)]
pub(crate) mod mp4_fixture;
pub mod mp4_meta;
pub mod sniff;

use std::sync::Arc;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures_util::{Stream, StreamExt};
use object_store::{ObjectStore, ObjectStoreExt, PutPayload, local::LocalFileSystem, path::Path};
use secrecy::ExposeSecret;

use crate::settings::StorageSettings;

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The `WANGJU_STORAGE` URL is unusable.
    #[error("configuration: WANGJU_STORAGE: {0}")]
    Config(String),
    /// The store failed.
    #[error("storage: {0}")]
    Store(#[from] object_store::Error),
    /// A key is not a safe path.
    #[error("bad storage key")]
    Key(#[from] object_store::path::Error),
}

/// Where media files live, and how clients reach them.
#[derive(Clone)]
pub struct MediaStore {
    store: Arc<dyn ObjectStore>,
    public_base: String,
}

impl MediaStore {
    /// Opens `file://<dir>` (created if missing) or `s3://<bucket>?endpoint=..&region=..`
    /// (keys from the settings, else from the usual `AWS_*` variables). The bucket must exist.
    pub fn open(settings: &StorageSettings, public_url: &url::Url) -> Result<Self, StorageError> {
        let url = settings.url.as_str();
        let store: Arc<dyn ObjectStore> = if let Some(dir) = url.strip_prefix("file://") {
            std::fs::create_dir_all(dir)
                .map_err(|e| StorageError::Config(format!("cannot create `{dir}`: {e}")))?;
            Arc::new(LocalFileSystem::new_with_prefix(dir)?)
        } else if url.starts_with("s3://") {
            let parsed = url::Url::parse(url).map_err(|e| StorageError::Config(e.to_string()))?;
            let bucket = parsed
                .host_str()
                .ok_or_else(|| StorageError::Config("s3:// URL without a bucket".to_owned()))?;
            let mut builder =
                object_store::aws::AmazonS3Builder::from_env().with_bucket_name(bucket);
            if let Some(keys) = &settings.s3_keys {
                builder = builder
                    .with_access_key_id(&keys.access_key_id)
                    .with_secret_access_key(keys.secret_access_key.expose_secret());
            }
            for (key, value) in parsed.query_pairs() {
                builder = match key.as_ref() {
                    "endpoint" => builder
                        .with_endpoint(value.as_ref())
                        .with_allow_http(value.starts_with("http://")),
                    "region" => builder.with_region(value.as_ref()),
                    other => {
                        return Err(StorageError::Config(format!("unknown s3 option `{other}`")));
                    }
                };
            }
            Arc::new(builder.build()?)
        } else {
            return Err(StorageError::Config(
                "must be file://<dir> or s3://<bucket>".to_owned(),
            ));
        };
        Ok(Self {
            store,
            public_base: format!("{}/media", public_url.as_str().trim_end_matches('/')),
        })
    }

    /// Stores bytes under `key`, replacing what was there.
    pub async fn put(&self, key: &str, bytes: Bytes) -> Result<(), StorageError> {
        self.store
            .put(&Path::parse(key)?, PutPayload::from_bytes(bytes))
            .await?;
        Ok(())
    }

    /// Streams a file into the store under `key` in parts, so a large video never sits in memory.
    pub async fn put_file(&self, key: &str, path: &std::path::Path) -> Result<(), StorageError> {
        use tokio::io::AsyncReadExt;
        let upload = self.store.put_multipart(&Path::parse(key)?).await?;
        let mut writer = object_store::WriteMultipart::new(upload);
        let mut file = tokio::fs::File::open(path)
            .await
            .map_err(|e| StorageError::Config(format!("spooled upload unreadable: {e}")))?;
        let mut buffer = vec![0u8; 1024 * 1024];
        loop {
            let n = file
                .read(&mut buffer)
                .await
                .map_err(|e| StorageError::Config(format!("spooled upload unreadable: {e}")))?;
            if n == 0 {
                break;
            }
            writer.wait_for_capacity(4).await?;
            writer.write(&buffer[..n]);
        }
        writer.finish().await?;
        Ok(())
    }

    /// Removes the file under `key`; a file already gone is not an error.
    pub async fn delete(&self, key: &str) -> Result<(), StorageError> {
        match self.store.delete(&Path::parse(key)?).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(err) => Err(err.into()),
        }
    }

    /// Every stored file with its last change, as the store lists them (in no set order).
    pub fn list(&self) -> impl Stream<Item = Result<StoredObject, StorageError>> + Send + use<> {
        self.store.list(None).map(|meta| {
            let meta = meta?;
            Ok(StoredObject {
                key: meta.location.to_string(),
                last_modified: meta.last_modified,
            })
        })
    }

    /// What is known of the file under `key` without reading it.
    pub async fn head(&self, key: &str) -> Result<StoredMeta, StorageError> {
        let meta = self.store.head(&Path::parse(key)?).await?;
        Ok(StoredMeta {
            size: meta.size,
            last_modified: meta.last_modified,
            e_tag: meta.e_tag,
        })
    }

    /// Streams bytes `range` of the file under `key` in the store's own chunks, so a download
    /// holds no more than a chunk in memory whatever the file's size.
    pub async fn stream(
        &self,
        key: &str,
        range: std::ops::Range<u64>,
    ) -> Result<impl Stream<Item = Result<Bytes, std::io::Error>> + Send + use<>, StorageError>
    {
        let options = object_store::GetOptions {
            range: Some(object_store::GetRange::Bounded(range)),
            ..Default::default()
        };
        let result = self.store.get_opts(&Path::parse(key)?, options).await?;
        Ok(result
            .into_stream()
            .map(|chunk| chunk.map_err(std::io::Error::other)))
    }

    /// Reads the bytes under `key`.
    pub async fn get(&self, key: &str) -> Result<Bytes, StorageError> {
        Ok(self.store.get(&Path::parse(key)?).await?.bytes().await?)
    }

    /// The stable public URL of a stored file.
    pub fn url(&self, key: &str) -> String {
        format!("{}/{key}", self.public_base)
    }
}

/// One stored file, as listed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredObject {
    /// Its key (`<yyyy>/<mm>/<uuid>.<ext>` for files we stored).
    pub key: String,
    /// When it was last written.
    pub last_modified: DateTime<Utc>,
}

/// What the store knows of a file.
#[derive(Clone, Debug)]
pub struct StoredMeta {
    /// Bytes.
    pub size: u64,
    /// Last change.
    pub last_modified: DateTime<Utc>,
    /// The store's entity tag, if it has one.
    pub e_tag: Option<String>,
}

/// A fresh storage key for a file of this extension: `<yyyy>/<mm>/<uuid>.<ext>`.
pub fn new_key(ext: &str, now: chrono::DateTime<chrono::Utc>) -> String {
    format!(
        "{}/{}.{ext}",
        now.format("%Y/%m"),
        uuid::Uuid::new_v4().simple()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(url: &str) -> StorageSettings {
        StorageSettings {
            url: url.to_owned(),
            s3_keys: None,
        }
    }

    #[tokio::test]
    async fn a_local_store_round_trips_bytes_and_builds_public_urls() {
        let dir = tempfile::tempdir().expect("dir");
        let store = MediaStore::open(
            &settings(&format!("file://{}", dir.path().display())),
            &url::Url::parse("http://127.0.0.1:8080/").expect("url"),
        )
        .expect("store");
        store
            .put("2026/11/a.png", Bytes::from_static(b"png"))
            .await
            .expect("put");
        assert_eq!(
            store.get("2026/11/a.png").await.expect("get"),
            Bytes::from_static(b"png")
        );
        assert_eq!(
            store.url("2026/11/a.png"),
            "http://127.0.0.1:8080/media/2026/11/a.png"
        );
        assert!(store.get("2026/11/missing.png").await.is_err());

        let listed: Vec<String> = store.list().map(|o| o.expect("listed").key).collect().await;
        assert_eq!(listed, vec!["2026/11/a.png".to_owned()]);
        store.delete("2026/11/a.png").await.expect("delete");
        assert!(store.get("2026/11/a.png").await.is_err());
        store
            .delete("2026/11/a.png")
            .await
            .expect("deleting a missing file is fine");
    }

    #[test]
    fn unknown_storage_schemes_are_refused() {
        let public = url::Url::parse("http://127.0.0.1:8080/").expect("url");
        assert!(MediaStore::open(&settings("ftp://x"), &public).is_err());
        assert!(MediaStore::open(&settings("s3://bucket?colour=blue"), &public).is_err());
    }
}
