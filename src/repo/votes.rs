//! Queries on `votes` (the ledger) and `vote_days` (the daily cap's counters).

use crate::domain::vote::VoteStatus;
use chrono::{DateTime, Utc};
use entity::{vote, vote_day};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
    sea_query::{Asterisk, Expr, ExprTrait, OnConflict, Query},
};

/// What a new vote row holds.
pub struct NewVote<'a> {
    /// The work's campaign.
    pub campaign_id: i64,
    /// The work.
    pub work_id: i64,
    /// The voter.
    pub person_id: i64,
    /// The work's category.
    pub category: &'a str,
    /// Local date, YYYY-MM-DD.
    pub campaign_day: &'a str,
    /// Client address.
    pub ip: &'a str,
    /// Client user agent.
    pub user_agent: &'a str,
    /// counted or flagged.
    pub status: VoteStatus,
    /// The one-per-(work, person, day) key; set while the vote is counted or flagged.
    pub counted_key: Option<&'a str>,
    /// Fraud signals of a flagged vote.
    pub flag_reason: Option<&'a str>,
}

/// Inserts a vote; `false` (nothing written) if its counted key already exists.
///
/// Inside a transaction a concurrent insert of the same key waits for the first one to commit
/// or roll back, then does nothing or goes ahead.
pub async fn insert(
    db: &impl ConnectionTrait,
    new: NewVote<'_>,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let result = vote::Entity::insert(vote::ActiveModel {
        campaign_id: Set(new.campaign_id),
        work_id: Set(new.work_id),
        person_id: Set(new.person_id),
        category: Set(new.category.to_owned()),
        campaign_day: Set(new.campaign_day.to_owned()),
        ip: Set(new.ip.to_owned()),
        user_agent: Set(new.user_agent.to_owned()),
        created_at: Set(now),
        status: Set(new.status.as_str().to_owned()),
        counted_key: Set(new.counted_key.map(str::to_owned)),
        void_reason: Set(None),
        voided_at: Set(None),
        flag_reason: Set(new.flag_reason.map(str::to_owned)),
        ..Default::default()
    })
    .on_conflict_do_nothing_on([vote::Column::CountedKey])
    .exec_without_returning(db)
    .await?;
    super::inserted(result)
}

/// Takes one of the person's `cap` votes of the day and returns how many are used now;
/// `None` if all are used. One conditional upsert on PostgreSQL and SQLite, so two concurrent
/// voters can never both take the last one.
pub async fn take_day_slot(
    db: &impl ConnectionTrait,
    campaign_id: i64,
    person_id: i64,
    day: &str,
    cap: u32,
) -> Result<Option<i32>, DbErr> {
    if cap == 0 {
        return Ok(None);
    }
    let used = (vote_day::Entity, vote_day::Column::Used);
    let statement = Query::insert()
        .into_table(vote_day::Entity)
        .columns([
            vote_day::Column::CampaignId,
            vote_day::Column::PersonId,
            vote_day::Column::CampaignDay,
            vote_day::Column::Used,
        ])
        .values_panic([campaign_id.into(), person_id.into(), day.into(), 1.into()])
        .on_conflict(
            OnConflict::columns([
                vote_day::Column::CampaignId,
                vote_day::Column::PersonId,
                vote_day::Column::CampaignDay,
            ])
            .value(vote_day::Column::Used, Expr::col(used).add(1))
            .action_and_where(Expr::col(used).lt(i64::from(cap)))
            .to_owned(),
        )
        .returning_col(vote_day::Column::Used)
        .to_owned();
    match db.query_one(&statement).await? {
        Some(row) => Ok(Some(row.try_get("", "used")?)),
        None => Ok(None),
    }
}

/// Votes the person has used on the day in a campaign.
pub async fn used_on(
    db: &impl ConnectionTrait,
    campaign_id: i64,
    person_id: i64,
    day: &str,
) -> Result<i32, DbErr> {
    Ok(vote_day::Entity::find()
        .select_only()
        .column(vote_day::Column::Used)
        .filter(vote_day::Column::CampaignId.eq(campaign_id))
        .filter(vote_day::Column::PersonId.eq(person_id))
        .filter(vote_day::Column::CampaignDay.eq(day))
        .into_tuple::<i32>()
        .one(db)
        .await?
        .unwrap_or(0))
}

