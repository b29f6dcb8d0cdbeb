//! GraphQL over WebSocket at `/graphql/ws` (graphql-transport-ws, and the older graphql-ws), with
//! the bounds a public endpoint needs: connections per client address and in total, a deadline for
//! `connection_init` (close 4408), operations running at once per connection, and keep-alive pings
//! that drop a peer gone silent. Errors carry `extensions.code` as over HTTP.

use std::cell::Cell;
use std::collections::HashMap;
use std::net::IpAddr;
use std::rc::Rc;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use actix_ws::{AggregatedMessage, CloseCode, CloseReason, Session};
use async_graphql::http::{ALL_WEBSOCKET_PROTOCOLS, WebSocket, WebSocketProtocols, WsMessage};
use async_graphql::{Data, Executor, Request, Response, ServerError};
use futures_util::StreamExt;
use futures_util::stream::{self, BoxStream};
use tokio::time::Instant;
use tracing_actix_web::RequestId;

use crate::config::WebSocketSettings;
use crate::error::Code;
use crate::graphql::{AppSchema, AppState, LoaderCache};
use crate::http::errors::{error_response, finish_errors};
use crate::http::identity::{CredentialRefusal, attach_identity, client_address, identify};

/// The close code graphql-transport-ws gives a connection that did not initialise in time.
const INIT_TIMEOUT_CLOSE: u16 = 4408;

/// Open connections of this instance, by client address.
#[derive(Debug)]
pub struct Connections {
    max_total: usize,
    max_per_address: usize,
    open: Mutex<Open>,
}

#[derive(Debug, Default)]
struct Open {
    total: usize,
    by_address: HashMap<IpAddr, usize>,
}

/// Why a connection was not accepted.
#[derive(Debug, PartialEq, Eq)]
enum Refusal {
    Total,
    PerAddress,
}

/// A counted connection; dropping it (when the connection ends, however) frees its place.
struct Permit {
    connections: Arc<Connections>,
    address: Option<IpAddr>,
}

impl Connections {
    pub fn new(settings: &WebSocketSettings) -> Self {
        Self {
            max_total: settings.max_connections,
            max_per_address: settings.max_connections_per_address,
            open: Mutex::default(),
        }
    }

    fn open(&self) -> std::sync::MutexGuard<'_, Open> {
        self.open.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn acquire(self: Arc<Self>, address: Option<IpAddr>) -> Result<Permit, Refusal> {
        {
            let mut open = self.open();
            if open.total >= self.max_total {
                return Err(Refusal::Total);
            }
            if let Some(ip) = address {
                let count = open.by_address.entry(ip).or_default();
                if *count >= self.max_per_address {
                    return Err(Refusal::PerAddress);
                }
                *count += 1;
            }
            open.total += 1;
        }
        Ok(Permit { connections: self, address })
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut open = self.connections.open();
        open.total = open.total.saturating_sub(1);
        if let Some(ip) = self.address
            && let Some(count) = open.by_address.get_mut(&ip)
        {
            *count -= 1;
            if *count == 0 {
                open.by_address.remove(&ip);
            }
        }
    }
}

/// The schema as one connection runs it: operations at once are counted and bounded, and every
/// error gets its code and the request id of the upgrade.
#[derive(Clone)]
struct ConnectionExecutor {
    schema: AppSchema,
    running: Arc<AtomicUsize>,
    max_running: usize,
    request_id: RequestId,
}

/// One running operation; dropped when its stream ends or the client completes it.
struct Running(Arc<AtomicUsize>);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Executor for ConnectionExecutor {
    async fn execute(&self, request: Request) -> Response {
        finish_errors(self.schema.execute(request).await, &self.request_id)
    }

    fn execute_stream(
        &self,
        request: Request,
        session_data: Option<Arc<Data>>,
    ) -> BoxStream<'static, Response> {
        let request_id = self.request_id;
        if self.running.fetch_add(1, Ordering::SeqCst) >= self.max_running {
            self.running.fetch_sub(1, Ordering::SeqCst);
            let mut error = ServerError::new(
                format!(
                    "at most {} subscriptions may run at once on one connection; complete one first",
                    self.max_running
                ),
                None,
            );
            let extensions = error.extensions.get_or_insert_with(Default::default);
            extensions.set("code", Code::RateLimited.as_str());
            extensions.set("limit", self.max_running as u64);
            let response = finish_errors(Response::from_errors(vec![error]), &request_id);
            return stream::once(async move { response }).boxed();
        }
        let running = Running(self.running.clone());
        Executor::execute_stream(&self.schema, request, session_data)
            .map(move |response| {
                let _running = &running;
                finish_errors(response, &request_id)
            })
            .boxed()
    }
}

