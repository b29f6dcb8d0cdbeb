//! GraphiQL from the server itself (`api/assets/graphiql/`, see its README): no CDN, so it works
//! offline and behind firewalls.

use actix_web::http::header;
use actix_web::{HttpResponse, web};

use crate::graphql::AppState;

const PAGE: &str = include_str!("../assets/graphiql/index.html");

/// A vendored file under `/graphiql/assets/`; its name carries the package version.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

const ASSETS: [Asset; 4] = [
    Asset {
        name: "graphiql-3.9.0.min.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../assets/graphiql/graphiql.min.js"),
    },
    Asset {
        name: "graphiql-3.9.0.min.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("../assets/graphiql/graphiql.min.css"),
    },
    Asset {
        name: "react-18.3.1.production.min.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../assets/graphiql/react.production.min.js"),
    },
    Asset {
        name: "react-dom-18.3.1.production.min.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../assets/graphiql/react-dom.production.min.js"),
    },
];

/// The IDE's page; it may change with any release, so it is not cached.
pub fn page() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(PAGE)
}

/// A vendored file by name; its content never changes under that name.
pub fn asset(name: web::Path<String>) -> HttpResponse {
    match ASSETS.iter().find(|a| a.name == name.as_str()) {
        Some(asset) => HttpResponse::Ok()
            .content_type(asset.content_type)
            .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
            .body(asset.body),
        None => HttpResponse::NotFound().finish(),
    }
}

/// `GET /graphiql`, where GraphiQL is enabled (not in production unless configured).
pub async fn page_route(state: web::Data<AppState>) -> HttpResponse {
    if state.settings.graphiql_enabled() { page() } else { HttpResponse::NotFound().finish() }
}

/// `GET /graphiql/assets/{name}`, where GraphiQL is enabled.
pub async fn asset_route(name: web::Path<String>, state: web::Data<AppState>) -> HttpResponse {
    if state.settings.graphiql_enabled() { asset(name) } else { HttpResponse::NotFound().finish() }
}
