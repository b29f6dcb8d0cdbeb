//! Course discovery: documents flow from the database through the transactional outbox into a
//! search backend — Meilisearch when `MEILI_URL` is set, else the embedded tantivy index.

pub mod document;
pub mod embedded;
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
    let dir = settings.data_dir.join("search-index");
    let index = embedded::EmbeddedIndex::open(&dir)
        .map_err(|e| anyhow::anyhow!("opening the embedded search index in {}: {e}", dir.display()))?;
    tracing::info!(path = %dir.display(), "course search: embedded index");
    Ok(Arc::new(index))
}
