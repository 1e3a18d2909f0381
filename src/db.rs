//! Database connection by URL (SQLite embedded, PostgreSQL, MySQL) and migrations.

use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::{
    ConnectOptions, Database, DatabaseConnection, DbErr, SqliteTransactionMode, TransactionOptions,
    TransactionTrait,
};
use secrecy::ExposeSecret;

use crate::settings::DatabaseSettings;

/// Why the database could not be opened or migrated.
#[derive(Debug, thiserror::Error)]
pub enum DbSetupError {
    /// The SQLite file's directory could not be created.
    #[error("cannot create the directory of the SQLite file `{path}`: {source}")]
    Directory {
        /// The directory.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Connecting or migrating failed.
    #[error("database: {0}")]
    Db(#[from] DbErr),
}

/// Opens a pool for the configured URL; for SQLite, creates the file's directory first and
/// turns on WAL, a busy timeout and foreign keys on every connection.
pub async fn connect(settings: &DatabaseSettings) -> Result<DatabaseConnection, DbSetupError> {
    let url = settings.url.expose_secret();
    if let Some(dir) = sqlite_parent_dir(url) {
        std::fs::create_dir_all(&dir).map_err(|source| DbSetupError::Directory {
            path: dir.clone(),
            source,
        })?;
    }
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(settings.max_connections)
        .min_connections(1)
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(5))
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(|opts| {
            use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
            opts.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(5))
                .foreign_keys(true)
                .create_if_missing(true)
        });
    Ok(Database::connect(options).await?)
}

/// Applies every pending migration; running it again is a no-op.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbSetupError> {
    Migrator::up(db, None).await?;
    Ok(())
}

/// The directory holding an SQLite file URL's database, if the URL names a file.
fn sqlite_parent_dir(url: &str) -> Option<String> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next()?;
    if path.is_empty() || path.starts_with(":memory:") {
        return None;
    }
    let parent = std::path::Path::new(path).parent()?;
    let parent = parent.to_str()?;
    (!parent.is_empty()).then(|| parent.to_owned())
}

/// Starts a transaction that will write. On SQLite it takes the write lock at `BEGIN`
/// (IMMEDIATE), so it queues under the busy timeout instead of failing at once when a read
/// inside it must later become a write while another connection writes.
pub async fn begin_write<C: TransactionTrait>(db: &C) -> Result<C::Transaction, DbErr> {
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..Default::default()
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::sqlite_parent_dir;

    #[test]
    fn sqlite_urls_name_their_directory() {
        assert_eq!(
            sqlite_parent_dir("sqlite://data/wangju.db?mode=rwc").as_deref(),
            Some("data")
        );
        assert_eq!(
            sqlite_parent_dir("sqlite:///tmp/x/a.db").as_deref(),
            Some("/tmp/x")
        );
        assert_eq!(sqlite_parent_dir("sqlite::memory:"), None);
        assert_eq!(sqlite_parent_dir("sqlite://a.db"), None);
        assert_eq!(sqlite_parent_dir("postgres://localhost/db"), None);
    }
}
