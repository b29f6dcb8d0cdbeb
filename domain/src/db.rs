//! Database connection and migrations.

pub mod reads;
pub mod vocabulary;

use std::time::Duration;

use anyhow::Context;
use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::{self, Connection};
use sea_orm::{
    ConnectOptions, Database, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, RuntimeErr,
    SqliteTransactionMode, TransactionOptions, TransactionTrait,
};
use secrecy::{ExposeSecret, SecretString};

/// How long a SQLite writer waits for the write lock.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// Connects (creating the SQLite file's directory when needed). Errors name the URL without its
/// password.
///
/// `acquire_timeout` bounds how long a statement waits for a pooled connection, connecting
/// included: a PostgreSQL server that cannot be reached is reported after that long rather than
/// holding requests. A SQLite file cannot go away, and its writers queue on the busy timeout while
/// holding a pooled connection, so there requests wait for a connection as long as a writer may
/// wait for the lock.
pub async fn connect(
    url: &SecretString,
    redacted: &str,
    acquire_timeout: Duration,
) -> anyhow::Result<DatabaseConnection> {
    let url = url.expose_secret();
    if let Some(path) = url.strip_prefix("sqlite://") {
        let file = path.split('?').next().unwrap_or_default();
        if let Some(dir) = std::path::Path::new(file).parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
    }
    let sqlite = url.starts_with("sqlite:");
    let acquire_timeout = if sqlite { acquire_timeout.max(SQLITE_BUSY_TIMEOUT) } else { acquire_timeout };
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(if sqlite { 8 } else { 20 })
        .connect_timeout(acquire_timeout)
        .acquire_timeout(acquire_timeout)
        // A ping on every checkout is a round trip per query (a thread hand-off on SQLite); only
        // connections idle long enough to have been dropped by a server or firewall are checked.
        .test_before_acquire_if_idle_for(Duration::from_secs(30))
        .sqlx_logging(false)
        // WAL lets readers and the writer work side by side; writers queue on the busy timeout.
        .map_sqlx_sqlite_opts(|opts| {
            opts.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                .busy_timeout(SQLITE_BUSY_TIMEOUT)
                // Reads through a memory map instead of copying pages through the 2 MB default
                // page cache: the matching queries read tens of thousands of rows.
                .pragma("mmap_size", "268435456")
                .pragma("cache_size", "-16384")
        });
    Database::connect(options).await.with_context(|| format!("connecting to {redacted}"))
}

/// A database URL `base` with its database name replaced by `name` (query parameters kept): a
/// server's URL for another database on it, as tests and benchmarks create their own.
pub fn with_database(base: &str, name: &str) -> String {
    let (without_query, query) = base.split_once('?').map_or((base, None), |(b, q)| (b, Some(q)));
    let scheme_end = without_query.find("://").map_or(0, |i| i + 3);
    let root = match without_query[scheme_end..].find('/') {
        Some(slash) => &without_query[..scheme_end + slash],
        None => without_query,
    };
    match query {
        Some(q) => format!("{root}/{name}?{q}"),
        None => format!("{root}/{name}"),
    }
}

pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<()> {
    Migrator::up(db, None).await.context("running database migrations")
}

/// Starts a write transaction. On SQLite it takes the write lock at `BEGIN IMMEDIATE`, so concurrent
/// writers queue on the busy timeout instead of failing when a read lock cannot be upgraded; other
/// backends ignore the mode.
pub async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..TransactionOptions::default()
    })
    .await
}

/// Whether `err` means that the database cannot be reached right now — no pooled connection within
/// the acquire timeout, a connection that broke, a server that refuses sessions (shutting down,
/// starting up, not accepting connections), a SQLite file that is locked or cannot be opened —
/// rather than that a statement was wrong. Retrying later may succeed: `SERVICE_UNAVAILABLE`.
pub fn is_unreachable(err: &DbErr) -> bool {
    match err {
        // Both come from getting a connection: a statement never reached the database.
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => sqlx_unreachable(e),
        _ => false,
    }
}

