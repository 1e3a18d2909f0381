use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Units::Table)
                    .if_not_exists()
                    .col(big_pk_auto(Units::Id))
                    .col(string_len_uniq(Units::Code, 32))
                    .col(string_len(Units::Name, 100))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(People::Table)
                    .if_not_exists()
                    .col(big_pk_auto(People::Id))
                    // One person, up to three WeChat identities, linked when the unionid is known.
                    .col(string_len_null(People::MpOpenid, 64).unique_key())
                    .col(string_len_null(People::MiniappOpenid, 64).unique_key())
                    .col(string_len_null(People::Unionid, 64).unique_key())
                    .col(string_len(People::Nickname, 64).default(""))
                    .col(string_len_null(People::AvatarUrl, 500))
                    .col(big_integer_null(People::UnitId))
                    .col(string_len_null(People::RealName, 64))
                    .col(boolean(People::Following).default(false))
                    .col(timestamp_with_time_zone_null(People::FollowedAt))
                    .col(timestamp_with_time_zone_null(People::UnfollowedAt))
                    // Start of the 48 h customer-service window.
                    .col(timestamp_with_time_zone_null(People::LastMpMessageAt))
                    .col(timestamp_with_time_zone(People::CreatedAt))
                    .col(timestamp_with_time_zone(People::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(People::Table, People::UnitId)
                            .to(Units::Table, Units::Id),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Uploads::Table)
                    .if_not_exists()
                    .col(big_pk_auto(Uploads::Id))
                    .col(big_integer(Uploads::OwnerId))
                    .col(string_len(Uploads::Kind, 16))
                    // pending (being copied from WeChat), ready, failed
                    .col(string_len(Uploads::State, 16))
                    .col(string_len(Uploads::Mime, 100).default(""))
                    .col(big_integer(Uploads::SizeBytes).default(0))
                    .col(string_len_null(Uploads::StorageKey, 200).unique_key())
                    .col(integer_null(Uploads::Width))
                    .col(integer_null(Uploads::Height))
                    .col(integer_null(Uploads::DurationMs))
                    // WeChat temporary media id for media received in chat.
                    .col(string_len_null(Uploads::WechatMediaId, 200))
                    .col(string_len_null(Uploads::Error, 500))
                    .col(timestamp_with_time_zone(Uploads::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Uploads::Table, Uploads::OwnerId)
                            .to(People::Table, People::Id),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Works::Table)
                    .if_not_exists()
                    .col(big_pk_auto(Works::Id))
                    .col(string_len_null(Works::Code, 16).unique_key())
                    .col(string_len(Works::Category, 32))
                    .col(string_len(Works::Title, 200).default(""))
                    .col(text(Works::Body))
                    .col(big_integer(Works::AuthorId))
                    .col(big_integer_null(Works::UnitId))
                    // mp (official-account chat) or miniapp
                    .col(string_len(Works::Channel, 16))
                    .col(string_len(Works::Status, 16))
                    .col(boolean(Works::TrueStory).default(false))
                    .col(integer(Works::VoteCount).default(0))
                    .col(string_len_null(Works::ModerationNote, 500))
                    // Verdict of msg_sec_check on the text (pass / review / risky).
                    .col(string_len_null(Works::TextSuggest, 16))
                    .col(string_len_null(Works::SecTraceId, 100))
                    .col(timestamp_with_time_zone(Works::CreatedAt))
                    .col(timestamp_with_time_zone(Works::UpdatedAt))
                    .col(timestamp_with_time_zone_null(Works::ApprovedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Works::Table, Works::AuthorId)
                            .to(People::Table, People::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Works::Table, Works::UnitId)
                            .to(Units::Table, Units::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_works_author")
                    .table(Works::Table)
                    .col(Works::AuthorId)
                    .to_owned(),
            )
            .await?;
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

        manager
            .create_table(
                Table::create()
                    .table(WorkMedia::Table)
                    .if_not_exists()
                    .col(big_pk_auto(WorkMedia::Id))
                    .col(big_integer(WorkMedia::WorkId))
                    .col(big_integer(WorkMedia::UploadId))
                    .col(integer(WorkMedia::Position))
                    .col(string_len_null(WorkMedia::CheckTraceId, 100))
                    .col(string_len_null(WorkMedia::CheckSuggest, 16))
                    .foreign_key(
                        ForeignKey::create()
                            .from(WorkMedia::Table, WorkMedia::WorkId)
                            .to(Works::Table, Works::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(WorkMedia::Table, WorkMedia::UploadId)
                            .to(Uploads::Table, Uploads::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_work_media_work")
                    .table(WorkMedia::Table)
                    .col(WorkMedia::WorkId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(PhotoDrafts::Table)
                    .if_not_exists()
                    .col(big_pk_auto(PhotoDrafts::Id))
                    // One open draft per person.
                    .col(big_integer_uniq(PhotoDrafts::PersonId))
                    .col(timestamp_with_time_zone(PhotoDrafts::CreatedAt))
                    .col(timestamp_with_time_zone(PhotoDrafts::ExpiresAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(PhotoDrafts::Table, PhotoDrafts::PersonId)
                            .to(People::Table, People::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(PhotoDraftItems::Table)
                    .if_not_exists()
                    .col(big_pk_auto(PhotoDraftItems::Id))
                    .col(big_integer(PhotoDraftItems::DraftId))
                    .col(big_integer(PhotoDraftItems::UploadId))
                    .col(integer(PhotoDraftItems::Position))
                    .foreign_key(
                        ForeignKey::create()
                            .from(PhotoDraftItems::Table, PhotoDraftItems::DraftId)
                            .to(PhotoDrafts::Table, PhotoDrafts::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(PhotoDraftItems::Table, PhotoDraftItems::UploadId)
                            .to(Uploads::Table, Uploads::Id),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(CallbackReceipts::Table)
                    .if_not_exists()
                    .col(big_pk_auto(CallbackReceipts::Id))
                    // MsgId|From|CreateTime or From|CreateTime|Event|EventKey: acted on once.
                    .col(string_len_uniq(CallbackReceipts::DedupKey, 255))
                    // The passive reply (plain XML) that every retry gets again; empty = `success`.
                    .col(text(CallbackReceipts::Reply))
                    .col(timestamp_with_time_zone(CallbackReceipts::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_callback_receipts_created")
                    .table(CallbackReceipts::Table)
                    .col(CallbackReceipts::CreatedAt)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Jobs::Table)
                    .if_not_exists()
                    .col(big_pk_auto(Jobs::Id))
                    .col(string_len(Jobs::Kind, 32))
                    .col(text(Jobs::Payload))
                    // queued, done, failed
                    .col(string_len(Jobs::State, 16))
                    .col(integer(Jobs::Attempts).default(0))
                    .col(timestamp_with_time_zone(Jobs::RunAt))
                    // A worker's claim; expired claims are taken over (crash recovery).
                    .col(timestamp_with_time_zone_null(Jobs::LockedUntil))
                    .col(string_len_null(Jobs::LastError, 500))
                    .col(timestamp_with_time_zone(Jobs::CreatedAt))
                    .col(timestamp_with_time_zone(Jobs::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_jobs_due")
                    .table(Jobs::Table)
                    .col(Jobs::State)
                    .col(Jobs::RunAt)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(CampaignOverrides::Table)
                    .if_not_exists()
                    .col(string_len(CampaignOverrides::Key, 64).primary_key())
                    .col(string_len(CampaignOverrides::Value, 200))
                    .col(timestamp_with_time_zone(CampaignOverrides::UpdatedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            CampaignOverrides::Table.into_iden(),
            Jobs::Table.into_iden(),
            CallbackReceipts::Table.into_iden(),
            PhotoDraftItems::Table.into_iden(),
            PhotoDrafts::Table.into_iden(),
            WorkMedia::Table.into_iden(),
            Works::Table.into_iden(),
            Uploads::Table.into_iden(),
            People::Table.into_iden(),
            Units::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Units {
    Table,
    Id,
    Code,
    Name,
}

#[derive(DeriveIden)]
enum People {
    Table,
    Id,
    MpOpenid,
    MiniappOpenid,
    Unionid,
    Nickname,
    AvatarUrl,
    UnitId,
    RealName,
    Following,
    FollowedAt,
    UnfollowedAt,
    LastMpMessageAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Uploads {
    Table,
    Id,
    OwnerId,
    Kind,
    State,
    Mime,
    SizeBytes,
    StorageKey,
    Width,
    Height,
    DurationMs,
    WechatMediaId,
    Error,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Works {
    Table,
    Id,
    Code,
    Category,
    Title,
    Body,
    AuthorId,
    UnitId,
    Channel,
    Status,
    TrueStory,
    VoteCount,
    ModerationNote,
    TextSuggest,
    SecTraceId,
    CreatedAt,
    UpdatedAt,
    ApprovedAt,
}

#[derive(DeriveIden)]
enum WorkMedia {
    Table,
    Id,
    WorkId,
    UploadId,
    Position,
    CheckTraceId,
    CheckSuggest,
}

#[derive(DeriveIden)]
enum PhotoDrafts {
    Table,
    Id,
    PersonId,
    CreatedAt,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum PhotoDraftItems {
    Table,
    Id,
    DraftId,
    UploadId,
    Position,
}

#[derive(DeriveIden)]
enum CallbackReceipts {
    Table,
    Id,
    DedupKey,
    Reply,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Jobs {
    Table,
    Id,
    Kind,
    Payload,
    State,
    Attempts,
    RunAt,
    LockedUntil,
    LastError,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum CampaignOverrides {
    Table,
    Key,
    Value,
    UpdatedAt,
}
