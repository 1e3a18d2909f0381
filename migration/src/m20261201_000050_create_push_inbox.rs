use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The durable inbox of WeChat pushes: a push that changes state is written here, in a short
/// transaction of its own, before WeChat is answered; its row goes away in the transaction that
/// acts on it. A row left behind (a handler that ran past its budget, failed, or died with its
/// process) is taken over by the inbox worker of any instance.
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(PushInbox::Table)
                    .if_not_exists()
                    .col(big_pk_auto(PushInbox::Id))
                    // The push's receipt key: one row per push however often WeChat retries.
                    .col(string_len_uniq(PushInbox::DedupKey, 255))
                    // The decrypted XML, exactly as WeChat sent it.
                    .col(text(PushInbox::Payload))
                    .col(timestamp_with_time_zone(PushInbox::ReceivedAt))
                    // pending, failed
                    .col(string_len(PushInbox::State, 16))
                    .col(integer(PushInbox::Attempts).default(0))
                    // Not before: the request that stored it acts first.
                    .col(timestamp_with_time_zone(PushInbox::RunAt))
                    .col(timestamp_with_time_zone_null(PushInbox::LockedUntil))
                    .col(string_len_null(PushInbox::LastError, 500))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_push_inbox_due")
                    .table(PushInbox::Table)
                    .col(PushInbox::State)
                    .col(PushInbox::RunAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(PushInbox::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum PushInbox {
    Table,
    Id,
    DedupKey,
    Payload,
    ReceivedAt,
    State,
    Attempts,
    RunAt,
    LockedUntil,
    LastError,
}
