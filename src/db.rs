//! Database connection by URL (SQLite embedded, PostgreSQL) and migrations.

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
    /// The database server could not be reached; `cause` says why, in the network's words.
    #[error("cannot reach the database at {server}: {cause}")]
    Unreachable {
        /// `host:port`, without credentials.
        server: String,
        /// Refused, timed out, unknown host, or the driver's own words.
        cause: String,
    },
    /// Connecting or migrating failed.
    #[error("database: {0}")]
    Db(#[from] DbErr),
}

/// Why a server database could not be connected to: the host and port from the URL, and
/// what a plain TCP connect says (the pool itself only reports that it timed out).
async fn unreachable(url: &str, err: DbErr) -> DbSetupError {
    let Some(server) = url::Url::parse(url).ok().and_then(|u| {
        let host = u.host_str()?.to_owned();
        let port = u.port_or_known_default().or(match u.scheme() {
            "postgres" | "postgresql" => Some(5432),
            _ => None,
        })?;
        Some(format!("{host}:{port}"))
    }) else {
        return DbSetupError::Db(err);
    };
    let probe = tokio::time::timeout(
        Duration::from_secs(3),
        tokio::net::TcpStream::connect(server.as_str()),
    )
    .await;
    let cause = match probe {
        Ok(Err(io)) => io.to_string(),
        Err(_) => "no answer within 3 s".to_owned(),
        // The port answers: the driver's error says what else is wrong (TLS, auth, database).
        Ok(Ok(_)) => err.to_string(),
    };
    DbSetupError::Unreachable { server, cause }
}

/// Opens a pool for the configured URL; for SQLite, creates the file's directory first when it
/// lies under `data/` (elsewhere it must exist), and turns on WAL, a busy timeout and foreign
/// keys on every connection.
pub async fn connect(settings: &DatabaseSettings) -> Result<DatabaseConnection, DbSetupError> {
    let url = settings.url.expose_secret();
    if let Some(dir) = sqlite_parent_dir(url)
        && !std::path::Path::new(&dir).is_dir()
    {
        // Only the default place is made on the fly; a mistyped absolute path should not
        // quietly grow directories (as root) somewhere else.
        if !std::path::Path::new(&dir).starts_with("data") {
            return Err(DbSetupError::Directory {
                path: dir,
                source: std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "it does not exist; only directories under data/ are created",
                ),
            });
        }
        tracing::info!(dir, "creating the SQLite file's directory");
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
    match Database::connect(options).await {
        Ok(db) => Ok(db),
        Err(err) if sqlite_parent_dir(url).is_none() && !url.starts_with("sqlite") => {
            Err(unreachable(url, err).await)
        }
        Err(err) => Err(err.into()),
    }
}

/// The PostgreSQL advisory lock key that serialises migrations across instances ("wangju-mg").
const MIGRATION_LOCK: i64 = 0x7761_6e67_6a75_6d67;

/// Applies every pending migration; running it again is a no-op. On PostgreSQL the migrations
/// run under an advisory lock held on a connection of their own, so that any number of
/// instances may start at once on a fresh database: the first migrates, the others wait and
/// then find nothing to do.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbSetupError> {
    if db.get_database_backend() != sea_orm::DbBackend::Postgres {
        // One connection of its own: a migration's statements spread over the pool's
        // connections can miss each other's schema changes (a table rebuilt on one connection
        // was still there for the next).
        let options = db.get_sqlite_connection_pool().connect_options();
        let pool = sea_orm::sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with((*options).clone())
            .await
            .map_err(|e| DbErr::Conn(sea_orm::RuntimeErr::SqlxError(e.into())))?;
        let single = sea_orm::SqlxSqliteConnector::from_sqlx_sqlite_pool(pool);
        let migrated = Migrator::up(&single, None).await;
        let _ = single.close().await;
        migrated?;
        return Ok(());
    }
    use sea_orm::sqlx::{self, Connection};
    let sqlx_err = |e: sqlx::Error| DbErr::Conn(sea_orm::RuntimeErr::SqlxError(e.into()));
    let options = db.get_postgres_connection_pool().connect_options();
    let mut lock = sqlx::PgConnection::connect_with(&options)
        .await
        .map_err(sqlx_err)?;
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(MIGRATION_LOCK)
        .execute(&mut lock)
        .await
        .map_err(sqlx_err)?;
    let migrated = Migrator::up(db, None).await;
    // Closing the session releases the lock even if the unlock is lost.
    let _ = sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(MIGRATION_LOCK)
        .execute(&mut lock)
        .await;
    let _ = lock.close().await;
    migrated?;
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

