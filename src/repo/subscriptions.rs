//! Queries on `subscriptions`: who accepted which template, and their send credits.

use chrono::{DateTime, Utc};
use entity::subscription;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect, Set,
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
