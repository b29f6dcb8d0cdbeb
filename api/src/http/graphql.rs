//! `POST /graphql` and `GET /graphql`: the body read within its size and time limits, the caller
//! identified, the operations run (a panic is a coded 500), metrics recorded.

use std::panic::AssertUnwindSafe;
use std::time::Duration;

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{ConnectionType, StatusCode};
use actix_web::{HttpRequest, HttpResponse, web};
use async_graphql::parser::types::{DocumentOperations, OperationType};
use async_graphql::{BatchRequest, BatchResponse, Request};
use futures_util::{FutureExt, StreamExt};
use tracing_actix_web::RequestId;

use super::errors::{error_response, finish_batch, graphql_response, responses};
use super::identity::{Identity, attach_identity, client_address, identify_http};
use crate::error::Code;
use crate::graphql::context::RequestId as GraphqlRequestId;
use crate::graphql::errors::code_of;
use crate::graphql::{AppSchema, AppState, LoaderCache};

pub(crate) async fn graphql_post(
    req: HttpRequest,
    payload: web::Payload,
    schema: web::Data<AppSchema>,
    state: web::Data<AppState>,
    request_id: RequestId,
) -> HttpResponse {
    let content_type =
        req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let media = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    let (batch, identity) = match media.as_str() {
        "application/json" => {
            let batch = match read_json(payload, &state, &request_id).await {
                Ok(batch) => batch,
                Err(response) => return response,
            };
            if let Some(refused) = refuse_batch(&batch, &state, &request_id) {
                return refused;
            }
            match identify_http(&req, &state).await {
                Ok(identity) => (batch, identity),
                Err(refusal) => return refusal.response(&request_id),
            }
        }
        // The GraphQL multipart request (file uploads): only for a caller with a credential, whose
        // header a browser does not send cross-site without a preflight.
        "multipart/form-data" => {
            let identity = match identify_http(&req, &state).await {
                Ok(identity) => identity,
                Err(refusal) => return refusal.response(&request_id),
            };
            if identity.is_anonymous() {
                return error_response(
                    StatusCode::UNAUTHORIZED,
                    Code::Unauthenticated,
                    "a file upload needs an access token or an API key",
                    Some("Authorization"),
                    &request_id,
                );
            }
            let batch = match read_multipart(content_type, payload, &state, &request_id).await {
                Ok(batch) => batch,
                Err(response) => return response,
            };
            if let Some(refused) = refuse_batch(&batch, &state, &request_id) {
                return refused;
            }
            (batch, identity)
        }
        _ => {
            return error_response(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                Code::BadUserInput,
                "POST /graphql needs Content-Type: application/json (or multipart/form-data for a file upload)",
                Some("Content-Type"),
                &request_id,
            );
        }
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
    answer(schema.execute_batch(batch), &state, &operations, started, &request_id).await
}

/// The JSON body within its size limit and read deadline.
async fn read_json(
    mut payload: web::Payload,
    state: &AppState,
    request_id: &RequestId,
) -> Result<BatchRequest, HttpResponse> {
    let limit = state.settings.limits.max_body_bytes;
    let too_large = || {
        error_response(
            StatusCode::PAYLOAD_TOO_LARGE,
            Code::BadUserInput,
            &format!("the request body exceeds {limit} bytes"),
            Some("body"),
            request_id,
        )
    };
    let read = async {
        let mut body = web::BytesMut::new();
        while let Some(chunk) = payload.next().await {
            let Ok(chunk) = chunk else {
                return Err(error_response(
                    StatusCode::BAD_REQUEST,
                    Code::BadUserInput,
                    "the request body could not be read",
                    Some("body"),
                    request_id,
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
        Ok(Err(response)) => return Err(response),
        Err(_) => return Err(timed_out(read_timeout, request_id)),
    };
    serde_json::from_slice(&body).map_err(|err| {
        error_response(
            StatusCode::BAD_REQUEST,
            Code::BadUserInput,
            &format!("the body is not a GraphQL request in JSON: {err}"),
            Some("body"),
            request_id,
        )
    })
}

fn timed_out(secs: u64, request_id: &RequestId) -> HttpResponse {
    let mut response = error_response(
        StatusCode::REQUEST_TIMEOUT,
        Code::BadUserInput,
        &format!("the request body did not arrive within {secs} s"),
        Some("body"),
        request_id,
    );
    response.head_mut().set_connection_type(ConnectionType::Close);
    response
}

/// A GraphQL multipart request: its files go to temporary files as they arrive (one file, at most
/// `max_upload_bytes`), within the upload deadline.
async fn read_multipart(
    content_type: &str,
    payload: web::Payload,
    state: &AppState,
    request_id: &RequestId,
) -> Result<BatchRequest, HttpResponse> {
    use futures_util::TryStreamExt;
    let limits = &state.settings.limits;
    let limit = limits.max_upload_bytes;
    let received = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    // The payload lives on this worker's thread; the multipart parser wants a `Send` reader, so a
    // local task hands the chunks over a channel (as async-graphql-actix-web does).
    let (sender, receiver) = tokio::sync::mpsc::channel::<std::io::Result<web::Bytes>>(16);
    let counter = received.clone();
    actix_web::rt::spawn(async move {
        let mut payload = payload;
        while let Some(chunk) = payload.next().await {
            let chunk = chunk.map_err(|e| std::io::Error::other(e.to_string())).and_then(|chunk| {
                let total =
                    counter.fetch_add(chunk.len(), std::sync::atomic::Ordering::Relaxed) + chunk.len();
                // The parts around the file count too: they get 1 MiB.
                if total > limit + 1024 * 1024 { Err(std::io::Error::other("too large")) } else { Ok(chunk) }
            });
            let failed = chunk.is_err();
            if sender.send(chunk).await.is_err() || failed {
                break;
            }
        }
    });
    let body = futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|chunk| (chunk, receiver))
    })
    .into_async_read();
    let options = async_graphql::http::MultipartOptions::default().max_file_size(limit).max_num_files(1);
    let read = async_graphql::http::receive_batch_body(Some(content_type), body, options);
    let too_large = || {
        error_response(
            StatusCode::PAYLOAD_TOO_LARGE,
            Code::BadUserInput,
            &format!("the upload exceeds {limit} bytes (APP_MAX_UPLOAD_BYTES)"),
            Some("file"),
            request_id,
        )
    };
    match tokio::time::timeout(Duration::from_secs(limits.upload_timeout_secs), read).await {
        Ok(Ok(batch)) => Ok(batch),
        Ok(Err(async_graphql::ParseRequestError::PayloadTooLarge)) => Err(too_large()),
        Ok(Err(_)) if received.load(std::sync::atomic::Ordering::Relaxed) > limit => Err(too_large()),
        Ok(Err(err)) => Err(error_response(
            StatusCode::BAD_REQUEST,
            Code::BadUserInput,
            &format!("the body is not a GraphQL multipart request: {err}"),
            Some("body"),
            request_id,
        )),
        Err(_) => Err(timed_out(limits.upload_timeout_secs, request_id)),
    }
}

/// A batch the server does not run: batching off, empty or too long.
fn refuse_batch(batch: &BatchRequest, state: &AppState, request_id: &RequestId) -> Option<HttpResponse> {
    let max_batch = state.settings.limits.max_batch;
    let refused = match batch {
        BatchRequest::Single(_) => None,
        BatchRequest::Batch(_) if max_batch == 0 => Some("batched operations are turned off".to_owned()),
        BatchRequest::Batch(requests) if requests.is_empty() || requests.len() > max_batch => {
            Some(format!("a batch holds 1 to {max_batch} operations"))
        }
        BatchRequest::Batch(_) => None,
    };
    refused.map(|message| {
        error_response(StatusCode::BAD_REQUEST, Code::BadUserInput, &message, Some("body"), request_id)
    })
}

pub(crate) async fn graphql_get(
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
                Code::BadUserInput,
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
            Code::BadUserInput,
            "only queries may use GET; send mutations and subscriptions with POST or over WebSocket",
            Some("query"),
            &request_id,
        );
        response.headers_mut().insert(header::ALLOW, HeaderValue::from_static("POST"));
        return response;
    }
    let operations = vec![operation_name(&request)];
    let started = std::time::Instant::now();
    let execution = schema.execute(request).map(BatchResponse::Single);
    answer(execution, &state, &operations, started, &request_id).await
}

/// Runs the operations and answers: a panicking resolver is a coded 500, every error gets its code
/// and the request id, the metrics record each operation.
async fn answer(
    execution: impl std::future::Future<Output = BatchResponse>,
    state: &AppState,
    operations: &[Option<String>],
    started: std::time::Instant,
    request_id: &RequestId,
) -> HttpResponse {
    let Ok(response) = AssertUnwindSafe(execution).catch_unwind().await else {
        tracing::error!(request_id = %request_id, "a resolver panicked");
        return error_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            Code::InternalServerError,
            "internal server error",
            None,
            request_id,
        );
    };
    let response = finish_batch(response, request_id);
    observe(state, operations, started, &response);
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
        let codes: Vec<_> = r.errors.iter().filter_map(code_of).collect();
        let name = operations.get(i).and_then(|o| o.as_deref());
        state.metrics.request(name, elapsed, &codes);
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