/// Upgrades to a WebSocket when the client's address and this instance have room for it.
pub async fn graphql_ws(
    req: HttpRequest,
    payload: web::Payload,
    schema: web::Data<AppSchema>,
    state: web::Data<AppState>,
    connections: web::Data<Connections>,
    request_id: RequestId,
) -> HttpResponse {
    let (response, session, messages) =
        match actix_ws::handle_with_protocols(&req, payload, &ALL_WEBSOCKET_PROTOCOLS) {
            Ok(upgrade) => upgrade,
            Err(err) => {
                return error_response(
                    StatusCode::BAD_REQUEST,
                    Code::BadUserInput,
                    &format!("not a WebSocket upgrade: {err}"),
                    None,
                    &request_id,
                );
            }
        };
    let protocol = response
        .headers()
        .get(header::SEC_WEBSOCKET_PROTOCOL)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| WebSocketProtocols::from_str(v).ok());
    let Some(protocol) = protocol else {
        return error_response(
            StatusCode::BAD_REQUEST,
            Code::BadUserInput,
            "Sec-WebSocket-Protocol must offer graphql-transport-ws (or graphql-ws)",
            Some("Sec-WebSocket-Protocol"),
            &request_id,
        );
    };
    let address = client_address(&req, state.settings.limits.trusted_proxy_hops);
    let permit = match connections.into_inner().acquire(address) {
        Ok(permit) => permit,
        Err(refusal) => return refused(refusal, &request_id),
    };
    let settings = state.settings.websocket.clone();
    let executor = ConnectionExecutor {
        schema: AppSchema::clone(&schema),
        running: Arc::default(),
        max_running: settings.max_subscriptions,
        request_id,
    };
    let connection = Connection { session, settings, initialised: Arc::default(), _permit: permit };
    let state = state.into_inner();
    actix_web::rt::spawn(connection.serve(messages, protocol, executor, state, address));
    response
}

/// 429 when the client's address has its share open, 503 when the instance is full.
fn refused(refusal: Refusal, request_id: &RequestId) -> HttpResponse {
    let mut response = match refusal {
        Refusal::PerAddress => error_response(
            StatusCode::TOO_MANY_REQUESTS,
            Code::RateLimited,
            "too many WebSocket connections from this address; close one first",
            None,
            request_id,
        ),
        Refusal::Total => error_response(
            StatusCode::SERVICE_UNAVAILABLE,
            Code::ServiceUnavailable,
            "the server holds as many WebSocket connections as it may; try again later",
            None,
            request_id,
        ),
    };
    response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    response
}

struct Connection {
    session: Session,
    settings: WebSocketSettings,
    /// Set once `connection_init` arrived (its credential may still be being checked).
    initialised: Arc<AtomicBool>,
    _permit: Permit,
}

impl Connection {
    async fn serve(
        mut self,
        messages: actix_ws::MessageStream,
        protocol: WebSocketProtocols,
        executor: ConnectionExecutor,
        state: Arc<AppState>,
        address: Option<IpAddr>,
    ) {
        let ping_interval = Duration::from_millis(self.settings.ping_interval_ms);
        // Any frame counts as a sign of life; pings are answered here, not by the GraphQL layer.
        let heard = Rc::new(Cell::new(Instant::now()));
        let incoming = {
            let heard = heard.clone();
            let session = self.session.clone();
            messages
                .aggregate_continuations()
                .take_while(|message| {
                    std::future::ready(matches!(message, Ok(m) if !matches!(m, AggregatedMessage::Close(_))))
                })
                .filter_map(move |message| {
                    heard.set(Instant::now());
                    let mut session = session.clone();
                    async move {
                        match message {
                            Ok(AggregatedMessage::Text(text)) => Some(text.into_bytes()),
                            Ok(AggregatedMessage::Binary(bytes)) => Some(bytes),
                            Ok(AggregatedMessage::Ping(bytes)) => {
                                let _ = session.pong(&bytes).await;
                                None
                            }
                            _ => None,
                        }
                    }
                })
        };
        let initialised = self.initialised.clone();
        let mut graphql = WebSocket::new(executor, Box::pin(incoming), protocol).on_connection_init(
            move |init: serde_json::Value| {
                initialised.store(true, Ordering::SeqCst);
                async move {
                    let credential = ["Authorization", "authorization", "token", "apiKey"]
                        .iter()
                        .find_map(|key| init.get(key).and_then(|v| v.as_str()));
                    let identity =
                        identify(credential, &state).await.map_err(CredentialRefusal::into_graphql)?;
                    let mut data = Data::default();
                    attach_identity(&mut data, &state, &identity, address, LoaderCache::None);
                    Ok(data)
                }
            },
        );
        let init_deadline = tokio::time::sleep(Duration::from_millis(self.settings.init_timeout_ms));
        tokio::pin!(init_deadline);
        let mut pings = tokio::time::interval_at(Instant::now() + ping_interval, ping_interval);
        // A send that cannot finish within this has a peer that stopped reading.
        let send_deadline = ping_interval * 2;
        loop {
            tokio::select! {
                message = graphql.next() => match message {
                    Some(WsMessage::Text(text)) => {
                        let sent = tokio::time::timeout(send_deadline, self.session.text(text)).await;
                        if !matches!(sent, Ok(Ok(()))) {
                            return;
                        }
                    }
                    Some(WsMessage::Close(code, reason)) => return self.close(code, reason).await,
                    None => return self.close(1000, String::new()).await,
                },
                () = &mut init_deadline, if !self.initialised.load(Ordering::SeqCst) => {
                    return self.close(INIT_TIMEOUT_CLOSE, "Connection initialisation timeout".into()).await;
                }
                _ = pings.tick() => {
                    let silent = heard.get().elapsed();
                    if silent > send_deadline {
                        tracing::debug!(?silent, "dropping a WebSocket peer that stopped answering pings");
                        return;
                    }
                    let sent = tokio::time::timeout(send_deadline, self.session.ping(b"")).await;
                    if !matches!(sent, Ok(Ok(()))) {
                        return;
                    }
                }
            }
        }
    }

    async fn close(self, code: u16, reason: String) {
        let reason = CloseReason { code: CloseCode::from(code), description: Some(reason) };
        let _ = tokio::time::timeout(Duration::from_secs(1), self.session.close(Some(reason))).await;
    }
}
