//! Who a request is: its credential (access token or API key), the client address behind trusted
//! proxies, and what both put into a request's or a WebSocket connection's data.

use std::net::IpAddr;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse};
use async_graphql::Data;
use entity::api_key::ApiKeyScope;
use tracing_actix_web::RequestId;

use super::errors::error_response;
use crate::auth::{AuthUser, Caller};
use crate::error::{ApiError, Code};
use crate::graphql::context::ClientAddress;
use crate::graphql::limits::ReadOnlyCaller;
use crate::graphql::{AppState, LoaderCache, attach_request_data};
use crate::ratelimit::Principal;
use crate::service::api_keys;

/// Who a request acts as: the caller the resolvers see, and whom the rate limit charges.
pub(crate) struct Identity {
    caller: Caller,
    principal: Option<Principal>,
    /// A `READ` API key: queries only.
    read_only: bool,
}

impl Identity {
    /// No credential: an anonymous caller.
    pub(crate) fn is_anonymous(&self) -> bool {
        self.caller.0.is_none()
    }

    /// The user the request acts as (an API key's service account included).
    pub(crate) fn user_id(&self) -> Option<uuid::Uuid> {
        self.caller.0.map(|u| u.user_id)
    }
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
    pub(crate) fn response(&self, request_id: &RequestId) -> HttpResponse {
        match self {
            Self::Invalid(message) => unauthenticated(message, request_id),
            Self::Unchecked(err) => {
                let status = if matches!(err, ApiError::Unavailable(_)) {
                    StatusCode::SERVICE_UNAVAILABLE
                } else {
                    StatusCode::INTERNAL_SERVER_ERROR
                };
                error_response(status, err.code(), &err.message(), None, request_id)
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
        let key = api_keys::authenticate(state, credential)
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

pub(crate) async fn identify_http(
    req: &HttpRequest,
    state: &AppState,
) -> Result<Identity, CredentialRefusal> {
    let credential = credential_from_headers(req).map_err(CredentialRefusal::Invalid)?;
    identify(credential, state).await
}

pub(crate) fn unauthenticated(message: &str, request_id: &RequestId) -> HttpResponse {
    let mut response =
        error_response(StatusCode::UNAUTHORIZED, Code::Unauthenticated, message, None, request_id);
    response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    response
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
