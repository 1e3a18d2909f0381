use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Votes::Table)
                    // The fraud signals of a flagged vote (burst, new_account, shared_ip).
                    .add_column(string_len_null(Votes::FlagReason, 100))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_votes_status_work")
                    .table(Votes::Table)
                    .col(Votes::Status)
                    .col(Votes::WorkId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_votes_status_work")
                    .table(Votes::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Votes::Table)
                    .drop_column(Votes::FlagReason)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum Votes {
    Table,
    Status,
    WorkId,
    FlagReason,
}
