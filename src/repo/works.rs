//! Queries on `works` and `work_media`.

use chrono::{DateTime, Utc};
use entity::{work, work_media};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};

use crate::domain::{
    listing::{Cursor, Sort},
    work::WorkStatus,
};

/// What a new work row holds.
pub struct NewWork<'a> {
    /// Its campaign's row.
    pub campaign_id: i64,
    /// Category key.
    pub category: &'a str,
    /// Title.
    pub title: &'a str,
    /// Body text.
    pub body: &'a str,
    /// Author (person id).
    pub author_id: i64,
    /// The author's unit at submission.
    pub unit_id: Option<i64>,
    /// `mp` or `miniapp`.
    pub channel: &'a str,
    /// Initial status.
    pub status: WorkStatus,
    /// True-story declaration.
    pub true_story: bool,
}

/// Inserts a work with its code (`code` of the campaign's next work number) and its media
/// in order.
pub async fn insert(
    db: &impl ConnectionTrait,
    new: NewWork<'_>,
    code: impl Fn(i64) -> String,
    upload_ids: &[i64],
    now: DateTime<Utc>,
) -> Result<work::Model, DbErr> {
    let number = super::campaigns::next_work_number(db, new.campaign_id).await?;
    let row = work::ActiveModel {
        campaign_id: Set(new.campaign_id),
        code: Set(Some(code(number))),
        category: Set(new.category.to_owned()),
        title: Set(new.title.to_owned()),
        body: Set(new.body.to_owned()),
        author_id: Set(new.author_id),
        unit_id: Set(new.unit_id),
        channel: Set(new.channel.to_owned()),
        status: Set(new.status.as_str().to_owned()),
        true_story: Set(new.true_story),
        vote_count: Set(0),
        moderation_note: Set(None),
        text_suggest: Set(None),
        sec_trace_id: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        approved_at: Set(None),
        ..Default::default()
    }
    .insert(db)
    .await?;
    for (position, upload_id) in upload_ids.iter().enumerate() {
        work_media::ActiveModel {
            work_id: Set(row.id),
            upload_id: Set(*upload_id),
            position: Set(i32::try_from(position).unwrap_or(i32::MAX)),
            check_trace_id: Set(None),
            check_suggest: Set(None),
            ..Default::default()
        }
        .insert(db)
        .await?;
    }
    Ok(row)
}

/// The works of an author, newest first.
pub async fn by_author(
    db: &impl ConnectionTrait,
    author_id: i64,
) -> Result<Vec<work::Model>, DbErr> {
    work::Entity::find()
        .filter(work::Column::AuthorId.eq(author_id))
        .order_by_desc(work::Column::Id)
        .all(db)
        .await
}

/// The campaign of a work.
pub async fn campaign_of(db: &impl ConnectionTrait, id: i64) -> Result<Option<i64>, DbErr> {
    work::Entity::find_by_id(id)
        .select_only()
        .column(work::Column::CampaignId)
        .into_tuple()
        .one(db)
        .await
}

/// One work.
pub async fn find(db: &impl ConnectionTrait, id: i64) -> Result<Option<work::Model>, DbErr> {
    work::Entity::find_by_id(id).one(db).await
}

/// The media of a work, in order.
pub async fn media(
    db: &impl ConnectionTrait,
    work_id: i64,
) -> Result<Vec<work_media::Model>, DbErr> {
    work_media::Entity::find()
        .filter(work_media::Column::WorkId.eq(work_id))
        .order_by_asc(work_media::Column::Position)
        .all(db)
        .await
}

/// The work medium whose asynchronous check has this trace id.
pub async fn medium_by_trace_id(
    db: &impl ConnectionTrait,
    trace_id: &str,
) -> Result<Option<work_media::Model>, DbErr> {
    work_media::Entity::find()
        .filter(work_media::Column::CheckTraceId.eq(trace_id))
        .one(db)
        .await
}

/// Saves changed fields of a work.
pub async fn update(
    db: &impl ConnectionTrait,
    changes: work::ActiveModel,
) -> Result<work::Model, DbErr> {
    changes.update(db).await
}

/// Saves changed fields of a work medium.
pub async fn update_medium(
    db: &impl ConnectionTrait,
    changes: work_media::ActiveModel,
) -> Result<work_media::Model, DbErr> {
    changes.update(db).await
}

/// Moves a person's works to another person (identities merged).
pub async fn reassign_author(db: &impl ConnectionTrait, from: i64, to: i64) -> Result<(), DbErr> {
    work::Entity::update_many()
        .col_expr(work::Column::AuthorId, sea_orm::sea_query::Expr::value(to))
        .filter(work::Column::AuthorId.eq(from))
        .exec(db)
        .await?;
    Ok(())
}

