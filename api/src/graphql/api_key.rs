//! API keys of organizations, for partner frontends.

use async_graphql::{Context, Enum, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use entity::api_key;

use crate::graphql::context::{self, parse_id, require_person};
use crate::service::api_keys;

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "entity::api_key::ApiKeyScope")]
pub enum ApiKeyScope {
    /// The public catalogue and search, queries only.
    Read,
    /// Acts for the organization with a MEMBER's rights (needs, courses, offers); cannot administer it.
    Organization,
}

/// A key as its organization's admins see it; the key itself is shown only when created.
#[derive(SimpleObject, Clone)]
pub struct ApiKey {
    pub id: ID,
    pub organization_id: ID,
    pub name: String,
    pub scope: ApiKeyScope,
    /// The key's first characters (`bmk_…`), to tell keys apart.
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<api_key::Model> for ApiKey {
    fn from(m: api_key::Model) -> Self {
        Self {
            id: ID(m.id.to_string()),
            organization_id: ID(m.organization_id.to_string()),
            name: m.name,
            scope: m.scope.into(),
            prefix: m.prefix,
            created_at: m.created_at,
            revoked_at: m.revoked_at,
        }
    }
}

/// A new key — `key` is shown only this once; send it as `Authorization: Bearer <key>` or
/// `X-API-Key: <key>`.
#[derive(SimpleObject)]
pub struct CreatedApiKey {
    pub api_key: ApiKey,
    pub key: String,
}

#[derive(InputObject)]
pub struct CreateApiKeyInput {
    pub organization_id: ID,
    /// 1–100 characters, e.g. the partner portal's name.
    pub name: String,
    pub scope: ApiKeyScope,
}

#[derive(Default)]
pub struct ApiKeyQuery;

#[Object]
impl ApiKeyQuery {
    /// The organization's API keys, newest first, revoked ones included (ADMIN or OWNER).
    async fn api_keys(&self, ctx: &Context<'_>, organization_id: ID) -> Result<Vec<ApiKey>> {
        let caller = require_person(ctx)?;
        let state = context::state(ctx)?;
        let org = parse_id("organizationId", &organization_id)?;
        Ok(api_keys::list(state, caller, org).await?.into_iter().map(Into::into).collect())
    }
}

#[derive(Default)]
pub struct ApiKeyMutation;

#[Object]
impl ApiKeyMutation {
    /// Creates an API key (organization ADMIN or OWNER; at most 20 active per organization). The key
    /// is returned once and stored only as a hash.
    async fn create_api_key(&self, ctx: &Context<'_>, input: CreateApiKeyInput) -> Result<CreatedApiKey> {
        let caller = require_person(ctx)?;
        let state = context::state(ctx)?;
        let org = parse_id("input.organizationId", &input.organization_id)?;
        let (model, key) = api_keys::create(state, caller, org, &input.name, input.scope.into()).await?;
        Ok(CreatedApiKey { api_key: model.into(), key })
    }

    /// Revokes an API key at once (organization ADMIN or OWNER).
    async fn revoke_api_key(&self, ctx: &Context<'_>, id: ID) -> Result<ApiKey> {
        let caller = require_person(ctx)?;
        let state = context::state(ctx)?;
        Ok(api_keys::revoke(state, caller, parse_id("id", &id)?).await?.into())
    }
}
