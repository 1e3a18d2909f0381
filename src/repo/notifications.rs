//! Queries on `subscriptions`, `notifications` and `outbox`.

use chrono::{DateTime, Utc};
use entity::{notification, outbox, subscription};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, FromQueryResult, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Set, Statement,
    sea_query::{Expr, ExprTrait, OnConflict},
};

/// Most send credits one person holds for one template.
pub const MAX_CREDITS: i32 = 50;

/// Records a popup answer: `accept` adds one send credit (up to [`MAX_CREDITS`]),
/// `reject`/`ban` stop sends.
pub async fn record_answer(
    db: &impl ConnectionTrait,
    person_id: i64,
    template_id: &str,
    status: &str,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let accepted = i32::from(status == "accept");
    subscription::Entity::insert(subscription::ActiveModel {
        person_id: Set(person_id),
        template_id: Set(template_id.to_owned()),
        credits: Set(accepted),
        status: Set(status.to_owned()),
        updated_at: Set(now),
        ..Default::default()
    })
    .on_conflict(
        OnConflict::columns([
            subscription::Column::PersonId,
            subscription::Column::TemplateId,
        ])
        .value(subscription::Column::Status, Expr::value(status))
        .value(
            subscription::Column::Credits,
            // Consent piles up one send per accept, up to a cap.
            Expr::case(
                Expr::col((subscription::Entity, subscription::Column::Credits))
                    .add(accepted)
                    .gt(MAX_CREDITS),
                MAX_CREDITS,
            )
            .finally(
                Expr::col((subscription::Entity, subscription::Column::Credits)).add(accepted),
            ),
        )
        .value(subscription::Column::UpdatedAt, Expr::value(now))
        .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// One person's consent for a template.
pub async fn subscription(
    db: &impl ConnectionTrait,
    person_id: i64,
    template_id: &str,
) -> Result<Option<subscription::Model>, DbErr> {
    subscription::Entity::find()
        .filter(subscription::Column::PersonId.eq(person_id))
        .filter(subscription::Column::TemplateId.eq(template_id))
        .one(db)
        .await
}

/// Takes one credit if the person accepted and has one left; `false` otherwise.
pub async fn take_credit(
    db: &impl ConnectionTrait,
    person_id: i64,
    template_id: &str,
) -> Result<bool, DbErr> {
    let result = subscription::Entity::update_many()
        .col_expr(
            subscription::Column::Credits,
            Expr::col(subscription::Column::Credits).sub(1),
        )
        .filter(subscription::Column::PersonId.eq(person_id))
        .filter(subscription::Column::TemplateId.eq(template_id))
        .filter(subscription::Column::Status.eq("accept"))
        .filter(subscription::Column::Credits.gt(0))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Gives back a credit taken for a send WeChat did not accept.
pub async fn return_credit(
    db: &impl ConnectionTrait,
    person_id: i64,
    template_id: &str,
) -> Result<(), DbErr> {
    subscription::Entity::update_many()
        .col_expr(
            subscription::Column::Credits,
            Expr::col(subscription::Column::Credits).add(1),
        )
        .filter(subscription::Column::PersonId.eq(person_id))
        .filter(subscription::Column::TemplateId.eq(template_id))
        .exec(db)
        .await?;
    Ok(())
}

/// People holding a credit for a template.
pub async fn subscribers(db: &impl ConnectionTrait, template_id: &str) -> Result<Vec<i64>, DbErr> {
    subscription::Entity::find()
        .select_only()
        .column(subscription::Column::PersonId)
        .filter(subscription::Column::TemplateId.eq(template_id))
        .filter(subscription::Column::Status.eq("accept"))
        .filter(subscription::Column::Credits.gt(0))
        .into_tuple()
        .all(db)
        .await
}

/// A broadcast to store.
pub struct NewNotification<'a> {
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
        milestone_key: Set(new.milestone_key.map(str::to_owned)),
        channel: Set(new.channel.to_owned()),
        template_id: Set(new.template_id.to_owned()),
        data: Set(new.data.to_owned()),
        page: Set(new.page.map(str::to_owned)),
        audience: Set(new.audience.to_owned()),
        send_at: Set(new.send_at),
        state: Set("scheduled".to_owned()),
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
    from: &str,
    to: &str,
) -> Result<bool, DbErr> {
    let result = notification::Entity::update_many()
        .col_expr(notification::Column::State, Expr::value(to))
        .filter(notification::Column::Id.eq(id))
        .filter(notification::Column::State.eq(from))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// What one outbox row sends.
pub struct NewMessage<'a> {
    /// The broadcast it belongs to.
    pub notification_id: Option<i64>,
    /// The recipient.
    pub person_id: i64,
    /// Unique per message and recipient: a second insert does nothing.
    pub idempotency_key: String,
    /// `subscribe` or `template`.
    pub channel: &'a str,
    /// The template.
    pub template_id: &'a str,
    /// JSON of page and data.
    pub payload: &'a str,
}

/// Queues messages; rows whose idempotency key exists are skipped. Returns how many were new.
pub async fn enqueue(
    db: &impl ConnectionTrait,
    messages: Vec<NewMessage<'_>>,
    now: DateTime<Utc>,
) -> Result<u64, DbErr> {
    let mut added = 0;
    for chunk in messages.chunks(200) {
        let rows = chunk.iter().map(|m| outbox::ActiveModel {
            notification_id: Set(m.notification_id),
            person_id: Set(m.person_id),
            idempotency_key: Set(m.idempotency_key.clone()),
            channel: Set(m.channel.to_owned()),
            template_id: Set(m.template_id.to_owned()),
            payload: Set(m.payload.to_owned()),
            state: Set("pending".to_owned()),
            attempts: Set(0),
            next_attempt_at: Set(now),
            locked_until: Set(None),
            last_error: Set(None),
            sent_at: Set(None),
            wechat_msgid: Set(None),
            created_at: Set(now),
            ..Default::default()
        });
        let result = outbox::Entity::insert_many(rows)
            .on_conflict_do_nothing_on([outbox::Column::IdempotencyKey])
            .exec_without_returning(db)
            .await?;
        added += match result {
            sea_orm::TryInsertResult::Inserted(n) => n,
            _ => 0,
        };
    }
    Ok(added)
}

/// Claims up to `limit` due rows: they become `in_flight` until `lease_until`.
///
/// PostgreSQL: one statement with `FOR UPDATE SKIP LOCKED`, so any number of workers share the
/// queue without waiting on each other. SQLite (one instance): a conditional update per row,
/// each returning the row it claimed.
pub async fn claim(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<outbox::Model>, DbErr> {
    if db.get_database_backend() == DbBackend::Postgres {
        let statement = Statement::from_sql_and_values(
            DbBackend::Postgres,
            "UPDATE outbox SET state = 'in_flight', locked_until = $1, attempts = attempts + 1 \
             WHERE id IN (SELECT id FROM outbox WHERE state = 'pending' AND next_attempt_at <= $2 \
             ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED) RETURNING *",
            [
                lease_until.into(),
                now.into(),
                i64::try_from(limit).unwrap_or(i64::MAX).into(),
            ],
        );
        return outbox::Model::find_by_statement(statement).all(db).await;
    }
    let candidates: Vec<i64> = outbox::Entity::find()
        .select_only()
        .column(outbox::Column::Id)
        .filter(outbox::Column::State.eq("pending"))
        .filter(outbox::Column::NextAttemptAt.lte(now))
        .order_by_asc(outbox::Column::Id)
        .limit(limit)
        .into_tuple()
        .all(db)
        .await?;
    let mut claimed = Vec::new();
    for id in candidates {
        let update = outbox::Entity::update_many()
            .col_expr(outbox::Column::State, Expr::value("in_flight"))
            .col_expr(outbox::Column::LockedUntil, Expr::value(lease_until))
            .col_expr(
                outbox::Column::Attempts,
                Expr::col(outbox::Column::Attempts).add(1),
            )
            .filter(outbox::Column::Id.eq(id))
            .filter(outbox::Column::State.eq("pending"));
        claimed.extend(super::update_one(db, update, id).await?);
    }
    Ok(claimed)
}

/// Ends an in-flight row: `sent`, `failed` (with the reason) or back to `pending` at `retry_at`.
pub async fn settle(
    db: &impl ConnectionTrait,
    id: i64,
    (state, msgid): (&str, Option<i64>),
    error: Option<&str>,
    retry_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let mut update = outbox::Entity::update_many()
        .col_expr(outbox::Column::State, Expr::value(state))
        .col_expr(
            outbox::Column::LockedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(
            outbox::Column::LastError,
            Expr::value(error.map(|e| e.chars().take(480).collect::<String>())),
        );
    if state == "sent" {
        update = update.col_expr(outbox::Column::SentAt, Expr::value(now));
    }
    if msgid.is_some() {
        update = update.col_expr(outbox::Column::WechatMsgid, Expr::value(msgid));
    }
    if let Some(at) = retry_at {
        update = update.col_expr(outbox::Column::NextAttemptAt, Expr::value(at));
    }
    update
        .filter(outbox::Column::Id.eq(id))
        .filter(outbox::Column::State.eq("in_flight"))
        .exec(db)
        .await?;
    Ok(())
}

/// Rows whose worker died mid-send: subscribe messages become `unknown` (WeChat may have
/// delivered them and offers no way to ask, so they are never sent again); template messages
/// go back to `pending`, since WeChat drops a repeat with the same `client_msg_id`.
pub async fn expire_in_flight(db: &impl ConnectionTrait, now: DateTime<Utc>) -> Result<u64, DbErr> {
    let lost = outbox::Entity::update_many()
        .col_expr(outbox::Column::State, Expr::value("unknown"))
        .col_expr(
            outbox::Column::LastError,
            Expr::value(Some("worker stopped during the send".to_owned())),
        )
        .filter(outbox::Column::State.eq("in_flight"))
        .filter(outbox::Column::Channel.ne("template"))
        .filter(outbox::Column::LockedUntil.lt(now))
        .exec(db)
        .await?;
    let retried = outbox::Entity::update_many()
        .col_expr(outbox::Column::State, Expr::value("pending"))
        .col_expr(
            outbox::Column::LockedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .filter(outbox::Column::State.eq("in_flight"))
        .filter(outbox::Column::Channel.eq("template"))
        .filter(outbox::Column::LockedUntil.lt(now))
        .exec(db)
        .await?;
    Ok(lost.rows_affected + retried.rows_affected)
}

/// Records a template message's delivery (`TEMPLATESENDJOBFINISH`): `delivered`, or
/// `undelivered` with WeChat's status.
pub async fn record_delivery(
    db: &impl ConnectionTrait,
    msgid: i64,
    status: &str,
) -> Result<u64, DbErr> {
    let delivered = status == "success";
    let result = outbox::Entity::update_many()
        .col_expr(
            outbox::Column::State,
            Expr::value(if delivered {
                "delivered"
            } else {
                "undelivered"
            }),
        )
        .col_expr(
            outbox::Column::LastError,
            Expr::value((!delivered).then(|| status.to_owned())),
        )
        .filter(outbox::Column::WechatMsgid.eq(msgid))
        .filter(outbox::Column::State.eq("sent"))
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}

/// Cancels a broadcast's rows that have not been sent.
pub async fn cancel_pending(db: &impl ConnectionTrait, notification_id: i64) -> Result<u64, DbErr> {
    let result = outbox::Entity::update_many()
        .col_expr(outbox::Column::State, Expr::value("cancelled"))
        .filter(outbox::Column::NotificationId.eq(notification_id))
        .filter(outbox::Column::State.eq("pending"))
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}

/// Row counts of a broadcast by state.
pub async fn counts(
    db: &impl ConnectionTrait,
    notification_id: i64,
) -> Result<Vec<(String, i64)>, DbErr> {
    outbox::Entity::find()
        .select_only()
        .column(outbox::Column::State)
        .column_as(outbox::Column::Id.count(), "n")
        .filter(outbox::Column::NotificationId.eq(notification_id))
        .group_by(outbox::Column::State)
        .into_tuple()
        .all(db)
        .await
}

/// Rows of a broadcast (tests and admin views).
pub async fn count_in_state(db: &impl ConnectionTrait, state: &str) -> Result<u64, DbErr> {
    outbox::Entity::find()
        .filter(outbox::Column::State.eq(state))
        .count(db)
        .await
}

/// Outbox rows not yet settled (pending or in flight): the send backlog.
pub async fn open_outbox(db: &impl ConnectionTrait) -> Result<u64, DbErr> {
    outbox::Entity::find()
        .filter(outbox::Column::State.is_in(["pending", "in_flight"]))
        .count(db)
        .await
}
