//! Builds and runs the application: settings to database, search, workers, schema and routes;
//! the handlers live in `crate::http` and `crate::ws`.

use std::net::TcpListener;
use std::time::Duration;

use actix_cors::Cors;
use actix_web::dev::{Server, Service};
use actix_web::http::Method;
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::{Condition, DefaultHeaders};
use actix_web::{App, HttpMessage, HttpResponse, HttpServer, web};
use anyhow::Context;
use futures_util::FutureExt;
use sea_orm::{DatabaseConnection, DbBackend};
use tracing_actix_web::{RequestId, TracingLogger};

use crate::config::Settings;
use crate::db;
use crate::db::reads::Reads;
use crate::events::EventBus;
use crate::graphql::{AppState, SchemaOptions, build_schema};
use crate::http::graphql::{graphql_get, graphql_post};
use crate::http::probes;
use crate::jobs::{Registry, Runner, RunnerOptions};
use crate::search::Backend;
use crate::search::worker::Worker;
use crate::shutdown::Shutdown;

pub struct Application {
    port: u16,
    server: Server,
    /// `GET /metrics` on its own listener (`None` when turned off).
    metrics: Option<(u16, Server)>,
    /// Background tasks (indexing, alert dispatch, webhook sending), stopped with the server.
    workers: Vec<tokio::task::JoinHandle<()>>,
    shutdown: Shutdown,
}

impl Application {
    /// Connects to the database, runs migrations, opens the configured search backend and binds the
    /// listener (port 0 picks a free one).
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let search = crate::search::open_backend(&settings).await?;
        Self::build_with_search(settings, search).await
    }

    /// Like [`build`](Self::build) with a given search backend.
    pub async fn build_with_search(settings: Settings, search: Backend) -> anyhow::Result<Self> {
        let db = db::connect(
            &settings.database_url(),
            &settings.database_url_redacted(),
            settings.db_acquire_timeout(),
        )
        .await?;
        db::migrate(&db).await?;
        crate::seed::skills::ensure(&db).await?;
        crate::seed::profiles::ensure(&db).await?;
        let worker_db = if db.get_database_backend() == DbBackend::Postgres {
            db::connect(
                &settings.database_url(),
                &settings.database_url_redacted(),
                settings.db_acquire_timeout(),
            )
            .await?
        } else {
            db.clone()
        };
        let listener =
            TcpListener::bind(settings.bind).with_context(|| format!("binding {}", settings.bind))?;
        Self::with_listener(settings, db, worker_db, search, listener)
    }

    /// Serves on `listener`; starts the background workers on the current runtime.
    ///
    /// On PostgreSQL the workers use `worker_db`, a pool of their own opened on this runtime: a
    /// pooled connection's socket belongs to the runtime that opened it, and the HTTP server's
    /// worker threads — whose runtimes stop with the server — open many of the request pool's.
    /// Workers that finish their jobs after the server stopped would otherwise fail with "A Tokio
    /// 1.x context was found, but it is being shutdown". SQLite connections are threads of their
    /// own; there `worker_db` is the request pool.
    pub fn with_listener(
        settings: Settings,
        db: DatabaseConnection,
        worker_db: DatabaseConnection,
        search: Backend,
        listener: TcpListener,
    ) -> anyhow::Result<Self> {
        // A `REDIS_URL` that is no Redis URL stops the start; an unreachable Redis does not.
        crate::ratelimit::shared::client(&settings.redis)?;
        crate::auth::password::configure(
            settings.auth.password_hash_concurrency,
            std::time::Duration::from_millis(settings.auth.password_hash_queue_timeout_ms),
        );
        let options = SchemaOptions { introspection: !settings.is_production() };
        let shutdown = Shutdown::default();
        let metrics_listener = match settings.metrics.bind {
            Some(address) => {
                Some(TcpListener::bind(address).with_context(|| format!("binding metrics at {address}"))?)
            }
            None => None,
        };
        let registry = job_registry(&settings, &search);
        // Events cross instances through the workers' pool (see above).
        let state = AppState::with_events(db, settings, search, EventBus::for_database(&worker_db))?;
        let mut workers = Vec::new();
        if state.settings.search.worker {
            let worker = Worker::with_settings(
                worker_db.clone(),
                state.search.clone(),
                state.indexing.clone(),
                state.indexing_wake.clone(),
                &state.settings.search,
            )
            .with_jobs(state.jobs_wake.clone());
            workers.push(tokio::spawn(worker.run(shutdown.stop_signal())));
        }
        if state.settings.jobs.worker && !registry.is_empty() {
            let worker_state = match worker_db.get_database_backend() {
                DbBackend::Postgres => {
                    AppState { reads: Reads::pool(worker_db.clone()), db: worker_db, ..state.clone() }
                }
                _ => state.clone(),
            };
            let runner = Runner::new(worker_state, registry, RunnerOptions::from(&state.settings.jobs));
            workers.push(tokio::spawn(runner.run(shutdown.stop_signal())));
        }
        let schema = build_schema(state.clone(), options);
        let connections = web::Data::new(crate::ws::Connections::new(&state.settings.websocket));
        let metrics_state = state.clone();
        let port = listener.local_addr()?.port();
        tracing::info!(
            address = %listener.local_addr()?,
            database = %state.settings.database_url_redacted(),
            environment = ?state.settings.environment,
            "serving GraphQL at /graphql"
        );
        let server = HttpServer::new(move || {
            let settings = &state.settings;
            let mut cors = Cors::default()
                .allowed_methods([Method::GET, Method::POST])
                .allowed_headers([header::AUTHORIZATION, header::CONTENT_TYPE, header::ACCEPT])
                .max_age(3600);
            for origin in &settings.cors_origins {
                cors = cors.allowed_origin(origin);
            }
            let graphql = web::resource("/graphql")
                .route(web::post().to(graphql_post))
                .route(web::get().to(graphql_get));
            App::new()
                .app_data(web::Data::new(schema.clone()))
                .app_data(web::Data::new(state.clone()))
                .app_data(connections.clone())
                .wrap(
                    DefaultHeaders::new()
                        .add(("X-Content-Type-Options", "nosniff"))
                        .add(("X-Frame-Options", "DENY"))
                        .add(("Referrer-Policy", "no-referrer")),
                )
                .wrap(Condition::new(!settings.cors_origins.is_empty(), cors))
                .wrap_fn(|req, srv| {
                    let request_id = req.extensions().get::<RequestId>().copied();
                    srv.call(req).map(move |res| {
                        res.map(|mut res| {
                            if let Some(value) =
                                request_id.and_then(|id| HeaderValue::from_str(&id.to_string()).ok())
                            {
                                res.headers_mut()
                                    .insert(header::HeaderName::from_static("x-request-id"), value);
                            }
                            res
                        })
                    })
                })
                .wrap(TracingLogger::default())
                .service(graphql)
                .route("/graphql/ws", web::get().to(crate::ws::graphql_ws))
                .route("/graphiql", web::get().to(crate::graphiql::page_route))
                .route("/graphiql/assets/{name}", web::get().to(crate::graphiql::asset_route))
                .route("/courses/{file}", web::get().to(crate::http::exports::course_json_ld))
                .route("/providers/{id}/openqcat.xml", web::get().to(crate::http::exports::provider_openqcat))
                .route("/moochub/courses", web::get().to(crate::http::exports::moochub_courses))
                .route("/healthz", web::get().to(probes::healthz))
                .route("/readyz", web::get().to(probes::readyz))
                .configure(|cfg| {
                    if settings.diagnostics {
                        cfg.route("/bench/raw", web::get().to(probes::bench_raw));
                    }
                })
                .default_service(web::to(probes::not_found))
        })
        // A request head must arrive within 5 s (a body has its own deadline, see graphql_post);
        // idle keep-alive connections are closed after 15 s.
        .client_request_timeout(Duration::from_secs(5))
        .client_disconnect_timeout(Duration::from_secs(1))
        .keep_alive(Duration::from_secs(15))
        .listen(listener)?
        .shutdown_timeout(30)
        .run();
        let metrics = match metrics_listener {
            Some(listener) => Some((listener.local_addr()?.port(), metrics_server(metrics_state, listener)?)),
            None => None,
        };
        Ok(Self { port, server, metrics, workers, shutdown })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops the server as SIGTERM would (for tests and embedding): `run_until_stopped` then stops
    /// the workers and returns.
    pub fn stop_handle(&self) -> StopHandle {
        StopHandle(self.server.handle())
    }

    /// The port of the metrics listener, when metrics are served.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics.as_ref().map(|(port, _)| *port)
    }

    /// Serves until SIGINT/SIGTERM: the server stops accepting, finishes requests in flight (up to
    /// 30 s), then the workers finish their batch and stop (up to 30 s more).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let metrics = self.metrics.map(|(_, server)| (server.handle(), tokio::spawn(server)));
        let result = self.server.await;
        if let Some((handle, task)) = metrics {
            handle.stop(true).await;
            let _ = task.await;
        }
        self.shutdown.trigger();
        for mut worker in self.workers {
            if tokio::time::timeout(std::time::Duration::from_secs(30), &mut worker).await.is_err() {
                tracing::warn!("a background worker did not stop within 30 s; aborting it");
                worker.abort();
            }
        }
        tracing::info!("stopped");
        result
    }
}