/// One page of a campaign's approved works, in `sort` order after `cursor`.
pub async fn list_approved(
    db: &impl ConnectionTrait,
    campaign_id: i64,
    category: Option<&str>,
    sort: Sort,
    after: Option<Cursor>,
    limit: u64,
) -> Result<Vec<work::Model>, DbErr> {
    let mut query = work::Entity::find()
        .filter(work::Column::CampaignId.eq(campaign_id))
        .filter(work::Column::Status.eq(WorkStatus::Approved.as_str()));
    if let Some(category) = category {
        query = query.filter(work::Column::Category.eq(category));
    }
    query = match after {
        // A row comparison, which PostgreSQL and SQLite turn into one index range.
        Some(Cursor::Hot { votes, id }) => {
            use sea_orm::sea_query::{Expr, ExprTrait};
            query.filter(
                Expr::tuple([
                    Expr::col(work::Column::VoteCount),
                    Expr::col(work::Column::Id),
                ])
                .lt(Expr::tuple([Expr::val(votes), Expr::val(id)])),
            )
        }
        Some(Cursor::New { id }) => query.filter(work::Column::Id.lt(id)),
        None => query,
    };
    query = match sort {
        Sort::Hot => query
            .order_by_desc(work::Column::VoteCount)
            .order_by_desc(work::Column::Id),
        Sort::New => query.order_by_desc(work::Column::Id),
    };
    query.limit(limit).all(db).await
}

/// Filters of the reviewers' list.
#[derive(Debug, Default)]
pub struct AdminFilter<'a> {
    /// Only this campaign.
    pub campaign_id: Option<i64>,
    /// Only this status.
    pub status: Option<WorkStatus>,
    /// Only this category.
    pub category: Option<&'a str>,
    /// Only this unit.
    pub unit_id: Option<i64>,
}

/// Works for reviewers, oldest first (first come, first reviewed), at most `limit`.
pub async fn list_for_review(
    db: &impl ConnectionTrait,
    filter: AdminFilter<'_>,
    limit: u64,
) -> Result<Vec<work::Model>, DbErr> {
    let mut query = work::Entity::find();
    if let Some(campaign_id) = filter.campaign_id {
        query = query.filter(work::Column::CampaignId.eq(campaign_id));
    }
    if let Some(status) = filter.status {
        query = query.filter(work::Column::Status.eq(status.as_str()));
    }
    if let Some(category) = filter.category {
        query = query.filter(work::Column::Category.eq(category));
    }
    if let Some(unit_id) = filter.unit_id {
        query = query.filter(work::Column::UnitId.eq(unit_id));
    }
    query
        .order_by_asc(work::Column::Id)
        .limit(limit)
        .all(db)
        .await
}

/// The media of several works with their files, in order.
pub async fn media_with_uploads(
    db: &impl ConnectionTrait,
    work_ids: &[i64],
) -> Result<Vec<(work_media::Model, Option<entity::upload::Model>)>, DbErr> {
    let media = work_media::Entity::find()
        .filter(work_media::Column::WorkId.is_in(work_ids.iter().copied()))
        .order_by_asc(work_media::Column::WorkId)
        .order_by_asc(work_media::Column::Position)
        .all(db)
        .await?;
    let upload_ids: Vec<i64> = media.iter().map(|m| m.upload_id).collect();
    let uploads = super::uploads::find_many(db, &upload_ids).await?;
    Ok(media
        .into_iter()
        .map(|m| {
            let upload = uploads.iter().find(|u| u.id == m.upload_id).cloned();
            (m, upload)
        })
        .collect())
}

