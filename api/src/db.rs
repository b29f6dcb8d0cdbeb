//! Database connection and migrations.

pub mod reads;

use std::time::Duration;

use anyhow::Context;
use migration::{Migrator, MigratorTrait};
use sea_orm::{
    ConnectOptions, Database, DatabaseConnection, DatabaseTransaction, DbErr, SqliteTransactionMode,
    TransactionOptions, TransactionTrait,
};
use secrecy::{ExposeSecret, SecretString};

/// Connects (creating the SQLite file's directory when needed). Errors name the URL without its
/// password.
pub async fn connect(url: &SecretString, redacted: &str) -> anyhow::Result<DatabaseConnection> {
    let url = url.expose_secret();
    if let Some(path) = url.strip_prefix("sqlite://") {
        let file = path.split('?').next().unwrap_or_default();
        if let Some(dir) = std::path::Path::new(file).parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
    }
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(if url.starts_with("sqlite:") { 8 } else { 20 })
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(10))
        // A ping on every checkout is a round trip per query (a thread hand-off on SQLite); only
        // connections idle long enough to have been dropped by a server or firewall are checked.
        .test_before_acquire_if_idle_for(Duration::from_secs(30))
        .sqlx_logging(false)
        // WAL lets readers and the writer work side by side; writers queue on the busy timeout.
        .map_sqlx_sqlite_opts(|opts| {
            opts.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(30))
                // Reads through a memory map instead of copying pages through the 2 MB default
                // page cache: the matching queries read tens of thousands of rows.
                .pragma("mmap_size", "268435456")
                .pragma("cache_size", "-16384")
        });
    Database::connect(options).await.with_context(|| format!("connecting to {redacted}"))
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
