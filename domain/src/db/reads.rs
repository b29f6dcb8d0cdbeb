//! Reads by primary key: a course, an offering, an organization, a user; and the skills
//! vocabulary, held in memory (see [`crate::db::vocabulary`]).
//!
//! On a SQLite file they run on the calling thread through their own read-only rusqlite
//! connections. sqlx runs every SQLite statement on a per-connection thread and hands the
//! statement, each row and the connection's release check across threads; for a read by key those
//! hand-offs cost about ten times the read itself. The SQL is still built by sea-orm from the
//! entity, and rows become the same models: each value is read as the entity's column type says,
//! in the encoding sqlx writes (UUIDs as 16-byte blobs, timestamps as RFC 3339 text). A read
//! connection sees every committed write (WAL), like a pool connection does. Should a local read
//! fail (a busy database, say), the read goes through the pool instead.
//!
//! On PostgreSQL, and for an in-memory SQLite database, every read goes through the pool.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::OpenFlags;
use rusqlite::types::ValueRef;
use sea_orm::sea_query::Value;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ColumnType, DatabaseConnection, DbBackend, DbErr, EntityTrait, IdenStatic,
    Iterable, PrimaryKeyToColumn, QueryFilter, QueryTrait, TryIntoModel,
};
use secrecy::ExposeSecret;
use uuid::Uuid;

use crate::config::Settings;
use crate::db::vocabulary::{SkillVocabulary, Skills};

/// Reads rows of an entity by its UUID primary key.
#[derive(Clone)]
pub struct Reads {
    db: DatabaseConnection,
    local: Option<Arc<LocalReads>>,
    skills: Arc<SkillVocabulary>,
}

impl Reads {
    /// Local reads for a `sqlite://` file URL, the pool for anything else.
    pub fn new(db: DatabaseConnection, url: &str) -> Self {
        Self { db, local: LocalReads::for_url(url).map(Arc::new), skills: Arc::default() }
    }

    /// As `settings` say: local reads for a SQLite file unless `db_local_reads` is off.
    pub fn configured(db: DatabaseConnection, settings: &Settings) -> Self {
        if settings.db_local_reads {
            Self::new(db, settings.database_url().expose_secret())
        } else {
            Self::pool(db)
        }
    }

    /// Every read through the pool, as on PostgreSQL.
    pub fn pool(db: DatabaseConnection) -> Self {
        Self { db, local: None, skills: Arc::default() }
    }

    /// The rows with these ids, in no particular order; unknown ids are left out.
    pub async fn by_ids<E>(&self, ids: &[Uuid]) -> Result<Vec<E::Model>, DbErr>
    where
        E: EntityTrait,
        E::ActiveModel: TryIntoModel<E::Model>,
    {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let key = primary_key::<E>()?;
        if let Some(local) = &self.local {
            match local.read::<E>(key, ids) {
                Ok(rows) => return Ok(rows),
                Err(error) => {
                    local.fallbacks.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(%error, "local read failed; reading through the pool");
                }
            }
        }
        E::find().filter(key.is_in(ids.iter().copied())).all(&self.db).await
    }

    /// One row by id.
    pub async fn by_id<E>(&self, id: Uuid) -> Result<Option<E::Model>, DbErr>
    where
        E: EntityTrait,
        E::ActiveModel: TryIntoModel<E::Model>,
    {
        Ok(self.by_ids::<E>(&[id]).await?.pop())
    }

    /// The skills vocabulary, holding every one of `ids` that exists (see [`SkillVocabulary`]).
    pub async fn skills<'a>(&self, ids: impl IntoIterator<Item = &'a str>) -> Result<Skills, DbErr> {
        self.skills.holding(&self.db, ids).await
    }

    /// The pool, for everything else the reader of a row goes on to ask.
    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    /// Whether reads run on the calling thread (a SQLite file).
    pub fn is_local(&self) -> bool {
        self.local.is_some()
    }

    /// How many local reads failed and went through the pool instead.
    pub fn fallbacks(&self) -> u64 {
        self.local.as_ref().map_or(0, |local| local.fallbacks.load(Ordering::Relaxed))
    }
}

