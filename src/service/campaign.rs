//! The campaigns a server runs: the files of the catalog, kept in step with the database's
//! snapshots, and each campaign's phase (the admin's manual override if set, else its
//! calendar).

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;

use crate::{
    campaign::{
        Campaign, PhaseKey,
        catalog::{CampaignFile, Catalog},
    },
    domain::role::Role,
    error::AppError,
    repo::{self, campaigns::Seen, overrides},
    service::{admin_tokens::AdminIdentity, votes::VoteLimits},
};

/// One campaign as this server runs it.
pub struct CampaignEntry {
    /// Its row in `campaigns`.
    pub id: i64,
    /// Its definition: the file's, or the database's snapshot when the file is gone.
    pub def: Arc<Campaign>,
    /// False when its file is gone: the campaign is read-only (closed).
    pub file_present: bool,
    /// Request rates of voting in this campaign.
    pub vote_limits: VoteLimits,
    /// Every category name the campaign ever had (works of a removed category keep theirs).
    category_names: BTreeMap<String, String>,
    /// The manual phase, cached for a second (instances may disagree for that second).
    manual: moka::future::Cache<(), Option<PhaseKey>>,
}

impl CampaignEntry {
    fn new(
        id: i64,
        def: Arc<Campaign>,
        file_present: bool,
        names: BTreeMap<String, String>,
    ) -> Self {
        Self {
            id,
            vote_limits: VoteLimits::new(&def.voting),
            def,
            file_present,
            category_names: names,
            manual: moka::future::Cache::builder()
                .max_capacity(1)
                .time_to_live(Duration::from_secs(1))
                .build(),
        }
    }

    /// The key it is stored under.
    pub fn key(&self) -> &str {
        &self.def.key
    }

    fn override_key(&self) -> String {
        format!("phase:{}", self.id)
    }

    /// The phase at `now`; a campaign whose file is gone is closed.
    pub async fn phase(
        &self,
        db: &DatabaseConnection,
        now: DateTime<Utc>,
    ) -> Result<PhaseKey, AppError> {
        if !self.file_present {
            return Ok(PhaseKey::Closed);
        }
        let manual = self
            .manual
            .try_get_with((), async {
                let stored = overrides::get(db, &self.override_key()).await?;
                Ok::<_, sea_orm::DbErr>(stored.as_deref().and_then(PhaseKey::parse))
            })
            .await?;
        Ok(manual.unwrap_or_else(|| self.def.phase_by_date(now)))
    }

    /// Sets (`Some`) or clears (`None`) the manual phase; takes effect here at once. A
    /// campaign without its file stays closed.
    pub async fn set_phase_override(
        &self,
        db: &DatabaseConnection,
        phase: Option<PhaseKey>,
        now: DateTime<Utc>,
    ) -> Result<(), AppError> {
        if !self.file_present {
            return Err(AppError::PhaseClosed(format!(
                "活动 {} 的配置文件已移除，只能查看",
                self.key()
            )));
        }
        let key = self.override_key();
        match phase {
            Some(phase) => overrides::set(db, &key, phase.as_str(), now).await?,
            None => overrides::clear(db, &key).await?,
        }
        self.manual.invalidate(&()).await;
        Ok(())
    }

    /// The display name of a category key: today's, else the last one the campaign had.
    pub fn category_name(&self, key: &str) -> Option<&str> {
        self.def
            .category(key)
            .map(|c| c.name.as_str())
            .or_else(|| self.category_names.get(key).map(String::as_str))
    }
}

/// Sets (a phase key) or clears (`None`) a campaign's manual phase and returns the phase in
/// force now (admins only).
pub async fn set_phase(
    db: &DatabaseConnection,
    who: &AdminIdentity,
    entry: &CampaignEntry,
    phase: Option<&str>,
    now: DateTime<Utc>,
) -> Result<PhaseKey, AppError> {
    who.require(&[Role::Admin])?;
    let phase = phase
        .map(|p| {
            PhaseKey::parse(p).ok_or_else(|| {
                AppError::field("phase", "须为 launch、open、showcase、closed 或 null")
            })
        })
        .transpose()?;
    entry.set_phase_override(db, phase, now).await?;
    tracing::info!(admin.token = who.token_id, campaign = %entry.key(), ?phase, "manual phase set");
    entry.phase(db, now).await
}

/// Why the campaigns could not be brought in step with the database.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// Two campaigns would give the same work codes.
    #[error(
        "campaign file `{file}`: code_prefix `{prefix}` already numbers the works of campaign `{other}` in the database"
    )]
    PrefixTaken {
        /// The new file.
        file: String,
        /// Its prefix.
        prefix: String,
        /// The campaign that has it.
        other: String,
    },
    /// The database failed.
    #[error(transparent)]
    App(#[from] AppError),
}

impl From<sea_orm::DbErr> for SyncError {
    fn from(err: sea_orm::DbErr) -> Self {
        Self::App(err.into())
    }
}

/// Every campaign of the deployment, and the default one.
pub struct Campaigns {
    /// Newest first: by the first day of their first phase.
    entries: Vec<Arc<CampaignEntry>>,
    default: usize,
    /// Work id → campaign id: a work never moves, so votes look it up once.
    work_campaigns: moka::future::Cache<i64, i64>,
}

/// Works whose campaign is remembered (two integers each: a few MiB with the cache's own
/// bookkeeping).
const WORK_CAMPAIGNS_CACHED: u64 = 200_000;