/// Whether `err` means "the database is unreachable, restarting or gave this transaction up":
/// nothing was committed and the same request may succeed a moment later.
///
/// Covered: pool time-outs and closed pools; connection errors (refused, reset, EOF, TLS);
/// SQLite busy and locked (every extended code of 5 and 6); PostgreSQL's connection class 08,
/// shutdowns and start-ups (57P01-57P03), too many connections (53300), serialization failures,
/// deadlocks and lock time-outs (40001, 40P01, 55P03).
pub fn is_transient(err: &DbErr) -> bool {
    use sea_orm::{RuntimeErr, sqlx::Error};
    match err {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => {
            match e.as_ref() {
                Error::Io(_)
                | Error::Tls(_)
                | Error::PoolTimedOut
                | Error::PoolClosed
                | Error::WorkerCrashed
                | Error::BeginFailed => true,
                Error::Database(db) => db.code().is_some_and(|code| transient_code(&code)),
                _ => false,
            }
        }
        _ => false,
    }
}

/// Whether a database's own error code (a SQLSTATE from PostgreSQL, a number from
/// SQLite) is one of the transient ones.
fn transient_code(code: &str) -> bool {
    if code.starts_with("08")
        || matches!(
            code,
            "57P01" | "57P02" | "57P03" | "53300" | "40001" | "40P01" | "55P03"
        )
    {
        return true;
    }
    // SQLite's extended codes keep the primary code (5 busy, 6 locked) in the low byte.
    code.len() < 5 && code.parse::<u32>().is_ok_and(|n| matches!(n & 0xff, 5 | 6))
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
    use std::{borrow::Cow, sync::Arc};

    use sea_orm::{
        ConnAcquireErr, DbErr, RuntimeErr,
        sqlx::{self, error::DatabaseError},
    };

    use super::{is_transient, sqlite_parent_dir};

    /// A database error with only a code, as a driver would report it.
    #[derive(Debug)]
    struct Coded(&'static str);

    impl std::fmt::Display for Coded {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "code {}", self.0)
        }
    }

    impl std::error::Error for Coded {}

    impl DatabaseError for Coded {
        fn message(&self) -> &str {
            "test"
        }
        fn code(&self) -> Option<Cow<'_, str>> {
            Some(Cow::Borrowed(self.0))
        }
        fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
            self
        }
        fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
            self
        }
        fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
            self
        }
        fn kind(&self) -> sqlx::error::ErrorKind {
            sqlx::error::ErrorKind::Other
        }
    }

    fn query(err: sqlx::Error) -> DbErr {
        DbErr::Query(RuntimeErr::SqlxError(Arc::new(err)))
    }

    fn exec_code(code: &'static str) -> DbErr {
        DbErr::Exec(RuntimeErr::SqlxError(Arc::new(sqlx::Error::Database(
            Box::new(Coded(code)),
        ))))
    }

    #[test]
    fn every_kind_of_unreachable_or_restarting_database_is_transient() {
        use std::io::{Error, ErrorKind};
        let transient = [
            DbErr::ConnectionAcquire(ConnAcquireErr::Timeout),
            DbErr::ConnectionAcquire(ConnAcquireErr::ConnectionClosed),
            DbErr::Conn(RuntimeErr::Internal("refused".into())),
            query(sqlx::Error::Io(Error::from(ErrorKind::ConnectionRefused))),
            query(sqlx::Error::Io(Error::from(ErrorKind::ConnectionReset))),
            query(sqlx::Error::Io(Error::from(ErrorKind::UnexpectedEof))),
            query(sqlx::Error::PoolTimedOut),
            query(sqlx::Error::PoolClosed),
            query(sqlx::Error::WorkerCrashed),
            // PostgreSQL: admin shutdown, crash shutdown, starting up, connection failures.
            exec_code("57P01"),
            exec_code("57P02"),
            exec_code("57P03"),
            exec_code("08006"),
            exec_code("08001"),
            exec_code("53300"),
            exec_code("40001"),
            exec_code("40P01"),
            exec_code("55P03"),
            // SQLite: busy, locked, busy snapshot, busy timeout, locked shared cache.
            exec_code("5"),
            exec_code("6"),
            exec_code("517"),
            exec_code("773"),
            exec_code("262"),
        ];
        for err in &transient {
            assert!(is_transient(err), "{err:?} is transient");
        }
    }

    #[test]
    fn constraint_and_statement_errors_are_not_transient() {
        let permanent = [
            exec_code("23505"), // unique violation
            exec_code("22001"), // string too long
            exec_code("42P01"), // undefined table
            exec_code("2067"),  // SQLite unique constraint
            exec_code("19"),    // SQLite constraint
            exec_code("1555"),  // SQLite primary key constraint
            query(sqlx::Error::RowNotFound),
            DbErr::Custom("bug".into()),
            DbErr::RecordNotFound("x".into()),
        ];
        for err in &permanent {
            assert!(!is_transient(err), "{err:?} is not transient");
        }
    }

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
