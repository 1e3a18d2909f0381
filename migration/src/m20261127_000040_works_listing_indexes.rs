use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The old listing index ended at `vote_count`: works with equal votes (all of them, before
/// voting starts) had to be sorted by id on every page. The new ones end at `id`, so a `hot`
/// page, with or without a category, is one backward index range scan.
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name("idx_works_hot")
                    .table(Works::Table)
                    .col(Works::Status)
                    .col(Works::Category)
                    .col(Works::VoteCount)
                    .col(Works::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_works_hot_all")
                    .table(Works::Table)
                    .col(Works::Status)
                    .col(Works::VoteCount)
                    .col(Works::Id)
                    .to_owned(),
            )
            .await?;
        // Its columns are a prefix of idx_works_hot, which serves its queries too.
        manager
            .drop_index(
                Index::drop()
                    .name("idx_works_listing")
                    .table(Works::Table)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name("idx_works_listing")
                    .table(Works::Table)
                    .col(Works::Status)
                    .col(Works::Category)
                    .col(Works::VoteCount)
                    .to_owned(),
            )
            .await?;
        for name in ["idx_works_hot_all", "idx_works_hot"] {
            manager
                .drop_index(Index::drop().name(name).table(Works::Table).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Works {
    Table,
    Id,
    Status,
    Category,
    VoteCount,
}
