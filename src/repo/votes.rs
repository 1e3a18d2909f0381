//! Queries on `votes` (the ledger) and `vote_days` (the daily cap's counters).

use chrono::{DateTime, Utc};
use entity::{vote, vote_day};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect, Set,
    sea_query::{Expr, ExprTrait},
};

/// What a new vote row holds.
pub struct NewVote<'a> {
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
    pub status: &'a str,
    /// Set for counted votes only (see the migration).
    pub counted_key: Option<&'a str>,
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
        work_id: Set(new.work_id),
        person_id: Set(new.person_id),
        category: Set(new.category.to_owned()),
        campaign_day: Set(new.campaign_day.to_owned()),
        ip: Set(new.ip.to_owned()),
        user_agent: Set(new.user_agent.to_owned()),
        created_at: Set(now),
        status: Set(new.status.to_owned()),
        counted_key: Set(new.counted_key.map(str::to_owned)),
        void_reason: Set(None),
        voided_at: Set(None),
        ..Default::default()
    })
    .on_conflict_do_nothing_on([vote::Column::CountedKey])
    .exec_without_returning(db)
    .await?;
    super::inserted(result)
}

/// Makes sure the person's counter for the day exists (at zero when new).
pub async fn open_day(db: &impl ConnectionTrait, person_id: i64, day: &str) -> Result<(), DbErr> {
    vote_day::Entity::insert(vote_day::ActiveModel {
        person_id: Set(person_id),
        campaign_day: Set(day.to_owned()),
        used: Set(0),
    })
    .on_conflict_do_nothing_on([vote_day::Column::PersonId, vote_day::Column::CampaignDay])
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// Takes one of the day's `cap` votes; `false` if all are used. One conditional UPDATE, so two
/// concurrent voters can never both take the last one.
pub async fn take_day_slot(
    db: &impl ConnectionTrait,
    person_id: i64,
    day: &str,
    cap: u32,
) -> Result<bool, DbErr> {
    let result = vote_day::Entity::update_many()
        .col_expr(
            vote_day::Column::Used,
            Expr::col(vote_day::Column::Used).add(1),
        )
        .filter(vote_day::Column::PersonId.eq(person_id))
        .filter(vote_day::Column::CampaignDay.eq(day))
        .filter(vote_day::Column::Used.lt(i64::from(cap)))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Votes the person has used on the day.
pub async fn used_on(db: &impl ConnectionTrait, person_id: i64, day: &str) -> Result<i32, DbErr> {
    Ok(vote_day::Entity::find()
        .select_only()
        .column(vote_day::Column::Used)
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
    status: &str,
) -> Result<u64, DbErr> {
    use sea_orm::PaginatorTrait;
    vote::Entity::find()
        .filter(vote::Column::WorkId.eq(work_id))
        .filter(vote::Column::Status.eq(status))
        .count(db)
        .await
}
