use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Signed push queries already used, with a digest of the body they came with: the plain-mode
/// `signature` covers only the token, timestamp and nonce, so a logged URL could otherwise carry
/// any body. The same query again with the same body is a WeChat retry; with another, a forgery.
/// Rows older than the replay window are useless (the timestamp check refuses them) and swept.
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(PushSeals::Table)
                    .if_not_exists()
                    .col(big_pk_auto(PushSeals::Id))
                    // sha256 hex of timestamp, nonce and signature.
                    .col(string_len_uniq(PushSeals::Seal, 64))
                    // sha256 hex of the body.
                    .col(string_len(PushSeals::BodyDigest, 64))
                    .col(timestamp_with_time_zone(PushSeals::SeenAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_push_seals_seen")
                    .table(PushSeals::Table)
                    .col(PushSeals::SeenAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(PushSeals::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum PushSeals {
    Table,
    Id,
    Seal,
    BodyDigest,
    SeenAt,
}
