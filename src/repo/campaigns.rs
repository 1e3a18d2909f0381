//! Queries on `campaigns`: the definitions seen, and each campaign's work-code counter.

use chrono::{DateTime, Utc};
use entity::campaign;
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DatabaseBackend, DbErr, EntityTrait, QueryOrder, Set,
    Statement,
};

/// Every campaign row, oldest first (including the not yet adopted row of old data).
pub async fn all(db: &impl ConnectionTrait) -> Result<Vec<campaign::Model>, DbErr> {
    campaign::Entity::find()
        .order_by_asc(campaign::Column::Id)
        .all(db)
        .await
}

/// A campaign definition as found in its file.
pub struct Seen<'a> {
    /// Its key.
    pub key: &'a str,
    /// Display name.
    pub name: &'a str,
    /// Work-code prefix.
    pub code_prefix: &'a str,
    /// The file's text.
    pub definition: &'a str,
    /// The file's path.
    pub source_file: &'a str,
    /// Every category name seen so far, as a JSON object.
    pub category_names: &'a str,
}

impl Seen<'_> {
    /// The columns a sighting sets, on a new row or an old one.
    fn columns(&self, now: DateTime<Utc>) -> campaign::ActiveModel {
        campaign::ActiveModel {
            key: Set(self.key.to_owned()),
            name: Set(self.name.to_owned()),
            code_prefix: Set(self.code_prefix.to_owned()),
            definition: Set(self.definition.to_owned()),
            source_file: Set(self.source_file.to_owned()),
            category_names: Set(self.category_names.to_owned()),
            file_present: Set(true),
            updated_at: Set(now),
            ..Default::default()
        }
    }
}

/// Records a new campaign.
pub async fn insert(
    db: &impl ConnectionTrait,
    seen: &Seen<'_>,
    now: DateTime<Utc>,
) -> Result<campaign::Model, DbErr> {
    campaign::ActiveModel {
        works_numbered: Set(0),
        first_seen_at: Set(now),
        ..seen.columns(now)
    }
    .insert(db)
    .await
}

/// Stores the definition seen now on row `id` (and its key, when adopting old data).
pub async fn update_seen(
    db: &impl ConnectionTrait,
    id: i64,
    seen: &Seen<'_>,
    now: DateTime<Utc>,
) -> Result<campaign::Model, DbErr> {
    campaign::ActiveModel {
        id: Set(id),
        ..seen.columns(now)
    }
    .update(db)
    .await
}

/// Notes that a campaign's file is gone (its campaign is read-only from now on).
pub async fn mark_missing(
    db: &impl ConnectionTrait,
    id: i64,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    campaign::ActiveModel {
        id: Set(id),
        file_present: Set(false),
        updated_at: Set(now),
        ..Default::default()
    }
    .update(db)
    .await?;
    Ok(())
}

/// The PostgreSQL sequence numbering one campaign's works.
fn sequence(campaign_id: i64) -> String {
    format!("campaign_work_codes_{campaign_id}")
}

/// Makes sure campaign `id` can number works: on PostgreSQL a sequence (so that concurrent
/// submissions never wait on one row), starting after the codes already given.
pub async fn prepare_numbering(
    db: &impl ConnectionTrait,
    row: &campaign::Model,
) -> Result<(), DbErr> {
    if db.get_database_backend() != DatabaseBackend::Postgres {
        return Ok(());
    }
    let start = row.works_numbered + 1;
    db.execute_unprepared(&format!(
        "CREATE SEQUENCE IF NOT EXISTS {} START WITH {start}",
        sequence(row.id)
    ))
    .await?;
    Ok(())
}

/// The next work number of a campaign (1, 2, ...). SQLite has one writer, so a counter row
/// costs nothing; PostgreSQL takes it from the campaign's sequence (numbers of rolled-back
/// submissions are skipped, never given twice).
pub async fn next_work_number(db: &impl ConnectionTrait, campaign_id: i64) -> Result<i64, DbErr> {
    let backend = db.get_database_backend();
    let statement = match backend {
        DatabaseBackend::Postgres => Statement::from_string(
            backend,
            format!("SELECT nextval('{}') AS n", sequence(campaign_id)),
        ),
        _ => Statement::from_sql_and_values(
            backend,
            "UPDATE campaigns SET works_numbered = works_numbered + 1 WHERE id = ? \
             RETURNING works_numbered AS n",
            [campaign_id.into()],
        ),
    };
    let row = db
        .query_one_raw(statement)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound(format!("campaign {campaign_id}")))?;
    row.try_get("", "n")
}