/// Stops an [`Application`] gracefully.
#[derive(Clone)]
pub struct StopHandle(actix_web::dev::ServerHandle);

impl StopHandle {
    /// Stops taking requests and finishes those in flight; returns once the server has stopped
    /// (the workers stop after it, in `run_until_stopped`).
    pub async fn stop(&self) {
        self.0.stop(true).await;
    }
}

/// The job kinds this instance runs (see [`crate::jobs`]); a kind whose worker is turned off here is
/// left to the other instances.
fn job_registry(settings: &Settings, search: &Backend) -> Registry {
    let mut registry = Registry::default();
    if settings.alerts.worker {
        crate::alerts::register_jobs(&mut registry);
    }
    // A shared index (Meilisearch) is updated by jobs; an embedded one by its own instance's worker.
    if settings.search.worker && matches!(search.position_store(), crate::search::PositionStore::Cursor(_)) {
        registry.register::<crate::search::sync::SyncSharedIndex>();
    }
    registry
}

/// `GET /metrics` alone, for the monitoring network; it follows the public server's signals.
fn metrics_server(state: AppState, listener: TcpListener) -> anyhow::Result<Server> {
    tracing::info!(address = %listener.local_addr()?, "serving metrics at /metrics");
    let server = HttpServer::new(move || {
        App::new()
            .app_data(web::Data::new(state.clone()))
            .route("/metrics", web::get().to(probes::metrics_page))
            .default_service(web::to(|| async { HttpResponse::NotFound().finish() }))
    })
    .workers(1)
    .disable_signals()
    .listen(listener)?
    .shutdown_timeout(5)
    .run();
    Ok(server)
}
