//! Errors as HTTP answers: the GraphQL-shaped body of a refusal before execution, every error's
//! `code` and request id, and the status a response gets (429 rate-limited, 503 unavailable).

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::http::header;
use async_graphql::{BatchResponse, Response};
use serde_json::json;
use tracing_actix_web::RequestId;

use crate::error::Code;
use crate::graphql::errors::code_of;

/// A GraphQL-shaped error response for failures before execution (bad body, bad token, …).
pub(crate) fn error_response(
    status: StatusCode,
    code: Code,
    message: &str,
    field: Option<&str>,
    request_id: &RequestId,
) -> HttpResponse {
    let mut extensions = json!({ "code": code.as_str(), "requestId": request_id.to_string() });
    if let Some(field) = field {
        extensions["field"] = json!(field);
    }
    HttpResponse::build(status).json(json!({ "errors": [{ "message": message, "extensions": extensions }] }))
}

/// The responses of a batch (one for a single operation).
pub(crate) fn responses(batch: &BatchResponse) -> Vec<&Response> {
    match batch {
        BatchResponse::Single(r) => vec![r],
        BatchResponse::Batch(rs) => rs.iter().collect(),
    }
}

/// Every error gets a `code` (errors from the GraphQL engine itself have none) and the request id.
pub(crate) fn finish_batch(response: BatchResponse, request_id: &RequestId) -> BatchResponse {
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
            let code = if input { Code::BadUserInput } else { Code::GraphqlValidationFailed };
            extensions.set("code", code.as_str());
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
pub(crate) fn graphql_response(response: BatchResponse) -> HttpResponse {
    let unavailable = responses(&response).iter().all(|r| {
        r.data == async_graphql::Value::Null
            && !r.errors.is_empty()
            && r.errors.iter().all(|e| code_of(e) == Some(Code::ServiceUnavailable))
    });
    let retry_after = responses(&response)
        .iter()
        .map(|r| {
            r.errors.iter().find_map(|e| {
                let extensions = e.extensions.as_ref()?;
                let limited = code_of(e) == Some(Code::RateLimited);
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
