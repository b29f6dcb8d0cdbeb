//! The routes beside GraphQL for operators: liveness and readiness probes, Prometheus metrics, the
//! benchmark's raw route and the fallback for unknown paths.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde_json::json;
use tracing_actix_web::RequestId;

use crate::db;
use crate::error::Code;
use crate::graphql::AppState;
use crate::http::errors::error_response;

pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// Ready when the database answers within a second (not behind requests queueing for the pool).
/// Also reports search indexing: the position the index has applied against the change log's head
/// (lag), the last batch's time to search, and the last comparison with the database (drift) with
/// the repairs done since start.
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    if let Err(err) = db::ping(&state.db, db::READINESS_TIMEOUT).await {
        tracing::warn!(error = %err, "readiness check: database unreachable");
        return HttpResponse::ServiceUnavailable()
            .json(json!({ "status": "unavailable", "database": "unreachable" }));
    }
    let search = SearchStatus::read(&state).await;
    let stats = &state.indexing;
    HttpResponse::Ok().json(json!({
        "status": "ready",
        "database": "ok",
        "search": {
            "backend": state.search.name(),
            "position": search.position,
            "head": search.lag.head,
            "outboxPending": search.lag.pending,
            "outboxLagSeconds": search.lag.oldest_pending_secs,
            "lastTimeToSearchMs": load(&stats.last_time_to_search_ms),
            "indexedBatches": load(&stats.batches),
            "failedBatches": load(&stats.failures),
            "checks": load(&stats.checks),
            "drift": {
                "missing": load(&stats.drift_missing),
                "stale": load(&stats.drift_stale),
                "extra": load(&stats.drift_extra),
            },
            "repairs": load(&stats.repairs),
            "repairedCourses": load(&stats.repaired_courses),
            "refills": load(&stats.refills),
        }
    }))
}

fn load(counter: &std::sync::atomic::AtomicU64) -> u64 {
    counter.load(std::sync::atomic::Ordering::Relaxed)
}

/// Where this instance's search index stands against the change log.
struct SearchStatus {
    /// -1 until the worker has read it (or when the index was never filled).
    position: i64,
    lag: crate::search::outbox::Lag,
}

impl SearchStatus {
    pub async fn read(state: &AppState) -> Self {
        // A shared index's position is the cursor every instance reads, whichever applied it.
        let position = match state.search.position_store() {
            crate::search::PositionStore::Cursor(name) => {
                crate::search::outbox::cursor(&state.db, &name).await.ok().flatten()
            }
            crate::search::PositionStore::Index => state.indexing.position(),
        };
        let lag = crate::search::outbox::lag(&state.db, position.unwrap_or(0)).await.unwrap_or_default();
        Self { position: position.unwrap_or(-1), lag }
    }
}

/// Prometheus metrics of this instance.
pub async fn metrics_page(state: web::Data<AppState>) -> HttpResponse {
    let search = SearchStatus::read(&state).await;
    let (pool_connections, pool_idle) = match state.db.get_database_backend() {
        sea_orm::DatabaseBackend::Postgres => {
            let pool = state.db.get_postgres_connection_pool();
            (pool.size(), pool.num_idle() as u32)
        }
        sea_orm::DatabaseBackend::Sqlite => {
            let pool = state.db.get_sqlite_connection_pool();
            (pool.size(), pool.num_idle() as u32)
        }
        _ => (0, 0),
    };
    let stats = &state.indexing;
    let gauges = crate::metrics::Gauges {
        pool_connections,
        pool_idle,
        search_outbox_pending: search.lag.pending,
        search_outbox_lag_seconds: search.lag.oldest_pending_secs,
        search_position: search.position,
        search_head: search.lag.head,
        search_drift_missing: load(&stats.drift_missing),
        search_drift_stale: load(&stats.drift_stale),
        search_drift_extra: load(&stats.drift_extra),
        search_repairs: load(&stats.repairs),
        search_repaired_courses: load(&stats.repaired_courses),
        search_refills: load(&stats.refills),
        last_time_to_search_ms: load(&stats.last_time_to_search_ms),
        local_read_fallbacks: state.reads.fallbacks(),
        jobs_by_state: jobs_by_state(&state).await,
    };
    HttpResponse::Ok().content_type("text/plain; version=0.0.4").body(state.metrics.render(gauges))
}

/// Jobs by state for the gauges; `None` (no gauge) when the database does not answer.
async fn jobs_by_state(state: &AppState) -> Option<[u64; 4]> {
    let counts = crate::jobs::counts_by_state(&state.db).await.ok()?;
    let mut out = [0; 4];
    for (slot, (_, count)) in out.iter_mut().zip(counts) {
        *slot = count;
    }
    Some(out)
}

/// The benchmark's ceiling: what `{ course(id) { title } }` answers, without GraphQL or a database.
pub async fn bench_raw() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "data": { "course": { "title": "SPS-Programmierung mit TIA Portal" } } }))
}

pub async fn not_found(request_id: RequestId) -> HttpResponse {
    error_response(StatusCode::NOT_FOUND, Code::NotFound, "no such route", None, &request_id)
}
