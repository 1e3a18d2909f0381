use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Votes::Table)
                    .if_not_exists()
                    .col(big_pk_auto(Votes::Id))
                    .col(big_integer(Votes::WorkId))
                    .col(big_integer(Votes::PersonId))
                    .col(string_len(Votes::Category, 32))
                    // The campaign's local date (YYYY-MM-DD) of the vote.
                    .col(string_len(Votes::CampaignDay, 10))
                    .col(string_len(Votes::Ip, 64))
                    .col(string_len(Votes::UserAgent, 500).default(""))
                    .col(timestamp_with_time_zone(Votes::CreatedAt))
                    // counted, flagged, voided
                    .col(string_len(Votes::Status, 16))
                    // "work|person|day" while counted, NULL otherwise: a unique index on it is
                    // "one counted vote per (work, person, day)" on every database (NULLs never
                    // collide), without partial indexes.
                    .col(string_len_null(Votes::CountedKey, 80).unique_key())
                    .col(string_len_null(Votes::VoidReason, 500))
                    .col(timestamp_with_time_zone_null(Votes::VoidedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Votes::Table, Votes::WorkId)
                            .to(Works::Table, Works::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Votes::Table, Votes::PersonId)
                            .to(People::Table, People::Id),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, cols) in [
            ("idx_votes_work", [Votes::WorkId, Votes::CreatedAt]),
            ("idx_votes_person", [Votes::PersonId, Votes::CreatedAt]),
            ("idx_votes_ip_day", [Votes::Ip, Votes::CampaignDay]),
        ] {
            let mut index = Index::create();
            index.name(name).table(Votes::Table);
            for col in cols {
                index.col(col);
            }
            manager.create_index(index.to_owned()).await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(VoteDays::Table)
                    .if_not_exists()
                    // One counter per (person, campaign day): the daily cap is a conditional
                    // increment of this row, atomic on every database.
                    .col(big_integer(VoteDays::PersonId))
                    .col(string_len(VoteDays::CampaignDay, 10))
                    .col(integer(VoteDays::Used).default(0))
                    .primary_key(
                        Index::create()
                            .col(VoteDays::PersonId)
                            .col(VoteDays::CampaignDay),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(VoteDays::Table, VoteDays::PersonId)
                            .to(People::Table, People::Id),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(VoteDays::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Votes::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Votes {
    Table,
    Id,
    WorkId,
    PersonId,
    Category,
    CampaignDay,
    Ip,
    UserAgent,
    CreatedAt,
    Status,
    CountedKey,
    VoidReason,
    VoidedAt,
}

#[derive(DeriveIden)]
enum VoteDays {
    Table,
    PersonId,
    CampaignDay,
    Used,
}

#[derive(DeriveIden)]
enum Works {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum People {
    Table,
    Id,
}
