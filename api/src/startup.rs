//! The HTTP server: routes, request handling, GraphQL over HTTP and WebSocket.

use std::net::{IpAddr, TcpListener};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use actix_cors::Cors;
use actix_web::dev::{Server, Service};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{ConnectionType, Method, StatusCode};
use actix_web::middleware::{Condition, DefaultHeaders};
use actix_web::{App, HttpMessage, HttpRequest, HttpResponse, HttpServer, web};
use anyhow::Context;
use async_graphql::parser::types::{DocumentOperations, OperationType};
use async_graphql::{BatchRequest, BatchResponse, Data, Request, Response};
use futures_util::{FutureExt, StreamExt};
use sea_orm::DatabaseConnection;
use secrecy::ExposeSecret;
use serde_json::json;
use tokio::sync::Notify;
use tracing_actix_web::{RequestId, TracingLogger};

use crate::auth::{AuthUser, Caller, JwtKeys};
use crate::config::Settings;
use crate::db;
use crate::db::reads::Reads;
use crate::error::ApiError;
use crate::events::EventBus;
use crate::graphql::context::{ClientAddress, RequestId as GraphqlRequestId};
use crate::graphql::limits::ReadOnlyCaller;
use crate::graphql::{AppSchema, AppState, LoaderCache, SchemaOptions, attach_request_data, build_schema};
use crate::jobs::{Registry, Runner, RunnerOptions};
use crate::ratelimit::Principal;
use crate::search::Backend;
use crate::search::worker::{IndexingStats, Worker};
use crate::service::api_keys;
use crate::shutdown::Shutdown;
use entity::api_key::ApiKeyScope;

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
        let listener =
            TcpListener::bind(settings.bind).with_context(|| format!("binding {}", settings.bind))?;
        Self::with_listener(settings, db, search, listener)
    }

    /// Serves on `listener`; starts the search indexing worker on the current runtime.
    pub fn with_listener(
        settings: Settings,
        db: DatabaseConnection,
        search: Backend,
        listener: TcpListener,
    ) -> anyhow::Result<Self> {
        let jwt = Arc::new(JwtKeys::from_settings(&settings.auth, &settings.data_dir)?);
        crate::auth::password::configure(
            settings.auth.password_hash_concurrency,
            std::time::Duration::from_millis(settings.auth.password_hash_queue_timeout_ms),
        );
        let options = SchemaOptions { introspection: !settings.is_production() };
        let indexing = Arc::new(IndexingStats::default());
        let shutdown = Shutdown::default();
        let metrics = Arc::new(crate::metrics::Metrics::new(settings.metrics.max_operations));
        let metrics_listener = match settings.metrics.bind {
            Some(address) => {
                Some(TcpListener::bind(address).with_context(|| format!("binding metrics at {address}"))?)
            }
            None => None,
        };
        let mut workers = Vec::new();
        let indexing_wake = Arc::new(Notify::new());
        if settings.search.worker {
            let worker = Worker::with_settings(
                db.clone(),
                search.clone(),
                indexing.clone(),
                indexing_wake.clone(),
                &settings.search,
            );
            workers.push(tokio::spawn(worker.run(shutdown.stop_signal())));
        }
        let events = EventBus::for_database(&db);
        let jobs_wake = Arc::new(Notify::new());
        let reads = Reads::new(db.clone(), settings.database_url().expose_secret());
        let registry = job_registry(&settings);
        let state = AppState {
            db,
            reads,
            jwt,
            events,
            settings: Arc::new(settings),
            search,
            indexing,
            jobs_wake,
            indexing_wake,
            metrics,
        };
        if state.settings.jobs.worker && !registry.is_empty() {
            let runner = Runner::new(state.clone(), registry, RunnerOptions::from(&state.settings.jobs));
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
                .route("/graphiql", web::get().to(graphiql))
                .route("/graphiql/assets/{name}", web::get().to(graphiql_asset))
                .route("/healthz", web::get().to(healthz))
                .route("/readyz", web::get().to(readyz))
                .configure(|cfg| {
                    if settings.diagnostics {
                        cfg.route("/bench/raw", web::get().to(bench_raw));
                    }
                })
                .default_service(web::to(not_found))
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

/// The job kinds this instance runs (see [`crate::jobs`]); a kind whose worker is turned off here is
/// left to the other instances.
fn job_registry(settings: &Settings) -> Registry {
    let mut registry = Registry::default();
    if settings.alerts.worker {
        crate::alerts::register_jobs(&mut registry);
    }
    registry
}

/// `GET /metrics` alone, for the monitoring network; it follows the public server's signals.
fn metrics_server(state: AppState, listener: TcpListener) -> anyhow::Result<Server> {
    tracing::info!(address = %listener.local_addr()?, "serving metrics at /metrics");
    let server = HttpServer::new(move || {
        App::new()
            .app_data(web::Data::new(state.clone()))
            .route("/metrics", web::get().to(metrics_page))
            .default_service(web::to(|| async { HttpResponse::NotFound().finish() }))
    })
    .workers(1)
    .disable_signals()
    .listen(listener)?
    .shutdown_timeout(5)
    .run();
    Ok(server)
}

/// A GraphQL-shaped error response for failures before execution (bad body, bad token, …).
pub(crate) fn error_response(
    status: StatusCode,
    code: &str,
    message: &str,
    field: Option<&str>,
    request_id: &RequestId,
) -> HttpResponse {
    let mut extensions = json!({ "code": code, "requestId": request_id.to_string() });
    if let Some(field) = field {
        extensions["field"] = json!(field);
    }
    HttpResponse::build(status).json(json!({ "errors": [{ "message": message, "extensions": extensions }] }))
}

/// Who a request acts as: the caller the resolvers see, and whom the rate limit charges.
pub(crate) struct Identity {
    caller: Caller,
    principal: Option<Principal>,
    /// A `READ` API key: queries only.
    read_only: bool,
}

/// Why a presented credential was not accepted.
pub(crate) enum CredentialRefusal {
    /// Not valid (HTTP 401 `UNAUTHENTICATED`).
    Invalid(&'static str),
    /// It could not be checked: the database is unreachable (503 `SERVICE_UNAVAILABLE`, retry) or
    /// failed otherwise. Never 401, which tells a client to sign in again.
    Unchecked(ApiError),
}

impl CredentialRefusal {
    fn response(&self, request_id: &RequestId) -> HttpResponse {
        match self {
            Self::Invalid(message) => unauthenticated(message, request_id),
            Self::Unchecked(err) => {
                let status = if matches!(err, ApiError::Unavailable(_)) {
                    StatusCode::SERVICE_UNAVAILABLE
                } else {
                    StatusCode::INTERNAL_SERVER_ERROR
                };
                error_response(status, err.code().as_str(), &err.message(), None, request_id)
            }
        }
    }

    /// The error a WebSocket `connection_init` is refused with.
    pub(crate) fn into_graphql(self) -> async_graphql::Error {
        match self {
            Self::Invalid(message) => async_graphql::Error::new(message),
            Self::Unchecked(err) => crate::graphql::errors::to_graphql(&err),
        }
    }
}

/// Resolves a presented credential (an access token or an API key, with or without `Bearer `):
/// anonymous without one, an error for anything that is not valid (never silently anonymous).
pub(crate) async fn identify(
    credential: Option<&str>,
    state: &AppState,
) -> Result<Identity, CredentialRefusal> {
    let Some(credential) = credential else {
        return Ok(Identity { caller: Caller(None), principal: None, read_only: false });
    };
    let credential = credential
        .strip_prefix("Bearer ")
        .or_else(|| credential.strip_prefix("bearer "))
        .unwrap_or(credential)
        .trim();
    if api_keys::is_api_key(credential) {
        let key = api_keys::authenticate(&state.db, credential)
            .await
            .map_err(CredentialRefusal::Unchecked)?
            .ok_or(CredentialRefusal::Invalid("the API key is invalid or revoked"))?;
        let caller = key.service_user_id.map(|user_id| AuthUser { user_id, api_key: Some(key.id) });
        return Ok(Identity {
            caller: Caller(caller),
            principal: Some(Principal::ApiKey(key.id)),
            read_only: key.scope == ApiKeyScope::Read,
        });
    }
    let user = state
        .jwt
        .verify(credential)
        .ok_or(CredentialRefusal::Invalid("the access token is invalid or expired"))?;
    // A token outlives a deleted account; without this check its writes would hit foreign keys.
    state
        .reads
        .by_id::<entity::user::Entity>(user.user_id)
        .await
        .map_err(|e| CredentialRefusal::Unchecked(e.into()))?
        .ok_or(CredentialRefusal::Invalid("the account of this access token no longer exists"))?;
    Ok(Identity {
        caller: Caller(Some(user)),
        principal: Some(Principal::User(user.user_id)),
        read_only: false,
    })
}

/// The credential of an HTTP request: `Authorization: Bearer …` or `X-API-Key`.
fn credential_from_headers(req: &HttpRequest) -> Result<Option<&str>, &'static str> {
    if let Some(value) = req.headers().get(header::AUTHORIZATION) {
        let value = value.to_str().ok().filter(|v| v.starts_with("Bearer ") || v.starts_with("bearer "));
        return value.map(Some).ok_or("the Authorization header must be `Bearer <access token or API key>`");
    }
    match req.headers().get("x-api-key") {
        Some(value) => value.to_str().map(Some).map_err(|_| "the X-API-Key header is not a valid key"),
        None => Ok(None),
    }
}

/// The client's address: the TCP peer, or with `hops` trusted proxies the entry of
/// `X-Forwarded-For` that many places from the right (the address the outermost proxy saw).
pub(crate) fn client_address(req: &HttpRequest, hops: usize) -> Option<IpAddr> {
    let peer = req.peer_addr().map(|a| a.ip());
    if hops == 0 {
        return peer;
    }
    let forwarded: Vec<IpAddr> = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|entry| entry.trim().parse().ok())
        .collect();
    let index = forwarded.len().saturating_sub(hops);
    forwarded.get(index).copied().or(peer)
}

async fn identify_http(req: &HttpRequest, state: &AppState) -> Result<Identity, CredentialRefusal> {
    let credential = credential_from_headers(req).map_err(CredentialRefusal::Invalid)?;
    identify(credential, state).await
}

fn unauthenticated(message: &str, request_id: &RequestId) -> HttpResponse {
    let mut response = error_response(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED", message, None, request_id);
    response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    response
}

async fn graphql_post(
    req: HttpRequest,
    mut payload: web::Payload,
    schema: web::Data<AppSchema>,
    state: web::Data<AppState>,
    request_id: RequestId,
) -> HttpResponse {
    let is_json = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| {
        v.split(';').next().is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
    });
    if !is_json {
        return error_response(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "BAD_USER_INPUT",
            "POST /graphql needs Content-Type: application/json",
            Some("Content-Type"),
            &request_id,
        );
    }
    let limit = state.settings.limits.max_body_bytes;
    let too_large = || {
        error_response(
            StatusCode::PAYLOAD_TOO_LARGE,
            "BAD_USER_INPUT",
            &format!("the request body exceeds {limit} bytes"),
            Some("body"),
            &request_id,
        )
    };
    let read = async {
        let mut body = web::BytesMut::new();
        while let Some(chunk) = payload.next().await {
            let Ok(chunk) = chunk else {
                return Err(error_response(
                    StatusCode::BAD_REQUEST,
                    "BAD_USER_INPUT",
                    "the request body could not be read",
                    Some("body"),
                    &request_id,
                ));
            };
            if body.len() + chunk.len() > limit {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    };
    // A client trickling its body would otherwise hold the connection as long as it likes.
    let read_timeout = state.settings.limits.body_read_timeout_secs;
    let body = match tokio::time::timeout(Duration::from_secs(read_timeout), read).await {
        Ok(Ok(body)) => body,
        Ok(Err(response)) => return response,
        Err(_) => {
            let mut response = error_response(
                StatusCode::REQUEST_TIMEOUT,
                "BAD_USER_INPUT",
                &format!("the request body did not arrive within {read_timeout} s"),
                Some("body"),
                &request_id,
            );
            response.head_mut().set_connection_type(ConnectionType::Close);
            return response;
        }
    };
    let batch: BatchRequest = match serde_json::from_slice(&body) {
        Ok(batch) => batch,
        Err(err) => {
            return error_response(
                StatusCode::BAD_REQUEST,
                "BAD_USER_INPUT",
                &format!("the body is not a GraphQL request in JSON: {err}"),
                Some("body"),
                &request_id,
            );
        }
    };
    let max_batch = state.settings.limits.max_batch;
    let refused = match &batch {
        BatchRequest::Single(_) => None,
        BatchRequest::Batch(_) if max_batch == 0 => Some("batched operations are turned off".to_owned()),
        BatchRequest::Batch(requests) if requests.is_empty() || requests.len() > max_batch => {
            Some(format!("a batch holds 1 to {max_batch} operations"))
        }
        BatchRequest::Batch(_) => None,
    };
    if let Some(message) = refused {
        return error_response(
            StatusCode::BAD_REQUEST,
            "BAD_USER_INPUT",
            &message,
            Some("body"),
            &request_id,
        );
    }
    let identity = match identify_http(&req, &state).await {
        Ok(identity) => identity,
        Err(refusal) => return refusal.response(&request_id),
    };
    let operations: Vec<Option<String>> = match &batch {
        BatchRequest::Single(r) => vec![operation_name(r)],
        BatchRequest::Batch(rs) => rs.iter().map(operation_name).collect(),
    };
    let started = std::time::Instant::now();
    let batch = match batch {
        BatchRequest::Single(request) => {
            BatchRequest::Single(prepare(request, &state, &identity, &request_id, &req))
        }
        BatchRequest::Batch(requests) => BatchRequest::Batch(
            requests.into_iter().map(|r| prepare(r, &state, &identity, &request_id, &req)).collect(),
        ),
    };
    let response = match AssertUnwindSafe(schema.execute_batch(batch)).catch_unwind().await {
        Ok(response) => response,
        Err(_) => {
            tracing::error!(request_id = %request_id, "a resolver panicked");
            return error_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                "INTERNAL_SERVER_ERROR",
                "internal server error",
                None,
                &request_id,
            );
        }
    };
    let response = finish_batch(response, &request_id);
    observe(&state, &operations, started, &response);
    graphql_response(response)
}

async fn graphql_get(
    req: HttpRequest,
    schema: web::Data<AppSchema>,
    state: web::Data<AppState>,
    request_id: RequestId,
) -> HttpResponse {
    let wants_html = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"));
    if req.query_string().is_empty() && wants_html && state.settings.graphiql_enabled() {
        return crate::graphiql::page();
    }
    let request = match async_graphql::http::parse_query_string(req.query_string()) {
        Ok(request) => request,
        Err(err) => {
            return error_response(
                StatusCode::BAD_REQUEST,
                "BAD_USER_INPUT",
                &format!("the query string is not a GraphQL request: {err}"),
                Some("query"),
                &request_id,
            );
        }
    };
    let identity = match identify_http(&req, &state).await {
        Ok(identity) => identity,
        Err(refusal) => return refusal.response(&request_id),
    };
    let mut request = prepare(request, &state, &identity, &request_id, &req);
    if !is_query(&mut request) {
        let mut response = error_response(
            StatusCode::METHOD_NOT_ALLOWED,
            "BAD_USER_INPUT",
            "only queries may use GET; send mutations and subscriptions with POST or over WebSocket",
            Some("query"),
            &request_id,
        );
        response.headers_mut().insert(header::ALLOW, HeaderValue::from_static("POST"));
        return response;
    }
    let operations = vec![operation_name(&request)];
    let started = std::time::Instant::now();
    let response = match AssertUnwindSafe(schema.execute(request)).catch_unwind().await {
        Ok(response) => response,
        Err(_) => {
            tracing::error!(request_id = %request_id, "a resolver panicked");
            return error_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                "INTERNAL_SERVER_ERROR",
                "internal server error",
                None,
                &request_id,
            );
        }
    };
    let response = finish_batch(BatchResponse::Single(response), &request_id);
    observe(&state, &operations, started, &response);
    graphql_response(response)
}

/// The operation's name: `operationName`, else the name in a document such as `query Suche { … }`.
fn operation_name(request: &Request) -> Option<String> {
    if request.operation_name.is_some() {
        return request.operation_name.clone();
    }
    let text = request.query.trim_start();
    let rest = ["query", "mutation", "subscription"].iter().find_map(|keyword| text.strip_prefix(keyword))?;
    // `query($id: ID!)` and `query {` have no name; whatever follows is not one either.
    let rest = rest.strip_prefix(char::is_whitespace)?.trim_start();
    let name: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
    (!name.is_empty() && !name.starts_with(|c: char| c.is_ascii_digit())).then_some(name)
}

/// Records each operation of a response in the metrics.
fn observe(
    state: &AppState,
    operations: &[Option<String>],
    started: std::time::Instant,
    response: &BatchResponse,
) {
    let elapsed = started.elapsed();
    for (i, r) in responses(response).into_iter().enumerate() {
        let codes: Vec<String> = r
            .errors
            .iter()
            .filter_map(|e| {
                e.extensions
                    .as_ref()
                    .and_then(|x| x.get("code"))
                    .map(|c| c.to_string().trim_matches('"').to_owned())
            })
            .collect();
        let name = operations.get(i).and_then(|o| o.as_deref());
        state.metrics.request(name, elapsed, &codes);
    }
}

/// The responses of a batch (one for a single operation).
fn responses(batch: &BatchResponse) -> Vec<&Response> {
    match batch {
        BatchResponse::Single(r) => vec![r],
        BatchResponse::Batch(rs) => rs.iter().collect(),
    }
}

/// Whether the operation a GET would run is a query. A document that does not parse counts as a
/// query here; execution then reports the syntax error.
fn is_query(request: &mut Request) -> bool {
    let operation_name = request.operation_name.clone();
    let Ok(document) = request.parsed_query() else {
        return true;
    };
    match &document.operations {
        DocumentOperations::Single(op) => op.node.ty == OperationType::Query,
        DocumentOperations::Multiple(ops) => match operation_name {
            Some(name) => ops.get(name.as_str()).is_none_or(|op| op.node.ty == OperationType::Query),
            None => ops.values().all(|op| op.node.ty == OperationType::Query),
        },
    }
}

fn prepare(
    mut request: Request,
    state: &AppState,
    identity: &Identity,
    request_id: &RequestId,
    http: &HttpRequest,
) -> Request {
    let address = client_address(http, state.settings.limits.trusted_proxy_hops);
    attach_identity(&mut request.data, state, identity, address, LoaderCache::PerRequest);
    request.data.insert(GraphqlRequestId(request_id.to_string()));
    request
}

/// The caller, loaders, client address, rate-limit principal and read-only mark of a request or a
/// WebSocket connection.
pub(crate) fn attach_identity(
    data: &mut Data,
    state: &AppState,
    identity: &Identity,
    address: Option<IpAddr>,
    cache: LoaderCache,
) {
    attach_request_data(data, state, identity.caller, cache);
    if let Some(ip) = address {
        data.insert(ClientAddress(ip));
    }
    if let Some(principal) = identity.principal.or(address.map(Principal::Address)) {
        data.insert(principal);
    }
    if identity.read_only {
        data.insert(ReadOnlyCaller);
    }
}

/// Every error gets a `code` (errors from the GraphQL engine itself have none) and the request id.
fn finish_batch(response: BatchResponse, request_id: &RequestId) -> BatchResponse {
    match response {
        BatchResponse::Single(r) => BatchResponse::Single(finish_errors(r, request_id)),
        BatchResponse::Batch(rs) => {
            BatchResponse::Batch(rs.into_iter().map(|r| finish_errors(r, request_id)).collect())
        }
    }
}

pub(crate) fn finish_errors(mut response: Response, request_id: &RequestId) -> Response {
    for error in &mut response.errors {
        let executed = !error.path.is_empty();
        let message = error.message.clone();
        let extensions = error.extensions.get_or_insert_with(Default::default);
        if extensions.get("code").is_none() {
            // Our resolvers always set a code; what has none comes from the engine itself: input
            // coercion at execution, or parsing and validation before it.
            let input = executed
                || message.starts_with("Failed to parse")
                || message.starts_with("Invalid value")
                || message.starts_with("Expected input type");
            extensions.set("code", if input { "BAD_USER_INPUT" } else { "GRAPHQL_VALIDATION_FAILED" });
            if let Some(argument) = quoted_argument(&message) {
                extensions.set("field", argument);
            }
        }
        extensions.set("requestId", request_id.to_string());
    }
    response
}

/// The argument named in an engine message such as `Invalid value for argument "filter.formats.0"`.
fn quoted_argument(message: &str) -> Option<String> {
    let rest = message.split_once("argument \"")?.1;
    Some(rest.split_once('"')?.0.to_owned())
}

/// 200 with the GraphQL response; 429 with `Retry-After` when the rate limit refused every operation;
/// 503 when no operation ran because a dependency is down (no data, every error
/// `SERVICE_UNAVAILABLE`), so the client knows it may repeat the request.
fn graphql_response(response: BatchResponse) -> HttpResponse {
    let unavailable = responses(&response).iter().all(|r| {
        r.data == async_graphql::Value::Null
            && !r.errors.is_empty()
            && r.errors.iter().all(|e| {
                matches!(e.extensions.as_ref().and_then(|x| x.get("code")),
                    Some(async_graphql::Value::String(c)) if c == "SERVICE_UNAVAILABLE")
            })
    });
    let retry_after = responses(&response)
        .iter()
        .map(|r| {
            r.errors.iter().find_map(|e| {
                let extensions = e.extensions.as_ref()?;
                let limited = matches!(extensions.get("code"), Some(async_graphql::Value::String(c)) if c == "RATE_LIMITED");
                match extensions.get("retryAfter") {
                    Some(async_graphql::Value::Number(n)) if limited => n.as_u64(),
                    _ => None,
                }
            })
        })
        .collect::<Option<Vec<u64>>>()
        .and_then(|waits| waits.into_iter().max());
    let mut builder = match retry_after {
        Some(secs) => {
            let mut b = HttpResponse::TooManyRequests();
            b.insert_header((header::RETRY_AFTER, secs.to_string()));
            b
        }
        None if unavailable => HttpResponse::ServiceUnavailable(),
        None => HttpResponse::Ok(),
    };
    builder.insert_header((header::CACHE_CONTROL, "no-store")).json(response)
}

async fn graphiql(state: web::Data<AppState>) -> HttpResponse {
    if state.settings.graphiql_enabled() {
        crate::graphiql::page()
    } else {
        HttpResponse::NotFound().finish()
    }
}

async fn graphiql_asset(name: web::Path<String>, state: web::Data<AppState>) -> HttpResponse {
    if state.settings.graphiql_enabled() {
        crate::graphiql::asset(name)
    } else {
        HttpResponse::NotFound().finish()
    }
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// Ready when the database answers within a second (not behind requests queueing for the pool).
/// Also reports search indexing: the position the index has applied against the change log's head
/// (lag), the last batch's time to search, and the last comparison with the database (drift) with
/// the repairs done since start.
async fn readyz(state: web::Data<AppState>) -> HttpResponse {
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
    async fn read(state: &AppState) -> Self {
        let position = state.indexing.position();
        let lag = crate::search::outbox::lag(&state.db, position.unwrap_or(0)).await.unwrap_or_default();
        Self { position: position.unwrap_or(-1), lag }
    }
}

/// Prometheus metrics of this instance.
async fn metrics_page(state: web::Data<AppState>) -> HttpResponse {
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
async fn bench_raw() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "data": { "course": { "title": "SPS-Programmierung mit TIA Portal" } } }))
}

async fn not_found(request_id: RequestId) -> HttpResponse {
    error_response(StatusCode::NOT_FOUND, "NOT_FOUND", "no such route", None, &request_id)
}
