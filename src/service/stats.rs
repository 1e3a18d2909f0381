//! Organisers' statistics: units ranked for 优秀组织单位.

use std::collections::HashMap;

use sea_orm::ConnectionTrait;

use crate::{
    domain::{
        role::Role,
        units::{UnitTally, rank_units},
    },
    error::AppError,
    repo,
    service::admin_tokens::AdminIdentity,
};

/// One unit's place and tally.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnitStanding {
    /// Competition rank among all units.
    pub rank: u32,
    /// Its name.
    pub name: String,
    /// What it achieved.
    pub tally: UnitTally,
}

/// Every unit ranked in a campaign (admins), or only the caller's own unit with its rank
/// among all (unit organisers).
pub async fn units(
    db: &impl ConnectionTrait,
    who: &AdminIdentity,
    campaign_id: i64,
) -> Result<Vec<UnitStanding>, AppError> {
    who.require(&[Role::Admin, Role::Unit])?;
    let approved: HashMap<i64, i64> = repo::stats::approved_by_unit(db, campaign_id)
        .await?
        .into_iter()
        .collect();
    let participants: HashMap<i64, i64> = repo::stats::participants_by_unit(db, campaign_id)
        .await?
        .into_iter()
        .collect();
    let mut awards: HashMap<i64, u64> = HashMap::new();
    for unit in repo::stats::award_units(db, campaign_id).await? {
        *awards.entry(unit).or_default() += 1;
    }
    let units = repo::units::all(db).await?;
    let count = |map: &HashMap<i64, i64>, id: i64| {
        u64::try_from(map.get(&id).copied().unwrap_or(0)).unwrap_or(0)
    };
    let tallies = units
        .iter()
        .map(|u| UnitTally {
            unit_id: u.id,
            approved_works: count(&approved, u.id),
            participants: count(&participants, u.id),
            awards: awards.get(&u.id).copied().unwrap_or(0),
        })
        .collect();
    Ok(rank_units(tallies)
        .into_iter()
        .filter(|(_, t)| who.role != Role::Unit || who.unit_id == Some(t.unit_id))
        .map(|(rank, tally)| UnitStanding {
            rank,
            name: units
                .iter()
                .find(|u| u.id == tally.unit_id)
                .map(|u| u.name.clone())
                .unwrap_or_default(),
            tally,
        })
        .collect())
}
