//! Readiness: can this process do its work right now.

use std::time::Duration;

use sea_orm::DatabaseConnection;

use crate::{domain::vote::VoteStatus, metrics::Backlog, repo, storage::MediaStore};

/// The durable queues' backlog and the ledger's totals, read at each metrics scrape.
pub async fn backlog(db: &DatabaseConnection) -> Result<Backlog, sea_orm::DbErr> {
    let n = |count: u64| i64::try_from(count).unwrap_or(i64::MAX);
    Ok(Backlog {
        outbox_open: n(repo::outbox::open_outbox(db).await?),
        jobs_queued: n(repo::jobs::count_in_state(db, entity::job::JobState::Queued).await?),
        inbox_pending: n(repo::inbox::count(db, entity::push_inbox::InboxState::Pending).await?),
        inbox_failed: n(repo::inbox::count(db, entity::push_inbox::InboxState::Failed).await?),
        votes_counted: n(repo::votes::count_by_status(db, VoteStatus::Counted).await?),
        votes_flagged: n(repo::votes::count_by_status(db, VoteStatus::Flagged).await?),
    })
}

/// Pings the database within a short deadline; the error text says what failed.
pub async fn database_ready(db: &DatabaseConnection) -> Result<(), String> {
    match tokio::time::timeout(Duration::from_secs(2), db.ping()).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(err)) => {
            tracing::warn!(error = %err, "database ping failed");
            Err("database unreachable".to_owned())
        }
        Err(_) => Err("database ping timed out".to_owned()),
    }
}

/// Writes and deletes a small file in media storage, at most once per `ttl` whatever the
/// probe rate (concurrent probes share one check), so a load balancer cannot load the store.
#[derive(Clone)]
pub struct StorageProbe {
    store: MediaStore,
    last: moka::future::Cache<(), Result<(), String>>,
}

impl StorageProbe {
    /// A probe of `store` whose answer is reused for `ttl`.
    pub fn new(store: MediaStore, ttl: Duration) -> Self {
        Self {
            store,
            last: moka::future::Cache::builder()
                .max_capacity(1)
                .time_to_live(ttl)
                .build(),
        }
    }

    /// Whether media storage takes a write and a delete; the error text says which failed.
    pub async fn ready(&self) -> Result<(), String> {
        self.last
            .get_with((), async {
                let key = format!("probe/readyz-{}", uuid::Uuid::new_v4().simple());
                match tokio::time::timeout(Duration::from_secs(3), async {
                    self.store
                        .put(&key, bytes::Bytes::from_static(b"ok"))
                        .await
                        .map_err(|e| ("storage write failed", e))?;
                    self.store
                        .delete(&key)
                        .await
                        .map_err(|e| ("storage delete failed", e))
                })
                .await
                {
                    Ok(Ok(())) => Ok(()),
                    Ok(Err((what, err))) => {
                        tracing::warn!(error = %err, "{what}");
                        Err(what.to_owned())
                    }
                    Err(_) => Err("storage probe timed out".to_owned()),
                }
            })
            .await
    }
}
