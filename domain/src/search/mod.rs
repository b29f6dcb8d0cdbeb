//! Course discovery: documents flow from the database through the change log into a search
//! backend — Meilisearch when `MEILI_URL` is set, else the embedded tantivy index of each instance.
//! The worker applies the log in order and compares the index with the database at start-up and
//! periodically, repairing what differs (see [`worker`]).

pub mod document;
pub mod embedded;
mod expand_once;
pub mod meili;
pub mod outbox;
pub mod query;
pub mod relevance;
pub mod settings;
pub mod sync;
pub mod worker;

use std::sync::Arc;

use document::{CourseDocuments, DocumentVersion, OfferingDocument};
use query::{SearchRequest, SearchResults, Suggestion};
use sea_orm::DatabaseConnection;
use uuid::Uuid;

use crate::error::ApiError;

#[derive(Debug, Clone)]
pub enum SearchError {
    /// The engine cannot be reached or did not answer in time.
    Unavailable(String),
    Internal(String),
}

impl std::fmt::Display for SearchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unavailable(m) => write!(f, "search engine unavailable: {m}"),
            Self::Internal(m) => write!(f, "search engine error: {m}"),
        }
    }
}

impl std::error::Error for SearchError {}

impl From<SearchError> for ApiError {
    fn from(err: SearchError) -> Self {
        tracing::warn!(error = %err, "search failed");
        ApiError::Unavailable("course search is unavailable right now; please retry shortly".into())
    }
}

/// Where an index keeps the change-log position it has applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PositionStore {
    /// In the index's own commit, with the documents (the embedded index: one per instance).
    Index,
    /// In `search_cursor` under this name (a shared index, such as Meilisearch).
    Cursor(String),
}

/// What both backends do: the same contract, one test suite.
#[async_trait::async_trait]
pub trait SearchBackend: Send + Sync {
    fn name(&self) -> &'static str;
    fn position_store(&self) -> PositionStore;
    /// Whether the index was found gone and created again empty since the last call (a shared index
    /// deleted behind the application's back): the worker then queues the comparison with the
    /// database that refills it, without waiting for the periodic check.
    fn take_lost(&self) -> bool {
        false
    }
    /// The position of [`PositionStore::Index`] (`None`: never filled, or a cursor store).
    async fn position(&self) -> Result<Option<i64>, SearchError> {
        Ok(None)
    }
    /// Replaces each course's documents (none: the course leaves the index); an index that keeps
    /// its position commits `position` with them (`None`: unchanged).
    async fn apply(&self, changes: &[CourseDocuments], position: Option<i64>) -> Result<(), SearchError>;
    async fn search(&self, request: &SearchRequest) -> Result<SearchResults, SearchError>;
    /// Course titles starting with `prefix`, for search as you type.
    async fn suggest(&self, prefix: &str, limit: usize) -> Result<Vec<Suggestion>, SearchError>;
    /// Every document in the index with its course and version, for drift checks.
    async fn document_versions(&self) -> Result<Vec<DocumentVersion>, SearchError>;
    /// Replaces the whole index without search downtime, at `position` like [`apply`](Self::apply).
    async fn rebuild(
        &self,
        documents: Vec<OfferingDocument>,
        position: Option<i64>,
    ) -> Result<(), SearchError>;
}

pub type Backend = Arc<dyn SearchBackend>;

/// The configured backend: Meilisearch when `MEILI_URL` is set, else the embedded index in the data
/// directory.
pub async fn open_backend(settings: &crate::config::Settings) -> anyhow::Result<Backend> {
    if let Some(url) = &settings.search.meili_url {
        use secrecy::ExposeSecret;
        let key = settings.search.meili_master_key.as_ref().map(|k| k.expose_secret().to_owned());
        let index = &settings.search.meili_index;
        let backend = meili::MeiliBackend::connect(url, key.as_deref(), index)
            .await
            .map_err(|e| anyhow::anyhow!("Meilisearch at {url}: applying the index settings failed: {e}"))?;
        tracing::info!(url = %url, index = %index, "course search: Meilisearch");
        return Ok(Arc::new(backend));
    }
    let dir = settings.data_dir.join("search-index");
    let index = embedded::EmbeddedIndex::open(&dir)
        .map_err(|e| anyhow::anyhow!("opening the embedded search index in {}: {e}", dir.display()))?;
    tracing::info!(path = %dir.display(), "course search: embedded index");
    Ok(Arc::new(index))
}

/// Differences between the database and the index.
#[derive(Debug, Default)]
pub struct Drift {
    pub database_documents: usize,
    pub index_documents: usize,
    /// Expected from the database, absent from the index.
    pub missing: Vec<String>,
    /// In both, but the index holds an older (or other) version.
    pub stale: Vec<String>,
    /// In the index, but not (or no longer) in the database.
    pub extra: Vec<String>,
    /// The courses whose documents differ: what a repair rebuilds.
    pub courses: Vec<Uuid>,
    /// Changes the index has not applied yet (drift they explain is transient).
    pub pending_changes: u64,
}

