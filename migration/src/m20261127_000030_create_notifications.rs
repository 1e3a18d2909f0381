use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Subscriptions::Table)
                    .if_not_exists()
                    .col(big_pk_auto(Subscriptions::Id))
                    .col(big_integer(Subscriptions::PersonId))
                    .col(string_len(Subscriptions::TemplateId, 128))
                    // Each `accept` in wx.requestSubscribeMessage allows one send.
                    .col(integer(Subscriptions::Credits).default(0))
                    // accept, reject or ban: reject and ban stop sends.
                    .col(string_len(Subscriptions::Status, 16))
                    .col(timestamp_with_time_zone(Subscriptions::UpdatedAt))
                    .index(
                        Index::create()
                            .name("uq_subscriptions_person_template")
                            .col(Subscriptions::PersonId)
                            .col(Subscriptions::TemplateId)
                            .unique(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Notifications::Table)
                    .if_not_exists()
                    .col(big_pk_auto(Notifications::Id))
                    // Milestones from campaign.toml are scheduled once, by their key.
                    .col(string_len_null(Notifications::MilestoneKey, 64).unique_key())
                    // subscribe (mini-program subscribe message) or template (official account)
                    .col(string_len(Notifications::Channel, 16).default("subscribe"))
                    .col(string_len(Notifications::TemplateId, 128))
                    .col(text(Notifications::Data))
                    .col(string_len_null(Notifications::Page, 500))
                    .col(text(Notifications::Audience))
                    .col(timestamp_with_time_zone(Notifications::SendAt))
                    // scheduled, expanded (outbox rows made), cancelled
                    .col(string_len(Notifications::State, 16))
                    .col(timestamp_with_time_zone(Notifications::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Outbox::Table)
                    .if_not_exists()
                    .col(big_pk_auto(Outbox::Id))
                    .col(big_integer_null(Outbox::NotificationId))
                    .col(big_integer(Outbox::PersonId))
                    // notification:person (or event:work:person): one row per thing per recipient.
                    .col(string_len_uniq(Outbox::IdempotencyKey, 200))
                    .col(string_len(Outbox::Channel, 16).default("subscribe"))
                    .col(string_len(Outbox::TemplateId, 128))
                    .col(text(Outbox::Payload))
                    // pending, in_flight, sent, failed, unknown, cancelled
                    .col(string_len(Outbox::State, 16))
                    .col(integer(Outbox::Attempts).default(0))
                    .col(timestamp_with_time_zone(Outbox::NextAttemptAt))
                    .col(timestamp_with_time_zone_null(Outbox::LockedUntil))
                    .col(string_len_null(Outbox::LastError, 500))
                    .col(timestamp_with_time_zone_null(Outbox::SentAt))
                    // Template messages: WeChat's msgid, matched by TEMPLATESENDJOBFINISH.
                    .col(big_integer_null(Outbox::WechatMsgid))
                    .col(timestamp_with_time_zone(Outbox::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_outbox_due")
                    .table(Outbox::Table)
                    .col(Outbox::State)
                    .col(Outbox::NextAttemptAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_outbox_notification")
                    .table(Outbox::Table)
                    .col(Outbox::NotificationId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            Outbox::Table.into_iden(),
            Notifications::Table.into_iden(),
            Subscriptions::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Subscriptions {
    Table,
    Id,
    PersonId,
    TemplateId,
    Credits,
    Status,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Notifications {
    Table,
    Id,
    MilestoneKey,
    Channel,
    TemplateId,
    Data,
    Page,
    Audience,
    SendAt,
    State,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Outbox {
    Table,
    Id,
    NotificationId,
    PersonId,
    IdempotencyKey,
    Channel,
    TemplateId,
    Payload,
    State,
    Attempts,
    NextAttemptAt,
    LockedUntil,
    LastError,
    SentAt,
    WechatMsgid,
    CreatedAt,
}
