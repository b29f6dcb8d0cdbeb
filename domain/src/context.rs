//! The one value every service takes: the database, rows by id, the search backend, events,
//! settings and the workers' wake-ups of one server. The API layer builds it once and hands it to
//! resolvers; services read what they need from it.

use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::auth::JwtKeys;
use crate::config::Settings;
use crate::db::reads::Reads;
use crate::events::EventBus;
use crate::search::Backend;
use crate::search::worker::IndexingStats;

/// Shared by all requests of one server.
#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    /// Rows by id: courses, offerings, organizations, users (see [`Reads`]).
    pub reads: Reads,
    pub jwt: Arc<JwtKeys>,
    pub events: EventBus,
    pub settings: Arc<Settings>,
    pub search: Backend,
    pub indexing: Arc<IndexingStats>,
    /// Wake this instance's job runner (alert dispatch, webhook delivery; see [`crate::jobs`]) and
    /// search indexing worker after a mutation (see the API's wake-up extension).
    pub jobs_wake: Arc<tokio::sync::Notify>,
    pub indexing_wake: Arc<tokio::sync::Notify>,
    pub metrics: Arc<crate::metrics::Metrics>,
}

impl AppState {
    /// What one server shares, over its database, settings and search backend; starts no worker.
    /// Rows by id are read as `settings` say (see [`Reads::configured`]).
    pub fn new(db: DatabaseConnection, settings: Settings, search: Backend) -> anyhow::Result<Self> {
        let events = EventBus::for_database(&db);
        Self::with_events(db, settings, search, events)
    }

    /// As [`AppState::new`], with events carried by `events` (a server's bus runs on its workers'
    /// pool).
    pub fn with_events(
        db: DatabaseConnection,
        settings: Settings,
        search: Backend,
        events: EventBus,
    ) -> anyhow::Result<Self> {
        let jwt = Arc::new(JwtKeys::from_settings(&settings.auth, &settings.data_dir)?);
        let reads = Reads::configured(db.clone(), &settings);
        Ok(Self {
            events,
            reads,
            db,
            jwt,
            metrics: Arc::new(crate::metrics::Metrics::new(settings.metrics.max_operations)),
            settings: Arc::new(settings),
            search,
            indexing: Arc::default(),
            jobs_wake: Arc::default(),
            indexing_wake: Arc::default(),
        })
    }
}
