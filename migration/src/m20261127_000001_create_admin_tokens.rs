use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AdminTokens::Table)
                    .if_not_exists()
                    .col(big_pk_auto(AdminTokens::Id))
                    .col(string_len(AdminTokens::Role, 16))
                    .col(big_integer_null(AdminTokens::UnitId))
                    // Judges: the category keys they score, comma-separated (NULL: every category).
                    .col(string_len_null(AdminTokens::Categories, 500))
                    // sha256 hex of the bearer token: the token itself is never stored.
                    .col(string_len_uniq(AdminTokens::TokenHash, 64))
                    .col(string_len(AdminTokens::Label, 100))
                    .col(timestamp_with_time_zone(AdminTokens::CreatedAt))
                    .col(timestamp_with_time_zone_null(AdminTokens::RevokedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(AdminTokens::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum AdminTokens {
    Table,
    Id,
    Role,
    UnitId,
    Categories,
    TokenHash,
    Label,
    CreatedAt,
    RevokedAt,
}