impl Campaigns {
    /// Brings the database in step with the catalog and loads what it remembers: a new file
    /// gets a row; the default campaign adopts the rows from before campaigns; a file seen
    /// again updates its snapshot; a campaign whose file is gone is served read-only from it.
    pub async fn sync(
        db: &DatabaseConnection,
        catalog: &Catalog,
        now: DateTime<Utc>,
    ) -> Result<Self, SyncError> {
        let txn = crate::db::begin_write(db).await?;
        let mut rows = repo::campaigns::all(&txn).await?;
        let mut entries = Vec::new();
        for file in &catalog.files {
            let key = file.campaign.key.as_str();
            let prefix = &file.campaign.code_prefix;
            if let Some(other) = rows
                .iter()
                .find(|r| &r.code_prefix == prefix && !r.key.is_empty() && r.key != key)
            {
                return Err(SyncError::PrefixTaken {
                    file: file.path.display().to_string(),
                    prefix: prefix.clone(),
                    other: other.key.clone(),
                });
            }
            let existing = rows.iter().position(|r| r.key == key).or_else(|| {
                (key == catalog.default_key)
                    .then(|| rows.iter().position(|r| r.key.is_empty()))
                    .flatten()
            });
            let old_names = existing
                .map(|i| names_of(&rows[i].category_names))
                .unwrap_or_default();
            let names = merged_names(old_names, &file.campaign);
            let names_json = serde_json::to_string(&names).map_err(AppError::internal)?;
            let seen = seen(file, &names_json);
            let row = match existing {
                Some(i) => {
                    let row = rows.remove(i);
                    repo::campaigns::update_seen(&txn, row.id, &seen, now).await?
                }
                None => repo::campaigns::insert(&txn, &seen, now).await?,
            };
            repo::campaigns::prepare_numbering(&txn, &row).await?;
            entries.push(CampaignEntry::new(
                row.id,
                file.campaign.clone(),
                true,
                names,
            ));
        }
        // What is left has no file any more.
        for row in rows.into_iter().filter(|r| !r.key.is_empty()) {
            if row.file_present {
                repo::campaigns::mark_missing(&txn, row.id, now).await?;
            }
            match Campaign::parse(&row.definition, &row.key) {
                Ok(def) => entries.push(CampaignEntry::new(
                    row.id,
                    Arc::new(def),
                    false,
                    names_of(&row.category_names),
                )),
                Err(err) => tracing::error!(
                    campaign = %row.key,
                    error = %err,
                    "the stored definition of a campaign whose file is gone no longer reads; its works are not served"
                ),
            }
        }
        txn.commit().await?;
        entries.sort_by_key(|e| std::cmp::Reverse(e.def.phases.first().map(|p| p.starts)));
        let default = entries
            .iter()
            .position(|e| e.def.key == catalog.default_key)
            .unwrap_or(0);
        Ok(Self {
            entries: entries.into_iter().map(Arc::new).collect(),
            default,
            work_campaigns: moka::future::Cache::new(WORK_CAMPAIGNS_CACHED),
        })
    }

    /// The campaign clients get when they name none.
    pub fn default_campaign(&self) -> &Arc<CampaignEntry> {
        &self.entries[self.default]
    }

    /// The campaign with this key.
    pub fn get(&self, key: &str) -> Option<&Arc<CampaignEntry>> {
        self.entries.iter().find(|e| e.def.key == key)
    }

    /// The campaign a request names, or the default one; an unknown key is `NotFound`,
    /// never silently the default.
    pub fn resolve(&self, key: Option<&str>) -> Result<&Arc<CampaignEntry>, AppError> {
        match key {
            None => Ok(self.default_campaign()),
            Some(key) => self.get(key).ok_or(AppError::NotFound),
        }
    }

    /// The campaign of a stored row.
    pub fn by_id(&self, id: i64) -> Option<&Arc<CampaignEntry>> {
        self.entries.iter().find(|e| e.id == id)
    }

    /// The campaign of work `work_id`; `NotFound` if there is no such work (or its campaign
    /// is no longer served).
    pub async fn of_work(
        &self,
        db: &DatabaseConnection,
        work_id: i64,
    ) -> Result<Arc<CampaignEntry>, AppError> {
        let campaign_id = self
            .work_campaigns
            .try_get_with(work_id, async {
                repo::works::campaign_of(db, work_id)
                    .await?
                    .ok_or(sea_orm::DbErr::RecordNotFound(format!("work {work_id}")))
            })
            .await;
        let campaign_id = match campaign_id {
            Ok(id) => id,
            Err(err) if matches!(*err, sea_orm::DbErr::RecordNotFound(_)) => {
                return Err(AppError::NotFound);
            }
            Err(err) => return Err(AppError::internal(err)),
        };
        self.by_id(campaign_id).cloned().ok_or(AppError::NotFound)
    }

    /// Every campaign, newest first.
    pub fn all(&self) -> &[Arc<CampaignEntry>] {
        &self.entries
    }
}

fn seen<'a>(file: &'a CampaignFile, names: &'a str) -> Seen<'a> {
    Seen {
        key: &file.campaign.key,
        name: &file.campaign.name,
        code_prefix: &file.campaign.code_prefix,
        definition: &file.text,
        source_file: file.path.to_str().unwrap_or_default(),
        category_names: names,
    }
}

fn names_of(json: &str) -> BTreeMap<String, String> {
    serde_json::from_str(json).unwrap_or_default()
}

/// The names remembered, with today's names over them.
fn merged_names(
    mut names: BTreeMap<String, String>,
    campaign: &Campaign,
) -> BTreeMap<String, String> {
    for category in &campaign.categories {
        names.insert(category.key.clone(), category.name.clone());
    }
    names
}
