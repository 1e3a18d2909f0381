use migration::{Migrator, MigratorTrait};
use sea_orm::Database;

use crate::helpers::{Backend, fresh_database, init};
use crate::on_both_databases;

async fn migrations_apply_twice(backend: Backend) {
    init();
    let Some((url, _guard)) = fresh_database(backend).await else {
        return;
    };
    let db = Database::connect(&url).await.unwrap();
    Migrator::up(&db, None).await.unwrap();
    Migrator::up(&db, None).await.unwrap();
    let pending = Migrator::get_pending_migrations(&db).await.unwrap();
    assert!(pending.is_empty());
    // Down and up again: every step is reversible.
    Migrator::down(&db, None).await.unwrap();
    Migrator::up(&db, None).await.unwrap();
    db.close().await.unwrap();
}

on_both_databases!(migrations_apply_twice_without_error, migrations_apply_twice);
