//! What resolvers read from the context: shared state, the caller, per-request loaders.

use std::collections::{HashMap, HashSet};
use std::hash::Hash;

use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};
use async_graphql::{Context, Data};
use uuid::Uuid;

use crate::auth::{AuthUser, Caller};
pub use crate::context::AppState;
use crate::error::{ApiError, ApiResult};
use crate::graphql::catalog::loaders::{CourseLoader, CourseSkillsLoader, OfferingsLoader};
use crate::graphql::need::loaders::{
    CallerOrganizationsLoader, NeedSkillsLoader, OffersLoader, ParticipationsLoader,
};
use crate::graphql::organization::loaders::{LoadError, MembersLoader, OrganizationLoader, UserLoader};
use crate::graphql::skill::types::SkillCategoryLoader;

/// The client's address as the server saw it (the TCP peer), for sign-in throttling.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddress(pub std::net::IpAddr);

/// The id of one HTTP request, as logged; copied into every error's extensions.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// How long loaded relations are remembered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoaderCache {
    /// For one HTTP request: list resolvers prime the loaders, fields read from the cache.
    PerRequest,
    /// A WebSocket connection lives long; its loaders batch but never remember.
    None,
}

/// Adds the caller and fresh loaders to a request's or a WebSocket connection's data.
pub fn attach_request_data(data: &mut Data, state: &AppState, caller: Caller, cache: LoaderCache) {
    fn add<T: Send + Sync + 'static>(data: &mut Data, loader: T, cache: LoaderCache) {
        data.insert(match cache {
            LoaderCache::PerRequest => {
                RequestLoader::Cached(DataLoader::with_cache(loader, tokio::spawn, HashMapCache::default()))
            }
            LoaderCache::None => RequestLoader::Uncached(DataLoader::new(loader, tokio::spawn)),
        });
    }
    data.insert(caller);
    add(data, OrganizationLoader { reads: state.reads.clone() }, cache);
    add(data, UserLoader { reads: state.reads.clone() }, cache);
    add(data, MembersLoader { state: state.clone() }, cache);
    add(data, CourseLoader { reads: state.reads.clone() }, cache);
    add(data, OfferingsLoader { state: state.clone() }, cache);
    add(data, CourseSkillsLoader { state: state.clone() }, cache);
    add(data, NeedSkillsLoader { state: state.clone() }, cache);
    add(data, ParticipationsLoader { state: state.clone() }, cache);
    add(data, OffersLoader { state: state.clone() }, cache);
    add(data, CallerOrganizationsLoader { state: state.clone() }, cache);
    add(data, SkillCategoryLoader { state: state.clone() }, cache);
}

pub fn state<'a>(ctx: &Context<'a>) -> ApiResult<&'a AppState> {
    ctx.data::<AppState>()
        .map_err(|_| ApiError::Internal(anyhow::anyhow!("AppState missing from schema data")))
}

/// A DataLoader with or without a cache (see [`LoaderCache`]).
pub enum RequestLoader<T> {
    Cached(DataLoader<T, HashMapCache>),
    Uncached(DataLoader<T>),
}

impl<T: Send + Sync + 'static> RequestLoader<T> {
    pub async fn load_one<K>(&self, key: K) -> Result<Option<T::Value>, T::Error>
    where
        K: Send + Sync + Hash + Eq + Clone + 'static,
        T: Loader<K>,
    {
        match self {
            Self::Cached(loader) => loader.load_one(key).await,
            Self::Uncached(loader) => loader.load_one(key).await,
        }
    }

    /// Loads all `keys` in one batch; with a cache, later `load_one` calls for them cost nothing.
    pub async fn load_many<K, I>(&self, keys: I) -> Result<HashMap<K, T::Value>, T::Error>
    where
        K: Send + Sync + Hash + Eq + Clone + 'static,
        I: IntoIterator<Item = K>,
        T: Loader<K>,
    {
        match self {
            // The keys are all known: load them at once (no batching delay) and feed the cache.
            Self::Cached(loader) => {
                let keys: Vec<K> = keys.into_iter().collect::<HashSet<K>>().into_iter().collect();
                if keys.is_empty() {
                    return Ok(HashMap::new());
                }
                let values = loader.loader().load(&keys).await?;
                loader.feed_many(values.clone()).await;
                Ok(values)
            }
            Self::Uncached(loader) => loader.load_many(keys).await,
        }
    }
}

/// Primes `T`'s cache with `keys` when `wanted`: a list resolver loads the relations its page asks
/// for in one batch each, rather than relying on field resolvers to meet within the loader's delay.
pub async fn prime<T, K>(ctx: &Context<'_>, wanted: bool, keys: impl IntoIterator<Item = K>) -> ApiResult<()>
where
    T: Loader<K, Error = LoadError> + Send + Sync + 'static,
    K: Send + Sync + Hash + Eq + Clone + 'static,
{
    if wanted {
        loader::<T>(ctx)?.load_many(keys).await?;
    }
    Ok(())
}

/// The request's loader of type `T`.
pub fn loader<'a, T: Send + Sync + 'static>(ctx: &Context<'a>) -> ApiResult<&'a RequestLoader<T>> {
    ctx.data::<RequestLoader<T>>()
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

/// The signed-in person's user id: `UNAUTHENTICATED` when anonymous, `FORBIDDEN` for an API key
/// (keys cannot create organizations or manage keys).
pub fn require_person(ctx: &Context<'_>) -> ApiResult<Uuid> {
    match viewer(ctx) {
        None => Err(ApiError::unauthenticated()),
        Some(user) if user.api_key.is_some() => {
            Err(ApiError::forbidden("API keys cannot do this; sign in as a person"))
        }
        Some(user) => Ok(user.user_id),
    }
}

/// Parses an `ID` argument; a malformed one is bad input naming `field`.
pub fn parse_id(field: &str, id: &async_graphql::ID) -> ApiResult<Uuid> {
    Uuid::parse_str(id.as_str()).map_err(|_| ApiError::bad_input(field, format!("{field} is not a valid id")))
}
