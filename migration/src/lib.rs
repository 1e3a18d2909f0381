//! Schema migrations of wangju: one file per step, never edited after it lands.

pub use sea_orm_migration::prelude::*;

mod m20261127_000001_create_admin_tokens;
mod m20261127_000002_create_campaign_tables;
mod m20261127_000003_create_sessions;
mod m20261127_000010_create_wechat_tokens;
mod m20261127_000020_create_votes;
mod m20261127_000021_add_vote_flag_reason;
mod m20261127_000022_create_scores;
mod m20261127_000023_create_awards;
mod m20261127_000024_add_work_reports;
mod m20261127_000030_create_notifications;
mod m20261127_000040_works_listing_indexes;
mod m20261201_000050_create_push_inbox;
mod m20261201_000051_create_push_seals;
mod m20261201_000052_add_session_login_code;
mod m20261201_000053_add_campaigns;

/// Every migration of the project, in the order they apply.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261127_000001_create_admin_tokens::Migration),
            Box::new(m20261127_000002_create_campaign_tables::Migration),
            Box::new(m20261127_000003_create_sessions::Migration),
            Box::new(m20261127_000010_create_wechat_tokens::Migration),
            Box::new(m20261127_000020_create_votes::Migration),
            Box::new(m20261127_000021_add_vote_flag_reason::Migration),
            Box::new(m20261127_000022_create_scores::Migration),
            Box::new(m20261127_000023_create_awards::Migration),
            Box::new(m20261127_000024_add_work_reports::Migration),
            Box::new(m20261127_000030_create_notifications::Migration),
            Box::new(m20261127_000040_works_listing_indexes::Migration),
            Box::new(m20261201_000050_create_push_inbox::Migration),
            Box::new(m20261201_000051_create_push_seals::Migration),
            Box::new(m20261201_000052_add_session_login_code::Migration),
            Box::new(m20261201_000053_add_campaigns::Migration),
        ]
    }
}