/// Number of a work's votes with this status.
pub async fn count_for_work(
    db: &impl ConnectionTrait,
    work_id: i64,
    status: VoteStatus,
) -> Result<u64, DbErr> {
    vote::Entity::find()
        .filter(vote::Column::WorkId.eq(work_id))
        .filter(vote::Column::Status.eq(status.as_str()))
        .count(db)
        .await
}

/// The fraud evidence to count for one vote; a `None` count is not wanted.
pub struct EvidenceQuery<'a> {
    /// The campaign voted in: its fraud signals count its own votes.
    pub campaign_id: i64,
    /// The work voted for.
    pub work_id: i64,
    /// Count the work's votes (any status) since then.
    pub work_votes_since: Option<DateTime<Utc>>,
    /// Count the other accounts that voted from this address on this campaign day.
    pub accounts_on: Option<(&'a str, &'a str)>,
    /// The voter, who is not one of the "other" accounts.
    pub person_id: i64,
}

/// What [`EvidenceQuery`] counted (0 where not wanted).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EvidenceCounts {
    /// The work's votes in the window.
    pub work_votes: u64,
    /// Other accounts on the address that day.
    pub other_accounts: u64,
}

/// Counts the wanted evidence in one statement (one scalar subquery per count), since each
/// round trip is on every vote's path; nothing is sent when nothing is wanted.
pub async fn count_evidence(
    db: &impl ConnectionTrait,
    query: EvidenceQuery<'_>,
) -> Result<EvidenceCounts, DbErr> {
    if query.work_votes_since.is_none() && query.accounts_on.is_none() {
        return Ok(EvidenceCounts::default());
    }
    let mut select = Query::select();
    if let Some(since) = query.work_votes_since {
        let votes = Query::select()
            .expr(Expr::col(Asterisk).count())
            .from(vote::Entity)
            .and_where(vote::Column::WorkId.eq(query.work_id))
            .and_where(vote::Column::CreatedAt.gte(since))
            .to_owned();
        select.expr_as(Expr::from(votes), "work_votes");
    }
    if let Some((ip, day)) = query.accounts_on {
        let accounts = Query::select()
            .expr(Expr::col(vote::Column::PersonId).count_distinct())
            .from(vote::Entity)
            .and_where(vote::Column::Ip.eq(ip))
            .and_where(vote::Column::CampaignId.eq(query.campaign_id))
            .and_where(vote::Column::CampaignDay.eq(day))
            .and_where(vote::Column::PersonId.ne(query.person_id))
            .to_owned();
        select.expr_as(Expr::from(accounts), "other_accounts");
    }
    let row = db
        .query_one(&select)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("evidence counts".to_owned()))?;
    let count = |name: &str, wanted: bool| -> Result<u64, DbErr> {
        if !wanted {
            return Ok(0);
        }
        let n: i64 = row.try_get("", name)?;
        Ok(u64::try_from(n).unwrap_or(0))
    };
    Ok(EvidenceCounts {
        work_votes: count("work_votes", query.work_votes_since.is_some())?,
        other_accounts: count("other_accounts", query.accounts_on.is_some())?,
    })
}

/// Which votes an audit listing or a void takes.
#[derive(Clone, Debug, Default)]
pub struct VoteFilter {
    /// Only this campaign's.
    pub campaign_id: Option<i64>,
    /// Only this status.
    pub status: Option<VoteStatus>,
    /// Only this work.
    pub work_id: Option<i64>,
    /// Only this voter.
    pub person_id: Option<i64>,
    /// Cast at or after.
    pub from: Option<DateTime<Utc>>,
    /// Cast before.
    pub to: Option<DateTime<Utc>>,
}

