//! Public rankings by votes, cached for a second (instances may disagree for that second).

use std::{sync::Arc, time::Duration};

use sea_orm::DatabaseConnection;

use crate::{
    domain::vote::competition_ranks, error::AppError, repo, service::campaign::CampaignEntry,
};

/// Works one ranking lists.
const RANKING_SIZE: u64 = 100;

/// One place of a ranking.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Place {
    /// Competition rank: equal votes share it.
    pub rank: u32,
    /// The work.
    pub work_id: i64,
    /// Its title.
    pub title: String,
    /// Its counted votes.
    pub vote_count: i32,
}

/// Rankings per category (or overall), each computed at most once a second.
#[derive(Clone)]
pub struct Rankings {
    cache: moka::future::Cache<(i64, Option<String>), Arc<Vec<Place>>>,
}

impl Default for Rankings {
    fn default() -> Self {
        Self {
            cache: moka::future::Cache::builder()
                .max_capacity(64)
                .time_to_live(Duration::from_secs(1))
                .build(),
        }
    }
}

impl Rankings {
    /// A campaign's top approved works by votes of `category` (all categories when `None`).
    pub async fn get(
        &self,
        db: &DatabaseConnection,
        campaign: &CampaignEntry,
        category: Option<&str>,
    ) -> Result<Arc<Vec<Place>>, AppError> {
        if let Some(key) = category
            && campaign.category_name(key).is_none()
        {
            return Err(AppError::BadRequest(format!("unknown category `{key}`")));
        }
        let key = (campaign.id, category.map(str::to_owned));
        // Concurrent misses share one load (moka's single flight).
        let places = self
            .cache
            .try_get_with(key, async {
                let works = repo::works::top_voted(db, campaign.id, category, RANKING_SIZE).await?;
                let votes: Vec<i32> = works.iter().map(|w| w.vote_count).collect();
                let places = works
                    .into_iter()
                    .zip(competition_ranks(&votes))
                    .map(|(work, rank)| Place {
                        rank,
                        work_id: work.id,
                        title: work.title,
                        vote_count: work.vote_count,
                    })
                    .collect();
                Ok::<_, sea_orm::DbErr>(Arc::new(places))
            })
            .await?;
        Ok(places)
    }
}
