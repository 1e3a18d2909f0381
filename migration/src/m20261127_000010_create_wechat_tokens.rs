use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(WechatTokens::Table)
                    .if_not_exists()
                    .col(string_len(WechatTokens::Appid, 64).primary_key())
                    // WeChat asks for at least 512 characters of storage.
                    .col(text(WechatTokens::AccessToken))
                    .col(timestamp_with_time_zone(WechatTokens::ExpiresAt))
                    .col(string_len_null(WechatTokens::LeaseHolder, 64))
                    .col(timestamp_with_time_zone(WechatTokens::LeaseUntil))
                    .col(timestamp_with_time_zone(WechatTokens::UpdatedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(WechatTokens::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum WechatTokens {
    Table,
    Appid,
    AccessToken,
    ExpiresAt,
    LeaseHolder,
    LeaseUntil,
    UpdatedAt,
}
