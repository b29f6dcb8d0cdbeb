//! Documents of the catalogue beside GraphQL: for partner pages and search engines
//! `GET /courses/{id}.jsonld` (a public course as schema.org JSON-LD), `GET /courses/{id}.elm.jsonld`
//! (as European Learning Model 3 JSON-LD, for Europass) and `GET /moochub/courses?page=N` (the
//! online catalogue as MOOChub v3); for a provider's members
//! `GET /providers/{id}/openqcat.xml` (its catalogue as OpenQCAT 1.1, for KURSNET or another system).

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use tracing_actix_web::RequestId;

use crate::error::{ApiError, Code};
use crate::exchange::{elm, moochub, openqcat_export, schema_org};
use crate::graphql::AppState;
use crate::http::errors::error_response;

/// The origin a client reached us at (behind a proxy: what it forwards), for the documents' `@id`s.
fn origin(req: &HttpRequest) -> String {
    let info = req.connection_info();
    format!("{}://{}", info.scheme(), info.host())
}

fn refused(err: &ApiError, request_id: &RequestId) -> HttpResponse {
    let status = match err.code() {
        Code::NotFound => StatusCode::NOT_FOUND,
        Code::BadUserInput => StatusCode::BAD_REQUEST,
        Code::ServiceUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    error_response(status, err.code(), &err.message(), err.field(), request_id)
}

/// The provider's PUBLISHED courses (with `?drafts=true` its drafts too) as an OpenQCAT full
/// catalogue, for any member of the provider (an access token or an ORGANIZATION key).
pub async fn provider_openqcat(
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<std::collections::HashMap<String, String>>,
    state: web::Data<AppState>,
    request_id: RequestId,
) -> HttpResponse {
    let identity = match crate::http::identity::identify_http(&req, &state).await {
        Ok(identity) => identity,
        Err(refusal) => return refusal.response(&request_id),
    };
    let Some(caller) = identity.user_id() else {
        return error_response(
            StatusCode::UNAUTHORIZED,
            Code::Unauthenticated,
            "the catalogue export needs an access token or an API key",
            Some("Authorization"),
            &request_id,
        );
    };
    let Ok(provider_id) = uuid::Uuid::parse_str(&path) else {
        return refused(&ApiError::not_found("organization"), &request_id);
    };
    let provider = match openqcat_export::provider_for(&state.db, caller, provider_id).await {
        Ok(provider) => provider,
        Err(err) => return refused(&err, &request_id),
    };
    let drafts = query.get("drafts").is_some_and(|v| v == "true");
    let mut body = Vec::new();
    if let Err(err) = openqcat_export::export(&state.db, &provider, drafts, &mut body).await {
        return refused(&err, &request_id);
    }
    HttpResponse::Ok()
        .content_type("application/xml; charset=ISO-8859-15")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"openqcat-{}.xml\"", provider.slug),
        ))
        .body(body)
}

/// A public document any origin may fetch and caches may keep for five minutes.
fn public(content_type: &str, document: serde_json::Value) -> HttpResponse {
    let mut response = HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .json(document);
    response.headers_mut().insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    response
}

/// A public course (PUBLISHED or ARCHIVED) as schema.org `Course` JSON-LD (`{id}.jsonld`) or as
/// ELM 3 JSON-LD (`{id}.elm.jsonld`); any origin may fetch it.
pub async fn course_json_ld(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
    request_id: RequestId,
) -> HttpResponse {
    let (id, european) = match path.strip_suffix(".elm.jsonld") {
        Some(id) => (id, true),
        None => (path.strip_suffix(".jsonld").unwrap_or_default(), false),
    };
    let Ok(id) = uuid::Uuid::parse_str(id) else {
        return refused(&ApiError::not_found("course"), &request_id);
    };
    let course = match schema_org::public_course(&state, id).await {
        Ok(course) => course,
        Err(err) => return refused(&err, &request_id),
    };
    let document = if european {
        elm::document(&course, &origin(&req))
    } else {
        schema_org::document(&course, &origin(&req))
    };
    public("application/ld+json; charset=utf-8", document)
}

/// One page (`?page=N`, from 1) of the PUBLISHED online and blended courses as MOOChub v3.
pub async fn moochub_courses(
    req: HttpRequest,
    query: web::Query<std::collections::HashMap<String, String>>,
    state: web::Data<AppState>,
    request_id: RequestId,
) -> HttpResponse {
    let page = match query.get("page").map(|p| p.parse::<u64>()) {
        None => 1,
        Some(Ok(page)) if page >= 1 => page,
        Some(_) => return refused(&ApiError::bad_input("page", "page must be a number from 1"), &request_id),
    };
    match moochub::page(&state.db, &origin(&req), page).await {
        Ok(document) => public(moochub::MEDIA_TYPE, document),
        Err(err) => refused(&err, &request_id),
    }
}