impl Drift {
    pub fn is_clean(&self) -> bool {
        self.missing.is_empty() && self.stale.is_empty() && self.extra.is_empty()
    }
}

impl std::fmt::Display for Drift {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "database: {} documents, index: {} documents",
            self.database_documents, self.index_documents
        )?;
        writeln!(f, "changes not yet applied: {}", self.pending_changes)?;
        for (label, ids) in [
            ("missing from the index", &self.missing),
            ("stale in the index (older version)", &self.stale),
            ("extra in the index", &self.extra),
        ] {
            writeln!(f, "{label}: {}", ids.len())?;
            for id in ids.iter().take(50) {
                writeln!(f, "  {id}")?;
            }
            if ids.len() > 50 {
                writeln!(f, "  … and {} more", ids.len() - 50)?;
            }
        }
        write!(f, "{}", if self.is_clean() { "no drift" } else { "DRIFT" })
    }
}

/// The change-log position `backend` has applied (`None`: never filled).
pub async fn applied_position(
    db: &DatabaseConnection,
    backend: &dyn SearchBackend,
) -> anyhow::Result<Option<i64>> {
    match backend.position_store() {
        PositionStore::Index => backend.position().await.map_err(|e| anyhow::anyhow!("{e}")),
        PositionStore::Cursor(name) => {
            outbox::cursor(db, &name).await.map_err(|e| anyhow::anyhow!("{}", e.message()))
        }
    }
}

/// Compares the documents the database implies (ids and versions) with those in the index.
pub async fn check(db: &DatabaseConnection, backend: &dyn SearchBackend) -> anyhow::Result<Drift> {
    use std::collections::{BTreeSet, HashMap};
    let expected: HashMap<String, DocumentVersion> = document::expected_versions(db)
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.message()))?
        .into_iter()
        .map(|d| (d.id.clone(), d))
        .collect();
    let actual: HashMap<String, DocumentVersion> = backend
        .document_versions()
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .into_iter()
        .map(|d| (d.id.clone(), d))
        .collect();
    let mut drift =
        Drift { database_documents: expected.len(), index_documents: actual.len(), ..Drift::default() };
    let mut courses = BTreeSet::new();
    for (id, want) in &expected {
        match actual.get(id) {
            None => drift.missing.push(id.clone()),
            Some(have) if have != want => {
                drift.stale.push(id.clone());
                courses.insert(have.course_id);
            }
            Some(_) => continue,
        }
        courses.insert(want.course_id);
    }
    for (id, have) in &actual {
        if !expected.contains_key(id) {
            drift.extra.push(id.clone());
            courses.insert(have.course_id);
        }
    }
    drift.missing.sort();
    drift.stale.sort();
    drift.extra.sort();
    drift.courses = courses.into_iter().collect();
    let position = applied_position(db, backend).await?.unwrap_or(0);
    drift.pending_changes = outbox::lag(db, position).await.map(|l| l.pending).unwrap_or(0);
    Ok(drift)
}

/// Rebuilds `courses`' documents from the database's current state, in batches, each searchable
/// as soon as it is committed. The position stays: what the log holds is applied as usual.
pub async fn repair(
    db: &DatabaseConnection,
    backend: &dyn SearchBackend,
    courses: &[Uuid],
) -> anyhow::Result<usize> {
    for chunk in courses.chunks(REPAIR_BATCH) {
        let documents = document::build(db, chunk).await.map_err(|e| anyhow::anyhow!("{}", e.message()))?;
        backend.apply(&documents, None).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    Ok(courses.len())
}

/// Courses per commit of a repair or refill: small enough that an empty index answers searches
/// while it fills.
pub const REPAIR_BATCH: usize = 500;

/// Refills an index that holds no position, or one the log was pruned past: every published course
/// and every course the index holds is rebuilt, then `position` (the log's head read before) is
/// recorded. Searches answer from the documents committed so far.
pub async fn refill(
    db: &DatabaseConnection,
    backend: &dyn SearchBackend,
    position: i64,
) -> anyhow::Result<usize> {
    use entity::course::{self, CourseStatus};
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
    let mut courses: Vec<Uuid> = course::Entity::find()
        .select_only()
        .column(course::Column::Id)
        .filter(course::Column::Status.eq(CourseStatus::Published))
        .into_tuple()
        .all(db)
        .await?;
    let indexed = backend.document_versions().await.map_err(|e| anyhow::anyhow!("{e}"))?;
    courses.extend(indexed.into_iter().map(|d| d.course_id));
    courses.sort();
    courses.dedup();
    let repaired = repair(db, backend, &courses).await?;
    backend.apply(&[], Some(position)).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(repaired)
}
