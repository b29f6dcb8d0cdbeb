//! One DataLoader per relation: a list of N organizations costs one query per relation, not N.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::Loader;
use entity::{membership, organization, user};
use uuid::Uuid;

use crate::context::AppState;
use crate::db::reads::Reads;
use crate::error::ApiError;
use crate::service::organizations;

/// Loader errors must be cloneable; the cause is logged where it is turned into a GraphQL error.
pub type LoadError = Arc<ApiError>;

pub struct OrganizationLoader {
    pub reads: Reads,
}

impl Loader<Uuid> for OrganizationLoader {
    type Value = organization::Model;
    type Error = LoadError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let rows = self.reads.by_ids::<organization::Entity>(keys).await.map_err(|e| Arc::new(e.into()))?;
        Ok(rows.into_iter().map(|o| (o.id, o)).collect())
    }
}

pub struct UserLoader {
    pub reads: Reads,
}

impl Loader<Uuid> for UserLoader {
    type Value = user::Model;
    type Error = LoadError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let rows = self.reads.by_ids::<user::Entity>(keys).await.map_err(|e| Arc::new(e.into()))?;
        Ok(rows.into_iter().map(|u| (u.id, u)).collect())
    }
}

/// Memberships by organization id. Also answers "what is the viewer's role here".
pub struct MembersLoader {
    pub state: AppState,
}

impl Loader<Uuid> for MembersLoader {
    type Value = Vec<membership::Model>;
    type Error = LoadError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let rows = organizations::memberships_of_organizations(&self.state, keys).await.map_err(Arc::new)?;
        let mut by_org: HashMap<Uuid, Vec<membership::Model>> = empty_lists(keys);
        for row in rows {
            by_org.entry(row.organization_id).or_default().push(row);
        }
        Ok(by_org)
    }
}

/// An empty list for every key: a relation without rows is an answer too, and caching it saves the
/// query a missing key would repeat.
pub fn empty_lists<V>(keys: &[Uuid]) -> HashMap<Uuid, Vec<V>> {
    keys.iter().map(|k| (*k, Vec::new())).collect()
}
