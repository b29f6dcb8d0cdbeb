//! What resolvers read from the context: shared state, the caller, per-request loaders.

use std::sync::Arc;

use async_graphql::dataloader::DataLoader;
use async_graphql::{Context, Data};
use sea_orm::DatabaseConnection;
use uuid::Uuid;

use crate::auth::{AuthUser, Caller, JwtKeys};
use crate::config::Settings;
use crate::error::{ApiError, ApiResult};
use crate::events::EventBus;
use crate::graphql::organization::loaders::{MembersLoader, OrganizationLoader, UserLoader};

/// Shared by all requests of one server.
#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub jwt: Arc<JwtKeys>,
    pub events: EventBus,
    pub settings: Arc<Settings>,
}

/// The id of one HTTP request, as logged; copied into every error's extensions.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Adds the caller and fresh loaders (their batches are per request) to a request's or a WebSocket
/// connection's data.
pub fn attach_request_data(data: &mut Data, state: &AppState, caller: Caller) {
    data.insert(caller);
    data.insert(DataLoader::new(OrganizationLoader { db: state.db.clone() }, tokio::spawn));
    data.insert(DataLoader::new(UserLoader { db: state.db.clone() }, tokio::spawn));
    data.insert(DataLoader::new(MembersLoader { db: state.db.clone() }, tokio::spawn));
}

pub fn state<'a>(ctx: &Context<'a>) -> ApiResult<&'a AppState> {
    ctx.data::<AppState>()
        .map_err(|_| ApiError::Internal(anyhow::anyhow!("AppState missing from schema data")))
}

pub fn loader<'a, T: Send + Sync + 'static>(ctx: &Context<'a>) -> ApiResult<&'a DataLoader<T>> {
    ctx.data::<DataLoader<T>>()
        .map_err(|_| ApiError::Internal(anyhow::anyhow!("a DataLoader is missing from request data")))
}

/// The authenticated caller, if any.
pub fn viewer(ctx: &Context<'_>) -> Option<AuthUser> {
    ctx.data_opt::<Caller>().and_then(|c| c.0)
}

/// The authenticated caller's user id, or `UNAUTHENTICATED`.
pub fn require_user(ctx: &Context<'_>) -> ApiResult<Uuid> {
    viewer(ctx).map(|u| u.user_id).ok_or_else(ApiError::unauthenticated)
}

/// Parses an `ID` argument; a malformed one is bad input naming `field`.
pub fn parse_id(field: &str, id: &async_graphql::ID) -> ApiResult<Uuid> {
    Uuid::parse_str(id.as_str()).map_err(|_| ApiError::bad_input(field, format!("{field} is not a valid id")))
}