fn primary_key<E: EntityTrait>() -> Result<E::Column, DbErr> {
    let mut keys = E::PrimaryKey::iter();
    match (keys.next(), keys.next()) {
        (Some(key), None) => Ok(key.into_column()),
        _ => Err(DbErr::Custom(format!("{} has no single-column primary key", E::default().table_name()))),
    }
}

/// Reads of more ids build their SQL each time, so that the kept statements stay few.
const SQL_KEPT_UP_TO: usize = 100;

/// Read-only connections to one SQLite file, opened on first use and kept for reuse. A read holds
/// one for its few microseconds, so there are never more than threads reading at once.
struct LocalReads {
    path: PathBuf,
    idle: Mutex<Vec<rusqlite::Connection>>,
    /// The SQL of a read, by table and number of ids (up to [`SQL_KEPT_UP_TO`]): built once.
    sql: Mutex<HashMap<(&'static str, usize), Arc<str>>>,
    fallbacks: AtomicU64,
}

impl LocalReads {
    fn for_url(url: &str) -> Option<Self> {
        let file = url.strip_prefix("sqlite://")?.split('?').next()?;
        if file.is_empty() || file.contains(":memory:") || url.contains("mode=memory") {
            return None;
        }
        Some(Self {
            path: PathBuf::from(file),
            idle: Mutex::new(Vec::new()),
            sql: Mutex::default(),
            fallbacks: AtomicU64::new(0),
        })
    }

    fn checkout(&self) -> rusqlite::Result<rusqlite::Connection> {
        if let Some(conn) = self.idle.lock().ok().and_then(|mut idle| idle.pop()) {
            return Ok(conn);
        }
        let conn = rusqlite::Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        // A reader waits only briefly for a lock (WAL readers rarely need to); then the pool reads.
        conn.busy_timeout(Duration::from_millis(50))?;
        // As the pool's connections (see `db::connect`): pages through a memory map.
        conn.pragma_update(None, "mmap_size", 268_435_456)?;
        conn.set_prepared_statement_cache_capacity(64);
        Ok(conn)
    }

    fn checkin(&self, conn: rusqlite::Connection) {
        if let Ok(mut idle) = self.idle.lock() {
            idle.push(conn);
        }
    }

    fn read<E>(&self, key: E::Column, ids: &[Uuid]) -> Result<Vec<E::Model>, DbErr>
    where
        E: EntityTrait,
        E::ActiveModel: TryIntoModel<E::Model>,
    {
        let sql = self.sql::<E>(key, ids)?;
        // Bound as sqlx binds a UUID for SQLite: its 16 bytes.
        let params = ids.iter().map(|id| id.as_bytes().as_slice());
        let conn = self.checkout().map_err(sqlite_err)?;
        let rows = rows::<E>(&conn, &sql, params)?;
        // A connection that failed is closed, not reused: the next read opens a fresh one.
        self.checkin(conn);
        Ok(rows)
    }

