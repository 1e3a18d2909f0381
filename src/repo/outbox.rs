//! Queries on `outbox`: one row per message and recipient, claimed with a lease, settled once.

use chrono::{DateTime, Utc};
use entity::outbox::{self, OutboxState};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QuerySelect,
    Set, sea_query::Expr,
};

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
            state: Set(OutboxState::Pending),
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

/// The queue columns of `outbox`: a claimed row is `in_flight` until settled or expired.
fn queue() -> super::lease::QueueColumns<outbox::Entity> {
    super::lease::QueueColumns {
        id: outbox::Column::Id,
        state: outbox::Column::State,
        ready: OutboxState::Pending.into(),
        claimed: Some(OutboxState::InFlight.into()),
        run_at: outbox::Column::NextAttemptAt,
        locked_until: outbox::Column::LockedUntil,
        attempts: outbox::Column::Attempts,
    }
}

/// Claims up to `limit` due rows: they become `in_flight` until `lease_until`.
pub async fn claim(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<outbox::Model>, DbErr> {
    super::lease::claim_due(db, &queue(), now, lease_until, limit).await
}

/// Ends an in-flight row: `sent`, `failed` (with the reason) or back to `pending` at `retry_at`.
pub async fn settle(
    db: &impl ConnectionTrait,
    id: i64,
    (state, msgid): (OutboxState, Option<i64>),
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
    if state == OutboxState::Sent {
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
        .filter(outbox::Column::State.eq(OutboxState::InFlight))
        .exec(db)
        .await?;
    Ok(())
}

/// Rows whose worker died mid-send: subscribe messages become `unknown` (WeChat may have
/// delivered them and offers no way to ask, so they are never sent again); template messages
/// go back to `pending`, since WeChat drops a repeat with the same `client_msg_id`.
pub async fn expire_in_flight(db: &impl ConnectionTrait, now: DateTime<Utc>) -> Result<u64, DbErr> {
    let lost = outbox::Entity::update_many()
        .col_expr(outbox::Column::State, Expr::value(OutboxState::Unknown))
        .col_expr(
            outbox::Column::LastError,
            Expr::value(Some("worker stopped during the send".to_owned())),
        )
        .filter(outbox::Column::State.eq(OutboxState::InFlight))
        .filter(outbox::Column::Channel.ne("template"))
        .filter(outbox::Column::LockedUntil.lt(now))
        .exec(db)
        .await?;
    let retried = outbox::Entity::update_many()
        .col_expr(outbox::Column::State, Expr::value(OutboxState::Pending))
        .col_expr(
            outbox::Column::LockedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .filter(outbox::Column::State.eq(OutboxState::InFlight))
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
                OutboxState::Delivered
            } else {
                OutboxState::Undelivered
            }),
        )
        .col_expr(
            outbox::Column::LastError,
            Expr::value((!delivered).then(|| status.to_owned())),
        )
        .filter(outbox::Column::WechatMsgid.eq(msgid))
        .filter(outbox::Column::State.eq(OutboxState::Sent))
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}

/// Cancels a broadcast's rows that have not been sent.
pub async fn cancel_pending(db: &impl ConnectionTrait, notification_id: i64) -> Result<u64, DbErr> {
    let result = outbox::Entity::update_many()
        .col_expr(outbox::Column::State, Expr::value(OutboxState::Cancelled))
        .filter(outbox::Column::NotificationId.eq(notification_id))
        .filter(outbox::Column::State.eq(OutboxState::Pending))
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}

/// Row counts of a broadcast by state.
pub async fn counts(
    db: &impl ConnectionTrait,
    notification_id: i64,
) -> Result<Vec<(OutboxState, i64)>, DbErr> {
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
pub async fn count_in_state(db: &impl ConnectionTrait, state: OutboxState) -> Result<u64, DbErr> {
    outbox::Entity::find()
        .filter(outbox::Column::State.eq(state))
        .count(db)
        .await
}

/// Outbox rows not yet settled (pending or in flight): the send backlog.
pub async fn open_outbox(db: &impl ConnectionTrait) -> Result<u64, DbErr> {
    outbox::Entity::find()
        .filter(outbox::Column::State.is_in([OutboxState::Pending, OutboxState::InFlight]))
        .count(db)
        .await
}
