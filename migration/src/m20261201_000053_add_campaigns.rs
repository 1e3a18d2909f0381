use sea_orm_migration::{prelude::*, schema::*, sea_orm::DatabaseBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Several campaigns in one database. `campaigns` keeps each definition seen (its file's text
/// and every category name it ever had); every campaign-scoped table gets `campaign_id`.
///
/// Rows from before belong to campaign 1, created here with an empty key: the first start
/// hands it to the default campaign (the migration cannot know that campaign's key). Its
/// work-code counter starts past every existing id, as codes were `<prefix>-<id>` until now.
///
/// PostgreSQL enforces `campaign_id` with foreign keys. SQLite cannot add a referencing column
/// with a non-NULL default, so triggers refuse a `campaign_id` that names no campaign.
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Campaigns::Table)
                    .col(big_pk_auto(Campaigns::Id))
                    .col(string_len_uniq(Campaigns::Key, 64))
                    .col(string_len(Campaigns::Name, 200).default(""))
                    .col(string_len(Campaigns::CodePrefix, 16).default(""))
                    .col(text(Campaigns::Definition).default(""))
                    .col(string_len(Campaigns::SourceFile, 500).default(""))
                    .col(text(Campaigns::CategoryNames).default("{}"))
                    .col(big_integer(Campaigns::WorksNumbered).default(0))
                    .col(boolean(Campaigns::FilePresent).default(true))
                    .col(timestamp_with_time_zone(Campaigns::FirstSeenAt))
                    .col(timestamp_with_time_zone(Campaigns::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        db.execute_unprepared(
            "INSERT INTO campaigns (id, key, works_numbered, first_seen_at, updated_at) \
             SELECT 1, '', COALESCE(MAX(id), 0), CURRENT_TIMESTAMP, CURRENT_TIMESTAMP FROM works",
        )
        .await?;
        if manager.get_database_backend() == DatabaseBackend::Postgres {
            // The explicit id 1 did not move the sequence.
            db.execute_unprepared(
                "SELECT setval(pg_get_serial_sequence('campaigns', 'id'), \
                 (SELECT MAX(id) FROM campaigns))",
            )
            .await?;
        }
        for table in SCOPED {
            add_campaign_id(manager, table).await?;
        }
        rebuild_vote_days(manager).await?;
        // The manual phase is kept per campaign, under `phase:<campaign id>`.
        db.execute_unprepared("UPDATE campaign_overrides SET key = 'phase:1' WHERE key = 'phase'")
            .await?;
        replace_indexes(manager).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for (name, _, _) in NEW_INDEXES {
            db.execute_unprepared(&format!("DROP INDEX {name}")).await?;
        }
        for (name, table, columns) in OLD_INDEXES {
            let unique = if table == "awards" { "UNIQUE " } else { "" };
            db.execute_unprepared(&format!(
                "CREATE {unique}INDEX {name} ON {table} ({columns})"
            ))
            .await?;
        }
        db.execute_unprepared(
            "CREATE TABLE vote_days_v1 (person_id BIGINT NOT NULL REFERENCES people (id), \
             campaign_day VARCHAR(10) NOT NULL, used INTEGER NOT NULL DEFAULT 0, \
             PRIMARY KEY (person_id, campaign_day))",
        )
        .await?;
        db.execute_unprepared(
            "INSERT INTO vote_days_v1 (person_id, campaign_day, used) \
             SELECT person_id, campaign_day, SUM(used) FROM vote_days \
             GROUP BY person_id, campaign_day",
        )
        .await?;
        db.execute_unprepared("DROP TABLE vote_days").await?;
        db.execute_unprepared("ALTER TABLE vote_days_v1 RENAME TO vote_days")
            .await?;
        for table in SCOPED {
            if manager.get_database_backend() == DatabaseBackend::Sqlite {
                for event in ["insert", "update"] {
                    db.execute_unprepared(&format!("DROP TRIGGER {table}_campaign_{event}"))
                        .await?;
                }
            }
            db.execute_unprepared(&format!("ALTER TABLE {table} DROP COLUMN campaign_id"))
                .await?;
        }
        db.execute_unprepared("UPDATE campaign_overrides SET key = 'phase' WHERE key = 'phase:1'")
            .await?;
        if manager.get_database_backend() == DatabaseBackend::Postgres {
            // The work-code sequences the server made per campaign (`repo::campaigns`).
            db.execute_unprepared(
                "DO $$ DECLARE s record; BEGIN \
                 FOR s IN SELECT sequence_name FROM information_schema.sequences \
                 WHERE sequence_name LIKE 'campaign\\_work\\_codes\\_%' LOOP \
                 EXECUTE 'DROP SEQUENCE ' || quote_ident(s.sequence_name); END LOOP; END $$",
            )
            .await?;
        }
        manager
            .drop_table(Table::drop().table(Campaigns::Table).to_owned())
            .await
    }
}

/// Tables whose rows belong to one campaign (scores and reports belong through their work,
/// manual phases by their key).
const SCOPED: [&str; 5] = ["works", "photo_drafts", "votes", "awards", "notifications"];

/// Listing and award indexes, now led by the campaign: (name, table, columns).
const NEW_INDEXES: [(&str, &str, &str); 3] = [
    (
        "idx_works_campaign_hot",
        "works",
        "campaign_id, status, category, vote_count, id",
    ),
    (
        "idx_works_campaign_hot_all",
        "works",
        "campaign_id, status, vote_count, id",
    ),
    (
        "idx_awards_campaign_category_place",
        "awards",
        "campaign_id, category, place",
    ),
];

/// The indexes they replace.
const OLD_INDEXES: [(&str, &str, &str); 3] = [
    ("idx_works_hot", "works", "status, category, vote_count, id"),
    ("idx_works_hot_all", "works", "status, vote_count, id"),
    ("idx_awards_category_place", "awards", "category, place"),
];

async fn add_campaign_id(manager: &SchemaManager<'_>, table: &str) -> Result<(), DbErr> {
    let db = manager.get_connection();
    match manager.get_database_backend() {
        DatabaseBackend::Sqlite => {
            db.execute_unprepared(&format!(
                "ALTER TABLE {table} ADD COLUMN campaign_id BIGINT NOT NULL DEFAULT 1"
            ))
            .await?;
            for event in ["insert", "update"] {
                let on = if event == "insert" {
                    "INSERT"
                } else {
                    "UPDATE OF campaign_id"
                };
                db.execute_unprepared(&format!(
                    "CREATE TRIGGER {table}_campaign_{event} BEFORE {on} ON {table} \
                     WHEN NOT EXISTS (SELECT 1 FROM campaigns WHERE id = NEW.campaign_id) \
                     BEGIN SELECT RAISE(ABORT, '{table}.campaign_id names no campaign'); END"
                ))
                .await?;
            }
        }
        _ => {
            db.execute_unprepared(&format!(
                "ALTER TABLE {table} ADD COLUMN campaign_id BIGINT NOT NULL DEFAULT 1 \
                 REFERENCES campaigns (id)"
            ))
            .await?;
            // Every insert names its campaign from now on; a forgotten one fails loudly.
            db.execute_unprepared(&format!(
                "ALTER TABLE {table} ALTER COLUMN campaign_id DROP DEFAULT"
            ))
            .await?;
        }
    }
    Ok(())
}

/// The daily vote slot is per campaign: the key becomes (campaign, person, day).
async fn rebuild_vote_days(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    let db = manager.get_connection();
    db.execute_unprepared(
        "CREATE TABLE vote_days_v2 (campaign_id BIGINT NOT NULL REFERENCES campaigns (id), \
         person_id BIGINT NOT NULL REFERENCES people (id), \
         campaign_day VARCHAR(10) NOT NULL, used INTEGER NOT NULL DEFAULT 0, \
         PRIMARY KEY (campaign_id, person_id, campaign_day))",
    )
    .await?;
    db.execute_unprepared(
        "INSERT INTO vote_days_v2 (campaign_id, person_id, campaign_day, used) \
         SELECT 1, person_id, campaign_day, used FROM vote_days",
    )
    .await?;
    db.execute_unprepared("DROP TABLE vote_days").await?;
    db.execute_unprepared("ALTER TABLE vote_days_v2 RENAME TO vote_days")
        .await?;
    Ok(())
}

async fn replace_indexes(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    let db = manager.get_connection();
    for (name, table, columns) in NEW_INDEXES {
        let unique = if table == "awards" { "UNIQUE " } else { "" };
        db.execute_unprepared(&format!(
            "CREATE {unique}INDEX {name} ON {table} ({columns})"
        ))
        .await?;
    }
    for (name, _, _) in OLD_INDEXES {
        db.execute_unprepared(&format!("DROP INDEX {name}")).await?;
    }
    Ok(())
}

#[derive(DeriveIden)]
enum Campaigns {
    Table,
    Id,
    Key,
    Name,
    CodePrefix,
    Definition,
    SourceFile,
    CategoryNames,
    WorksNumbered,
    FilePresent,
    FirstSeenAt,
    UpdatedAt,
}
