//! Casting votes: phase, work and caps checked, the vote row and the work's count written in
//! one transaction.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection};

use crate::{
    campaign::{PhaseKey, Voting},
    domain::{
        fraud::{self, Evidence},
        vote::{VoteStatus, counted_key, until_next_day},
    },
    error::AppError,
    repo::{
        self,
        votes::{EvidenceQuery, NewVote},
    },
    service::{
        campaign::{CampaignEntry, Campaigns},
        rate::KeyedRate,
    },
};

/// Longest user agent kept (the column's size).
const USER_AGENT_MAX: usize = 500;

/// Per-person and per-IP request limits on voting (see [`KeyedRate`]).
#[derive(Clone)]
pub struct VoteLimits {
    per_person: KeyedRate<i64>,
    per_ip: KeyedRate<String>,
}

impl VoteLimits {
    /// Limiters with the campaign's rates.
    pub fn new(voting: &Voting) -> Self {
        Self {
            per_person: KeyedRate::per_minute(voting.per_person_per_minute),
            per_ip: KeyedRate::per_minute(voting.per_ip_per_minute),
        }
    }

    /// `RateLimited` with the wait if the person or the address is over its rate.
    pub fn check(&self, person_id: i64, ip: &str) -> Result<(), AppError> {
        let person = self.per_person.check(&person_id);
        let ip = self.per_ip.check(&ip.to_owned());
        person.and(ip)
    }
}

/// One person's vote for one work, as the request brought it.
#[derive(Clone, Debug)]
pub struct Ballot {
    /// The voter (from the session, never from the body).
    pub person_id: i64,
    /// The work.
    pub work_id: i64,
    /// Client address.
    pub ip: String,
    /// Client user agent.
    pub user_agent: String,
}

/// The outcome of a counted vote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cast {
    /// The work.
    pub work_id: i64,
    /// Its counted votes, this one included.
    pub vote_count: i32,
    /// Votes the person has left on this campaign day.
    pub votes_left_today: u32,
}

/// Casts a vote at `now` by the rules of the work's campaign: only in its showcase phase,
/// within its request rates, only for approved works, and only by followers of the official
/// account if it says so.
pub async fn cast(
    db: &DatabaseConnection,
    campaigns: &Campaigns,
    ballot: Ballot,
    now: DateTime<Utc>,
) -> Result<Cast, AppError> {
    let entry = campaigns.of_work(db, ballot.work_id).await?;
    if entry.phase(db, now).await? != PhaseKey::Showcase {
        return Err(AppError::PhaseClosed("当前不在投票阶段".to_owned()));
    }
    entry.vote_limits.check(ballot.person_id, &ballot.ip)?;
    if entry.def.voting.require_follow {
        let person = repo::people::find(db, ballot.person_id)
            .await?
            .ok_or(AppError::Unauthenticated)?;
        if !person.following {
            return Err(AppError::NotFollowing);
        }
    }
    let txn = crate::db::begin_write(db).await?;
    match record(&txn, &entry, &ballot, now).await {
        Ok(cast) => {
            txn.commit().await?;
            Ok(cast)
        }
        Err(err) => {
            txn.rollback().await?;
            Err(err)
        }
    }
}

/// Writes a vote in the caller's transaction: the vote row (unique per work, person and day),
/// the person's daily counter and, unless a fraud signal flags it, the work's count. On any
/// error the caller must roll back; nothing is counted until it commits.
///
/// Flagged votes are stored but do not count (the fraudster sees an ordinary answer); they
/// still take the day's slot for the work and a vote of the daily cap, so retrying does not
/// help. A reviewer sees them and may void them.
pub async fn record(
    txn: &impl ConnectionTrait,
    entry: &CampaignEntry,
    ballot: &Ballot,
    now: DateTime<Utc>,
) -> Result<Cast, AppError> {
    let campaign = &entry.def;
    let day = campaign.local_date(now);
    let day_text = day.to_string();
    let cap = campaign.voting.votes_per_person_per_day;
    let rules = &campaign.voting.fraud;
    // Counting comes first: the write takes the work's row lock (the voters of one work queue
    // on it; on SQLite the transaction holds the write lock already) and reads the work in the
    // same statement. A vote that then does not count is taken back below or rolled back.
    let work = repo::works::count_vote(txn, ballot.work_id)
        .await?
        .filter(|work| work.campaign_id == entry.id)
        .ok_or(AppError::NotFound)?;
    let wanted = fraud::wanted(rules);
    let counts = repo::votes::count_evidence(
        txn,
        EvidenceQuery {
            campaign_id: entry.id,
            work_id: work.id,
            work_votes_since: wanted
                .work_votes
                .then(|| now - chrono::Duration::minutes(1)),
            accounts_on: wanted
                .accounts_on_ip
                .then_some((ballot.ip.as_str(), day_text.as_str())),
            person_id: ballot.person_id,
        },
    )
    .await?;
    let mut evidence = Evidence {
        work_votes_last_minute: counts.work_votes,
        other_accounts_on_ip_today: counts.other_accounts,
        ..Evidence::NONE
    };
    if wanted.account_age {
        let person = repo::people::find(txn, ballot.person_id)
            .await?
            .ok_or(AppError::Unauthenticated)?;
        evidence.account_age_minutes = (now - person.created_at).num_minutes();
    }
    let flag = fraud::reason(&fraud::signals(rules, &evidence));
    let status = if flag.is_some() {
        VoteStatus::Flagged
    } else {
        VoteStatus::Counted
    };
    let key = counted_key(work.id, ballot.person_id, day);
    let user_agent: String = ballot.user_agent.chars().take(USER_AGENT_MAX).collect();
    let new = NewVote {
        campaign_id: entry.id,
        work_id: work.id,
        person_id: ballot.person_id,
        category: &work.category,
        campaign_day: &day_text,
        ip: &ballot.ip,
        user_agent: &user_agent,
        status,
        counted_key: Some(&key),
        flag_reason: flag.as_deref(),
    };
    match repo::votes::insert(txn, new, now).await {
        Ok(true) => {}
        Ok(false) => return Err(AppError::AlreadyVotedToday),
        // The work is locked above, so the voter is what is gone: merged into another person
        // since the session was read.
        Err(err) if repo::broke_foreign_key(&err) => return Err(AppError::Unauthenticated),
        Err(err) => return Err(err.into()),
    }
    let Some(used) =
        repo::votes::take_day_slot(txn, entry.id, ballot.person_id, &day_text, cap).await?
    else {
        return Err(AppError::DailyVoteLimit {
            retry_after: until_next_day(campaign.timezone, now),
        });
    };
    let mut vote_count = work.vote_count;
    if status == VoteStatus::Flagged {
        repo::works::add_votes(txn, work.id, -1).await?;
        vote_count -= 1;
        tracing::info!(work.id = work.id, person.id = ballot.person_id, vote.flags = ?flag, "vote flagged");
    }
    Ok(Cast {
        work_id: work.id,
        vote_count,
        votes_left_today: cap.saturating_sub(u32::try_from(used).unwrap_or(u32::MAX)),
    })
}
