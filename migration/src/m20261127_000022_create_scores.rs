use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Scores::Table)
                    .if_not_exists()
                    .col(big_pk_auto(Scores::Id))
                    .col(big_integer(Scores::WorkId))
                    // A judge is known by their admin token (role judge).
                    .col(big_integer(Scores::JudgeId))
                    .col(integer(Scores::Score))
                    .col(string_len(Scores::Comment, 500).default(""))
                    .col(timestamp_with_time_zone(Scores::CreatedAt))
                    .col(timestamp_with_time_zone(Scores::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Scores::Table, Scores::WorkId)
                            .to(Works::Table, Works::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Scores::Table, Scores::JudgeId)
                            .to(AdminTokens::Table, AdminTokens::Id),
                    )
                    .to_owned(),
            )
            .await?;
        // One score per judge per work; a new score replaces the old one.
        manager
            .create_index(
                Index::create()
                    .name("idx_scores_work_judge")
                    .table(Scores::Table)
                    .col(Scores::WorkId)
                    .col(Scores::JudgeId)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Scores::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Scores {
    Table,
    Id,
    WorkId,
    JudgeId,
    Score,
    Comment,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Works {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum AdminTokens {
    Table,
    Id,
}
