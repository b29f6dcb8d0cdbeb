use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::Loader;
use entity::{need_skill, skill};
use sea_orm::DatabaseConnection;
use uuid::Uuid;

use crate::graphql::organization::loaders::{LoadError, empty_lists};
use crate::service::needs;

/// Skills of needs by need id, with their importance, in the firm's order.
pub struct NeedSkillsLoader {
    pub db: DatabaseConnection,
}

impl Loader<Uuid> for NeedSkillsLoader {
    type Value = Vec<(need_skill::Model, skill::Model)>;
    type Error = LoadError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let rows = needs::skills_of(&self.db, keys).await.map_err(Arc::new)?;
        let mut by_need: HashMap<Uuid, Self::Value> = empty_lists(keys);
        for (link, skill) in rows {
            by_need.entry(link.need_id).or_default().push((link, skill));
        }
        Ok(by_need)
    }
}
