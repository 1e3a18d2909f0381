use migration::{Migrator, MigratorTrait};
use sea_orm::Database;

use crate::helpers::{Backend, fresh_database, init};

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

#[tokio::test]
async fn migrations_apply_twice_without_error_on_sqlite() {
    migrations_apply_twice(Backend::Sqlite).await;
}

#[tokio::test]
async fn migrations_apply_twice_without_error_on_postgres() {
    migrations_apply_twice(Backend::Postgres).await;
}