    fn sql<E: EntityTrait>(&self, key: E::Column, ids: &[Uuid]) -> Result<Arc<str>, DbErr> {
        let slot = (E::default().table_name(), ids.len());
        if let Some(sql) = self.sql.lock().ok().and_then(|cache| cache.get(&slot).cloned()) {
            return Ok(sql);
        }
        let statement = E::find().filter(key.is_in(ids.iter().copied())).build(DbBackend::Sqlite);
        let placeholders = statement.values.map_or(0, |values| values.0.len());
        if placeholders != ids.len() {
            return Err(DbErr::Custom(format!(
                "{}: {placeholders} parameters for {} ids",
                statement.sql,
                ids.len()
            )));
        }
        let sql: Arc<str> = statement.sql.into();
        if ids.len() <= SQL_KEPT_UP_TO
            && let Ok(mut cache) = self.sql.lock()
        {
            cache.insert(slot, sql.clone());
        }
        Ok(sql)
    }
}

fn rows<'a, E>(
    conn: &rusqlite::Connection,
    sql: &str,
    params: impl IntoIterator<Item = &'a [u8]>,
) -> Result<Vec<E::Model>, DbErr>
where
    E: EntityTrait,
    E::ActiveModel: TryIntoModel<E::Model>,
{
    let columns: Vec<E::Column> = E::Column::iter().collect();
    let mut statement = conn.prepare_cached(sql).map_err(sqlite_err)?;
    if statement.column_count() != columns.len() {
        return Err(DbErr::Custom(format!("{sql}: expected {} columns", columns.len())));
    }
    let mut rows = statement.query(rusqlite::params_from_iter(params)).map_err(sqlite_err)?;
    let mut models = Vec::new();
    while let Some(row) = rows.next().map_err(sqlite_err)? {
        let mut model = <E::ActiveModel as ActiveModelTrait>::default();
        for (i, column) in columns.iter().enumerate() {
            let raw = row.get_ref(i).map_err(sqlite_err)?;
            let value = decode(column.def().get_column_type(), raw)
                .ok_or_else(|| DbErr::Custom(format!("column {} holds {raw:?}", column.as_str())))?;
            model.try_set(*column, value)?;
        }
        models.push(model.try_into_model()?);
    }
    Ok(models)
}

fn sqlite_err(e: rusqlite::Error) -> DbErr {
    DbErr::Custom(format!("SQLite: {e}"))
}

/// A stored value as the column type's variant: `None` when it does not decode.
fn decode(column: &ColumnType, raw: ValueRef<'_>) -> Option<Value> {
    use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
    let text = |raw: ValueRef<'_>| raw.as_str().ok().map(str::to_owned);
    let integer = |raw: ValueRef<'_>| raw.as_i64().ok();
    let null = matches!(raw, ValueRef::Null);
    Some(match column {
        ColumnType::Uuid => Value::Uuid(match raw {
            ValueRef::Null => None,
            ValueRef::Blob(bytes) => Some(Uuid::from_slice(bytes).ok()?),
            ValueRef::Text(text) => Some(Uuid::try_parse_ascii(text).ok()?),
            _ => return None,
        }),
        ColumnType::Char(_) | ColumnType::String(_) | ColumnType::Text | ColumnType::Enum { .. } => {
            Value::String(if null { None } else { Some(text(raw)?) })
        }
        ColumnType::TinyInteger => {
            Value::TinyInt(if null { None } else { Some(integer(raw)?.try_into().ok()?) })
        }
        ColumnType::SmallInteger => {
            Value::SmallInt(if null { None } else { Some(integer(raw)?.try_into().ok()?) })
        }
        ColumnType::Integer => Value::Int(if null { None } else { Some(integer(raw)?.try_into().ok()?) }),
        ColumnType::BigInteger => Value::BigInt(if null { None } else { Some(integer(raw)?) }),
        ColumnType::Boolean => Value::Bool(if null { None } else { Some(integer(raw)? != 0) }),
        ColumnType::Double => Value::Double(if null { None } else { Some(raw.as_f64().ok()?) }),
        ColumnType::Float => Value::Float(if null { None } else { Some(raw.as_f64().ok()? as f32) }),
        ColumnType::Date => Value::ChronoDate(if null {
            None
        } else {
            Some(NaiveDate::parse_from_str(raw.as_str().ok()?, "%Y-%m-%d").ok()?)
        }),
        ColumnType::Timestamp | ColumnType::TimestampWithTimeZone | ColumnType::DateTime => {
            Value::ChronoDateTimeUtc(if null {
                None
            } else {
                let s = raw.as_str().ok()?;
                Some(match DateTime::parse_from_rfc3339(s) {
                    Ok(t) => t.with_timezone(&Utc),
                    Err(_) => NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f").ok()?.and_utc(),
                })
            })
        }
        ColumnType::Json | ColumnType::JsonBinary => Value::Json(if null {
            None
        } else {
            Some(Box::new(serde_json::from_str(raw.as_str().ok()?).ok()?))
        }),
        _ => return None,
    })
}
