use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::Loader;
use entity::{need_skill, skill};
use uuid::Uuid;

use crate::context::AppState;
use crate::graphql::organization::loaders::{LoadError, empty_lists};
use crate::service::needs;

/// Skills of needs by need id, with their importance, in the firm's order.
pub struct NeedSkillsLoader {
    pub state: AppState,
}

impl Loader<Uuid> for NeedSkillsLoader {
    type Value = Vec<(need_skill::Model, skill::Model)>;
    type Error = LoadError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let rows = needs::skills_of(&self.state, keys).await.map_err(Arc::new)?;
        let mut by_need: HashMap<Uuid, Self::Value> = empty_lists(keys);
        for (link, skill) in rows {
            by_need.entry(link.need_id).or_default().push((link, skill));
        }
        Ok(by_need)
    }
}

/// Firms that joined needs, by need id, oldest first.
pub struct ParticipationsLoader {
    pub state: AppState,
}

impl Loader<Uuid> for ParticipationsLoader {
    type Value = Vec<entity::need_participation::Model>;
    type Error = LoadError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let rows = crate::service::pooling::of_needs(&self.state.db, keys).await.map_err(Arc::new)?;
        let mut by_need: HashMap<Uuid, Self::Value> = empty_lists(keys);
        for row in rows {
            by_need.entry(row.need_id).or_default().push(row);
        }
        Ok(by_need)
    }
}

/// Offers on needs, by need id, oldest first (resolvers filter what the caller may see).
pub struct OffersLoader {
    pub state: AppState,
}

impl Loader<Uuid> for OffersLoader {
    type Value = Vec<entity::offer::Model>;
    type Error = LoadError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let rows = crate::service::offers::of_needs(&self.state, keys).await.map_err(Arc::new)?;
        let mut by_need: HashMap<Uuid, Self::Value> = empty_lists(keys);
        for row in rows {
            by_need.entry(row.need_id).or_default().push(row);
        }
        Ok(by_need)
    }
}

/// The organizations a user belongs to (the caller, once per request).
pub struct CallerOrganizationsLoader {
    pub state: AppState,
}

impl Loader<Uuid> for CallerOrganizationsLoader {
    type Value = Vec<Uuid>;
    type Error = LoadError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let mut out = HashMap::with_capacity(keys.len());
        for user in keys {
            out.insert(
                *user,
                crate::service::access::organizations_of(&self.state.db, *user).await.map_err(Arc::new)?,
            );
        }
        Ok(out)
    }
}