fn sqlx_unreachable(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => {
            if let Some(pg) = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
                let code = pg.code();
                // Class 08: connection exception; 57P0x: the server shuts down, crashed or is
                // starting; 53300: no connection slot left.
                return code.starts_with("08") || code.starts_with("57P0") || code == "53300";
            }
            if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
                // The primary result code: BUSY and LOCKED (the busy timeout ran out), IOERR,
                // CANTOPEN.
                let primary = db.code().and_then(|c| c.parse::<i32>().ok()).map(|c| c & 0xff);
                return matches!(primary, Some(5 | 6 | 10 | 14));
            }
            false
        }
        _ => false,
    }
}

/// How long `/readyz` waits for the database to answer.
pub const READINESS_TIMEOUT: Duration = Duration::from_secs(1);

/// Opens connections of its own for readiness checks one at a time, so that a flood of probes
/// cannot take the database's connection slots.
static READINESS_CONNECTIONS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(1);

/// Whether the database answers within `timeout`, without queueing behind requests for a pooled
/// connection: an idle pooled connection is pinged when there is one (and closed when the ping
/// fails, so no request gets it after an outage), else a connection opened for the check alone.
pub async fn ping(db: &DatabaseConnection, timeout: Duration) -> Result<(), String> {
    let check = async {
        match db.get_database_backend() {
            DbBackend::Postgres => probe(db.get_postgres_connection_pool()).await,
            DbBackend::Sqlite => probe(db.get_sqlite_connection_pool()).await,
            _ => return db.ping().await.map_err(|e| e.to_string()),
        }
        .map_err(|e| e.to_string())
    };
    tokio::time::timeout(timeout, check)
        .await
        .unwrap_or_else(|_| Err(format!("no answer within {timeout:?}")))
}

async fn probe<DB: sqlx::Database>(pool: &sqlx::Pool<DB>) -> Result<(), sqlx::Error> {
    if let Some(mut pooled) = pool.try_acquire() {
        let answer = pooled.ping().await;
        if answer.is_err() {
            pooled.close_on_drop();
        }
        return answer;
    }
    let _turn = READINESS_CONNECTIONS.acquire().await.map_err(|_| sqlx::Error::PoolClosed)?;
    let mut own = DB::Connection::connect_with(&pool.connect_options()).await?;
    own.ping().await?;
    own.close().await
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use sea_orm::{ConnAcquireErr, RuntimeErr};

    use super::*;

    #[test]
    fn with_database_replaces_only_the_database_name() {
        assert_eq!(with_database("postgres://u@h:5432/postgres", "t1"), "postgres://u@h:5432/t1");
        assert_eq!(with_database("postgres://u@h:5432", "t1"), "postgres://u@h:5432/t1");
        assert_eq!(
            with_database("postgres://u@h/db?sslmode=disable", "t1"),
            "postgres://u@h/t1?sslmode=disable"
        );
    }

    fn sqlx_query_err(err: sqlx::Error) -> DbErr {
        DbErr::Query(RuntimeErr::SqlxError(Arc::new(err)))
    }

    #[test]
    fn connection_failures_are_unreachable_and_statement_failures_are_not() {
        let broken = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset by peer");
        for err in [
            DbErr::ConnectionAcquire(ConnAcquireErr::Timeout),
            DbErr::ConnectionAcquire(ConnAcquireErr::ConnectionClosed),
            DbErr::Conn(RuntimeErr::Internal("refused".into())),
            sqlx_query_err(sqlx::Error::Io(broken)),
            sqlx_query_err(sqlx::Error::PoolTimedOut),
            DbErr::Exec(RuntimeErr::SqlxError(Arc::new(sqlx::Error::PoolClosed))),
        ] {
            assert!(is_unreachable(&err), "{err}");
        }
        for err in [
            DbErr::RecordNotFound("course".into()),
            DbErr::Custom("too many SQL variables".into()),
            sqlx_query_err(sqlx::Error::RowNotFound),
            sqlx_query_err(sqlx::Error::ColumnNotFound("id".into())),
        ] {
            assert!(!is_unreachable(&err), "{err}");
        }
    }
}
