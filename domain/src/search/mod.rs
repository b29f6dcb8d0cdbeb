//! Course discovery: documents flow from the database through the transactional outbox into a
//! search backend — Meilisearch when `MEILI_URL` is set, else the embedded tantivy index.

pub mod document;
pub mod embedded;
pub mod meili;
pub mod outbox;
pub mod query;
pub mod worker;

use std::sync::Arc;

use document::{CourseDocuments, OfferingDocument};
use query::{SearchRequest, SearchResults, Suggestion};

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

/// What both backends do: the same contract, one test suite.
#[async_trait::async_trait]
pub trait SearchBackend: Send + Sync {
    fn name(&self) -> &'static str;
    /// Replaces each course's documents (none: the course leaves the index).
    async fn apply(&self, changes: &[CourseDocuments]) -> Result<(), SearchError>;
    async fn search(&self, request: &SearchRequest) -> Result<SearchResults, SearchError>;
    /// Course titles starting with `prefix`, for search as you type.
    async fn suggest(&self, prefix: &str, limit: usize) -> Result<Vec<Suggestion>, SearchError>;
    /// Every document id in the index, for drift checks.
    async fn document_ids(&self) -> Result<Vec<String>, SearchError>;
    /// Replaces the whole index without search downtime.
    async fn rebuild(&self, documents: Vec<OfferingDocument>) -> Result<(), SearchError>;
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
    /// In the index, but not (or no longer) in the database.
    pub stale: Vec<String>,
    /// Changes still waiting in the outbox (drift they explain is transient).
    pub pending_changes: u64,
}

impl Drift {
    pub fn is_clean(&self) -> bool {
        self.missing.is_empty() && self.stale.is_empty()
    }
}

impl std::fmt::Display for Drift {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "database: {} documents, index: {} documents",
            self.database_documents, self.index_documents
        )?;
        writeln!(f, "pending outbox changes: {}", self.pending_changes)?;
        for (label, ids) in [("missing from the index", &self.missing), ("stale in the index", &self.stale)] {
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

/// Compares the documents the database implies with those in the index.
pub async fn check(db: &sea_orm::DatabaseConnection, backend: &dyn SearchBackend) -> anyhow::Result<Drift> {
    use std::collections::HashSet;
    let expected: HashSet<String> = worker::all_documents(db)
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.message()))?
        .into_iter()
        .map(|d| d.id)
        .collect();
    let actual: HashSet<String> =
        backend.document_ids().await.map_err(|e| anyhow::anyhow!("{e}"))?.into_iter().collect();
    let mut missing: Vec<String> = expected.difference(&actual).cloned().collect();
    let mut stale: Vec<String> = actual.difference(&expected).cloned().collect();
    missing.sort();
    stale.sort();
    let pending = outbox::lag(db).await.map(|l| l.pending).unwrap_or(0);
    Ok(Drift {
        database_documents: expected.len(),
        index_documents: actual.len(),
        missing,
        stale,
        pending_changes: pending,
    })
}

/// A new or emptied index (first start, or an embedded index rebuilt after a schema change) gets every
/// published course queued, so it fills without a manual `reindex`.
pub async fn fill_if_empty(
    db: &sea_orm::DatabaseConnection,
    backend: &dyn SearchBackend,
) -> anyhow::Result<()> {
    use entity::course::{self, CourseStatus};
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
    if !backend.document_ids().await.map_err(|e| anyhow::anyhow!("{e}"))?.is_empty() {
        return Ok(());
    }
    let published: Vec<uuid::Uuid> = course::Entity::find()
        .select_only()
        .column(course::Column::Id)
        .filter(course::Column::Status.eq(CourseStatus::Published))
        .into_tuple()
        .all(db)
        .await?;
    if !published.is_empty() {
        tracing::info!(courses = published.len(), "search index is empty: queueing every published course");
        outbox::enqueue(db, published).await.map_err(|e| anyhow::anyhow!("{}", e.message()))?;
    }
    Ok(())
}