impl VoteFilter {
    fn condition(&self) -> Condition {
        let mut cond = Condition::all();
        if let Some(campaign_id) = self.campaign_id {
            cond = cond.add(vote::Column::CampaignId.eq(campaign_id));
        }
        if let Some(status) = self.status {
            cond = cond.add(vote::Column::Status.eq(status.as_str()));
        }
        if let Some(work_id) = self.work_id {
            cond = cond.add(vote::Column::WorkId.eq(work_id));
        }
        if let Some(person_id) = self.person_id {
            cond = cond.add(vote::Column::PersonId.eq(person_id));
        }
        if let Some(from) = self.from {
            cond = cond.add(vote::Column::CreatedAt.gte(from));
        }
        if let Some(to) = self.to {
            cond = cond.add(vote::Column::CreatedAt.lt(to));
        }
        cond
    }
}

/// Votes matching `filter`, newest first, at most `limit`.
pub async fn list(
    db: &impl ConnectionTrait,
    filter: &VoteFilter,
    limit: u64,
) -> Result<Vec<vote::Model>, DbErr> {
    vote::Entity::find()
        .filter(filter.condition())
        .order_by_desc(vote::Column::Id)
        .limit(limit)
        .all(db)
        .await
}

/// Works having votes that match `filter` and are not yet voided, in id order.
pub async fn works_with_live_votes(
    db: &impl ConnectionTrait,
    filter: &VoteFilter,
) -> Result<Vec<i64>, DbErr> {
    vote::Entity::find()
        .select_only()
        .column(vote::Column::WorkId)
        .distinct()
        .filter(filter.condition())
        .filter(vote::Column::Status.ne("voided"))
        .order_by_asc(vote::Column::WorkId)
        .into_tuple::<i64>()
        .all(db)
        .await
}

/// Voids the live votes matching `filter` on `work_ids`: status voided, key cleared (the
/// row stays as the audit trail). Returns how many.
pub async fn void(
    db: &impl ConnectionTrait,
    filter: &VoteFilter,
    work_ids: &[i64],
    reason: &str,
    now: DateTime<Utc>,
) -> Result<u64, DbErr> {
    let result = vote::Entity::update_many()
        .col_expr(vote::Column::Status, Expr::value("voided"))
        .col_expr(
            vote::Column::CountedKey,
            Expr::value(Option::<String>::None),
        )
        .col_expr(vote::Column::VoidReason, Expr::value(reason))
        .col_expr(vote::Column::VoidedAt, Expr::value(now))
        .filter(filter.condition())
        .filter(vote::Column::Status.ne("voided"))
        .filter(vote::Column::WorkId.is_in(work_ids.iter().copied()))
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}

/// Moves a person's votes to another person (identities merged). The folded person's daily
/// counters go: the kept person's counters govern from now on.
pub async fn reassign_person(db: &impl ConnectionTrait, from: i64, to: i64) -> Result<(), DbErr> {
    vote::Entity::update_many()
        .col_expr(vote::Column::PersonId, Expr::value(to))
        .filter(vote::Column::PersonId.eq(from))
        .exec(db)
        .await?;
    vote_day::Entity::delete_many()
        .filter(vote_day::Column::PersonId.eq(from))
        .exec(db)
        .await?;
    Ok(())
}

/// Up to `limit` rows of a campaign with ids above `after`, in id order (pages of an export).
pub async fn page_after(
    db: &impl ConnectionTrait,
    campaign_id: i64,
    after: i64,
    limit: u64,
) -> Result<Vec<vote::Model>, DbErr> {
    vote::Entity::find()
        .filter(vote::Column::CampaignId.eq(campaign_id))
        .filter(vote::Column::Id.gt(after))
        .order_by_asc(vote::Column::Id)
        .limit(limit)
        .all(db)
        .await
}

/// Votes in the ledger with this status.
pub async fn count_by_status(db: &impl ConnectionTrait, status: VoteStatus) -> Result<u64, DbErr> {
    vote::Entity::find()
        .filter(vote::Column::Status.eq(status.as_str()))
        .count(db)
        .await
}
