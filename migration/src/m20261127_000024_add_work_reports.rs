use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // 报送: a unit organiser recommends one of the unit's works to the city level.
        manager
            .alter_table(
                Table::alter()
                    .table(Works::Table)
                    .add_column(timestamp_with_time_zone_null(Works::ReportedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Works::Table)
                    // The admin token (role unit) that reported it.
                    .add_column(big_integer_null(Works::ReportedBy))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [Works::ReportedBy, Works::ReportedAt] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Works::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Works {
    Table,
    ReportedAt,
    ReportedBy,
}
