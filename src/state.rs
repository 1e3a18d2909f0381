//! `AppState`: what every handler and worker may reach, built once by `startup`.
//! It sits above the services (it holds their caches and limits) and below the routes.

use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::{
    campaign::{Campaign, notices::Notices, replies::Replies},
    metrics::Metrics,
    service::{
        callback::{PushDeps, PushEndpoint},
        campaign::PhaseClock,
        health::StorageProbe,
        listing::ListingPages,
        rankings::Rankings,
        rate::KeyedRate,
        votes::VoteLimits,
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
    /// The campaign.
    pub campaign: Arc<Campaign>,
    /// The current phase.
    pub phase: PhaseClock,
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
    /// Request rates of voting.
    pub vote_limits: VoteLimits,
    /// Logins per client address.
    pub login_rate: KeyedRate<String>,
    /// Public rankings (cached).
    pub rankings: Rankings,
    /// Public listing pages (cached).
    pub listing: ListingPages,
}

impl AppState {
    /// What the push use case reads, borrowed from here (each piece has this one owner).
    pub fn push(&self) -> PushDeps {
        PushDeps {
            db: self.db.clone(),
            campaign: self.campaign.clone(),
            replies: self.replies.clone(),
            notices: self.notices.clone(),
            phase: self.phase.clone(),
            endpoint: self.push_endpoint.clone(),
        }
    }
}
