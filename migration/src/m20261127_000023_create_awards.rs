use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Awards::Table)
                    .if_not_exists()
                    .col(big_pk_auto(Awards::Id))
                    .col(string_len(Awards::Category, 32))
                    .col(big_integer(Awards::WorkId))
                    // 1 for the best of the category; the tie rule gives every work its own.
                    .col(integer(Awards::Place))
                    // first, second, third, top_n
                    .col(string_len(Awards::Prize, 16))
                    .col(double(Awards::FinalScore))
                    .col(double(Awards::VoteScore))
                    .col(double(Awards::JuryMean))
                    .col(integer(Awards::VoteCount))
                    .col(timestamp_with_time_zone(Awards::ComputedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Awards::Table, Awards::WorkId)
                            .to(Works::Table, Works::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_awards_category_place")
                    .table(Awards::Table)
                    .col(Awards::Category)
                    .col(Awards::Place)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Awards::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Awards {
    Table,
    Id,
    Category,
    WorkId,
    Place,
    Prize,
    FinalScore,
    VoteScore,
    JuryMean,
    VoteCount,
    ComputedAt,
}

#[derive(DeriveIden)]
enum Works {
    Table,
    Id,
}
