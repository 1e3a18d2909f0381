//! The public works listing, each page cached for a moment: after an article push thousands of
//! people open the same first pages within seconds, and a page a second old is still right
//! enough to vote from (the rankings are cached the same way).

use std::{sync::Arc, time::Duration};

use moka::future::Cache;
use sea_orm::DatabaseConnection;

use crate::{
    domain::listing::Sort,
    error::AppError,
    service::works::{self, Page},
};

/// Works held by all cached pages together (a page weighs its works, plus one).
const MAX_CACHED_WORKS: u64 = 2_000;

/// What names a page: the request's own parameters.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct PageKey {
    campaign_id: i64,
    category: Option<String>,
    hot: bool,
    cursor: Option<String>,
    limit: u64,
}

/// Listing pages, each loaded at most once per time-to-live (every time when it is zero).
#[derive(Clone)]
pub struct ListingPages {
    cache: Option<Cache<PageKey, Arc<Page>>>,
}

impl ListingPages {
    /// Pages kept for `ttl`; `Duration::ZERO` turns the cache off.
    pub fn new(ttl: Duration) -> Self {
        let cache = (!ttl.is_zero()).then(|| {
            Cache::builder()
                .weigher(|_, page: &Arc<Page>| {
                    u32::try_from(page.items.len())
                        .unwrap_or(u32::MAX)
                        .saturating_add(1)
                })
                .max_capacity(MAX_CACHED_WORKS)
                .time_to_live(ttl)
                .build()
        });
        Self { cache }
    }

    /// A page of a campaign's approved works of `category` (all when `None`) in `sort` order
    /// after `cursor`.
    pub async fn get(
        &self,
        db: &DatabaseConnection,
        campaign_id: i64,
        category: Option<&str>,
        sort: Sort,
        cursor: Option<&str>,
        limit: u64,
    ) -> Result<Arc<Page>, AppError> {
        // A bad cursor is refused before the cache, so only pages that exist are kept.
        let after = works::decode_cursor(cursor, sort)?;
        let Some(cache) = &self.cache else {
            return Ok(Arc::new(
                works::load_page(db, campaign_id, category, sort, after, limit).await?,
            ));
        };
        let key = PageKey {
            campaign_id,
            category: category.map(str::to_owned),
            hot: sort == Sort::Hot,
            cursor: cursor.map(str::to_owned),
            limit,
        };
        // Concurrent misses of one page share one load (moka's single flight).
        Ok(cache
            .try_get_with(key, async {
                works::load_page(db, campaign_id, category, sort, after, limit)
                    .await
                    .map(Arc::new)
            })
            .await?)
    }
}
