//! The current phase: the admin's manual override if set, else the campaign's calendar.

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;

use crate::{
    campaign::{Campaign, PhaseKey},
    error::AppError,
    repo::overrides,
};

const PHASE_OVERRIDE_KEY: &str = "phase";

/// Reads the phase, caching the override for a second (instances may disagree for that second).
#[derive(Clone)]
pub struct PhaseClock {
    campaign: Arc<Campaign>,
    cache: moka::future::Cache<(), Option<PhaseKey>>,
}

impl PhaseClock {
    /// A clock for this campaign.
    pub fn new(campaign: Arc<Campaign>) -> Self {
        Self {
            campaign,
            cache: moka::future::Cache::builder()
                .max_capacity(1)
                .time_to_live(Duration::from_secs(1))
                .build(),
        }
    }

    /// The phase at `now`.
    pub async fn phase(
        &self,
        db: &DatabaseConnection,
        now: DateTime<Utc>,
    ) -> Result<PhaseKey, AppError> {
        let manual = self
            .cache
            .try_get_with((), async {
                let stored = overrides::get(db, PHASE_OVERRIDE_KEY).await?;
                Ok::<_, sea_orm::DbErr>(stored.as_deref().and_then(PhaseKey::parse))
            })
            .await?;
        Ok(manual.unwrap_or_else(|| self.campaign.phase_by_date(now)))
    }

    /// Sets (`Some`) or clears (`None`) the manual phase; takes effect here at once.
    pub async fn set_override(
        &self,
        db: &DatabaseConnection,
        phase: Option<PhaseKey>,
        now: DateTime<Utc>,
    ) -> Result<(), AppError> {
        match phase {
            Some(phase) => overrides::set(db, PHASE_OVERRIDE_KEY, phase.as_str(), now).await?,
            None => overrides::clear(db, PHASE_OVERRIDE_KEY).await?,
        }
        self.cache.invalidate(&()).await;
        Ok(())
    }
}