/// Adds `delta` to an approved work's `vote_count`; `false` if no approved work has this id.
pub async fn add_votes(db: &impl ConnectionTrait, id: i64, delta: i32) -> Result<bool, DbErr> {
    use sea_orm::sea_query::ExprTrait;
    let result = work::Entity::update_many()
        .col_expr(
            work::Column::VoteCount,
            sea_orm::sea_query::Expr::col(work::Column::VoteCount).add(delta),
        )
        .filter(work::Column::Id.eq(id))
        .filter(work::Column::Status.eq("approved"))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Counts one vote for an approved work and returns the work as it is now; `None` if there is
/// no such approved work. The write takes the work's row lock, so the voters of one work queue
/// here on PostgreSQL.
pub async fn count_vote(db: &impl ConnectionTrait, id: i64) -> Result<Option<work::Model>, DbErr> {
    use sea_orm::sea_query::ExprTrait;
    let update = work::Entity::update_many()
        .col_expr(
            work::Column::VoteCount,
            sea_orm::sea_query::Expr::col(work::Column::VoteCount).add(1),
        )
        .filter(work::Column::Id.eq(id))
        .filter(work::Column::Status.eq("approved"));
    super::update_one(db, update, id).await
}

/// Takes the work's row lock (a no-op write) so its votes can be changed and recounted
/// exactly; `false` if there is no such work.
pub async fn lock_for_votes(db: &impl ConnectionTrait, id: i64) -> Result<bool, DbErr> {
    let result = work::Entity::update_many()
        .col_expr(
            work::Column::VoteCount,
            sea_orm::sea_query::Expr::col(work::Column::VoteCount),
        )
        .filter(work::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Sets a work's `vote_count` (after a recount under its row lock).
pub async fn set_vote_count(db: &impl ConnectionTrait, id: i64, count: i32) -> Result<(), DbErr> {
    work::Entity::update_many()
        .col_expr(
            work::Column::VoteCount,
            sea_orm::sea_query::Expr::value(count),
        )
        .filter(work::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// The approved works with the most votes (ties: earlier submission first), at most `limit`.
pub async fn top_voted(
    db: &impl ConnectionTrait,
    campaign_id: i64,
    category: Option<&str>,
    limit: u64,
) -> Result<Vec<work::Model>, DbErr> {
    let mut query = work::Entity::find()
        .filter(work::Column::CampaignId.eq(campaign_id))
        .filter(work::Column::Status.eq(WorkStatus::Approved.as_str()));
    if let Some(category) = category {
        query = query.filter(work::Column::Category.eq(category));
    }
    query
        .order_by_desc(work::Column::VoteCount)
        .order_by_asc(work::Column::Id)
        .limit(limit)
        .all(db)
        .await
}

/// Every approved work of a campaign's category, in id order.
pub async fn approved_in(
    db: &impl ConnectionTrait,
    campaign_id: i64,
    category: &str,
) -> Result<Vec<work::Model>, DbErr> {
    work::Entity::find()
        .filter(work::Column::CampaignId.eq(campaign_id))
        .filter(work::Column::Status.eq(WorkStatus::Approved.as_str()))
        .filter(work::Column::Category.eq(category))
        .order_by_asc(work::Column::Id)
        .all(db)
        .await
}

/// The works with these ids.
pub async fn find_many(db: &impl ConnectionTrait, ids: &[i64]) -> Result<Vec<work::Model>, DbErr> {
    work::Entity::find()
        .filter(work::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await
}

/// Up to `limit` rows of a campaign with ids above `after`, in id order (pages of an export).
pub async fn page_after(
    db: &impl ConnectionTrait,
    campaign_id: i64,
    after: i64,
    limit: u64,
) -> Result<Vec<work::Model>, DbErr> {
    work::Entity::find()
        .filter(work::Column::CampaignId.eq(campaign_id))
        .filter(work::Column::Id.gt(after))
        .order_by_asc(work::Column::Id)
        .limit(limit)
        .all(db)
        .await
}

/// People who submitted works (not withdrawn) in a campaign's category.
pub async fn authors_in_category(
    db: &impl ConnectionTrait,
    campaign_id: i64,
    category: &str,
) -> Result<Vec<i64>, DbErr> {
    work::Entity::find()
        .select_only()
        .column(work::Column::AuthorId)
        .distinct()
        .filter(work::Column::CampaignId.eq(campaign_id))
        .filter(work::Column::Category.eq(category))
        .filter(work::Column::Status.ne("withdrawn"))
        .into_tuple()
        .all(db)
        .await
}

/// Moves a work from `from` to `to` only if it is still in `from` (a reviewer may have decided
/// meanwhile); returns the updated work, or `None` if it had moved on.
pub async fn transition(
    db: &impl ConnectionTrait,
    id: i64,
    from: &str,
    to: &str,
    note: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Option<work::Model>, DbErr> {
    let mut update = work::Entity::update_many()
        .col_expr(work::Column::Status, sea_orm::sea_query::Expr::value(to))
        .col_expr(
            work::Column::UpdatedAt,
            sea_orm::sea_query::Expr::value(now),
        );
    if let Some(note) = note {
        update = update.col_expr(
            work::Column::ModerationNote,
            sea_orm::sea_query::Expr::value(note),
        );
    }
    if to == "approved" {
        update = update.col_expr(
            work::Column::ApprovedAt,
            sea_orm::sea_query::Expr::value(now),
        );
    }
    let result = update
        .filter(work::Column::Id.eq(id))
        .filter(work::Column::Status.eq(from))
        .exec(db)
        .await?;
    if result.rows_affected == 0 {
        return Ok(None);
    }
    find(db, id).await
}
