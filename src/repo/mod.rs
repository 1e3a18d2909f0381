//! The only code that builds SeaORM queries; functions take `&impl ConnectionTrait`.

pub mod admin_tokens;
pub mod awards;
pub mod campaigns;
pub mod drafts;
pub mod inbox;
pub mod jobs;
mod lease;
pub mod notifications;
pub mod outbox;
pub mod overrides;
pub mod people;
pub mod receipts;
pub mod scores;
pub mod seals;
pub mod sessions;
pub mod stats;
pub mod subscriptions;
pub mod units;
pub mod uploads;
pub mod votes;
pub mod wechat_tokens;
pub mod works;

use sea_orm::{
    ConnectionTrait, DbErr, EntityTrait, PrimaryKeyTrait, RuntimeErr, SqlErr, TryInsertResult,
    UpdateMany,
};

/// Whether an `ON CONFLICT DO NOTHING` insert wrote its row.
pub(crate) fn inserted(result: TryInsertResult<u64>) -> Result<bool, DbErr> {
    Ok(match result {
        TryInsertResult::Inserted(n) => n > 0,
        TryInsertResult::Conflicted | TryInsertResult::Empty => false,
    })
}

/// Runs `update`, a conditional update already filtered to the row `id`, and returns that row
/// as written; `None` when its conditions held for no row. One statement with `RETURNING`
/// (PostgreSQL and SQLite 3.35+ have it); without it, the update, then a read under its lock.
pub(crate) async fn update_one<E>(
    db: &impl ConnectionTrait,
    update: UpdateMany<E>,
    id: i64,
) -> Result<Option<E::Model>, DbErr>
where
    E: EntityTrait,
    i64: Into<<E::PrimaryKey as PrimaryKeyTrait>::ValueType>,
{
    if db.support_returning() {
        return Ok(update.exec_with_returning(db).await?.into_iter().next());
    }
    if update.exec(db).await?.rows_affected != 1 {
        return Ok(None);
    }
    E::find_by_id(id).one(db).await
}

/// Whether the database itself refused the statement (a constraint, a trigger): then it surely
/// wrote nothing, unlike a connection that broke with the statement's fate unknown.
pub fn refused_by_database(err: &DbErr) -> bool {
    match err {
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => {
            matches!(e.as_ref(), sea_orm::sqlx::Error::Database(_))
        }
        _ => false,
    }
}

/// Whether a write broke a foreign key (a row it points at is gone).
pub fn broke_foreign_key(err: &DbErr) -> bool {
    matches!(
        err.sql_err(),
        Some(SqlErr::ForeignKeyConstraintViolation(_))
    )
}
