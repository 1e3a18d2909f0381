//! Queries on `notifications`: broadcasts and milestones.

use chrono::{DateTime, Utc};
use entity::notification::{self, NotificationState};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set, sea_query::Expr,
};

/// A broadcast to store.
pub struct NewNotification<'a> {
    /// The campaign it is about.
    pub campaign_id: i64,
    /// Set for campaign milestones, which are scheduled once.
    pub milestone_key: Option<&'a str>,
    /// `subscribe` or `template`.
    pub channel: &'a str,
    /// Template id.
    pub template_id: &'a str,
    /// Data JSON.
    pub data: &'a str,
    /// Page opened on tap.
    pub page: Option<&'a str>,
    /// Audience JSON.
    pub audience: &'a str,
    /// When it is due.
    pub send_at: DateTime<Utc>,
}

/// Stores a broadcast; `None` if a milestone with the same key exists already.
pub async fn insert_notification(
    db: &impl ConnectionTrait,
    new: NewNotification<'_>,
    now: DateTime<Utc>,
) -> Result<Option<notification::Model>, DbErr> {
    let result = notification::Entity::insert(notification::ActiveModel {
        campaign_id: Set(new.campaign_id),
        milestone_key: Set(new.milestone_key.map(str::to_owned)),
        channel: Set(new.channel.to_owned()),
        template_id: Set(new.template_id.to_owned()),
        data: Set(new.data.to_owned()),
        page: Set(new.page.map(str::to_owned)),
        audience: Set(new.audience.to_owned()),
        send_at: Set(new.send_at),
        state: Set(NotificationState::Scheduled),
        created_at: Set(now),
        ..Default::default()
    })
    .on_conflict_do_nothing_on([notification::Column::MilestoneKey])
    .exec(db)
    .await?;
    match result {
        sea_orm::TryInsertResult::Inserted(inserted) => {
            notification::Entity::find_by_id(inserted.last_insert_id)
                .one(db)
                .await
        }
        _ => Ok(None),
    }
}

/// One broadcast.
pub async fn notification(
    db: &impl ConnectionTrait,
    id: i64,
) -> Result<Option<notification::Model>, DbErr> {
    notification::Entity::find_by_id(id).one(db).await
}

/// Moves a broadcast from `from` to `to`; `false` if it was not in `from`.
pub async fn set_notification_state(
    db: &impl ConnectionTrait,
    id: i64,
    from: NotificationState,
    to: NotificationState,
) -> Result<bool, DbErr> {
    let result = notification::Entity::update_many()
        .col_expr(notification::Column::State, Expr::value(to))
        .filter(notification::Column::Id.eq(id))
        .filter(notification::Column::State.eq(from))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}
