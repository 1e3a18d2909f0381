//! `AppState`: what every handler and worker may reach, built once by `startup`.
//! It sits above the services (it holds their caches and limits) and below the routes.

use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::{
    campaign::{notices::Notices, replies::Replies},
    error::AppError,
    metrics::Metrics,
    service::{
        callback::{PushDeps, PushEndpoint},
        campaign::{CampaignEntry, Campaigns},
        health::StorageProbe,
        listing::ListingPages,
        rankings::Rankings,
        rate::KeyedRate,
    },
    settings::Settings,
    storage::{MediaStore, image::DecodeBudget},
    wechat::client::WechatClient,
};

/// What every handler may reach.
#[derive(Clone)]
pub struct AppState {
    /// Database pool.
    pub db: DatabaseConnection,
    /// Every campaign, with their phases.
    pub campaigns: Arc<Campaigns>,
    /// Notices sent to authors and at milestones.
    pub notices: Arc<Notices>,
    /// Chat keywords and texts.
    pub replies: Arc<Replies>,
    /// The push endpoints' keys and limits.
    pub push_endpoint: Arc<PushEndpoint>,
    /// Media storage.
    pub store: MediaStore,
    /// Memory all image decodes together may take.
    pub image_budget: DecodeBudget,
    /// Readiness of media storage (cached).
    pub storage_probe: StorageProbe,
    /// Validated settings.
    pub settings: Arc<Settings>,
    /// Metrics registry.
    pub metrics: Metrics,
    /// The one WeChat API client (live, or the sandbox simulator).
    pub wechat: WechatClient,
    /// Logins per client address.
    pub login_rate: KeyedRate<String>,
    /// Public rankings (cached).
    pub rankings: Rankings,
    /// Public listing pages (cached).
    pub listing: ListingPages,
}

impl AppState {
    /// The campaign a request names (`?campaign=`, a path or a body field), or the default
    /// one; an unknown key is `NotFound`.
    pub fn campaign(&self, key: Option<&str>) -> Result<&Arc<CampaignEntry>, AppError> {
        self.campaigns.resolve(key)
    }

    /// What the push use case reads, borrowed from here (each piece has this one owner).
    pub fn push(&self) -> PushDeps {
        PushDeps {
            db: self.db.clone(),
            campaigns: self.campaigns.clone(),
            replies: self.replies.clone(),
            notices: self.notices.clone(),
            endpoint: self.push_endpoint.clone(),
        }
    }
}
