//! Awards: computed from votes and jury scores by the campaign's rule, stored, and published
//! once the campaign is closed.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entity::award;
use sea_orm::{DatabaseConnection, Set};

use crate::{
    campaign::{PhaseKey, notices::Notices},
    domain::{
        awards::{Candidate, Prize, place},
        role::Role,
    },
    error::AppError,
    repo,
    service::{
        admin_tokens::AdminIdentity,
        campaign::CampaignEntry,
        notifications::{AuthorEvent, notify_author},
    },
};

/// A stored award with its work's title.
#[derive(Clone, Debug, PartialEq)]
pub struct AwardDetails {
    /// The award.
    pub award: award::Model,
    /// The work's title.
    pub title: String,
}

/// Computes every category's prizes from the current votes and scores and replaces the stored
/// ones. Deterministic: the same data always gives the same prizes (see `domain::awards`).
/// Once awards exist, judges can no longer change their scores.
///
/// Computed while the campaign is `closed` (the results are public), every winner whose author
/// accepted the award notice is told, once per work however often this runs.
pub async fn compute(
    db: &DatabaseConnection,
    who: &AdminIdentity,
    (entry, notices): (&CampaignEntry, &Notices),
    now: DateTime<Utc>,
) -> Result<Vec<AwardDetails>, AppError> {
    who.require(&[Role::Admin])?;
    if !entry.file_present {
        return Err(AppError::PhaseClosed(format!(
            "活动 {} 的配置文件已移除，只能查看",
            entry.key()
        )));
    }
    let phase = entry.phase(db, now).await?;
    let campaign = &entry.def;
    // Everything is read first, so the transaction below starts with a write (see votes).
    let mut rows = Vec::new();
    for category in &campaign.categories {
        let works = repo::works::approved_in(db, entry.id, &category.key).await?;
        let ids: Vec<i64> = works.iter().map(|w| w.id).collect();
        let mut scores: HashMap<i64, Vec<i32>> = HashMap::new();
        for score in repo::scores::for_works(db, &ids).await? {
            scores.entry(score.work_id).or_default().push(score.score);
        }
        let candidates: Vec<Candidate> = works
            .iter()
            .map(|w| Candidate {
                work_id: w.id,
                votes: i64::from(w.vote_count),
                jury_scores: scores.remove(&w.id).unwrap_or_default(),
                submitted_at: w.created_at,
            })
            .collect();
        for placed in place(&campaign.scoring, category.awards, &candidates) {
            let Some(prize) = placed.prize else { continue };
            rows.push(award::ActiveModel {
                campaign_id: Set(entry.id),
                category: Set(category.key.clone()),
                work_id: Set(placed.work_id),
                place: Set(i32::try_from(placed.place).unwrap_or(i32::MAX)),
                prize: Set(prize.as_str().to_owned()),
                final_score: Set(placed.final_score),
                vote_score: Set(placed.vote_score),
                jury_mean: Set(placed.jury_mean),
                vote_count: Set(i32::try_from(placed.votes).unwrap_or(i32::MAX)),
                computed_at: Set(now),
                ..Default::default()
            });
        }
    }
    let txn = crate::db::begin_write(db).await?;
    repo::awards::replace_all(&txn, entry.id, rows).await?;
    if phase == PhaseKey::Closed {
        for award in repo::awards::all(&txn, entry.id).await? {
            let (Some(prize), Some(work)) = (
                Prize::parse(&award.prize),
                repo::works::find(&txn, award.work_id).await?,
            ) else {
                continue;
            };
            notify_author(&txn, notices, entry, AuthorEvent::Award(prize), &work, now).await?;
        }
    }
    txn.commit().await?;
    tracing::info!(admin.token = who.token_id, campaign = %entry.key(), "awards computed");
    stored(db, entry.id).await
}

/// A campaign's stored awards for admins.
pub async fn for_admin(
    db: &DatabaseConnection,
    who: &AdminIdentity,
    entry: &CampaignEntry,
) -> Result<Vec<AwardDetails>, AppError> {
    who.require(&[Role::Admin])?;
    stored(db, entry.id).await
}

/// A campaign's stored awards for everyone, once it is closed.
pub async fn published(
    db: &DatabaseConnection,
    entry: &CampaignEntry,
    now: DateTime<Utc>,
) -> Result<Vec<AwardDetails>, AppError> {
    if entry.phase(db, now).await? != PhaseKey::Closed {
        return Err(AppError::PhaseClosed("评选结果尚未公布".to_owned()));
    }
    stored(db, entry.id).await
}

async fn stored(db: &DatabaseConnection, campaign_id: i64) -> Result<Vec<AwardDetails>, AppError> {
    let awards = repo::awards::all(db, campaign_id).await?;
    let ids: Vec<i64> = awards.iter().map(|a| a.work_id).collect();
    let works = repo::works::find_many(db, &ids).await?;
    Ok(awards
        .into_iter()
        .map(|award| AwardDetails {
            title: works
                .iter()
                .find(|w| w.id == award.work_id)
                .map(|w| w.title.clone())
                .unwrap_or_default(),
            award,
        })
        .collect())
}
